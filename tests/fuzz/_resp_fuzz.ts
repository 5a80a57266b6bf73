/**
 * The RESP decoder fuzz itself, without I/O, so that a worker can run it
 * under a watchdog (a decoder that hangs cannot be caught from inside).
 *
 * Each case builds a stream of frames, either generated from random value
 * trees (with the value each frame must decode to) or taken from real
 * `redis-server` replies, mutates some streams, picks limits and read
 * options, and decodes the stream twice: pushed in random chunks from a
 * scratch buffer that is scribbled over after each push, and pushed whole.
 * It checks that:
 *
 * - nothing but a `ProtocolError` is ever thrown, and a failed decoder keeps
 *   throwing that same error;
 * - `push()` fails exactly when the undecoded bytes would pass
 *   `maxBufferedBytes`, so buffered memory never exceeds the limit;
 * - chunking changes nothing: the chunked decode yields the whole decode's
 *   frames (a prefix, when a chunk broke the buffer limit) and fails where
 *   it fails;
 * - unmutated generated frames decode to exactly their values, attributes
 *   included, and a frame over a limit fails;
 * - decoded output grows linearly with the bytes consumed (nothing is
 *   preallocated from a header) and respects every limit.
 *
 * @module
 */

import { ProtocolError, ReplyError } from "../../src/errors.ts";
import { type DecoderLimits, RespDecoder } from "../../src/resp/decoder.ts";
import { Push, type RespValue } from "../../src/resp/types.ts";
import { Prng } from "./_prng.ts";

/** Bytes and the frames they hold. */
interface Stream {
  bytes: Uint8Array;
  /** How many frames were put in (before any mutation). */
  frames: number;
  /** For unmutated generated streams: each frame's value, attributes and limit verdict. */
  expected?: ExpectedFrame[];
}

interface ExpectedFrame {
  value: RespValue;
  attributes: Map<RespValue, RespValue> | undefined;
  /** Whether the frame is within the limits (`ok`), over one (`over`) or on an edge (`edge`). */
  limits: "ok" | "over" | "edge";
}

/** One decode's outcome. */
interface Decoded {
  values: RespValue[];
  attributes: (Map<RespValue, RespValue> | undefined)[];
  error: ProtocolError | undefined;
  /** Whether the error came from `push()` exceeding `maxBufferedBytes`. */
  bufferLimit: boolean;
}

/** Figures of a run. */
export interface FuzzStats {
  cases: number;
  frames: number;
  mutatedCases: number;
  bytes: number;
  protocolErrors: number;
  bufferLimitErrors: number;
  peakBufferedBytes: number;
  peakRss: number;
  ms: number;
}

