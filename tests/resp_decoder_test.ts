import assert from "node:assert/strict";
import { ProtocolError, ReplyError } from "../src/errors.ts";
import { type DecoderLimits, type ReadOptions, RespDecoder } from "../src/resp/decoder.ts";
import { encodeCommand, encodeCommands } from "../src/resp/encoder.ts";
import { Push, type RespValue } from "../src/resp/types.ts";

const encoder = new TextEncoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A small seeded PRNG (mulberry32), so random splits are reproducible. */
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

/** Pushes each chunk and reads every frame that completes. */
function decodeChunks(
  chunks: Iterable<Uint8Array>,
  options?: ReadOptions,
  limits?: DecoderLimits,
): RespValue[] {
  const decoder = new RespDecoder(limits);
  const values: RespValue[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let value = decoder.read(options); value !== undefined; value = decoder.read(options)) {
      values.push(value);
    }
  }
  assert.equal(decoder.bufferedBytes, 0, "every byte was decoded");
  return values;
}

function* byteByByte(data: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < data.length; i++) yield data.subarray(i, i + 1);
}

function* randomSplits(data: Uint8Array, seed: number): Generator<Uint8Array> {
  const random = prng(seed);
  let at = 0;
  while (at < data.length) {
    const size = 1 + Math.floor(random() * Math.min(64, data.length));
    // Hand out a copy in a buffer the caller then scribbles over, like a socket read buffer.
    const chunk = data.slice(at, at + size);
    yield chunk;
    chunk.fill(0x58);
    at += size;
  }
}

/** Asserts that `data` decodes to `expected` whole, byte by byte and at random split points. */
function assertDecodes(
  data: Uint8Array | string,
  expected: RespValue[],
  options?: ReadOptions,
): void {
  const input = typeof data === "string" ? bytes(data) : data;
  assert.deepStrictEqual(decodeChunks([input], options), expected, "whole");
  assert.deepStrictEqual(decodeChunks(byteByByte(input), options), expected, "byte by byte");
  for (let seed = 1; seed <= 20; seed++) {
    assert.deepStrictEqual(
      decodeChunks(randomSplits(input, seed), options),
      expected,
      `random splits, seed ${seed}`,
    );
  }
}

/** Asserts that decoding `data` throws a ProtocolError whose message matches `pattern`. */
function assertProtocolError(
  data: Uint8Array | string,
  pattern: RegExp,
  limits?: DecoderLimits,
  options?: ReadOptions,
): void {
  const input = typeof data === "string" ? bytes(data) : data;
  for (const chunks of [[input], byteByByte(input)]) {
    assert.throws(
      () => decodeChunks(chunks, options, limits),
      (error: unknown) => {
        assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
        assert.match(error.message, pattern);
        assert.match(error.message, /^Cannot (decode RESP frame|buffer RESP data): /);
        return true;
      },
    );
  }
}

