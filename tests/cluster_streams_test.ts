/**
 * Stream commands and one-key scan iterators on the cluster client, through
 * the emulator's IAM gateways in front of a real Redis Cluster: each command
 * reaches its key's node (keys after `STREAMS`, `XGROUP`/`XINFO`'s key),
 * cross-slot reads are refused before sending, a consumer group carries on
 * through a failover, and `hscanIterator` / `sscanIterator` skip nothing
 * when the key's node changes mid-walk (a failover, a slot migration).
 */

import assert from "node:assert/strict";
import { connectCluster } from "../src/cluster/client.ts";
import { keySlot } from "../src/cluster/slot.ts";
import { commandRoute } from "../src/cluster/command_keys.ts";
import { ConnectionClosedError, ReplyError } from "../src/errors.ts";
import type { EmulatorClusterNode } from "@elasticache-iam/emulator";
import { startIamCluster } from "./_helpers/iam_cluster.ts";

type Env = Awaited<ReturnType<typeof startIamCluster>>;

/** A key (with the given prefix) whose slot the node serves. */
async function keyOn(env: Env, node: EmulatorClusterNode, prefix: string): Promise<string> {
  const shard = (await env.cluster.shards()).find((s) => s.primary === node)!;
  for (let i = 0;; i++) {
    const key = `${prefix}${i}`;
    const slot = keySlot(key);
    if (shard.slots.some(([start, end]) => slot >= start && slot <= end)) return key;
  }
}

/** How many times the nodes ran a command, over every primary. */
async function callsOnPrimaries(env: Env, name: string): Promise<number> {
  let total = 0;
  for (const shard of await env.cluster.shards()) {
    total += await env.stat(shard.primary.index, `cmdstat_${name}`);
  }
  return total;
}

