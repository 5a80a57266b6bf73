/**
 * The thin client's lifecycle when its dependencies hang or fail: close()
 * with commands a silent server never answers, close() while a connect, a
 * reconnect or a re-authentication waits on a stalled credentials source,
 * a re-authentication whose provider never answers, a credentials source
 * that is down (no socket opened per command meanwhile, a thousand callers
 * sharing one attempt), wall-clock steps, and a connection that reaches the
 * server's 12-hour cut after its re-authentication failed. Every wait ends
 * and leaves no timer behind; every failure is reported or becomes the next
 * command's error.
 */

import assert from "node:assert/strict";
import { connect, RedisClient } from "../src/client.ts";
import {
  AuthenticationError,
  ConnectionClosedError,
  CredentialsError,
  TimeoutError,
} from "../src/errors.ts";
import { IamAuth } from "../src/iam_auth.ts";
import { AUTH_STEP_TIMEOUT, CONNECTION_MAX_AGE, REAUTH_RETRY } from "../src/auth/policy.ts";
import type { TransportFactory } from "../src/transport/types.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { ManualClock } from "./_helpers/manual_clock.ts";
import { handshakeReply, scriptedTransport } from "./_helpers/scripted_transport.ts";
import { pass, SteppedClock } from "./_helpers/stepped_clock.ts";

const HOUR = 3_600_000;

const WRONGPASS = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/** Lets promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A provider whose next answers the test controls: a token, a refusal, or silence. */
class ControlledAuth {
  calls = 0;
  minted = 0;
  /** `"answer"` hands out a new token; `"hang"` never settles. */
  mode: "answer" | "hang" = "answer";
  credentials(): Promise<{ username: string; password: string }> {
    this.calls++;
    if (this.mode === "hang") return new Promise(() => {});
    return Promise.resolve({ username: "iam-user-01", password: `token-${++this.minted}` });
  }
  refresh(): Promise<{ username: string; password: string }> {
    return this.credentials();
  }
}

Deno.test("close() returns within a second when the server never answers; the commands fail with ConnectionClosedError", async () => {
  const timers = new FakeTimers();
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) peer.reply(handshake); // everything else: silence
  });
  const client = await connect({
    host: "127.0.0.1",
    transport,
    commandTimeout: Infinity,
    now: timers.now,
    timers,
  });
  const pending = [client.get("a"), client.get("b")].map((p) => p.catch((error) => error));
  const closing = client.close();
  await settle();
  timers.advance(999);
  await settle();
  let closed = false;
  closing.then(() => closed = true);
  await settle();
  assert.equal(closed, false, "it waits a second for replies");
  timers.advance(1);
  await closing;
  for (const error of await Promise.all(pending)) {
    assert.ok(error instanceof ConnectionClosedError, String(error));
  }
});

Deno.test("close() waits as long as replies keep arriving", async () => {
  const timers = new FakeTimers();
  const held: (() => void)[] = [];
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    held.push(() => peer.reply("+OK\r\n"));
  });
  const client = await connect({ host: "127.0.0.1", transport, now: timers.now, timers });
  const pending = [1, 2, 3].map((i) => client.set(`k${i}`, "v"));
  const closing = client.close();
  await settle();
  for (const answer of held) {
    timers.advance(900); // under a second between replies
    answer();
    await settle();
  }
  await closing;
  assert.deepEqual(await Promise.all(pending), ["OK", "OK", "OK"]);
});

Deno.test("close() returns at once while a reconnect waits on a stalled credentials source", async () => {
  const auth = new ControlledAuth();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  const client = await connect({ host: "127.0.0.1", transport, auth });
  assert.equal(await client.ping(), "PONG");
  auth.mode = "hang";
  transport.peers[0]!.end(); // the server goes away; the next command reconnects
  const waiting = client.ping().catch((error) => error);
  await settle();
  assert.equal(transport.peers.length, 2, "the reconnect opened a socket and waits for a token");
  const started = performance.now();
  await client.close();
  assert.ok(performance.now() - started < 200, "close() did not wait for the provider");
  const error = await waiting;
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, /the client is closed/);
  assert.ok(transport.peers[1]!.ended, "the half-open connection was closed");
});

