/**
 * One endpoint per cache, as on AWS: each configured cache has its own
 * gateway in front of its own `redis-server`, refuses tokens signed for
 * another cache with ElastiCache's `WRONGPASS` (the log names both caches),
 * and keeps its own data. `startEmulator()` reports every endpoint; the
 * default stays one cache.
 */

import assert from "node:assert/strict";
import { type EmulatorConfig, type PolicyDocument, startEmulator, WRONGPASS } from "../mod.ts";
import { createAuthToken } from "../../../src/token.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

const KEYS = { accessKeyId: "AKIAEMULATORENDPOINT", secretAccessKey: "endpoints-secret-key" };
const CONNECT_ANY: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow",
    Action: ["elasticache:Connect", "memorydb:Connect"],
    Resource: "*",
  }],
};
const TWO_CACHES: EmulatorConfig = {
  caches: [{ replicationGroupId: "cache-a" }, { serverlessCacheName: "cache-b" }],
  iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [CONNECT_ANY] }],
};

function tokenFor(cache: "cache-a" | "cache-b", signingDate: Date): Promise<string> {
  return createAuthToken({
    ...(cache === "cache-a" ? { replicationGroupId: cache } : { serverlessCacheName: cache }),
    userId: "iam-user-01",
    region: "us-east-1",
    credentials: KEYS,
    signingDate,
  });
}

Deno.test("a token for cache B is refused at cache A's endpoint, and the log names both", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({ ...TWO_CACHES, log: (line) => log.push(line) });
  const a = emu.endpoint("cache-a");
  const b = emu.endpoint("cache-b");
  assert.notEqual(a.port, b.port);
  for (const [endpoint, wrong] of [[a, "cache-b"], [b, "cache-a"]] as const) {
    await using client = await RespTestClient.connect(endpoint);
    const token = await tokenFor(wrong, emu.clock.date());
    assert.equal(await client.send("AUTH", "iam-user-01", token), `-${WRONGPASS}`);
    assert.equal(
      await client.send("HELLO", "3", "AUTH", "iam-user-01", token),
      `-${WRONGPASS}`,
    );
  }
  assert.ok(
    log.some((line) =>
      line.startsWith("cache-a gateway: ") &&
      line.includes(
        "refused: token is for cache 'cache-b', but this endpoint serves cache 'cache-a'",
      )
    ),
    log.join("\n"),
  );
  assert.ok(
    log.some((line) =>
      line.startsWith("cache-b gateway: ") &&
      line.includes("token is for cache 'cache-a', but this endpoint serves cache 'cache-b'")
    ),
  );
});

Deno.test("a refused re-authentication with another cache's token keeps the connection's identity", async () => {
  await using emu = await startEmulator(TWO_CACHES);
  await using client = await RespTestClient.connect(emu.endpoint("cache-a"));
  assert.equal(
    await client.send("AUTH", "iam-user-01", await tokenFor("cache-a", emu.clock.date())),
    "OK",
  );
  assert.equal(
    await client.send("AUTH", "iam-user-01", await tokenFor("cache-b", emu.clock.date())),
    `-${WRONGPASS}`,
  );
  assert.equal(await client.send("PING"), "PONG");
});

Deno.test("each cache keeps its own data", async () => {
  await using emu = await startEmulator(TWO_CACHES);
  await using a = await RespTestClient.connect(emu.endpoint("cache-a"));
  await using b = await RespTestClient.connect(emu.endpoint("cache-b"));
  assert.equal(
    await a.send("AUTH", "iam-user-01", await tokenFor("cache-a", emu.clock.date())),
    "OK",
  );
  assert.equal(
    await b.send("AUTH", "iam-user-01", await tokenFor("cache-b", emu.clock.date())),
    "OK",
  );
  assert.equal(await a.send("SET", "{k}", "in-a"), "OK");
  assert.equal(await b.send("GET", "{k}"), null);
  assert.equal(await b.send("SET", "{k}", "in-b"), "OK");
  assert.equal(await a.send("GET", "{k}"), "in-a");
  assert.equal(await a.send("DBSIZE"), 1);
});