Deno.test("streams and one-key scans on the cluster client", async (t) => {
  await using env = await startIamCluster();
  await using cluster = await connectCluster(env.thinOptions());
  const shards = await env.cluster.shards();

  await t.step("a consumer group on each shard: every command runs on its key's node", async () => {
    for (const [i, shard] of shards.entries()) {
      const key = await keyOn(env, shard.primary, `orders:${i}:`);
      // The group is named "streams" and the consumer "count": arguments, not keywords.
      assert.equal(await cluster.xgroupCreate(key, "streams", "$", { mkStream: true }), "OK");
      const id = await cluster.xadd(key, { item: `tea-${i}` });
      assert.deepEqual(await cluster.xreadgroup("streams", "count", { [key]: ">" }), {
        [key]: [{ id, fields: { item: `tea-${i}` } }],
      });
      assert.equal((await cluster.xpending(key, "streams")).count, 1);
      assert.equal((await cluster.xinfoStream(key)).groups, 1);
      assert.deepEqual(await cluster.xclaim(key, "streams", "other", 0, [id], { justId: true }), [
        id,
      ]);
      assert.equal(await cluster.xack(key, "streams", id), 1);
      // The stream lives on the key's own node.
      assert.equal(Number(await env.cluster.command(shard.primary, ["XLEN", key])), 1);
      assert.equal(await cluster.xgroupDestroy(key, "streams"), true);
    }
  });

  await t.step(
    "XREAD of streams in one slot runs; of several slots is refused before sending",
    async () => {
      await cluster.xadd("{feed}:a", { n: 1 }, { id: "1-1" });
      await cluster.xadd("{feed}:b", { n: 2 }, { id: "1-1" });
      assert.deepEqual(await cluster.xread({ "{feed}:a": "0", "{feed}:b": "0" }), {
        "{feed}:a": [{ id: "1-1", fields: { n: "1" } }],
        "{feed}:b": [{ id: "1-1", fields: { n: "2" } }],
      });
      const feedNode = await env.cluster.primaryOf("{feed}");
      const other = await keyOn(env, shards.find((s) => s.primary !== feedNode)!.primary, "else:");
      const before = await callsOnPrimaries(env, "xread");
      await assert.rejects(
        cluster.xread({ "{feed}:a": "0", [other]: "0" }),
        (e: unknown) => e instanceof ReplyError && e.code === "CROSSSLOT",
      );
      assert.equal(
        await callsOnPrimaries(env, "xread"),
        before,
        "the refused XREAD reached no node",
      );
    },
  );

  await t.step(
    "a blocking XREADGROUP on a node is served by an XADD through the same client",
    async () => {
      const key = await keyOn(env, shards[1]!.primary, "jobs:");
      await cluster.xgroupCreate(key, "workers", "$", { mkStream: true });
      const read = cluster.xreadgroup("workers", "w1", { [key]: ">" }, { block: 10_000 });
      assert.equal(await cluster.ping(), "PONG", "other commands are not held up");
      const id = await cluster.xadd(key, { task: "resize" });
      assert.deepEqual(await read, { [key]: [{ id, fields: { task: "resize" } }] });
    },
  );

  await t.step(
    "a failover mid-flow: pending entries survive, acks and reads carry on",
    async () => {
      const shard = (await env.cluster.shards())[0]!;
      const key = await keyOn(env, shard.primary, "billing:");
      await cluster.xgroupCreate(key, "g", "$", { mkStream: true });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await cluster.xadd(key, { n: i }));
      assert.equal((await cluster.xreadgroup("g", "c", { [key]: ">" }))?.[key]?.length, 5);
      await cluster.xack(key, "g", ids[0]!);
      const promoted = await env.cluster.failover(shard.replicas[0]!);
      assert.notEqual(promoted, shard.primary);
      assert.deepEqual(await cluster.xpending(key, "g"), {
        count: 4,
        lowestId: ids[1],
        highestId: ids[4],
        consumers: [{ name: "c", pending: 4 }],
      });
      assert.equal(await cluster.xack(key, "g", ...ids.slice(1)), 4);
      const next = await cluster.xadd(key, { n: 5 });
      assert.deepEqual(await cluster.xreadgroup("g", "c", { [key]: ">" }), {
        [key]: [{ id: next, fields: { n: "5" } }],
      });
      assert.equal(Number(await env.cluster.command(promoted, ["XLEN", key])), 6);
    },
  );

  await t.step("hscanIterator across a failover of its node: no field skipped", async () => {
    const shard = (await env.cluster.shards())[1]!;
    const key = await keyOn(env, shard.primary, "profile:");
    const fields = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`f${i}`, `v${i}`]));
    await cluster.hset(key, fields);
    assert.equal(await cluster.objectEncoding(key), "hashtable");
    const seen = new Map<string, string>();
    let yielded = 0;
    let failedOver = false;
    for await (const [field, value] of cluster.hscanIterator(key, { count: 10 })) {
      seen.set(field, value);
      if (++yielded === 300 && !failedOver) {
        failedOver = true;
        await env.cluster.failover(shard.replicas[0]!);
      }
    }
    assert.ok(failedOver);
    assert.equal(seen.size, 2000);
    assert.deepEqual(Object.fromEntries(seen), fields);
    assert.ok(yielded > 2000, "the new primary's walk started over: fields came again");
  });

  await t.step(
    "sscanIterator across a slot migration (ASK, then MOVED): no member skipped",
    async () => {
      const key = "{scanmig}:members";
      const members = Array.from({ length: 1500 }, (_, i) => `m${i}`);
      await cluster.sadd(key, ...members);
      const slot = keySlot(key);
      const from = await env.cluster.primaryOf(slot);
      const to = (await env.cluster.shards()).map((s) => s.primary).find((p) => p !== from)!;
      const asksBefore = await env.stat(to.index, "cmdstat_asking");
      const seen = new Set<string>();
      let yielded = 0;
      let migration: Awaited<ReturnType<typeof env.cluster.beginSlotMigration>> | undefined;
      for await (const member of cluster.sscanIterator(key, { count: 10 })) {
        seen.add(member);
        yielded++;
        if (yielded === 200) {
          // The key moves to the target while the slot migrates: the source answers ASK.
          migration = await env.cluster.beginSlotMigration(slot, to);
          assert.equal(await migration.moveKeys(), 1);
        } else if (yielded === 700) {
          // The slot is the target's now: MOVED, and the topology says so.
          await migration!.finish();
        }
      }
      assert.equal(seen.size, 1500);
      assert.ok(
        await env.stat(to.index, "cmdstat_asking") > asksBefore,
        "pages came through ASKING",
      );
      assert.ok(yielded > 1500, "the target's walk started over");
      assert.equal(Number(await env.cluster.command(to, ["SCARD", key])), 1500);
    },
  );

  await t.step(
    "close() during a walk: the next page fails with ConnectionClosedError",
    async () => {
      await using other = await connectCluster(env.thinOptions());
      const key = await keyOn(env, shards[2]!.primary, "zs:");
      const [first, ...rest] = Array.from(
        { length: 500 },
        (_, i) => ({ score: i, member: `m${i}` }),
      );
      await other.zadd(key, first!, ...rest);
      const walk = other.zscanIterator(key, { count: 5 });
      assert.equal((await walk.next()).done, false);
      await other.close();
      let failure: unknown;
      for (let pulls = 0; pulls < 600 && failure === undefined; pulls++) {
        try {
          if ((await walk.next()).done) break;
        } catch (error) {
          failure = error;
        }
      }
      assert.ok(failure instanceof ConnectionClosedError, String(failure));
    },
  );
});

