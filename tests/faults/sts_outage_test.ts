/**
 * Fault: STS unavailable (connections refused), slow, throttling, then back.
 * A proxy in front of the emulator's STS injects each fault. The cached,
 * still-valid token keeps serving new connections; once it is too old, a
 * connection fails at once with a `CredentialsError` (no hang); new mints are
 * tried after a bounded, growing backoff; when STS is back, everything
 * recovers without help.
 *
 * STS sessions last 15 minutes here and are renewed 5 minutes before their
 * end, so from minute 10 a new token needs STS, and the last token of the
 * first session is good until minute 14 (its credentials' end minus the
 * one-minute margin).
 */

import assert from "node:assert/strict";
import { CredentialsError } from "../../src/errors.ts";
import { connect } from "../../src/client.ts";
import { type FaultEnv, sleep, startFaultEnv, until } from "./_fault_env.ts";

const MINUTE = 60_000;
const SECOND = 1000;

/** Moves the emulator's (and the token manager's) clock to `minutes` after `start`. */
function at(env: FaultEnv, start: number, minutes: number): void {
  env.emu.clock.set(start + minutes * MINUTE);
}

/** Resolves with the promise's outcome, or rejects if it takes longer than `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets a background mint started by `credentials()` finish (its STS call is real I/O). */
async function settleBackground(env: FaultEnv, mints: number): Promise<void> {
  await until(() => env.mints() > mints, "the background mint to start");
  await sleep(50);
  await env.auth.refresh().catch(() => {}); // joins the mint under way, if any
}

Deno.test("STS refusing connections: the cached token serves until its margin, backoff is bounded, recovery is automatic (thin client)", async () => {
  await using env = await startFaultEnv({ durationSeconds: 900 });
  const start = env.emu.clock.now();
  const live = await env.thin();
  await live.set("outage", "before");
  at(env, start, 6); // a refresh that needs no STS: the session has 9 minutes left
  const before = env.mints();
  await env.auth.credentials();
  await settleBackground(env, before);
  const cached = (await env.auth.credentials()).password;

  await env.sts.set({ mode: "refuse" });
  at(env, start, 11); // the session is within 5 minutes of its end: a new token needs STS
  assert.equal((await env.auth.credentials()).password, cached, "served from the cache");
  const reconnecting = await env.thin();
  assert.equal(
    await reconnecting.get("outage"),
    "before",
    "a new connection uses the cached token",
  );
  await env.killConnections();
  await until(() => !live.connected, "the cut");
  assert.equal(await live.get("outage"), "before", "a reconnect uses the cached token");

  // Three minutes of calls, one per second: mint attempts back off (1 s doubling to 30 s, jittered).
  const attemptsAt: number[] = [];
  let last = env.mints();
  let longestWait = 0;
  for (let second = 0; second < 180; second++) {
    env.emu.clock.set(start + 11 * MINUTE + second * SECOND);
    const error = await env.auth.refresh().catch((e) => e);
    assert.ok(error instanceof CredentialsError, "no token can be minted while STS is down");
    const wait = /next attempt in (\d+) ms/.exec(error.message);
    if (wait) longestWait = Math.max(longestWait, Number(wait[1]));
    if (env.mints() > last) attemptsAt.push(second);
    last = env.mints();
    if (second < 180 - 60) {
      assert.equal((await env.auth.credentials()).password, cached, "still served");
    }
  }
  assert.ok(
    attemptsAt.length >= 7 && attemptsAt.length <= 18,
    `${attemptsAt.length} attempts in 3 minutes: ${attemptsAt}`,
  );
  const gaps = attemptsAt.slice(1).map((s, i) => s - attemptsAt[i]!);
  assert.ok(Math.max(...gaps) <= 31, `no gap beyond the 30 s cap: ${gaps}`);
  assert.ok(longestWait <= 30 * SECOND, `announced waits stay under the cap: ${longestWait}`);

  // Minute 14: the cached token is inside its margin. Connections fail at once, with the cause.
  at(env, start, 14.1);
  const t0 = performance.now();
  const failed = await connect(env.thinOptions()).catch((e) => e);
  assert.ok(failed instanceof CredentialsError, String(failed));
  assert.match(failed.message, /Cannot get an IAM auth token for user 'iam-user-01'/);
  assert.ok(performance.now() - t0 < 2000, "no hang");
  assert.equal(await live.get("outage"), "before", "live connections keep working");
  assert.equal(reconnecting.connected, false, "this one was cut at minute 11");
  const stillDown = await reconnecting.get("outage").catch((e) => e);
  assert.ok(stillDown instanceof CredentialsError, "its reconnect fails at once, with the cause");

  await env.sts.set({ mode: "pass" });
  env.emu.clock.advance(31 * SECOND); // past the longest backoff
  assert.equal(
    await reconnecting.get("outage"),
    "before",
    "recovered: the next command reconnects",
  );
  await env.killConnections();
  await until(() => !live.connected, "the second cut");
  assert.equal(await live.get("outage"), "before");
  assert.deepEqual(env.refusals(), [], "no stale token ever reached the server");
});

