/**
 * Peers that misbehave on purpose, at the worst moment: a server that hangs
 * up in the same read as its handshake reply, or sends a frame nobody asked
 * for; handshake replies that are not what the command answers; commands
 * that would shift every later reply (refused in any spelling, also against
 * a real server); a byte-named MULTI; replies built to exhaust memory, alone
 * or together in one pipeline. Each must leave the client usable: the next
 * command opens a new connection with a fresh token.
 */

import assert from "node:assert/strict";
import { connect, RedisClient as BaseRedisClient } from "../src/client.ts";
import { ConnectionClosedError, ProtocolError } from "../src/errors.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { handshakeReply, type Script, scriptedTransport } from "./_helpers/scripted_transport.ts";

const encoder = new TextEncoder();

/** A provider that counts its calls and hands out `token-1`, `token-2`, … */
function countingAuth() {
  let minted = 0;
  return {
    calls: 0,
    credentials() {
      this.calls++;
      return Promise.resolve({ username: "iam-user-01", password: `token-${++minted}` });
    },
  };
}

/** Answers the handshake and PING on every connection after the first; the first runs `first`. */
function firstConnection(first: Script): Script {
  return (command, peer) => {
    if (peer.index === 0) return first(command, peer);
    const handshake = handshakeReply(command);
    peer.reply(handshake ?? "+PONG\r\n");
  };
}

function client(transport: ReturnType<typeof scriptedTransport>, extra = {}) {
  return new BaseRedisClient({
    host: "127.0.0.1",
    transport,
    reconnect: { minDelay: 0 },
    ...extra,
  });
}

Deno.test("a server that hangs up in the same read as its HELLO reply: the next command reconnects", async () => {
  const transport = scriptedTransport(firstConnection((command, peer) => {
    peer.reply(handshakeReply(command)!);
    peer.end(); // FIN right behind the reply, before the client saw the handshake succeed
  }));
  const auth = countingAuth();
  await using redis = client(transport, { auth });
  // On its own connection the first command still succeeds: the dropped one counts as failed.
  assert.equal(await redis.ping(), "PONG");
  assert.equal(transport.peers.length, 2);
  assert.equal(auth.calls, 2, "a token valid now for the new connection");
  assert.deepEqual(transport.peers[1]!.commands.at(-1), ["PING"]);
});

Deno.test("connect() to a server that hangs up right after HELLO fails, and the client recovers", async () => {
  const transport = scriptedTransport(firstConnection((command, peer) => {
    peer.reply(handshakeReply(command)!);
    peer.end();
  }));
  await using redis = client(transport);
  await assert.rejects(redis.open(), ConnectionClosedError);
  assert.equal(redis.connected, false);
  assert.equal(await redis.ping(), "PONG");
});

Deno.test("a frame nobody asked for right behind the HELLO reply fails the connect with a ProtocolError; the next command reconnects", async () => {
  const transport = scriptedTransport(firstConnection((command, peer) => {
    peer.reply(handshakeReply(command)! + "+SURPRISE\r\n");
  }));
  await using redis = client(transport);
  await assert.rejects(redis.open(), (error) => {
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /while no command was waiting/);
    return true;
  });
  assert.equal(await redis.ping(), "PONG");
  assert.equal(transport.peers.length, 2);
});

Deno.test("the cluster client's node connections recover from a server that hangs up right after HELLO", async () => {
  const { ClusterClient } = await import("../src/cluster.ts");
  const slots = "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n";
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined && command[0] !== "CLUSTER") {
      peer.reply(handshake);
      if (peer.index === 0) peer.end(); // the first connection hangs up right after HELLO
      return;
    }
    if (command[0] === "CLUSTER" && command[1] === "SHARDS") {
      peer.reply("-ERR unknown subcommand\r\n");
    } else if (command[0] === "CLUSTER") peer.reply(slots);
    else peer.reply("$5\r\nvalue\r\n");
  });
  await using cluster = new ClusterClient({ host: "127.0.0.1", port: 6379, transport });
  // The node's first connection failed: the first command fails or gets through on a new one.
  const first = await cluster.get("a").catch((error) => error);
  assert.ok(first === "value" || first instanceof ConnectionClosedError, String(first));
  assert.equal(await cluster.get("b"), "value");
  assert.equal(await cluster.get("c"), "value");
});