Deno.test("a re-authentication whose provider never answers fails after the step timeout and is retried", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  const errors: Error[] = [];
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  await using client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 60_000,
    now: timers.now,
    timers,
    onError: (error) => errors.push(error),
  });
  auth.mode = "hang";
  timers.advance(60_000);
  await settle();
  assert.equal(auth.calls, 2);
  timers.advance(AUTH_STEP_TIMEOUT);
  await settle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof TimeoutError);
  assert.match(
    errors[0]!.message,
    /^Cannot re-authenticate the connection to 127\.0\.0\.1:6379: the auth provider did not answer within 30000 ms$/,
  );
  assert.equal(await client.ping(), "PONG", "the connection keeps working meanwhile");
  auth.mode = "answer";
  timers.advance(1000); // the retry, 0.5 to 1 s later
  await settle();
  assert.equal(auth.calls, 3);
  const auths = transport.peers[0]!.commands.filter((command) => command[0] === "AUTH");
  assert.deepEqual(auths.map((command) => command[2]), ["token-2"]);
  assert.equal(errors.length, 1);
});

Deno.test("a connection that reaches the 12-hour cut after a failed re-auth fails its next command with that failure, then reconnects", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  let refuse = false;
  const transport = scriptedTransport((command, peer) => {
    if (command[0] === "AUTH" && refuse) return peer.reply(WRONGPASS);
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  await using client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 11 * 3_600_000,
    now: timers.now,
    timers,
    // no onError: the failure must not be lost anyway
  });
  refuse = true;
  timers.advance(11 * 3_600_000);
  await settle();
  assert.equal(await client.ping(), "PONG", "before the cut the connection still works");
  // The retries keep failing until the cut.
  for (let t = 11 * 3_600_000; t < CONNECTION_MAX_AGE; t += 60_000) {
    timers.advance(60_000);
    await settle();
  }
  const error = await client.ping().catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(
    error.message,
    /^Connection to 127\.0\.0\.1:6379 closed: its IAM authentication reached the server's 12-hour limit, and re-authenticating it failed: Cannot authenticate to '127\.0\.0\.1:6379' as 'iam-user-01': the server refused the IAM auth token, also after minting a fresh one/,
  );
  assert.ok(error.cause instanceof AuthenticationError);
  assert.doesNotMatch(error.message + String(error.cause), /token-\d/);
  // The next command opens a new connection with a fresh token.
  refuse = false;
  assert.equal(await client.ping(), "PONG");
  assert.equal(transport.peers.length, 2);
});

Deno.test("with re-authentication off, a connection past the cut is replaced before the next command", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  await using client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: false,
    now: timers.now,
    timers,
  });
  timers.advance(CONNECTION_MAX_AGE);
  assert.equal(await client.ping(), "PONG", "no command fails: nothing went wrong");
  assert.equal(transport.peers.length, 2);
  assert.ok(transport.peers[0]!.ended);
  assert.deepEqual(transport.peers[1]!.commands.at(0)?.slice(0, 4), [
    "HELLO",
    "3",
    "AUTH",
    "iam-user-01",
  ]);
  assert.equal(transport.peers[1]!.commands.at(0)?.[4], "token-2");
});

