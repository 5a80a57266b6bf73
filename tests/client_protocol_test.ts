/**
 * The client's wire behaviour: every reply type from a real server (RESP2 and
 * RESP3), replies split at every byte and at random points, pipelining,
 * write coalescing, and what happens when the stream breaks.
 */

import assert from "node:assert/strict";
import { connect, RedisClient } from "../src/client.ts";
import { ConnectionClosedError, ProtocolError, ReplyError, TimeoutError } from "../src/errors.ts";
import { RespDecoder } from "../src/resp/decoder.ts";
import { encodeCommands } from "../src/resp/encoder.ts";
import { type CommandArg, Push, type RespValue } from "../src/resp/types.ts";
import { denoTransport } from "../src/transport/deno.ts";
import type { Transport, TransportFactory } from "../src/transport/types.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { startFakeServer, withHandshake } from "./_helpers/client_fake_server.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";

const DEBUG = ["--enable-debug-command", "yes"];

/** Commands covering every reply type the server can send. */
function replyTypeCommands(protocol: 2 | 3): CommandArg[][] {
  const types = [
    "string",
    "integer",
    "double",
    "bignum",
    "null",
    "array",
    "set",
    "map",
    "attrib",
    "verbatim",
    "true",
    "false",
  ];
  if (protocol === 3) types.push("push");
  return [
    ["PING"],
    ["SET", "s", "text"],
    ["GET", "s"],
    ["GET", "missing"],
    ["INCR", "s"],
    ["INCRBY", "big", "9007199254740993"],
    ["RPUSH", "l", "a", "b", "c"],
    ["LRANGE", "l", 0, -1],
    ["HSET", "h", "f", "v"],
    ["HGETALL", "h"],
    ["SADD", "set", "m"],
    ["SMEMBERS", "set"],
    ["ZADD", "z", "inf", "top", "1.5", "one"],
    ["ZSCORE", "z", "top"],
    ["ZSCORE", "z", "one"],
    // A null array, as a BLPOP that timed out answers (a BLPOP would open a connection of its own).
    ["XREAD", "STREAMS", "nothing", "0"],
    ["SET", "blob", "x".repeat(100_000)],
    ["STRLEN", "blob"],
    ["GET", "blob"],
    ["EXEC"],
    ...types.map((type) => ["DEBUG", "PROTOCOL", type]),
  ];
}

/** Sends each command with `send`, keeping error replies as values. */
async function runAll(client: RedisClient, commands: CommandArg[][]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const command of commands) {
    out.push(await client.send(command).catch((error) => error));
  }
  return out;
}

for (const protocol of [2, 3] as const) {
  Deno.test(`every reply type from redis-server over RESP${protocol}`, async () => {
    await using redis = await startRedisServer({ args: DEBUG });
    const pushes: Push[] = [];
    await using client = await connect({
      host: redis.hostname,
      port: redis.port,
      protocol,
      onPush: (push) => pushes.push(push),
    });
    const [
      pong,
      setOk,
      text,
      missing,
      notInteger,
      big,
      ,
      list,
      ,
      hash,
      ,
      members,
      ,
      infScore,
      score,
      timedOut,
      ,
      blobLength,
      blob,
      execWithoutMulti,
      ...debug
    ] = await runAll(client, replyTypeCommands(protocol));
    assert.equal(pong, "PONG");
    assert.equal(setOk, "OK");
    assert.equal(text, "text");
    assert.equal(missing, null);
    assert.ok(notInteger instanceof ReplyError);
    assert.equal(notInteger.code, "ERR");
    assert.equal(big, 9007199254740993n);
    assert.deepEqual(list, ["a", "b", "c"]);
    assert.equal(timedOut, null);
    assert.equal(blobLength, 100_000);
    assert.equal(blob, "x".repeat(100_000));
    assert.ok(execWithoutMulti instanceof ReplyError);
    const [
      string,
      integer,
      double,
      bignum,
      nil,
      array,
      set,
      map,
      attrib,
      verbatim,
      yes,
      no,
      push,
    ] = debug;
    assert.equal(string, "Hello World");
    assert.equal(integer, 12345);
    assert.equal(nil, null);
    assert.deepEqual(array, [0, 1, 2]);
    assert.equal(attrib, "Some real reply following the attribute");
    assert.equal(verbatim, "This is a verbatim\nstring");
    if (protocol === 3) {
      assert.deepEqual(hash, new Map([["f", "v"]]));
      assert.deepEqual(members, new Set(["m"]));
      assert.equal(infScore, Infinity);
      assert.equal(score, 1.5);
      assert.equal(double, 3.141);
      assert.equal(bignum, 1234567999999999999999999999999999999n);
      assert.deepEqual(set, new Set([0, 1, 2]));
      assert.deepEqual(map, new Map([[0, false], [1, true], [2, false]]));
      assert.equal(yes, true);
      assert.equal(no, false);
      assert.equal(push, "Some real reply following the push reply");
      assert.deepEqual(pushes, [new Push("server-cpu-usage", [42])]);
    } else {
      assert.deepEqual(hash, ["f", "v"]);
      assert.deepEqual(members, ["m"]);
      assert.equal(infScore, "inf");
      assert.equal(score, "1.5");
      assert.equal(double, "3.141");
      assert.equal(bignum, "1234567999999999999999999999999999999");
      assert.deepEqual(set, [0, 1, 2]);
      assert.deepEqual(map, [0, 0, 1, 1, 2, 0]);
      assert.equal(yes, 1);
      assert.equal(no, 0);
      assert.equal(pushes.length, 0);
    }
  });
}