Deno.test("startEmulator() reports every cache's endpoint; the default is one cache", async () => {
  {
    await using emu = await startEmulator(TWO_CACHES);
    assert.deepEqual(
      emu.caches.map(({ name, kind, region }) => ({ name, kind, region })),
      [
        { name: "cache-a", kind: "replication-group", region: "us-east-1" },
        { name: "cache-b", kind: "serverless", region: "us-east-1" },
      ],
    );
    for (const endpoint of emu.caches) {
      assert.equal(endpoint.url, `redis://127.0.0.1:${endpoint.port}`);
      assert.equal(endpoint.tls, false);
    }
    assert.deepEqual(emu.gateway, {
      hostname: "127.0.0.1",
      port: emu.caches[0]!.port,
      tls: false,
    });
    assert.throws(
      () => emu.endpoint("cache-c"),
      {
        name: "TypeError",
        message: "Cannot find cache 'cache-c' in the emulator's configuration (cache-a, cache-b)",
      },
    );
  }
  await using emu = await startEmulator({ tls: true });
  assert.equal(emu.caches.length, 1);
  const [only] = emu.caches;
  assert.equal(only!.name, "replication-group-01");
  assert.equal(only!.url, `rediss://127.0.0.1:${emu.gateway.port}`);
  assert.equal(only!.caCertPem, emu.gateway.caCertPem);
  assert.equal(emu.endpoint("replication-group-01").port, emu.gateway.port);
});

Deno.test("a cache's 'port' places its endpoint; conflicting ports are refused before anything starts", async () => {
  const free = () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    return port;
  };
  const port = free();
  {
    await using emu = await startEmulator({
      ...TWO_CACHES,
      caches: [{ replicationGroupId: "cache-a" }, { serverlessCacheName: "cache-b", port }],
    });
    assert.equal(emu.endpoint("cache-b").port, port);
  }
  const refused = async (config: EmulatorConfig, message: string) => {
    await assert.rejects(startEmulator(config), { name: "TypeError", message });
  };
  await refused(
    { ...TWO_CACHES, gateway: { port }, caches: [{ replicationGroupId: "a", port: port + 1 }] },
    `Cannot start the emulator: 'gateway.port' (${port}) and 'caches[0].port' (${
      port + 1
    }) both set the first cache's port; keep one`,
  );
  await refused(
    {
      ...TWO_CACHES,
      caches: [{ replicationGroupId: "a", port }, { serverlessCacheName: "b", port }],
    },
    `Cannot start the emulator: caches #1 and #2 both ask for port ${port}; every cache has its own endpoint`,
  );
  await refused(
    { ...TWO_CACHES, cluster: { shards: 1, replicasPerShard: 0 } },
    "Cannot start the emulator: 'cluster' emulates one cluster-mode cache, got 2 caches; start one emulator per cluster",
  );
  await refused(
    { ...TWO_CACHES, backend: { port: 6379 } },
    "Cannot start the emulator: a 'backend' address holds one cache's data, got 2 caches; leave 'backend' out and the emulator starts one redis-server per cache",
  );
  await assert.rejects(
    startEmulator({ caches: [{ replicationGroupId: "a", port: 70_000 }] }),
    {
      name: "RangeError",
      message:
        "Cannot start the emulator: 'caches[0].port' must be an integer from 0 to 65535, got 70000",
    },
  );
});

Deno.test("every configured port differs: a cache's, 'gateway.port', 'sts.port' and 'oidc.port' clashing are refused by name before anything starts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const cases: [EmulatorConfig, string, string][] = [
    [
      { caches: [{ replicationGroupId: "a", port }], sts: { port } },
      "'caches[0].port'",
      "'sts.port'",
    ],
    [
      { caches: [{ replicationGroupId: "a", port }], oidc: { port } },
      "'caches[0].port'",
      "'oidc.port'",
    ],
    [
      { caches: [{ replicationGroupId: "a" }, { replicationGroupId: "b", port }], sts: { port } },
      "'caches[1].port'",
      "'sts.port'",
    ],
    [{ gateway: { port }, oidc: { port } }, "'gateway.port'", "'oidc.port'"],
    [{ sts: { port }, oidc: { port } }, "'sts.port'", "'oidc.port'"],
    [
      { cluster: { shards: 1, replicasPerShard: 0 }, sts: { port }, oidc: { port } },
      "'sts.port'",
      "'oidc.port'",
    ],
  ];
  for (const [config, first, second] of cases) {
    await assert.rejects(startEmulator(config), {
      name: "TypeError",
      message:
        `Cannot start the emulator: ${first} and ${second} both ask for port ${port}; every endpoint needs its own port`,
    });
    // Refused before anything started: nothing was left listening there.
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  }
});
