import assert from "node:assert/strict";
import { ClusterClient, connectCluster } from "../src/cluster/client.ts";
import { keySlot } from "../src/cluster/slot.ts";
import { parseMyself } from "../src/cluster/scan.ts";
import { ConnectionClosedError, ReplyError } from "../src/errors.ts";
import type { EmulatorClusterNode } from "@elasticache-iam/emulator";
import { type IamCluster, startIamCluster } from "./_helpers/iam_cluster.ts";
import { startFakeServer, withHandshake } from "./_helpers/client_fake_server.ts";

/** Keys spread over every slot range: `scan:<i>`, plus a few per chosen slot. */
function keyNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `scan:${i}`);
}

/** Keys whose slot is `slot` (hash-tagged names found by search). */
function keysInSlot(slot: number, count: number, prefix: string): string[] {
  for (let tag = 0;; tag++) {
    if (keySlot(`${prefix}${tag}`) === slot) {
      return Array.from({ length: count }, (_, i) => `{${prefix}${tag}}:${i}`);
    }
  }
}

/** A slot served by `node` (the first of its ranges), other than those in `not`. */
async function slotOf(env: IamCluster, nodeId: string, not: number[] = []): Promise<number> {
  const shard = (await env.cluster.shards()).find((s) => s.primary.id === nodeId)!;
  for (const [start, end] of shard.slots) {
    for (let slot = start; slot <= end; slot++) if (!not.includes(slot)) return slot;
  }
  throw new Error("no slot");
}

/** Writes keys through the cluster client, 200 at a time. */
async function writeAll(cluster: ClusterClient, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 200) {
    const pipeline = cluster.pipeline();
    for (const key of keys.slice(i, i + 200)) pipeline.set(key, "v");
    await pipeline.exec();
  }
}

/** The keys missing from what a scan yielded. */
function missing(expected: readonly string[], seen: ReadonlySet<string>): string[] {
  return expected.filter((key) => !seen.has(key));
}