/** A failed check, with what replays it. */
export class FuzzFailure extends Error {
  constructor(message: string, readonly caseIndex: number, readonly input: Uint8Array) {
    super(message);
    this.name = "FuzzFailure";
  }
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

const DEFAULT_LIMITS: Required<DecoderLimits> = {
  maxBulkLength: 512 * 1024 * 1024,
  maxDepth: 64,
  maxInlineLength: 64 * 1024,
  maxAggregateLength: 2 ** 32 - 1,
  maxBufferedBytes: 512 * 1024 * 1024 + 128 * 1024,
  maxReplyElements: 2 ** 24,
  maxReplyBytes: 512 * 1024 * 1024 + 128 * 1024,
};

/** Real replies: base64 frames from `real_replies.json`. */
export function loadCorpus(json: { resp2: string[]; resp3: string[] }): Uint8Array[] {
  return [...json.resp2, ...json.resp3].map((b64) => {
    const text = atob(b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  });
}

/**
 * Runs fuzz cases until `frameTarget` frames have been decoded.
 *
 * @param seed The run's seed.
 * @param frameTarget How many frames to feed.
 * @param corpus Real replies to mix in and mutate.
 * @param onProgress Called every 1,000 cases with the next case index.
 * @param only Run only this case.
 * @returns The run's figures.
 * @throws {FuzzFailure} On the first failed check.
 */
export function runFuzz(
  seed: number,
  frameTarget: number,
  corpus: readonly Uint8Array[],
  onProgress: (caseIndex: number) => void = () => {},
  only?: number,
): FuzzStats {
  // Every error reply is an Error, and capturing a stack trace for each costs more than
  // decoding it. A replayed case (\`only\`) keeps stacks for the failure message.
  const stackTraceLimit = Error.stackTraceLimit;
  if (only === undefined) Error.stackTraceLimit = 0;
  try {
    return fuzzLoop(seed, frameTarget, corpus, onProgress, only);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function fuzzLoop(
  seed: number,
  frameTarget: number,
  corpus: readonly Uint8Array[],
  onProgress: (caseIndex: number) => void,
  only: number | undefined,
): FuzzStats {
  const stats: FuzzStats = {
    cases: 0,
    frames: 0,
    mutatedCases: 0,
    bytes: 0,
    protocolErrors: 0,
    bufferLimitErrors: 0,
    peakBufferedBytes: 0,
    peakRss: Deno.memoryUsage().rss,
    ms: 0,
  };
  const started = performance.now();
  for (let index = only ?? 0; stats.frames < frameTarget; index++) {
    if (index % 1000 === 0) {
      onProgress(index);
      stats.peakRss = Math.max(stats.peakRss, Deno.memoryUsage().rss);
    }
    runCase(seed, index, corpus, stats);
    if (only !== undefined) break;
  }
  stats.ms = performance.now() - started;
  stats.peakRss = Math.max(stats.peakRss, Deno.memoryUsage().rss);
  return stats;
}

function runCase(seed: number, index: number, corpus: readonly Uint8Array[], stats: FuzzStats) {
  const rng = new Prng(seed, index);
  const limits = pickLimits(rng);
  const bytesMode = rng.chance(0.3);
  const stream = rng.chance(0.3)
    ? corpusStream(rng, corpus)
    : generatedStream(rng, limits, bytesMode);
  let mutated = false;
  if (rng.chance(0.45)) {
    stream.bytes = mutate(rng, stream.bytes, limits);
    delete stream.expected;
    mutated = true;
  }
  stats.cases++;
  stats.frames += stream.frames;
  stats.bytes += stream.bytes.length;
  if (mutated) stats.mutatedCases++;
  const fail = (message: string): never => {
    throw new FuzzFailure(
      `case ${index} (${mutated ? "mutated" : "intact"}, limits ${JSON.stringify(limits)}, ` +
        `bytes: ${bytesMode}): ${message}`,
      index,
      stream.bytes,
    );
  };
  const options = { bytes: bytesMode };
  const chunked = decodeChunked(rng, stream.bytes, limits, options, stats, fail);
  const whole = decodeWhole(stream.bytes, limits, options, fail);
  if (chunked.error) stats.protocolErrors++;
  if (chunked.bufferLimit) stats.bufferLimitErrors++;

  // Chunking changes nothing.
  const n = chunked.values.length;
  if (n > whole.values.length) {
    fail(`chunked decode yields ${n} frames, whole ${whole.values.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (!same(chunked.values[i]!, whole.values[i]!)) {
      fail(
        `frame ${i} differs when chunked: ${show(chunked.values[i]!)} vs ${show(whole.values[i]!)}`,
      );
    }
    if (!sameAttributes(chunked.attributes[i], whole.attributes[i])) {
      fail(`frame ${i}'s attributes differ when chunked`);
    }
  }
  if (!chunked.bufferLimit) {
    if (n !== whole.values.length) {
      fail(`chunked decode yields ${n} frames, whole ${whole.values.length}`);
    }
    if ((chunked.error === undefined) !== (whole.error === undefined)) {
      fail(
        `chunked decode ${chunked.error ? `fails (${chunked.error.message})` : "succeeds"}, ` +
          `whole ${whole.error ? `fails (${whole.error.message})` : "succeeds"}`,
      );
    }
  }

  // Generated frames decode to their values until one is over a limit.
  const expected = stream.expected;
  if (expected === undefined) return;
  let i = 0;
  for (; i < expected.length; i++) {
    const frame = expected[i]!;
    if (i >= whole.values.length) break;
    if (frame.limits === "over") fail(`frame ${i} is over a limit but decoded`);
    if (!same(whole.values[i]!, frame.value)) {
      fail(`frame ${i} decodes to ${show(whole.values[i]!)}, expected ${show(frame.value)}`);
    }
    if (!sameAttributes(whole.attributes[i], frame.attributes)) {
      fail(`frame ${i}'s attributes are wrong`);
    }
  }
  if (i < expected.length) {
    if (whole.error === undefined) fail(`only ${i} of ${expected.length} frames decoded, no error`);
    if (expected[i]!.limits === "ok") {
      fail(`frame ${i} is within the limits but fails: ${whole.error!.message}`);
    }
  } else if (whole.error !== undefined) {
    fail(`every frame decoded, then: ${whole.error.message}`);
  }
}

function pickLimits(rng: Prng): Required<DecoderLimits> {
  if (rng.chance(0.6)) return DEFAULT_LIMITS;
  const maxBulkLength = rng.pick([1, 8, 64, 1000, 4096, 70_000]);
  return {
    maxBulkLength,
    maxDepth: rng.pick([1, 2, 3, 8, 64]),
    maxInlineLength: rng.pick([1, 4, 16, 100, 65536]),
    maxAggregateLength: rng.pick([1, 2, 5, 100, 2 ** 32 - 1]),
    maxBufferedBytes: maxBulkLength + 1024 + rng.pick([0, 10, 5000, 1 << 20]),
    // Far above what a fuzzed frame decodes to: the oracle does not model these two.
    maxReplyElements: DEFAULT_LIMITS.maxReplyElements,
    maxReplyBytes: DEFAULT_LIMITS.maxReplyBytes,
  };
}

// ---------------------------------------------------------------- decoding

type Fail = (message: string) => never;

function decodeChunked(
  rng: Prng,
  bytes: Uint8Array,
  limits: Required<DecoderLimits>,
  options: { bytes: boolean },
  stats: FuzzStats,
  fail: Fail,
): Decoded {
  const decoder = new RespDecoder(limits);
  const out: Decoded = { values: [], attributes: [], error: undefined, bufferLimit: false };
  const strategy = rng.int(5);
  const scratch = new Uint8Array(Math.min(bytes.length, 8192) || 1);
  let at = 0;
  while (at < bytes.length) {
    let size: number;
    switch (strategy) {
      case 0:
        size = bytes.length - at; // whole
        break;
      case 1:
        size = bytes.length <= 4096 ? 1 : rng.range(1, 64); // byte by byte
        break;
      case 2:
        size = rng.range(1, 64);
        break;
      default:
        size = rng.range(1, 8192);
    }
    size = Math.min(size, bytes.length - at);
    // Socket reads land in a reused buffer: hand a view of scratch space and scribble over it after.
    const chunk = size <= scratch.length ? scratch.subarray(0, size) : new Uint8Array(size);
    chunk.set(bytes.subarray(at, at + size));
    at += size;
    const before = decoder.bufferedBytes;
    const over = before + size > limits.maxBufferedBytes;
    try {
      decoder.push(chunk);
    } catch (error) {
      check(error, fail);
      if (!over) fail(`push of ${size} bytes onto ${before} failed: ${(error as Error).message}`);
      out.error = error as ProtocolError;
      out.bufferLimit = true;
      expectPoisoned(decoder, out.error, fail);
      return out;
    }
    chunk.fill(0x2a); // '*': a stale view would decode as garbage
    if (over) fail(`push of ${size} bytes onto ${before} passed maxBufferedBytes`);
    if (decoder.bufferedBytes > limits.maxBufferedBytes) fail("bufferedBytes passed the limit");
    stats.peakBufferedBytes = Math.max(stats.peakBufferedBytes, decoder.bufferedBytes);
    for (;;) {
      let value: RespValue | undefined;
      try {
        value = decoder.read(options);
      } catch (error) {
        check(error, fail);
        out.error = error as ProtocolError;
        expectPoisoned(decoder, out.error, fail);
        return out;
      }
      if (value === undefined) break;
      out.values.push(value);
      out.attributes.push(decoder.lastAttributes);
    }
  }
  return out;
}

function decodeWhole(
  bytes: Uint8Array,
  limits: Required<DecoderLimits>,
  options: { bytes: boolean },
  fail: Fail,
): Decoded {
  const roomy = {
    ...limits,
    maxBufferedBytes: Math.max(limits.maxBufferedBytes, bytes.length + limits.maxBulkLength + 1024),
  };
  const decoder = new RespDecoder(roomy);
  const out: Decoded = { values: [], attributes: [], error: undefined, bufferLimit: false };
  decoder.push(bytes);
  for (;;) {
    const before = decoder.bufferedBytes;
    let value: RespValue | undefined;
    try {
      value = decoder.read(options);
    } catch (error) {
      check(error, fail);
      out.error = error as ProtocolError;
      expectPoisoned(decoder, out.error, fail);
      return out;
    }
    if (value === undefined) return out;
    const consumed = before - decoder.bufferedBytes;
    const size = measure(value, 1);
    const attributes = decoder.lastAttributes;
    if (attributes !== undefined) {
      const extra = measure(attributes, 1);
      size.nodes += extra.nodes;
      size.text += extra.text;
    }
    // Linear in the input: no node or string byte without a wire byte behind it.
    if (size.nodes > consumed || size.text > consumed) {
      fail(`a ${consumed}-byte frame decoded to ${size.nodes} nodes and ${size.text} characters`);
    }
    if (size.depth > limits.maxDepth + 1) fail(`a frame nests ${size.depth} deep`);
    if (size.longestAggregate > limits.maxAggregateLength) {
      fail(`an aggregate of ${size.longestAggregate} elements passed maxAggregateLength`);
    }
    if (size.longestString > Math.max(limits.maxBulkLength, limits.maxInlineLength)) {
      fail(`a string of ${size.longestString} bytes passed the limits`);
    }
    out.values.push(value);
    out.attributes.push(attributes);
  }
}

function check(error: unknown, fail: Fail): void {
  if (!(error instanceof ProtocolError)) {
    fail(
      `threw ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`,
    );
  }
  if (!(error as ProtocolError).message.startsWith("Cannot ")) {
    fail(`ProtocolError message is not a sentence: ${(error as ProtocolError).message}`);
  }
}

function expectPoisoned(decoder: RespDecoder, error: ProtocolError, fail: Fail): void {
  for (const call of [() => decoder.read(), () => decoder.push(Uint8Array.of(0x2b))]) {
    try {
      call();
      fail("a failed decoder accepted another call");
    } catch (again) {
      if (again !== error) fail("a failed decoder threw a different error the second time");
    }
  }
  if (decoder.bufferedBytes !== 0) fail("a failed decoder still holds bytes");
}

interface Size {
  nodes: number;
  text: number;
  depth: number;
  longestAggregate: number;
  longestString: number;
}

function measure(value: RespValue | Map<RespValue, RespValue>, depth: number): Size {
  const size: Size = { nodes: 1, text: 0, depth: 0, longestAggregate: 0, longestString: 0 };
  const add = (child: RespValue, childDepth: number) => {
    const s = measure(child, childDepth);
    size.nodes += s.nodes;
    size.text += s.text;
    size.depth = Math.max(size.depth, s.depth);
    size.longestAggregate = Math.max(size.longestAggregate, s.longestAggregate);
    size.longestString = Math.max(size.longestString, s.longestString);
  };
  if (typeof value === "string") {
    // UTF-16 units: never more than the UTF-8 bytes they were decoded from.
    size.text = value.length;
    size.longestString = value.length;
  } else if (value instanceof Uint8Array) {
    size.text = value.length;
    size.longestString = value.length;
  } else if (value instanceof ReplyError) {
    size.text = value.message.length;
  } else if (Array.isArray(value) || value instanceof Set || value instanceof Push) {
    const items = value instanceof Push ? value.data : [...value];
    size.depth = depth;
    size.longestAggregate = items.length + (value instanceof Push ? 1 : 0);
    if (value instanceof Push) size.text += value.kind.length;
    for (const item of items) add(item, depth + 1);
  } else if (value instanceof Map) {
    size.depth = depth;
    size.longestAggregate = value.size;
    for (const [k, v] of value) {
      add(k, depth + 1);
      add(v, depth + 1);
    }
  }
  return size;
}

// ---------------------------------------------------------------- comparing

/** Structural equality of decoded values (NaN equals NaN, maps and sets in order). */
export function same(a: RespValue, b: RespValue): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Uint8Array) {
    if (!(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (a instanceof ReplyError || a instanceof ExpectedError) {
    return (b instanceof ReplyError || b instanceof ExpectedError) && a.message === b.message &&
      a.code === b.code;
  }
  if (a instanceof Push) {
    return b instanceof Push && a.kind === b.kind && same(a.data, b.data);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
    return true;
  }
  if (a instanceof Map) return b instanceof Map && sameEntries([...a], [...b]);
  if (a instanceof Set) return b instanceof Set && same([...a], [...b]);
  return false;
}

function sameEntries(a: [RespValue, RespValue][], b: [RespValue, RespValue][]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!same(a[i]![0], b[i]![0]) || !same(a[i]![1], b[i]![1])) return false;
  }
  return true;
}

function sameAttributes(
  a: Map<RespValue, RespValue> | undefined,
  b: Map<RespValue, RespValue> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameEntries([...a], [...b]);
}

function show(value: RespValue): string {
  const text = Deno.inspect(value, { depth: 4, breakLength: Infinity });
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

// ---------------------------------------------------------------- generating

/**
 * The error reply a generated frame must decode to: compared like a
 * `ReplyError`, without the cost of capturing a stack trace for each.
 */
class ExpectedError {
  readonly code: string;
  constructor(readonly message: string) {
    const space = message.indexOf(" ");
    this.code = space === -1 ? message : message.slice(0, space);
  }
}

/** Writes bytes into a growing buffer. */
class Writer {
  #buffer = new Uint8Array(1024);
  length = 0;

  ascii(text: string): void {
    this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) this.#buffer[this.length++] = text.charCodeAt(i);
  }

  bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  done(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }

  #reserve(n: number): void {
    if (this.length + n <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.length + n));
    grown.set(this.#buffer.subarray(0, this.length));
    this.#buffer = grown;
  }
}

/** What a frame needs of the limits. */
interface Needs {
  bulk: number;
  line: number;
  count: number;
  /** Nesting of non-empty aggregates (attributes included): what `maxDepth` bounds. */
  depth: number;
  /** Nesting counting empty aggregates too. */
  depthAll: number;
}

class Generator {
  readonly needs: Needs = { bulk: 0, line: 0, count: 0, depth: 0, depthAll: 0 };
  attributes: Map<RespValue, RespValue> | undefined;
  #budget = 0;

  constructor(
    readonly rng: Prng,
    readonly w: Writer,
    readonly bytesMode: boolean,
  ) {}

  frame(): RespValue {
    this.#budget = this.rng.chance(0.01) ? 2000 : 12;
    this.attributes = undefined;
    if (this.rng.chance(0.08)) return this.#push();
    return this.value(1);
  }

  /** Writes one value at nesting `depth` (1 = top level) and returns what it decodes to. */
  value(depth: number): RespValue {
    const rng = this.rng;
    if (rng.chance(0.04) && this.#budget > 0) this.#attribute(depth);
    this.#budget--;
    const aggregate = this.#budget > 0 && rng.chance(depth === 1 ? 0.5 : 0.3);
    if (aggregate) return this.#aggregate(depth);
    switch (rng.int(14)) {
      case 0:
        return this.#simple();
      case 1: {
        const text = this.#lineText();
        this.#line("-", text.bytes);
        return new ExpectedError(text.text) as unknown as RespValue;
      }
      case 2:
        return this.#integer();
      case 3:
      case 4:
      case 5:
        return this.#bulk("$");
      case 6: {
        const nil = rng.pick(["$-1", "*-1", "_"]);
        this.needs.line = Math.max(this.needs.line, nil.length - 1);
        this.w.ascii(`${nil}\r\n`);
        return null;
      }
      case 7:
        return this.#double();
      case 8: {
        const value = rng.chance(0.5);
        this.w.ascii(value ? "#t\r\n" : "#f\r\n");
        return value;
      }
      case 9: {
        const digits = (rng.chance(0.3) ? "-" : "") + digitsOf(rng, rng.range(1, 60));
        this.#line("(", encoder.encode(digits));
        return BigInt(digits);
      }
      case 10:
        return this.#bulk("=");
      case 11:
        return this.#bulk("!");
      default:
        return this.#bulk("$");
    }
  }

  #aggregate(depth: number): RespValue {
    const rng = this.rng;
    const type = rng.pick(["*", "*", "*", "%", "~"]);
    const count = rng.chance(0.1) ? 0 : rng.chance(0.9) ? rng.range(1, 6) : rng.range(7, 120);
    this.#header(type, count);
    this.needs.depthAll = Math.max(this.needs.depthAll, depth);
    if (count > 0) this.needs.depth = Math.max(this.needs.depth, depth);
    this.needs.count = Math.max(this.needs.count, count);
    if (type === "%") {
      const map = new Map<RespValue, RespValue>();
      for (let i = 0; i < count; i++) {
        const key = this.value(depth + 1);
        map.set(key, this.value(depth + 1));
      }
      return map;
    }
    const items: RespValue[] = [];
    for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
    return type === "~" ? new Set(items) : items;
  }

  #push(): RespValue {
    const count = this.rng.range(1, 5);
    this.#header(">", count);
    this.needs.depth = Math.max(this.needs.depth, 1);
    this.needs.depthAll = Math.max(this.needs.depthAll, 1);
    this.needs.count = Math.max(this.needs.count, count);
    const kindText = this.rng.pick(["message", "pmessage", "invalidate", "subscribe", "x"]);
    let kind: string;
    if (this.rng.chance(0.5)) {
      this.#line("+", encoder.encode(kindText));
      kind = kindText;
    } else {
      this.#blob("$", encoder.encode(kindText));
      kind = kindText;
    }
    const data: RespValue[] = [];
    for (let i = 1; i < count; i++) data.push(this.value(2));
    return new Push(kind, data);
  }

  #attribute(depth: number): void {
    const count = this.rng.range(1, 3);
    this.#header("|", count);
    this.needs.depth = Math.max(this.needs.depth, depth);
    this.needs.depthAll = Math.max(this.needs.depthAll, depth);
    this.needs.count = Math.max(this.needs.count, count);
    const attributes = this.attributes ?? new Map<RespValue, RespValue>();
    for (let i = 0; i < count; i++) {
      const key = this.#simple();
      attributes.set(key, this.#integer());
    }
    this.attributes = attributes;
  }

  #simple(): string {
    const text = this.#lineText();
    this.#line("+", text.bytes);
    return text.text;
  }