Deno.test("without onError, a subscription listener's exception reaches the runtime's uncaught-error path, not the void", async () => {
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    if (command[0] === "SUBSCRIBE") {
      peer.reply(">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
      peer.reply(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    }
    if (command[0] === "UNSUBSCRIBE") {
      peer.reply(">3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    }
  });
  const uncaught: unknown[] = [];
  const onUncaught = (event: ErrorEvent) => {
    event.preventDefault();
    uncaught.push(event.error);
  };
  globalThis.addEventListener("error", onUncaught);
  try {
    await using client = await connect({ host: "127.0.0.1", transport });
    await using _subscription = await client.subscribe("news", () => {
      throw new Error("listener bug");
    });
    await settle();
    assert.equal(uncaught.length, 1);
    assert.equal((uncaught[0] as Error).message, "listener bug");
  } finally {
    globalThis.removeEventListener("error", onUncaught);
  }
});

Deno.test("close() during open() whose provider hangs returns at once; open() and the queued commands fail; nothing is left", async () => {
  const timers = new FakeTimers();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+OK\r\n");
  });
  const auth = new ControlledAuth();
  auth.mode = "hang";
  const client = new RedisClient({ host: "127.0.0.1", transport, auth, now: timers.now, timers });
  const opening = client.open().catch((error) => error);
  const commands = Array.from({ length: 5 }, () => client.get("k").catch((error) => error));
  await settle();
  const started = performance.now();
  await client.close();
  assert.ok(performance.now() - started < 200, "close() did not wait for the provider");
  for (const error of [await opening, ...await Promise.all(commands)]) {
    assert.ok(error instanceof ConnectionClosedError, String(error));
  }
  assert.equal(timers.pending, 0, "no timer is left");
  assert.ok(transport.peers.every((peer) => peer.ended), "no socket is left open");
});

Deno.test("open() whose provider hangs fails with a TimeoutError after connectTimeout, and leaves nothing", async () => {
  const timers = new FakeTimers();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+OK\r\n");
  });
  const auth = new ControlledAuth();
  auth.mode = "hang";
  const client = new RedisClient({
    host: "127.0.0.1",
    transport,
    auth,
    now: timers.now,
    timers,
    connectTimeout: 1000,
  });
  const opening = client.open().catch((error) => error);
  await settle();
  timers.advance(1000);
  const error = await opening;
  assert.ok(error instanceof TimeoutError, String(error));
  assert.ok(transport.peers.every((peer) => peer.ended), "no socket is left open");
  await client.close();
  assert.equal(timers.pending, 0, "no timer is left");
});

Deno.test("close() during a re-authentication whose provider hangs leaves no timer behind", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+OK\r\n");
  });
  const client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 60_000,
    commandTimeout: Infinity,
    now: timers.now,
    timers,
  });
  auth.mode = "hang";
  timers.advance(60_000);
  await settle();
  assert.equal(auth.calls, 2, "the re-authentication asked the provider");
  await client.close();
  assert.equal(timers.pending, 0, `${timers.pending} timer(s) left after close()`);
});

Deno.test("close() after a subscription's reconnect failed leaves no timer behind", async () => {
  const timers = new FakeTimers();
  const scripted = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    if (command[0] === "SUBSCRIBE") return peer.reply(">3\r\n+subscribe\r\n+news\r\n:1\r\n");
    peer.reply("+OK\r\n");
  });
  let down = false;
  const transport: TransportFactory = (options) =>
    down ? Promise.reject(new Error("Connection refused")) : scripted(options);
  const errors: Error[] = [];
  const client = new RedisClient({
    host: "127.0.0.1",
    transport,
    now: timers.now,
    timers,
    onError: (error) => errors.push(error),
    reconnect: { attempts: 1 },
  });
  await client.open();
  await client.subscribe("news", () => {});
  down = true;
  scripted.peers[0]!.end(); // the server goes away, and the reconnect fails
  await settle();
  assert.ok(errors.length > 0, "the failed reconnect was reported");
  await client.close();
  assert.equal(timers.pending, 0, `${timers.pending} timer(s) left after close()`);
});

