/**
 * Encodes commands as RESP arrays of bulk strings, the form every Redis and
 * Valkey server accepts from clients in RESP2 and RESP3 alike.
 *
 * Each call writes the command (or pipeline) in one pass into a shared
 * arena and returns an exactly sized copy (or, for the client's own writes, a
 * view of the arena, which saves the copy). A string is written as
 * if it were ASCII, which most are, and rewritten as UTF-8 only when it is
 * not; long strings go through the platform's `TextEncoder`.
 *
 * @module
 */

import { describe } from "../_checks.ts";
import type { CommandArg } from "./types.ts";

const ASTERISK = 0x2a; // *
const DOLLAR = 0x24; // $
const CR = 0x0d;
const LF = 0x0a;

/** Strings longer than this are written by the platform's `TextEncoder`. */
const NATIVE_ENCODE_THRESHOLD = 256;
/** Room for `$<length>\r\n` and the closing `\r\n` of any argument. */
const ARG_OVERHEAD = 24;
const ARENA_SIZE = 64 * 1024;
/** An arena grown past this is dropped after the call rather than kept. */
const ARENA_RETAINED = 1024 * 1024;

const textEncoder = new TextEncoder();

/**
 * Where commands are written (JavaScript runs one call at a time, and
 * encoding runs no caller code, so it can be shared). The exact-copy
 * functions write at `used` and copy out; the view functions hand the bytes
 * out as a view and move `used` past them, so the arena is never written
 * twice at a place a view was given.
 */
let arena = new Uint8Array(ARENA_SIZE);
/** Where the bytes handed out as views end. */
let used = 0;
/** Where the current call's output starts (moves to 0 when the arena is replaced). */
let start = 0;

/**
 * Encodes one command as a RESP array of bulk strings.
 *
 * @param args The command name and its arguments, such as `["SET", "key", "value"]`.
 * Strings are sent as UTF-8 (a lone surrogate becomes U+FFFD, as with
 * `TextEncoder`), numbers in their decimal form (`Infinity` as `inf`,
 * `-Infinity` as `-inf`), and byte arrays as they are.
 * @returns The command's bytes, in a buffer of exactly their size.
 * @throws {TypeError} If `args` is empty or an argument is not a string, a
 * number or a `Uint8Array`.
 * @throws {RangeError} If an argument is `NaN`.
 *
 * @example Encoding SET
 * ```ts
 * import { encodeCommand } from "./encoder.ts";
 *
 * const bytes = encodeCommand(["SET", "greeting", "héllo"]);
 * console.log(new TextDecoder().decode(bytes));
 * // "*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$6\r\nhéllo\r\n"
 * ```
 */
export function encodeCommand(args: readonly CommandArg[]): Uint8Array {
  start = used;
  return copyOut(writeCommand(start, args, undefined));
}

/**
 * Encodes several commands back to back in one buffer, for a pipeline.
 *
 * @param commands The commands, each as {@linkcode encodeCommand} takes it.
 * @returns The commands' bytes in order, in a buffer of exactly their size
 * (empty when `commands` is empty).
 * @throws {TypeError} If a command is empty or an argument is not a string, a
 * number or a `Uint8Array`.
 * @throws {RangeError} If an argument is `NaN`.
 *
 * @example A pipeline of two commands
 * ```ts
 * import { encodeCommands } from "./encoder.ts";
 *
 * const bytes = encodeCommands([["INCR", "hits"], ["GET", "hits"]]);
 * console.log(new TextDecoder().decode(bytes));
 * // "*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n*2\r\n$3\r\nGET\r\n$4\r\nhits\r\n"
 * ```
 */
export function encodeCommands(commands: readonly (readonly CommandArg[])[]): Uint8Array {
  return copyOut(writeCommands(commands));
}

/**
 * Encodes one command as {@linkcode encodeCommand} does, into a view of a
 * shared arena instead of a copy: for bytes that are written to a socket and
 * dropped. The arena is never written again where the view lies (like Node's
 * `Buffer` pool), but the view keeps the whole arena (64 KiB) alive.
 *
 * @param args The command name and its arguments.
 * @returns The command's bytes, a view into the arena.
 * @throws {TypeError} As {@linkcode encodeCommand}.
 * @throws {RangeError} As {@linkcode encodeCommand}.
 *
 * @example Two commands encoded in a row lie side by side in the arena
 * ```ts
 * import { encodeCommandView } from "./encoder.ts";
 *
 * const get = encodeCommandView(["GET", "a"]);
 * const del = encodeCommandView(["DEL", "a"]);
 * console.log(new TextDecoder().decode(get)); // "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
 * console.log(get.buffer === del.buffer && get.byteOffset + get.length === del.byteOffset); // true
 * ```
 */
export function encodeCommandView(args: readonly CommandArg[]): Uint8Array {
  start = used;
  return viewOut(writeCommand(start, args, undefined));
}

