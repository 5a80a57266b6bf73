/**
 * Connecting from the endpoint URL the AWS console shows: the host, port and
 * TLS come from the URL, the IAM user from its user name, the cache's kind,
 * name and region from its host name, the credentials from the default chain
 * unless given. Against the emulator, whose gateways listen on loopback: the
 * tests give `host` and `port` explicitly (they win over the URL's) while the
 * URL's AWS host name names the cache the tokens are signed for.
 */

import assert from "node:assert/strict";
import { connect, IamAuth, parseEndpoint } from "../mod.ts";
import { connectCluster } from "../src/cluster.ts";
import { type PolicyDocument, SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
import { startRedisServer } from "./_helpers/redis_server.ts";

const KEYS = { accessKeyId: "AKIAURLTEST000000001", secretAccessKey: "url-test-secret-key" };
const USERS = [{ userName: "app", accessKeys: [KEYS], policies: [SEED_POLICY] }];
/** Connect to any cache (the seed policy names replication-group-01 only). */
const CONNECT_ANYWHERE: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["elasticache:Connect"], Resource: ["*"] }],
};
const PRIMARY = "master.replication-group-01.abc123.use1.cache.amazonaws.com";

Deno.test("connect(url, { credentials }): the user, cache and region come from the URL", async () => {
  await using emu = await startEmulator({ tls: true, iamUsers: USERS, log: () => {} });
  await using client = await connect(`rediss://iam-user-01@${PRIMARY}:6379`, {
    host: emu.gateway.hostname,
    port: emu.gateway.port,
    caCerts: emu.gateway.caCertPem!,
    credentials: KEYS,
  });
  assert.equal(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
  await client.set("url:greeting", "hello");
  assert.equal(await client.get("url:greeting"), "hello");
});

Deno.test("connect({ url }) with no credentials signs with the default chain (the environment)", async () => {
  await using emu = await startEmulator({ tls: true, iamUsers: USERS, log: () => {} });
  const saved = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].map((
    name,
  ) => [name, Deno.env.get(name)] as const);
  Deno.env.set("AWS_ACCESS_KEY_ID", KEYS.accessKeyId);
  Deno.env.set("AWS_SECRET_ACCESS_KEY", KEYS.secretAccessKey);
  Deno.env.delete("AWS_SESSION_TOKEN");
  try {
    await using client = await connect({
      url: `rediss://iam-user-01@${PRIMARY}`,
      host: emu.gateway.hostname,
      port: emu.gateway.port,
      caCerts: emu.gateway.caCertPem!,
    });
    assert.equal(await client.ping(), "PONG");
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});

Deno.test("a serverless endpoint URL signs for the serverless cache; a region given explicitly wins", async () => {
  await using emu = await startEmulator({
    tls: true,
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [CONNECT_ANYWHERE] }],
    caches: [{ serverlessCacheName: "my-cache" }],
    log: () => {},
  });
  const url = "rediss://iam-user-01@my-cache-abc123.serverless.use1.cache.amazonaws.com:6379";
  assert.deepEqual(parseEndpoint(url).cache, {
    kind: "serverlessCacheName",
    cacheName: "my-cache",
    region: "us-east-1",
    role: "serverless",
  });
  const target = {
    host: emu.gateway.hostname,
    port: emu.gateway.port,
    caCerts: emu.gateway.caCertPem!,
    credentials: KEYS,
  };
  await using client = await connect(url, target);
  assert.equal(await client.ping(), "PONG");
  // A region other than the cache's: the emulator refuses the token, as ElastiCache would.
  await assert.rejects(
    connect(url, { ...target, region: "eu-west-1", reconnect: false }),
    (error: Error) => error.name === "AuthenticationError" && /WRONGPASS/.test(error.message),
  );
});

