import assert from "node:assert/strict";
import { ReplyError } from "../src/errors.ts";
import { type ReadOptions, RespDecoder } from "../src/resp/decoder.ts";
import { encodeCommand, encodeCommands } from "../src/resp/encoder.ts";
import { type CommandArg, Push, type RespValue } from "../src/resp/types.ts";
import { type RedisServer, startRedisServer } from "./_helpers/redis_server.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** A raw TCP connection speaking RESP through the encoder and decoder under test. */
class RawConnection {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = new RespDecoder();
  readonly #buffer = new Uint8Array(64 * 1024);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(server: RedisServer): Promise<RawConnection> {
    return new RawConnection(
      await Deno.connect({ hostname: server.hostname, port: server.port }),
    );
  }

  get lastAttributes(): Map<RespValue, RespValue> | undefined {
    return this.#decoder.lastAttributes;
  }

  async write(data: Uint8Array): Promise<void> {
    for (let at = 0; at < data.length;) at += await this.#conn.write(data.subarray(at));
  }

  async send(args: CommandArg[], options?: ReadOptions): Promise<RespValue> {
    await this.write(encodeCommand(args));
    return await this.next(options);
  }

  /** Reads the next frame. */
  async next(options?: ReadOptions): Promise<RespValue> {
    for (;;) {
      const value = this.#decoder.read(options);
      if (value !== undefined) return value;
      const n = await this.#conn.read(this.#buffer);
      if (n === null) throw new Error("Connection closed before the reply");
      this.#decoder.push(this.#buffer.subarray(0, n));
    }
  }

  [Symbol.dispose](): void {
    this.#conn.close();
  }
}

const DEBUG = ["--enable-debug-command", "yes"];