/**
 * Records what a real server answers to `HELLO` and `commands`, one byte
 * array per command (a push frame stays with the reply that follows it).
 */
async function recordReplies(
  port: number,
  protocol: 2 | 3,
  commands: CommandArg[][],
): Promise<Uint8Array[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    // A RESP2 client without credentials, name or database sends no handshake.
    const all = protocol === 3 ? [["HELLO", protocol], ...commands] : commands;
    await conn.write(encodeCommands(all));
    const decoder = new RespDecoder();
    const bytes: number[] = [];
    const replies: Uint8Array[] = [];
    let start = 0;
    const buffer = new Uint8Array(256 * 1024);
    while (replies.length < all.length) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("the server closed the connection");
      for (let i = 0; i < n; i++) {
        bytes.push(buffer[i]!);
        decoder.push(buffer.subarray(i, i + 1));
        const value = decoder.read();
        if (value === undefined || value instanceof Push) continue;
        replies.push(Uint8Array.from(bytes.slice(start)));
        start = bytes.length;
      }
    }
    return replies;
  } finally {
    conn.close();
  }
}

/**
 * An in-memory transport that answers the n-th command with `replies[n]`,
 * cut into pieces by `split`.
 */
function scriptedTransport(
  replies: Uint8Array[],
  split: (bytes: Uint8Array) => Uint8Array[],
): TransportFactory {
  return () => {
    const decoder = new RespDecoder();
    let next = 0;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const readable = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    const writable = new WritableStream<Uint8Array>({
      write(chunk) {
        decoder.push(chunk);
        while (decoder.read() !== undefined) {
          const reply = replies[next++];
          if (reply === undefined) throw new Error("no reply recorded for this command");
          for (const piece of split(reply)) controller.enqueue(piece);
        }
      },
    });
    const transport: Transport = {
      readable,
      writable,
      close() {
        try {
          controller.close();
        } catch {
          // Already closed.
        }
      },
    };
    return Promise.resolve(transport);
  };
}

function oneByteAtATime(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (byte) => Uint8Array.of(byte));
}

/** A seeded generator, so a failure can be replayed. */
function randomSplitter(seed: number): (bytes: Uint8Array) => Uint8Array[] {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return (bytes) => {
    const pieces: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length) {
      const size = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 300));
      pieces.push(bytes.slice(at, at + size));
      at += size;
    }
    return pieces;
  };
}

