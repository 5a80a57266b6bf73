/**
 * The commands operators type (`info`, `hello`, `clientSetName` /
 * `clientGetName`, `wait`, `copy`, `objectEncoding`, `memoryUsage`, and the
 * thin client's `quit`) against a real `redis-server` over RESP2 and RESP3;
 * `wait` against a primary and a replica that is paused; `quit` against a
 * peer that closes or goes silent; the cluster client's refusals.
 */

import assert from "node:assert/strict";
import { connect, RedisClient } from "../src/client.ts";
import { ConnectionClosedError } from "../src/errors.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { startFakeServer, withHandshake } from "./_helpers/client_fake_server.ts";
import { startIamCluster } from "./_helpers/iam_cluster.ts";
import { connectCluster } from "../src/cluster/client.ts";
import { denoTransport } from "../src/transport/deno.ts";

/** Waits for `condition`, polling every 20 ms, failing after `ms`. */
async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const protocol of [2, 3] as const) {
  Deno.test(`operator commands over RESP${protocol}`, async (t) => {
    await using redis = await startRedisServer();
    const options = { host: redis.hostname, port: redis.port, protocol };
    await using c = await connect(options);

    await t.step("info: sections by lower-case name, values as the server wrote them", async () => {
      const all = await c.info();
      for (const section of ["server", "clients", "memory", "stats", "replication", "keyspace"]) {
        assert.ok(section in all, `INFO has '${section}'`);
      }
      assert.match(all.server!.redis_version!, /^\d+\.\d+\.\d+$/);
      assert.equal(typeof all.memory!.used_memory, "string", "numbers stay strings");
      await c.set("k", "v");
      assert.deepEqual(await c.info("keyspace"), {
        keyspace: { db0: "keys=1,expires=0,avg_ttl=0" },
      });
      assert.deepEqual(Object.keys(await c.info("server", "clients")), ["server", "clients"]);
      assert.deepEqual(await c.info("nosuchsection"), {});
    });

    await t.step(
      "hello: the connection as the server sees it; it never switches the protocol",
      async () => {
        const hello = await c.hello();
        assert.equal(hello.server, "redis");
        assert.equal(hello.proto, protocol);
        assert.equal(hello.mode, "standalone");
        assert.equal(hello.role, "master");
        assert.deepEqual(hello.modules, []);
        assert.equal(hello.id, Number(await c.send(["CLIENT", "ID"])));
        assert.equal(hello.version, (await c.info("server")).server!.redis_version);
        assert.equal((await c.hello(protocol)).proto, protocol);
        const other = protocol === 2 ? 3 : 2;
        await assert.rejects(
          c.hello(other),
          (e: unknown) =>
            e instanceof TypeError &&
            e.message ===
              `Cannot run HELLO ${other}: the connection speaks RESP${protocol}, and switching it ` +
                `would make the client read later replies wrongly; choose the protocol with the ` +
                `'protocol' option when connecting`,
        );
        // Still the same protocol: a hash comes back as RESP3 maps only over RESP3.
        await c.hset("h", { a: "1" });
        assert.equal((await c.send(["HGETALL", "h"])) instanceof Map, protocol === 3);
        assert.throws(
          // @ts-expect-error: only 2 and 3
          () => c.hello(4),
          (e: unknown) =>
            e instanceof RangeError &&
            e.message === "Cannot run HELLO: 'protover' must be 2 or 3, got 4",
        );
      },
    );

    await t.step("clientSetName / clientGetName, kept across a reconnect", async () => {
      assert.equal(await c.clientGetName(), null);
      assert.equal(await c.clientSetName("worker-1"), "OK");
      assert.equal(await c.clientGetName(), "worker-1");
      // The server drops the connection; the next command reconnects with the name.
      await using admin = await connect(options);
      const id = (await c.hello()).id;
      assert.equal(await admin.send(["CLIENT", "KILL", "ID", String(id)]), 1);
      await eventually(() => !c.connected, "the client to see its connection closed");
      assert.equal(await c.clientGetName(), "worker-1");
      assert.notEqual((await c.hello()).id, id);
      assert.equal(await c.clientSetName(""), "OK");
      assert.equal(await c.clientGetName(), null);
      assert.throws(
        () => c.clientSetName("two words"),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message ===
            "Cannot set the client name: 'name' must be printable ASCII without spaces, got 'two words'",
      );
    });

    await t.step("copy: new key, existing key, REPLACE, another database", async () => {
      await c.hset("src", { a: "1", b: "2" });
      assert.equal(await c.copy("src", "dst"), true);
      assert.deepEqual(await c.hgetall("dst"), { a: "1", b: "2" });
      await c.hset("src", { a: "changed" });
      assert.equal(await c.copy("src", "dst"), false);
      assert.equal(await c.hget("dst", "a"), "1");
      assert.equal(await c.copy("src", "dst", { replace: true }), true);
      assert.equal(await c.hget("dst", "a"), "changed");
      assert.equal(await c.copy("missing", "dst2"), false);
      assert.equal(await c.copy("src", "dst", { db: 3 }), true);
      await using db3 = await connect({ ...options, db: 3 });
      assert.deepEqual(await db3.hgetall("dst"), { a: "changed", b: "2" });
      assert.throws(() => c.copy("a", "b", { db: -1 }), RangeError);
    });

    await t.step("objectEncoding and memoryUsage", async () => {
      await c.set("int", "12");
      await c.set("str", "hello");
      await c.hset("small", { a: "1" });
      await c.hset(
        "large",
        Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, i])),
      );
      assert.equal(await c.objectEncoding("int"), "int");
      assert.equal(await c.objectEncoding("str"), "embstr");
      assert.equal(await c.objectEncoding("small"), "listpack");
      assert.equal(await c.objectEncoding("large"), "hashtable");
      assert.equal(await c.objectEncoding("missing"), null);
      const small = await c.memoryUsage("small");
      const large = await c.memoryUsage("large", { samples: 0 });
      assert.ok(small !== null && large !== null && large > small, `${small} < ${large}`);
      assert.equal(await c.memoryUsage("missing"), null);
      assert.throws(
        () => c.memoryUsage("large", { samples: -1 }),
        (e: unknown) =>
          e instanceof RangeError &&
          e.message ===
            "Cannot measure memory usage: 'samples' must be an integer of at least 0, got -1",
      );
    });

    await t.step("the typed methods in a pipeline and a transaction", async () => {
      const [encoding, copied, name, info] = await c.pipeline()
        .objectEncoding("int")
        .copy("int", "int2")
        .clientGetName()
        .info("keyspace")
        .exec();
      assert.equal(encoding, "int");
      assert.equal(copied, true);
      assert.equal(name, null);
      assert.ok(info.keyspace?.db0?.startsWith("keys="));
      const [hello, usage] = await c.multi().hello().memoryUsage("int").exec();
      assert.equal(hello.proto, protocol);
      assert.equal(typeof usage, "number");
    });

    await t.step(
      "quit: replies to commands sent before come; later commands fail as after close()",
      async () => {
        await using q = await connect(options);
        await q.clientSetName("quitter");
        const before = q.incr("n");
        assert.equal(await q.quit(), "OK");
        assert.equal(await before, 1);
        await assert.rejects(
          q.get("n"),
          (e: unknown) =>
            e instanceof ConnectionClosedError && /the client is closed/.test(e.message),
        );
        await assert.rejects(q.quit(), ConnectionClosedError);
        const list = String(await c.send(["CLIENT", "LIST"]));
        assert.ok(!list.includes("name=quitter"), "the server closed the connection");
      },
    );
  });
}

