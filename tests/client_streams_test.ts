/**
 * The stream commands (`xadd` … `xinfoStream`) against a real
 * `redis-server`, over RESP2 and RESP3 alike (the same values back over
 * both), on the client, in pipelines and in transactions; their bad input
 * refused before anything is sent; a consumer-group flow through the
 * emulator's IAM gateway.
 */

import assert from "node:assert/strict";
import { connect, type RedisClient } from "../src/client.ts";
import { ConnectionClosedError, ProtocolError, ReplyError } from "../src/errors.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { startIamEmulator } from "./_helpers/iam_emulator.ts";
import { startFakeServer, withHandshake } from "./_helpers/client_fake_server.ts";

/** Where the server is, for a second client. */
type Server = { host: string; port: number; protocol: 2 | 3 };
type Check = (client: RedisClient, server: Server) => Promise<void>;

/** An entry id's shape: milliseconds, a dash, a sequence number. */
const ID = /^\d+-\d+$/;

const checks: Record<string, Check> = {
  async "xadd: ids, NOMKSTREAM, fields as strings"(c) {
    const auto = await c.xadd("s", { item: "tea", qty: 2 });
    assert.match(auto, ID);
    assert.equal(
      await c.xadd("s", { item: "cake" }, { id: "99999999999999-5" }),
      "99999999999999-5",
    );
    assert.equal(
      await c.xadd("s", { item: "jam" }, { id: "99999999999999-*" }),
      "99999999999999-6",
    );
    assert.equal(await c.xadd("missing", { a: 1 }, { noMkStream: true }), null);
    assert.equal(await c.exists("missing"), 0);
    assert.equal(
      await c.xadd("s", { a: 1 }, { noMkStream: true, id: "99999999999999-9" }),
      "99999999999999-9",
    );
    await assert.rejects(
      c.xadd("s", { a: 1 }, { id: "1-1" }),
      (e: unknown) =>
        e instanceof ReplyError &&
        e.message ===
          "ERR The ID specified in XADD is equal or smaller than the target stream top item",
    );
    assert.equal(await c.xlen("s"), 4);
    assert.equal(await c.xlen("missing"), 0);
    // Values come back as the strings stored; a field named __proto__ stays a field.
    await c.xadd(
      "odd",
      { ["__proto__"]: "p", "héllo ✓": "1.50", json: '{"a":1}' } as Record<string, string>,
    );
    const [odd] = await c.xrange("odd");
    assert.deepEqual(Object.keys(odd!.fields).sort(), ["__proto__", "héllo ✓", "json"]);
    assert.equal(odd!.fields["héllo ✓"], "1.50");
    assert.equal(odd!.fields.json, '{"a":1}');
    assert.equal(Object.getPrototypeOf(odd!.fields), Object.prototype);
  },

  async "xadd and xtrim trimming: MAXLEN, MINID, exact and approximate with LIMIT"(c) {
    for (let i = 1; i <= 10; i++) await c.xadd("t", { n: i }, { id: `${i}-0` });
    // Exact (=) trims to the entry.
    assert.match(await c.xadd("t", { n: 11 }, { id: "11-0", trim: { maxLen: 5 } }), ID);
    assert.deepEqual((await c.xrange("t")).map((e) => e.id), ["7-0", "8-0", "9-0", "10-0", "11-0"]);
    assert.equal(await c.xtrim("t", { minId: "9-0" }), 2);
    assert.deepEqual((await c.xrange("t")).map((e) => e.id), ["9-0", "10-0", "11-0"]);
    assert.equal(await c.xtrim("t", { maxLen: 0 }), 3);
    assert.equal(await c.xlen("t"), 0);
    // Approximate (~) trims whole macro nodes only: a small stream keeps its one node.
    for (let i = 1; i <= 10; i++) await c.xadd("a", { n: i }, { id: `${i}-0` });
    assert.equal(await c.xtrim("a", { maxLen: 2, approximate: true }), 0);
    assert.equal(await c.xtrim("a", { maxLen: 2, approximate: true, limit: 100 }), 0);
    assert.equal(await c.xlen("a"), 10);
    // A stream of several nodes (100 entries each by default): LIMIT caps one call's evictions.
    const big = c.pipeline();
    for (let i = 1; i <= 350; i++) big.xadd("big", { n: i }, { id: `${i}-0` });
    await big.exec();
    assert.equal(await c.xtrim("big", { maxLen: 0, approximate: true, limit: 100 }), 100);
    assert.equal(await c.xlen("big"), 250);
    assert.equal(
      await c.xadd("big", { n: 0 }, { id: "1000-0", trim: { minId: "1000-0", approximate: true } }),
      "1000-0",
    );
    assert.ok((await c.xlen("big")) < 251);
  },

  async "xrange and xrevrange: bounds, exclusive bounds, COUNT"(c) {
    for (let i = 1; i <= 5; i++) await c.xadd("r", { n: i }, { id: `${i}-1` });
    assert.equal((await c.xrange("r")).length, 5);
    assert.deepEqual(await c.xrange("r", "2", "3-1"), [
      { id: "2-1", fields: { n: "2" } },
      { id: "3-1", fields: { n: "3" } },
    ]);
    assert.deepEqual((await c.xrange("r", "(2-1", "+", { count: 2 })).map((e) => e.id), [
      "3-1",
      "4-1",
    ]);
    assert.deepEqual((await c.xrevrange("r", "+", "-", { count: 2 })).map((e) => e.id), [
      "5-1",
      "4-1",
    ]);
    assert.deepEqual((await c.xrevrange("r", "3-1")).map((e) => e.id), ["3-1", "2-1", "1-1"]);
    assert.deepEqual(await c.xrange("missing"), []);
    await c.set("str", "x");
    await assert.rejects(
      c.xrange("str"),
      (e: unknown) => e instanceof ReplyError && e.code === "WRONGTYPE",
    );
  },

  async "xread: several streams, COUNT, null when nothing, BLOCK served and timed out"(c, server) {
    await c.xadd("x1", { a: 1 }, { id: "1-1" });
    await c.xadd("x1", { a: 2 }, { id: "2-1" });
    await c.xadd("x2", { b: 1 }, { id: "5-1" });
    assert.deepEqual(await c.xread({ x1: "0", x2: "0", x3: "0" }, { count: 1 }), {
      x1: [{ id: "1-1", fields: { a: "1" } }],
      x2: [{ id: "5-1", fields: { b: "1" } }],
    });
    assert.deepEqual(await c.xread({ x1: "1-1" }), { x1: [{ id: "2-1", fields: { a: "2" } }] });
    assert.equal(await c.xread({ x1: "$" }), null);
    assert.equal(await c.xread({ x1: "2-1", x2: "5-1" }), null);
    // BLOCK: an entry added meanwhile (by another client) answers it. Reading after the last
    // id (not "$") makes the answer the same whichever of the two commands the server runs first.
    await using writer = await connect(server);
    const waiting = c.xread({ x2: "5-1" }, { block: 5000 });
    await writer.xadd("x2", { b: 2 }, { id: "6-1" });
    assert.deepEqual(await waiting, { x2: [{ id: "6-1", fields: { b: "2" } }] });
    // BLOCK that runs out: null.
    const started = Date.now();
    assert.equal(await c.xread({ x2: "$" }, { block: 50 }), null);
    assert.ok(Date.now() - started >= 40);
  },

  async "consumer groups: create, read, pending, ack, claim, autoclaim, consumers, destroy"(c) {
    assert.equal(await c.xgroupCreate("jobs", "workers", "$", { mkStream: true }), "OK");
    await assert.rejects(
      c.xgroupCreate("jobs", "workers"),
      (e: unknown) =>
        e instanceof ReplyError && e.code === "BUSYGROUP" &&
        e.message === "BUSYGROUP Consumer Group name already exists",
    );
    await assert.rejects(
      c.xgroupCreate("nostream", "g"),
      (e: unknown) => e instanceof ReplyError && /requires the key to exist/.test(e.message),
    );
    for (let i = 1; i <= 4; i++) await c.xadd("jobs", { task: `t${i}` }, { id: `${i}-0` });
    assert.equal(
      await c.xreadgroup("workers", "w1", { jobs: ">" }, { count: 3 }).then((r) => r?.jobs?.length),
      3,
    );
    const rest = await c.xreadgroup("workers", "w2", { jobs: ">" });
    assert.deepEqual(rest, { jobs: [{ id: "4-0", fields: { task: "t4" } }] });
    assert.equal(await c.xreadgroup("workers", "w2", { jobs: ">" }), null);

    assert.deepEqual(await c.xpending("jobs", "workers"), {
      count: 4,
      lowestId: "1-0",
      highestId: "4-0",
      consumers: [{ name: "w1", pending: 3 }, { name: "w2", pending: 1 }],
    });
    const pending = await c.xpending("jobs", "workers", { count: 10, consumer: "w1" });
    assert.deepEqual(pending.map((p) => [p.id, p.consumer, p.deliveries]), [
      ["1-0", "w1", 1],
      ["2-0", "w1", 1],
      ["3-0", "w1", 1],
    ]);
    assert.ok(pending.every((p) => Number.isInteger(p.idleMs) && p.idleMs >= 0));
    assert.deepEqual(
      await c.xpending("jobs", "workers", { start: "2-0", end: "3-0", count: 1 }).then((p) =>
        p.map((e) => e.id)
      ),
      ["2-0"],
    );
    assert.deepEqual(
      await c.xpending("jobs", "workers", { count: 10, minIdleTime: 3_600_000 }),
      [],
    );

    assert.equal(await c.xack("jobs", "workers", "1-0", "1-0", "9-0"), 1);
    // Claiming: entries idle for less than minIdleTime stay where they are.
    assert.deepEqual(await c.xclaim("jobs", "workers", "w2", 3_600_000, ["2-0"]), []);
    assert.deepEqual(await c.xclaim("jobs", "workers", "w2", 0, ["2-0"], { retryCount: 5 }), [
      { id: "2-0", fields: { task: "t2" } },
    ]);
    const moved = await c.xpending("jobs", "workers", { count: 10, consumer: "w2" });
    assert.deepEqual(moved.map((p) => [p.id, p.deliveries]), [["2-0", 5], ["4-0", 1]]);
    assert.deepEqual(
      await c.xclaim("jobs", "workers", "w3", 0, ["3-0"], { justId: true, idle: 60_000 }),
      ["3-0"],
    );
    const w3 = await c.xpending("jobs", "workers", { count: 10, consumer: "w3" });
    assert.equal(w3[0]!.deliveries, 1, "JUSTID does not count a delivery");
    assert.ok(w3[0]!.idleMs >= 60_000);
    // FORCE claims an id that is in the stream but not pending.
    assert.deepEqual(
      await c.xclaim("jobs", "workers", "w3", 0, ["1-0"], { force: true, justId: true }),
      ["1-0"],
    );

    // An entry deleted while pending: history reads show it with null fields, XAUTOCLAIM drops it.
    assert.equal(await c.xdel("jobs", "4-0"), 1);
    const history = await c.xreadgroup("workers", "w2", { jobs: "0" });
    assert.deepEqual(history, {
      jobs: [{ id: "2-0", fields: { task: "t2" } }, { id: "4-0", fields: null }],
    });
    const auto = await c.xautoclaim("jobs", "workers", "w4", 0, "0-0", { count: 10 });
    assert.deepEqual(auto, {
      nextId: "0-0",
      entries: [
        { id: "1-0", fields: { task: "t1" } },
        { id: "2-0", fields: { task: "t2" } },
        { id: "3-0", fields: { task: "t3" } },
      ],
      deletedIds: ["4-0"],
    });
    const page = await c.xautoclaim("jobs", "workers", "w5", 0, "0-0", { count: 1, justId: true });
    assert.deepEqual(page, { nextId: "2-0", ids: ["1-0"], deletedIds: [] });

    assert.equal(await c.xgroupCreateConsumer("jobs", "workers", "w9"), true);
    assert.equal(await c.xgroupCreateConsumer("jobs", "workers", "w9"), false);
    assert.equal(await c.xgroupDelConsumer("jobs", "workers", "w4"), 2);
    assert.equal(await c.xgroupDelConsumer("jobs", "workers", "nobody"), 0);
    assert.equal(await c.xgroupDestroy("jobs", "workers"), true);
    assert.equal(await c.xgroupDestroy("jobs", "workers"), false);
  },

  async "consumer groups: NOACK, ENTRIESREAD, group and stream names that are keywords"(c) {
    await c.xadd("streams", { k: "v" }, { id: "1-0" });
    await c.xadd("streams", { k: "w" }, { id: "2-0" });
    // A group named "streams" and a stream named "streams": arguments, not keywords.
    assert.equal(await c.xgroupCreate("streams", "streams", "0", { entriesRead: 0 }), "OK");
    assert.deepEqual(
      await c.xreadgroup("streams", "count", { streams: ">" }, { noAck: true, count: 1 }),
      {
        streams: [{ id: "1-0", fields: { k: "v" } }],
      },
    );
    assert.equal((await c.xpending("streams", "streams")).count, 0, "NOACK leaves nothing pending");
    const info = await c.xinfoStream("streams");
    assert.equal(info.groups, 1);
  },

  async "xinfoStream and xdel"(c) {
    await c.xadd("i", { a: 1 }, { id: "1-0" });
    await c.xadd("i", { a: 2 }, { id: "2-0" });
    await c.xadd("i", { a: 3 }, { id: "3-0" });
    assert.equal(await c.xdel("i", "3-0", "7-0"), 1);
    const info = await c.xinfoStream("i");
    assert.equal(info.length, 2);
    assert.equal(info.lastGeneratedId, "3-0");
    assert.equal(info.maxDeletedEntryId, "3-0");
    assert.equal(info.entriesAdded, 3);
    assert.equal(info.groups, 0);
    assert.deepEqual(info.firstEntry, { id: "1-0", fields: { a: "1" } });
    assert.deepEqual(info.lastEntry, { id: "2-0", fields: { a: "2" } });
    assert.ok(info.radixTreeKeys >= 1 && info.radixTreeNodes >= 1);
    await c.xtrim("i", { maxLen: 0 });
    const empty = await c.xinfoStream("i");
    assert.equal(empty.firstEntry, null);
    assert.equal(empty.lastEntry, null);
    await assert.rejects(
      c.xinfoStream("missing"),
      (e: unknown) => e instanceof ReplyError && e.message === "ERR no such key",
    );
  },

  async "pipelines and transactions return the same typed values"(c) {
    const [id, len, range, read, info] = await c.pipeline()
      .xadd("p", { a: 1 }, { id: "1-0" })
      .xlen("p")
      .xrange("p")
      .xread({ p: "0" })
      .xinfoStream("p")
      .exec();
    assert.equal(id, "1-0");
    assert.equal(len, 1);
    assert.deepEqual(range, [{ id: "1-0", fields: { a: "1" } }]);
    assert.deepEqual(read, { p: [{ id: "1-0", fields: { a: "1" } }] });
    assert.equal(info.length, 1);
    const [created, group, pending, acked] = await c.multi()
      .xgroupCreate("p", "g", "0")
      .xreadgroup("g", "c", { p: ">" })
      .xpending("p", "g")
      .xack("p", "g", "1-0")
      .exec();
    assert.equal(created, "OK");
    assert.deepEqual(group, { p: [{ id: "1-0", fields: { a: "1" } }] });
    assert.equal(pending.count, 1);
    assert.equal(acked, 1);
  },
};