Deno.test("where the cluster client routes the stream and operator commands", () => {
  const keys = (args: (string | number)[]) => {
    const route = commandRoute(args);
    return route.kind === "keys" ? route.keys : route.kind;
  };
  assert.deepEqual(keys(["XREAD", "COUNT", 5, "BLOCK", 0, "STREAMS", "a", "b", "$", "$"]), [
    "a",
    "b",
  ]);
  // A group named "streams" is no keyword: the keys follow the real STREAMS.
  assert.deepEqual(
    keys(["XREADGROUP", "GROUP", "streams", "c", "NOACK", "STREAMS", "k", ">"]),
    ["k"],
  );
  assert.deepEqual(keys(["XINFO", "STREAM", "k"]), ["k"]);
  assert.deepEqual(keys(["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]), ["k"]);
  assert.deepEqual(keys(["XADD", "k", "MAXLEN", "~", 10, "*", "f", "v"]), ["k"]);
  assert.deepEqual(keys(["OBJECT", "ENCODING", "k"]), ["k"]);
  assert.deepEqual(keys(["MEMORY", "USAGE", "k", "SAMPLES", 0]), ["k"]);
  assert.deepEqual(keys(["COPY", "a", "b", "REPLACE"]), ["a", "b"]);
  assert.deepEqual(keys(["HSCAN", "h", "0", "MATCH", "*"]), ["h"]);
  assert.equal(keys(["INFO", "server"]), "any");
  assert.equal(keys(["HELLO"]), "any");
  assert.equal(keys(["CLIENT", "GETNAME"]), "any");
  assert.equal(keys(["CLIENT", "SETNAME", "x"]), "unsupported");
  assert.equal(keys(["WAIT", 1, 0]), "unsupported");
});

Deno.test("a walk whose node stays down fails after retryTimeout, not never", async () => {
  await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
  await using cluster = await connectCluster({ ...env.thinOptions(), retryTimeout: 1000 });
  const node = (await env.cluster.shards())[1]!.primary;
  const key = await keyOn(env, node, "lost:");
  await cluster.sadd(key, ...Array.from({ length: 300 }, (_, i) => `m${i}`));
  const walk = cluster.sscanIterator(key, { count: 10 });
  assert.equal((await walk.next()).done, false);
  await env.cluster.stopNode(node);
  const started = Date.now();
  let failure: unknown;
  for (let pulls = 0; pulls < 400 && failure === undefined; pulls++) {
    try {
      if ((await walk.next()).done) break;
    } catch (error) {
      failure = error;
    }
  }
  // The node's own failure, once retryTimeout ran out.
  assert.ok(failure instanceof ConnectionClosedError, String(failure));
  assert.match(failure.message, /^Cannot connect to 127\.0\.0\.1:\d+: /);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 10_000, `failed after ${elapsed} ms`);
});