  #integer(): number | bigint {
    const rng = this.rng;
    let text: string;
    switch (rng.int(4)) {
      case 0:
        text = String(rng.range(-100, 100));
        break;
      case 1:
        text = String(rng.next() * (rng.chance(0.5) ? -1 : 1));
        break;
      case 2:
        text = (rng.chance(0.5) ? "-" : "") + digitsOf(rng, rng.range(15, 19));
        break;
      default:
        text = (rng.chance(0.5) ? "-" : "") + digitsOf(rng, rng.range(20, 40));
    }
    this.#line(":", encoder.encode(text));
    const big = BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }

  #double(): number {
    const rng = this.rng;
    const special = rng.pick(["inf", "-inf", "nan", "-nan", "0", "-0", "1.5", "1e10", "-2.5E-3"]);
    const text = rng.chance(0.3) ? special : String((rng.float() - 0.5) * 10 ** rng.range(-10, 30));
    this.#line(",", encoder.encode(text));
    const lower = text.toLowerCase();
    if (lower === "inf") return Infinity;
    if (lower === "-inf") return -Infinity;
    if (lower.endsWith("nan")) return NaN;
    return Number(text);
  }

  #bulk(type: "$" | "=" | "!"): RespValue {
    const rng = this.rng;
    const length = rng.chance(0.0005)
      ? rng.range(70_000, 140_000)
      : rng.size(rng.chance(0.05) ? 5000 : 300);
    let payload = rng.chance(0.25) ? rng.bytes(length) : asciiBytes(rng, length);
    if (type === "=") {
      const body = payload;
      payload = new Uint8Array(4 + body.length);
      payload.set(encoder.encode(rng.pick(["txt:", "mkd:", "bin:"])));
      payload.set(body, 4);
    }
    this.#blob(type, payload);
    if (type === "!") return new ExpectedError(utf8.decode(payload)) as unknown as RespValue;
    const content = type === "=" ? payload.subarray(4) : payload;
    return this.bytesMode ? content.slice() : utf8.decode(content);
  }

  #blob(type: string, payload: Uint8Array): void {
    const header = String(payload.length);
    this.needs.bulk = Math.max(this.needs.bulk, payload.length);
    this.needs.line = Math.max(this.needs.line, header.length);
    this.w.ascii(`${type}${header}\r\n`);
    this.w.bytes(payload);
    this.w.ascii("\r\n");
  }

  #header(type: string, count: number): void {
    const text = String(count);
    this.needs.line = Math.max(this.needs.line, text.length);
    this.w.ascii(`${type}${text}\r\n`);
  }

  #line(type: string, content: Uint8Array): void {
    this.needs.line = Math.max(this.needs.line, content.length);
    this.w.ascii(type);
    this.w.bytes(content);
    this.w.ascii("\r\n");
  }

  #lineText(): { text: string; bytes: Uint8Array } {
    const rng = this.rng;
    const length = rng.chance(0.003) ? rng.range(100, 70_000) : rng.size(60);
    const bytes = rng.chance(0.7) ? asciiBytes(rng, length) : rng.bytes(length);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0d || bytes[i] === 0x0a) bytes[i] = 0x20;
    }
    return { text: utf8.decode(bytes), bytes };
  }
}