for (const protocol of [2, 3] as const) {
  Deno.test(`stream commands over RESP${protocol}`, async (t) => {
    await using redis = await startRedisServer();
    const options = { host: redis.hostname, port: redis.port, protocol };
    await using client = await connect(options);
    for (const [name, check] of Object.entries(checks)) {
      await client.flushdb();
      await t.step(name, () => check(client, options));
    }
  });
}

Deno.test("bad stream arguments are refused before anything is sent, naming the option", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  const refused: [() => unknown, ErrorConstructor, string][] = [
    [
      () => client.xadd("s", {}),
      TypeError,
      "Cannot add to stream: 'fields' must have at least one field, got an empty object",
    ],
    [
      // @ts-expect-error: maxLen and minId exclude each other
      () => client.xadd("s", { a: 1 }, { trim: { maxLen: 1, minId: "1-0" } }),
      TypeError,
      "Cannot add to stream: 'trim' must have exactly one of 'maxLen' and 'minId', got both",
    ],
    [
      // @ts-expect-error: LIMIT needs approximate trimming
      () => client.xtrim("s", { maxLen: 1, limit: 10 }),
      TypeError,
      "Cannot trim stream: 'trim.limit' needs 'approximate: true' (LIMIT only applies to ~ trimming)",
    ],
    [
      () => client.xtrim("s", { maxLen: -1 }),
      RangeError,
      "Cannot trim stream: 'trim.maxLen' must be an integer of at least 0, got -1",
    ],
    [
      () => client.xread({}),
      TypeError,
      "Cannot read streams: 'streams' must name at least one stream, got an empty object",
    ],
    [
      () => client.xread({ s: "$" }, { block: 1.5 }),
      RangeError,
      "Cannot read streams: 'block' must be an integer of at least 0, got 1.5",
    ],
    [
      () => client.xreadgroup("g", "c", { s: ">" }, { count: 0 }),
      RangeError,
      "Cannot read streams as a consumer group: 'count' must be an integer of at least 1, got 0",
    ],
    [
      () => client.xclaim("s", "g", "c", 0, []),
      TypeError,
      "Cannot claim entries: 'ids' must be an array of at least one id, got an empty array",
    ],
    [
      // @ts-expect-error: count is required
      () => client.xpending("s", "g", {}),
      TypeError,
      "Cannot list pending entries: 'count' must be an integer of at least 1, got undefined",
    ],
    [
      () => client.xrange("s", "-", "+", { count: Number.NaN }),
      RangeError,
      "Cannot read stream range: 'count' must be an integer of at least 1, got NaN",
    ],
  ];
  for (const [call, kind, message] of refused) {
    assert.throws(call, (e: unknown) => e instanceof kind && (e as Error).message === message);
  }
  // Nothing reached the server: its command count is the INFO call's own.
  const stats = await client.info("commandstats");
  assert.deepEqual(
    Object.keys(stats.commandstats ?? {}).filter((name) => name.startsWith("cmdstat_x")),
    [],
  );
});