Deno.test("STS slow (2 s): callers are served from the cache at once while the mint waits", async () => {
  await using env = await startFaultEnv({ durationSeconds: 900 });
  const start = env.emu.clock.now();
  const first = (await env.auth.credentials()).password;
  await env.sts.set({ mode: "delay", ms: 2000 });
  at(env, start, 11);
  const t0 = performance.now();
  assert.equal((await env.auth.credentials()).password, first);
  const client = await connect(env.thinOptions());
  assert.equal(await client.ping(), "PONG");
  assert.ok(performance.now() - t0 < 1000, "neither the token nor the connection waited for STS");
  assert.equal(env.sts.waiting, 1, "one STS call in flight for any number of callers");
  await until(() => env.sts.forwarded === 2, "the slow STS answer", 10_000);
  await sleep(20);
  const next = (await env.auth.credentials()).password;
  assert.notEqual(next, first, "the slow answer was used");
  await client.close();
});

Deno.test("STS throttling: cached token served, each mint attempt bounded to the SDK's 3 tries, recovery after backoff", async () => {
  await using env = await startFaultEnv({ durationSeconds: 900 });
  const start = env.emu.clock.now();
  const first = (await env.auth.credentials()).password;
  await env.sts.set({ mode: "throttle" });
  at(env, start, 11);
  const error = await env.auth.refresh().catch((e) => e);
  assert.ok(error instanceof CredentialsError);
  assert.match(error.message, /Throttling|Rate exceeded/);
  const requests = env.sts.requests - 1;
  assert.ok(requests >= 1 && requests <= 3, `${requests} STS requests for one mint attempt`);
  assert.equal((await env.auth.credentials()).password, first, "the cached token keeps serving");
  const client = await connect(env.thinOptions());
  assert.equal(await client.ping(), "PONG");
  // Within the backoff, nothing reaches STS.
  const again = await env.auth.refresh().catch((e) => e);
  assert.match(again.message, /next attempt in \d+ ms/);
  assert.equal(env.sts.requests - 1, requests);

  await env.sts.set({ mode: "pass" });
  env.emu.clock.advance(2 * SECOND); // past the first backoff (1 s at most)
  const next = (await env.auth.refresh()).password;
  assert.notEqual(next, first);
  await client.close();
  assert.deepEqual(env.refusals(), []);
});

Deno.test("node-redis across an STS outage: reconnects with the cached token, retries while none is valid, recovers by itself", async () => {
  await using env = await startFaultEnv({ durationSeconds: 900 });
  const start = env.emu.clock.now();
  const { client, errors } = env.nodeRedis();
  await client.connect();
  await client.set("outage", "before");
  await env.sts.set({ mode: "refuse" });

  at(env, start, 12);
  let ready = new Promise((resolve) => client.once("ready", resolve));
  await env.killConnections();
  await ready;
  assert.equal(await client.get("outage"), "before", "reconnected with the cached token");

  at(env, start, 14.5); // the cached token is inside its margin
  const seen = errors.length;
  await env.killConnections();
  await until(
    () => errors.slice(seen).some((e) => e instanceof CredentialsError),
    "a credentials error",
  );
  const pending = client.get("outage"); // queued until the client is back
  await sleep(300);
  const attempts = errors.slice(seen).filter((e) => e instanceof CredentialsError).length;
  assert.ok(attempts <= 6, `reconnect attempts back off: ${attempts} in 300 ms`);
  assert.ok(env.mints() <= 3, "the token manager's backoff shields STS from node-redis's retries");

  ready = new Promise((resolve) => client.once("ready", resolve));
  await env.sts.set({ mode: "pass" });
  env.emu.clock.advance(31 * SECOND);
  await within(ready, 10_000, "the automatic reconnect");
  assert.equal(await pending, "before", "the queued command ran after recovery");
  assert.deepEqual(env.refusals(), []);
  await client.close();
});

Deno.test({
  name: "a hung STS request times out, and the next mint succeeds once STS is back",
  async fn() {
    await using env = await startFaultEnv({ durationSeconds: 900 });
    const start = env.emu.clock.now();
    await env.auth.credentials();
    await env.sts.set({ mode: "hang" });
    at(env, start, 11);
    await env.auth.credentials(); // starts the background mint, which hangs on STS
    await until(() => env.sts.waiting === 1, "the hung STS request");
    at(env, start, 14.5);
    let stuck: Promise<unknown> | undefined;
    try {
      // Expected: a CredentialsError once an STS timeout fires (seconds), not a hang.
      stuck = env.auth.credentials();
      await within(stuck.catch((e) => e), 20_000, "credentials() with a hung STS");
      await env.sts.set({ mode: "pass" });
      env.emu.clock.advance(31 * SECOND);
      // Expected: STS is back, so a new mint succeeds.
      await within(env.auth.credentials(), 20_000, "credentials() after STS came back");
    } finally {
      await env.sts.close(); // answers the hung request, so the test ends cleanly
      await stuck?.catch(() => {});
    }
  },
});