const FIXTURES: { name: string; data: string; expected: RespValue[] }[] = [
  { name: "simple string", data: "+OK\r\n+\r\n", expected: ["OK", ""] },
  { name: "simple string with UTF-8", data: "+héllo ✓\r\n", expected: ["héllo ✓"] },
  {
    name: "error",
    data: "-ERR unknown command 'FOO'\r\n-WRONGTYPE Operation against a key\r\n",
    expected: [
      new ReplyError("ERR unknown command 'FOO'"),
      new ReplyError("WRONGTYPE Operation against a key"),
    ],
  },
  {
    name: "integer",
    data: ":0\r\n:42\r\n:-7\r\n:+5\r\n:-0\r\n:9007199254740991\r\n:-9007199254740991\r\n",
    expected: [0, 42, -7, 5, 0, 9007199254740991, -9007199254740991],
  },
  {
    name: "integer beyond 2^53",
    data: ":9007199254740992\r\n:-9007199254740993\r\n:9223372036854775807\r\n" +
      ":-9223372036854775808\r\n:0000000000000000012\r\n",
    expected: [
      9007199254740992n,
      -9007199254740993n,
      9223372036854775807n,
      -9223372036854775808n,
      12,
    ],
  },
  {
    name: "bulk string",
    data: "$5\r\nhello\r\n$0\r\n\r\n$4\r\na\r\nb\r\n$6\r\nh\u00e9\u00e9o\r\n",
    expected: ["hello", "", "a\r\nb", "h\u00e9\u00e9o"],
  },
  {
    name: "bulk string keeps a leading byte order mark",
    data: "$6\r\n\ufeffabc\r\n",
    expected: ["\ufeffabc"],
  },
  {
    name: "long bulk string",
    data: `$1000\r\n${"é".repeat(500)}\r\n`,
    expected: ["é".repeat(500)],
  },
  { name: "RESP2 nulls", data: "$-1\r\n*-1\r\n", expected: [null, null] },
  { name: "RESP3 null", data: "_\r\n", expected: [null] },
  {
    name: "array",
    data: "*3\r\n$3\r\nfoo\r\n:1\r\n*2\r\n+a\r\n$-1\r\n*0\r\n",
    expected: [["foo", 1, ["a", null]], []],
  },
  {
    name: "array holding an error",
    data: "*2\r\n+OK\r\n-ERR no\r\n",
    expected: [["OK", new ReplyError("ERR no")]],
  },
  {
    name: "map",
    data: "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n%1\r\n+x\r\n_\r\n%0\r\n",
    expected: [
      new Map<RespValue, RespValue>([["first", 1], ["second", new Map([["x", null]])]]),
      new Map(),
    ],
  },
  {
    name: "set",
    data: "~3\r\n+a\r\n:1\r\n+a\r\n~0\r\n",
    expected: [new Set<RespValue>(["a", 1]), new Set()],
  },
  {
    name: "double",
    data:
      ",1.5\r\n,-0.25\r\n,10\r\n,1e+300\r\n,2.5E-3\r\n,.5\r\n,inf\r\n,-inf\r\n,nan\r\n,+inf\r\n",
    expected: [1.5, -0.25, 10, 1e300, 0.0025, 0.5, Infinity, -Infinity, NaN, Infinity],
  },
  { name: "boolean", data: "#t\r\n#f\r\n", expected: [true, false] },
  {
    name: "big number",
    data: "(3492890328409238509324850943850943825024385\r\n(-12\r\n(0\r\n",
    expected: [3492890328409238509324850943850943825024385n, -12n, 0n],
  },
  {
    name: "verbatim string",
    data: "=15\r\ntxt:Some string\r\n=4\r\nmkd:\r\n",
    expected: ["Some string", ""],
  },
  {
    name: "blob error",
    data: "!21\r\nSYNTAX invalid syntax\r\n",
    expected: [new ReplyError("SYNTAX invalid syntax")],
  },
  {
    name: "push",
    data: ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n" +
      ">4\r\n+pmessage\r\n+n*\r\n+news\r\n+hi\r\n>2\r\n+invalidate\r\n*1\r\n+key\r\n",
    expected: [
      new Push("message", ["news", "hello"]),
      new Push("pmessage", ["n*", "news", "hi"]),
      new Push("invalidate", [["key"]]),
    ],
  },
  {
    name: "push nested in an array",
    data: "*2\r\n>2\r\n+subscribe\r\n:1\r\n:5\r\n",
    expected: [[new Push("subscribe", [1]), 5]],
  },
  {
    name: "attribute before a top-level value",
    data: "|1\r\n+key-popularity\r\n*2\r\n$1\r\na\r\n,0.1923\r\n+real reply\r\n",
    expected: ["real reply"],
  },
  {
    name: "attribute inside an array",
    data: "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n|0\r\n:2\r\n",
    expected: [[1, 2]],
  },
  {
    name: "commands as clients send them",
    data: "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n",
    expected: [["SET", "key", "value"], ["PING"]],
  },
];

for (const { name, data, expected } of FIXTURES) {
  Deno.test(`RespDecoder decodes ${name} whole, byte by byte and at random splits`, () => {
    assertDecodes(data, expected);
  });
}

Deno.test("RespDecoder decodes all fixtures as one stream at random splits", () => {
  const data = bytes(FIXTURES.map((fixture) => fixture.data).join(""));
  const expected = FIXTURES.flatMap((fixture) => fixture.expected);
  assertDecodes(data, expected);
});

Deno.test("RespDecoder returns bulk and verbatim payloads as bytes with bytes: true", () => {
  assertDecodes(
    "$3\r\nabc\r\n=7\r\ntxt:\u00e9!\r\n+simple\r\n*2\r\n$1\r\nx\r\n%1\r\n$1\r\nk\r\n$1\r\nv\r\n",
    [
      bytes("abc"),
      bytes("\u00e9!"),
      "simple",
      [bytes("x"), new Map([[bytes("k"), bytes("v")]])],
    ],
    { bytes: true },
  );
});

Deno.test("RespDecoder round-trips a bulk string of all 256 byte values with bytes: true", () => {
  const payload = new Uint8Array(512);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 256;
  const data = new Uint8Array([...bytes("$512\r\n"), ...payload, ...bytes("\r\n")]);
  assertDecodes(data, [payload], { bytes: true });
  // The same bytes, sent as a command argument, come back intact too.
  assertDecodes(encodeCommand(["SET", payload, payload.subarray(0, 256)]), [
    [bytes("SET"), payload, payload.slice(0, 256)],
  ], { bytes: true });
});

