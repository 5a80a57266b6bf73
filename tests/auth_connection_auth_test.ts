/**
 * The one authentication lifecycle (`src/auth/`) on its own, with a fake
 * clock and fake timers: the fresh-token retry after a refused handshake,
 * the re-authentication schedule and its retry backoff, the failure kept
 * until the cut, a clock that jumps while a re-authentication is under way,
 * and a client (node-redis) that reports failures after the fact.
 */

import assert from "node:assert/strict";
import { ConnectionAuth, type SendAuth } from "../src/auth/connection_auth.ts";
import { CONNECTION_MAX_AGE, REAUTH_RETRY } from "../src/auth/policy.ts";
import { AuthenticationError, CredentialsError, ReplyError } from "../src/errors.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";

const HOUR = 3_600_000;
const WRONGPASS = () =>
  new ReplyError("WRONGPASS invalid username-password pair or user is disabled.");

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A token manager whose cache holds `token-1`, then `token-2` after a refresh, …; `fail` makes calls reject. */
function provider() {
  return {
    current: 1,
    refreshes: 0,
    fail: undefined as Error | undefined,
    credentials() {
      if (this.fail) return Promise.reject(this.fail);
      return Promise.resolve({ username: "iam-user-01", password: `token-${this.current}` });
    },
    refresh() {
      this.refreshes++;
      this.current++;
      return this.credentials();
    },
  };
}

function setup(reauthAfter: number | false = HOUR, random = () => 0.999999) {
  const timers = new FakeTimers();
  const source = provider();
  const reported: Error[] = [];
  const auth = new ConnectionAuth({
    provider: source,
    reauthAfter,
    label: "127.0.0.1:6379",
    timers,
    now: timers.now,
    onError: (error) => reported.push(error),
    random,
  });
  return { timers, source, reported, auth };
}

Deno.test("a refused handshake gets one freshly minted token; a refusal of that one is final", async () => {
  const { auth, source } = setup();
  assert.equal((await auth.handshakeCredentials()).password, "token-1");
  assert.equal(auth.handshakeRefused(WRONGPASS()), undefined);
  assert.equal(source.refreshes, 1, "the fresh mint starts at once");
  assert.equal((await auth.handshakeCredentials()).password, "token-2");
  const final = auth.handshakeRefused(WRONGPASS());
  assert.ok(final instanceof AuthenticationError);
  assert.match(
    final.message,
    /^Cannot authenticate to '127\.0\.0\.1:6379' as 'iam-user-01': the server refused the IAM auth token, also after minting a fresh one/,
  );
  assert.doesNotMatch(final.message, /token-\d/);
  // The next connect starts over: a token valid now, and a fresh one after a refusal.
  assert.equal((await auth.handshakeCredentials()).password, "token-2");
  assert.equal(auth.handshakeRefused(WRONGPASS()), undefined);
});

Deno.test("re-authentication runs reauthAfter after the last authentication, and again after each", async () => {
  const { auth, timers } = setup();
  const sent: string[] = [];
  const live = auth.authenticated(timers.now(), (c) => {
    sent.push(c.password);
    return Promise.resolve("OK");
  });
  timers.advance(HOUR - 1);
  await settle();
  assert.deepEqual(sent, []);
  timers.advance(1);
  await settle();
  assert.deepEqual(sent, ["token-1"]);
  assert.equal(live.expiresAt, timers.now() + CONNECTION_MAX_AGE, "12 more hours from this one");
  timers.advance(HOUR);
  await settle();
  assert.equal(sent.length, 2);
  live.end();
  assert.equal(timers.pending, 0);
});

Deno.test("failed re-authentications are reported and retried with a backoff that doubles from 1 s to 60 s", async () => {
  const { auth, timers, source, reported } = setup();
  let calls = 0;
  auth.authenticated(timers.now(), () => {
    calls++;
    return Promise.reject(new Error("Connection reset"));
  });
  timers.advance(HOUR);
  await settle();
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const before = timers.now();
    const seen = calls;
    while (calls === seen) {
      timers.advance(100);
      await settle();
    }
    delays.push(timers.now() - before);
  }
  // random() ≈ 1: each wait is its whole cap.
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(REAUTH_RETRY.maxDelay, 60_000);
  assert.equal(reported.length, 10);
  assert.ok(reported.every((e) => e instanceof AuthenticationError));
  assert.match(
    reported[0]!.message,
    /^Cannot re-authenticate the connection to 127\.0\.0\.1:6379: Connection reset$/,
  );
  // A credentials failure is reported as it is (its message already explains it).
  source.fail = new CredentialsError("Cannot get an IAM auth token: STS is unreachable");
  timers.advance(60_000);
  await settle();
  assert.equal(reported.at(-1), source.fail);
});

