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

const setCommands: CommandArg[][] = Array.from(
  { length: COUNT },
  (_, i) => ["SET", `key:${i}`, `value-${String(i).padStart(10, "0")}`],
);

function decodeAll(chunks: Uint8Array[], bytes: boolean): number {
  const decoder = new RespDecoder();
  let count = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.read({ bytes }) !== undefined) count++;
  }
  if (count !== COUNT) throw new Error(`Decoded ${count} replies, expected ${COUNT}`);
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
