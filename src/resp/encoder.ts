/**
 * Encodes commands as RESP arrays of bulk strings, the form every Redis and
 * Valkey server accepts from clients in RESP2 and RESP3 alike.
 *
 * Each call measures the UTF-8 size of every argument first and then writes
 * the whole command (or pipeline) into one buffer of exactly that size.
 *
 * @module
 */

import type { CommandArg } from "./types.ts";

const ASTERISK = 0x2a; // *
const DOLLAR = 0x24; // $
const CR = 0x0d;
const LF = 0x0a;

/** Strings longer than this are written by the platform's `TextEncoder`. */
const NATIVE_ENCODE_THRESHOLD = 256;

const textEncoder = new TextEncoder();

/**
 * The byte length of every argument, from the measuring pass to the writing
 * pass of one call (JavaScript runs one call at a time, so it can be shared).
 */
let lengths: number[] = [];

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
  const out = new Uint8Array(measureCommand(args, undefined, 0));
  writeCommand(out, 0, args, 0);
  releaseLengths();
  return out;
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
  let size = 0;
  let slot = 0;
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i]!;
    size += measureCommand(command, i, slot);
    slot += command.length;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  slot = 0;
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i]!;
    pos = writeCommand(out, pos, command, slot);
    slot += command.length;
  }
  releaseLengths();
  return out;
}

/**
 * Returns the encoded size of one command, validating its arguments, and
 * records their byte lengths in `lengths` from `slot` on.
 */
function measureCommand(
  args: readonly CommandArg[],
  index: number | undefined,
  slot: number,
): number {
  if (!Array.isArray(args) || args.length === 0) {
    throw new TypeError(
      `${commandLabel(index)}: expected a non-empty array of arguments, got ${describe(args)}`,
    );
  }
  let size = 3 + decimalLength(args.length); // *<n>\r\n
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let length: number;
    if (typeof arg === "string") {
      length = utf8Length(arg);
    } else if (typeof arg === "number") {
      length = numberText(arg, index, i).length;
    } else if (arg instanceof Uint8Array) {
      length = arg.length;
    } else {
      throw new TypeError(
        `${commandLabel(index)}: argument ${i} must be a string, a number or a Uint8Array, got ${
          describe(arg)
        }`,
      );
    }
    lengths[slot + i] = length;
    size += 5 + decimalLength(length) + length; // $<len>\r\n<payload>\r\n
  }
  return size;
}

/** Writes one command measured from `slot` at `pos` and returns the end position. */
function writeCommand(
  out: Uint8Array,
  pos: number,
  args: readonly CommandArg[],
  slot: number,
): number {
  out[pos++] = ASTERISK;
  pos = writeDecimal(out, pos, args.length);
  out[pos++] = CR;
  out[pos++] = LF;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg instanceof Uint8Array) {
      pos = writeHeader(out, pos, arg.length);
      out.set(arg, pos);
      pos += arg.length;
    } else {
      const text = typeof arg === "number" ? numberText(arg, undefined, i) : arg;
      const length = lengths[slot + i]!;
      pos = writeHeader(out, pos, length);
      if (length > NATIVE_ENCODE_THRESHOLD) {
        textEncoder.encodeInto(text, out.subarray(pos, pos + length));
        pos += length;
      } else if (length === text.length) {
        for (let j = 0; j < length; j++) out[pos + j] = text.charCodeAt(j); // all ASCII
        pos += length;
      } else {
        pos = writeUtf8(out, pos, text);
      }
    }
    out[pos++] = CR;
    out[pos++] = LF;
  }
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

/** The number of decimal digits of a non-negative integer. */
function decimalLength(value: number): number {
  let digits = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    digits++;
  }
  return digits;
}

/** Writes a non-negative integer in decimal and returns the end position. */
function writeDecimal(out: Uint8Array, pos: number, value: number): number {
  if (value < 10) {
    out[pos] = 0x30 + value;
    return pos + 1;
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

/** Drops the lengths of a large pipeline rather than keeping them for the next call. */
function releaseLengths(): void {
  if (lengths.length > 4096) lengths = [];
}

function commandLabel(index: number | undefined): string {
  return index === undefined ? "Cannot encode command" : `Cannot encode command ${index}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an empty array";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
