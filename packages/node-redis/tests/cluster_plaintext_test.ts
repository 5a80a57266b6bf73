import assert from "node:assert/strict";
import { createCluster as createRedis6Cluster } from "redis";
import { createCluster as createRedis5Cluster } from "redis5";
import { createIamCluster } from "../mod.ts";
import { keySlot } from "../../../src/cluster/slot.ts";
import { runWorkload, startIamCluster } from "../../../tests/_helpers/iam_cluster.ts";
import { sleep } from "../../../tests/_helpers/iam_emulator.ts";

// createIamCluster with redis:// root nodes on loopback, against the emulator's
// cluster without TLS (its gateways speak plaintext only, so every command
// that succeeds went over a plaintext connection, discovered nodes included).

/** node-redis 6 and 5: the integration takes whichever the application installed. */
const NODE_REDIS = [
  ["node-redis 6", createRedis6Cluster],
  ["node-redis 5", createRedis5Cluster as unknown as typeof createRedis6Cluster],
] as const;

/** Resolves when `check` passes, retrying every 50 ms for up to `timeoutMs`. */
async function eventually(check: () => Promise<void> | void, timeoutMs = 5000): Promise<void> {
  const started = performance.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (performance.now() - started > timeoutMs) throw error;
      await sleep(50);
    }
  }
}

for (const [version, createRedisCluster] of NODE_REDIS) {
  Deno.test(`${version}: redis:// root nodes on loopback reach a plaintext cluster, discovered nodes included`, async (t) => {
    await using env = await startIamCluster({ tls: false });
    const { hostname, port } = env.emu.gateway;
    const cluster = createIamCluster(createRedisCluster, {
      rootNodes: [{ url: `redis://${hostname}:${port}` }],
      auth: env.auth,
    });
    const errors: Error[] = [];
    cluster.on("error", (error: Error) => errors.push(error));
    await cluster.connect();
    try {
      await t.step(
        "keys spread over every shard read back; each primary authenticated",
        async () => {
          const keys = Array.from({ length: 150 }, (_, i) => `plain:${i}`);
          await Promise.all(keys.map((key, i) => cluster.set(key, `v${i}`)));
          assert.deepEqual(
            await Promise.all(keys.map((key) => cluster.get(key))),
            keys.map((_, i) => `v${i}`),
          );
          for (const shard of await env.cluster.shards()) {
            const size = Number(await env.cluster.command(shard.primary, ["DBSIZE"]));
            assert.ok(size > 20, `shard of node #${shard.primary.index} holds ${size} keys`);
            assert.ok(env.acceptedOn(shard.primary.index) >= 1, "authenticated by IAM");
          }
        },
      );

      await t.step("pub/sub and sharded pub/sub connections authenticate too", async () => {
        const received: string[] = [];
        await cluster.subscribe("news", (message: string) => received.push(message));
        await cluster.sSubscribe("{plain}:events", (message: string) => received.push(message));
        await cluster.publish("news", "hello");
        await cluster.sPublish("{plain}:events", "sharded");
        await eventually(() => assert.deepEqual(received.sort(), ["hello", "sharded"]));
      });

      await t.step("a failover keeps it serving, over plaintext to the new primary", async () => {
        const slot = keySlot("{fo}");
        const before = await env.cluster.primaryOf(slot);
        const acked: string[] = [];
        const workload = runWorkload(3, async (worker, n) => {
          const key = `{fo}:${worker}:${n}`;
          await cluster.set(key, key);
          acked.push(key);
        });
        await workload.progress(50);
        const after = await env.cluster.failover(before);
        await workload.progress(50);
        await workload.stop();
        assert.notEqual(after.index, before.index);
        assert.ok(env.acceptedOn(after.index) >= 1, "the promoted replica authenticated by IAM");
        assert.deepEqual(await Promise.all(acked.map((key) => cluster.get(key))), acked);
      });
    } finally {
      await cluster.close();
    }
    assert.deepEqual(env.refused(), []);
    assert.equal(errors.filter((e) => /WRONGPASS|NOAUTH|TLS|SSL/i.test(e.message)).length, 0);
  });

  Deno.test(`${version}: a root node given as socket { tls: false } on loopback works the same`, async () => {
    await using env = await startIamCluster({
      tls: false,
      cluster: { shards: 2, replicasPerShard: 0 },
    });
    const { hostname, port } = env.emu.gateway;
    const cluster = createIamCluster(createRedisCluster, {
      rootNodes: [{ socket: { host: hostname, port, tls: false } }],
      auth: env.auth,
    });
    cluster.on("error", () => {});
    await cluster.connect();
    try {
      const keys = ["a", "b", "c", "d", "e", "f"];
      await Promise.all(keys.map((key) => cluster.set(key, key.toUpperCase())));
      assert.deepEqual(await Promise.all(keys.map((key) => cluster.get(key))), [
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
      ]);
      assert.ok(env.acceptedOn(0) >= 1 && env.acceptedOn(1) >= 1, "both primaries used");
    } finally {
      await cluster.close();
    }
  });

  Deno.test(`${version}: close() while commands are in flight settles every one of them, and leaves nothing running`, async () => {
    await using env = await startIamCluster({
      tls: false,
      cluster: { shards: 2, replicasPerShard: 0 },
    });
    const { hostname, port } = env.emu.gateway;
    const cluster = createIamCluster(createRedisCluster, {
      rootNodes: [{ url: `redis://${hostname}:${port}` }],
      auth: env.auth,
    });
    cluster.on("error", () => {});
    await cluster.connect();
    const pending = Array.from({ length: 200 }, (_, i) => cluster.incr(`inflight:${i % 10}`));
    const closing = cluster.close();
    const results = await Promise.race([
      Promise.allSettled(pending),
      sleep(5000).then(() => "timed out" as const),
    ]);
    await closing;
    assert.notEqual(results, "timed out", "every command settled");
  });
}

