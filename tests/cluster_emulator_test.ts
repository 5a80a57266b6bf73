import assert from "node:assert/strict";
import { startEmulator } from "@elasticache-iam/emulator";
import { connectCluster } from "../src/cluster/client.ts";
import { keySlot } from "../src/cluster/slot.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";
import { startIamCluster } from "./_helpers/iam_cluster.ts";

Deno.test("startEmulator refuses a malformed cluster configuration before starting anything", async () => {
  await assert.rejects(() => startEmulator({ cluster: { shards: 0 } }), RangeError);
  await assert.rejects(
    () => startEmulator({ cluster: { replicasPerShard: 1.5 } }),
    /'cluster.replicasPerShard' must be an integer from 0 to 5, got 1.5/,
  );
  await assert.rejects(
    () => startEmulator({ cluster: {}, backend: { port: 6379 } }),
    /cannot use a 'backend' address/,
  );
  await assert.rejects(
    () => startEmulator({ cluster: {}, gateway: { port: 7000 } }),
    /remove 'gateway.port'/,
  );
});

Deno.test("cluster mode: one IAM gateway per node, announced in CLUSTER SHARDS, SLOTS, NODES and MOVED", async (t) => {
  await using env = await startIamCluster({ tls: false });
  const { cluster } = env;
  const gatewayPorts = new Set(cluster.nodes.map((node) => node.gateway.port));
  const backendPorts = new Set(cluster.nodes.map((node) => node.backendPort));
  const { username, password } = await env.auth.credentials();
  const authenticated = async (index: number) => {
    const conn = await RespTestClient.connect(cluster.nodes[index]!.gateway);
    assert.equal(await conn.send("AUTH", username!, password), "OK");
    return conn;
  };

  await t.step("the nodes form a healthy cluster: 3 shards with 1 replica each", async () => {
    assert.equal(cluster.nodes.length, 6);
    const shards = await cluster.shards();
    assert.deepEqual(shards.map((s) => s.slots), [[[0, 5460]], [[5461, 10921]], [[10922, 16383]]]);
    assert.deepEqual(shards.map((s) => s.primary.index), [0, 1, 2]);
    assert.deepEqual(shards.map((s) => s.replicas.map((r) => r.index)), [[3], [4], [5]]);
    assert.ok(cluster.nodes.every((node) => node.running && /^[0-9a-f]{40}$/.test(node.id)));
    assert.equal((await cluster.primaryOf("foo")).index, 2); // slot 12182
    assert.equal((await cluster.primaryOf(0)).index, 0);
  });

  await t.step(
    "every gateway wants an IAM token; then the node announces gateways only",
    async () => {
      for (const node of cluster.nodes) {
        await using conn = await RespTestClient.connect(node.gateway);
        assert.equal(await conn.send("CLUSTER", "SHARDS"), "-NOAUTH Authentication required.");
        assert.equal(await conn.send("AUTH", username!, password), "OK");
        const text = JSON.stringify([
          await conn.send("CLUSTER", "SHARDS"),
          await conn.send("CLUSTER", "SLOTS"),
        ]);
        const ports = [...text.matchAll(/"port",(\d+)|\["127\.0\.0\.1",(\d+)/g)].map((m) =>
          Number(m[1] ?? m[2])
        );
        // CLUSTER SLOTS leaves out replicas with no data yet (health: loading).
        assert.ok(ports.length >= 9, text);
        assert.ok(ports.every((port) => gatewayPorts.has(port)), `ports ${ports}`);
        const nodes = String(await conn.send("CLUSTER", "NODES"));
        for (const port of backendPorts) assert.ok(!nodes.includes(`:${port}@`));
      }
      const accepted = env.log.filter((line) =>
        / AUTH as 'iam-user-01' to replication-group-01 accepted/.test(line)
      );
      assert.deepEqual(
        [...new Set(accepted.map((line) => line.split(" ")[0]))].sort(),
        ["node-0", "node-1", "node-2", "node-3", "node-4", "node-5"],
      );
    },
  );

  await t.step("MOVED points at the owner's gateway", async () => {
    await using conn = await authenticated(0);
    assert.equal(
      await conn.send("GET", "foo"),
      `-MOVED 12182 127.0.0.1:${cluster.nodes[2]!.gateway.port}`,
    );
  });

  await t.step(
    "replicas replicate through their primary's gateway as the internal user",
    async () => {
      const internal = env.log.filter((line) => line.includes("internal link (replication)"));
      assert.deepEqual(internal.map((line) => line.split(" ")[0]).sort(), [
        "node-0",
        "node-1",
        "node-2",
      ]);
      {
        await using conn = await RespTestClient.connect(cluster.nodes[0]!.gateway);
        assert.equal(
          await conn.send("AUTH", "emulator-admin", "not-the-password"),
          "-WRONGPASS invalid username-password pair or user is disabled.",
        );
      }
      assert.ok(env.log.some((line) => line.includes("internal link refused")));
      await using writer = await authenticated(0);
      assert.equal(await writer.send("SET", "{b}a", "replicated"), "OK"); // slot 3300: node #0
      assert.equal(await writer.send("WAIT", "1", "5000"), 1);
      assert.equal(Number(await cluster.command(3, ["DBSIZE"])), 1);
    },
  );

  await t.step("failover, crash and restart keep the gateways' addresses", async () => {
    const promoted = await cluster.failover(0);
    assert.equal(promoted.index, 3);
    assert.equal((await cluster.shards())[0]!.primary.index, 3);
    await cluster.stopNode(3);
    assert.equal(cluster.nodes[3]!.running, false);
    await assert.rejects(() => RespTestClient.connect(cluster.nodes[3]!.gateway));
    await cluster.waitUntilHealthy();
    assert.equal((await cluster.shards())[0]!.primary.index, 0, "node #0 took its shard back");
    await cluster.startNode(3);
    const shard = (await cluster.shards())[0]!;
    assert.deepEqual([shard.primary.index, shard.replicas.map((r) => r.index)], [0, [3]]);
    await using conn = await authenticated(3);
    assert.equal(await conn.send("READONLY"), "OK");
    assert.equal(await conn.send("GET", "{b}a"), "replicated", "resynced from the new primary");
  });

  await t.step("migrating a slot: ASK while it moves, MOVED after", async () => {
    const slot = keySlot("{m}");
    const from = await cluster.primaryOf(slot);
    const to = (await cluster.shards()).map((s) => s.primary).find((p) => p !== from)!;
    await using conn = await authenticated(from.index);
    await conn.send("MSET", "{m}1", "x", "{m}2", "y");
    const migration = await cluster.beginSlotMigration(slot, to);
    assert.equal(await migration.moveKeys(1), 1);
    const replies = [await conn.send("GET", "{m}1"), await conn.send("GET", "{m}2")];
    assert.ok(replies.includes(`-ASK ${slot} 127.0.0.1:${to.gateway.port}`), String(replies));
    await migration.finish();
    assert.equal(await conn.send("GET", "{m}1"), `-MOVED ${slot} 127.0.0.1:${to.gateway.port}`);
    assert.equal((await cluster.primaryOf(slot)).index, to.index);
    await assert.rejects(() => cluster.beginSlotMigration(slot, to), /serves it already/);
  });

  await t.step("close() stops every node", async () => {
    await env.emu.close();
    for (const port of backendPorts) {
      await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
    }
  });
});

Deno.test("moving a slot's keys while clients write, delete and read them loses no write", async () => {
  await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
  await using client = await connectCluster(env.thinOptions());
  const { cluster } = env;
  const slot = keySlot("{move}");
  const keys = Array.from({ length: 120 }, (_, i) => `{move}:${i}`);
  const expected = new Map<string, string | null>();
  for (const [i, key] of keys.entries()) {
    assert.equal(
      await client.set(key, `initial-${i}`, i % 2 === 0 ? { px: 600_000 } : {}),
      "OK",
    );
    expected.set(key, `initial-${i}`);
  }
  // Four writers, each with its own keys (of the first 80) and counter, so that what each key
  // should hold is known; the last 40 keys stay as they are, half of them with an expiry.
  let running = true;
  const writers = Array.from({ length: 4 }, async (_, writer) => {
    let seed = writer + 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; running; n++) {
      const key = keys[writer + 4 * Math.floor(next() * 20)]!;
      const choice = next();
      if (choice < 0.3) {
        const counter = `{move}:counter:${writer}`;
        const value = await client.incr(counter);
        assert.equal(
          value,
          Number(expected.get(counter) ?? 0) + 1,
          `no increment of ${counter} lost`,
        );
        expected.set(counter, String(value));
      } else if (choice < 0.5) {
        await client.del(key);
        expected.set(key, null);
      } else if (choice < 0.8) {
        assert.equal(await client.set(key, `${writer}-${n}`), "OK");
        expected.set(key, `${writer}-${n}`);
      } else {
        assert.equal(await client.get(key), expected.get(key), `read ${key}`);
      }
    }
  });
  const from = await cluster.primaryOf(slot);
  const to = cluster.nodes.find((node) => node !== from)!;
  const migration = await cluster.beginSlotMigration(slot, to);
  while (await migration.moveKeys(7) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await migration.finish();
  running = false;
  await Promise.all(writers);
  assert.equal(await cluster.command(from, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)]), 0);
  for (const [key, value] of expected) assert.equal(await client.get(key), value, key);
  const ttls = await Promise.all(
    [keys[80]!, keys[81]!].map((key) => cluster.command(to, ["PTTL", key])),
  );
  assert.ok(Number(ttls[0]) > 500_000 && Number(ttls[0]) <= 600_000, `expiry kept: ${ttls}`);
  assert.equal(ttls[1], -1, "no expiry added");
});