/**
 * Encodes several commands as {@linkcode encodeCommands} does, into a view
 * of a shared arena; see {@linkcode encodeCommandView}.
 *
 * @param commands The commands, each as {@linkcode encodeCommand} takes it.
 * @returns The commands' bytes in order, a view into the arena.
 * @throws {TypeError} As {@linkcode encodeCommands}.
 * @throws {RangeError} As {@linkcode encodeCommands}.
 *
 * @example
 * ```ts
 * import { encodeCommandsView } from "./encoder.ts";
 *
 * const bytes = encodeCommandsView([["INCR", "hits"], ["GET", "hits"]]);
 * console.log(bytes.length); // 47
 * ```
 */
export function encodeCommandsView(commands: readonly (readonly CommandArg[])[]): Uint8Array {
  return viewOut(writeCommands(commands));
}

/**
 * Writes commands back to back from the arena's first free byte, which
 * becomes the current call's `start`, and returns the end position.
 */
function writeCommands(commands: readonly (readonly CommandArg[])[]): number {
  start = used;
  let pos = start;
  for (let i = 0; i < commands.length; i++) pos = writeCommand(pos, commands[i]!, i);
  return pos;
}

/** Copies the current call's output (`start` to `end`) out of the arena. */
function copyOut(end: number): Uint8Array {
  const out = arena.slice(start, end);
  if (arena.length > ARENA_RETAINED) replaceArena();
  return out;
}

/** Hands the current call's output (`start` to `end`) out as a view of the arena. */
function viewOut(end: number): Uint8Array {
  const out = arena.subarray(start, end);
  used = end;
  if (arena.length > ARENA_RETAINED) replaceArena();
  return out;
}

function replaceArena(): void {
  arena = new Uint8Array(ARENA_SIZE);
  used = 0;
  start = 0;
}

/**
 * Makes room for `bytes` more bytes at `pos` in the arena. When it must
 * move to a new arena, it copies the current call's output there (to offset
 * 0) and returns `pos` moved with it; read `arena` again after calling it.
 */
function reserve(pos: number, bytes: number): number {
  if (pos + bytes <= arena.length) return pos;
  const written = pos - start;
  const grown = new Uint8Array(Math.max(ARENA_SIZE, 2 * (written + bytes)));
  grown.set(arena.subarray(start, pos));
  arena = grown;
  used = 0;
  start = 0;
  return written;
}

/**
 * Writes one command at `pos` in the arena, validating its
 * arguments, and returns the end position.
 */
function writeCommand(
  pos: number,
  args: readonly CommandArg[],
  index: number | undefined,
): number {
  if (!Array.isArray(args) || args.length === 0) {
    throw new TypeError(
      `${commandLabel(index)}: expected a non-empty array of arguments, got ${describe(args)}`,
    );
  }
  const count = args.length;
  let out = arena;
  if (pos + ARG_OVERHEAD > out.length) {
    pos = reserve(pos, ARG_OVERHEAD);
    out = arena;
  }
  out[pos] = ASTERISK;
  if (count < 10) {
    out[pos + 1] = 0x30 + count;
    pos += 2;
  } else {
    pos = writeDecimal(out, pos + 1, count);
  }
  out[pos] = CR;
  out[pos + 1] = LF;
  pos += 2;
  for (let i = 0; i < count; i++) {
    const arg = args[i];
    if (typeof arg === "string") {
      const length = arg.length;
      if (length > NATIVE_ENCODE_THRESHOLD) {
        pos = writeLongString(pos, arg);
        out = arena;
        continue;
      }
      if (pos + ARG_OVERHEAD + length * 3 > out.length) {
        pos = reserve(pos, ARG_OVERHEAD + length * 3);
        out = arena;
      }
      pos = writeShortString(out, pos, arg);
    } else if (typeof arg === "number") {
      const text = numberText(arg, index, i);
      if (pos + ARG_OVERHEAD + text.length > out.length) {
        pos = reserve(pos, ARG_OVERHEAD + text.length);
        out = arena;
      }
      pos = writeShortString(out, pos, text);
    } else if (arg instanceof Uint8Array) {
      const length = arg.length;
      if (pos + ARG_OVERHEAD + length > out.length) {
        pos = reserve(pos, ARG_OVERHEAD + length);
        out = arena;
      }
      pos = writeHeader(out, pos, length);
      if (length <= 16) {
        for (let j = 0; j < length; j++) out[pos + j] = arg[j]!;
      } else {
        out.set(arg, pos);
      }
      pos += length;
      out[pos] = CR;
      out[pos + 1] = LF;
      pos += 2;
    } else {
      throw new TypeError(
        `${commandLabel(index)}: argument ${i} must be a string, a number or a Uint8Array, got ${
          describe(arg)
        }`,
      );
    }
  }
  return pos;
}

/**
 * Writes a bulk string of a short string: as ASCII in one pass, again as
 * UTF-8 if a character turns out not to be ASCII. `out` has room for
 * `ARG_OVERHEAD + 3 * text.length` bytes at `pos`.
 */