for (
  const [reply, shape] of [
    ["+OK\r\n", "a string reply"],
    ["_\r\n", "a null reply"],
    [":3\r\n", "a number reply"],
    ["*0\r\n", "an empty array reply"],
    ["%1\r\n+proto\r\n:2\r\n", "a map reply"],
    ["$5\r\nhello\r\n", "a string reply"],
  ] as const
) {
  Deno.test(`HELLO 3 answered with ${JSON.stringify(reply)} fails connect() with a ProtocolError`, async () => {
    const transport = scriptedTransport((_command, peer) => peer.reply(reply));
    await assert.rejects(
      connect({ host: "127.0.0.1", transport, auth: { username: "u", password: "p" } }),
      (error) => {
        assert.ok(error instanceof ProtocolError, String(error));
        assert.equal(
          error.message,
          `Cannot connect to '127.0.0.1:6379': the server answered HELLO 3 with ${shape}, not a map with proto 3`,
        );
        return true;
      },
    );
    assert.ok(transport.peers[0]!.ended, "the connection was closed");
  });
}

Deno.test("AUTH (RESP2) answered with anything but OK fails connect() with a ProtocolError", async () => {
  const transport = scriptedTransport((_command, peer) => peer.reply(":1\r\n"));
  await assert.rejects(
    connect({
      host: "127.0.0.1",
      transport,
      protocol: 2,
      auth: { username: "u", password: "p" },
    }),
    {
      name: "ProtocolError",
      message:
        "Cannot connect to '127.0.0.1:6379': the server answered AUTH with a number reply, not OK",
    },
  );
});

const REFUSED: [string, (string | Uint8Array)[], RegExp][] = [
  ["SUBSCRIBE", ["SUBSCRIBE", "news"], /client\.subscribe\(\) or client\.psubscribe\(\)/],
  ["psubscribe", ["psubscribe", "n*"], /client\.subscribe\(\) or client\.psubscribe\(\)/],
  ["SSUBSCRIBE", ["SSUBSCRIBE", "s"], /client\.subscribe\(\)/],
  ["UNSUBSCRIBE", ["UNSUBSCRIBE"], /unsubscribe\(\) on the subscription/],
  ["MONITOR", ["MONITOR"], /stream of events/],
  ["SYNC", ["SYNC"], /stream of events/],
  ["PSYNC", ["PSYNC", "?", "-1"], /stream of events/],
  ["RESET", ["RESET"], /default user/],
  ["CLIENT REPLY OFF", ["CLIENT", "REPLY", "OFF"], /stop answering/],
  ["client reply skip", ["client", "reply", "skip"], /stop answering/],
  ["MONITOR as bytes", [encoder.encode("monitor")], /stream of events/],
  ["HELLO 2", ["HELLO", "2"], /'protocol' option/],
  ["hello 3 with AUTH", ["hello", "3", "AUTH", "u", "p"], /'protocol' option/],
  ["REPLCONF ACK", ["REPLCONF", "ACK", "0"], /for replicas/],
  ["replconf getack", ["replconf", "getack", "*"], /for replicas/],
];

Deno.test("commands that would shift every later reply are refused by send(), pipelines and transactions", async () => {
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? (command[0] === "GET" ? "$1\r\na\r\n" : "+OK\r\n"));
  });
  await using redis = await connect({ host: "127.0.0.1", transport });
  const before = transport.peers[0]!.commands.length;
  for (const [name, args, hint] of REFUSED) {
    for (
      const [where, run] of [
        ["send()", () => redis.send(args as string[])],
        ["a pipeline", () => redis.pipeline().get("a").send(args as string[]).exec()],
        ["a transaction", () => redis.multi().send(args as string[]).exec()],
      ] as const
    ) {
      await assert.rejects(run(), (error) => {
        assert.ok(error instanceof TypeError, `${name} in ${where}: ${error}`);
        assert.match(error.message, /^Cannot send .* on this connection: /, `${name} in ${where}`);
        assert.match(error.message, hint, `${name} in ${where}`);
        return true;
      });
    }
  }
  assert.equal(transport.peers[0]!.commands.length, before, "nothing was written");
  // CLIENT REPLY ON, CLIENT ID and the like are fine; the replies still line up.
  assert.equal(await redis.send(["CLIENT", "REPLY", "ON"]), "OK");
  assert.equal(await redis.get("a"), "a");
});