Deno.test("RespDecoder decodes invalid UTF-8 to replacement characters without bytes", () => {
  const data = new Uint8Array([...bytes("$2\r\n"), 0xff, 0xfe, ...bytes("\r\n")]);
  assertDecodes(data, ["\ufffd\ufffd"]);
});

Deno.test("RespDecoder returns copies that later pushes do not overwrite", () => {
  const decoder = new RespDecoder();
  decoder.push(bytes("$3\r\nabc\r\n"));
  const first = decoder.read({ bytes: true });
  decoder.push(bytes("$3\r\nxyz\r\n"));
  decoder.read({ bytes: true });
  assert.deepStrictEqual(first, bytes("abc"));
});

Deno.test("RespDecoder never rewrites byte values it returned", () => {
  const decoder = new RespDecoder();
  const values: RespValue[] = [];
  for (let i = 0; i < 3000; i++) {
    const payload = `value-${i}-${"x".repeat(i % 1500)}`;
    decoder.push(bytes(`$${payload.length}\r\n${payload}\r\n`));
    values.push(decoder.read({ bytes: true })!);
  }
  for (let i = 0; i < 3000; i++) {
    assert.deepStrictEqual(values[i], bytes(`value-${i}-${"x".repeat(i % 1500)}`));
  }
});

Deno.test("RespDecoder keeps a frame's read options until the frame completes", () => {
  const decoder = new RespDecoder();
  decoder.push(bytes("*2\r\n$1\r\na\r\n"));
  assert.equal(decoder.read({ bytes: true }), undefined);
  decoder.push(bytes("$1\r\nb\r\n$1\r\nc\r\n"));
  assert.deepStrictEqual(decoder.read(), [bytes("a"), bytes("b")]);
  assert.equal(decoder.read(), "c");
});

Deno.test("RespDecoder exposes the attributes of the last frame", () => {
  const decoder = new RespDecoder();
  decoder.push(bytes("|1\r\n+key-popularity\r\n*2\r\n$1\r\na\r\n,0.5\r\n+reply\r\n:1\r\n"));
  assert.equal(decoder.read(), "reply");
  assert.deepStrictEqual(
    decoder.lastAttributes,
    new Map<RespValue, RespValue>([["key-popularity", ["a", 0.5]]]),
  );
  assert.equal(decoder.read(), 1);
  assert.equal(decoder.lastAttributes, undefined);
});

Deno.test("RespDecoder counts only undecoded bytes in bufferedBytes", () => {
  const decoder = new RespDecoder();
  assert.equal(decoder.bufferedBytes, 0);
  decoder.push(bytes("*3\r\n:1\r\n:2\r\n:"));
  assert.equal(decoder.bufferedBytes, 13);
  assert.equal(decoder.read(), undefined);
  assert.equal(decoder.bufferedBytes, 1, "the header and two elements are decoded");
  decoder.push(bytes("3\r\n+next\r\n"));
  assert.deepStrictEqual(decoder.read(), [1, 2, 3]);
  assert.equal(decoder.bufferedBytes, 7);
  assert.equal(decoder.read(), "next");
  assert.equal(decoder.bufferedBytes, 0);
  assert.equal(decoder.read(), undefined);
});

Deno.test("RespDecoder decodes 10,000 pipelined commands encoded in one buffer", () => {
  const commands = Array.from({ length: 10_000 }, (_, i) => ["SET", `key:${i}`, `value-${i}-é`]);
  const data = encodeCommands(commands);
  assert.deepStrictEqual(decodeChunks([data]), commands);
  assert.deepStrictEqual(decodeChunks(randomSplits(data, 7)), commands);
});

Deno.test("RespDecoder decodes a 16 MiB bulk string arriving in 64 KiB chunks", () => {
  const size = 16 * 1024 * 1024;
  const header = bytes(`$${size}\r\n`);
  const data = new Uint8Array(header.length + size + 2);
  data.set(header);
  for (let i = header.length; i < header.length + size; i++) data[i] = 0x61 + (i % 26);
  data.set(bytes("\r\n"), header.length + size);
  const decoder = new RespDecoder();
  let value: RespValue | undefined;
  let reads = 0;
  for (let at = 0; at < data.length; at += 65536) {
    decoder.push(data.subarray(at, at + 65536));
    value = decoder.read({ bytes: true });
    reads++;
  }
  assert.ok(value instanceof Uint8Array);
  assert.equal(value.length, size);
  assert.deepStrictEqual(value, data.subarray(header.length, header.length + size));
  assert.equal(reads, 257);
});

