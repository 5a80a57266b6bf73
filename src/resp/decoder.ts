/**
 * An incremental RESP2/RESP3 decoder: bytes go in as they arrive from a
 * socket, complete frames come out. It does no I/O.
 *
 * @module
 */

import { describe } from "../_checks.ts";
import { ProtocolError, ReplyError } from "../errors.ts";
import { Push, type RespValue } from "./types.ts";

/**
 * Bounds that turn a hostile or broken byte stream into a
 * {@linkcode ProtocolError} rather than a hang or unbounded memory.
 *
 * The bytes held are bounded by `maxBufferedBytes`; what one reply decodes to
 * by `maxReplyElements` and `maxReplyBytes`, which are counted as the reply is
 * decoded, so a reply that announces billions of tiny elements is refused
 * once it has decoded that many, not when the process runs out of memory.
 */
export interface DecoderLimits {
  /**
   * The largest bulk string, verbatim string or blob error payload, in bytes.
   *
   * @default {536870912} 512 MiB, Redis' own `proto-max-bulk-len`
   */
  maxBulkLength?: number;
  /**
   * How deeply aggregates (arrays, maps, sets, pushes, attributes) may nest.
   * A top-level array is at depth 1.
   *
   * @default {64}
   */
  maxDepth?: number;
  /**
   * The most bytes the decoder holds that it has not yet decoded. It must
   * leave room for one whole bulk string and its header:
   * at least `maxBulkLength + 1024`.
   *
   * @default {537001984} `maxBulkLength` + 128 KiB
   */
  maxBufferedBytes?: number;
  /**
   * The longest line: a simple string, an error, a number or a length
   * header, in bytes, without its CRLF.
   *
   * @default {65536} 64 KiB, as Redis' `PROTO_INLINE_MAX_SIZE`
   */
  maxInlineLength?: number;
  /**
   * The most elements an array, set or push may announce (a map or an
   * attribute may announce this many pairs). Elements are never preallocated:
   * memory grows with what actually arrives, and what arrives is bounded by
   * `maxReplyElements` and `maxReplyBytes`; this only caps what one header
   * may announce.
   *
   * @default {4294967295} 2³² − 1
   */
  maxAggregateLength?: number;
  /**
   * The most values one top-level reply may decode to, counting every value
   * at every nesting level: the reply itself, each aggregate and each element
   * (a map or attribute pair counts as two values). Counted as values are
   * decoded, before they are kept.
   *
   * @default {16777216} 2²⁴
   */
  maxReplyElements?: number;
  /**
   * The most memory one top-level reply may decode to, in bytes, as an
   * estimate: the payload bytes of its strings plus, for each value, a fixed
   * overhead measured on V8 for its kind (from 16 bytes for a small integer to
   * about 1 KiB for an error reply, which captures a stack trace). Counted as
   * values are decoded, before they are kept. Text decoded from invalid UTF-8
   * may take up to twice its payload bytes.
   *
   * @default {537001984} 512 MiB + 128 KiB, so that a reply holding one value
   * of Redis' largest size (`proto-max-bulk-len`) fits; `maxBulkLength` +
   * 128 KiB when that is larger
   */
  maxReplyBytes?: number;
}

/** How {@linkcode RespDecoder.read} returns the frame it decodes. */
export interface ReadOptions {
  /**
   * Return bulk strings and verbatim strings as `Uint8Array` (binary-safe
   * copies) instead of UTF-8 decoded strings. Simple strings, errors and map
   * keys that are simple strings stay strings.
   *
   * Like Node's `Buffer` pool, values up to 1 KiB are views into a shared
   * 16 KiB `ArrayBuffer` (the decoder never writes into a view it returned):
   * use a value's own `byteOffset` and `length`, and copy it (`slice()`)
   * before transferring its `buffer` to a worker.
   *
   * @default {false}
   */
  bytes?: boolean;
}

const DEFAULT_MAX_BULK_LENGTH = 512 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 64;
const DEFAULT_MAX_INLINE_LENGTH = 64 * 1024;
const DEFAULT_MAX_AGGREGATE_LENGTH = 2 ** 32 - 1;
const DEFAULT_MAX_REPLY_ELEMENTS = 2 ** 24;
const BUFFER_HEADROOM = 128 * 1024;
const MIN_BUFFER_HEADROOM = 1024;

const INITIAL_CAPACITY = 16 * 1024;
/** An emptied buffer larger than this is released rather than kept. */
const RETAINED_CAPACITY = 1024 * 1024;
/** Strings up to this many bytes are decoded in JavaScript when they are ASCII. */
const SHORT_STRING = 48;
/** Byte values up to this size are copied into a shared slab rather than their own buffer. */
const SLAB_MAX = 1024;
const SLAB_SIZE = 16 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const QUESTION = 0x3f;
const COLON_CHAR = 0x3a;

const SIMPLE = 0x2b; // +
const ERROR = 0x2d; // -
const INTEGER = 0x3a; // :
const BULK = 0x24; // $
const ARRAY = 0x2a; // *
const MAP = 0x25; // %
const SET = 0x7e; // ~
const DOUBLE = 0x2c; // ,
const BOOLEAN = 0x23; // #
const BIG_NUMBER = 0x28; // (
const VERBATIM = 0x3d; // =
const BLOB_ERROR = 0x21; // !
const PUSH = 0x3e; // >
const ATTRIBUTE = 0x7c; // |
const NULL = 0x5f; // _
const STREAMED_PART = 0x3b; // ;
const STREAMED_END = 0x2e; // .