Deno.test("a MULTI sent with a byte-named command holds a due re-auth back until EXEC", async () => {
  const timers = new FakeTimers();
  const transport = scriptedTransport((command, peer) => {
    const name = command[0]!.toUpperCase();
    if (name === "HELLO") return peer.reply(handshakeReply(command)!);
    if (name === "AUTH") return peer.reply("+OK\r\n");
    if (name === "MULTI") return peer.reply("+OK\r\n");
    if (name === "EXEC") return peer.reply("*1\r\n:1\r\n");
    peer.reply("+QUEUED\r\n");
  });
  await using redis = await connect({
    host: "127.0.0.1",
    transport,
    auth: countingAuth(),
    reauthAfter: 60_000,
    now: timers.now,
    timers,
  });
  const bytes = (text: string) => encoder.encode(text);
  assert.equal(await redis.send([bytes("multi")]), "OK");
  timers.advance(60_000); // due now: the AUTH must wait
  assert.equal(await redis.send([bytes("INCR"), "n"]), "QUEUED");
  for (let i = 0; i < 20; i++) await Promise.resolve();
  assert.deepEqual(await redis.send([bytes("exec")]), [1]);
  await redis.ping().catch(() => {});
  const names = transport.peers[0]!.commands.map((command) => command[0]!.toUpperCase());
  assert.deepEqual(names.slice(names.indexOf("MULTI")), ["MULTI", "INCR", "EXEC", "AUTH", "PING"]);
});

Deno.test("a reply built to exhaust memory fails its command with a ProtocolError; the next command reconnects", async () => {
  const transport = scriptedTransport(firstConnection((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    // Announces 4 billion elements, then sends tiny ones (maps, the costliest) until stopped.
    peer.reply("*4294967295\r\n");
    const chunk = "%0\r\n".repeat(16 * 1024);
    for (let i = 0; i < 64 && !peer.ended; i++) peer.reply(chunk);
  }));
  await using redis = client(transport, { replyLimits: { maxReplyBytes: 1024 * 1024 } });
  const error = await redis.get("k").catch((e) => e);
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(error.message, /maxReplyBytes \(1048576 bytes, estimated\)/);
  assert.match(error.message, /the connection to 127\.0\.0\.1:6379 was closed$/);
  assert.ok(transport.peers[0]!.ended, "the connection was closed");
  assert.equal(await redis.ping(), "PONG");
  assert.throws(() => client(transport, { replyLimits: { maxReplyElements: 0 } }), {
    name: "RangeError",
    message: /^Cannot connect: 'replyLimits' is out of range: /,
  });
});

Deno.test("a pipeline whose replies are each under maxReplyBytes but together over it fails with a ProtocolError; the next command reconnects", async () => {
  const limit = 1024 * 1024;
  // Empty maps cost the most decoded memory per wire byte: each reply stays just under the limit.
  const maps = Math.floor((limit - 64 * 1024) / 224);
  const bigReply = `*${maps}\r\n` + "%0\r\n".repeat(maps);
  const transport = scriptedTransport(firstConnection((command, peer) => {
    peer.reply(handshakeReply(command) ?? bigReply);
  }));
  await using redis = client(transport, { replyLimits: { maxReplyBytes: limit } });
  // One such reply is fine, alone or as a pipeline's only reply.
  assert.equal((await redis.send(["GET", "one"]) as unknown[]).length, maps);
  const [only] = await redis.pipeline().send(["GET", "one"]).exec() as unknown[][];
  assert.equal(only!.length, maps);
  const pipeline = redis.pipeline();
  for (let i = 0; i < 24; i++) pipeline.send(["GET", `k${i}`]);
  const error = await pipeline.exec().catch((e) => e);
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(
    error.message,
    /the replies of one pipeline exceed maxReplyBytes \(1048576 bytes, estimated, together\)/,
  );
  assert.match(error.message, /the connection to 127\.0\.0\.1:6379 was closed$/);
  assert.ok(transport.peers[0]!.ended, "the connection was closed");
  assert.equal(await redis.ping(), "PONG");
});

