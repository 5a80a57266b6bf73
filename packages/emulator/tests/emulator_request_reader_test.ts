/**
 * The gateway reads requests as Redis 7 reads them: the same protocol error
 * for the same bytes (checked against a real `redis-server` too), inline
 * commands split like `sdssplitargs`, commands it does not act on passed on
 * byte for byte whatever the chunking, and a read costs its new bytes only.
 */

import assert from "node:assert/strict";
import { RequestReader, splitArgs } from "../src/request_reader.ts";
import { encodeCommand } from "../../../src/resp/encoder.ts";
import { startRedisServer } from "../../../tests/_helpers/redis_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INSPECTED = new Set(["AUTH", "HELLO", "MULTI"]);

/** What a reader yields for the bytes, pushed in one piece. */
function read(
  bytes: string | Uint8Array,
  authenticated: boolean,
  serverless = false,
): ReturnType<RequestReader["next"]>[] {
  const reader = new RequestReader({ inspected: INSPECTED, serverless });
  reader.push(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  const out = [];
  for (let request = reader.next(authenticated); request; request = reader.next(authenticated)) {
    out.push(request.kind === "bytes" ? { ...request, bytes: request.bytes.slice() } : request);
  }
  return out;
}

/** Frames and the protocol error a real Redis 7.0 answers them with (measured with redis-server 7.0.15). */
const PROTOCOL_ERRORS: [string, string][] = [
  ["*4294967295\r\n", "invalid multibulk length"],
  ["*01\r\n", "invalid multibulk length"],
  ["*+1\r\n", "invalid multibulk length"],
  ["*1\r\n$99999999999\r\n", "invalid bulk length"],
  ["*1\r\n$-0\r\n", "invalid bulk length"],
  ["*1\r\n$-1\r\n", "invalid bulk length"],
  ["*1\r\n$04\r\nPING\r\n", "invalid bulk length"],
  ["*1\r\n*\r\n", "expected '$', got '*'"],
  ["*2\r\n$3\r\nGET\r\n:1\r\n", "expected '$', got ':'"],
  ['ECHO "a b\r\n', "unbalanced quotes in request"],
  ["ECHO 'a'b\r\n", "unbalanced quotes in request"],
];

Deno.test("before authentication, malformed frames get Redis' own protocol errors", () => {
  for (const [frame, message] of PROTOCOL_ERRORS) {
    assert.deepEqual(read(frame, false), [{ kind: "error", message }], JSON.stringify(frame));
  }
  assert.deepEqual(read("*11\r\n", false), [{
    kind: "error",
    message: "unauthenticated multibulk length",
  }]);
  assert.deepEqual(read("*1\r\n$16385\r\n", false), [{
    kind: "error",
    message: "unauthenticated bulk length",
  }]);
  // Ten arguments of 16 KiB are fine before authentication.
  const ten = encodeCommand(Array.from({ length: 10 }, () => "x".repeat(16 * 1024)));
  assert.equal(read(ten, false)[0]?.kind, "command");
});

Deno.test("the protocol errors are the ones the installed redis-server answers", async () => {
  await using redis = await startRedisServer({ args: ["--requirepass", "secret"] });
  for (const [frame, message] of PROTOCOL_ERRORS) {
    const conn = await Deno.connect({ hostname: redis.hostname, port: redis.port });
    try {
      await conn.write(encoder.encode(frame));
      let answer = "";
      const buffer = new Uint8Array(1024);
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        answer += decoder.decode(buffer.subarray(0, n));
      }
      assert.equal(answer, `-ERR Protocol error: ${message}\r\n`, JSON.stringify(frame));
    } finally {
      conn.close();
    }
  }
});

Deno.test("a request that does not start with '*' is an inline command, whatever its first byte", () => {
  const [first, second] = read("$-1\r\n+PING\r\n", false);
  assert.deepEqual(first?.kind === "command" && first.args.map((a) => decoder.decode(a)), ["$-1"]);
  assert.deepEqual(second?.kind === "command" && second.args.map((a) => decoder.decode(a)), [
    "+PING",
  ]);
  // An empty line and an empty or negative multibulk are no command, as in Redis.
  assert.deepEqual(read("\r\n*0\r\n*-5\r\n  \n", false), []);
});

Deno.test("inline commands are split as sdssplitargs splits them", () => {
  const words = (line: string) =>
    splitArgs(encoder.encode(line))?.map((word) => decoder.decode(word));
  assert.deepEqual(words("SET k \"a b\" 'c d'"), ["SET", "k", "a b", "c d"]);
  assert.deepEqual(words("ECHO \"\\x41\\n\\t\\\"\" 'it\\'s'"), ["ECHO", 'A\n\t"', "it's"]);
  assert.deepEqual(words("  GET\tk  "), ["GET", "k"]);
  assert.deepEqual(words("GET k\0ignored"), ["GET", "k"]);
  assert.deepEqual(words(""), []);
  assert.equal(words('"a"b'), undefined);
  assert.equal(words("'a"), undefined);
});

