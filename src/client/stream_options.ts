/**
 * The options of the stream command methods (`xadd`, `xread`, `xreadgroup`,
 * `xpending`, `xclaim`, …) and the arguments they become. Options the server
 * would read as something else, or refuse in words that do not name them,
 * are checked before anything is sent.
 *
 * @module
 */

import { describe, optionsObject } from "../_checks.ts";
import type { CommandArg } from "../resp/types.ts";
import { integerArg } from "./_command_checks.ts";

/** Trim by length or by id: exactly one of `maxLen` and `minId`. */
export type StreamTrimBy =
  | {
    /** Keep at most this many entries (`MAXLEN`). */
    maxLen: number;
    minId?: never;
  }
  | {
    /** Evict the entries whose id is lower than this one (`MINID`). */
    minId: string;
    maxLen?: never;
  };

/** Exact trimming (`=`, the default), or approximate (`~`) with an optional `LIMIT`. */
export type StreamTrimPrecision =
  | {
    /**
     * Trim only whole macro nodes (`~`): cheaper, and the stream may keep
     * a few more entries than asked.
     */
    approximate: true;
    /** At most this many entries evicted by this call (`LIMIT`); with `approximate` only. */
    limit?: number;
  }
  | {
    /** Trim exactly (`=`). */
    approximate?: false;
    limit?: never;
  };

/**
 * How `XADD` and `XTRIM` trim a stream: `{ maxLen: 1000 }`,
 * `{ minId: "1700000000000-0" }`, `{ maxLen: 1000, approximate: true, limit: 100 }`.
 */
export type StreamTrim = StreamTrimBy & StreamTrimPrecision;

/** Options of {@linkcode Commands.xadd}. */
export interface XAddOptions {
  /**
   * The entry's id: `*` lets the server pick one from its clock; `<ms>-*`
   * picks the sequence; `<ms>-<seq>` is taken as given.
   *
   * @default {"*"}
   */
  id?: string;
  /** Do not create the stream when it does not exist (`NOMKSTREAM`): `xadd` returns `null` then. */
  noMkStream?: boolean;
  /** Trim the stream as the entry is added. */
  trim?: StreamTrim;
}

/** Options of {@linkcode Commands.xrange} and {@linkcode Commands.xrevrange}. */
export interface XRangeOptions {
  /** At most this many entries (`COUNT`). */
  count?: number;
}

/** Options of {@linkcode Commands.xread}. */
export interface XReadOptions {
  /** At most this many entries per stream (`COUNT`). */
  count?: number;
  /**
   * Wait up to this many milliseconds for an entry when there is none
   * (`BLOCK`); `0` waits until one arrives. The command's reply timeout is
   * this time plus the client's `commandTimeout`.
   */
  block?: number;
}

/** Options of {@linkcode Commands.xreadgroup}. */
export interface XReadGroupOptions extends XReadOptions {
  /** Do not add the entries read to the pending list (`NOACK`): no `xack` needed, no redelivery. */
  noAck?: boolean;
}

/** Options of {@linkcode Commands.xgroupCreate}. */
export interface XGroupCreateOptions {
  /** Create the stream, empty, when it does not exist (`MKSTREAM`). */
  mkStream?: boolean;
  /** How many entries the group has read already, for its lag (`ENTRIESREAD`, Redis 7). */
  entriesRead?: number;
}

/** Options of the extended form of {@linkcode Commands.xpending}. */
export interface XPendingRangeOptions {
  /**
   * The lowest id to list.
   *
   * @default {"-"}
   */
  start?: string;
  /**
   * The highest id to list.
   *
   * @default {"+"}
   */
  end?: string;
  /** At most this many entries. */
  count: number;
  /** Only this consumer's entries. */
  consumer?: string;
  /** Only entries delivered at least this many milliseconds ago (`IDLE`). */
  minIdleTime?: number;
}

/** Options of {@linkcode Commands.xclaim}. */
export type XClaimOptions =
  & (
    | {
      /** Set the entries' idle time to this many milliseconds (`IDLE`) instead of 0. */
      idle?: number;
      time?: never;
    }
    | {
      /** Set the entries' last delivery to this Unix time in milliseconds (`TIME`). */
      time?: number;
      idle?: never;
    }
  )
  & {
    /** Set the entries' delivery count (`RETRYCOUNT`). */
    retryCount?: number;
    /** Claim ids that are not pending, if they exist in the stream (`FORCE`). */
    force?: boolean;
    /** Return the ids only, without incrementing the delivery count (`JUSTID`). */
    justId?: boolean;
  };

/** Options of {@linkcode Commands.xautoclaim}. */
export interface XAutoClaimOptions {
  /**
   * At most this many entries (`COUNT`).
   *
   * @default {100}
   */
  count?: number;
  /** Return the ids only, without incrementing the delivery count (`JUSTID`). */
  justId?: boolean;
}