Deno.test("wait counts the replicas that have this connection's writes", async () => {
  // The replica's first sync starts at once (not after the default 5 s diskless-sync delay).
  await using primary = await startRedisServer({ args: ["--repl-diskless-sync-delay", "0"] });
  await using replica = await startRedisServer({
    args: ["--replicaof", primary.hostname, String(primary.port)],
  });
  await using client = await connect({ host: primary.hostname, port: primary.port });
  await eventually(
    async () => /state=online/.test((await client.info("replication")).replication?.slave0 ?? ""),
    "the replica to be in sync",
  );
  await client.set("k", "1");
  assert.equal(await client.wait(1, 5000), 1);
  // A paused replica acknowledges nothing: WAIT on the writing connection times out with 0
  // (on any other connection it would count the replica at once).
  Deno.kill(replica.pid, "SIGSTOP");
  try {
    await client.set("k", "2");
    const started = Date.now();
    assert.equal(await client.wait(1, 300), 0);
    assert.ok(Date.now() - started >= 250);
    // Once the replica resumes, a waiting WAIT is answered with its acknowledgement.
    const waiting = client.wait(1, 10_000);
    Deno.kill(replica.pid, "SIGCONT");
    assert.equal(await waiting, 1);
  } finally {
    Deno.kill(replica.pid, "SIGCONT");
  }
  assert.throws(
    () => client.wait(-1, 0),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot wait for replicas: 'numreplicas' must be an integer of at least 0, got -1",
  );
});