Deno.test("a refused re-authentication is tried once with a fresh token, then kept as the cause of the cut", async () => {
  const { auth, timers, reported } = setup();
  const sent: string[] = [];
  const live = auth.authenticated(timers.now(), (c) => {
    sent.push(c.password);
    return Promise.reject(WRONGPASS());
  });
  timers.advance(HOUR);
  await settle();
  assert.deepEqual(sent, ["token-1", "token-2"], "the refused token, then a fresh one");
  assert.equal(reported.length, 1);
  assert.match(reported[0]!.message, /also after minting a fresh one/);
  assert.equal(live.failure, reported[0]);
  assert.equal(live.check(timers.now()), undefined, "before the cut the connection holds");
  const expired = live.check(timers.now() + CONNECTION_MAX_AGE);
  assert.ok(expired !== undefined);
  assert.equal(expired.cause, reported[0]);
  assert.match(
    expired.message,
    /reached the server's 12-hour limit, and re-authenticating it failed: /,
  );
});

Deno.test("a clock that jumps past the cut while a re-authentication is under way waits for its answer", async () => {
  const { auth, timers } = setup();
  let answer: (() => void) | undefined;
  const start = timers.now();
  const live = auth.authenticated(start, () => new Promise<void>((resolve) => answer = resolve));
  timers.advance(HOUR);
  await settle();
  assert.ok(answer !== undefined, "the AUTH is on its way");
  const jumped = timers.now() + CONNECTION_MAX_AGE - HOUR + 60_000; // past the first cut
  assert.equal(live.check(jumped), undefined, "not expired while the answer is pending");
  answer!();
  await settle();
  assert.equal(live.expiresAt, start + HOUR + CONNECTION_MAX_AGE, "the accepted AUTH extended it");
  assert.equal(live.check(jumped), undefined);
});

Deno.test("with reauthAfter false nothing is scheduled, and the cut expires the connection without a cause", () => {
  const { auth, timers } = setup(false);
  const live = auth.authenticated(timers.now(), () => Promise.resolve());
  assert.equal(timers.pending, 0);
  assert.equal(live.nextCheck, timers.now() + CONNECTION_MAX_AGE);
  const expired = live.check(timers.now() + CONNECTION_MAX_AGE);
  assert.equal(expired?.cause, undefined);
  assert.match(expired!.message, /reached the server's 12-hour limit$/);
});

Deno.test("a client that reports failures after the fact (node-redis) gets the same policy, and its failures add up", async () => {
  const { auth, timers, reported } = setup();
  const sent: string[] = [];
  const send: SendAuth = (c) => {
    sent.push(c.password); // queued: node-redis answers later, through failed()
  };
  const live = auth.authenticated(timers.now(), send);
  timers.advance(HOUR);
  await settle();
  assert.deepEqual(sent, ["token-1"]);
  live.failed(new Error("Re-authentication failed: WRONGPASS invalid username-password pair"));
  await settle();
  assert.deepEqual(sent, ["token-1", "token-2"], "a fresh token at once");
  live.failed(new Error("Re-authentication failed: WRONGPASS invalid username-password pair"));
  await settle();
  assert.equal(reported.length, 1);
  // The retry comes after 1 s; refused again twice, the next backoff is 2 s, not 1 s again.
  timers.advance(1000);
  await settle();
  assert.equal(sent.length, 3);
  live.failed(new Error("Re-authentication failed: WRONGPASS"));
  await settle();
  live.failed(new Error("Re-authentication failed: WRONGPASS"));
  await settle();
  assert.equal(reported.length, 2);
  timers.advance(1999);
  await settle();
  assert.equal(sent.length, 4);
  timers.advance(1);
  await settle();
  assert.equal(sent.length, 5);
});

Deno.test("an onError that throws does not break the schedule, and its exception is not dropped", async () => {
  const timers = new FakeTimers();
  let calls = 0;
  const uncaught: unknown[] = [];
  const onUncaught = (event: ErrorEvent) => {
    event.preventDefault();
    uncaught.push(event.error);
  };
  globalThis.addEventListener("error", onUncaught);
  try {
    const auth = new ConnectionAuth({
      provider: provider(),
      reauthAfter: HOUR,
      label: "x",
      timers,
      now: timers.now,
      onError: () => {
        throw new Error("handler bug");
      },
      random: () => 0.999999,
    });
    auth.authenticated(timers.now(), () => {
      calls++;
      return Promise.reject(new Error("reset"));
    });
    timers.advance(HOUR);
    await settle();
    timers.advance(1000);
    await settle();
    assert.equal(calls, 2);
    assert.deepEqual(uncaught.map((e) => (e as Error).message), ["handler bug", "handler bug"]);
  } finally {
    globalThis.removeEventListener("error", onUncaught);
  }
});