/**
 * `XADD`'s arguments.
 *
 * @param key The stream.
 * @param fields The entry's fields.
 * @param options The options.
 * @returns The command.
 * @throws {TypeError} When there is no field, or an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function xaddArgs(
  key: CommandArg,
  fields: Record<string, CommandArg>,
  options: XAddOptions | undefined,
): CommandArg[] {
  const action = "Cannot add to stream";
  const o = optionsObject(action, options);
  const pairs = fieldPairs(action, fields);
  const args: CommandArg[] = ["XADD", key];
  if (o.noMkStream === true) args.push("NOMKSTREAM");
  if (o.trim !== undefined) trimArgs(action, o.trim, args);
  const id = o.id ?? "*";
  if (typeof id !== "string" || id === "") {
    throw new TypeError(`${action}: 'id' must be an entry id such as '*', got ${describe(id)}`);
  }
  args.push(id);
  for (const [field, value] of pairs) args.push(field, value);
  return args;
}

function fieldPairs(action: string, fields: Record<string, CommandArg>): [string, CommandArg][] {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw new TypeError(`${action}: 'fields' must be an object of fields, got ${describe(fields)}`);
  }
  const pairs = Object.entries(fields);
  if (pairs.length === 0) {
    throw new TypeError(`${action}: 'fields' must have at least one field, got an empty object`);
  }
  return pairs;
}

/**
 * Appends a trim strategy (`MAXLEN|MINID =|~ threshold [LIMIT count]`).
 *
 * @param action What the method was doing, for errors.
 * @param trim The strategy.
 * @param args The command, appended to.
 * @throws {TypeError} When neither or both of `maxLen` and `minId` are given, or `limit` without `approximate`.
 * @throws {RangeError} When a number is out of range.
 */
export function trimArgs(action: string, trim: StreamTrim, args: CommandArg[]): void {
  const t = optionsObject(action, trim, "trim");
  const hasMax = t.maxLen !== undefined;
  if (hasMax === (t.minId !== undefined)) {
    throw new TypeError(
      `${action}: 'trim' must have exactly one of 'maxLen' and 'minId', got ${
        hasMax ? "both" : "neither"
      }`,
    );
  }
  args.push(hasMax ? "MAXLEN" : "MINID", t.approximate === true ? "~" : "=");
  if (hasMax) {
    args.push(integerArg(action, "trim.maxLen", t.maxLen, 0));
  } else {
    if (typeof t.minId !== "string" || t.minId === "") {
      throw new TypeError(
        `${action}: 'trim.minId' must be an entry id such as '1700000000000-0', got ${
          describe(t.minId)
        }`,
      );
    }
    args.push(t.minId);
  }
  if (t.limit !== undefined) {
    if (t.approximate !== true) {
      throw new TypeError(
        `${action}: 'trim.limit' needs 'approximate: true' (LIMIT only applies to ~ trimming)`,
      );
    }
    args.push("LIMIT", integerArg(action, "trim.limit", t.limit, 0));
  }
}

/**
 * `COUNT`, `BLOCK` and the streams of `XREAD` / `XREADGROUP`.
 *
 * @param action What the method was doing, for errors.
 * @param streams Each stream and the id to read after.
 * @param options `count`, `block`.
 * @param args The command so far, appended to.
 * @throws {TypeError} When no stream is given, or an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function readArgs(
  action: string,
  streams: Record<string, string>,
  options: XReadOptions,
  args: CommandArg[],
): void {
  if (options.count !== undefined) {
    args.push("COUNT", integerArg(action, "count", options.count, 1));
  }
  if (options.block !== undefined) {
    args.push("BLOCK", integerArg(action, "block", options.block, 0));
  }
  if (streams === null || typeof streams !== "object" || Array.isArray(streams)) {
    throw new TypeError(
      `${action}: 'streams' must be an object of stream names and ids, such as { orders: "$" }, got ${
        describe(streams)
      }`,
    );
  }
  const names = Object.keys(streams);
  if (names.length === 0) {
    throw new TypeError(`${action}: 'streams' must name at least one stream, got an empty object`);
  }
  args.push("STREAMS", ...names);
  for (const name of names) {
    const id = streams[name];
    if (typeof id !== "string" || id === "") {
      throw new TypeError(
        `${action}: the id of stream ${describe(name)} must be a string such as "$", "0" or ">", ` +
          `got ${describe(id)}`,
      );
    }
    args.push(id);
  }
}

/**
 * `XRANGE` / `XREVRANGE`'s arguments.
 *
 * @param name `XRANGE` or `XREVRANGE`.
 * @param key The stream.
 * @param from The first bound (`start` for `XRANGE`, `end` for `XREVRANGE`).
 * @param to The second bound.
 * @param options `count`.
 * @returns The command.
 * @throws {RangeError} When `count` is not a positive integer.
 */