Deno.test("RespDecoder resumes a 200,000-element array split into small chunks", () => {
  const count = 200_000;
  let text = `*${count}\r\n`;
  for (let i = 0; i < count; i++) text += `:${i}\r\n`;
  const data = bytes(text);
  const decoder = new RespDecoder();
  let value: RespValue | undefined;
  for (let at = 0; at < data.length; at += 1000) {
    decoder.push(data.subarray(at, at + 1000));
    value = decoder.read();
    assert.ok(decoder.bufferedBytes < 1000, "decoded elements are not kept as bytes");
  }
  assert.ok(Array.isArray(value));
  assert.equal(value.length, count);
  assert.equal(value[count - 1], count - 1);
});

Deno.test("RespDecoder does not preallocate for an array header claiming 2^31 elements", () => {
  const decoder = new RespDecoder();
  decoder.push(bytes(`*${2 ** 31}\r\n:1\r\n:2\r\n`));
  assert.equal(decoder.read(), undefined);
  assert.equal(decoder.bufferedBytes, 0);
});

Deno.test("RespDecoder matches a random stream of nested values at random splits", () => {
  const random = prng(2024);
  const values: RespValue[] = [];
  let text = "";
  for (let i = 0; i < 300; i++) {
    const [value, wire] = randomValue(random, 0);
    values.push(value);
    text += wire;
  }
  assertDecodes(text, values);
});

const ALPHABET = [..."abcé✓😀 :\r\n$*"];

/** A random RESP value and its wire form, for the stream test above. */
function randomValue(random: () => number, depth: number): [RespValue, string] {
  const pick = Math.floor(random() * (depth > 3 ? 8 : 12));
  const word = () => {
    const length = Math.floor(random() * 12);
    let out = "";
    for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)]!;
    return out;
  };
  switch (pick) {
    case 0: {
      const text = word().replace(/[\r\n]/g, "");
      return [text, `+${text}\r\n`];
    }
    case 1: {
      const text = word();
      return [text, `$${encoder.encode(text).length}\r\n${text}\r\n`];
    }
    case 2: {
      const n = Math.floor((random() - 0.5) * 2 ** 40);
      return [n, `:${n}\r\n`];
    }
    case 3:
      return [null, random() < 0.5 ? "_\r\n" : "$-1\r\n"];
    case 4: {
      const flag = random() < 0.5;
      return [flag, flag ? "#t\r\n" : "#f\r\n"];
    }
    case 5: {
      const n = Math.round((random() - 0.5) * 1e6) / 64 + 0; // no -0: it is sent as "0"
      return [n, `,${n}\r\n`];
    }
    case 6: {
      const text = `ERR ${word().replace(/[\r\n]/g, "")}`;
      return [new ReplyError(text), `-${text}\r\n`];
    }
    case 7: {
      const n = BigInt(Math.floor(random() * 1e9)) * 10n ** 20n;
      return [n, `(${n}\r\n`];
    }
    case 8:
    case 9: {
      const length = Math.floor(random() * 5);
      const items: RespValue[] = [];
      let wire = `*${length}\r\n`;
      for (let i = 0; i < length; i++) {
        const [value, part] = randomValue(random, depth + 1);
        items.push(value);
        wire += part;
      }
      return [items, wire];
    }
    case 10: {
      const length = Math.floor(random() * 4);
      const map = new Map<RespValue, RespValue>();
      let wire = `%${length}\r\n`;
      for (let i = 0; i < length; i++) {
        const key = `k${i}`;
        const [value, part] = randomValue(random, depth + 1);
        map.set(key, value);
        wire += `+${key}\r\n${part}`;
      }
      return [map, wire];
    }
    default: {
      const text = word();
      return [text, `=${encoder.encode(text).length + 4}\r\ntxt:${text}\r\n`];
    }
  }
}

Deno.test("RespDecoder has no inline commands: a line with no type byte is a ProtocolError", () => {
  assertProtocolError("PING\r\n", /unknown type byte 0x50/);
});