Deno.test("quit on a client never connected sends nothing and opens nothing", async () => {
  await using server = startFakeServer(withHandshake(async (_command, connection) => {
    await connection.write("+OK\r\n");
  }));
  const client = new RedisClient({
    host: server.hostname,
    port: server.port,
    transport: denoTransport,
  });
  assert.equal(await client.quit(), "OK");
  await assert.rejects(client.ping(), ConnectionClosedError);
  assert.equal(server.commands.length, 0, "no connection was opened");
});

Deno.test("quit against a peer that closes before answering, and one that never answers", async () => {
  await using closing = startFakeServer(withHandshake((command, connection) => {
    if (command[0] === "QUIT") connection.close();
  }));
  await using a = await connect({ host: closing.hostname, port: closing.port });
  assert.equal(await a.quit(), "OK");
  await assert.rejects(a.ping(), ConnectionClosedError);

  await using silent = startFakeServer(withHandshake(() => {}));
  await using b = await connect({ host: silent.hostname, port: silent.port });
  const started = Date.now();
  assert.equal(await b.quit(), "OK");
  // close() gives up on a server silent for a second.
  assert.ok(Date.now() - started < 5000);
  await assert.rejects(b.ping(), ConnectionClosedError);
});

Deno.test("the cluster client refuses CLIENT SETNAME and WAIT with what to do instead; the others route", async () => {
  await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
  await using cluster = await connectCluster(env.thinOptions());
  assert.throws(
    () => cluster.clientSetName("a b"),
    TypeError,
  );
  await assert.rejects(
    cluster.clientSetName("worker"),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot send CLIENT through the cluster client: CLIENT SETNAME names one node's " +
          "connection, and the cluster client has one per node; give the 'clientName' option, " +
          "which names every connection it opens",
  );
  await assert.rejects(
    cluster.wait(1, 100),
    (e: unknown) =>
      e instanceof TypeError &&
      /^Cannot send WAIT through the cluster client: it counts the replicas/.test(e.message),
  );
  // Keyed operator commands go to their key's node; COPY needs one slot.
  await cluster.set("{user:1}:name", "Ada");
  assert.equal(await cluster.copy("{user:1}:name", "{user:1}:copy"), true);
  assert.equal(await cluster.get("{user:1}:copy"), "Ada");
  await assert.rejects(cluster.copy("a", "b"), /CROSSSLOT/);
  assert.equal(await cluster.objectEncoding("{user:1}:name"), "embstr");
  assert.ok((await cluster.memoryUsage("{user:1}:name"))! > 0);
  assert.equal((await cluster.hello()).mode, "cluster");
  assert.ok("cluster" in (await cluster.info("cluster")));
});
