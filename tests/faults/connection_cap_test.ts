/**
 * Fault: the server's 12-hour cut of IAM connections, shortened to
 * {@linkcode CAP} ms of real time so it happens several times per test.
 * Busy connections re-authenticate before it and are never dropped; a
 * re-auth due inside MULTI waits for EXEC; pub/sub is handled as documented:
 * the thin client's RESP3 subscriber re-authenticates like any connection and
 * it refuses pub/sub over RESP2; node-redis's RESP3 subscriber
 * re-authenticates, while node-redis skips re-auth on a RESP2 subscriber, so
 * that connection is cut at the cap and node-redis reconnects it with a fresh
 * token and subscribes again.
 */

import assert from "node:assert/strict";
import type { RedisClient } from "../../src/client.ts";
import { type FaultEnv, type NodeRedisClient, sleep, startFaultEnv, until } from "./_fault_env.ts";

/** The connection age cap, in ms (emulator time, which runs with real time here). */
const CAP = 800;
/** Re-authenticate a third of the way to the cap. */
const REAUTH_AFTER = 200;
/** How long the busy phase lasts: several caps. */
const BUSY = 2 * CAP;

/** Runs `step` in `loops` concurrent loops for `ms`; returns how many steps ran and what failed. */
async function busy(
  loops: number,
  ms: number,
  step: (loop: number, n: number) => Promise<void>,
): Promise<{ steps: number; errors: unknown[] }> {
  const until = Date.now() + ms;
  const errors: unknown[] = [];
  let steps = 0;
  await Promise.all(Array.from({ length: loops }, async (_, loop) => {
    for (let n = 0; Date.now() < until; n++) {
      try {
        await step(loop, n);
        steps++;
      } catch (error) {
        errors.push(error);
      }
      await sleep(2);
    }
  }));
  return { steps, errors };
}

function assertSurvived(env: FaultEnv, errors: unknown[]): void {
  assert.deepEqual(errors.map(String), [], "no command failed");
  assert.equal(env.capCuts(), 0, "the gateway never cut a connection");
  assert.ok(!env.log.some((line) => line.includes("inside MULTI refused")), "no AUTH inside MULTI");
  assert.deepEqual(env.refusals(), []);
  assert.ok(env.accepted() >= 1 + Math.floor(BUSY / REAUTH_AFTER) - 3, `${env.accepted()} AUTHs`);
}

/** Pipelines, transactions and single commands on the thin client. */
function thinStep(client: RedisClient) {
  return async (loop: number, n: number) => {
    if (loop === 0) {
      const replies = await client.pipeline().incr("p").incr("p").get("p").exec();
      assert.equal(replies.length, 3);
    } else if (loop === 1) {
      const [a, b] = await client.multi().incr(`m:${n}`).incr(`m:${n}`).exec<[number, number]>();
      assert.deepEqual([a, b], [1, 2], "the transaction ran whole");
    } else {
      assert.equal(await client.set(`s:${loop}`, String(n)), "OK");
    }
  };
}

for (const protocol of [3, 2] as const) {
  Deno.test(`thin client (RESP${protocol}): busy across several caps with pipelines and MULTI, never dropped`, async () => {
    await using env = await startFaultEnv({ emulator: { connectionMaxAgeMs: CAP } });
    const client = await env.thin({ protocol, reauthAfter: REAUTH_AFTER });
    const id = await client.send(["CLIENT", "ID"]);
    const { steps, errors } = await busy(3, BUSY, thinStep(client));
    assert.ok(steps > 30, `${steps} steps`);
    assertSurvived(env, errors);
    assert.equal(await client.send(["CLIENT", "ID"]), id, "still the first connection");
  });
}

Deno.test("thin client: a MULTI held open while the re-auth falls due gets its AUTH after EXEC, and outlives the cap", async () => {
  await using env = await startFaultEnv({ emulator: { connectionMaxAgeMs: CAP } });
  const client = await env.thin({ reauthAfter: REAUTH_AFTER });
  const id = await client.send(["CLIENT", "ID"]);
  for (let round = 0; round < 3; round++) {
    const accepted = env.accepted();
    assert.equal(await client.send(["MULTI"]), "OK");
    await sleep(REAUTH_AFTER + 50); // due now, but the transaction is open
    assert.equal(await client.send(["INCR", "held"]), "QUEUED"); // this command finds it due
    await sleep(30);
    assert.equal(env.accepted(), accepted, "no AUTH while the transaction is open");
    assert.deepEqual(await client.send(["EXEC"]), [round + 1]);
    await until(() => env.accepted() === accepted + 1, "the re-auth after EXEC");
  }
  assert.equal(await client.send(["CLIENT", "ID"]), id);
  assert.equal(env.capCuts(), 0);
  assert.ok(!env.log.some((line) => line.includes("inside MULTI refused")));
});