Deno.test("RespDecoder rejects malformed input with a ProtocolError", async (t) => {
  const cases: [string, string | Uint8Array, RegExp][] = [
    ["an unknown type byte", "?foo\r\n", /unknown type byte 0x3f/],
    ["an unknown type byte inside an array", "*1\r\n@x\r\n", /unknown type byte 0x40/],
    ["a negative bulk length", "$-2\r\nab\r\n", /invalid bulk string length "-2"/],
    ["a negative array length", "*-5\r\n", /invalid array length "-5"/],
    ["a null map", "%-1\r\n", /map length -1 is not allowed/],
    ["a null verbatim string", "=-1\r\n", /verbatim string length -1 is not allowed/],
    ["letters in a bulk length", "$1a\r\nab\r\n", /invalid bulk string length "1a"/],
    ["an empty bulk length", "$\r\n", /bulk string length is empty/],
    ["a sign in an array length", "*+1\r\n", /invalid array length "\+1"/],
    ["letters in an integer", ":12a\r\n", /invalid integer "12a"/],
    ["letters in a long integer", ":1234567890123456789a\r\n", /invalid integer/],
    ["an empty integer", ":\r\n", /invalid integer ""/],
    ["a lone sign as integer", ":-\r\n", /invalid integer "-"/],
    ["an invalid double", ",1.2.3\r\n", /invalid double "1.2.3"/],
    ["an empty double", ",\r\n", /invalid double ""/],
    ["an invalid boolean", "#x\r\n", /invalid boolean "x"/],
    ["an invalid big number", "(12x\r\n", /invalid big number "12x"/],
    ["a non-empty null", "_x\r\n", /null must be empty/],
    ["a missing CRLF after a bulk payload", "$3\r\nabcX\r\n", /missing CRLF after the 3-byte/],
    ["a CR without LF", "+OK\rX\n", /expected LF after CR, got 0x58/],
    ["a LF without CR", "+OK\n", /LF without CR in a '\+' line/],
    ["a verbatim string without its format", "=3\r\nabc\r\n", /lacks its 'fmt:' prefix/],
    ["an empty push", ">0\r\n", /push frame has no elements/],
    ["a push whose kind is not a string", ">1\r\n:1\r\n", /first element is not a string/],
    ["a streamed bulk string", "$?\r\n;4\r\nabcd\r\n;0\r\n", /streamed strings \('\$\?'\)/],
    ["a streamed array", "*?\r\n:1\r\n.\r\n", /streamed aggregates \('\*\?'\)/],
    ["a streamed string part", ";4\r\nabcd\r\n", /streamed string parts/],
    ["a streamed aggregate end", ".\r\n", /type byte 0x2e/],
  ];
  for (const [name, data, pattern] of cases) {
    await t.step(name, () => assertProtocolError(data, pattern));
  }
});

Deno.test("RespDecoder turns exceeded limits into ProtocolErrors", async (t) => {
  await t.step("bulk length above maxBulkLength", () => {
    assertProtocolError(
      "$11\r\n",
      /bulk string length 11 exceeds maxBulkLength 10/,
      { maxBulkLength: 10 },
    );
    assertProtocolError(
      "$536870913\r\n",
      /bulk string length 536870913 exceeds maxBulkLength 536870912/,
    );
    assertProtocolError(
      "$99999999999999999999999999\r\n",
      /bulk string length 99999999999999999999999999 exceeds maxBulkLength/,
    );
    assertProtocolError("!11\r\n", /blob error length 11 exceeds maxBulkLength 10/, {
      maxBulkLength: 10,
    });
  });
  await t.step("element count above maxAggregateLength", () => {
    assertProtocolError("*11\r\n", /array length 11 exceeds maxAggregateLength 10/, {
      maxAggregateLength: 10,
    });
    assertProtocolError("%5000000000\r\n", /map length 5000000000 exceeds maxAggregateLength/);
  });
  await t.step("nesting deeper than maxDepth", () => {
    const nested = (depth: number) => "*1\r\n".repeat(depth) + ":1\r\n";
    let expected: RespValue = 1;
    for (let i = 0; i < 64; i++) expected = [expected];
    assert.deepStrictEqual(decodeChunks([bytes(nested(64))]), [expected]);
    assertProtocolError(nested(65), /array nests deeper than maxDepth 64/);
    assertProtocolError(nested(4), /nests deeper than maxDepth 3/, { maxDepth: 3 });
    assertProtocolError("*1\r\n%1\r\n~1\r\n:1\r\n", /set nests deeper than maxDepth 2/, {
      maxDepth: 2,
    });
  });
  await t.step("lines longer than maxInlineLength", () => {
    assertProtocolError(`+${"a".repeat(17)}`, /'\+' line exceeds maxInlineLength 16/, {
      maxInlineLength: 16,
    });
    assertProtocolError(`-${"a".repeat(17)}\r\n`, /'-' line exceeds maxInlineLength 16/, {
      maxInlineLength: 16,
    });
    assertProtocolError(`$${"1".repeat(70_000)}`, /'\$' line exceeds maxInlineLength 65536/);
    // Exactly at the limit is fine.
    assert.deepStrictEqual(
      decodeChunks([bytes(`+${"a".repeat(16)}\r\n`)], undefined, { maxInlineLength: 16 }),
      ["a".repeat(16)],
    );
  });
  await t.step("undecoded bytes above maxBufferedBytes", () => {
    const decoder = new RespDecoder({ maxBulkLength: 100, maxBufferedBytes: 2000 });
    decoder.push(new Uint8Array(1500).fill(0x2b));
    assert.throws(
      () => decoder.push(new Uint8Array(501)),
      /Cannot buffer RESP data: 2001 undecoded bytes would exceed maxBufferedBytes 2000/,
    );
  });
});