Deno.test("while the credentials source backs off, commands fail at once without opening a server connection each", async () => {
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: "us-east-1",
    credentials: () => Promise.reject(new Error("IMDS unreachable")),
    retry: { initialDelay: 5_000, maxDelay: 5_000 },
  });
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+OK\r\n");
  });
  const client = new RedisClient({ host: "127.0.0.1", transport, auth });
  await assert.rejects(client.get("k"), CredentialsError); // the source failed: the backoff starts
  const before = transport.peers.length;
  for (let i = 0; i < 50; i++) {
    await assert.rejects(client.get("k"), /next attempt in/);
  }
  await client.close();
  const opened = transport.peers.length - before;
  assert.ok(
    opened <= 1,
    `${opened} connections were opened for 50 commands that could not be sent`,
  );
});

Deno.test("a thousand callers on a fresh client share one credentials resolution per round: all fail with it, then all succeed", async () => {
  const clock = new ManualClock();
  let sourceCalls = 0;
  let release!: () => void;
  let firstCall!: () => void;
  const calledOnce = new Promise<void>((resolve) => firstCall = resolve);
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: "us-east-1",
    now: clock.now,
    credentials: async () => {
      sourceCalls++;
      if (sourceCalls === 1) {
        const slow = new Promise<void>((resolve) => release = resolve);
        firstCall();
        await slow; // slow, then fails
        throw new Error("source hiccup");
      }
      return { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret-key" };
    },
    retry: { initialDelay: 100, maxDelay: 100 },
  });
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "$1\r\nv\r\n");
  });
  const client = new RedisClient({ host: "127.0.0.1", transport, auth });
  const callers = (n: number) =>
    Promise.allSettled(Array.from({ length: n }, (_, i) => client.get(`k${i}`)));
  const first = callers(1000);
  await calledOnce;
  await settle();
  release();
  const round1 = await first;
  assert.equal(sourceCalls, 1, "one resolution for all callers");
  for (const result of round1) {
    assert.equal(result.status, "rejected");
    assert.ok(result.reason instanceof CredentialsError, String(result.reason));
  }
  clock.advance(150); // past the token manager's backoff
  const round2 = await callers(1000);
  assert.equal(sourceCalls, 2);
  assert.ok(round2.every((result) => result.status === "fulfilled" && result.value === "v"));
  assert.ok(transport.peers.length <= 2, `${transport.peers.length} connections for two rounds`);
  const started = performance.now();
  await client.close();
  assert.ok(performance.now() - started < 200, "close() returned at once");
});

Deno.test("a command in flight when the server cuts a connection whose re-authentication kept failing carries that failure as its cause", async () => {
  const timers = new FakeTimers();
  let stsDown = false;
  let minted = 0;
  const auth = {
    credentials: () =>
      stsDown
        ? Promise.reject(new Error("STS unreachable"))
        : Promise.resolve({ username: "iam-user-01", password: `token-${++minted}` }),
  };
  const transport = scriptedTransport((command, peer) => {
    if (command[0] === "GET") return; // in flight when the cut comes
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  const start = timers.now();
  const client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    commandTimeout: Infinity,
    now: timers.now,
    timers,
    // no onError: the failure must not be lost anyway
  });
  // The server authenticated the handshake a moment after the client sent it: it cuts 12 h later.
  timers.setTimeout(() => transport.peers[0]!.end(), CONNECTION_MAX_AGE + 5);
  stsDown = true; // every re-authentication fails
  for (let t = 0; t < CONNECTION_MAX_AGE - 60_000; t += 60_000) {
    timers.advance(60_000);
    await settle();
  }
  timers.advance(start + CONNECTION_MAX_AGE - 1 - timers.now()); // 1 ms before the client's own cut
  await settle();
  const inFlight = client.get("k").catch((error) => error);
  await settle();
  timers.advance(10); // the server's timer cuts the connection
  await settle();
  const error = await inFlight;
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, /^Connection to 127\.0\.0\.1:6379 closed by the server \(after: /);
  assert.ok(error.cause instanceof Error, `no cause: "${error.message}"`);
  assert.match(error.message + String(error.cause), /STS unreachable/);
  stsDown = false;
  const closing = client.close();
  timers.advance(2_000);
  await closing;
});