/*
 * What one decoded value costs, in bytes beyond its payload, for maxReplyBytes:
 * its own objects and its slot in the array that holds it. Measured on V8 15.0
 * (Deno 2.9.6, x86-64, no pointer compression: 8-byte slots) as heapUsed +
 * external after two GCs, over 1,000,000 values decoded by this class into
 * one array (scratch script, `--v8-flags=--expose-gc`); the weights round the
 * worst measured figure up. Per value:
 *
 *   small integer, boolean, null, 1-char string   10.5 (array slots grow by 1.5x: up to 12)
 *   double or integer beyond 31 bits, in a mixed array  26.5 (16-byte heap number + slot)
 *   big number of 31 digits                        42.6
 *   string > 48 bytes (TextDecoder, flat)          25.6–32.6; invalid UTF-8 becomes
 *                                                  U+FFFD, 2 bytes per payload byte
 *   string ≤ 48 bytes (ASCII, built by #text)      25.5 (16 B) … 226.6 (47 B): a rope of
 *                                                  up to 5 pieces and 4 cons strings
 *   Uint8Array view (bytes: true)                  114.6 (view on the slab); 180.6 with the
 *                                                  slab's worst padding (964 B); 210.5 (own
 *                                                  buffer, > 1 KiB)
 *   empty array []                                 42.5
 *   array of 1–17 elements                         194.6 + its elements (push allocates 17 slots)
 *   empty Map / Map of 1–4 pairs                   194.5 / 193–195 in all
 *   Map, per member value (hash table, 2x spare)   ≤ 28 at steady state, + the 12 of the items
 *                                                  array it is built from
 *   empty Set / Set of 1–8 members                 162.5 / 241 in all
 *   Set, per member (hash table, 2x spare)         ≤ 40.2 in all
 *   Push of 1 element                              82.6
 *   ReplyError                                     713.6 (7 frames deep), 1,013.6 (10 frames
 *                                                  or more: Error.stackTraceLimit's default)
 *
 * Checked the other way round over 100,000-value replies of each shape: the
 * estimate (the smallest maxReplyBytes that decodes the reply) is 1.01x (1 KiB
 * byte values) to 5x (1-byte strings, which V8 shares) what the reply takes,
 * never less, except text from invalid UTF-8 over 48 bytes (0.74x at 64 bytes).
 */
/** A number in 32-bit integer range, a boolean or a null: its slot. */
const SLOT_WEIGHT = 16;
/** A double or a larger integer: a heap number and its slot. */
const NUMBER_WEIGHT = 32;
/** A bigint, plus its decimal digits as payload (a bigint takes under half a byte per digit). */
const BIG_NUMBER_WEIGHT = 48;
/** A flat string: 16-byte header, up to 7 bytes of padding, its slot. */
const TEXT_WEIGHT = 48;
/** Each further piece of a short string's rope: a sequential string and a cons string. */
const ROPE_PIECE_WEIGHT = 56;
/** A `Uint8Array` view, with the slab's padding. */
const BYTES_WEIGHT = 224;
/** An error reply, with the stack trace it captures, beyond its text's own weight. */
const ERROR_WEIGHT = 1024;
const EMPTY_ARRAY_WEIGHT = 48;
const ARRAY_WEIGHT = 208;
const MAP_WEIGHT = 208;
const EMPTY_SET_WEIGHT = 176;
const SET_WEIGHT = 256;
const PUSH_WEIGHT = 128;
/** What each value of a map or attribute adds to its hash table, and to the array it is built from. */
const MAP_MEMBER_WEIGHT = 24;
/** What each member of a set adds to its hash table, and to the array it is built from. */
const SET_MEMBER_WEIGHT = 32;
/** What each element of a push adds: the copy that leaves its kind out. */
const PUSH_MEMBER_WEIGHT = 8;

/**
 * The weight of a string of up to `SHORT_STRING` bytes, by length, as
 * `#text` builds it: one `fromCharCode` piece per 16 bytes, then one of 8, of
 * 4 and of the rest, joined into a rope.
 */
const SHORT_TEXT_WEIGHT = Uint16Array.from({ length: SHORT_STRING + 1 }, (_, length) => {
  const pieces = (length >> 4) + ((length >> 3) & 1) + ((length >> 2) & 1) + (length & 3 ? 1 : 0);
  return TEXT_WEIGHT + ROPE_PIECE_WEIGHT * Math.max(0, pieces - 1);
});
/** The largest weight of one string: the fast path leaves longer strings to the general path. */
const MAX_STRING_WEIGHT = Math.max(BYTES_WEIGHT, ...SHORT_TEXT_WEIGHT);

/** The weight of a decoded string of `length` payload bytes. */
function textWeight(length: number): number {
  return length <= SHORT_STRING ? SHORT_TEXT_WEIGHT[length]! : TEXT_WEIGHT;
}

/** What the fast path returns when the general path must decode the frame. */
const SLOW: unique symbol = Symbol("slow");
/** The longest simple string the fast path decodes, in bytes. */
const SHORT_LINE = 64;

/** Outcomes of parsing one token. */
const INCOMPLETE = 0;
const VALUE = 1;
const AGGREGATE = 2;
const NOTHING = 3;

const EMPTY = new Uint8Array(0);
/** The slab small byte values are copied into: allocating one buffer per value costs 10x more. */
let slab = EMPTY;
let slabOffset = 0;
const textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** An aggregate whose elements are still arriving. */
class Frame {
  readonly items: RespValue[] = [];
  constructor(
    readonly type: number,
    public remaining: number,
    /** What each value adds, beyond its own weight, as a member of this aggregate. */
    readonly memberWeight: number,
  ) {}
}

/**
 * Decodes a stream of RESP2 and RESP3 frames. Feed it bytes with
 * {@linkcode RespDecoder.push} and take complete top-level frames with
 * {@linkcode RespDecoder.read}; a frame may be split at any byte.
 *
 * Error replies (`-` and `!`) are returned as {@linkcode ReplyError} values,
 * not thrown, so a pipeline keeps one result per command. A broken stream or
 * an exceeded limit throws a {@linkcode ProtocolError}; the decoder is then
 * unusable and every later call throws the same error.
 *
 * Call `read()` until it returns `undefined` after each `push()`: bytes that
 * are pushed but not read count against `maxBufferedBytes`. What one reply
 * decodes to is bounded by `maxReplyElements` and `maxReplyBytes` (see
 * {@linkcode DecoderLimits}), counted while it is decoded: a peer that
 * streams one endless reply gets a `ProtocolError`, and the memory it took
 * stays under those bounds.
 *
 * @example Decoding a reply that arrives in two pieces
 * ```ts
 * import { RespDecoder } from "./decoder.ts";
 *
 * const decoder = new RespDecoder();
 * const bytes = new TextEncoder().encode("*2\r\n$5\r\nhello\r\n:42\r\n");
 * decoder.push(bytes.subarray(0, 9));
 * console.log(decoder.read()); // undefined
 * decoder.push(bytes.subarray(9));
 * console.log(decoder.read()); // ["hello", 42]
 * ```
 */
