/**
 * Reply parsers of the typed command methods. Each accepts what RESP2 and
 * RESP3 send for the command (a RESP3 map where RESP2 sends a flat array, a
 * double where RESP2 sends a string), so the methods return the same types
 * over both protocols. Nothing is parsed as JSON.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { RespValue } from "../resp/types.ts";

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** A sorted set member with its score. */
export interface ScoreMember {
  /** The member. */
  member: string;
  /** Its score. */
  score: number;
}

/**
 * What kind of reply a value is, for error messages: its type, never its
 * content (a reply may carry anything the server holds).
 *
 * @param value The reply.
 * @returns Such as `a null reply` or `a map reply`.
 */
export function replyKind(value: RespValue | undefined): string {
  if (value === null || value === undefined) return "a null reply";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array reply" : "an array reply";
  if (value instanceof Uint8Array) return "a bulk string reply";
  if (value instanceof Map) return "a map reply";
  if (value instanceof Set) return "a set reply";
  if (value instanceof Error) return "an error reply";
  if (typeof value === "object") return "a push frame";
  return `a ${typeof value} reply`;
}

function unexpected(what: string, value: RespValue): ProtocolError {
  return new ProtocolError(`Cannot read reply: expected ${what}, got ${replyKind(value)}`);
}

/**
 * A string reply (simple, bulk, verbatim).
 *
 * @param value The reply.
 * @returns The text.
 */
export function text(value: RespValue): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return textDecoder.decode(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw unexpected("a string", value);
}

/**
 * A string reply or null.
 *
 * @param value The reply.
 * @returns The text, or `null`.
 */
export function textOrNull(value: RespValue): string | null {
  return value === null ? null : text(value);
}

/**
 * A bulk string reply as bytes, or null.
 *
 * @param value The reply.
 * @returns The bytes, or `null`.
 */
export function bytesOrNull(value: RespValue): Uint8Array | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return textEncoder.encode(value);
  throw unexpected("bytes", value);
}

/**
 * An integer reply as a number (a big number is converted, possibly losing precision).
 *
 * @param value The reply.
 * @returns The number.
 */
export function integer(value: RespValue): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string") {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw unexpected("an integer", value);
}

/**
 * An integer reply or null.
 *
 * @param value The reply.
 * @returns The number, or `null`.
 */
export function integerOrNull(value: RespValue): number | null {
  return value === null ? null : integer(value);
}

/**
 * A double: a RESP3 double, or the string RESP2 sends (`inf`, `-inf`, `nan` included).
 *
 * @param value The reply.
 * @returns The number.
 */
export function double(value: RespValue): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  const raw = text(value).toLowerCase();
  if (raw === "inf" || raw === "+inf") return Infinity;
  if (raw === "-inf") return -Infinity;
  if (raw === "nan") return NaN;
  const parsed = Number(raw);
  if (Number.isNaN(parsed)) throw unexpected("a double", value);
  return parsed;
}

/**
 * A double or null.
 *
 * @param value The reply.
 * @returns The number, or `null`.
 */
export function doubleOrNull(value: RespValue): number | null {
  return value === null ? null : double(value);
}

/**
 * A 0/1 integer (or RESP3 boolean) as a boolean.
 *
 * @param value The reply.
 * @returns `true` for 1.
 */
export function boolean(value: RespValue): boolean {
  if (typeof value === "boolean") return value;
  return integer(value) === 1;
}

/**
 * `OK`, or null when a condition (`NX`, `XX`) prevented the write.
 *
 * @param value The reply.
 * @returns `"OK"` or `null`.
 */
export function okOrNull(value: RespValue): "OK" | null {
  if (value === null) return null;
  if (value === "OK") return "OK";
  throw unexpected("OK", value);
}

/**
 * A simple `OK`.
 *
 * @param value The reply.
 * @returns `"OK"`.
 */
export function ok(value: RespValue): "OK" {
  if (value === "OK") return "OK";
  throw unexpected("OK", value);
}

/**
 * An array reply, or a RESP3 set as an array.
 *
 * @param value The reply.
 * @param what What was expected, for the error, such as `an array`.
 * @returns The elements.
 * @throws {ProtocolError} When the reply is neither.
 */
export function elements(value: RespValue, what: string): RespValue[] {
  if (Array.isArray(value)) return value;
  if (value instanceof Set) return [...value];
  throw unexpected(what, value);
}

/**
 * A reply of named values (`HELLO`, `XINFO STREAM`): a RESP3 map or a RESP2
 * flat array of names and values, by name.
 *
 * @param value The reply.
 * @param what What was expected, for the error, such as `a HELLO reply`.
 * @returns The values by name, the names as text.
 * @throws {ProtocolError} When the reply is neither.
 */
export function fieldMap(value: RespValue, what: string): Map<string, RespValue> {
  const out = new Map<string, RespValue>();
  if (value instanceof Map) {
    for (const [name, item] of value) out.set(text(name), item);
    return out;
  }
  const items = elements(value, what);
  for (let i = 0; i + 1 < items.length; i += 2) out.set(text(items[i]!), items[i + 1]!);
  return out;
}

