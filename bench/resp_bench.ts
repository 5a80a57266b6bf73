/**
 * Micro-benchmarks of the RESP encoder and decoder:
 * `deno bench bench/resp_bench.ts`.
 *
 * @module
 */

import { RespDecoder } from "../src/resp/decoder.ts";
import { encodeCommand, encodeCommands } from "../src/resp/encoder.ts";
import type { CommandArg } from "../src/resp/types.ts";

const COUNT = 10_000;
const encoder = new TextEncoder();

// 10,000 GET replies with 16-byte values, as one pipelined read would see them.
const getReplies = encoder.encode(
  Array.from({ length: COUNT }, (_, i) => `$16\r\nvalue-${String(i).padStart(10, "0")}\r\n`).join(
    "",
  ),
);
// The same bytes as a socket hands them over: 16 KiB reads.
const getReplyChunks: Uint8Array[] = [];
for (let at = 0; at < getReplies.length; at += 16 * 1024) {
  getReplyChunks.push(getReplies.subarray(at, at + 16 * 1024));
}
// 10,000 GET replies with 1 KiB values.
const largeValue = "v".repeat(1024);
const largeGetReplies = encoder.encode(`$1024\r\n${largeValue}\r\n`.repeat(COUNT));

// What one pipelined batch of the throughput benchmark (depth 128) reads and writes.
const okReplies128 = encoder.encode("+OK\r\n".repeat(128));
const getReplies128 = encoder.encode(`$16\r\n${"x".repeat(16)}\r\n`.repeat(128));
const getCommands128: CommandArg[][] = Array.from(
  { length: 128 },
  () => ["GET", "key:__rand_int__"],
);
const setCommands128: CommandArg[][] = Array.from(
  { length: 128 },
  () => ["SET", "key:__rand_int__", "x".repeat(16)],
);

const setCommands: CommandArg[][] = Array.from(
  { length: COUNT },
  (_, i) => ["SET", `key:${i}`, `value-${String(i).padStart(10, "0")}`],
);

function decodeAll(chunks: Uint8Array[], bytes: boolean, expected = COUNT): number {
  const decoder = new RespDecoder();
  let count = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.read({ bytes }) !== undefined) count++;
  }
  if (count !== expected) throw new Error(`Decoded ${count} replies, expected ${expected}`);
  return count;
}

Deno.bench("decode 10,000 GET replies (16 B values, one buffer)", { group: "decode" }, () => {
  decodeAll([getReplies], false);
});

Deno.bench("decode 10,000 GET replies (16 B values, 16 KiB chunks)", { group: "decode" }, () => {
  decodeAll(getReplyChunks, false);
});

Deno.bench("decode 10,000 GET replies (16 B values, bytes: true)", { group: "decode" }, () => {
  decodeAll([getReplies], true);
});

Deno.bench("decode 10,000 GET replies (1 KiB values)", { group: "decode" }, () => {
  decodeAll([largeGetReplies], false);
});

Deno.bench("encode 10,000 SET commands (encodeCommands)", { group: "encode" }, () => {
  encodeCommands(setCommands);
});

Deno.bench("encode 10,000 SET commands (encodeCommand each)", { group: "encode" }, () => {
  for (const command of setCommands) encodeCommand(command);
});

Deno.bench("decode a batch of 128 GET replies (16 B values)", { group: "batch of 128" }, () => {
  decodeAll([getReplies128], false, 128);
});

Deno.bench("decode a batch of 128 +OK replies", { group: "batch of 128" }, () => {
  decodeAll([okReplies128], false, 128);
});

Deno.bench("encode a batch of 128 GET commands", { group: "batch of 128" }, () => {
  encodeCommands(getCommands128);
});

Deno.bench("encode a batch of 128 SET commands (16 B values)", { group: "batch of 128" }, () => {
  encodeCommands(setCommands128);
});
