import assert from "node:assert/strict";
import { ClusterClient, connectCluster } from "../src/cluster/client.ts";
import { keySlot } from "../src/cluster/slot.ts";
import { ReplyError } from "../src/errors.ts";
import type { EmulatorClusterNode } from "@elasticache-iam/emulator";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";
import { runWorkload, startIamCluster } from "./_helpers/iam_cluster.ts";

/** A key (with the given prefix) whose slot the node serves. */
async function keyOn(
  env: Awaited<ReturnType<typeof startIamCluster>>,
  node: EmulatorClusterNode,
  prefix: string,
): Promise<string> {
  const shard = (await env.cluster.shards()).find((s) => s.primary === node)!;
  for (let i = 0;; i++) {
    const key = `${prefix}${i}`;
    const slot = keySlot(key);
    if (shard.slots.some(([start, end]) => slot >= start && slot <= end)) return key;
  }
}

Deno.test("connectCluster on a 3-shard cluster behind IAM gateways", async (t) => {
  await using env = await startIamCluster();
  await using cluster = await connectCluster(env.thinOptions());

  await t.step("discovers every shard at its gateway's address", async () => {
    const seen = cluster.shards().map((s) => s.primary.port).sort();
    const expected = (await env.cluster.shards()).map((s) => s.primary.gateway.port).sort();
    assert.deepEqual(seen, expected);
    assert.equal(cluster.shards().every((s) => s.replicas.length === 1), true);
    assert.match(
      Deno.inspect(cluster),
      /ClusterClient \{ 127\.0\.0\.1:\d+, tls: true, 3 shard\(s\) \}/,
    );
  });

  await t.step("keys spread over all shards read back; each primary opened lazily", async () => {
    const before = env.accepted();
    const keys = Array.from({ length: 300 }, (_, i) => `spread:${i}`);
    await Promise.all(keys.map((key, i) => cluster.set(key, `value-${i}`)));
    const values = await Promise.all(keys.map((key) => cluster.get(key)));
    assert.deepEqual(values, keys.map((_, i) => `value-${i}`));
    for (const shard of await env.cluster.shards()) {
      const size = Number(await env.cluster.command(shard.primary, ["DBSIZE"]));
      assert.ok(size > 50, `shard of node #${shard.primary.index} holds ${size} keys`);
    }
    // The seed's connection serves discovery and its shard; two more primaries were opened.
    assert.equal(env.accepted() - before, 2);
    assert.equal(await cluster.dbsize(), 300);
    assert.equal((await cluster.keys("spread:*")).length, 300);
  });

  await t.step(
    "hash tags keep multi-key commands on one node; cross-slot is refused before sending",
    async () => {
      await cluster.mset({ "{user:1}:name": "Ada", "{user:1}:email": "ada@example.com" });
      assert.deepEqual(await cluster.mget("{user:1}:name", "{user:1}:email"), [
        "Ada",
        "ada@example.com",
      ]);
      const mgets = async () => {
        let total = 0;
        for (const shard of await env.cluster.shards()) {
          total += await env.stat(shard.primary.index, "cmdstat_mget");
        }
        return total;
      };
      const sent = await mgets();
      await assert.rejects(
        () => cluster.mget("spread:1", "spread:2"),
        (error: unknown) =>
          error instanceof ReplyError && error.code === "CROSSSLOT" &&
          /'spread:1' in \d+, 'spread:2' in \d+/.test(error.message) &&
          /hash tag/.test(error.message),
      );
      assert.equal(await mgets(), sent, "the refused MGET never reached a node");
      await assert.rejects(() => cluster.scan(0), TypeError);
      await assert.rejects(() => cluster.send(["SELECT", "1"]), /database 0 only/);
    },
  );

  await t.step("pipelines split by node and reassemble replies in order", async () => {
    const pipeline = cluster.pipeline();
    for (let i = 0; i < 60; i++) {
      pipeline.set(`pipe:${i}`, `p${i}`).get(`spread:${i}`).incr(`pipe:n:${i % 7}`);
    }
    pipeline.mget("spread:1", "spread:2");
    const replies = await pipeline.exec({ keepErrors: true });
    for (let i = 0; i < 60; i++) {
      assert.equal(replies[3 * i], "OK");
      assert.equal(replies[3 * i + 1], `value-${i}`);
      assert.equal(typeof replies[3 * i + 2], "number");
    }
    const last = replies.at(-1);
    assert.ok(last instanceof ReplyError && last.code === "CROSSSLOT");
    assert.deepEqual(
      await cluster.pipeline().get("pipe:0").get("pipe:59").exec(),
      ["p0", "p59"],
    );
  });

  await t.step("transactions run on the node of their hash tag", async () => {
    const [n, value] = await cluster.multi().incr("{cart:7}:n").set("{cart:7}:at", "now", {
      get: true,
    }).exec();
    assert.equal(n, 1);
    assert.equal(value, null);
    await assert.rejects(() => cluster.multi().incr("a").incr("b").exec(), /CROSSSLOT/);
  });

  await t.step("replica reads go to replicas with READONLY; writes stay on primaries", async () => {
    await using reader = await connectCluster({ ...env.thinOptions(), replicaReads: true });
    // Replicas count as online once the seed has heard of their replication offset.
    for (let i = 0; !reader.shards().every((s) => s.replicas.every((r) => r.online)); i++) {
      assert.ok(i < 100, "replicas online");
      await new Promise((resolve) => setTimeout(resolve, 50));
      await reader.refreshTopology();
    }
    const shards = await env.cluster.shards();
    const readonly = async () => {
      let total = 0;
      for (const shard of shards) {
        total += await env.stat(shard.replicas[0]!.index, "cmdstat_readonly");
      }
      return total;
    };
    const before = await readonly();
    const keys = Array.from({ length: 30 }, (_, i) => `spread:${i}`);
    assert.deepEqual(
      await Promise.all(keys.map((key) => reader.get(key))),
      keys.map((_, i) => `value-${i}`),
    );
    assert.ok(await readonly() - before >= 30, "every read went to a replica");
    assert.equal(await reader.set("spread:0", "value-0"), "OK");
  });

  await t.step(
    "a slot migration mid-run answers through ASK, then MOVED; nothing lost or misrouted",
    async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `{mig}:k${i}`);
      await Promise.all(keys.map((key, i) => cluster.set(key, `m${i}`)));
      const slot = keySlot("{mig}");
      const from = await env.cluster.primaryOf(slot);
      const to = (await env.cluster.shards()).map((s) => s.primary).find((p) => p !== from)!;
      const counters = new Map<number, number>();
      // Every worker owns one counter and checks each value it reads back.
      const workload = runWorkload(4, async (worker) => {
        const key = `{mig}:counter:${worker}`;
        const next = await cluster.incr(key);
        const expected = (counters.get(worker) ?? 0) + 1;
        assert.equal(next, expected, `counter ${worker}`);
        counters.set(worker, next);
        const index = (worker * 7 + next) % keys.length;
        assert.equal(await cluster.get(keys[index]!), `m${index}`);
      });
      await workload.progress(50);
      const migration = await env.cluster.beginSlotMigration(slot, to);
      assert.equal(await migration.moveKeys(20), 20);
      await workload.progress(50);
      // Keys still on the source answer there; moved ones through ASK on the target.
      assert.deepEqual(
        await Promise.all(keys.map((key) => cluster.get(key))),
        keys.map((_, i) => `m${i}`),
      );
      assert.deepEqual(
        await keys.reduce((p, key) => p.get(key), cluster.pipeline()).exec(),
        keys.map((_, i) => `m${i}`),
      );
      assert.ok(await env.stat(from.index, "ASK") > 0, "the source answered ASK");
      assert.ok(await env.stat(to.index, "cmdstat_asking") > 0, "the client sent ASKING");
      await migration.finish();
      await workload.progress(50);
      await workload.stop();
      assert.deepEqual(workload.errors, []);
      assert.ok(await env.stat(from.index, "MOVED") > 0, "the old owner answered MOVED afterwards");
      assert.equal(
        cluster.shards().find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))?.primary
          .port,
        to.gateway.port,
      );
      for (const [worker, value] of counters) {
        assert.equal(await cluster.get(`{mig}:counter:${worker}`), String(value));
      }
      assert.equal(
        Number(await env.cluster.command(to, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)])),
        keys.length + counters.size,
      );
    },
  );

  await t.step("a failover keeps the client serving, with no acknowledged write lost", async () => {
    const shard = (await env.cluster.shards())[0]!;
    const acked: string[] = [];
    const workload = runWorkload(4, async (worker, n) => {
      const key = `fo:${worker}:${n}`;
      await cluster.set(key, key);
      acked.push(key);
    });
    await workload.progress(100);
    const started = performance.now();
    const promoted = await env.cluster.failover(shard.replicas[0]!);
    await workload.progress(100);
    const recoveredMs = performance.now() - started;
    await workload.stop();
    assert.deepEqual(workload.errors, []);
    assert.ok(recoveredMs < 10_000, `serving again after ${recoveredMs} ms`);
    assert.ok(workload.slowestMs < 10_000, `slowest command took ${workload.slowestMs} ms`);
    const values = await cluster.pipeline();
    for (const key of acked) values.get(key);
    assert.deepEqual(await values.exec(), acked);
    assert.ok(cluster.shards().some((s) => s.primary.port === promoted.gateway.port));
  });

  await t.step(
    "a node restarted after the clock passed 15 minutes is reconnected with a fresh token",
    async () => {
      const shard = (await env.cluster.shards())[1]!;
      const node = shard.primary;
      const key = await keyOn(env, node, "restart:");
      await cluster.set(key, "before");
      const firstToken = await env.auth.credentials();
      const refusedBefore = env.refused().length;

      await env.cluster.stopNode(node);
      env.emu.clock.advance(16 * 60 * 1000);
      // The replica takes over; the client retries until the topology shows it.
      const started = performance.now();
      assert.equal(await cluster.get(key), "before");
      assert.equal(await cluster.set(key, "during"), "OK");
      const failoverMs = performance.now() - started;
      assert.ok(failoverMs < 10_000, `served again after ${failoverMs} ms`);

      await env.cluster.startNode(node);
      // The peers' failure: the first token ever minted is refused now.
      {
        await using probe = await RespTestClient.connect(node.gateway);
        assert.equal(
          await probe.send("AUTH", firstToken.username!, firstToken.password),
          "-WRONGPASS invalid username-password pair or user is disabled.",
        );
      }
      assert.match(env.refused().at(-1)!, /expired/);
      const acceptedBefore = env.acceptedOn(node.index);
      await env.cluster.failover(node);
      assert.equal(await cluster.get(key), "during");
      assert.equal(await cluster.set(key, "after"), "OK");
      assert.equal(await cluster.get(key), "after");
      assert.equal(
        env.acceptedOn(node.index) - acceptedBefore,
        1,
        "one new connection, fresh token",
      );
      assert.equal(
        env.refused().length - refusedBefore,
        1,
        "only the probe's stale token was refused",
      );
    },
  );
});

Deno.test("ClusterClient checks its options and refuses unreachable seeds", async () => {
  assert.throws(() => new ClusterClient({ host: "" }), TypeError);
  assert.throws(() => new ClusterClient({ host: "127.0.0.1", maxRedirections: -1 }), RangeError);
  assert.throws(
    () => new ClusterClient({ host: "127.0.0.1", db: 1 } as never),
    /database 0 only/,
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    () => connectCluster({ host: "127.0.0.1", port, connectTimeout: 1000 }),
    /Cannot discover the cluster: no node answered CLUSTER SHARDS \(tried 127\.0\.0\.1:\d+\)/,
  );
});