Deno.test("connectCluster(url) discovers the cluster from the configuration endpoint's URL", async () => {
  await using emu = await startEmulator({
    tls: true,
    iamUsers: USERS,
    cluster: { shards: 2, replicasPerShard: 0 },
    log: () => {},
  });
  await using cluster = await connectCluster(
    "rediss://iam-user-01@clustercfg.replication-group-01.abc123.use1.cache.amazonaws.com:6379",
    {
      host: emu.gateway.hostname,
      port: emu.gateway.port,
      caCerts: emu.gateway.caCertPem!,
      credentials: KEYS,
    },
  );
  for (let i = 0; i < 20; i++) await cluster.set(`url:${i}`, String(i));
  assert.equal(await cluster.get("url:7"), "7");
});

Deno.test("a URL without a user connects without authentication (a local redis-server)", async () => {
  await using server = await startRedisServer();
  await using client = await connect(`redis://127.0.0.1:${server.port}`);
  assert.equal(await client.ping(), "PONG");
});

Deno.test("bad URLs and conflicting options fail at once, saying what to give, with no secret shown", async () => {
  const refuse = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (error: Error) => {
      assert.equal(error.name, "TypeError");
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  const { RedisClient } = await import("../mod.ts");
  refuse(
    () => new RedisClient({ url: `rediss://iam-user-01:hunter2@${PRIMARY}:6379` }),
    /holds a password \(not shown\).*'auth': \{ username, password \}/,
  );
  refuse(
    () => new RedisClient({ url: "rediss://iam-user-01@redis.internal.example:6379" }),
    /redis\.internal\.example is not an ElastiCache or MemoryDB endpoint.*new IamAuth\(\{ endpoint, replicationGroupId/,
  );
  refuse(
    () => new RedisClient({ host: PRIMARY, credentials: KEYS }),
    /'credentials' applies to the IAM authentication a 'url' with a user names/,
  );
  refuse(
    () => new RedisClient({ url: `rediss://${PRIMARY}`, credentials: KEYS }),
    /the 'url' names no user.*rediss:\/\/USER@HOST:PORT/,
  );
  refuse(
    () =>
      new RedisClient({
        url: `rediss://iam-user-01@${PRIMARY}`,
        auth: { username: "u", password: "hunter2" },
        region: "us-east-1",
      }),
    /'region' and 'auth' both say how to authenticate/,
  );
  refuse(() => new RedisClient({ url: "not a url at all" }), /'url' must be/);
  await assert.rejects(
    connect({ host: "127.0.0.1" }, { port: 1 } as never),
    /give the options as one object, or a URL followed by the other options/,
  );
});

Deno.test("explicit auth wins over the URL's user", async () => {
  await using emu = await startEmulator({ tls: true, iamUsers: USERS, log: () => {} });
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: KEYS,
  });
  await using client = await connect(`rediss://someone-else@${PRIMARY}`, {
    host: emu.gateway.hostname,
    port: emu.gateway.port,
    caCerts: emu.gateway.caCertPem!,
    auth,
  });
  assert.equal(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
});

Deno.test("clients of one URL signed with the default chain share one token manager (a server connecting per request mints once)", async () => {
  const { endpointAuth } = await import("../src/client/url_options.ts");
  const url = `rediss://iam-user-01@${PRIMARY}:6379`;
  const saved = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].map((
    name,
  ) => [name, Deno.env.get(name)] as const);
  Deno.env.set("AWS_ACCESS_KEY_ID", KEYS.accessKeyId);
  Deno.env.set("AWS_SECRET_ACCESS_KEY", KEYS.secretAccessKey);
  Deno.env.delete("AWS_SESSION_TOKEN");
  try {
    const first = endpointAuth("Cannot connect", url);
    const second = endpointAuth("Cannot connect", url);
    assert.equal(second, first, "one provider for the URL");
    const [a, b] = await Promise.all([first.credentials(), second.credentials()]);
    assert.equal(a.password, b.password, "one token, minted once");
    // A region of its own, or credentials of their own, make a token manager of their own.
    assert.notEqual(endpointAuth("Cannot connect", url, undefined, "eu-west-1"), first);
    assert.notEqual(endpointAuth("Cannot connect", url, KEYS), first);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});