function writeShortString(out: Uint8Array, pos: number, text: string): number {
  const length = text.length;
  let at: number; // where the payload starts
  out[pos] = DOLLAR;
  if (length < 10) {
    out[pos + 1] = 0x30 + length;
    at = pos + 4;
  } else if (length < 100) {
    const tens = (length * 205) >>> 11; // length / 10 without a division, exact below 1029
    out[pos + 1] = 0x30 + tens;
    out[pos + 2] = 0x30 + length - tens * 10;
    at = pos + 5;
  } else {
    at = writeDecimal(out, pos + 1, length) + 2;
  }
  out[at - 2] = CR;
  out[at - 1] = LF;
  let bits = 0;
  for (let j = 0; j < length; j++) {
    const c = text.charCodeAt(j);
    bits |= c;
    out[at + j] = c;
  }
  let end: number;
  if (bits < 0x80) {
    end = at + length;
  } else {
    end = writeUtf8(out, writeHeader(out, pos, utf8Length(text)), text);
  }
  out[end] = CR;
  out[end + 1] = LF;
  return end + 2;
}

/**
 * Writes a bulk string of a long string with `TextEncoder.encodeInto`, after
 * a header gap sized for the largest possible UTF-8 length, closed up once
 * the real length is known.
 */
function writeLongString(pos: number, text: string): number {
  const most = text.length * 3;
  const gap = 3 + decimalLength(most);
  pos = reserve(pos, gap + most + 2);
  const out = arena;
  const { written } = textEncoder.encodeInto(text, out.subarray(pos + gap, pos + gap + most));
  const header = 3 + decimalLength(written);
  if (header < gap) out.copyWithin(pos + header, pos + gap, pos + gap + written);
  pos = writeHeader(out, pos, written) + written;
  out[pos++] = CR;
  out[pos++] = LF;
  return pos;
}

/** Writes `$<length>\r\n` and returns the end position. */
function writeHeader(out: Uint8Array, pos: number, length: number): number {
  out[pos++] = DOLLAR;
  pos = writeDecimal(out, pos, length);
  out[pos++] = CR;
  out[pos++] = LF;
  return pos;
}

/** The decimal text of a number argument, as Redis parses numbers. */
function numberText(value: number, index: number | undefined, arg: number): string {
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Number.isNaN(value)) {
    throw new RangeError(`${commandLabel(index)}: argument ${arg} is NaN, not a number`);
  }
  return String(value);
}

/** The number of decimal digits of a non-negative integer below 2^53. */
function decimalLength(value: number): number {
  if (value < 10) return 1;
  if (value < 100) return 2;
  if (value < 1_000) return 3;
  if (value < 10_000) return 4;
  if (value < 100_000) return 5;
  if (value < 1_000_000) return 6;
  if (value < 10_000_000) return 7;
  if (value < 100_000_000) return 8;
  if (value < 1_000_000_000) return 9;
  return String(value).length;
}

/** Writes a non-negative integer in decimal and returns the end position. */
function writeDecimal(out: Uint8Array, pos: number, value: number): number {
  if (value < 10) {
    out[pos] = 0x30 + value;
    return pos + 1;
  }
  if (value < 100) {
    const tens = (value * 205) >>> 11;
    out[pos] = 0x30 + tens;
    out[pos + 1] = 0x30 + value - tens * 10;
    return pos + 2;
  }
  const end = pos + decimalLength(value);
  let at = end;
  while (value >= 10) {
    const next = Math.floor(value / 10);
    out[--at] = 0x30 + value - next * 10;
    value = next;
  }
  out[--at] = 0x30 + value;
  return end;
}

/**
 * The UTF-8 byte length of a string, as `TextEncoder` encodes it (a lone
 * surrogate becomes the three bytes of U+FFFD).
 */
function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // two UTF-16 units, four bytes
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Writes a string as UTF-8 (like `TextEncoder`) and returns the end position. */
function writeUtf8(out: Uint8Array, pos: number, text: string): number {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[pos++] = c;
    } else if (c < 0x800) {
      out[pos++] = 0xc0 | (c >> 6);
      out[pos++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[pos++] = 0xf0 | (c >> 18);
        out[pos++] = 0x80 | ((c >> 12) & 0x3f);
        out[pos++] = 0x80 | ((c >> 6) & 0x3f);
        out[pos++] = 0x80 | (c & 0x3f);
      } else {
        out[pos++] = 0xef; // U+FFFD for a lone surrogate
        out[pos++] = 0xbf;
        out[pos++] = 0xbd;
      }
    } else {
      out[pos++] = 0xe0 | (c >> 12);
      out[pos++] = 0x80 | ((c >> 6) & 0x3f);
      out[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

function commandLabel(index: number | undefined): string {
  return index === undefined ? "Cannot encode command" : `Cannot encode command ${index}`;
}