Deno.test("a plaintext cluster refuses a discovered node off loopback before sending it anything", async () => {
  await using env = await startIamCluster({
    tls: false,
    cluster: { shards: 2, replicasPerShard: 0 },
  });
  const { hostname, port } = env.emu.gateway;
  const mapped: string[] = [];
  const cluster = createIamCluster(createRedis6Cluster, {
    rootNodes: [{ url: `redis://${hostname}:${port}` }],
    // The cluster's nodes, as reached through a NAT (TEST-NET-1: never answers).
    nodeAddressMap: (address: string) => {
      mapped.push(address);
      return { host: "192.0.2.10", port: Number(address.split(":").at(-1)) };
    },
    auth: env.auth,
  });
  const errors: Error[] = [];
  cluster.on("error", (error: Error) => errors.push(error));
  const accepted = env.accepted();
  await assert.rejects(cluster.connect());
  assert.ok(mapped.length > 0, "the application's map was asked");
  assert.ok(
    errors.some((error) =>
      error instanceof TypeError &&
      error.message ===
        "Cannot connect to the cluster node at 192.0.2.10: its connection would be plaintext (the " +
          "root nodes are redis://, on loopback), but IAM authentication needs TLS off loopback: " +
          "use rediss:// root nodes, or set 'allowPlaintext' for a test server"
    ),
    errors.map((error) => error.message).join("\n"),
  );
  // Only the discovery connection to the root node authenticated.
  assert.equal(env.accepted() - accepted, 1);
  await cluster.destroy();
});

Deno.test("createIamCluster refuses root nodes that mix TLS and plaintext, before any network work", () => {
  const auth = { credentials: () => Promise.resolve({ username: "u", password: "p" }) };
  const mixedMessage =
    "Cannot createIamCluster: the root nodes and 'defaults.socket.tls' mix TLS and plaintext, " +
    "but node-redis reaches every node of the cluster the same way: use rediss:// for all " +
    "(or redis:// for all, for a test server on loopback)";
  assert.throws(
    () =>
      createIamCluster(createRedis6Cluster, {
        rootNodes: [{ url: "redis://127.0.0.1:7000" }, { url: "rediss://127.0.0.1:7001" }],
        auth,
      }),
    { name: "TypeError", message: mixedMessage },
  );
  assert.throws(
    () =>
      createIamCluster(createRedis6Cluster, {
        rootNodes: [{ url: "redis://127.0.0.1:7000" }],
        defaults: { socket: { tls: true } },
        auth,
      }),
    { name: "TypeError", message: /'url' is redis:\/\/ but 'socket.tls' is true/ },
  );
  assert.throws(
    () =>
      createIamCluster(createRedis6Cluster, {
        rootNodes: [{ socket: { host: "127.0.0.1", port: 7000, tls: false } }],
        defaults: { socket: { tls: true } },
        auth,
      }),
    { name: "TypeError", message: mixedMessage },
  );
  // Plaintext off loopback needs allowPlaintext, as for createIamClient.
  assert.throws(
    () =>
      createIamCluster(createRedis6Cluster, {
        rootNodes: [{ url: "redis://10.0.0.5:6379" }],
        auth,
      }),
    /the connection to 10\.0\.0\.5 would be plaintext, but IAM authentication needs TLS/,
  );
  const allowed = createIamCluster(createRedis6Cluster, {
    rootNodes: [{ url: "redis://10.0.0.5:6379" }],
    allowPlaintext: true,
    auth,
  });
  const options = (allowed as unknown as {
    _options: { defaults: { socket: { tls: boolean } }; nodeAddressMap?: unknown };
  })._options;
  assert.equal(options.defaults.socket.tls, false);
  assert.equal(options.nodeAddressMap, undefined, "discovered nodes are not restricted");
});
