/**
 * The thin client's scan iterators (`scanIterator`, `hscanIterator`,
 * `sscanIterator`, `zscanIterator`) and single-step `hscan`/`sscan`/`zscan`
 * against a real `redis-server` over RESP2 and RESP3; against a scripted
 * server: pages with duplicates, a cursor that never ends, a peer that
 * closes mid-walk; and `close()` during a walk.
 */

import assert from "node:assert/strict";
import { connect, type RedisClient } from "../src/client.ts";
import { ConnectionClosedError, ReplyError, TimeoutError } from "../src/errors.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { startFakeServer, withHandshake } from "./_helpers/client_fake_server.ts";

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterator) out.push(item);
  return out;
}

/** How many times the server ran a command, from `INFO commandstats`. */
async function calls(client: RedisClient, name: string): Promise<number> {
  const stats = (await client.info("commandstats")).commandstats ?? {};
  return Number(/calls=(\d+)/.exec(stats[`cmdstat_${name}`] ?? "")?.[1] ?? 0);
}

type Check = (client: RedisClient) => Promise<void>;

const checks: Record<string, Check> = {
  async "scanIterator yields every key once per page, with MATCH, COUNT and TYPE"(c) {
    const entries = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`user:${i}`, i]));
    await c.mset(entries);
    await c.hset("user:hash", { f: 1 });
    await c.set("other", "x");
    const keys = await collect(c.scanIterator({ match: "user:*", count: 10 }));
    assert.equal(new Set(keys).size, 501);
    assert.ok(keys.every((key) => key.startsWith("user:")));
    assert.deepEqual(await collect(c.scanIterator({ type: "hash", count: 1000 })), ["user:hash"]);
    assert.equal((await collect(c.scanIterator())).length >= 502, true);
    // Breaking out early sends no further SCAN.
    const before = await calls(c, "scan");
    let seen = 0;
    for await (const _ of c.scanIterator({ count: 10 })) {
      if (++seen === 3) break;
    }
    assert.equal(await calls(c, "scan"), before + 1);
  },

  async "hscanIterator: small (listpack) and large (hashtable) hashes, MATCH, a missing key"(c) {
    await c.hset("small", { name: "Ada", lang: "en", "héllo ✓": "1.50" });
    assert.deepEqual(
      new Map(await collect(c.hscanIterator("small"))),
      new Map([
        ["name", "Ada"],
        ["lang", "en"],
        ["héllo ✓", "1.50"],
      ]),
    );
    const big = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, `v${i}`]));
    await c.hset("big", big);
    assert.equal(await c.objectEncoding("big"), "hashtable");
    const pairs = await collect(c.hscanIterator("big", { count: 20 }));
    assert.deepEqual(Object.fromEntries(pairs), big);
    const matched = await collect(c.hscanIterator("big", { match: "f99*" }));
    assert.deepEqual(matched.map(([field]) => field).sort(), [
      "f99",
      "f990",
      "f991",
      "f992",
      "f993",
      "f994",
      "f995",
      "f996",
      "f997",
      "f998",
      "f999",
    ]);
    assert.deepEqual(await collect(c.hscanIterator("missing")), []);
    // The single step, as the iterator uses it.
    const [cursor, page] = await c.hscan("small", 0);
    assert.equal(cursor, "0");
    assert.equal(page.length, 3);
  },

  async "sscanIterator and zscanIterator: members, scores, encodings"(c) {
    await c.sadd("ints", 1, 2, 3);
    assert.deepEqual((await collect(c.sscanIterator("ints"))).sort(), ["1", "2", "3"]);
    const members = Array.from({ length: 700 }, (_, i) => `m${i}`);
    await c.sadd("set", ...members);
    assert.deepEqual(
      new Set(await collect(c.sscanIterator("set", { count: 50 }))),
      new Set(members),
    );
    assert.deepEqual(
      await collect(c.sscanIterator("set", { match: "m69?" })).then((m) => m.sort()),
      [
        "m690",
        "m691",
        "m692",
        "m693",
        "m694",
        "m695",
        "m696",
        "m697",
        "m698",
        "m699",
      ],
    );
    await c.zadd("z", { score: 1.5, member: "a" }, { score: -Infinity, member: "low" }, {
      score: 1e20,
      member: "high",
    });
    assert.deepEqual(
      new Map(await collect(c.zscanIterator("z"))),
      new Map([
        ["low", -Infinity],
        ["a", 1.5],
        ["high", 1e20],
      ]),
    );
    const [first, ...rest] = members.map((member, i) => ({ score: i / 2, member }));
    await c.zadd("bigz", first!, ...rest);
    assert.equal(await c.objectEncoding("bigz"), "skiplist");
    const scored = new Map(await collect(c.zscanIterator("bigz", { count: 30 })));
    assert.equal(scored.size, 700);
    assert.equal(scored.get("m699"), 349.5);
    const [cursor, page] = await c.zscan("z", "0", { match: "a" });
    assert.deepEqual([cursor, page], ["0", [["a", 1.5]]]);
    assert.deepEqual(await c.sscan("ints", 0, { count: 10 }).then(([next]) => next), "0");
  },

  async "a key of another type fails the first step with WRONGTYPE"(c) {
    await c.set("str", "x");
    const iterator = c.hscanIterator("str");
    await assert.rejects(
      iterator.next(),
      (e: unknown) => e instanceof ReplyError && e.code === "WRONGTYPE",
    );
  },

  async "bad options are refused when the iterator is made, before anything is sent"(c) {
    const before = await calls(c, "hscan") + await calls(c, "scan");
    assert.throws(
      () => c.scanIterator({ count: 0 }),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message === "Cannot scan keys: 'count' must be an integer of at least 1, got 0",
    );
    assert.throws(
      // @ts-expect-error: TYPE is an option of SCAN only
      () => c.hscanIterator("h", { type: "hash" }),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message === "Cannot scan hash: 'type' is an option of SCAN only, not of this scan",
    );
    assert.throws(
      // @ts-expect-error: match is a string
      () => c.sscanIterator("s", { match: 1 }),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message === "Cannot scan set: 'match' must be a glob pattern string, got 1",
    );
    assert.throws(() => c.zscan("z", 0, { count: 2.5 }), RangeError);
    assert.throws(() => c.scan(0, { count: -1 }), RangeError);
    assert.equal(await calls(c, "hscan") + await calls(c, "scan"), before);
  },
};