for (const protocol of [2, 3] as const) {
  Deno.test(`replies split one byte at a time and at random points decode as whole (RESP${protocol})`, async () => {
    await using redis = await startRedisServer({ args: DEBUG });
    const commands = replyTypeCommands(protocol);
    const replies = await recordReplies(redis.port, protocol, commands);
    await using live = await connect({ host: redis.hostname, port: redis.port, protocol });
    await live.send(["FLUSHALL"]);
    const expected = await runAll(live, commands);
    const splitters: [string, (bytes: Uint8Array) => Uint8Array[]][] = [
      ["one byte", oneByteAtATime],
      ...[1, 2, 3, 4, 5].map((seed) =>
        [`random ${seed}`, randomSplitter(seed)] as [string, (b: Uint8Array) => Uint8Array[]]
      ),
    ];
    for (const [name, split] of splitters) {
      const pushes: Push[] = [];
      await using client = await connect({
        host: "127.0.0.1",
        protocol,
        transport: scriptedTransport(replies, split),
        onPush: (push) => pushes.push(push),
      });
      assert.deepEqual(await runAll(client, commands), expected, name);
      assert.equal(pushes.length, protocol === 3 ? 1 : 0, name);
    }
  });
}

Deno.test("a pipeline of 10,000 commands is written at once and answered in order", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  const pipeline = client.pipeline();
  for (let i = 0; i < 10_000; i++) pipeline.set(`key:${i}`, i);
  for (let i = 0; i < 10_000; i++) pipeline.incr(`key:${i}`);
  assert.equal(pipeline.length, 20_000);
  const results = await pipeline.exec();
  assert.equal(results.length, 20_000);
  assert.ok(results.slice(0, 10_000).every((result) => result === "OK"));
  assert.deepEqual(results.slice(10_000), Array.from({ length: 10_000 }, (_, i) => i + 1));
  assert.equal(pipeline.length, 0);
  // The same through 10,000 concurrent calls, which the client coalesces.
  const values = await Promise.all(
    Array.from({ length: 10_000 }, (_, i) => client.get(`key:${i}`)),
  );
  assert.deepEqual(values, Array.from({ length: 10_000 }, (_, i) => String(i + 1)));
});

Deno.test("commands issued in the same tick go out in one socket write", async () => {
  await using redis = await startRedisServer();
  let writes = 0;
  const counting: TransportFactory = async (options) => {
    const conn = await denoTransport(options);
    const writer = conn.writable.getWriter();
    return {
      readable: conn.readable,
      writable: new WritableStream<Uint8Array>({
        write(chunk) {
          writes++;
          return writer.write(chunk);
        },
      }),
      close: () => conn.close(),
    };
  };
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    transport: counting,
  });
  const before = writes;
  const replies = await Promise.all([
    client.set("a", "1"),
    client.incr("n"),
    client.get("a"),
    ...Array.from({ length: 100 }, () => client.ping()),
  ]);
  assert.equal(writes - before, 1);
  assert.deepEqual(replies.slice(0, 3), ["OK", 1, "1"]);
  const pipelined = await client.pipeline().incr("n").incr("n").exec();
  assert.deepEqual(pipelined, [2, 3]);
  assert.equal(writes - before, 2);
});

Deno.test("pipeline errors are thrown, or kept per slot with keepErrors", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  await client.set("text", "abc");
  await assert.rejects(
    client.pipeline().incr("n").incr("text").incr("n").exec(),
    (error: unknown) => error instanceof ReplyError && error.code === "ERR",
  );
  // Every command ran: the error was thrown after all replies arrived.
  assert.equal(await client.get("n"), "2");
  const kept = await client.pipeline().incr("n").incr("text").get("n").exec({ keepErrors: true });
  assert.equal(kept[0], 3);
  assert.ok(kept[1] instanceof ReplyError);
  assert.equal(kept[2], "3");
  assert.deepEqual(await client.pipeline().exec(), []);
});

Deno.test("a malformed byte stream fails the waiting commands with a protocol error and closes the connection", async () => {
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    if (connection.index === 0 && command[0] === "GET") {
      await connection.write("?this is not RESP\r\n");
    } else {
      await connection.write("+PONG\r\n");
    }
  }));
  await using client = await connect({ host: server.hostname, port: server.port });
  const first = client.send(["PING"]);
  const broken = client.send(["GET", "x"]);
  const waiting = client.send(["PING"]);
  assert.equal(await first, "PONG");
  await assert.rejects(broken, ProtocolError);
  await assert.rejects(waiting, ProtocolError);
  assert.equal(client.connected, false);
  // The process is fine and the next command opens a new connection.
  assert.equal(await client.ping(), "PONG");
  assert.equal(server.commands.length, 2);
});