Deno.test("after authentication, commands the gateway does not act on pass byte for byte, whatever the chunking", () => {
  const commands: string[][] = [];
  for (let i = 0; i < 300; i++) {
    commands.push(
      i % 7 === 0 ? ["AUTH", "user", "t".repeat(i * 13)] : ["PING"],
      ["SET", `k${i}`, "v".repeat(i === 150 ? 100_000 : i * 31)],
      i % 11 === 0 ? ["multi"] : ["GET", `k${i}`],
    );
  }
  const input = concat(commands.map((command) => encodeCommand(command)));
  const inspected = commands.filter((c) => INSPECTED.has(c[0]!.toUpperCase())).length;
  for (const chunk of [3, 7, 300, 4096, 70_000, input.length]) {
    const reader = new RequestReader({ inspected: INSPECTED, serverless: false });
    const out: Uint8Array[] = [];
    let seen = 0;
    for (let at = 0; at < input.length; at += chunk) {
      reader.push(input.subarray(at, at + chunk));
      for (let request = reader.next(true); request; request = reader.next(true)) {
        assert.ok(request.kind === "bytes" || request.kind === "command", request.kind);
        if (request.kind === "bytes") {
          assert.equal(request.fault, undefined);
          out.push(request.bytes.slice());
        } else {
          out.push(request.raw);
          seen++;
        }
      }
    }
    assert.deepEqual(concat(out), input, `chunks of ${chunk}`);
    assert.equal(seen, inspected, `chunks of ${chunk}`);
  }
});

Deno.test("after authentication, a malformed frame is passed on for the backend to answer, and so is all that follows", () => {
  const reader = new RequestReader({ inspected: INSPECTED, serverless: false });
  reader.push(encoder.encode("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n*0\r\n"));
  const before = reader.next(true);
  assert.ok(before?.kind === "bytes");
  assert.equal(decoder.decode(before.bytes), "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n*0\r\n");
  assert.equal(before.fault, "expected '$', got '*'");
  reader.push(encoder.encode("*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\nt\r\n"));
  const after = reader.next(true);
  assert.ok(after?.kind === "bytes" && after.fault === undefined);
  // Even an AUTH: the backend closes the connection without running anything after the error.
  assert.equal(decoder.decode(after.bytes), "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\nt\r\n");
  assert.equal(reader.next(true), undefined);
});

Deno.test("a serverless cache: more than 3,999 arguments stand for a frame Redis refuses, multibulk or inline", () => {
  const many = (n: number) => ["DEL", ...Array.from({ length: n - 1 }, (_, i) => `k${i}`)];
  assert.equal(read(encodeCommand(many(3999)), true, true)[0]?.kind, "bytes");
  const [multibulk] = read(encodeCommand(many(4000)), true, true);
  assert.ok(multibulk?.kind === "bytes");
  assert.equal(decoder.decode(multibulk.bytes), "*4294967296\r\n");
  assert.equal(multibulk.fault, "4000 arguments in one request; serverless allows 3999");
  const [inline] = read(`${many(5001).join(" ")}\r\n`, true, true);
  assert.ok(inline?.kind === "bytes");
  assert.equal(decoder.decode(inline.bytes), "*4294967296\r\n");
  // Other caches take any number.
  assert.equal(read(encodeCommand(many(10_000)), true, false)[0]?.kind, "bytes");
});

Deno.test("a command the gateway holds whole is bounded by the query buffer limit", () => {
  const limit = 64 * 1024;
  const reader = new RequestReader({
    inspected: INSPECTED,
    serverless: false,
    queryBufferLimit: limit,
  });
  // An AUTH growing by 16 KiB arguments: held whole until it passes the limit.
  reader.push(encoder.encode(`*100\r\n$4\r\nAUTH\r\n`));
  const argument = encoder.encode(`$${16 * 1024}\r\n${"a".repeat(16 * 1024)}\r\n`);
  let outcome;
  let held = 0;
  while (outcome === undefined) {
    reader.push(argument);
    held += argument.length;
    outcome = reader.next(true);
  }
  assert.deepEqual(outcome, { kind: "overflow" });
  assert.ok(held > limit && held < limit + 2 * argument.length, `${held} bytes held`);
  // One argument announced past the limit ends it at once.
  const announced = new RequestReader({
    inspected: INSPECTED,
    serverless: false,
    queryBufferLimit: limit,
  });
  announced.push(encoder.encode(`*2\r\n$4\r\nAUTH\r\n$${limit}\r\n`));
  assert.deepEqual(announced.next(true), { kind: "overflow" });
});

Deno.test("a slow trickle costs each read its new bytes: lines are searched once", () => {
  const line = encoder.encode(`AUTH ${"a".repeat(60_000)}`);
  const started = performance.now();
  const reader = new RequestReader({ inspected: INSPECTED, serverless: false });
  for (let i = 0; i < line.length; i++) {
    reader.push(line.subarray(i, i + 1));
    assert.equal(reader.next(false), undefined);
  }
  reader.push(encoder.encode("\r\n"));
  assert.equal(reader.next(false)?.kind, "command");
  const ms = performance.now() - started;
  // Searching the whole line on every byte would take minutes.
  assert.ok(ms < 5_000, `${ms.toFixed(0)} ms for 60,000 one-byte reads`);
});

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