Deno.test("a consumer group through the emulator's IAM gateway, with a blocking read served by another client", async () => {
  await using env = await startIamEmulator();
  const options = {
    host: env.emu.gateway.hostname,
    port: env.emu.gateway.port,
    tls: true,
    caCerts: [env.caCertPem],
    auth: env.auth,
  };
  await using consumer = await connect(options);
  await using producer = await connect({ ...options, protocol: 2 });
  assert.equal(await consumer.xgroupCreate("orders", "billing", "$", { mkStream: true }), "OK");
  const read = consumer.xreadgroup("billing", "worker-1", { orders: ">" }, {
    block: 5000,
    count: 10,
  });
  // Meanwhile the consumer's other commands are answered.
  assert.equal(await consumer.ping(), "PONG");
  const id = await producer.xadd("orders", { item: "tea", qty: 2 });
  assert.deepEqual(await read, { orders: [{ id, fields: { item: "tea", qty: "2" } }] });
  assert.deepEqual(await producer.xpending("orders", "billing"), {
    count: 1,
    lowestId: id,
    highestId: id,
    consumers: [{ name: "worker-1", pending: 1 }],
  });
  assert.equal(await consumer.xack("orders", "billing", id), 1);
  assert.equal((await producer.xpending("orders", "billing")).count, 0);
  assert.equal((await consumer.xinfoStream("orders")).groups, 1);
  // Every connection was an IAM one the gateway accepted.
  assert.ok(env.accepted() >= 2);
});

