import assert from "node:assert/strict";
import { createClient as createRedisClient, createCluster as createRedisCluster } from "redis";
import { createIamCluster } from "../mod.ts";
import { FakeTimers } from "../../../tests/_helpers/client_fake_timers.ts";
import { startRedisServer } from "../../../tests/_helpers/redis_server.ts";

// The emulator has no cluster mode yet: a one-node Redis Cluster with an ACL
// user stands in, and the token source hands out that user's password.

Deno.test("createCluster gives every node, pub/sub and discovery connection its own subscription", async () => {
  await using redis = await startRedisServer({ args: ["--cluster-enabled", "yes"] });
  const admin = createRedisClient({ socket: { host: redis.hostname, port: redis.port } });
  await admin.connect();
  try {
    await admin.sendCommand(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    await admin.sendCommand([
      "ACL",
      "SETUSER",
      "iam-user-01",
      "on",
      ">static-token",
      "~*",
      "&*",
      "+@all",
    ]);
    for (let i = 0; i < 100; i++) {
      const info = String(await admin.sendCommand(["CLUSTER", "INFO"]));
      if (info.includes("cluster_state:ok")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    let credentialsCalls = 0;
    const auth = {
      credentials: () => {
        credentialsCalls++;
        return Promise.resolve({ username: "iam-user-01", password: "static-token" });
      },
    };
    const timers = new FakeTimers();
    const cluster = createIamCluster(createRedisCluster, {
      rootNodes: [{ socket: { host: redis.hostname, port: redis.port } }],
      defaults: { socket: { tls: false } },
      auth,
      reauthAfter: 1000,
      timers,
    });
    cluster.on("error", () => {});
    await cluster.connect();
    try {
      // Discovery client (subscribed, then destroyed) and the master's client.
      assert.equal(credentialsCalls, 2);
      assert.equal(timers.pending, 1, "the discovery client's subscription was disposed");
      await cluster.set("key", "value");
      await cluster.subscribe("news", () => {});
      await cluster.sSubscribe("sharded", () => {});
      assert.equal(timers.pending, 3, "master, pub/sub and sharded pub/sub connections");
      await admin.sendCommand(["CONFIG", "RESETSTAT"]);
      timers.advance(1000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stats = String(await admin.sendCommand(["INFO", "commandstats"]));
      assert.match(stats, /cmdstat_auth:calls=3,/, "each connection re-authenticated once");
      assert.equal(timers.pending, 3);
      assert.equal(await cluster.get("key"), "value");
    } finally {
      await cluster.close();
    }
    assert.equal(timers.pending, 0, "close() left no subscription");
  } finally {
    await admin.close();
  }
});

Deno.test("createCluster refuses static credentials and plaintext root nodes off loopback", () => {
  const auth = { credentials: () => Promise.resolve({ username: "u", password: "p" }) };
  assert.throws(
    () =>
      createIamCluster(createRedisCluster, {
        rootNodes: [{ url: "redis://cache.example.com:6379" }],
        auth,
      }),
    /needs TLS/,
  );
  assert.throws(
    () =>
      createIamCluster(createRedisCluster, {
        rootNodes: [{ url: "rediss://cache.example.com:6379" }],
        defaults: { password: "secret" } as never,
        auth,
      }),
    /'password'/,
  );
  assert.throws(() => createIamCluster(createRedisCluster, { rootNodes: [], auth }), /rootNodes/);
});

Deno.test("createIamCluster({ rootNodes: [{ url }] }) signs for the user and cache the URL names", async () => {
  const keys = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example-secret" };
  const cluster = createIamCluster(createRedisCluster, {
    rootNodes: [{
      url: "rediss://app-user@clustercfg.my-group.abc123.apse2.cache.amazonaws.com:6379",
    }],
    credentials: keys,
  });
  // node-redis keeps the options it was given as `_options` (no public getter on a cluster).
  const options = (cluster as unknown as { _options: unknown })._options as {
    rootNodes: { url?: string }[];
    defaults?: {
      credentialsProvider?: {
        subscribe(listener: unknown): Promise<[{ password: string }, { dispose(): void }]>;
      };
    };
  };
  assert.equal(
    options.rootNodes[0]!.url,
    "rediss://clustercfg.my-group.abc123.apse2.cache.amazonaws.com:6379",
  );
  const [credentials, subscription] = await options.defaults!.credentialsProvider!.subscribe({
    onNext() {},
    onError() {},
  });
  subscription.dispose();
  assert.match(credentials.password, /^my-group\/\?Action=connect&User=app-user&X-Amz-Algorithm=/);
  assert.match(credentials.password, /%2Fap-southeast-2%2Felasticache%2Faws4_request/);
});