export class RespDecoder {
  readonly #maxBulkLength: number;
  readonly #maxDepth: number;
  readonly #maxBufferedBytes: number;
  readonly #maxInlineLength: number;
  readonly #maxAggregateLength: number;
  readonly #maxReplyElements: number;
  readonly #maxReplyBytes: number;
  /** The longest bulk string the fast path decodes: within every limit whatever its kind. */
  readonly #plainBulkMax: number;
  /** The longest simple string the fast path decodes. */
  readonly #plainLineMax: number;
  /** The longest integer line the fast path decodes; -1 if an integer may exceed maxReplyBytes. */
  readonly #plainIntegerLineMax: number;

  #buffer: Uint8Array = EMPTY;
  /** Where the undecoded bytes start in `#buffer`. */
  #start = 0;
  /** Where the undecoded bytes end in `#buffer`. */
  #end = 0;
  /** How many undecoded bytes the pending token needs before it is worth parsing again. */
  #needed = 0;
  /** Where, from `#start`, the search for the pending line's end resumes. */
  #scan = 0;

  /** The aggregates of the frame being decoded, outermost first. */
  readonly #stack: Frame[] = [];
  /** Whether part of a frame has been decoded, which fixes the read options. */
  #inFrame = false;
  #bytes = false;
  #frameAttributes: Map<RespValue, RespValue> | undefined;
  #lastAttributes: Map<RespValue, RespValue> | undefined;
  /** The token's value, when `#parseToken` returns `VALUE`. */
  #value: RespValue = null;
  /** How many more values the reply being decoded on the general path may have. */
  #elementsLeft: number;
  /** How many more estimated bytes the reply being decoded on the general path may take. */
  #bytesLeft: number;
  /** The estimated decoded size of the frame last returned, for {@linkcode RespDecoder.lastReplyBytes}. */
  #lastReplyBytes = 0;
  /** What each value adds as a member of the innermost open aggregate (`Frame.memberWeight`). */
  #memberWeight = 0;
  #error: ProtocolError | undefined;

