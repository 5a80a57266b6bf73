/**
 * The `SCAN`-family iterators of the clients (`scanIterator`,
 * `hscanIterator`, `sscanIterator`, `zscanIterator`): each walks a cursor
 * from `0` back to `0`, one page per command, and yields each element of
 * each page. The options are checked when the iterator is made, before
 * anything is sent.
 *
 * What the server guarantees, and so what the iterators yield: every element
 * present for the whole walk is yielded; an element added or removed meanwhile
 * may or may not be; and an element may be yielded **more than once** (when
 * the server resizes the table during the walk). Collect into a `Set` (or a
 * `Map`, for fields) when duplicates matter. The walk stops when the server
 * says it is done, however many duplicates came before.
 *
 * @module
 */

import { describe, optionsObject } from "../_checks.ts";
import type { CommandArg } from "../resp/types.ts";
import { optionalIntegerArg } from "./_command_checks.ts";

/** Options of `hscan`, `sscan`, `zscan` and their iterators. */
export interface ScanMatchOptions {
  /** Only elements (fields, members) matching this glob pattern (`MATCH`). */
  match?: string;
  /** A hint of how many elements to look at per page (`COUNT`). */
  count?: number;
}

/** Options of `scan` and `scanIterator`. */
export interface ScanOptions extends ScanMatchOptions {
  /** Only keys of this type (`string`, `hash`, `list`, `set`, `zset`, `stream`). */
  type?: string;
}

/** One page of a `SCAN`-family command: the next cursor (`"0"` at the end) and the page's elements. */
export type ScanPage<T> = readonly [cursor: string, items: readonly T[]];

/** What the iterators need of a client: the single-step commands. */
export interface ScanSteps {
  /** `SCAN cursor …`. */
  scan(cursor: string, options?: ScanOptions): PromiseLike<ScanPage<string>>;
  /** `HSCAN key cursor …`. */
  hscan(
    key: CommandArg,
    cursor: string,
    options?: ScanMatchOptions,
  ): PromiseLike<ScanPage<[field: string, value: string]>>;
  /** `SSCAN key cursor …`. */
  sscan(key: CommandArg, cursor: string, options?: ScanMatchOptions): PromiseLike<ScanPage<string>>;
  /** `ZSCAN key cursor …`. */
  zscan(
    key: CommandArg,
    cursor: string,
    options?: ScanMatchOptions,
  ): PromiseLike<ScanPage<[member: string, score: number]>>;
}

/**
 * Checks the options of a scan and turns them into arguments.
 *
 * @param action What the caller was doing, such as `Cannot scan keys`.
 * @param options `match`, `count`, and, for `SCAN`, `type`.
 * @param withType Whether `type` is allowed (`SCAN` only).
 * @returns The arguments after the cursor.
 * @throws {TypeError} When an option has the wrong type, or `type` is given to another scan.
 * @throws {RangeError} When `count` is not a positive integer.
 *
 * @example
 * ```ts
 * import { scanArgs } from "./scan_iterators.ts";
 *
 * console.log(scanArgs("Cannot scan keys", { match: "user:*", count: 100 }, true)); // ["MATCH", "user:*", "COUNT", 100]
 * ```
 */
export function scanArgs(
  action: string,
  options: ScanOptions | undefined,
  withType: boolean,
): CommandArg[] {
  const o = optionsObject(action, options);
  const args: CommandArg[] = [];
  if (o.match !== undefined) {
    if (typeof o.match !== "string") {
      throw new TypeError(
        `${action}: 'match' must be a glob pattern string, got ${describe(o.match)}`,
      );
    }
    args.push("MATCH", o.match);
  }
  const count = optionalIntegerArg(action, "count", o.count, 1);
  if (count !== undefined) args.push("COUNT", count);
  if (o.type !== undefined) {
    if (!withType) {
      throw new TypeError(`${action}: 'type' is an option of SCAN only, not of this scan`);
    }
    if (typeof o.type !== "string" || o.type === "") {
      throw new TypeError(
        `${action}: 'type' must be a type name such as 'hash', got ${describe(o.type)}`,
      );
    }
    args.push("TYPE", o.type);
  }
  return args;
}

/**
 * Walks a cursor from `"0"` until the server returns `"0"` again, yielding
 * each element of each page as it comes (an element may come more than once:
 * see the module's documentation). Nothing is sent before the first `next()`;
 * a page is asked for only when the previous one has been consumed, and
 * leaving the loop (`break`, `return`, a `throw`) sends nothing more.
 *
 * @param step Sends one page's command for a cursor.
 * @returns The elements.
 *
 * @example
 * ```ts
 * import { iterateScan } from "./scan_iterators.ts";
 *
 * const pages: Record<string, [string, string[]]> = { "0": ["7", ["a", "b"]], "7": ["0", ["b", "c"]] };
 * const seen: string[] = [];
 * for await (const key of iterateScan((cursor) => Promise.resolve(pages[cursor]!))) seen.push(key);
 * console.log(seen); // ["a", "b", "b", "c"]: "b" came twice, as SCAN may send it
 * ```
 */
export async function* iterateScan<T>(
  step: (cursor: string) => PromiseLike<ScanPage<T>>,
): AsyncGenerator<T, void, undefined> {
  let cursor = "0";
  do {
    const [next, items] = await step(cursor);
    for (const item of items) yield item;
    cursor = next;
  } while (cursor !== "0");
}

/**
 * `scanIterator`: every key, with `SCAN`.
 *
 * @param client The client.
 * @param options `match`, `count`, `type`.
 * @returns The keys.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `count` is not a positive integer.
 */
export function scanKeys(
  client: ScanSteps,
  options: ScanOptions | undefined,
): AsyncGenerator<string, void, undefined> {
  scanArgs("Cannot scan keys", options, true);
  return iterateScan((cursor) => client.scan(cursor, options));
}

/**
 * `hscanIterator`: every field of a hash, with its value, with `HSCAN`.
 *
 * @param client The client.
 * @param key The hash.
 * @param options `match`, `count`.
 * @returns `[field, value]` pairs.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `count` is not a positive integer.
 */
export function scanHash(
  client: ScanSteps,
  key: CommandArg,
  options: ScanMatchOptions | undefined,
): AsyncGenerator<[field: string, value: string], void, undefined> {
  scanArgs("Cannot scan hash", options, false);
  return iterateScan((cursor) => client.hscan(key, cursor, options));
}

/**
 * `sscanIterator`: every member of a set, with `SSCAN`.
 *
 * @param client The client.
 * @param key The set.
 * @param options `match`, `count`.
 * @returns The members.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `count` is not a positive integer.
 */
export function scanSet(
  client: ScanSteps,
  key: CommandArg,
  options: ScanMatchOptions | undefined,
): AsyncGenerator<string, void, undefined> {
  scanArgs("Cannot scan set", options, false);
  return iterateScan((cursor) => client.sscan(key, cursor, options));
}

/**
 * `zscanIterator`: every member of a sorted set, with its score, with `ZSCAN`.
 *
 * @param client The client.
 * @param key The sorted set.
 * @param options `match`, `count`.
 * @returns `[member, score]` pairs.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `count` is not a positive integer.
 */
export function scanSortedSet(
  client: ScanSteps,
  key: CommandArg,
  options: ScanMatchOptions | undefined,
): AsyncGenerator<[member: string, score: number], void, undefined> {
  scanArgs("Cannot scan sorted set", options, false);
  return iterateScan((cursor) => client.zscan(key, cursor, options));
}