Deno.test("scanIterator walks every primary of a cluster, across topology changes", async (t) => {
  await using env = await startIamCluster();
  await using cluster = await connectCluster(env.thinOptions());
  const keys = keyNames(1500);
  await writeAll(cluster, keys);
  await cluster.hset("scan:hash:1", { a: "1" });
  await cluster.hset("{x}scan:hash:2", { a: "1" });

  await t.step(
    "every key, once per stable slot; match, count and type apply on every node",
    async () => {
      const seen: string[] = [];
      for await (const key of cluster.scanIterator({ count: 100 })) seen.push(key);
      assert.deepEqual(new Set(seen), new Set([...keys, "scan:hash:1", "{x}scan:hash:2"]));
      assert.equal(seen.length, new Set(seen).size, "no topology change: no key twice");
      const hashes: string[] = [];
      for await (const key of cluster.scanIterator({ type: "hash" })) hashes.push(key);
      assert.deepEqual(hashes.sort(), ["scan:hash:1", "{x}scan:hash:2"]);
      const some: string[] = [];
      for await (const key of cluster.scanIterator({ match: "scan:1?", count: 1000 })) {
        some.push(
          key,
        );
      }
      assert.deepEqual(some.sort(), Array.from({ length: 10 }, (_, i) => `scan:1${i}`));
    },
  );

  await t.step("leaving the loop early sends nothing more", async () => {
    const before = await env.stat(0, "cmdstat_scan") + await env.stat(1, "cmdstat_scan") +
      await env.stat(2, "cmdstat_scan");
    let n = 0;
    for await (const _ of cluster.scanIterator({ count: 10 })) if (++n === 5) break;
    const after = await env.stat(0, "cmdstat_scan") + await env.stat(1, "cmdstat_scan") +
      await env.stat(2, "cmdstat_scan");
    assert.equal(after - before, 1, "one SCAN call");
  });

  await t.step(
    "slots migrated into and out of the node being scanned: no key skipped",
    async () => {
      const shards = await env.cluster.shards();
      const [a, b, c] = shards.map((s) => s.primary);
      // The scan goes in slot order: the first shard's primary is scanned first.
      assert.equal(a!.id, (await env.cluster.primaryOf(0)).id);
      const out = await slotOf(env, a!.id);
      const into = await slotOf(env, c!.id);
      const outKeys = keysInSlot(out, 40, "out");
      const intoKeys = keysInSlot(into, 40, "into");
      await writeAll(cluster, [...outKeys, ...intoKeys]);
      const expected = [...keys, ...outKeys, ...intoKeys, "scan:hash:1", "{x}scan:hash:2"];

      const seen = new Set<string>();
      let yields = 0;
      let moved = false;
      for await (const key of cluster.scanIterator({ count: 20 })) {
        seen.add(key);
        yields++;
        if (yields === 30 && !moved) {
          // Mid-scan of the first primary: one of its slots leaves for the
          // second, a slot of the third (not scanned yet) comes to it.
          moved = true;
          await env.cluster.migrateSlot(out, b!);
          await env.cluster.migrateSlot(into, a!);
        }
      }
      assert.ok(moved);
      assert.deepEqual(missing(expected, seen), []);
      assert.ok(yields >= expected.length);
    },
  );

  await t.step(
    "a slot still migrating while its source is scanned: its keys are found on the target",
    async () => {
      const shards = await env.cluster.shards();
      const [a, b] = shards.map((s) => s.primary);
      const slot = await slotOf(env, a!.id);
      const slotKeys = keysInSlot(slot, 60, "half");
      await writeAll(cluster, slotKeys);
      const expected = [...keys, ...slotKeys];
      const migration = await env.cluster.beginSlotMigration(slot, b!);
      assert.equal(await migration.moveKeys(20), 20);
      const seen = new Set<string>();
      let yields = 0;
      for await (const key of cluster.scanIterator({ count: 20 })) {
        seen.add(key);
        // Keys keep moving while the source is scanned, and after.
        if (++yields % 200 === 0) await migration.moveKeys(10);
      }
      assert.deepEqual(missing(expected, seen), []);
      await migration.finish();
    },
  );

  await t.step(
    "a failover in the middle of a node's scan: its slots are scanned again",
    async () => {
      const seen = new Set<string>();
      let yields = 0;
      let promoted = false;
      for await (const key of cluster.scanIterator({ count: 20 })) {
        seen.add(key);
        if (++yields === 40) {
          // The shard being scanned now: the one serving this key.
          await env.cluster.failover(await env.cluster.primaryOf(key));
          promoted = true;
        }
      }
      assert.ok(promoted);
      assert.deepEqual(missing(keys, seen), []);
      assert.ok(yields > seen.size, `keys of the failed-over shard came twice (${yields} yields)`);
    },
  );

  await t.step("a primary crashing mid-scan: the scan goes on at its replica", async () => {
    // Every write has reached the replicas before the crash.
    for (const shard of await env.cluster.shards()) {
      await env.cluster.command(shard.primary, ["WAIT", "1", "5000"]);
    }
    const seen = new Set<string>();
    let yields = 0;
    let crashed: EmulatorClusterNode | undefined;
    try {
      for await (const key of cluster.scanIterator({ count: 20 })) {
        seen.add(key);
        if (++yields === 30) {
          // The primary being scanned now.
          crashed = await env.cluster.primaryOf(key);
          await env.cluster.stopNode(crashed);
        }
      }
      assert.ok(crashed);
      assert.deepEqual(missing(keys, seen), []);
    } finally {
      if (crashed !== undefined) await env.cluster.startNode(crashed);
    }
  });

  await t.step("close() during a scan ends it with ConnectionClosedError", async () => {
    const client = await connectCluster(env.thinOptions());
    const iterator = client.scanIterator({ count: 10 });
    assert.equal((await iterator.next()).done, false);
    await client.close();
    await assert.rejects(async () => {
      for (;;) if ((await iterator.next()).done) break;
    }, ConnectionClosedError);
  });
});