function digitsOf(rng: Prng, n: number): string {
  let text = String(rng.range(1, 9));
  for (let i = 1; i < n; i++) text += String(rng.int(10));
  return text;
}

function asciiBytes(rng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const r = rng.next();
    out[i] = 0x20 + (r & 0x3f);
    if (i + 1 < n) out[i + 1] = 0x20 + ((r >>> 8) & 0x3f);
    if (i + 2 < n) out[i + 2] = 0x40 + ((r >>> 16) & 0x3f);
    if (i + 3 < n) out[i + 3] = 0x40 + ((r >>> 24) & 0x3e);
  }
  return out;
}

function generatedStream(
  rng: Prng,
  limits: Required<DecoderLimits>,
  bytesMode: boolean,
): Stream {
  const w = new Writer();
  const expected: ExpectedFrame[] = [];
  const count = rng.range(1, 16);
  let frames = 0;
  for (let i = 0; i < count; i++) {
    const g = new Generator(rng, w, bytesMode);
    const value = g.frame();
    frames++;
    const n = g.needs;
    const over = n.bulk > limits.maxBulkLength || n.line > limits.maxInlineLength ||
      n.count > limits.maxAggregateLength || n.depth > limits.maxDepth;
    const ok = !over && n.depthAll <= limits.maxDepth;
    expected.push({
      value,
      attributes: g.attributes,
      limits: over ? "over" : ok ? "ok" : "edge",
    });
  }
  return { bytes: w.done(), frames, expected };
}