Deno.test("RespDecoder stays failed after a ProtocolError", () => {
  const decoder = new RespDecoder();
  decoder.push(bytes("+OK\r\n?bad\r\n+later\r\n"));
  assert.equal(decoder.read(), "OK");
  let first: unknown;
  try {
    decoder.read();
  } catch (error) {
    first = error;
  }
  assert.ok(first instanceof ProtocolError);
  assert.throws(() => decoder.read(), (error) => error === first);
  assert.throws(() => decoder.push(bytes("+OK\r\n")), (error) => error === first);
  assert.equal(decoder.bufferedBytes, 0, "the buffer is released");
});

Deno.test("RespDecoder checks its limits", () => {
  assert.throws(
    () => new RespDecoder({ maxDepth: 0 }),
    new RangeError("Cannot create RESP decoder: 'maxDepth' must be a positive integer, got 0"),
  );
  assert.throws(() => new RespDecoder({ maxBulkLength: 1.5 }), RangeError);
  assert.throws(
    () => new RespDecoder({ maxBulkLength: 10_000, maxBufferedBytes: 10_000 }),
    /'maxBufferedBytes' must be at least 'maxBulkLength' \+ 1024 \(11024\), got 10000/,
  );
  // A larger maxBulkLength moves the default maxBufferedBytes along.
  const decoder = new RespDecoder({ maxBulkLength: 1024 * 1024 * 1024 });
  decoder.push(bytes("$1073741824\r\n"));
  assert.equal(decoder.read(), undefined);
});

Deno.test("RespDecoder's fast path for top-level strings keeps every limit and check", () => {
  // Complete replies, as a socket read hands them over, go through the fast path.
  assert.deepStrictEqual(
    decodeChunks([bytes("+OK\r\n+QUEUED\r\n$2\r\nhi\r\n$0\r\n\r\n$-1\r\n+\r\n")]),
    ["OK", "QUEUED", "hi", "", null, ""],
  );
  const binary = Uint8Array.of(0x24, 0x33, 0x0d, 0x0a, 0xff, 0x00, 0x61, 0x0d, 0x0a); // $3 ff 00 'a'
  assert.deepStrictEqual(decodeChunks([binary], { bytes: true }), [
    Uint8Array.of(0xff, 0x00, 0x61),
  ]);
  // Limits apply there as on the general path.
  assertProtocolError(`+${"a".repeat(17)}\r\n`, /'\+' line exceeds maxInlineLength 16/, {
    maxInlineLength: 16,
  });
  assertProtocolError("$10\r\n0123456789\r\n", /'\$' line exceeds maxInlineLength 1/, {
    maxInlineLength: 1,
  });
  assertProtocolError("$11\r\n0123456789a\r\n", /length 11 exceeds maxBulkLength 10/, {
    maxBulkLength: 10,
  });
  assertProtocolError("$3\r\nabcd\r\n", /missing CRLF after the 3-byte bulk string payload/);
  assertProtocolError("+OK\r\r\n", /expected LF after CR, got 0x0d/);
  // A reply after one whose line was scanned in pieces.
  const decoder = new RespDecoder();
  decoder.push(bytes("+PO"));
  assert.equal(decoder.read(), undefined);
  decoder.push(bytes("NG\r\n:7\r\n"));
  assert.equal(decoder.read(), "PONG");
  assert.equal(decoder.read(), 7);
  assert.equal(decoder.bufferedBytes, 0);
});

// ---------------------------------------------------------------- what one reply decodes to

/**
 * The decoder's estimate of the reply `data` holds: the smallest
 * `maxReplyBytes` under which it decodes.
 */