Deno.test("a reply that answers no command closes the connection", async () => {
  const errors: Error[] = [];
  let unsolicited: (() => Promise<void>) | undefined;
  await using server = startFakeServer(withHandshake(async (_command, connection) => {
    unsolicited = () => connection.write("+UNSOLICITED\r\n");
    await connection.write("+PONG\r\n");
  }));
  await using client = await connect({ host: server.hostname, port: server.port });
  assert.equal(await client.ping(), "PONG");
  await unsolicited!();
  while (client.connected) await new Promise((resolve) => setTimeout(resolve, 5));
  // The next command reconnects.
  assert.equal(await client.ping(), "PONG");
  assert.equal(server.commands.length, 2);
  assert.equal(errors.length, 0);
});

Deno.test("commandTimeout fails a command that gets no reply and closes the connection", async () => {
  const timers = new FakeTimers();
  // A peer gone silent (no FIN, no RST): from GET on, nothing is answered.
  const silent = new Set<number>();
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    if (command[0] === "GET") silent.add(connection.index);
    if (!silent.has(connection.index)) await connection.write("+PONG\r\n");
  }));
  await using client = await connect({
    host: server.hostname,
    port: server.port,
    commandTimeout: 500,
    now: timers.now,
    timers,
  });
  const stuck = client.get("q").catch((error) => error);
  const behind = client.ping().catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(499);
  assert.equal(client.connected, true);
  timers.advance(1);
  const timeout = await stuck;
  assert.ok(timeout instanceof TimeoutError);
  assert.match(
    timeout.message,
    /^Command to 127\.0\.0\.1:\d+ timed out after 500 ms; the connection was closed$/,
  );
  assert.ok(await behind instanceof ConnectionClosedError);
  assert.equal(client.connected, false);
  // The next command opens a new connection.
  assert.equal(await client.ping(), "PONG");
  assert.equal(server.commands.length, 2);
});

Deno.test("the default commandTimeout (5 s) fails a command a black-holed peer never answers", async () => {
  const timers = new FakeTimers();
  const silent = new Set<number>();
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    if (command[0] === "GET") silent.add(connection.index);
    if (!silent.has(connection.index)) await connection.write("+PONG\r\n");
  }));
  await using client = await connect({
    host: server.hostname,
    port: server.port,
    now: timers.now,
    timers,
  });
  const stuck = client.get("q").catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(4999);
  assert.equal(client.connected, true);
  timers.advance(1);
  assert.match(String(await stuck), /timed out after 5000 ms/);
  assert.equal(await client.ping(), "PONG");
});

Deno.test("a blocking command gets its own timeout plus commandTimeout, on a connection of its own", async () => {
  const timers = new FakeTimers();
  const silent = new Set<number>();
  await using server = startFakeServer(withHandshake(async (command, connection) => {
    if (/^(BLPOP|XREAD|WAIT)$/i.test(String(command[0]))) silent.add(connection.index);
    if (!silent.has(connection.index)) await connection.write("+PONG\r\n");
  }));
  const options = {
    host: server.hostname,
    port: server.port,
    commandTimeout: 500,
    now: timers.now,
    timers,
  };
  await using client = await connect(options);
  // BLPOP q 2: 2 s of its own, plus the 500 ms margin; a PING sent meanwhile is not behind it.
  const blocked = client.send(["blpop", "q", "2"]).catch((error) => error);
  const behind = client.ping().catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(2499);
  assert.equal(client.connected, true);
  timers.advance(1);
  assert.match(String(await blocked), /timed out after 2500 ms/);
  assert.equal(await behind, "PONG");
  // XREAD … BLOCK 1000 (a byte-named command, milliseconds): 1500 ms in all.
  const enc = new TextEncoder();
  const read = client.send([enc.encode("XREAD"), "BLOCK", "1000", "STREAMS", "s", "$"]).catch((e) =>
    e
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(1499);
  assert.equal(client.connected, true);
  timers.advance(1);
  assert.match(String(await read), /timed out after 1500 ms/);
  // BLPOP q 0 blocks until served: no timeout at all.
  const forever = client.send(["BLPOP", "q", "0"]).catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(3_600_000);
  assert.equal(client.connected, true);
  // close() fails it at once: it is answered only when served.
  await client.close();
  assert.ok(await forever instanceof ConnectionClosedError);
});

Deno.test("connectTimeout bounds the socket and the handshake", async () => {
  await using server = startFakeServer(() => {});
  const timers = new FakeTimers();
  const connecting = connect({
    host: server.hostname,
    port: server.port,
    connectTimeout: 1000,
    timers,
    now: timers.now,
  }).catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(1000);
  const error = await connecting;
  assert.ok(error instanceof TimeoutError);
  assert.match(
    error.message,
    /^Cannot connect to 127\.0\.0\.1:\d+: no ready connection after 1000 ms$/,
  );
});

Deno.test("connecting to a closed port fails at connect with a connection error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    connect({ host: "127.0.0.1", port }),
    (error: unknown) =>
      error instanceof ConnectionClosedError &&
      error.message.startsWith(`Cannot connect to 127.0.0.1:${port}`),
  );
});

