import assert from "node:assert/strict";
import { RespDecoder } from "../src/resp/decoder.ts";
import { encodeCommand, encodeCommands } from "../src/resp/encoder.ts";
import type { CommandArg, RespValue } from "../src/resp/types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A small seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Encodes each argument as a bulk string the simple way, to compare against. */
function reference(args: readonly CommandArg[]): Uint8Array {
  const parts: Uint8Array[] = [bytes(`*${args.length}\r\n`)];
  for (const arg of args) {
    const payload = arg instanceof Uint8Array ? arg : bytes(String(arg));
    parts.push(bytes(`$${payload.length}\r\n`), payload, bytes("\r\n"));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function decodeAll(data: Uint8Array): RespValue[] {
  const resp = new RespDecoder();
  resp.push(data);
  const values: RespValue[] = [];
  for (
    let value = resp.read({ bytes: true });
    value !== undefined;
    value = resp.read({ bytes: true })
  ) {
    values.push(value);
  }
  return values;
}

Deno.test("encodeCommand writes a RESP array of bulk strings", () => {
  assert.equal(
    decoder.decode(encodeCommand(["SET", "key", "value"])),
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
  );
  assert.equal(decoder.decode(encodeCommand(["PING"])), "*1\r\n$4\r\nPING\r\n");
  assert.equal(
    decoder.decode(encodeCommand(["SET", "", ""])),
    "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n",
  );
});

Deno.test("encodeCommand returns a buffer of exactly the command's size", () => {
  const out = encodeCommand(["SET", "k", "v"]);
  assert.equal(out.byteOffset, 0);
  assert.equal(out.buffer.byteLength, out.length);
});

Deno.test("encodeCommand writes strings as UTF-8 like TextEncoder", () => {
  assert.deepStrictEqual(
    encodeCommand(["SET", "clé", "😀✓", "\u0000\u007f\u0080\u07ff\u0800\uffff"]),
    reference(["SET", "clé", "😀✓", "\u0000\u007f\u0080\u07ff\u0800\uffff"]),
  );
  // Lone surrogates become U+FFFD, as TextEncoder writes them.
  const lone = ["\ud800", "a\udc00b", "\ud83d", "x\ud83d", "\udc00\ud800", "\ud83d\ud83d\ude00"];
  assert.deepStrictEqual(encodeCommand(lone), reference(lone));
  assert.deepStrictEqual(
    encodeCommand(["a".repeat(300) + "\ud800"]),
    reference(["a".repeat(300) + "\ud800"]),
  );
});

Deno.test("encodeCommand matches TextEncoder on random strings, short and long", () => {
  const random = prng(42);
  const units = [
    0x41,
    0x7f,
    0x80,
    0x7ff,
    0x800,
    0xd7ff,
    0xd800,
    0xdbff,
    0xdc00,
    0xdfff,
    0xe000,
    0xffff,
  ];
  for (let round = 0; round < 300; round++) {
    const length = Math.floor(random() * (round % 2 === 0 ? 40 : 1000));
    let text = "";
    for (let i = 0; i < length; i++) {
      const base = units[Math.floor(random() * units.length)]!;
      text += String.fromCharCode(random() < 0.5 ? base : Math.floor(random() * 0x10000));
    }
    assert.deepStrictEqual(
      encodeCommand(["SET", text]),
      reference(["SET", text]),
      `round ${round}`,
    );
  }
});

Deno.test("encodeCommand writes numbers in decimal", () => {
  assert.equal(
    decoder.decode(
      encodeCommand(["ZADD", "z", 1.5, "a", -3, "b", 0, "c", 1e21, "d", 123456789012]),
    ),
    decoder.decode(
      reference(["ZADD", "z", "1.5", "a", "-3", "b", "0", "c", "1e+21", "d", "123456789012"]),
    ),
  );
  assert.equal(
    decoder.decode(encodeCommand(["ZADD", "z", Infinity, "a", -Infinity, "b", -0])),
    "*7\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\ninf\r\n$1\r\na\r\n$4\r\n-inf\r\n$1\r\nb\r\n$1\r\n0\r\n",
  );
});

Deno.test("encodeCommand writes bytes as they are, all 256 byte values included", () => {
  const payload = new Uint8Array(256);
  for (let i = 0; i < 256; i++) payload[i] = i;
  const out = encodeCommand(["SET", payload, payload.subarray(10, 20)]);
  assert.deepStrictEqual(out, reference(["SET", payload, payload.subarray(10, 20)]));
  assert.deepStrictEqual(decodeAll(out), [[bytes("SET"), payload, payload.slice(10, 20)]]);
});

Deno.test("encodeCommand writes multi-digit lengths", () => {
  const big = "x".repeat(1_000_000);
  const out = encodeCommand(["SET", "k", big]);
  assert.equal(decoder.decode(out.subarray(0, 30)), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n");
  assert.equal(out.length, 30 + 1_000_000 + 2);
  const many = Array.from({ length: 12_345 }, (_, i) => String(i));
  assert.deepStrictEqual(encodeCommand(many), reference(many));
});

Deno.test("encodeCommand rejects bad commands with clear errors", () => {
  assert.throws(
    () => encodeCommand([]),
    new TypeError(
      "Cannot encode command: expected a non-empty array of arguments, got an empty array",
    ),
  );
  assert.throws(
    () => encodeCommand(["SET", "k", undefined as unknown as string]),
    new TypeError(
      "Cannot encode command: argument 2 must be a string, a number or a Uint8Array, got undefined",
    ),
  );
  assert.throws(
    () => encodeCommand(["SET", null as unknown as string]),
    /argument 1 must be a string, a number or a Uint8Array, got null/,
  );
  assert.throws(
    () => encodeCommand(["SET", {} as unknown as string]),
    /argument 1 must be a string, a number or a Uint8Array, got an object/,
  );
  assert.throws(
    () => encodeCommand(["SET", 1n as unknown as string]),
    /argument 1 must be a string, a number or a Uint8Array, got 1n/,
  );
  assert.throws(
    () => encodeCommand(["INCRBYFLOAT", "k", NaN]),
    new RangeError("Cannot encode command: argument 2 is NaN, not a number"),
  );
  assert.throws(
    () => encodeCommand("PING" as unknown as string[]),
    /expected a non-empty array of arguments, got 'PING'/,
  );
});

Deno.test("encodeCommands writes 10,000 pipelined commands into one buffer", () => {
  const commands = Array.from(
    { length: 10_000 },
    (_, i): CommandArg[] => ["SET", `key:${i}`, i % 3 === 0 ? i : `välue-${i}`],
  );
  const out = encodeCommands(commands);
  assert.equal(out.buffer.byteLength, out.length, "one exactly sized buffer");
  assert.deepStrictEqual(out, concat(commands.map(reference)));
  const decoded = decodeAll(out);
  assert.equal(decoded.length, 10_000);
  assert.deepStrictEqual(decoded[9_999], [bytes("SET"), bytes("key:9999"), bytes("9999")]);
  assert.deepStrictEqual(decoded[10], [bytes("SET"), bytes("key:10"), bytes("välue-10")]);
});

Deno.test("encodeCommands handles an empty pipeline and names the bad command", () => {
  assert.equal(encodeCommands([]).length, 0);
  assert.throws(
    () => encodeCommands([["PING"], []]),
    /^TypeError: Cannot encode command 1: expected a non-empty array/,
  );
  assert.throws(
    () => encodeCommands([["PING"], ["PING"], ["SET", "k", NaN]]),
    new RangeError("Cannot encode command 2: argument 2 is NaN, not a number"),
  );
});