/**
 * An array or set of strings.
 *
 * @param value The reply.
 * @returns The strings.
 */
export function textArray(value: RespValue): string[] {
  return elements(value, "an array").map(text);
}

/**
 * An array or set of strings, or null (such as `LPOP key count` on a missing key).
 *
 * @param value The reply.
 * @returns The strings, or `null`.
 */
export function textArrayOrNull(value: RespValue): string[] | null {
  return value === null ? null : textArray(value);
}

/**
 * An array whose elements may be null (`MGET`, `HMGET`).
 *
 * @param value The reply.
 * @returns The strings and nulls.
 */
export function nullableTextArray(value: RespValue): (string | null)[] {
  return elements(value, "an array").map(textOrNull);
}

/**
 * An array of 0/1 integers as booleans (`SMISMEMBER`).
 *
 * @param value The reply.
 * @returns The booleans.
 */
export function booleanArray(value: RespValue): boolean[] {
  return elements(value, "an array").map(boolean);
}

/**
 * A field/value map: a RESP3 map or a RESP2 flat array.
 *
 * @param value The reply.
 * @returns A plain object; any field name, `__proto__` included, is an own property.
 */
export function record(value: RespValue): Record<string, string> {
  const entries: [string, string][] = [];
  if (value instanceof Map) {
    for (const [field, item] of value) entries.push([text(field), text(item)]);
  } else {
    const items = elements(value, "a map");
    for (let i = 0; i + 1 < items.length; i += 2) {
      entries.push([text(items[i]!), text(items[i + 1]!)]);
    }
  }
  // fromEntries defines own properties, so a field named "__proto__" stays a field.
  return Object.fromEntries(entries);
}

/**
 * A blocking pop's `[key, element]`, or `null` when it timed out.
 *
 * @param value The reply.
 * @returns The pair, or `null`.
 */
export function textPairOrNull(value: RespValue): [string, string] | null {
  if (value === null) return null;
  const [key, element] = elements(value, "a pair");
  return [text(key!), text(element!)];
}

/**
 * `BZPOPMIN`/`BZPOPMAX`'s `[key, member, score]`, or `null` when it timed out.
 *
 * @param value The reply.
 * @returns The set, member and score, or `null`.
 */
export function keyedScoreMemberOrNull(
  value: RespValue,
): { key: string; member: string; score: number } | null {
  if (value === null) return null;
  const [key, member, score] = elements(value, "a triple");
  return { key: text(key!), member: text(member!), score: double(score!) };
}

/**
 * Members with scores: RESP3 `[[member, score], …]` or RESP2 `[member, score, …]`.
 *
 * @param value The reply.
 * @returns The members and scores.
 */
export function scoreMembers(value: RespValue): ScoreMember[] {
  const items = elements(value, "an array");
  const out: ScoreMember[] = [];
  if (items.length > 0 && Array.isArray(items[0])) {
    for (const pair of items) {
      const [member, score] = elements(pair, "a pair");
      out.push({ member: text(member!), score: double(score!) });
    }
    return out;
  }
  for (let i = 0; i + 1 < items.length; i += 2) {
    out.push({ member: text(items[i]!), score: double(items[i + 1]!) });
  }
  return out;
}

/**
 * A `SCAN`-family reply.
 *
 * @param value The reply.
 * @returns The next cursor (`"0"` when done) and the keys of this page.
 */
export function scanPage(value: RespValue): [cursor: string, keys: string[]] {
  const [cursor, keys] = elements(value, "a scan reply");
  return [text(cursor!), textArray(keys!)];
}

/**
 * An `HSCAN` page: the cursor and the page's fields with their values.
 *
 * @param value The reply.
 * @returns The next cursor (`"0"` when done) and `[field, value]` pairs.
 */
export function hashScanPage(
  value: RespValue,
): [cursor: string, entries: [field: string, value: string][]] {
  const [cursor, flat] = elements(value, "a scan reply");
  const items = elements(flat!, "an array");
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < items.length; i += 2) pairs.push([text(items[i]!), text(items[i + 1]!)]);
  return [text(cursor!), pairs];
}

/**
 * A `ZSCAN` page: the cursor and the page's members with their scores.
 *
 * @param value The reply.
 * @returns The next cursor (`"0"` when done) and `[member, score]` pairs.
 */
export function zsetScanPage(
  value: RespValue,
): [cursor: string, members: [member: string, score: number][]] {
  const [cursor, flat] = elements(value, "a scan reply");
  const items = elements(flat!, "an array");
  const pairs: [string, number][] = [];
  for (let i = 0; i + 1 < items.length; i += 2) {
    pairs.push([text(items[i]!), double(items[i + 1]!)]);
  }
  return [text(cursor!), pairs];
}

/**
 * A `TIME` reply.
 *
 * @param value The reply.
 * @returns Seconds and microseconds.
 */
export function time(value: RespValue): [seconds: number, microseconds: number] {
  const [seconds, micros] = elements(value, "a time reply");
  return [integer(seconds!), integer(micros!)];
}