export function rangeArgs(
  name: "XRANGE" | "XREVRANGE",
  key: CommandArg,
  from: string,
  to: string,
  options: XRangeOptions | undefined,
): CommandArg[] {
  const action = "Cannot read stream range";
  const o = optionsObject(action, options);
  const args: CommandArg[] = [name, key, from, to];
  if (o.count !== undefined) args.push("COUNT", integerArg(action, "count", o.count, 1));
  return args;
}

/**
 * `XGROUP CREATE`'s arguments.
 *
 * @param key The stream.
 * @param group The group.
 * @param id The last id the group has read (`$`: the stream's last; `0`: none).
 * @param options `mkStream`, `entriesRead`.
 * @returns The command.
 * @throws {RangeError} When `entriesRead` is not an integer of at least -1.
 */
export function groupCreateArgs(
  key: CommandArg,
  group: CommandArg,
  id: string,
  options: XGroupCreateOptions | undefined,
): CommandArg[] {
  const action = "Cannot create consumer group";
  const o = optionsObject(action, options);
  const args: CommandArg[] = ["XGROUP", "CREATE", key, group, id];
  if (o.mkStream === true) args.push("MKSTREAM");
  if (o.entriesRead !== undefined) {
    args.push("ENTRIESREAD", integerArg(action, "entriesRead", o.entriesRead, -1));
  }
  return args;
}

/**
 * `XPENDING key group [IDLE ms] start end count [consumer]`.
 *
 * @param key The stream.
 * @param group The group.
 * @param options `start`, `end`, `count`, `consumer`, `minIdleTime`.
 * @returns The command.
 * @throws {TypeError} When `count` is missing.
 * @throws {RangeError} When a number is out of range.
 */
export function pendingRangeArgs(
  key: CommandArg,
  group: CommandArg,
  options: XPendingRangeOptions,
): CommandArg[] {
  const action = "Cannot list pending entries";
  const o = optionsObject(action, options);
  const args: CommandArg[] = ["XPENDING", key, group];
  if (o.minIdleTime !== undefined) {
    args.push("IDLE", integerArg(action, "minIdleTime", o.minIdleTime, 0));
  }
  args.push(o.start ?? "-", o.end ?? "+", integerArg(action, "count", o.count, 1));
  if (o.consumer !== undefined) args.push(o.consumer);
  return args;
}

/**
 * `XCLAIM`'s arguments.
 *
 * @param key The stream.
 * @param group The group.
 * @param consumer The consumer that claims.
 * @param minIdleTime Claim only entries idle for at least this many ms.
 * @param ids The ids to claim (at least one).
 * @param options `idle` or `time`, `retryCount`, `force`, `justId`.
 * @returns The command.
 * @throws {TypeError} When `ids` is empty.
 * @throws {RangeError} When a number is out of range.
 */
export function claimArgs(
  key: CommandArg,
  group: CommandArg,
  consumer: CommandArg,
  minIdleTime: number,
  ids: readonly string[],
  options: XClaimOptions | undefined,
): CommandArg[] {
  const action = "Cannot claim entries";
  const o = optionsObject(action, options);
  if (!Array.isArray(ids) || ids.length === 0) {
    throw new TypeError(
      `${action}: 'ids' must be an array of at least one id, got ${describe(ids)}`,
    );
  }
  const args: CommandArg[] = [
    "XCLAIM",
    key,
    group,
    consumer,
    integerArg(action, "minIdleTime", minIdleTime, 0),
    ...ids,
  ];
  if (o.idle !== undefined && o.time !== undefined) {
    throw new TypeError(`${action}: give 'idle' or 'time', not both`);
  }
  if (o.idle !== undefined) args.push("IDLE", integerArg(action, "idle", o.idle, 0));
  if (o.time !== undefined) args.push("TIME", integerArg(action, "time", o.time, 0));
  if (o.retryCount !== undefined) {
    args.push("RETRYCOUNT", integerArg(action, "retryCount", o.retryCount, 0));
  }
  if (o.force === true) args.push("FORCE");
  if (o.justId === true) args.push("JUSTID");
  return args;
}

/**
 * `XAUTOCLAIM`'s arguments.
 *
 * @param key The stream.
 * @param group The group.
 * @param consumer The consumer that claims.
 * @param minIdleTime Claim only entries idle for at least this many ms.
 * @param start The id to scan the pending list from.
 * @param options `count`, `justId`.
 * @returns The command.
 * @throws {RangeError} When a number is out of range.
 */
export function autoClaimArgs(
  key: CommandArg,
  group: CommandArg,
  consumer: CommandArg,
  minIdleTime: number,
  start: string,
  options: XAutoClaimOptions | undefined,
): CommandArg[] {
  const action = "Cannot claim entries";
  const o = optionsObject(action, options);
  const args: CommandArg[] = [
    "XAUTOCLAIM",
    key,
    group,
    consumer,
    integerArg(action, "minIdleTime", minIdleTime, 0),
    start,
  ];
  if (o.count !== undefined) args.push("COUNT", integerArg(action, "count", o.count, 1));
  if (o.justId === true) args.push("JUSTID");
  return args;
}