function replyEstimate(data: Uint8Array, options?: ReadOptions): number {
  const decodes = (maxReplyBytes: number) => {
    try {
      decodeChunks([data], options, { maxReplyBytes });
      return true;
    } catch (error) {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, /maxReplyBytes/);
      return false;
    }
  };
  let low = 1;
  let high = 2 ** 40;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (decodes(middle)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Asserts that `data` decodes to `count` frames under `limits`, whole, byte by byte and at random splits. */
function assertDecodesWithin(
  data: Uint8Array,
  count: number,
  limits: DecoderLimits,
  options?: ReadOptions,
): void {
  for (const [how, chunks] of [["whole", [data]], ["byte by byte", byteByByte(data)]] as const) {
    assert.equal(decodeChunks(chunks, options, limits).length, count, how);
  }
  for (let seed = 1; seed <= 5; seed++) {
    assert.equal(decodeChunks(randomSplits(data, seed), options, limits).length, count);
  }
}

const TOO_MANY_VALUES =
  /^Cannot decode RESP frame: the reply exceeds maxReplyElements \((\d+) values\); raise the limit if such replies are expected$/;
const TOO_MANY_BYTES =
  /^Cannot decode RESP frame: the reply exceeds maxReplyBytes \((\d+) bytes, estimated\); raise the limit if such replies are expected$/;

/** `*10` of `*10` of `%0` (or `*0`): 111 values, none of them a string or a number. */
function emptyTree(leaf: "%0" | "*0"): string {
  return `*10\r\n${`*10\r\n${`${leaf}\r\n`.repeat(10)}`.repeat(10)}`;
}

Deno.test("RespDecoder bounds the values one reply decodes to with maxReplyElements", async (t) => {
  await t.step("a flat array of tiny integers", () => {
    // The array and 999 integers: 1,000 values.
    const atCap = bytes(`*999\r\n${":1\r\n".repeat(999)}`);
    assertDecodesWithin(atCap, 1, { maxReplyElements: 1000 });
    assertProtocolError(
      `*1000\r\n${":1\r\n".repeat(1000)}`,
      /the reply exceeds maxReplyElements \(1000 values\); raise the limit/,
      { maxReplyElements: 1000 },
    );
  });
  await t.step("nested empty maps and arrays", () => {
    for (const leaf of ["%0", "*0"] as const) {
      assertDecodesWithin(bytes(emptyTree(leaf)), 1, { maxReplyElements: 111 });
      assertProtocolError(emptyTree(leaf), TOO_MANY_VALUES, { maxReplyElements: 110 });
    }
  });
  await t.step(
    "map and attribute pairs count as two values, attributes too",
    () => {
      assertDecodesWithin(bytes("%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n"), 1, { maxReplyElements: 5 });
      assertProtocolError("%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", TOO_MANY_VALUES, {
        maxReplyElements: 4,
      });
      // The attribute map, its key and value, then the reply.
      const attributed = bytes("|1\r\n+key\r\n+value\r\n:1\r\n");
      assertDecodesWithin(attributed, 1, { maxReplyElements: 4 });
      assertProtocolError(attributed, TOO_MANY_VALUES, { maxReplyElements: 3 });
    },
  );
  await t.step("the count resets with each top-level frame", () => {
    const frame = `*999\r\n${":1\r\n".repeat(999)}`;
    assertDecodesWithin(bytes(frame + frame + "+OK\r\n" + frame), 4, { maxReplyElements: 1000 });
  });
  await t.step("counted as values arrive, whatever the header announces", () => {
    const decoder = new RespDecoder({ maxReplyElements: 1000 });
    decoder.push(bytes(`*4294967295\r\n${":1\r\n".repeat(999)}`));
    assert.equal(decoder.read(), undefined);
    decoder.push(bytes(":1\r\n"));
    let failure: unknown;
    assert.throws(() => decoder.read(), (error) => (failure = error) instanceof ProtocolError);
    assert.match((failure as Error).message, TOO_MANY_VALUES);
    // Poisoned like for the other limits: the same error, nothing held.
    assert.throws(() => decoder.read(), (error) => error === failure);
    assert.throws(() => decoder.push(bytes("+OK\r\n")), (error) => error === failure);
    assert.equal(decoder.bufferedBytes, 0);
  });
});

Deno.test("RespDecoder bounds the memory one reply decodes to with maxReplyBytes", async (t) => {
  await t.step("many small bulk strings", () => {
    for (const options of [undefined, { bytes: true }]) {
      const data = bytes(`*1000\r\n${"$16\r\nsixteen-bytes-16\r\n".repeat(1000)}`);
      const estimate = replyEstimate(data, options);
      // Each string holds 16 payload bytes and a 16-byte header, in an 8-byte slot.
      assert.ok(estimate >= 1000 * (16 + 16 + 8), `estimate ${estimate}`);
      assert.ok(estimate <= 1000 * 300, `estimate ${estimate}`);
      assertDecodesWithin(data, 1, { maxReplyBytes: estimate }, options);
      assertProtocolError(data, TOO_MANY_BYTES, { maxReplyBytes: estimate - 1 }, options);
    }
    // A byte value costs more than a string of the same payload (its view object).
    const data = bytes(`*10\r\n${"$16\r\nsixteen-bytes-16\r\n".repeat(10)}`);
    assert.ok(replyEstimate(data, { bytes: true }) > replyEstimate(data));
  });
  await t.step("a flat array of tiny integers", () => {
    const data = bytes(`*1000\r\n${":1\r\n".repeat(1000)}`);
    const estimate = replyEstimate(data);
    assert.ok(estimate >= 1000 * 8, "an 8-byte slot each");
    assertDecodesWithin(data, 1, { maxReplyBytes: estimate });
    assertProtocolError(data, TOO_MANY_BYTES, { maxReplyBytes: estimate - 1 });
  });
  await t.step("nested empty maps and arrays", () => {
    for (const leaf of ["%0", "*0"] as const) {
      const data = bytes(emptyTree(leaf));
      const estimate = replyEstimate(data);
      // An empty map is a 32-byte object and its hash table; an empty array, 32 bytes.
      assert.ok(estimate >= 100 * (leaf === "%0" ? 160 : 40), `${leaf}: estimate ${estimate}`);
      assertDecodesWithin(data, 1, { maxReplyBytes: estimate });
      assertProtocolError(data, TOO_MANY_BYTES, { maxReplyBytes: estimate - 1 });
    }
  });
  await t.step("a lone top-level string, on the fast path as on the general path", () => {
    const data = bytes(`$1000\r\n${"x".repeat(1000)}\r\n`);
    const estimate = replyEstimate(data);
    assert.ok(estimate > 1000 && estimate < 1100, `estimate ${estimate}`);
    assertDecodesWithin(data, 1, { maxReplyBytes: estimate });
    assertProtocolError(data, TOO_MANY_BYTES, { maxReplyBytes: estimate - 1 });
    const line = bytes(`+${"x".repeat(60)}\r\n`);
    assertDecodesWithin(line, 1, { maxReplyBytes: replyEstimate(line) });
    assertProtocolError(line, TOO_MANY_BYTES, { maxReplyBytes: replyEstimate(line) - 1 });
    assertProtocolError(":1\r\n", TOO_MANY_BYTES, {
      maxReplyBytes: replyEstimate(bytes(":1\r\n")) - 1,
    });
  });
  await t.step("the estimate resets with each top-level frame", () => {
    const frame = `*100\r\n${"$16\r\nsixteen-bytes-16\r\n".repeat(100)}`;
    const estimate = replyEstimate(bytes(frame));
    assertDecodesWithin(bytes(frame + frame + frame), 3, { maxReplyBytes: estimate });
  });
  await t.step("counted as values arrive: an endless reply stops within the cap", () => {
    const decoder = new RespDecoder({ maxReplyBytes: 1024 * 1024 });
    decoder.push(bytes("*4294967295\r\n"));
    const chunk = bytes("%0\r\n".repeat(1024));
    let fed = 0;
    assert.throws(
      () => {
        for (;;) {
          decoder.push(chunk);
          fed += chunk.length;
          assert.equal(decoder.read(), undefined);
        }
      },
      (error) => error instanceof ProtocolError && TOO_MANY_BYTES.test(error.message),
    );
    // An empty map is estimated at about 200 bytes: 1 MiB holds some 5,000 of them.
    assert.ok(fed > 4 * 4000 && fed < 4 * 6000, `${fed} bytes fed`);
    assert.equal(decoder.bufferedBytes, 0);
  });
});

Deno.test("RespDecoder checks maxReplyElements and maxReplyBytes", () => {
  assert.throws(
    () => new RespDecoder({ maxReplyElements: 0 }),
    new RangeError(
      "Cannot create RESP decoder: 'maxReplyElements' must be a positive integer, got 0",
    ),
  );
  assert.throws(
    () => new RespDecoder({ maxReplyBytes: 1.5 }),
    new RangeError(
      "Cannot create RESP decoder: 'maxReplyBytes' must be a positive integer, got 1.5",
    ),
  );
  assert.throws(() => new RespDecoder({ maxReplyBytes: -1 }), RangeError);
  assert.throws(() => new RespDecoder({ maxReplyElements: 2 ** 53 }), RangeError);
  // The smallest limits still decode a lone null, and refuse a second value.
  assertDecodesWithin(bytes("_\r\n_\r\n"), 2, { maxReplyElements: 1 });
  assertProtocolError("*1\r\n_\r\n", TOO_MANY_VALUES, { maxReplyElements: 1 });
  assertProtocolError("_\r\n", TOO_MANY_BYTES, { maxReplyBytes: 1 });
});
