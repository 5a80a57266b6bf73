/**
 * Fault: a connection storm. Every client of one process loses its
 * connection at the same instant (a failover, a network blip: a TCP proxy in
 * front of the gateway cuts them all and refuses connections for a moment),
 * after the cached token has expired. They must all come back, spread out by
 * jittered backoff rather than in lockstep, with one token mint between them.
 *
 * {@linkcode CLIENTS} clients of each kind; `LOAD_SIZE=long` runs 1000.
 */

import assert from "node:assert/strict";
import type { RedisClient } from "../../src/client.ts";
import { type NodeRedisClient, startFaultEnv, until } from "./_fault_env.ts";

const LONG = Deno.env.get("LOAD_SIZE") === "long";
const CLIENTS = LONG ? 1000 : 200;
const MINUTE = 60_000;
/** How long the proxy refuses connections after cutting them, in ms. */
const OUTAGE = 300;

/** The spread of arrival times, in ms: the middle half's width and the largest share in any 10 ms. */
function spreadOf(times: readonly number[]): { iqr: number; peak: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const buckets = new Map<number, number>();
  for (const t of sorted) {
    buckets.set(Math.floor(t / 10), (buckets.get(Math.floor(t / 10)) ?? 0) + 1);
  }
  return { iqr: q(0.75) - q(0.25), peak: Math.max(...buckets.values()) / sorted.length };
}

/** Opens the proxy again after the outage (a timer the test awaits, so none is left behind). */
function reopenAfter(proxy: { refuse(refusing: boolean): void }, ms: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(() => {
      proxy.refuse(false);
      resolve();
    }, ms)
  );
}

Deno.test(`thin client: ${CLIENTS} clients cut at once come back with jittered backoff and one token mint`, async () => {
  await using env = await startFaultEnv({ gatewayProxy: true });
  const proxy = env.gatewayProxy!;
  const clients: RedisClient[] = [];
  for (let i = 0; i < CLIENTS; i += 50) {
    clients.push(
      ...await Promise.all(Array.from(
        { length: Math.min(50, CLIENTS - i) },
        () => env.thin({ reconnect: { attempts: 12, minDelay: 100, maxDelay: 1000 } }),
      )),
    );
  }
  assert.equal(env.mints(), 1, "one mint for every first connection");
  env.emu.clock.advance(20 * MINUTE); // the cached token has expired: every reconnect needs a new one
  const mints = env.mints();
  const arrived = proxy.acceptedAt.length;

  proxy.refuse(true);
  proxy.cutAll();
  await until(() => clients.every((client) => !client.connected), "every client to see the cut");
  const cutAt = performance.now();
  const reopened = reopenAfter(proxy, OUTAGE);
  const results = await Promise.all(clients.map((client) => client.incr("storm")));
  await reopened;

  assert.deepEqual(
    results.sort((a, b) => a - b),
    Array.from({ length: CLIENTS }, (_, i) => i + 1),
    "every client's command ran once",
  );
  assert.equal(env.mints() - mints, 1, "one token mint for the whole storm");
  assert.equal(proxy.acceptedAt.length - arrived, CLIENTS, "one successful connection per client");
  const { iqr, peak } = spreadOf(proxy.acceptedAt.slice(arrived).map((t) => t - cutAt));
  assert.ok(iqr >= 40, `arrivals spread out (middle half over ${iqr.toFixed(0)} ms)`);
  assert.ok(peak <= 0.5, `no lockstep (${(peak * 100).toFixed(0)}% within one 10 ms)`);
  assert.deepEqual(env.refusals(), [], "no stale token was presented");
});

Deno.test(`node-redis: ${CLIENTS} clients cut at once come back with jittered backoff and one token mint`, async () => {
  await using env = await startFaultEnv({ gatewayProxy: true });
  const proxy = env.gatewayProxy!;
  const clients: NodeRedisClient[] = [];
  for (let i = 0; i < CLIENTS; i += 50) {
    const batch = Array.from({ length: Math.min(50, CLIENTS - i) }, () => env.nodeRedis().client);
    await Promise.all(batch.map((client) => client.connect()));
    clients.push(...batch);
  }
  assert.equal(env.mints(), 1);
  env.emu.clock.advance(20 * MINUTE);
  const mints = env.mints();
  const arrived = proxy.acceptedAt.length;

  proxy.refuse(true);
  proxy.cutAll();
  await until(() => clients.every((client) => !client.isReady), "every client to see the cut");
  const cutAt = performance.now();
  await reopenAfter(proxy, OUTAGE);
  // node-redis reconnects by itself; commands issued meanwhile wait in its offline queue.
  const results = await Promise.all(clients.map((client) => client.incr("storm")));

  assert.deepEqual(
    results.sort((a, b) => a - b),
    Array.from({ length: CLIENTS }, (_, i) => i + 1),
  );
  assert.equal(env.mints() - mints, 1, "one token mint for the whole storm");
  assert.equal(proxy.acceptedAt.length - arrived, CLIENTS);
  const { iqr, peak } = spreadOf(proxy.acceptedAt.slice(arrived).map((t) => t - cutAt));
  assert.ok(iqr >= 40, `arrivals spread out (middle half over ${iqr.toFixed(0)} ms)`);
  assert.ok(peak <= 0.5, `no lockstep (${(peak * 100).toFixed(0)}% within one 10 ms)`);
  assert.deepEqual(env.refusals(), []);
  await Promise.all(clients.map((client) => client.close()));
});