function corpusStream(rng: Prng, corpus: readonly Uint8Array[]): Stream {
  const w = new Writer();
  const count = rng.range(1, 12);
  for (let i = 0; i < count; i++) w.bytes(rng.pick(corpus));
  return { bytes: w.done(), frames: count };
}

// ---------------------------------------------------------------- mutating

const INTERESTING_BYTES = [..."\r\n\0-+$*%~>|_#,(=!;.?: 0123456789tf"].map((c) => c.charCodeAt(0))
  .concat([0x80, 0xc3, 0xef, 0xff]);

function interestingNumbers(limits: Required<DecoderLimits>): string[] {
  return [
    "0",
    "-1",
    "-2",
    "-0",
    "1",
    "",
    "-",
    "+1",
    "1e3",
    " 1",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "99999999999999999999999999",
    String(limits.maxBulkLength),
    String(limits.maxBulkLength + 1),
    String(limits.maxAggregateLength),
    String(limits.maxAggregateLength + 1),
    "536870912",
    "?",
  ];
}

/**
 * Mutates a byte stream one to four times: bit flips, interesting bytes,
 * insertions, deletions, duplications, truncation, numbers swapped for
 * interesting ones, nesting bombs and huge headers, CR/LF games.
 *
 * @param rng The case's generator.
 * @param input The stream.
 * @param limits The limits whose edges are interesting.
 * @returns The mutated stream.
 */