Deno.test("a wall-clock step back during a re-authentication does not push the next one past the 12-hour cut", async () => {
  const clock = new SteppedClock();
  let minted = 0;
  const auth = {
    credentials: () => Promise.resolve({ username: "u", password: `token-${++minted}` }),
  };
  const authAt: number[] = []; // when the server received each AUTH, on the steady clock
  let answerFirst: (() => void) | undefined;
  const transport = scriptedTransport((command, peer) => {
    if (command[0] === "AUTH") {
      authAt.push(clock.now());
      if (authAt.length === 1) {
        answerFirst = () => peer.reply("+OK\r\n"); // the first answer takes a moment
        return;
      }
    }
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  const client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    commandTimeout: Infinity,
    now: clock.wall,
    timers: clock,
  });
  await pass(clock, 11 * HOUR, 60_000);
  assert.equal(authAt.length, 1, "the first re-authentication is on its way");
  clock.advance(200);
  clock.step(-3 * HOUR); // NTP steps the wall clock back while the AUTH is in flight
  answerFirst!();
  await settle();
  await pass(clock, 15 * HOUR, 60_000);
  assert.ok(authAt.length >= 2, "a second re-authentication happened");
  const gap = authAt[1]! - authAt[0]!;
  assert.ok(
    gap < CONNECTION_MAX_AGE,
    `the next re-authentication came ${(gap / HOUR).toFixed(2)} h after the last one`,
  );
  assert.equal(transport.peers.length, 1, "the connection was never cut");
  const closing = client.close();
  clock.advance(2_000);
  await closing;
});

Deno.test("re-authentication retries back off to REAUTH_RETRY.maxDelay and never busy-loop across wall-clock steps; failing commands say why", async () => {
  const clock = new SteppedClock();
  const attemptsAt: number[] = []; // on the steady clock
  let first = true;
  const auth = {
    credentials() {
      if (first) {
        first = false;
        return Promise.resolve({ username: "u", password: "t" });
      }
      attemptsAt.push(clock.now());
      return Promise.reject(new Error("STS down"));
    },
  };
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  const client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 60_000,
    now: clock.wall,
    timers: clock,
    onError: () => {},
  });
  // The wall clock steps back 3 h, forward 13 h, back 1 h.
  const steps = new Map([[1 * HOUR, -3 * HOUR], [2 * HOUR, 13 * HOUR], [3 * HOUR, -1 * HOUR]]);
  const commandErrors: { at: number; error: Error }[] = [];
  for (let t = 1_000; t <= 5 * HOUR; t += 1_000) {
    clock.advance(1_000);
    const step = steps.get(t);
    if (step !== undefined) clock.step(step);
    if (t % 600_000 === 0) {
      const reply = await client.ping().catch((error) => error);
      if (reply instanceof Error) commandErrors.push({ at: t, error: reply });
    }
    await settle();
  }
  const closing = client.close();
  clock.advance(2_000);
  await closing;
  const perHour = [0, 1, 2, 3, 4].map((hour) =>
    attemptsAt.filter((at) => at >= hour * HOUR && at < (hour + 1) * HOUR).length
  );
  assert.ok(Math.max(...perHour) <= 125, `attempts per hour: ${perHour}`);
  const gaps = attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]!);
  // Past the first retries the backoff is at its cap: at least half of it between attempts.
  assert.ok(
    gaps.slice(10).every((gap) => gap >= REAUTH_RETRY.maxDelay / 2),
    `gaps between attempts: ${gaps}`,
  );
  assert.deepEqual(
    commandErrors.filter(({ at }) => at < 2 * HOUR),
    [],
    "before the wall clock jumps past the 12-hour cut, every command succeeds",
  );
  for (const { error } of commandErrors) {
    assert.match(`${error.message} ${String(error.cause)}`, /STS down/, "a failure says why");
  }
});