Deno.test("close waits for commands in flight, then later commands fail", async () => {
  await using redis = await startRedisServer();
  const client = await connect({ host: redis.hostname, port: redis.port });
  const inFlight = client.send(["DEBUG", "SLEEP", "0"]).catch((e) => e);
  const slow = client.eval("return 1");
  await client.close();
  assert.equal(await slow, 1);
  await inFlight;
  await assert.rejects(client.ping(), ConnectionClosedError);
  await client.close();
});

Deno.test("a lazily created client connects on its first command, in call order", async () => {
  await using redis = await startRedisServer();
  await using client = new RedisClient({ host: redis.hostname, port: redis.port });
  assert.equal(client.connected, false);
  const replies = await Promise.all([client.set("k", "1"), client.incr("k"), client.get("k")]);
  assert.deepEqual(replies, ["OK", 2, "2"]);
  assert.equal(client.connected, true);
  assert.match(
    Deno.inspect(client),
    /RedisClient \{ 127\.0\.0\.1:\d+, tls: false, resp3, connected \}/,
  );
});

Deno.test("binary values round-trip with getBuffer and send({ bytes })", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  await client.set(bytes.subarray(0, 4), bytes);
  assert.deepEqual(await client.getBuffer(bytes.subarray(0, 4)), bytes);
  assert.deepEqual(await client.send(["GET", bytes.subarray(0, 4)], { bytes: true }), bytes);
  const [asText, asBytes] = await client.pipeline()
    .get(bytes.subarray(0, 4))
    .getBuffer(bytes.subarray(0, 4))
    .exec<[string, Uint8Array]>();
  assert.equal(typeof asText, "string");
  assert.deepEqual(asBytes, bytes);
  const value: RespValue = await client.send(["ECHO", "é"]);
  assert.equal(value, "é");
});

Deno.test("a command queued behind one that blocks until served regains its timeout once that one is answered", async () => {
  const timers = new FakeTimers();
  let release: (() => Promise<void>) | undefined;
  await using server = startFakeServer(withHandshake((command, connection) => {
    if (command[0] === "BLPOP") release = () => connection.write("*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    // GET: never answered
  }));
  await using client = await connect({
    host: server.hostname,
    port: server.port,
    commandTimeout: 500,
    now: timers.now,
    timers,
  });
  // In a pipeline, a blocking command stays on the client's connection, and what follows waits.
  const popped = client.pipeline().send(["BLPOP", "q", "0"]).exec();
  const behind = client.get("k").catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  timers.advance(3_600_000);
  assert.equal(client.connected, true, "nothing times out while BLPOP blocks");
  await release!();
  assert.deepEqual(await popped, [["q", "v"]]);
  timers.advance(499);
  assert.equal(client.connected, true);
  timers.advance(1);
  assert.ok(await behind instanceof TimeoutError);
  assert.equal(client.connected, false);
});
