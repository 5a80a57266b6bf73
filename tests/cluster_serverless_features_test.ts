/**
 * The cluster client's features against the emulator's ElastiCache Serverless
 * cache (one virtual node owning every slot, public endpoint: TLS 1.3, IAM),
 * where edge users meet them: pub/sub and sharded pub/sub, the cluster-wide
 * scan, `WATCH` with `multi()`, a stream consumer group, and a blocking
 * command that does not stall the commands sent meanwhile.
 */

import assert from "node:assert/strict";
import { startEmulator } from "@elasticache-iam/emulator";
import { connectCluster } from "../src/cluster/client.ts";
import { IamAuth } from "../src/iam_auth.ts";

const CACHE = "serverless-cache-01";
const KEYS = {
  accessKeyId: "AKIASERVERLESSFEAT01",
  secretAccessKey: "serverless/features/test/secret/key/0000",
};

async function serverless() {
  const emu = await startEmulator({
    caches: [{ serverlessCacheName: CACHE, publicEndpoint: true }],
    iamUsers: [{
      userName: "app",
      accessKeys: [KEYS],
      policies: [{
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "elasticache:Connect", Resource: "*" }],
      }],
    }],
  });
  const endpoint = emu.endpoint(CACHE);
  const auth = new IamAuth({
    serverlessCacheName: CACHE,
    userId: "iam-user-01",
    region: emu.region,
    credentials: KEYS,
    now: () => emu.clock.now(),
  });
  const cluster = await connectCluster({
    host: endpoint.hostname,
    port: endpoint.port,
    tls: true,
    caCerts: endpoint.caCertPem!,
    auth,
  });
  return {
    cluster,
    async [Symbol.asyncDispose]() {
      await cluster.close();
      auth[Symbol.dispose]();
      await emu.close();
    },
  };
}

Deno.test("serverless: pub/sub, sharded pub/sub, scan, WATCH, streams and a blocking pop through the public endpoint", async (t) => {
  await using env = await serverless();
  const { cluster } = env;

  await t.step("subscribe and ssubscribe receive what publish and spublish send", async () => {
    const news = Promise.withResolvers<string>();
    const chat = Promise.withResolvers<string>();
    await using _news = await cluster.subscribe("news", (message) => news.resolve(message));
    await using _chat = await cluster.ssubscribe(
      "{room:1}:chat",
      (message) => chat.resolve(message),
    );
    assert.equal(await cluster.publish("news", "extra"), 1);
    assert.equal(await cluster.spublish("{room:1}:chat", "hi"), 1);
    assert.equal(await news.promise, "extra");
    assert.equal(await chat.promise, "hi");
  });

  await t.step("scanIterator finds every key", async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `scan:${i}`);
    await Promise.all(keys.map((key) => cluster.set(key, "v")));
    const found = new Set<string>();
    for await (const key of cluster.scanIterator({ match: "scan:*", count: 50 })) found.add(key);
    assert.deepEqual([...found].sort(), [...keys].sort());
  });

  await t.step("WATCH with multi(): committed alone, aborted by a concurrent write", async () => {
    await cluster.set("{acct:1}:balance", "10");
    {
      await using watch = await cluster.watch("{acct:1}:balance");
      const balance = Number(await watch.get("{acct:1}:balance"));
      const [left] = await watch.multi().set("{acct:1}:balance", String(balance - 3)).exec();
      assert.equal(left, "OK");
    }
    assert.equal(await cluster.get("{acct:1}:balance"), "7");
    await using watch = await cluster.watch("{acct:1}:balance");
    await cluster.set("{acct:1}:balance", "100"); // another writer
    await assert.rejects(watch.multi().set("{acct:1}:balance", "0").exec());
    assert.equal(await cluster.get("{acct:1}:balance"), "100");
  });

  await t.step("a stream consumer group: add, read as a group, acknowledge", async () => {
    await cluster.xgroupCreate("events", "workers", "$", { mkStream: true });
    const id = await cluster.xadd("events", { kind: "signup" });
    const read = await cluster.xreadgroup("workers", "w1", { events: ">" }, { count: 10 });
    assert.deepEqual(read, { events: [{ id, fields: { kind: "signup" } }] });
    assert.equal(await cluster.xack("events", "workers", id), 1);
  });

  await t.step(
    "BLPOP waits on its own connection: GETs sent meanwhile answer at once",
    async () => {
      const popped = cluster.blpop("queue", 2);
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        await cluster.get("scan:1");
        assert.ok(performance.now() - started < 200, "a GET waited behind the BLPOP");
      }
      await cluster.rpush("queue", "job");
      assert.deepEqual(await popped, ["queue", "job"]);
    },
  );
});
