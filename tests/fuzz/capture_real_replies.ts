/**
 * Captures the raw bytes of real `redis-server` replies, in RESP2 and RESP3,
 * into `real_replies.json`: the seed corpus the RESP decoder fuzz mutates.
 * It covers every RESP3 type (`DEBUG PROTOCOL`), pushes (pub/sub,
 * client-side caching invalidations), attributes, errors, big and binary
 * bulk strings and deeply nested replies.
 *
 * Run it again only to refresh the corpus (the fuzz reads the file, so runs
 * replay exactly):
 *
 * ```sh
 * deno run -A tests/fuzz/capture_real_replies.ts
 * ```
 *
 * @module
 */

import { encodeCommand } from "../../src/resp/encoder.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";
import { startRedisServer } from "../_helpers/redis_server.ts";

/** The commands, run in order on one connection per protocol. */
function script(protocol: 2 | 3): (string | Uint8Array)[][] {
  const binary = new Uint8Array(256).map((_, i) => i);
  const big = "x".repeat(20_000);
  return [
    ["HELLO", String(protocol)],
    ["PING"],
    ["PING", "hello world"],
    ["SET", "k", "v"],
    ["GET", "k"],
    ["GET", "missing"],
    ["SET", "bin", binary],
    ["GET", "bin"],
    ["SET", "big", big],
    ["GET", "big"],
    ["SET", "utf8", "héllo wörld ✓ 🎉"],
    ["GET", "utf8"],
    ["INCR", "n"],
    ["INCRBY", "n", "-9007199254740993"],
    ["INCRBYFLOAT", "f", "3.14159"],
    ["RPUSH", "list", "a", "b", "", "d"],
    ["LRANGE", "list", "0", "-1"],
    ["HSET", "hash", "f1", "v1", "f2", "v2", "f3", ""],
    ["HGETALL", "hash"],
    ["SADD", "set", "x", "y", "z"],
    ["SMEMBERS", "set"],
    ["ZADD", "zset", "1.5", "a", "-2", "b", "inf", "c"],
    ["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
    ["ZSCORE", "zset", "a"],
    ["XADD", "stream", "1-1", "field", "value", "other", "x"],
    ["XADD", "stream", "2-1", "field", "value2"],
    ["XRANGE", "stream", "-", "+"],
    ["XINFO", "STREAM", "stream"],
    ["EXISTS", "k", "missing"],
    ["LPOP", "missing"],
    ["GET", "list"], // WRONGTYPE
    ["NOSUCHCOMMAND"],
    ["SET"],
    ["CONFIG", "GET", "maxmemory*"],
    ["COMMAND", "INFO", "GET", "SET", "ZADD"],
    ["COMMAND", "DOCS", "GET"],
    ["CLIENT", "INFO"],
    ["MEMORY", "DOCTOR"],
    ["LATENCY", "DOCTOR"],
    ["ACL", "WHOAMI"],
    ["ACL", "GETUSER", "default"],
    ["OBJECT", "ENCODING", "k"],
    ["MULTI"],
    ["SET", "t", "1"],
    ["INCR", "t"],
    ["EXEC"],
    ["EVAL", "return {1, 'two', {3, {4, {5}}}, false, redis.status_reply('OK')}", "0"],
    ["EVAL", "return redis.error_reply('CUSTOM failure')", "0"],
    ["DEBUG", "PROTOCOL", "string"],
    ["DEBUG", "PROTOCOL", "integer"],
    ["DEBUG", "PROTOCOL", "double"],
    ["DEBUG", "PROTOCOL", "bignum"],
    ["DEBUG", "PROTOCOL", "null"],
    ["DEBUG", "PROTOCOL", "array"],
    ["DEBUG", "PROTOCOL", "set"],
    ["DEBUG", "PROTOCOL", "map"],
    ["DEBUG", "PROTOCOL", "attrib"],
    ["DEBUG", "PROTOCOL", "push"],
    ["DEBUG", "PROTOCOL", "verbatim"],
    ["DEBUG", "PROTOCOL", "true"],
    ["DEBUG", "PROTOCOL", "false"],
    ["INFO", "server"],
    ["CLIENT", "TRACKING", "on"],
    ["GET", "k"],
    ["SET", "k", "changed"], // invalidation push in RESP3
    ["CLIENT", "TRACKING", "off"],
    ["SUBSCRIBE", "news", "weather"],
    ["UNSUBSCRIBE"],
    ["FLUSHALL"],
  ];
}

/** The replies' frames, as base64, one list per protocol. */
async function capture(port: number, protocol: 2 | 3): Promise<string[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new RespDecoder();
  const frames: string[] = [];
  const buffer = new Uint8Array(256 * 1024);
  let held = new Uint8Array(0);
  const readFrame = async (): Promise<void> => {
    for (;;) {
      const before = decoder.bufferedBytes;
      const value = decoder.read();
      if (value !== undefined) {
        const used = before - decoder.bufferedBytes;
        frames.push(base64(held.subarray(0, used)));
        held = held.slice(used);
        return;
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error("redis-server closed the connection");
      const chunk = buffer.subarray(0, n);
      decoder.push(chunk);
      const grown = new Uint8Array(held.length + n);
      grown.set(held);
      grown.set(chunk, held.length);
      held = grown;
    }
  };
  try {
    for (const command of script(protocol)) {
      await conn.write(encodeCommand(command));
      await readFrame();
      const name = String(command[0]);
      const extra = name === "SUBSCRIBE" ? command.length - 2 : name === "UNSUBSCRIBE" ? 1 : 0;
      for (let i = 0; i < extra; i++) await readFrame();
      // RESP3 sends the invalidation push right after the write that caused it.
      if (protocol === 3 && name === "SET" && command[2] === "changed") await readFrame();
    }
    return frames;
  } finally {
    conn.close();
  }
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

if (import.meta.main) {
  await using redis = await startRedisServer({ args: ["--enable-debug-command", "yes"] });
  const corpus = {
    source: `redis-server ${
      new TextDecoder().decode(
        (await new Deno.Command("redis-server", { args: ["--version"] }).output()).stdout,
      ).trim()
    }`,
    resp2: await capture(redis.port, 2),
    resp3: await capture(redis.port, 3),
  };
  const file = new URL("./real_replies.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(corpus, null, 2) + "\n");
}