for (const protocol of [2, 3] as const) {
  Deno.test(`scan iterators over RESP${protocol}`, async (t) => {
    await using redis = await startRedisServer();
    await using client = await connect({ host: redis.hostname, port: redis.port, protocol });
    for (const [name, check] of Object.entries(checks)) {
      await client.flushdb();
      await t.step(name, () => check(client));
    }
  });
}

/** A RESP2 `[cursor, [items…]]` reply. */
function page(cursor: string, items: string[]): string {
  return `*2\r\n$${cursor.length}\r\n${cursor}\r\n*${items.length}\r\n` +
    items.map((item) => `$${item.length}\r\n${item}\r\n`).join("");
}

Deno.test("pages that repeat elements: the iterator yields them as the server sent them and ends at cursor 0", async () => {
  const pages: Record<string, string> = {
    "0": page("17", ["a", "b"]),
    "17": page("9", ["b", "c"]),
    "9": page("0", ["a"]),
  };
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    const cursor = command[0] === "SCAN" ? command[1]! : command[2]!;
    await connection.write(pages[cursor] ?? "-ERR unexpected cursor\r\n");
  }));
  await using client = await connect({ host: server.hostname, port: server.port });
  assert.deepEqual(await collect(client.scanIterator()), ["a", "b", "b", "c", "a"]);
  assert.deepEqual(new Set(await collect(client.sscanIterator("s"))), new Set(["a", "b", "c"]));
  assert.deepEqual(server.commands[0]!.filter((c) => c[0] === "SCAN").map((c) => c[1]), [
    "0",
    "17",
    "9",
  ]);
});

Deno.test("a cursor that never returns to 0: the walk goes on only as far as the loop asks", async () => {
  await using server = startFakeServer(withHandshake(async (_command, connection) => {
    await connection.write(page("5", ["k"]));
  }));
  await using client = await connect({ host: server.hostname, port: server.port });
  let seen = 0;
  for await (const _ of client.scanIterator()) {
    if (++seen === 5) break;
  }
  assert.equal(server.commands[0]!.filter((c) => c[0] === "SCAN").length, 5);
});

Deno.test("a peer that closes the connection mid-walk fails the walk with ConnectionClosedError; the client goes on", async () => {
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    if (command[0] === "PING") return await connection.write("+PONG\r\n");
    if (connection.index === 0 && command[1] === "3") return connection.close();
    await connection.write(command[1] === "0" ? page("3", ["a"]) : page("0", ["b"]));
  }));
  await using client = await connect({ host: server.hostname, port: server.port });
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const key of client.scanIterator()) seen.push(key);
    })(),
    ConnectionClosedError,
  );
  assert.deepEqual(seen, ["a"]);
  // A new walk starts over on a new connection, as any command does.
  assert.equal(await client.ping(), "PONG");
  assert.deepEqual(await collect(client.scanIterator()), ["a", "b"]);
});

Deno.test("close() during a walk: the next page fails at once, as any command after close()", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  await client.mset(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])));
  const iterator = client.scanIterator({ count: 5 });
  assert.equal((await iterator.next()).done, false);
  await client.close();
  // The rest of the page already read comes, then the next page's SCAN fails.
  let failure: unknown;
  for (let pulls = 0; pulls < 100 && failure === undefined; pulls++) {
    try {
      if ((await iterator.next()).done) break;
    } catch (error) {
      failure = error;
    }
  }
  assert.ok(failure instanceof ConnectionClosedError, String(failure));
  assert.match(failure.message, /the client is closed/);
});

Deno.test("a peer that goes silent mid-walk: the page fails after commandTimeout, not never", async () => {
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    if (command[1] === "0") await connection.write(page("8", ["a"]));
    // The next page is never answered.
  }));
  await using client = await connect({
    host: server.hostname,
    port: server.port,
    commandTimeout: 200,
  });
  const walk = client.scanIterator();
  assert.deepEqual(await walk.next(), { value: "a", done: false });
  const started = Date.now();
  await assert.rejects(walk.next(), TimeoutError);
  assert.ok(Date.now() - started < 5000);
});