Deno.test("stream replies of the wrong shape fail their command with a ProtocolError; the connection goes on", async () => {
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    switch (command[0]) {
      case "XRANGE":
        return await connection.write(":1\r\n");
      case "XINFO":
        return await connection.write("*2\r\n$6\r\nlength\r\n:1\r\n");
      case "XREAD":
        return await connection.write("*1\r\n*1\r\n$1\r\ns\r\n");
      default:
        return await connection.write("+PONG\r\n");
    }
  }));
  await using client = await connect({ host: server.hostname, port: server.port });
  await assert.rejects(
    client.xrange("s"),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.message === "Cannot read reply: expected an array of entries, got a number reply",
  );
  await assert.rejects(
    client.xinfoStream("s"),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.message ===
        "Cannot read reply: expected XINFO STREAM's 'radix-tree-keys', got a null reply",
  );
  await assert.rejects(client.xread({ s: "0" }), ProtocolError);
  assert.equal(await client.ping(), "PONG");
  assert.equal(server.commands.length, 1, "one connection served them all");
});

Deno.test("close() during a blocking XREADGROUP fails it at once with ConnectionClosedError", async () => {
  await using redis = await startRedisServer();
  const client = await connect({ host: redis.hostname, port: redis.port });
  await client.xgroupCreate("q", "g", "$", { mkStream: true });
  const read = client.xreadgroup("g", "c", { q: ">" }, { block: 0 });
  // The read is on the server before the client closes.
  const admin = await connect({ host: redis.hostname, port: redis.port });
  for (let i = 0; i < 200; i++) {
    if (/cmd=xreadgroup/.test(String(await admin.send(["CLIENT", "LIST"])))) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const outcome = read.then(() => "answered", (error: unknown) => error);
  const started = Date.now();
  await client.close();
  assert.ok(await outcome instanceof ConnectionClosedError);
  assert.ok(Date.now() - started < 2000, "close() did not wait for the read");
  await admin.close();
});