  /**
   * Creates a decoder.
   *
   * @param limits Bounds on what the peer may send; see {@linkcode DecoderLimits}.
   * @throws {RangeError} If a limit is not a positive integer, or
   * `maxBufferedBytes` leaves no room for a bulk string of `maxBulkLength`.
   *
   * @example A decoder for replies of at most 1,000 values and about 1 MiB
   * ```ts
   * import { RespDecoder } from "./decoder.ts";
   *
   * const decoder = new RespDecoder({ maxReplyElements: 1000, maxReplyBytes: 1024 * 1024 });
   * decoder.push(new TextEncoder().encode("*1001\r\n" + ":1\r\n".repeat(1001)));
   * try {
   *   decoder.read();
   * } catch (error) {
   *   console.log((error as Error).message);
   *   // "Cannot decode RESP frame: the reply exceeds maxReplyElements (1000 values); …"
   * }
   * ```
   */
  constructor(limits: DecoderLimits = {}) {
    this.#maxBulkLength = readLimit(limits, "maxBulkLength", DEFAULT_MAX_BULK_LENGTH);
    this.#maxDepth = readLimit(limits, "maxDepth", DEFAULT_MAX_DEPTH);
    this.#maxInlineLength = readLimit(limits, "maxInlineLength", DEFAULT_MAX_INLINE_LENGTH);
    this.#maxAggregateLength = readLimit(
      limits,
      "maxAggregateLength",
      DEFAULT_MAX_AGGREGATE_LENGTH,
    );
    this.#maxBufferedBytes = readLimit(
      limits,
      "maxBufferedBytes",
      this.#maxBulkLength + BUFFER_HEADROOM,
    );
    if (this.#maxBufferedBytes < this.#maxBulkLength + MIN_BUFFER_HEADROOM) {
      throw new RangeError(
        `Cannot create RESP decoder: 'maxBufferedBytes' must be at least 'maxBulkLength' + ${MIN_BUFFER_HEADROOM} (${
          this.#maxBulkLength + MIN_BUFFER_HEADROOM
        }), got ${this.#maxBufferedBytes}`,
      );
    }
    this.#maxReplyElements = readLimit(
      limits,
      "maxReplyElements",
      DEFAULT_MAX_REPLY_ELEMENTS,
    );
    this.#maxReplyBytes = readLimit(
      limits,
      "maxReplyBytes",
      Math.max(DEFAULT_MAX_BULK_LENGTH, this.#maxBulkLength) + BUFFER_HEADROOM,
    );
    this.#elementsLeft = this.#maxReplyElements;
    this.#bytesLeft = this.#maxReplyBytes;
    // The fast path decodes one value, which never exceeds maxReplyElements; it
    // leaves to the general path any value whose weight might exceed maxReplyBytes.
    const plainMax = this.#maxReplyBytes - MAX_STRING_WEIGHT;
    this.#plainBulkMax = Math.min(this.#maxBulkLength, plainMax);
    this.#plainLineMax = Math.min(SHORT_LINE, this.#maxInlineLength, plainMax);
    this.#plainIntegerLineMax = this.#maxReplyBytes >= NUMBER_WEIGHT ? this.#maxInlineLength : -1;
  }

  /**
   * How many bytes were pushed and not yet decoded. Parts of a frame that are
   * already decoded (the first elements of an unfinished array) no longer
   * count.
   *
   * @returns The number of undecoded bytes held.
   */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /**
   * The estimated decoded size, in bytes, of the frame last returned by
   * {@linkcode RespDecoder.read}, as `maxReplyBytes` counts it: for callers
   * that keep several replies (a pipeline) and bound them together.
   *
   * @returns The estimate.
   *
   * @example
   * ```ts
   * import { RespDecoder } from "./decoder.ts";
   *
   * const decoder = new RespDecoder();
   * decoder.push(new TextEncoder().encode("$5\r\nhello\r\n"));
   * decoder.read();
   * console.log(decoder.lastReplyBytes > 5); // true: the payload and the string's own cost
   * ```
   */
  get lastReplyBytes(): number {
    return this.#lastReplyBytes;
  }

  /**
   * The most one reply may decode to, in estimated bytes (`maxReplyBytes`).
   *
   * @returns The limit.
   *
   * @example
   * ```ts
   * import { RespDecoder } from "./decoder.ts";
   *
   * console.log(new RespDecoder({ maxReplyBytes: 1 << 20 }).maxReplyBytes); // 1048576
   * ```
   */
  get maxReplyBytes(): number {
    return this.#maxReplyBytes;
  }

  /**
   * The attributes (`|` frames) that came with the frame last returned by
   * {@linkcode RespDecoder.read}, merged into one map; `undefined` if it had
   * none. Attributes are otherwise dropped.
   *
   * @returns The attribute map, or `undefined`.
   */
  get lastAttributes(): Map<RespValue, RespValue> | undefined {
    return this.#lastAttributes;
  }

  /**
   * Appends bytes received from the peer. The bytes are copied, so the caller
   * may reuse `chunk`.
   *
   * @param chunk The bytes, in the order they arrived.
   * @throws {ProtocolError} If the undecoded bytes would exceed
   * `maxBufferedBytes`, or the decoder already failed.
   *
   * @example
   * ```ts
   * import { RespDecoder } from "./decoder.ts";
   *
   * const decoder = new RespDecoder();
   * decoder.push(new TextEncoder().encode("+PONG\r\n"));
   * console.log(decoder.bufferedBytes); // 7
   * ```
   */
  push(chunk: Uint8Array): void {
    if (this.#error !== undefined) throw this.#error;
    const length = chunk.length;
    if (length === 0) return;
    if (this.#end + length > this.#buffer.length) {
      const total = this.#end - this.#start + length;
      if (total > this.#maxBufferedBytes) {
        throw this.#fail(
          `Cannot buffer RESP data: ${total} undecoded bytes would exceed maxBufferedBytes ${this.#maxBufferedBytes}`,
        );
      }
      this.#reserve(total);
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += length;
  }

  /**
   * Decodes the next complete top-level frame.
   *
   * The options apply to the whole frame: when a frame arrives over several
   * calls, the options of the call that started decoding it are kept.
   *
   * @param options How to return the frame; see {@linkcode ReadOptions}.
   * @returns The frame's value, or `undefined` if more bytes are needed.
   * @throws {ProtocolError} If the bytes break the protocol or a limit, or the
   * decoder already failed.
   *
   * @example Binary-safe values and error replies
   * ```ts
   * import { RespDecoder } from "./decoder.ts";
   *
   * const decoder = new RespDecoder();
   * decoder.push(Uint8Array.of(0x24, 0x32, 0x0d, 0x0a, 0xff, 0x00, 0x0d, 0x0a)); // $2 ff 00
   * decoder.push(new TextEncoder().encode("-ERR no such key\r\n"));
   * console.log(decoder.read({ bytes: true })); // Uint8Array(2) [ 255, 0 ]
   * const error = decoder.read();
   * console.log(error instanceof Error); // true: returned, not thrown
   * ```
   */
  read(options?: ReadOptions): RespValue | undefined {
    if (this.#error !== undefined) throw this.#error;
    if (this.#end - this.#start < this.#needed) return undefined;
    if (!this.#inFrame) {
      this.#bytes = options?.bytes === true;
    }
    try {
      if (!this.#inFrame) {
        const value = this.#readPlain();
        if (value !== SLOW) return value;
      }
      return this.#decode();
    } catch (error) {
      if (error instanceof ProtocolError && this.#error === undefined) this.#poison(error);
      throw error;
    }
  }

  /**
   * The fast path for the most common replies: a complete top-level bulk
   * string, short simple string or integer, decoded without the general
   * machinery.
   * Anything else, incomplete or wrong returns `SLOW` with nothing consumed,
   * and the general path decodes it or reports it.
   */
  #readPlain(): RespValue | typeof SLOW {
    const buffer = this.#buffer;
    const start = this.#start;
    const end = this.#end;
    const type = buffer[start];
    if (type === BULK) {
      // `$<at most 9 digits>\r\n<payload>\r\n`
      const digitsEnd = Math.min(end, start + 1 + Math.min(9, this.#maxInlineLength));
      let at = start + 1;
      let length = 0;
      for (; at < digitsEnd; at++) {
        const digit = buffer[at]! - 0x30;
        if (digit < 0 || digit > 9) break;
        length = length * 10 + digit;
      }
      if (at === start + 1 || at + 1 >= end || buffer[at] !== CR || buffer[at + 1] !== LF) {
        return SLOW;
      }
      const from = at + 2;
      const to = from + length;
      if (length > this.#plainBulkMax || to + 2 > end) return SLOW;
      if (buffer[to] !== CR || buffer[to + 1] !== LF) return SLOW;
      const value = this.#bytes ? this.#copy(from, to) : this.#text(from, to);
      this.#lastReplyBytes = length + (this.#bytes ? BYTES_WEIGHT : TEXT_WEIGHT);
      this.#start = to + 2;
      this.#needed = 0;
      this.#scan = 0;
      return this.#finishFrame(value);
    }
    if (type === SIMPLE) {
      // `+<at most SHORT_LINE bytes>\r\n`
      const limit = Math.min(end - 1, start + 2 + this.#plainLineMax);
      for (let at = start + 1; at < limit; at++) {
        const c = buffer[at];
        if (c === LF) return SLOW;
        if (c !== CR) continue;
        if (buffer[at + 1] !== LF) return SLOW;
        const value = at === start + 3 && buffer[start + 1] === 0x4f && buffer[start + 2] === 0x4b
          ? "OK"
          : this.#text(start + 1, at);
        this.#lastReplyBytes = at - start + TEXT_WEIGHT;
        this.#start = at + 2;
        this.#needed = 0;
        this.#scan = 0;
        return this.#finishFrame(value);
      }
      return SLOW;
    }
    if (type === INTEGER) {
      // `:[-]<at most 15 digits>\r\n`, exact as a number
      let at = start + 1;
      const negative = buffer[at] === MINUS;
      if (negative) at++;
      const digitsFrom = at;
      const limit = Math.min(end, digitsFrom + 15);
      let value = 0;
      for (; at < limit; at++) {
        const digit = buffer[at]! - 0x30;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
      }
      if (
        at === digitsFrom || at + 1 >= end || buffer[at] !== CR || buffer[at + 1] !== LF ||
        at - start - 1 > this.#plainIntegerLineMax
      ) {
        return SLOW;
      }
      this.#lastReplyBytes = NUMBER_WEIGHT;
      this.#start = at + 2;
      this.#needed = 0;
      this.#scan = 0;
      return this.#finishFrame(negative ? 0 - value : value);
    }
    return SLOW;
  }

  /** Decodes tokens until a top-level frame completes or bytes run out. */
  #decode(): RespValue | undefined {
    const stack = this.#stack;
    tokens: for (;;) {
      const outcome = this.#parseToken();
      if (outcome === INCOMPLETE) return undefined;
      this.#needed = 0;
      this.#scan = 0;
      if (outcome === NOTHING) continue;
      this.#inFrame = true;
      if (outcome === AGGREGATE) continue;
      let value = this.#value;
      this.#value = null; // Do not keep a large value alive.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.#elementsLeft = this.#maxReplyElements;
          this.#lastReplyBytes = this.#maxReplyBytes - this.#bytesLeft;
          this.#bytesLeft = this.#maxReplyBytes;
          return this.#finishFrame(value);
        }
        top.items.push(value);
        if (--top.remaining > 0) continue tokens;
        stack.pop();
        this.#memberWeight = stack.length === 0 ? 0 : stack[stack.length - 1]!.memberWeight;
        if (top.type === ATTRIBUTE) {
          this.#addAttributes(top.items);
          continue tokens;
        }
        value = this.#build(top);
      }
    }
  }

  /**
   * Parses the token at `#start`. On success it consumes the token and
   * either sets `#value` (`VALUE`) or opens an aggregate (`AGGREGATE`); an
   * attribute with no pairs yields `NOTHING`.
   */
  #parseToken(): number {
    const buffer = this.#buffer;
    const start = this.#start;
    const end = this.#end;
    if (start >= end) {
      this.#needed = 1;
      return INCOMPLETE;
    }
    const type = buffer[start]!;
    switch (type) {
      case BULK:
      case VERBATIM:
      case BLOB_ERROR:
        return this.#parseBlob(type);
      case ARRAY:
      case MAP:
      case SET:
      case PUSH:
      case ATTRIBUTE:
        return this.#parseAggregate(type);
      case SIMPLE:
      case ERROR:
      case INTEGER:
      case DOUBLE:
      case BOOLEAN:
      case BIG_NUMBER:
      case NULL:
        return this.#parseLine(type);
      case STREAMED_PART:
      case STREAMED_END:
        throw new ProtocolError(
          `Cannot decode RESP frame: streamed string parts (type byte ${
            hex(type)
          }) are not supported`,
        );
      default:
        throw new ProtocolError(`Cannot decode RESP frame: unknown type byte ${hex(type)}`);
    }
  }

  /** Parses a one-line token: simple string, error, integer, double, boolean, big number, null. */
  #parseLine(type: number): number {
    const lineEnd = this.#findLineEnd();
    if (lineEnd === -1) return INCOMPLETE;
    const buffer = this.#buffer;
    const from = this.#start + 1;
    let value: RespValue;
    switch (type) {
      case SIMPLE:
        this.#count(lineEnd - from + textWeight(lineEnd - from));
        value = this.#text(from, lineEnd);
        break;
      case ERROR:
        this.#count(lineEnd - from + textWeight(lineEnd - from) + ERROR_WEIGHT);
        value = new ReplyError(this.#text(from, lineEnd));
        break;
      case INTEGER:
        value = this.#integer(from, lineEnd);
        this.#count(
          typeof value === "bigint"
            ? lineEnd - from + BIG_NUMBER_WEIGHT
            : (value | 0) === value
            ? SLOT_WEIGHT
            : NUMBER_WEIGHT,
        );
        break;
      case DOUBLE:
        value = parseDouble(latin1(buffer, from, lineEnd));
        this.#count(NUMBER_WEIGHT);
        break;
      case BOOLEAN: {
        const c = lineEnd - from === 1 ? buffer[from] : undefined;
        if (c === 0x74 /* t */) value = true;
        else if (c === 0x66 /* f */) value = false;
        else {
          throw new ProtocolError(
            `Cannot decode RESP frame: invalid boolean ${quote(buffer, from, lineEnd)}`,
          );
        }
        this.#count(SLOT_WEIGHT);
        break;
      }
      case BIG_NUMBER: {
        const text = latin1(buffer, from, lineEnd);
        if (!/^[+-]?[0-9]+$/.test(text)) {
          throw new ProtocolError(
            `Cannot decode RESP frame: invalid big number ${quote(buffer, from, lineEnd)}`,
          );
        }
        this.#count(lineEnd - from + BIG_NUMBER_WEIGHT);
        value = BigInt(text);
        break;
      }
      default: // NULL
        if (lineEnd !== from) {
          throw new ProtocolError(
            `Cannot decode RESP frame: null must be empty, got ${quote(buffer, from, lineEnd)}`,
          );
        }
        this.#count(SLOT_WEIGHT);
        value = null;
    }
    this.#value = value;
    this.#start = lineEnd + 2;
    return VALUE;
  }

  /** Parses a length-prefixed token: bulk string, verbatim string, blob error. */
  #parseBlob(type: number): number {
    const buffer = this.#buffer;
    const start = this.#start;
    if (start + 1 < this.#end && buffer[start + 1] === QUESTION) {
      throw new ProtocolError(
        `Cannot decode RESP frame: streamed strings ('${
          String.fromCharCode(type)
        }?') are not supported`,
      );
    }
    const lineEnd = this.#findLineEnd();
    if (lineEnd === -1) return INCOMPLETE;
    const what = type === BULK
      ? "bulk string"
      : type === VERBATIM
      ? "verbatim string"
      : "blob error";
    const length = this.#length(start + 1, lineEnd, what, this.#maxBulkLength, "maxBulkLength");
    if (length === -1) {
      if (type !== BULK) {
        throw new ProtocolError(`Cannot decode RESP frame: ${what} length -1 is not allowed`);
      }
      this.#count(SLOT_WEIGHT);
      this.#value = null;
      this.#start = lineEnd + 2;
      return VALUE;
    }
    const from = lineEnd + 2;
    const to = from + length;
    if (to + 2 > this.#end) {
      // Not parsed again until the whole payload is here; the buffer grows
      // towards this size as bytes arrive (not all at once: the header alone
      // may be hostile).
      this.#needed = to + 2 - start;
      this.#scan = 0;
      return INCOMPLETE;
    }
    if (buffer[to] !== CR || buffer[to + 1] !== LF) {
      throw new ProtocolError(
        `Cannot decode RESP frame: missing CRLF after the ${length}-byte ${what} payload`,
      );
    }
    if (type === BULK) {
      if (this.#bytes) {
        this.#count(length + BYTES_WEIGHT);
        this.#value = this.#copy(from, to);
      } else {
        this.#count(length + textWeight(length));
        this.#value = this.#text(from, to);
      }
    } else if (type === VERBATIM) {
      if (length < 4 || buffer[from + 3] !== COLON_CHAR) {
        throw new ProtocolError(
          `Cannot decode RESP frame: verbatim string of ${length} bytes lacks its 'fmt:' prefix`,
        );
      }
      this.#count(length - 4 + (this.#bytes ? BYTES_WEIGHT : textWeight(length - 4)));
      this.#value = this.#bytes ? this.#copy(from + 4, to) : this.#text(from + 4, to);
    } else {
      this.#count(length + textWeight(length) + ERROR_WEIGHT);
      this.#value = new ReplyError(this.#text(from, to));
    }
    this.#start = to + 2;
    return VALUE;
  }

  /** Parses an aggregate header and opens it, or yields its value when it is empty. */
  #parseAggregate(type: number): number {
    const buffer = this.#buffer;
    const start = this.#start;
    if (start + 1 < this.#end && buffer[start + 1] === QUESTION) {
      throw new ProtocolError(
        `Cannot decode RESP frame: streamed aggregates ('${
          String.fromCharCode(type)
        }?') are not supported`,
      );
    }
    const lineEnd = this.#findLineEnd();
    if (lineEnd === -1) return INCOMPLETE;
    const what = aggregateName(type);
    const count = this.#length(
      start + 1,
      lineEnd,
      what,
      this.#maxAggregateLength,
      "maxAggregateLength",
    );
    this.#start = lineEnd + 2;
    if (count === -1) {
      if (type !== ARRAY) {
        throw new ProtocolError(`Cannot decode RESP frame: ${what} length -1 is not allowed`);
      }
      this.#count(SLOT_WEIGHT);
      this.#value = null;
      return VALUE;
    }
    if (count === 0) {
      switch (type) {
        case ARRAY:
          this.#count(EMPTY_ARRAY_WEIGHT);
          this.#value = [];
          return VALUE;
        case MAP:
          this.#count(MAP_WEIGHT);
          this.#value = new Map();
          return VALUE;
        case SET:
          this.#count(EMPTY_SET_WEIGHT);
          this.#value = new Set();
          return VALUE;
        case PUSH:
          throw new ProtocolError("Cannot decode RESP frame: push frame has no elements");
        default: // ATTRIBUTE
          this.#addAttributes([]);
          return NOTHING;
      }
    }
    if (this.#stack.length >= this.#maxDepth) {
      throw new ProtocolError(
        `Cannot decode RESP frame: ${what} nests deeper than maxDepth ${this.#maxDepth}`,
      );
    }
    let weight = ARRAY_WEIGHT;
    let memberWeight = 0;
    let remaining = count;
    switch (type) {
      case MAP:
      case ATTRIBUTE:
        weight = MAP_WEIGHT;
        memberWeight = MAP_MEMBER_WEIGHT;
        remaining = count * 2;
        break;
      case SET:
        weight = SET_WEIGHT;
        memberWeight = SET_MEMBER_WEIGHT;
        break;
      case PUSH:
        weight = PUSH_WEIGHT;
        memberWeight = PUSH_MEMBER_WEIGHT;
    }
    this.#count(weight);
    this.#stack.push(new Frame(type, remaining, memberWeight));
    this.#memberWeight = memberWeight;
    return AGGREGATE;
  }

  /**
   * Finds the CR of the line that starts after the type byte at `#start`,
   * checking the LF after it. Returns -1 (and records what is needed) when the
   * line is incomplete.
   */
  #findLineEnd(): number {
    const buffer = this.#buffer;
    const start = this.#start;
    const end = this.#end;
    const max = this.#maxInlineLength;
    // The CR may sit at most at start + 1 + max.
    const limit = Math.min(end, start + max + 2);
    let at = start + (this.#scan > 0 ? this.#scan : 1);
    for (; at < limit; at++) {
      const c = buffer[at]!;
      if (c === CR) {
        if (at + 1 >= end) {
          this.#scan = at - start;
          this.#needed = at + 2 - start;
          return -1;
        }
        if (buffer[at + 1] !== LF) {
          throw new ProtocolError(
            `Cannot decode RESP frame: expected LF after CR, got ${hex(buffer[at + 1]!)}`,
          );
        }
        return at;
      }
      if (c === LF) {
        throw new ProtocolError(
          `Cannot decode RESP frame: LF without CR in a '${
            String.fromCharCode(buffer[start]!)
          }' line`,
        );
      }
    }
    if (limit - start > max + 1) {
      throw new ProtocolError(
        `Cannot decode RESP frame: '${
          String.fromCharCode(buffer[start]!)
        }' line exceeds maxInlineLength ${max} without a CRLF`,
      );
    }
    this.#scan = at - start;
    this.#needed = at + 1 - start;
    return -1;
  }

  /**
   * Parses a length or count: non-negative decimal digits, or exactly `-1`.
   */
  #length(from: number, to: number, what: string, max: number, maxName: string): number {
    const buffer = this.#buffer;
    if (from === to || buffer[from] === MINUS) {
      if (to - from === 2 && buffer[from] === MINUS && buffer[from + 1] === 0x31) return -1;
      throw lengthError(buffer, from, to, what, max, maxName);
    }
    let value = 0;
    for (let i = from; i < to; i++) {
      const digit = buffer[i]! - 0x30;
      if (digit < 0 || digit > 9 || (value = value * 10 + digit) > max) {
        throw lengthError(buffer, from, to, what, max, maxName);
      }
    }
    return value;
  }

  /** Parses a RESP integer: a number when exact, else a bigint. */
  #integer(from: number, to: number): number | bigint {
    const buffer = this.#buffer;
    let at = from;
    const sign = buffer[at];
    const negative = sign === MINUS;
    if (negative || sign === PLUS) at++;
    const digits = to - at;
    if (digits <= 0) {
      throw new ProtocolError(
        `Cannot decode RESP frame: invalid integer ${quote(buffer, from, to)}`,
      );
    }
    if (digits <= 15) {
      let value = 0;
      for (let i = at; i < to; i++) {
        const digit = buffer[i]! - 0x30;
        if (digit < 0 || digit > 9) {
          throw new ProtocolError(
            `Cannot decode RESP frame: invalid integer ${quote(buffer, from, to)}`,
          );
        }
        value = value * 10 + digit;
      }
      return negative ? 0 - value : value;
    }
    const text = latin1(buffer, from, to);
    if (!/^[+-]?[0-9]+$/.test(text)) {
      throw new ProtocolError(
        `Cannot decode RESP frame: invalid integer ${quote(buffer, from, to)}`,
      );
    }
    const big = BigInt(text);
    return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
  }

  /**
   * Counts one value of the reply being decoded against `maxReplyElements`
   * and `maxReplyBytes`, before the value is made and kept.
   *
   * @param weight The value's estimated bytes: its payload and its kind's weight.
   */
  #count(weight: number): void {
    if (
      --this.#elementsLeft < 0 || (this.#bytesLeft -= weight + this.#memberWeight) < 0
    ) {
      this.#replyTooLarge();
    }
  }

  /** Throws the error for the limit `#count` found exceeded. */
  #replyTooLarge(): never {
    const [name, value, unit] = this.#elementsLeft < 0
      ? ["maxReplyElements", this.#maxReplyElements, "values"]
      : ["maxReplyBytes", this.#maxReplyBytes, "bytes, estimated"];
    throw new ProtocolError(
      `Cannot decode RESP frame: the reply exceeds ${name} (${value} ${unit}); raise the limit if such replies are expected`,
    );
  }

  /** Decodes bytes as UTF-8; short ASCII runs are decoded without a call into the platform. */
  #text(from: number, to: number): string {
    const buffer = this.#buffer;
    if (to - from > SHORT_STRING) return textDecoder.decode(buffer.subarray(from, to));
    // Few, wide `fromCharCode` calls: each call makes a string, and each `+=` a rope node.
    let text = "";
    let i = from;
    for (; i + 16 <= to; i += 16) {
      const a = buffer[i]!, b = buffer[i + 1]!, c = buffer[i + 2]!, d = buffer[i + 3]!;
      const e = buffer[i + 4]!, f = buffer[i + 5]!, g = buffer[i + 6]!, h = buffer[i + 7]!;
      const j = buffer[i + 8]!, k = buffer[i + 9]!, l = buffer[i + 10]!, m = buffer[i + 11]!;
      const n = buffer[i + 12]!, o = buffer[i + 13]!, p = buffer[i + 14]!, q = buffer[i + 15]!;
      if ((a | b | c | d | e | f | g | h | j | k | l | m | n | o | p | q) & 0x80) {
        return textDecoder.decode(buffer.subarray(from, to));
      }
      text += String.fromCharCode(a, b, c, d, e, f, g, h, j, k, l, m, n, o, p, q);
    }
    if (i + 8 <= to) {
      const a = buffer[i]!, b = buffer[i + 1]!, c = buffer[i + 2]!, d = buffer[i + 3]!;
      const e = buffer[i + 4]!, f = buffer[i + 5]!, g = buffer[i + 6]!, h = buffer[i + 7]!;
      if ((a | b | c | d | e | f | g | h) & 0x80) {
        return textDecoder.decode(buffer.subarray(from, to));
      }
      text += String.fromCharCode(a, b, c, d, e, f, g, h);
      i += 8;
    }
    if (i + 4 <= to) {
      const a = buffer[i]!, b = buffer[i + 1]!, c = buffer[i + 2]!, d = buffer[i + 3]!;
      if ((a | b | c | d) & 0x80) return textDecoder.decode(buffer.subarray(from, to));
      text += String.fromCharCode(a, b, c, d);
      i += 4;
    }
    switch (to - i) {
      case 0:
        return text;
      case 1: {
        const a = buffer[i]!;
        if (a & 0x80) break;
        return text + String.fromCharCode(a);
      }
      case 2: {
        const a = buffer[i]!, b = buffer[i + 1]!;
        if ((a | b) & 0x80) break;
        return text + String.fromCharCode(a, b);
      }
      default: {
        const a = buffer[i]!, b = buffer[i + 1]!, c = buffer[i + 2]!;
        if ((a | b | c) & 0x80) break;
        return text + String.fromCharCode(a, b, c);
      }
    }
    return textDecoder.decode(buffer.subarray(from, to));
  }

  /**
   * Copies bytes out of the receive buffer, which is reused. Small values are
   * views into a shared slab that is never written at their place again.
   */
  #copy(from: number, to: number): Uint8Array {
    const buffer = this.#buffer;
    const length = to - from;
    if (length > SLAB_MAX) return buffer.slice(from, to);
    if (slabOffset + length > slab.length) {
      slab = new Uint8Array(SLAB_SIZE);
      slabOffset = 0;
    }
    const at = slabOffset;
    slabOffset += length;
    if (length <= 32) {
      for (let i = 0; i < length; i++) slab[at + i] = buffer[from + i]!;
    } else {
      slab.set(buffer.subarray(from, to), at);
    }
    return slab.subarray(at, at + length);
  }

  /** Turns a completed aggregate into its value. */
  #build(frame: Frame): RespValue {
    const items = frame.items;
    switch (frame.type) {
      case ARRAY:
        return items;
      case MAP: {
        const map = new Map<RespValue, RespValue>();
        for (let i = 0; i < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
        return map;
      }
      case SET:
        return new Set(items);
      default: { // PUSH
        const kind = items[0];
        if (typeof kind === "string") return new Push(kind, items.slice(1));
        if (kind instanceof Uint8Array) return new Push(textDecoder.decode(kind), items.slice(1));
        throw new ProtocolError(
          "Cannot decode RESP frame: push frame's first element is not a string",
        );
      }
    }
  }

  #addAttributes(items: RespValue[]): void {
    const attributes = this.#frameAttributes ?? new Map<RespValue, RespValue>();
    for (let i = 0; i < items.length; i += 2) attributes.set(items[i]!, items[i + 1]!);
    this.#frameAttributes = attributes;
  }

  /** Ends the top-level frame and returns its value. */
  #finishFrame(value: RespValue): RespValue {
    this.#inFrame = false;
    this.#lastAttributes = this.#frameAttributes;
    this.#frameAttributes = undefined;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
      if (this.#buffer.length > RETAINED_CAPACITY) this.#buffer = EMPTY;
    }
    return value;
  }

  /** Makes room for `total` undecoded bytes, compacting or growing the buffer. */
  #reserve(total: number): void {
    const buffer = this.#buffer;
    const start = this.#start;
    const live = this.#end - start;
    if (total <= buffer.length - start) return;
    if (total <= buffer.length && start >= live) {
      // Enough room once the decoded bytes are dropped, and cheap to move.
      buffer.copyWithin(0, start, this.#end);
    } else {
      let capacity = Math.max(total, buffer.length * 2, INITIAL_CAPACITY);
      // Do not overshoot the size of a pending bulk string, nor the limit.
      if (this.#needed > total) capacity = Math.min(capacity, this.#needed);
      capacity = Math.min(capacity, Math.max(total, this.#maxBufferedBytes));
      const grown = new Uint8Array(capacity);
      grown.set(buffer.subarray(start, this.#end));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#end = live;
  }

  #fail(message: string): ProtocolError {
    const error = new ProtocolError(message);
    this.#poison(error);
    return error;
  }

  #poison(error: ProtocolError): void {
    this.#error = error;
    this.#buffer = EMPTY;
    this.#start = 0;
    this.#end = 0;
    this.#stack.length = 0;
    this.#value = null;
    this.#frameAttributes = undefined;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

function readLimit(limits: DecoderLimits, name: keyof DecoderLimits, fallback: number): number {
  const value = limits[name];
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create RESP decoder: '${name}' must be a positive integer, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * The error for a length `#length` refused; kept out of it so that the
 * parsers it is inlined into stay within V8's inlining budget.
 */
function lengthError(
  buffer: Uint8Array,
  from: number,
  to: number,
  what: string,
  max: number,
  maxName: string,
): ProtocolError {
  if (from === to) return new ProtocolError(`Cannot decode RESP frame: ${what} length is empty`);
  const invalid = () =>
    new ProtocolError(
      `Cannot decode RESP frame: invalid ${what} length ${quote(buffer, from, to)}`,
    );
  if (buffer[from] === MINUS) return invalid();
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = buffer[i]! - 0x30;
    if (digit < 0 || digit > 9) return invalid();
    value = value * 10 + digit;
    if (value > max) {
      // Report the whole number if it is all digits, else the bad text.
      const text = latin1(buffer, from, Math.min(to, from + 40));
      return /^[0-9]+$/.test(text)
        ? new ProtocolError(
          `Cannot decode RESP frame: ${what} length ${text} exceeds ${maxName} ${max}`,
        )
        : invalid();
    }
  }
  return invalid();
}

function parseDouble(text: string): number {
  switch (text.toLowerCase()) {
    case "inf":
    case "+inf":
      return Infinity;
    case "-inf":
      return -Infinity;
    case "nan":
    case "-nan":
    case "+nan":
      return NaN;
  }
  if (!/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(text)) {
    throw new ProtocolError(`Cannot decode RESP frame: invalid double ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function aggregateName(type: number): string {
  switch (type) {
    case ARRAY:
      return "array";
    case MAP:
      return "map";
    case SET:
      return "set";
    case PUSH:
      return "push";
    default:
      return "attribute";
  }
}

function latin1(buffer: Uint8Array, from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i++) text += String.fromCharCode(buffer[i]!);
  return text;
}

/** Quotes at most 40 bytes of a line for an error message. */
function quote(buffer: Uint8Array, from: number, to: number): string {
  const shown = JSON.stringify(latin1(buffer, from, Math.min(to, from + 40)));
  return to - from > 40 ? `${shown}…` : shown;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}