Deno.test("a real server: refused commands are refused in any spelling (case, bytes) by send(), pipelines and transactions, and replies stay in step", async () => {
  await using server = await startRedisServer();
  await using redis = await connect({ host: "127.0.0.1", port: server.port });
  const bytes = (text: string) => encoder.encode(text);
  const spellings: (string | Uint8Array)[][] = [
    ["sUbScRiBe", "x"],
    [bytes("subscribe"), "x"],
    [bytes("RESET")],
    ["reset"],
    ["Monitor"],
    ["client", "reply", "off"],
    ["CLIENT", bytes("Reply"), bytes("SKIP")],
    [bytes("client"), "REPLY", "Off"],
    ["psync", "?", "-1"],
    ["SYNC"],
    ["ssubscribe", "x"],
    ["punsubscribe"],
    ["Hello", "2"],
    [bytes("replconf"), "ACK", "0"],
  ];
  for (const args of spellings) {
    const shown = JSON.stringify(args.map(String));
    await assert.rejects(redis.send(args), TypeError, shown);
    await assert.rejects(redis.pipeline().send(args).get("k").exec(), TypeError, shown);
    await assert.rejects(redis.multi().send(args).exec(), TypeError, shown);
  }
  assert.equal(await redis.ping(), "PONG");
  await redis.set("public", "public-value");
  await redis.set("secret", "secret-value");
  assert.deepEqual(await Promise.all([redis.get("public"), redis.get("secret")]), [
    "public-value",
    "secret-value",
  ]);
});

Deno.test("a real server: HELLO 2 is refused, so pub/sub frames and PING keep their own replies", async () => {
  await using server = await startRedisServer();
  await using redis = await connect({ host: "127.0.0.1", port: server.port });
  await assert.rejects(redis.send(["HELLO", "2"]), (error) => {
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /^Cannot send HELLO with arguments on this connection: /);
    return true;
  });
  const subscribing = redis.subscribe(["a", "b"], () => {});
  assert.equal(await redis.send(["PING"]), "PONG");
  await using _subscription = await subscribing;
  assert.equal(await redis.ping(), "PONG");
});

Deno.test("a real server: REPLCONF ACK, which the server never answers, is refused, so later GETs get their own values", async () => {
  await using server = await startRedisServer();
  await using redis = await connect({ host: "127.0.0.1", port: server.port });
  await redis.set("public", "public-value");
  await redis.set("secret", "secret-value");
  const replconf = redis.send(["REPLCONF", "ACK", "0"]).catch((error) => error);
  const values = Promise.all([redis.get("public"), redis.get("secret")]).catch((error) => error);
  const error = await replconf;
  assert.ok(error instanceof TypeError, `REPLCONF got ${JSON.stringify(error)}`);
  assert.match(error.message, /^Cannot send REPLCONF on this connection: /);
  assert.deepEqual(await values, ["public-value", "secret-value"]);
});

Deno.test("a real server: commands queued behind QUIT fail with ConnectionClosedError, none is resent, and the next command reconnects", async () => {
  await using server = await startRedisServer();
  await using redis = await connect({ host: "127.0.0.1", port: server.port });
  await redis.set("k", "v");
  await redis.set("n", "0");
  const quit = redis.send(["QUIT"]);
  const behind = redis.incr("n").catch((error) => error);
  assert.equal(await quit, "OK");
  const error = await behind;
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.equal(await redis.get("n"), "0", "the INCR behind QUIT was not resent");
  assert.equal(await redis.get("k"), "v");
});
