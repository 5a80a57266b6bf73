/**
 * The typed command methods against their Redis semantics, over RESP2 and
 * RESP3 alike (the methods return the same types over both), on the client,
 * in pipelines and in transactions.
 */

import assert from "node:assert/strict";
import { connect, type RedisClient } from "../src/client.ts";
import { ReplyError } from "../src/errors.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";

type Check = (client: RedisClient) => Promise<void>;

const checks: Record<string, Check> = {
  async "strings and SET options"(c) {
    assert.equal(await c.set("s", "v"), "OK");
    assert.equal(await c.get("s"), "v");
    assert.equal(await c.get("missing"), null);
    assert.equal(await c.set("s", "w", { nx: true }), null);
    assert.equal(await c.set("new", "x", { xx: true }), null);
    assert.equal(await c.set("s", "w", { xx: true, get: true }), "v");
    assert.equal(await c.set("fresh", "1", { nx: true, get: true }), null);
    assert.equal(await c.set("e", "1", { ex: 100 }), "OK");
    assert.ok((await c.ttl("e")) > 98);
    await c.set("e", "2", { px: 5000 });
    assert.ok((await c.pttl("e")) > 4000);
    await c.set("e", "3", { keepTtl: true });
    assert.ok((await c.pttl("e")) > 4000);
    await c.set("e", "4", { exat: Math.floor(Date.now() / 1000) + 50 });
    assert.ok((await c.ttl("e")) > 40);
    await c.set("e", "5", { pxat: Date.now() + 50_000 });
    assert.ok((await c.ttl("e")) > 40);
    assert.equal(await c.getdel("e"), "5");
    assert.equal(await c.exists("e"), 0);
    await c.set("g", "x");
    assert.equal(await c.getex("g", { ex: 30 }), "x");
    assert.ok((await c.ttl("g")) > 20);
    assert.equal(await c.getex("g", { persist: true }), "x");
    assert.equal(await c.ttl("g"), -1);
    assert.equal(await c.mset({ a: "1", b: 2 }), "OK");
    assert.deepEqual(await c.mget("a", "b", "nope"), ["1", "2", null]);
    assert.equal(await c.msetnx({ a: "x", z: "y" }), false);
    assert.equal(await c.append("a", "23"), 3);
    assert.equal(await c.strlen("a"), 3);
    assert.equal(await c.getrange("a", 0, 1), "12");
    assert.equal(await c.setrange("a", 1, "x"), 3);
    assert.equal(await c.get("a"), "1x3");
    assert.equal(await c.set("unicode", "héllo ✓"), "OK");
    assert.equal(await c.get("unicode"), "héllo ✓");
    assert.equal(await c.strlen("unicode"), 10);
  },

  async "counters"(c) {
    assert.equal(await c.incr("n"), 1);
    assert.equal(await c.incrby("n", 10), 11);
    assert.equal(await c.decr("n"), 10);
    assert.equal(await c.decrby("n", 4), 6);
    assert.equal(await c.incrbyfloat("f", 1.5), 1.5);
    assert.equal(await c.incrbyfloat("f", -0.25), 1.25);
    await c.set("text", "abc");
    await assert.rejects(
      c.incr("text"),
      (e: unknown) => e instanceof ReplyError && e.code === "ERR",
    );
    // No silent JSON or number parsing: a numeric string stays a string.
    await c.set("numeric", "1");
    assert.equal(await c.get("numeric"), "1");
  },

  async "opt-in JSON"(c) {
    assert.equal(await c.setJson("j", { a: [1, "2"], b: null }, { ex: 60 }), "OK");
    assert.equal(await c.get("j"), '{"a":[1,"2"],"b":null}');
    assert.deepEqual(await c.getJson("j"), { a: [1, "2"], b: null });
    assert.equal(await c.getJson("missing"), null);
    await c.set("notjson", "{");
    await assert.rejects(c.getJson("notjson"), SyntaxError);
    assert.throws(() => c.setJson("u", undefined), TypeError);
  },

  async "keys and expiry"(c) {
    await c.mset({ k1: "1", k2: "2", k3: "3" });
    assert.equal(await c.exists("k1", "k2", "nope"), 2);
    assert.equal(await c.expire("k1", 100), true);
    assert.equal(await c.expire("nope", 100), false);
    assert.equal(await c.expire("k1", 50, "GT"), false);
    assert.equal(await c.expire("k1", 200, "GT"), true);
    assert.equal(await c.pexpire("k2", 100_000), true);
    assert.equal(await c.persist("k2"), true);
    assert.equal(await c.ttl("k2"), -1);
    assert.equal(await c.ttl("nope"), -2);
    assert.equal(await c.expireat("k3", Math.floor(Date.now() / 1000) + 100), true);
    assert.equal(await c.pexpireat("k3", Date.now() + 100_000), true);
    assert.equal(await c.type("k1"), "string");
    assert.equal(await c.type("nope"), "none");
    assert.equal(await c.rename("k1", "k4"), "OK");
    assert.equal(await c.renamenx("k2", "k4"), false);
    await assert.rejects(c.rename("nope", "x"), ReplyError);
    assert.deepEqual((await c.keys("k*")).sort(), ["k2", "k3", "k4"]);
    assert.equal(await c.del("k2", "k3", "nope"), 2);
    assert.equal(await c.unlink("k4"), 1);
    for (let i = 0; i < 50; i++) await c.set(`scan:${i}`, i);
    await c.hset("scan:hash", { f: 1 });
    const seen = new Set<string>();
    let cursor = "0";
    do {
      const [next, keys] = await c.scan(cursor, { match: "scan:*", count: 7, type: "string" });
      for (const key of keys) seen.add(key);
      cursor = next;
    } while (cursor !== "0");
    assert.equal(seen.size, 50);
    assert.ok((await c.dbsize()) >= 51);
    const [seconds, micros] = await c.time();
    assert.ok(Math.abs(seconds - Date.now() / 1000) < 60 && micros >= 0);
    assert.equal(await c.ping(), "PONG");
    assert.equal(await c.ping("hi"), "hi");
    assert.equal(await c.echo("echo"), "echo");
  },

  async "hashes"(c) {
    assert.equal(await c.hset("h", { name: "Ada", visits: 1 }), 2);
    assert.equal(await c.hset("h", { name: "Ada L." }), 0);
    assert.equal(await c.hget("h", "name"), "Ada L.");
    assert.equal(await c.hget("h", "nope"), null);
    assert.equal(await c.hsetnx("h", "name", "x"), false);
    assert.deepEqual(await c.hmget("h", "name", "nope"), ["Ada L.", null]);
    assert.deepEqual(await c.hgetall("h"), { name: "Ada L.", visits: "1" });
    assert.deepEqual(await c.hgetall("missing"), {});
    await c.hset("proto", { ["__proto__"]: "x" });
    const proto = await c.hgetall("proto");
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.ok(Object.hasOwn(proto, "__proto__"));
    assert.equal(await c.hincrby("h", "visits", 2), 3);
    assert.equal(await c.hincrbyfloat("h", "score", 0.5), 0.5);
    assert.equal(await c.hexists("h", "score"), true);
    assert.deepEqual((await c.hkeys("h")).sort(), ["name", "score", "visits"]);
    assert.equal((await c.hvals("h")).length, 3);
    assert.equal(await c.hlen("h"), 3);
    assert.equal(await c.hdel("h", "score", "nope"), 1);
  },

  async "lists"(c) {
    assert.equal(await c.rpush("l", "a", "b", "c"), 3);
    assert.equal(await c.lpush("l", "z"), 4);
    assert.deepEqual(await c.lrange("l", 0, -1), ["z", "a", "b", "c"]);
    assert.equal(await c.llen("l"), 4);
    assert.equal(await c.lindex("l", -1), "c");
    assert.equal(await c.lindex("l", 10), null);
    assert.equal(await c.lset("l", 0, "y"), "OK");
    assert.equal(await c.lpop("l"), "y");
    assert.equal(await c.rpop("l"), "c");
    assert.deepEqual(await c.lpop("l", 5), ["a", "b"]);
    assert.equal(await c.lpop("l"), null);
    assert.equal(await c.lpop("l", 2), null);
    await c.rpush("l", "x", "y", "x", "z");
    assert.equal(await c.lrem("l", 0, "x"), 2);
    assert.equal(await c.ltrim("l", 0, 0), "OK");
    assert.deepEqual(await c.rpop("l", 3), ["y"]);
    await c.rpush("src", "1", "2");
    assert.equal(await c.lmove("src", "dst", "LEFT", "RIGHT"), "1");
    assert.deepEqual(await c.lrange("dst", 0, -1), ["1"]);
    assert.equal(await c.lmove("empty", "dst", "LEFT", "LEFT"), null);
  },

  async "sets"(c) {
    assert.equal(await c.sadd("s1", "a", "b", "c", "a"), 3);
    assert.deepEqual((await c.smembers("s1")).sort(), ["a", "b", "c"]);
    assert.equal(await c.sismember("s1", "a"), true);
    assert.deepEqual(await c.smismember("s1", "a", "z"), [true, false]);
    assert.equal(await c.scard("s1"), 3);
    await c.sadd("s2", "b", "c", "d");
    assert.deepEqual((await c.sinter("s1", "s2")).sort(), ["b", "c"]);
    assert.deepEqual((await c.sunion("s1", "s2")).sort(), ["a", "b", "c", "d"]);
    assert.deepEqual(await c.sdiff("s1", "s2"), ["a"]);
    assert.equal(await c.srem("s1", "a", "zz"), 1);
    assert.ok(["b", "c"].includes((await c.srandmember("s1"))!));
    assert.equal((await c.srandmember("s1", 5)).length, 2);
    assert.equal((await c.spop("s1", 1)).length, 1);
    assert.ok(typeof await c.spop("s1") === "string");
    assert.equal(await c.spop("s1"), null);
    assert.deepEqual(await c.smembers("s1"), []);
  },

  async "sorted sets"(c) {
    assert.equal(await c.zadd("z", { score: 1, member: "a" }, { score: 2, member: "b" }), 2);
    assert.equal(
      await c.zadd("z", { nx: true }, { score: 5, member: "a" }, { score: 3, member: "c" }),
      1,
    );
    assert.equal(await c.zadd("z", { gt: true, ch: true }, { score: 0, member: "b" }), 0);
    assert.equal(await c.zadd("z", { xx: true, ch: true }, { score: 2.5, member: "b" }), 1);
    assert.equal(await c.zscore("z", "b"), 2.5);
    assert.equal(await c.zscore("z", "nope"), null);
    assert.equal(await c.zincrby("z", 0.5, "b"), 3);
    assert.equal(await c.zcard("z"), 3);
    assert.equal(await c.zcount("z", "(1", "+inf"), 2);
    assert.equal(await c.zrank("z", "a"), 0);
    assert.equal(await c.zrevrank("z", "a"), 2);
    assert.equal(await c.zrank("z", "nope"), null);
    assert.deepEqual(await c.zrange("z", 0, -1), ["a", "b", "c"]);
    assert.deepEqual(await c.zrange("z", 0, -1, { rev: true }), ["c", "b", "a"]);
    assert.deepEqual(await c.zrange("z", 0, 1, { withScores: true }), [
      { member: "a", score: 1 },
      { member: "b", score: 3 },
    ]);
    assert.deepEqual(
      await c.zrange("z", "(1", "+inf", { byScore: true, limit: { offset: 1, count: 5 } }),
      ["c"],
    );
    assert.deepEqual(await c.zrange("z", "[a", "[b", { byLex: true }), ["a", "b"]);
    await c.zadd("z", { score: Infinity, member: "top" });
    assert.equal(await c.zscore("z", "top"), Infinity);
    assert.deepEqual(await c.zpopmax("z"), [{ member: "top", score: Infinity }]);
    assert.deepEqual(await c.zpopmin("z", 2), [
      { member: "a", score: 1 },
      { member: "b", score: 3 },
    ]);
    assert.equal(await c.zremrangebyscore("z", "-inf", "+inf"), 1);
    assert.equal(await c.zrem("z", "c"), 0);
    assert.deepEqual(await c.zpopmin("z"), []);
  },

  async "scripts and publish"(c) {
    assert.equal(await c.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", ["ctr"], [5]), 5);
    assert.deepEqual(await c.eval("return {1, 'two', {3}}"), [1, "two", [3]]);
    const sha = await c.scriptLoad("return ARGV[1]");
    assert.match(sha, /^[0-9a-f]{40}$/);
    assert.equal(await c.evalsha(sha, [], ["hi"]), "hi");
    assert.deepEqual(await c.scriptExists(sha, "0".repeat(40)), [true, false]);
    await assert.rejects(
      c.evalsha("0".repeat(40)),
      (e: unknown) => e instanceof ReplyError && e.code === "NOSCRIPT",
    );
    await assert.rejects(c.eval("return redis.call('NOPE')"), ReplyError);
    assert.equal(await c.publish("nobody", "hello"), 0);
  },

  async "the same methods in pipelines and transactions"(c) {
    const results = await c.pipeline()
      .set("p", "1")
      .incr("p")
      .hset("ph", { a: 1 })
      .hgetall("ph")
      .zadd("pz", { score: 1.5, member: "m" })
      .zrange("pz", 0, -1, { withScores: true })
      .smembers("nope")
      .getJson("p")
      .exec();
    assert.deepEqual(results, ["OK", 2, 1, { a: "1" }, 1, [{ member: "m", score: 1.5 }], [], 2]);
    const tx = await c.multi().incr("t").incr("t").hgetall("ph").zscore("pz", "m").exec();
    assert.deepEqual(tx, [1, 2, { a: "1" }, 1.5]);
    await c.set("str", "x");
    const kept = await c.multi().incr("t").incr("str").exec({ keepErrors: true });
    assert.equal(kept[0], 3);
    assert.ok(kept[1] instanceof ReplyError);
    await assert.rejects(c.multi().incr("t").incr("str").exec(), ReplyError);
    // A command refused while queuing aborts the whole transaction.
    const aborted = await c.multi().incr("t").send(["NOPE"]).exec().catch((e) => e);
    assert.ok(aborted instanceof ReplyError && aborted.code === "EXECABORT");
    assert.ok(aborted.cause instanceof ReplyError && aborted.cause.code === "ERR");
    assert.equal(await c.get("t"), "4");
    assert.deepEqual(await c.multi().exec(), []);
  },
};

for (const protocol of [2, 3] as const) {
  Deno.test(`command methods over RESP${protocol}`, async (t) => {
    await using redis = await startRedisServer();
    await using client = await connect({ host: redis.hostname, port: redis.port, protocol });
    for (const [name, check] of Object.entries(checks)) {
      await client.flushdb();
      await t.step(name, () => check(client));
    }
  });
}