export function mutate(
  rng: Prng,
  input: Uint8Array,
  limits: Required<DecoderLimits> = DEFAULT_LIMITS,
): Uint8Array {
  let bytes = input;
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : rng.int(bytes.length);
    switch (rng.int(10)) {
      case 0: { // flip a bit
        if (bytes.length === 0) break;
        bytes = bytes.slice();
        bytes[at] = bytes[at]! ^ (1 << rng.int(8));
        break;
      }
      case 1: { // an interesting byte in place
        if (bytes.length === 0) break;
        bytes = bytes.slice();
        bytes[at] = rng.pick(INTERESTING_BYTES);
        break;
      }
      case 2: // insert interesting or random bytes
        bytes = splice(
          bytes,
          at,
          0,
          rng.chance(0.5)
            ? Uint8Array.from({ length: rng.range(1, 4) }, () => rng.pick(INTERESTING_BYTES))
            : rng.bytes(rng.range(1, 16)),
        );
        break;
      case 3: // delete a range
        bytes = splice(bytes, at, rng.range(1, 16), new Uint8Array(0));
        break;
      case 4: { // duplicate a range
        const length = rng.range(1, 64);
        bytes = splice(bytes, at, 0, bytes.slice(at, at + length));
        break;
      }
      case 5: // truncate
        bytes = bytes.slice(0, at);
        break;
      case 6:
      case 7: { // replace a number with an interesting one
        const run = digitRun(bytes, at);
        if (run === undefined) break;
        bytes = splice(
          bytes,
          run[0],
          run[1] - run[0],
          encoder.encode(rng.pick(interestingNumbers(limits))),
        );
        break;
      }
      case 8: { // a nesting bomb or a huge header
        const bomb = rng.chance(0.5)
          ? "*1\r\n".repeat(rng.range(1, 100))
          : `${rng.pick(["$", "*", "%", "~", ">", "|", "=", "!"])}${
            rng.pick(interestingNumbers(limits))
          }\r\n`;
        bytes = splice(bytes, frameStart(bytes, at), 0, encoder.encode(bomb));
        break;
      }
      default: { // CRLF games
        bytes = splice(
          bytes,
          at,
          rng.int(3),
          encoder.encode(rng.pick(["\r", "\n", "\n\r", "\r\r\n"])),
        );
      }
    }
  }
  return bytes;
}

function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const end = Math.min(bytes.length, at + remove);
  const out = new Uint8Array(at + insert.length + bytes.length - end);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(end), at + insert.length);
  return out;
}

/** The digits (with a sign) after the next type byte at or after `from`. */
function digitRun(bytes: Uint8Array, from: number): [number, number] | undefined {
  for (let i = from; i < bytes.length - 1; i++) {
    const c = bytes[i]!;
    if (
      (c === 0x24 || c === 0x2a || c === 0x25 || c === 0x7e || c === 0x3a || c === 0x3d) &&
      (i === 0 || bytes[i - 1] === 0x0a)
    ) {
      let end = i + 1;
      while (end < bytes.length && bytes[end] !== 0x0d) end++;
      return [i + 1, end];
    }
  }
  return undefined;
}

/** A position just after a LF (a likely token start) at or before `at`. */
function frameStart(bytes: Uint8Array, at: number): number {
  for (let i = Math.min(at, bytes.length) - 1; i >= 0; i--) if (bytes[i] === 0x0a) return i + 1;
  return 0;
}