Deno.test("RESP2 replies from a real redis-server decode to every RESP2 type", async () => {
  await using redis = await startRedisServer({ args: DEBUG });
  using conn = await RawConnection.open(redis);

  assert.equal(await conn.send(["PING"]), "PONG");
  const error = await conn.send(["NOSUCHCOMMAND", "x"]);
  assert.ok(error instanceof ReplyError);
  assert.equal(error.code, "ERR");
  assert.match(error.message, /unknown command/);
  const wrongType = await conn.send(["LPUSH", "string", "x"]).then(() =>
    conn.send(["GET", "string"])
  );
  assert.ok(wrongType instanceof ReplyError);
  assert.equal(wrongType.code, "WRONGTYPE");

  assert.equal(await conn.send(["SET", "greeting", "héllo ✓"]), "OK");
  assert.equal(await conn.send(["GET", "greeting"]), "héllo ✓");
  assert.equal(await conn.send(["GET", "missing"]), null);
  assert.equal(await conn.send(["INCR", "counter"]), 1);
  assert.equal(await conn.send(["INCRBY", "counter", -5]), -4);
  assert.equal(await conn.send(["SET", "big", "9007199254740993"]), "OK");
  assert.equal(await conn.send(["INCR", "big"]), 9007199254740994n);
  assert.equal(await conn.send(["INCRBYFLOAT", "float", 0.5]), "0.5");

  assert.equal(await conn.send(["RPUSH", "list", "a", "b", "c"]), 3);
  assert.deepStrictEqual(await conn.send(["LRANGE", "list", 0, -1]), ["a", "b", "c"]);
  assert.deepStrictEqual(await conn.send(["LRANGE", "list", 5, 6]), []);
  assert.equal(await conn.send(["BLPOP", "empty-list", 0.01]), null, "*-1");

  await conn.send(["HSET", "hash", "f1", "v1", "f2", "v2"]);
  assert.deepStrictEqual(await conn.send(["HGETALL", "hash"]), ["f1", "v1", "f2", "v2"]);
  await conn.send(["SADD", "set", "only"]);
  assert.deepStrictEqual(await conn.send(["SMEMBERS", "set"]), ["only"]);
  await conn.send(["ZADD", "zset", 1.5, "member"]);
  assert.equal(await conn.send(["ZSCORE", "zset", "member"]), "1.5");
  assert.deepStrictEqual(await conn.send(["CONFIG", "GET", "appendonly"]), ["appendonly", "no"]);

  const info = await conn.send(["INFO", "server"]);
  assert.equal(typeof info, "string");
  assert.match(info as string, /^# Server\r\nredis_version:/);
});

Deno.test("RESP3 replies from a real redis-server decode to every RESP3 type", async () => {
  await using redis = await startRedisServer({ args: DEBUG });
  using conn = await RawConnection.open(redis);

  const hello = await conn.send(["HELLO", 3]);
  assert.ok(hello instanceof Map);
  assert.equal(hello.get("server"), "redis");
  assert.equal(hello.get("proto"), 3);

  assert.equal(await conn.send(["PING"]), "PONG");
  assert.ok(await conn.send(["NOSUCHCOMMAND"]) instanceof ReplyError);
  assert.equal(await conn.send(["GET", "missing"]), null, "_");
  assert.equal(await conn.send(["BLPOP", "empty-list", 0.01]), null);
  assert.equal(await conn.send(["INCR", "counter"]), 1);

  await conn.send(["HSET", "hash", "f1", "v1", "f2", "v2"]);
  assert.deepStrictEqual(
    await conn.send(["HGETALL", "hash"]),
    new Map([["f1", "v1"], ["f2", "v2"]]),
  );
  assert.deepStrictEqual(
    await conn.send(["CONFIG", "GET", "appendonly"]),
    new Map([["appendonly", "no"]]),
  );
  await conn.send(["SADD", "set", "a", "b"]);
  const members = await conn.send(["SMEMBERS", "set"]);
  assert.ok(members instanceof Set);
  assert.deepStrictEqual([...members].sort(), ["a", "b"]);

  await conn.send(["ZADD", "zset", 1.5, "member"]);
  assert.equal(await conn.send(["ZSCORE", "zset", "member"]), 1.5);
  assert.equal(await conn.send(["INCRBYFLOAT", "float", 0.25]), "0.25");

  // Scripts reply in RESP2 terms unless they switch with redis.setresp(3).
  assert.equal(await conn.send(["EVAL", "return true", 0]), 1);
  assert.equal(await conn.send(["EVAL", "redis.setresp(3); return true", 0]), true);
  assert.equal(await conn.send(["EVAL", "redis.setresp(3); return false", 0]), false);
  assert.equal(await conn.send(["DEBUG", "PROTOCOL", "true"]), true);
  assert.equal(await conn.send(["DEBUG", "PROTOCOL", "false"]), false);
  assert.equal(await conn.send(["DEBUG", "PROTOCOL", "double"]), 3.141);
  assert.equal(
    await conn.send(["DEBUG", "PROTOCOL", "bignum"]),
    1234567999999999999999999999999999999n,
  );
  assert.equal(await conn.send(["DEBUG", "PROTOCOL", "null"]), null);
  assert.deepStrictEqual(
    await conn.send(["DEBUG", "PROTOCOL", "map"]),
    new Map([[0, false], [1, true], [2, false]]),
  );
  assert.deepStrictEqual(await conn.send(["DEBUG", "PROTOCOL", "set"]), new Set([0, 1, 2]));
  assert.equal(
    await conn.send(["DEBUG", "PROTOCOL", "verbatim"]),
    "This is a verbatim\nstring",
  );
  assert.deepStrictEqual(
    await conn.send(["DEBUG", "PROTOCOL", "verbatim"], { bytes: true }),
    bytes("This is a verbatim\nstring"),
  );
  const info = await conn.send(["INFO", "server"]);
  assert.match(info as string, /^# Server\r\nredis_version:/, "verbatim without its txt: prefix");

  assert.equal(
    await conn.send(["DEBUG", "PROTOCOL", "attrib"]),
    "Some real reply following the attribute",
  );
  assert.deepStrictEqual(
    conn.lastAttributes,
    new Map<RespValue, RespValue>([["key-popularity", ["key:123", 90]]]),
  );

  assert.deepStrictEqual(
    await conn.send(["DEBUG", "PROTOCOL", "push"]),
    new Push("server-cpu-usage", [42]),
  );
  assert.equal(await conn.next(), "Some real reply following the push reply");
});

Deno.test("RESP3 pub/sub messages from a real redis-server decode to Push frames", async () => {
  await using redis = await startRedisServer();
  using subscriber = await RawConnection.open(redis);
  using publisher = await RawConnection.open(redis);

  assert.ok(await subscriber.send(["HELLO", 3]) instanceof Map);
  assert.deepStrictEqual(
    await subscriber.send(["SUBSCRIBE", "news"]),
    new Push("subscribe", ["news", 1]),
  );
  assert.deepStrictEqual(
    await subscriber.send(["PSUBSCRIBE", "n*"]),
    new Push("psubscribe", ["n*", 2]),
  );
  assert.equal(await publisher.send(["PUBLISH", "news", "hello ✓"]), 2);
  assert.deepStrictEqual(await subscriber.next(), new Push("message", ["news", "hello ✓"]));
  assert.deepStrictEqual(await subscriber.next(), new Push("pmessage", ["n*", "news", "hello ✓"]));
  // In RESP3 a subscribed connection still answers ordinary commands.
  assert.equal(await subscriber.send(["PING"]), "PONG");
});

Deno.test("a real redis-server round-trips binary values and a 5,000-command pipeline", async () => {
  await using redis = await startRedisServer();
  using conn = await RawConnection.open(redis);

  const payload = new Uint8Array(256 * 4);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 256;
  assert.equal(await conn.send(["SET", payload.subarray(0, 16), payload]), "OK");
  assert.deepStrictEqual(
    await conn.send(["GET", payload.subarray(0, 16)], { bytes: true }),
    payload,
  );

  const big = "x".repeat(3 * 1024 * 1024);
  assert.equal(await conn.send(["SET", "big", big]), "OK");
  assert.equal(await conn.send(["GET", "big"]), big);

  const commands: CommandArg[][] = [];
  for (let i = 0; i < 5_000; i++) {
    commands.push(i % 2 === 0 ? ["SET", `k${i}`, i] : ["GET", `k${i - 1}`]);
  }
  await conn.write(encodeCommands(commands));
  for (let i = 0; i < 5_000; i++) {
    assert.equal(await conn.next(), i % 2 === 0 ? "OK" : String(i - 1));
  }
});

Deno.test("startRedisServer fails clearly when redis-server is missing or cannot start", async () => {
  await assert.rejects(
    startRedisServer({ executable: "redis-server-that-does-not-exist" }),
    /Cannot start redis-server-that-does-not-exist: it is not installed or not on PATH/,
  );
  await assert.rejects(
    startRedisServer({ args: ["--no-such-option", "yes"] }),
    /Cannot start redis-server on 127\.0\.0\.1:\d+ \(exit code 1\): the server exited during start-up\n--- server output ---\n[^]*no-such-option/,
  );
});

Deno.test("startRedisServer never mistakes another server on its port for its own", async () => {
  await using first = await startRedisServer();
  await assert.rejects(
    startRedisServer({ port: first.port }),
    new RegExp(`Cannot start redis-server: port ${first.port} is already in use`),
  );
  using conn = await RawConnection.open(first);
  assert.equal(await conn.send(["PING"]), "PONG", "the first server is untouched");
});

Deno.test("startRedisServer starts a server that requires a password", async () => {
  await using redis = await startRedisServer({ args: ["--requirepass", "s3cret"] });
  using conn = await RawConnection.open(redis);
  const refused = await conn.send(["GET", "k"]);
  assert.ok(refused instanceof ReplyError);
  assert.equal(refused.code, "NOAUTH");
  assert.equal(await conn.send(["AUTH", "s3cret"]), "OK");
  assert.equal(await conn.send(["GET", "k"]), null);
});