Deno.test("thin client: a RESP3 subscriber keeps receiving across several caps; RESP2 pub/sub is refused as documented", async () => {
  await using env = await startFaultEnv({ emulator: { connectionMaxAgeMs: CAP } });
  const subscriber = await env.thin({ reauthAfter: REAUTH_AFTER });
  const publisher = await env.thin({ reauthAfter: REAUTH_AFTER });
  const received: string[] = [];
  await using _subscription = await subscriber.subscribe(
    "news",
    (message) => received.push(message),
  );
  let published = 0;
  const end = Date.now() + BUSY;
  while (Date.now() < end) {
    await publisher.publish("news", String(published++));
    await sleep(20);
  }
  await until(() => received.length === published, "every message");
  assert.deepEqual(received, Array.from({ length: published }, (_, i) => String(i)), "none lost");
  assert.equal(env.capCuts(), 0);

  const resp2 = await env.thin({ protocol: 2 });
  await assert.rejects(
    () => resp2.subscribe("news", () => {}),
    (error: Error) =>
      error instanceof TypeError && /needs protocol: 3 \(RESP3\)/.test(error.message),
  );
});

Deno.test("node-redis (RESP3): busy with multi() and pipelines across several caps, never dropped", async () => {
  await using env = await startFaultEnv({ emulator: { connectionMaxAgeMs: CAP } });
  const { client, errors: events } = env.nodeRedis({ reauthAfter: REAUTH_AFTER });
  let reconnects = 0;
  client.on("reconnecting", () => reconnects++);
  await client.connect();
  const id = await client.clientId();
  const { steps, errors } = await busy(3, BUSY, async (loop, n) => {
    if (loop === 0) {
      const [a, b] = await client.multi().incr(`m:${n}`).incr(`m:${n}`).exec();
      assert.deepEqual([a, b], [1, 2]);
    } else if (loop === 1) {
      const replies = await Promise.all([client.incr("p"), client.incr("p"), client.get("p")]);
      assert.equal(replies.length, 3);
    } else {
      assert.equal(await client.set(`s:${loop}`, String(n)), "OK");
    }
  });
  assert.ok(steps > 30, `${steps} steps`);
  assertSurvived(env, [...errors, ...events]);
  assert.equal(reconnects, 0);
  assert.equal(await client.clientId(), id);
  await client.close();
});

for (const RESP of [3, 2] as const) {
  Deno.test(
    `node-redis (RESP${RESP}) subscriber across several caps: ${
      RESP === 3
        ? "re-authenticated, never cut"
        : "cut at the cap, reconnected with a fresh token, subscribed again"
    }`,
    async () => {
      await using env = await startFaultEnv({ emulator: { connectionMaxAgeMs: CAP } });
      const { client: publisher } = env.nodeRedis({ reauthAfter: REAUTH_AFTER });
      const { client, errors } = env.nodeRedis({ RESP, reauthAfter: REAUTH_AFTER });
      const subscriber: NodeRedisClient = client;
      let reconnects = 0;
      subscriber.on("reconnecting", () => reconnects++);
      await Promise.all([publisher.connect(), subscriber.connect()]);
      const received: number[] = [];
      await subscriber.subscribe("news", (message: string) => received.push(Number(message)));
      let published = 0;
      const end = Date.now() + BUSY;
      while (Date.now() < end) {
        await publisher.publish("news", String(published++));
        await sleep(20);
      }
      await sleep(100);
      assert.ok(received.length > 0);
      assert.deepEqual(env.refusals(), [], "every (re)connect presented a valid token");
      if (RESP === 3) {
        assert.equal(env.capCuts(), 0, "re-authenticated in time");
        assert.equal(reconnects, 0);
        assert.equal(received.length, published, "no message lost");
      } else {
        // node-redis does not re-authenticate a RESP2 connection in subscriber mode.
        assert.ok(env.capCuts() >= 1, "the subscriber was cut at the cap");
        assert.ok(reconnects >= 1, "and reconnected");
        assert.ok(received.at(-1)! >= published - 3, "subscribed again: the last messages arrived");
        assert.ok(errors.every((e) => /closed|reset/i.test(e.message)), errors.map(String).join());
      }
      await Promise.all([publisher.close(), subscriber.close()]);
    },
  );
}
