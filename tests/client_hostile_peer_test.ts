/**
 * Peers that misbehave on purpose, at the worst moment: a server that hangs
 * up in the same read as its handshake reply, or sends a frame nobody asked
 * for; handshake replies that are not what the command answers; commands
 * that would shift every later reply; a byte-named MULTI. Each must leave the
 * client usable: the next command opens a new connection with a fresh token.
 */

import assert from "node:assert/strict";
import { BaseRedisClient, connect } from "../src/client.ts";
import { ConnectionClosedError, ProtocolError } from "../src/errors.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
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
