import assert from "node:assert/strict";
import { createCluster as createRedis6Cluster } from "redis";
import { createCluster as createRedis5Cluster } from "redis5";
import { createIamCluster } from "../mod.ts";
import { keySlot } from "../../../src/cluster/slot.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";
import { runWorkload, startIamCluster } from "../../../tests/_helpers/iam_cluster.ts";
import { sleep } from "../../../tests/_helpers/iam_emulator.ts";

/** Retries `fn` until it succeeds or `timeoutMs` passes; returns its value and how long it took. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<[T, number]> {
  const started = performance.now();
  for (;;) {
    try {
      return [await fn(), performance.now() - started];
    } catch (error) {
      if (performance.now() - started > timeoutMs) throw error;
      await sleep(50);
    }
  }
}

/** node-redis 6 and 5: the integration takes whichever the application installed. */
const NODE_REDIS = [
  ["node-redis 6", createRedis6Cluster],
  ["node-redis 5", createRedis5Cluster as unknown as typeof createRedis6Cluster],
] as const;

for (const [version, createRedisCluster] of NODE_REDIS) {
  Deno.test(`${version} createCluster through the emulator's per-node IAM gateways`, async (t) => {
    await using env = await startIamCluster();
    const cluster = createIamCluster(createRedisCluster, env.nodeRedisOptions());
    const errors: Error[] = [];
    cluster.on("error", (error: Error) => errors.push(error));
    await cluster.connect();
    try {
      await t.step("keys spread over all shards read back", async () => {
        const keys = Array.from({ length: 300 }, (_, i) => `spread:${i}`);
        await Promise.all(keys.map((key, i) => cluster.set(key, `value-${i}`)));
        assert.deepEqual(
          await Promise.all(keys.map((key) => cluster.get(key))),
          keys.map((_, i) => `value-${i}`),
        );
        for (const shard of await env.cluster.shards()) {
          const size = Number(await env.cluster.command(shard.primary, ["DBSIZE"]));
          assert.ok(size > 50, `shard of node #${shard.primary.index} holds ${size} keys`);
          assert.ok(env.acceptedOn(shard.primary.index) >= 1, "each primary authenticated by IAM");
        }
      });

      await t.step(
        "a slot migration mid-run answers through ASK, then MOVED; nothing lost",
        async () => {
          const keys = Array.from({ length: 40 }, (_, i) => `{mig}:k${i}`);
          await Promise.all(keys.map((key, i) => cluster.set(key, `m${i}`)));
          const slot = keySlot("{mig}");
          const from = await env.cluster.primaryOf(slot);
          const to = (await env.cluster.shards()).map((s) => s.primary).find((p) => p !== from)!;
          const counters = new Map<number, number>();
          const workload = runWorkload(4, async (worker) => {
            const key = `{mig}:counter:${worker}`;
            const next = await cluster.incr(key);
            assert.equal(next, (counters.get(worker) ?? 0) + 1, `counter ${worker}`);
            counters.set(worker, next);
            const index = (worker * 7 + next) % keys.length;
            assert.equal(await cluster.get(keys[index]!), `m${index}`);
          });
          await workload.progress(50);
          const migration = await env.cluster.beginSlotMigration(slot, to);
          await migration.moveKeys(20);
          await workload.progress(50);
          assert.deepEqual(
            await Promise.all(keys.map((key) => cluster.get(key))),
            keys.map((_, i) => `m${i}`),
          );
          assert.ok(await env.stat(from.index, "ASK") > 0, "the source answered ASK");
          assert.ok(await env.stat(to.index, "cmdstat_asking") > 0, "node-redis sent ASKING");
          await migration.finish();
          await workload.progress(50);
          await workload.stop();
          assert.deepEqual(workload.errors, []);
          assert.ok(await env.stat(from.index, "MOVED") > 0, "the old owner answered MOVED");
          for (const [worker, value] of counters) {
            assert.equal(await cluster.get(`{mig}:counter:${worker}`), String(value));
          }
        },
      );

      await t.step("a failover keeps it serving, with no acknowledged write lost", async () => {
        const shard = (await env.cluster.shards())[0]!;
        const acked: string[] = [];
        const workload = runWorkload(4, async (worker, n) => {
          const key = `fo:${worker}:${n}`;
          await cluster.set(key, key);
          acked.push(key);
        });
        await workload.progress(100);
        const started = performance.now();
        await env.cluster.failover(shard.replicas[0]!);
        await workload.progress(100);
        const recoveredMs = performance.now() - started;
        await workload.stop();
        assert.ok(recoveredMs < 10_000, `serving again after ${recoveredMs} ms`);
        const values = await Promise.all(acked.map((key) => cluster.get(key)));
        assert.deepEqual(values, acked, "every acknowledged write is readable");
      });

      await t.step({
        name:
          "a node restarted after the clock passed 15 minutes gets a fresh token; so does pub/sub",
        // node-redis 5's cluster client waits without end here for a command to a
        // stopped primary (it has no command timeout); 6 fails over.
        ignore: version === "node-redis 5",
        fn: async () => {
          const shard = (await env.cluster.shards())[1]!;
          const node = shard.primary;
          let key = "";
          for (let i = 0; !key; i++) {
            const slot = keySlot(`restart:${i}`);
            if (shard.slots.some(([a, b]) => slot >= a && slot <= b)) key = `restart:${i}`;
          }
          await cluster.set(key, "before");
          const firstToken = await env.auth.credentials();
          const refusedBefore = env.refused().length;

          await env.cluster.stopNode(node);
          env.emu.clock.advance(16 * 60 * 1000);
          const [value, failoverMs] = await eventually(() => cluster.get(key));
          assert.equal(value, "before");
          assert.ok(failoverMs < 15_000, `served again after ${failoverMs} ms`);
          await cluster.set(key, "during");

          await env.cluster.startNode(node);
          {
            await using probe = await RespTestClient.connect(node.gateway);
            assert.equal(
              await probe.send("AUTH", firstToken.username!, firstToken.password),
              "-WRONGPASS invalid username-password pair or user is disabled.",
            );
          }
          const acceptedBefore = env.acceptedOn(node.index);
          await env.cluster.failover(node);
          const [after] = await eventually(async () => {
            await cluster.set(key, "after");
            return await cluster.get(key);
          });
          assert.equal(after, "after");
          assert.ok(
            env.acceptedOn(node.index) > acceptedBefore,
            "reconnected to the restarted node",
          );

          // A pub/sub connection opened now authenticates with a token valid now.
          const received: string[] = [];
          await cluster.subscribe("news", (message) => received.push(message));
          await cluster.sSubscribe(key, (message) => received.push(message));
          await cluster.publish("news", "hello");
          await cluster.sPublish(key, "sharded");
          await eventually(
            () => Promise.resolve(assert.deepEqual(received.sort(), ["hello", "sharded"])),
            5000,
          );
          assert.equal(
            env.refused().length - refusedBefore,
            1,
            "only the probe's stale token was refused",
          );
        },
      });
    } finally {
      await cluster.close();
    }
    assert.equal(errors.filter((e) => /WRONGPASS|NOAUTH/.test(e.message)).length, 0);
  });
}