Deno.test("scanIterator refuses bad options at once, before any network work", async () => {
  const cluster = new ClusterClient({ host: "127.0.0.1", port: 1 });
  assert.throws(
    () => cluster.scanIterator({ count: 0 }),
    (error: unknown) =>
      error instanceof RangeError &&
      /^Cannot scan the cluster: 'count' must be an integer\b.*got 0$/.test(error.message),
  );
  assert.throws(() => cluster.scanIterator({ match: 5 as never }), TypeError);
  assert.throws(() => cluster.scanIterator({ type: "" }), TypeError);
  await assert.rejects(() => cluster.scan(0), /use client\.scanIterator\(\)/);
  assert.deepEqual(cluster.shards(), []);
  await cluster.close();
});

/** A one-node fake cluster whose `CLUSTER NODES` answer is `nodes`. */
function fakeNode(nodes: (port: number) => string) {
  const server = startFakeServer(withHandshake(async (command, connection) => {
    const sub = command[1]?.toUpperCase();
    if (command[0] === "CLUSTER" && sub === "SHARDS") {
      const b = (...items: string[]) => items.map((i) => `$${i.length}\r\n${i}\r\n`).join("");
      await connection.write(
        `*1\r\n%2\r\n${b("slots")}*2\r\n:0\r\n:16383\r\n${b("nodes")}*1\r\n%4\r\n${
          b("id", "f".repeat(40), "ip", "127.0.0.1", "port")
        }:${server.port}\r\n${b("role", "master")}`,
      );
    } else if (command[0] === "CLUSTER" && sub === "NODES") {
      await connection.write(nodes(server.port));
    } else if (command[0] === "SCAN") {
      await connection.write("*2\r\n$1\r\n0\r\n*2\r\n$3\r\nkey\r\n$5\r\nother\r\n");
    } else {
      await connection.write("+OK\r\n");
    }
  }));
  return server;
}

Deno.test("a node whose account of its slots never settles: the scan fails after retryTimeout", async () => {
  // CLUSTER SHARDS says the node owns every slot; CLUSTER NODES, none.
  await using server = fakeNode((port) => {
    const line = `${"f".repeat(40)} 127.0.0.1:${port}@1 myself,master - 0 0 1 connected\n`;
    return `$${line.length}\r\n${line}\r\n`;
  });
  await using cluster = await connectCluster({
    host: "127.0.0.1",
    port: server.port,
    retryTimeout: 300,
  });
  const started = performance.now();
  await assert.rejects(
    async () => {
      for await (const _ of cluster.scanIterator()) { /* nothing is yielded */ }
    },
    (error: unknown) =>
      error instanceof ReplyError && error.code === "CLUSTERDOWN" &&
      /hash slot 0 did not stay on one node through a scan of it for 300 ms/.test(error.message),
  );
  assert.ok(performance.now() - started < 3000);
});

Deno.test("a node that does not answer CLUSTER NODES is judged from CLUSTER SHARDS", async () => {
  await using server = fakeNode(() => "-ERR unknown subcommand 'NODES'\r\n");
  await using cluster = await connectCluster({ host: "127.0.0.1", port: server.port });
  const seen: string[] = [];
  for await (const key of cluster.scanIterator()) seen.push(key);
  assert.deepEqual(seen, ["key", "other"]);
});

Deno.test("parseMyself reads a node's slots, migrations and imports", () => {
  const view = parseMyself(
    "a1 10.0.0.2:6379@16379 master - 0 0 2 connected 100-200\n" +
      "b2 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5 7 [8->-a1] [9-<-a1]\n",
  )!;
  assert.equal(view.id, "b2");
  assert.deepEqual([...view.owned.slice(0, 10)], [1, 1, 1, 1, 1, 1, 0, 1, 0, 0]);
  assert.deepEqual([...view.migrating], [[8, "a1"]]);
  assert.deepEqual([...view.importing], [[9, "a1"]]);
  const replica = parseMyself("c3 10.0.0.3:6379@16379 myself,slave b2 0 0 1 connected\n")!;
  assert.equal(replica.owned.indexOf(1), -1, "a replica serves no slot");
  assert.equal(parseMyself("no such line"), undefined);
});
