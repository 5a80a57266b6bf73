/**
 * The typed command methods, written once and shared by the client (each
 * method returns a promise of its reply), pipelines and transactions (each
 * method queues the command and returns the pipeline, for chaining). Methods
 * follow Upstash's API: option objects instead of flag lists, plain strings
 * and numbers back, and no JSON parsing unless asked for (`getJson`).
 *
 * @module
 */

import type { CommandArg, RespValue } from "../resp/types.ts";
import type { Parser } from "./connection.ts";
import * as r from "./replies.ts";
import type { ScoreMember } from "./replies.ts";

/** A key: a string (sent as UTF-8) or raw bytes. */
export type Key = string | Uint8Array;

/** What pipelines and transactions have, and the client does not. */
export interface Chain {
  /** Sends the queued commands. */
  exec(...args: never[]): Promise<unknown>;
}

/**
 * What a command method returns: on the client, a promise of the reply `T`;
 * on a pipeline or transaction, the pipeline itself, for chaining.
 */
export type Reply<Self, T> = Self extends Chain ? Self : Promise<T>;

/**
 * Sends a command: the client sends it now, a pipeline queues it.
 *
 * @param args The command and its arguments.
 * @param parse Turns a successful reply into the method's return value.
 * @param bytes Decode the reply's bulk strings as `Uint8Array`.
 * @returns A promise (client) or the pipeline (pipeline, transaction).
 */
export type Dispatch = (
  args: CommandArg[],
  parse: Parser | undefined,
  bytes: boolean,
) => unknown;

/** Options of {@linkcode Commands.send}. */
export interface SendOptions {
  /**
   * Return bulk strings as `Uint8Array` instead of decoding them as UTF-8.
   *
   * @default {false}
   */
  bytes?: boolean;
}

/** No expiry option: the base of {@linkcode SetExpiry}, which allows at most one. */
export type NoExpiry = { ex?: never; px?: never; exat?: never; pxat?: never; keepTtl?: never };

/** When a key written by `SET` expires: at most one of these. */
export type SetExpiry =
  | (Omit<NoExpiry, "ex"> & {
    /** Expire after this many seconds. */
    ex: number;
  })
  | (Omit<NoExpiry, "px"> & {
    /** Expire after this many milliseconds. */
    px: number;
  })
  | (Omit<NoExpiry, "exat"> & {
    /** Expire at this Unix time, in seconds. */
    exat: number;
  })
  | (Omit<NoExpiry, "pxat"> & {
    /** Expire at this Unix time, in milliseconds. */
    pxat: number;
  })
  | (Omit<NoExpiry, "keepTtl"> & {
    /** Keep the key's current time to live. */
    keepTtl: true;
  })
  | NoExpiry;

/** Whether `SET` writes only a new key, only an existing one, or either. */
export type SetCondition =
  | {
    /** Only set the key if it does not exist. */
    nx: true;
    xx?: never;
  }
  | {
    /** Only set the key if it already exists. */
    xx: true;
    nx?: never;
  }
  | { nx?: never; xx?: never };

/** Options of {@linkcode Commands.set}. */
export type SetOptions = SetExpiry & SetCondition & {
  /** Return the old value (`SET … GET`) instead of `OK`. */
  get?: boolean;
};

/** Options of {@linkcode Commands.getex}: a new expiry, or `persist`. */
export type GetExOptions =
  | SetExpiry & { persist?: never }
  | (NoExpiry & {
    /** Remove the key's time to live. */
    persist: true;
  });

/** When `EXPIRE` applies (Redis 7): only without a TTL, only with one, only to extend or shorten it. */
export type ExpireCondition = "NX" | "XX" | "GT" | "LT";

/** Options of {@linkcode Commands.scan}. */
export interface ScanOptions {
  /** Only keys matching this glob pattern. */
  match?: string;
  /** A hint of how many keys to look at per call. */
  count?: number;
  /** Only keys of this type (`string`, `hash`, `list`, `set`, `zset`, `stream`). */
  type?: string;
}

/** Options of {@linkcode Commands.zadd}. */
export type ZAddOptions =
  & ({ nx?: boolean; xx?: never } | { xx?: boolean; nx?: never })
  & ({ gt?: boolean; lt?: never } | { lt?: boolean; gt?: never })
  & {
    /** Count changed members (added or updated) instead of added ones. */
    ch?: boolean;
  };

/** A member to add to a sorted set. */
export interface ZMember {
  /** Its score. */
  score: number;
  /** The member. */
  member: CommandArg;
}

/** Options of {@linkcode Commands.zrange}. */
export type ZRangeOptions =
  & ({ byScore?: boolean; byLex?: never } | { byLex?: boolean; byScore?: never })
  & {
    /** Highest first. */
    rev?: boolean;
    /** With `byScore` or `byLex`: skip `offset` elements and return at most `count`. */
    limit?: { offset: number; count: number };
    /** Return `{ member, score }` objects. */
    withScores?: boolean;
  };

/** A list end, for `LMOVE`. */
export type ListSide = "LEFT" | "RIGHT";

function expiryArgs(options: SetExpiry | GetExOptions | undefined, args: CommandArg[]): void {
  if (options === undefined) return;
  if (options.ex !== undefined) args.push("EX", options.ex);
  else if (options.px !== undefined) args.push("PX", options.px);
  else if (options.exat !== undefined) args.push("EXAT", options.exat);
  else if (options.pxat !== undefined) args.push("PXAT", options.pxat);
  else if ((options as { keepTtl?: boolean }).keepTtl === true) args.push("KEEPTTL");
  else if ((options as { persist?: boolean }).persist === true) args.push("PERSIST");
}

function json(value: RespValue): unknown {
  const raw = r.textOrNull(value);
  return raw === null ? null : JSON.parse(raw);
}

/**
 * The command methods. The client, {@linkcode Pipeline} and
 * {@linkcode Transaction} extend it; see {@linkcode Reply} for what the
 * methods return on each.
 *
 * @example The client and its pipelines have the same methods
 * ```ts
 * import { Commands, RedisClient } from "../client.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1" }); // not connected yet
 * const pipeline = client.pipeline().set("greeting", "hello").get("greeting");
 * console.log(client instanceof Commands, pipeline instanceof Commands, pipeline.length); // true true 2
 * await client.close();
 * ```
 */
export abstract class Commands {
  readonly #dispatch: Dispatch;

  /**
   * Made by the subclasses.
   *
   * @param dispatch How the subclass sends or queues a command.
   */
  protected constructor(dispatch: Dispatch) {
    this.#dispatch = dispatch;
  }

  #call<T>(args: CommandArg[], parse?: Parser<T>): Reply<this, T> {
    return this.#dispatch(args, parse, false) as Reply<this, T>;
  }

  /**
   * Sends any command, as it is. The reply is returned as decoded: no
   * conversion, no JSON parsing.
   *
   * @param args The command name and its arguments.
   * @param options `bytes`: return bulk strings as `Uint8Array`.
   * @returns The reply; an error reply rejects with a `ReplyError`.
   * @throws {ReplyError} The server's error reply.
   * @throws {ConnectionClosedError} When the connection closed before the reply.
   *
   * @example
   * ```ts ignore
   * const reply = await client.send(["OBJECT", "ENCODING", "counter"]);
   * ```
   */
  send(args: CommandArg[], options?: SendOptions): Reply<this, RespValue> {
    return this.#dispatch(args, undefined, options?.bytes === true) as Reply<this, RespValue>;
  }

  // ---- connection and server -------------------------------------------------------------

  /**
   * Pings the server (`PING`).
   *
   * @param message Echoed back instead of `PONG`.
   * @returns `PONG`, or the message.
   * @example
   * ```ts ignore
   * await client.ping(); // "PONG"
   * ```
   */
  ping(message?: CommandArg): Reply<this, string> {
    return this.#call(message === undefined ? ["PING"] : ["PING", message], r.text);
  }

  /**
   * Echoes a message (`ECHO`).
   *
   * @param message The message.
   * @returns The message.
   * @example
   * ```ts ignore
   * await client.echo("hi"); // "hi"
   * ```
   */
  echo(message: CommandArg): Reply<this, string> {
    return this.#call(["ECHO", message], r.text);
  }

  /**
   * Counts the keys of the selected database (`DBSIZE`).
   *
   * @returns The number of keys.
   * @example
   * ```ts ignore
   * await client.dbsize(); // 42
   * ```
   */
  dbsize(): Reply<this, number> {
    return this.#call(["DBSIZE"], r.integer);
  }

  /**
   * Deletes every key of the selected database (`FLUSHDB`).
   *
   * @param options `async`: free memory in the background.
   * @returns `OK`.
   * @example
   * ```ts ignore
   * await client.flushdb();
   * ```
   */
  flushdb(options?: { async?: boolean }): Reply<this, "OK"> {
    return this.#call(options?.async === true ? ["FLUSHDB", "ASYNC"] : ["FLUSHDB"], r.ok);
  }

  /**
   * The server's clock (`TIME`).
   *
   * @returns Unix time in seconds, and microseconds.
   * @example
   * ```ts ignore
   * const [seconds, micros] = await client.time();
   * ```
   */
  time(): Reply<this, [seconds: number, microseconds: number]> {
    return this.#call(["TIME"], r.time);
  }

  // ---- keys ------------------------------------------------------------------------------

  /**
   * Deletes keys (`DEL`).
   *
   * @param keys The keys.
   * @returns How many existed.
   * @example
   * ```ts ignore
   * await client.del("a", "b"); // 2
   * ```
   */
  del(...keys: Key[]): Reply<this, number> {
    return this.#call(["DEL", ...keys], r.integer);
  }

  /**
   * Deletes keys, freeing memory in the background (`UNLINK`).
   *
   * @param keys The keys.
   * @returns How many existed.
   * @example
   * ```ts ignore
   * await client.unlink("big");
   * ```
   */
  unlink(...keys: Key[]): Reply<this, number> {
    return this.#call(["UNLINK", ...keys], r.integer);
  }

  /**
   * Counts how many of the keys exist (`EXISTS`); a key named twice counts twice.
   *
   * @param keys The keys.
   * @returns The count.
   * @example
   * ```ts ignore
   * if (await client.exists("session:1")) { … }
   * ```
   */
  exists(...keys: Key[]): Reply<this, number> {
    return this.#call(["EXISTS", ...keys], r.integer);
  }

  /**
   * Sets a key's time to live in seconds (`EXPIRE`).
   *
   * @param key The key.
   * @param seconds The time to live.
   * @param condition `NX`, `XX`, `GT` or `LT` (Redis 7).
   * @returns Whether the timeout was set.
   * @example
   * ```ts ignore
   * await client.expire("session:1", 3600); // true
   * ```
   */
  expire(key: Key, seconds: number, condition?: ExpireCondition): Reply<this, boolean> {
    const args: CommandArg[] = ["EXPIRE", key, seconds];
    if (condition !== undefined) args.push(condition);
    return this.#call(args, r.boolean);
  }

  /**
   * Sets a key's time to live in milliseconds (`PEXPIRE`).
   *
   * @param key The key.
   * @param milliseconds The time to live.
   * @param condition `NX`, `XX`, `GT` or `LT` (Redis 7).
   * @returns Whether the timeout was set.
   * @example
   * ```ts ignore
   * await client.pexpire("lock", 500);
   * ```
   */
  pexpire(key: Key, milliseconds: number, condition?: ExpireCondition): Reply<this, boolean> {
    const args: CommandArg[] = ["PEXPIRE", key, milliseconds];
    if (condition !== undefined) args.push(condition);
    return this.#call(args, r.boolean);
  }

  /**
   * Sets when a key expires, as a Unix time in seconds (`EXPIREAT`).
   *
   * @param key The key.
   * @param unixSeconds The time.
   * @returns Whether the timeout was set.
   * @example
   * ```ts ignore
   * await client.expireat("promo", Math.floor(Date.now() / 1000) + 60);
   * ```
   */
  expireat(key: Key, unixSeconds: number): Reply<this, boolean> {
    return this.#call(["EXPIREAT", key, unixSeconds], r.boolean);
  }

  /**
   * Sets when a key expires, as a Unix time in milliseconds (`PEXPIREAT`).
   *
   * @param key The key.
   * @param unixMilliseconds The time.
   * @returns Whether the timeout was set.
   * @example
   * ```ts ignore
   * await client.pexpireat("promo", Date.now() + 60_000);
   * ```
   */
  pexpireat(key: Key, unixMilliseconds: number): Reply<this, boolean> {
    return this.#call(["PEXPIREAT", key, unixMilliseconds], r.boolean);
  }

  /**
   * A key's remaining time to live in seconds (`TTL`).
   *
   * @param key The key.
   * @returns Seconds; -1 without expiry, -2 for a missing key.
   * @example
   * ```ts ignore
   * await client.ttl("session:1"); // 3599
   * ```
   */
  ttl(key: Key): Reply<this, number> {
    return this.#call(["TTL", key], r.integer);
  }

  /**
   * A key's remaining time to live in milliseconds (`PTTL`).
   *
   * @param key The key.
   * @returns Milliseconds; -1 without expiry, -2 for a missing key.
   * @example
   * ```ts ignore
   * await client.pttl("lock"); // 498
   * ```
   */
  pttl(key: Key): Reply<this, number> {
    return this.#call(["PTTL", key], r.integer);
  }

  /**
   * Removes a key's time to live (`PERSIST`).
   *
   * @param key The key.
   * @returns Whether a timeout was removed.
   * @example
   * ```ts ignore
   * await client.persist("session:1");
   * ```
   */
  persist(key: Key): Reply<this, boolean> {
    return this.#call(["PERSIST", key], r.boolean);
  }

  /**
   * The type of the value at a key (`TYPE`).
   *
   * @param key The key.
   * @returns `string`, `list`, `set`, `zset`, `hash`, `stream`, or `none`.
   * @example
   * ```ts ignore
   * await client.type("counter"); // "string"
   * ```
   */
  type(key: Key): Reply<this, string> {
    return this.#call(["TYPE", key], r.text);
  }

  /**
   * Renames a key, replacing any key of the new name (`RENAME`).
   *
   * @param key The key.
   * @param newKey Its new name.
   * @returns `OK`.
   * @throws {ReplyError} If the key does not exist.
   * @example
   * ```ts ignore
   * await client.rename("tmp", "final");
   * ```
   */
  rename(key: Key, newKey: Key): Reply<this, "OK"> {
    return this.#call(["RENAME", key, newKey], r.ok);
  }

  /**
   * Renames a key unless the new name exists (`RENAMENX`).
   *
   * @param key The key.
   * @param newKey Its new name.
   * @returns Whether it was renamed.
   * @example
   * ```ts ignore
   * await client.renamenx("tmp", "final");
   * ```
   */
  renamenx(key: Key, newKey: Key): Reply<this, boolean> {
    return this.#call(["RENAMENX", key, newKey], r.boolean);
  }

  /**
   * Lists keys matching a pattern (`KEYS`). It blocks the server while it
   * walks every key: prefer {@linkcode Commands.scan}.
   *
   * @param pattern A glob pattern.
   * @returns The matching keys.
   * @example
   * ```ts ignore
   * await client.keys("user:*");
   * ```
   */
  keys(pattern: string): Reply<this, string[]> {
    return this.#call(["KEYS", pattern], r.textArray);
  }

  /**
   * One page of an incremental walk over the keys (`SCAN`). Start with cursor
   * `"0"` (or `0`) and stop when the returned cursor is `"0"`.
   *
   * @param cursor The cursor from the previous page.
   * @param options `match`, `count`, `type`.
   * @returns The next cursor and this page's keys.
   * @example
   * ```ts ignore
   * let cursor = "0";
   * do {
   *   const [next, keys] = await client.scan(cursor, { match: "user:*", count: 100 });
   *   cursor = next;
   * } while (cursor !== "0");
   * ```
   */
  scan(
    cursor: string | number,
    options?: ScanOptions,
  ): Reply<this, [cursor: string, keys: string[]]> {
    const args: CommandArg[] = ["SCAN", cursor];
    if (options?.match !== undefined) args.push("MATCH", options.match);
    if (options?.count !== undefined) args.push("COUNT", options.count);
    if (options?.type !== undefined) args.push("TYPE", options.type);
    return this.#call(args, r.scanPage);
  }

  // ---- strings ---------------------------------------------------------------------------

  /**
   * Gets a string value (`GET`).
   *
   * @param key The key.
   * @returns The value, or `null` when the key does not exist.
   * @throws {ReplyError} `WRONGTYPE` when the key holds another type.
   * @example
   * ```ts ignore
   * await client.get("greeting"); // "hello"
   * ```
   */
  get(key: Key): Reply<this, string | null> {
    return this.#call(["GET", key], r.textOrNull);
  }

  /**
   * Gets a value as bytes, for binary data (`GET`).
   *
   * @param key The key.
   * @returns The bytes, or `null`.
   * @example
   * ```ts ignore
   * const image = await client.getBuffer("thumb:1");
   * ```
   */
  getBuffer(key: Key): Reply<this, Uint8Array | null> {
    return this.#dispatch(["GET", key], r.bytesOrNull, true) as Reply<this, Uint8Array | null>;
  }

  /**
   * Gets a value stored as JSON and parses it: the opt-in counterpart of
   * {@linkcode Commands.setJson}. No other method parses JSON.
   *
   * @typeParam T The value's type (not checked).
   * @param key The key.
   * @returns The parsed value, or `null` when the key does not exist.
   * @throws {SyntaxError} When the value is not JSON.
   * @example
   * ```ts ignore
   * const user = await client.getJson<{ name: string }>("user:1");
   * ```
   */
  getJson<T = unknown>(key: Key): Reply<this, T | null> {
    return this.#call(["GET", key], json as Parser<T | null>);
  }

  /**
   * Sets a key to a string value (`SET`).
   *
   * @param key The key.
   * @param value The value.
   * @param options An expiry (`ex`, `px`, `exat`, `pxat`, `keepTtl`), a
   * condition (`nx`, `xx`), and `get` to return the old value.
   * @returns `OK`, or `null` when `nx`/`xx` prevented the write; with `get`,
   * the old value or `null`.
   * @example
   * ```ts ignore
   * await client.set("session:1", token, { ex: 3600, nx: true }); // "OK" or null
   * ```
   */
  set(key: Key, value: CommandArg, options: SetOptions & { get: true }): Reply<this, string | null>;
  /**
   * Sets a key to a string value (`SET`).
   *
   * @param key The key.
   * @param value The value.
   * @param options An expiry (`ex`, `px`, `exat`, `pxat`, `keepTtl`) and a condition (`nx`, `xx`).
   * @returns `OK`, or `null` when `nx`/`xx` prevented the write.
   * @example
   * ```ts ignore
   * await client.set("greeting", "hello");
   * ```
   */
  set(
    key: Key,
    value: CommandArg,
    options?: SetOptions & { get?: false },
  ): Reply<this, "OK" | null>;
  set(key: Key, value: CommandArg, options?: SetOptions): Reply<this, string | null> {
    const args: CommandArg[] = ["SET", key, value];
    expiryArgs(options, args);
    if (options?.nx === true) args.push("NX");
    else if (options?.xx === true) args.push("XX");
    if (options?.get === true) {
      args.push("GET");
      return this.#call(args, r.textOrNull);
    }
    return this.#call(args, r.okOrNull);
  }

  /**
   * Stores a value as JSON (`SET key JSON.stringify(value)`): the opt-in
   * counterpart of {@linkcode Commands.getJson}.
   *
   * @param key The key.
   * @param value Any JSON-serializable value.
   * @param options As for {@linkcode Commands.set}, without `get`.
   * @returns `OK`, or `null` when `nx`/`xx` prevented the write.
   * @throws {TypeError} When the value cannot be serialized.
   * @example
   * ```ts ignore
   * await client.setJson("user:1", { name: "Ada" }, { ex: 60 });
   * ```
   */
  setJson(
    key: Key,
    value: unknown,
    options?: SetOptions & { get?: false },
  ): Reply<this, "OK" | null> {
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new TypeError(`Cannot store JSON: the value is not serializable (${typeof value})`);
    }
    return this.set(key, text, options);
  }

  /**
   * Gets a value and deletes the key (`GETDEL`).
   *
   * @param key The key.
   * @returns The value, or `null`.
   * @example
   * ```ts ignore
   * const once = await client.getdel("otp:1");
   * ```
   */
  getdel(key: Key): Reply<this, string | null> {
    return this.#call(["GETDEL", key], r.textOrNull);
  }

  /**
   * Gets a value and changes its expiry (`GETEX`).
   *
   * @param key The key.
   * @param options A new expiry (`ex`, `px`, `exat`, `pxat`) or `persist`.
   * @returns The value, or `null`.
   * @example
   * ```ts ignore
   * await client.getex("session:1", { ex: 3600 }); // sliding expiry
   * ```
   */
  getex(key: Key, options?: GetExOptions): Reply<this, string | null> {
    const args: CommandArg[] = ["GETEX", key];
    expiryArgs(options, args);
    return this.#call(args, r.textOrNull);
  }

  /**
   * Gets several values (`MGET`).
   *
   * @param keys The keys.
   * @returns One value (or `null`) per key.
   * @example
   * ```ts ignore
   * const [a, b] = await client.mget("a", "b");
   * ```
   */
  mget(...keys: Key[]): Reply<this, (string | null)[]> {
    return this.#call(["MGET", ...keys], r.nullableTextArray);
  }

  /**
   * Sets several keys (`MSET`).
   *
   * @param entries Keys and their values.
   * @returns `OK`.
   * @example
   * ```ts ignore
   * await client.mset({ a: "1", b: "2" });
   * ```
   */
  mset(entries: Record<string, CommandArg>): Reply<this, "OK"> {
    return this.#call(["MSET", ...Object.entries(entries).flat()], r.ok);
  }

  /**
   * Sets several keys, only if none exists (`MSETNX`).
   *
   * @param entries Keys and their values.
   * @returns Whether they were set.
   * @example
   * ```ts ignore
   * await client.msetnx({ a: "1", b: "2" }); // true
   * ```
   */
  msetnx(entries: Record<string, CommandArg>): Reply<this, boolean> {
    return this.#call(["MSETNX", ...Object.entries(entries).flat()], r.boolean);
  }

  /**
   * Appends to a string (`APPEND`).
   *
   * @param key The key.
   * @param value What to append.
   * @returns The new length.
   * @example
   * ```ts ignore
   * await client.append("log", "line\n");
   * ```
   */
  append(key: Key, value: CommandArg): Reply<this, number> {
    return this.#call(["APPEND", key, value], r.integer);
  }

  /**
   * A string's length in bytes (`STRLEN`).
   *
   * @param key The key.
   * @returns The length; 0 for a missing key.
   * @example
   * ```ts ignore
   * await client.strlen("greeting"); // 5
   * ```
   */
  strlen(key: Key): Reply<this, number> {
    return this.#call(["STRLEN", key], r.integer);
  }

  /**
   * A substring, by byte offsets (`GETRANGE`); negative offsets count from the end.
   *
   * @param key The key.
   * @param start The first byte.
   * @param end The last byte (inclusive).
   * @returns The substring.
   * @example
   * ```ts ignore
   * await client.getrange("greeting", 0, 1); // "he"
   * ```
   */
  getrange(key: Key, start: number, end: number): Reply<this, string> {
    return this.#call(["GETRANGE", key, start, end], r.text);
  }

  /**
   * Overwrites part of a string (`SETRANGE`).
   *
   * @param key The key.
   * @param offset The byte offset.
   * @param value The bytes to write there.
   * @returns The new length.
   * @example
   * ```ts ignore
   * await client.setrange("greeting", 0, "J"); // "jello" → 5
   * ```
   */
  setrange(key: Key, offset: number, value: CommandArg): Reply<this, number> {
    return this.#call(["SETRANGE", key, offset, value], r.integer);
  }

  /**
   * Adds 1 to an integer (`INCR`); a missing key counts as 0.
   *
   * @param key The key.
   * @returns The new value.
   * @throws {ReplyError} When the value is not an integer.
   * @example
   * ```ts ignore
   * await client.incr("hits"); // 1
   * ```
   */
  incr(key: Key): Reply<this, number> {
    return this.#call(["INCR", key], r.integer);
  }

  /**
   * Adds to an integer (`INCRBY`).
   *
   * @param key The key.
   * @param increment The amount (may be negative).
   * @returns The new value.
   * @example
   * ```ts ignore
   * await client.incrby("hits", 10);
   * ```
   */
  incrby(key: Key, increment: number): Reply<this, number> {
    return this.#call(["INCRBY", key, increment], r.integer);
  }

  /**
   * Adds to a floating-point number (`INCRBYFLOAT`).
   *
   * @param key The key.
   * @param increment The amount.
   * @returns The new value.
   * @example
   * ```ts ignore
   * await client.incrbyfloat("balance", 0.5);
   * ```
   */
  incrbyfloat(key: Key, increment: number): Reply<this, number> {
    return this.#call(["INCRBYFLOAT", key, increment], r.double);
  }

  /**
   * Subtracts 1 from an integer (`DECR`).
   *
   * @param key The key.
   * @returns The new value.
   * @example
   * ```ts ignore
   * await client.decr("stock");
   * ```
   */
  decr(key: Key): Reply<this, number> {
    return this.#call(["DECR", key], r.integer);
  }

  /**
   * Subtracts from an integer (`DECRBY`).
   *
   * @param key The key.
   * @param decrement The amount.
   * @returns The new value.
   * @example
   * ```ts ignore
   * await client.decrby("stock", 3);
   * ```
   */
  decrby(key: Key, decrement: number): Reply<this, number> {
    return this.#call(["DECRBY", key, decrement], r.integer);
  }

  // ---- hashes ----------------------------------------------------------------------------

  /**
   * Gets a hash field (`HGET`).
   *
   * @param key The key.
   * @param field The field.
   * @returns The value, or `null`.
   * @example
   * ```ts ignore
   * await client.hget("user:1", "name"); // "Ada"
   * ```
   */
  hget(key: Key, field: CommandArg): Reply<this, string | null> {
    return this.#call(["HGET", key, field], r.textOrNull);
  }

  /**
   * Sets hash fields (`HSET`).
   *
   * @param key The key.
   * @param fields Fields and their values.
   * @returns How many fields were added (not updated).
   * @example
   * ```ts ignore
   * await client.hset("user:1", { name: "Ada", visits: 1 });
   * ```
   */
  hset(key: Key, fields: Record<string, CommandArg>): Reply<this, number> {
    return this.#call(["HSET", key, ...Object.entries(fields).flat()], r.integer);
  }

  /**
   * Sets a hash field unless it exists (`HSETNX`).
   *
   * @param key The key.
   * @param field The field.
   * @param value The value.
   * @returns Whether it was set.
   * @example
   * ```ts ignore
   * await client.hsetnx("user:1", "created", Date.now());
   * ```
   */
  hsetnx(key: Key, field: CommandArg, value: CommandArg): Reply<this, boolean> {
    return this.#call(["HSETNX", key, field, value], r.boolean);
  }

  /**
   * Gets several hash fields (`HMGET`).
   *
   * @param key The key.
   * @param fields The fields.
   * @returns One value (or `null`) per field.
   * @example
   * ```ts ignore
   * const [name, email] = await client.hmget("user:1", "name", "email");
   * ```
   */
  hmget(key: Key, ...fields: CommandArg[]): Reply<this, (string | null)[]> {
    return this.#call(["HMGET", key, ...fields], r.nullableTextArray);
  }

  /**
   * Gets a whole hash (`HGETALL`).
   *
   * @param key The key.
   * @returns Its fields and values; `{}` for a missing key.
   * @example
   * ```ts ignore
   * const user = await client.hgetall("user:1"); // { name: "Ada", visits: "1" }
   * ```
   */
  hgetall(key: Key): Reply<this, Record<string, string>> {
    return this.#call(["HGETALL", key], r.record);
  }

  /**
   * Deletes hash fields (`HDEL`).
   *
   * @param key The key.
   * @param fields The fields.
   * @returns How many existed.
   * @example
   * ```ts ignore
   * await client.hdel("user:1", "email");
   * ```
   */
  hdel(key: Key, ...fields: CommandArg[]): Reply<this, number> {
    return this.#call(["HDEL", key, ...fields], r.integer);
  }

  /**
   * Whether a hash field exists (`HEXISTS`).
   *
   * @param key The key.
   * @param field The field.
   * @returns `true` if it exists.
   * @example
   * ```ts ignore
   * await client.hexists("user:1", "name"); // true
   * ```
   */
  hexists(key: Key, field: CommandArg): Reply<this, boolean> {
    return this.#call(["HEXISTS", key, field], r.boolean);
  }

  /**
   * Adds to an integer hash field (`HINCRBY`).
   *
   * @param key The key.
   * @param field The field.
   * @param increment The amount.
   * @returns The new value.
   * @example
   * ```ts ignore
   * await client.hincrby("user:1", "visits", 1);
   * ```
   */
  hincrby(key: Key, field: CommandArg, increment: number): Reply<this, number> {
    return this.#call(["HINCRBY", key, field, increment], r.integer);
  }

  /**
   * Adds to a floating-point hash field (`HINCRBYFLOAT`).
   *
   * @param key The key.
   * @param field The field.
   * @param increment The amount.
   * @returns The new value.
   * @example
   * ```ts ignore
   * await client.hincrbyfloat("account:1", "balance", 2.5);
   * ```
   */
  hincrbyfloat(key: Key, field: CommandArg, increment: number): Reply<this, number> {
    return this.#call(["HINCRBYFLOAT", key, field, increment], r.double);
  }

  /**
   * A hash's field names (`HKEYS`).
   *
   * @param key The key.
   * @returns The fields.
   * @example
   * ```ts ignore
   * await client.hkeys("user:1"); // ["name", "visits"]
   * ```
   */
  hkeys(key: Key): Reply<this, string[]> {
    return this.#call(["HKEYS", key], r.textArray);
  }

  /**
   * A hash's values (`HVALS`).
   *
   * @param key The key.
   * @returns The values.
   * @example
   * ```ts ignore
   * await client.hvals("user:1"); // ["Ada", "1"]
   * ```
   */
  hvals(key: Key): Reply<this, string[]> {
    return this.#call(["HVALS", key], r.textArray);
  }

  /**
   * How many fields a hash has (`HLEN`).
   *
   * @param key The key.
   * @returns The count.
   * @example
   * ```ts ignore
   * await client.hlen("user:1"); // 2
   * ```
   */
  hlen(key: Key): Reply<this, number> {
    return this.#call(["HLEN", key], r.integer);
  }

  // ---- lists -----------------------------------------------------------------------------

  /**
   * Prepends values to a list (`LPUSH`).
   *
   * @param key The key.
   * @param values The values; the last one ends up first.
   * @returns The list's new length.
   * @example
   * ```ts ignore
   * await client.lpush("jobs", "a", "b");
   * ```
   */
  lpush(key: Key, ...values: CommandArg[]): Reply<this, number> {
    return this.#call(["LPUSH", key, ...values], r.integer);
  }

  /**
   * Appends values to a list (`RPUSH`).
   *
   * @param key The key.
   * @param values The values.
   * @returns The list's new length.
   * @example
   * ```ts ignore
   * await client.rpush("jobs", "a", "b");
   * ```
   */
  rpush(key: Key, ...values: CommandArg[]): Reply<this, number> {
    return this.#call(["RPUSH", key, ...values], r.integer);
  }

  /**
   * Removes and returns the first element (`LPOP`).
   *
   * @param key The key.
   * @returns The element, or `null` when the list is empty.
   * @example
   * ```ts ignore
   * const job = await client.lpop("jobs");
   * ```
   */
  lpop(key: Key): Reply<this, string | null>;
  /**
   * Removes and returns up to `count` elements from the head (`LPOP key count`).
   *
   * @param key The key.
   * @param count How many.
   * @returns The elements, or `null` when the list is empty.
   * @example
   * ```ts ignore
   * const jobs = await client.lpop("jobs", 10);
   * ```
   */
  lpop(key: Key, count: number): Reply<this, string[] | null>;
  lpop(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.#call(["LPOP", key], r.textOrNull)
      : this.#call(["LPOP", key, count], r.textArrayOrNull);
  }

  /**
   * Removes and returns the last element (`RPOP`).
   *
   * @param key The key.
   * @returns The element, or `null` when the list is empty.
   * @example
   * ```ts ignore
   * const last = await client.rpop("jobs");
   * ```
   */
  rpop(key: Key): Reply<this, string | null>;
  /**
   * Removes and returns up to `count` elements from the tail (`RPOP key count`).
   *
   * @param key The key.
   * @param count How many.
   * @returns The elements, or `null` when the list is empty.
   * @example
   * ```ts ignore
   * const last = await client.rpop("jobs", 2);
   * ```
   */
  rpop(key: Key, count: number): Reply<this, string[] | null>;
  rpop(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.#call(["RPOP", key], r.textOrNull)
      : this.#call(["RPOP", key, count], r.textArrayOrNull);
  }

  /**
   * A range of a list (`LRANGE`); negative indexes count from the end.
   *
   * @param key The key.
   * @param start The first index.
   * @param stop The last index (inclusive).
   * @returns The elements.
   * @example
   * ```ts ignore
   * await client.lrange("jobs", 0, -1); // the whole list
   * ```
   */
  lrange(key: Key, start: number, stop: number): Reply<this, string[]> {
    return this.#call(["LRANGE", key, start, stop], r.textArray);
  }

  /**
   * A list's length (`LLEN`).
   *
   * @param key The key.
   * @returns The length.
   * @example
   * ```ts ignore
   * await client.llen("jobs");
   * ```
   */
  llen(key: Key): Reply<this, number> {
    return this.#call(["LLEN", key], r.integer);
  }

  /**
   * The element at an index (`LINDEX`).
   *
   * @param key The key.
   * @param index The index; negative counts from the end.
   * @returns The element, or `null`.
   * @example
   * ```ts ignore
   * await client.lindex("jobs", -1);
   * ```
   */
  lindex(key: Key, index: number): Reply<this, string | null> {
    return this.#call(["LINDEX", key, index], r.textOrNull);
  }

  /**
   * Sets the element at an index (`LSET`).
   *
   * @param key The key.
   * @param index The index.
   * @param value The value.
   * @returns `OK`.
   * @throws {ReplyError} When the index is out of range.
   * @example
   * ```ts ignore
   * await client.lset("jobs", 0, "first");
   * ```
   */
  lset(key: Key, index: number, value: CommandArg): Reply<this, "OK"> {
    return this.#call(["LSET", key, index, value], r.ok);
  }

  /**
   * Removes elements equal to a value (`LREM`).
   *
   * @param key The key.
   * @param count How many: from the head when positive, from the tail when negative, all when 0.
   * @param value The value.
   * @returns How many were removed.
   * @example
   * ```ts ignore
   * await client.lrem("jobs", 0, "done");
   * ```
   */
  lrem(key: Key, count: number, value: CommandArg): Reply<this, number> {
    return this.#call(["LREM", key, count, value], r.integer);
  }

  /**
   * Trims a list to a range (`LTRIM`).
   *
   * @param key The key.
   * @param start The first index kept.
   * @param stop The last index kept.
   * @returns `OK`.
   * @example
   * ```ts ignore
   * await client.ltrim("recent", 0, 99); // keep 100
   * ```
   */
  ltrim(key: Key, start: number, stop: number): Reply<this, "OK"> {
    return this.#call(["LTRIM", key, start, stop], r.ok);
  }

  /**
   * Moves an element from one list to another (`LMOVE`).
   *
   * @param source The source list.
   * @param destination The destination list.
   * @param from Which end of the source to take from.
   * @param to Which end of the destination to put at.
   * @returns The element, or `null` when the source is empty.
   * @example
   * ```ts ignore
   * await client.lmove("jobs", "processing", "LEFT", "RIGHT");
   * ```
   */
  lmove(source: Key, destination: Key, from: ListSide, to: ListSide): Reply<this, string | null> {
    return this.#call(["LMOVE", source, destination, from, to], r.textOrNull);
  }

  // ---- sets ------------------------------------------------------------------------------

  /**
   * Adds members to a set (`SADD`).
   *
   * @param key The key.
   * @param members The members.
   * @returns How many were new.
   * @example
   * ```ts ignore
   * await client.sadd("tags", "a", "b");
   * ```
   */
  sadd(key: Key, ...members: CommandArg[]): Reply<this, number> {
    return this.#call(["SADD", key, ...members], r.integer);
  }

  /**
   * Removes members from a set (`SREM`).
   *
   * @param key The key.
   * @param members The members.
   * @returns How many were removed.
   * @example
   * ```ts ignore
   * await client.srem("tags", "a");
   * ```
   */
  srem(key: Key, ...members: CommandArg[]): Reply<this, number> {
    return this.#call(["SREM", key, ...members], r.integer);
  }

  /**
   * A set's members (`SMEMBERS`).
   *
   * @param key The key.
   * @returns The members, in no particular order.
   * @example
   * ```ts ignore
   * await client.smembers("tags");
   * ```
   */
  smembers(key: Key): Reply<this, string[]> {
    return this.#call(["SMEMBERS", key], r.textArray);
  }

  /**
   * Whether a value is a member of a set (`SISMEMBER`).
   *
   * @param key The key.
   * @param member The value.
   * @returns `true` if it is.
   * @example
   * ```ts ignore
   * await client.sismember("tags", "a");
   * ```
   */
  sismember(key: Key, member: CommandArg): Reply<this, boolean> {
    return this.#call(["SISMEMBER", key, member], r.boolean);
  }

  /**
   * Whether each value is a member of a set (`SMISMEMBER`).
   *
   * @param key The key.
   * @param members The values.
   * @returns One boolean per value.
   * @example
   * ```ts ignore
   * await client.smismember("tags", "a", "z"); // [true, false]
   * ```
   */
  smismember(key: Key, ...members: CommandArg[]): Reply<this, boolean[]> {
    return this.#call(["SMISMEMBER", key, ...members], r.booleanArray);
  }

  /**
   * A set's size (`SCARD`).
   *
   * @param key The key.
   * @returns The number of members.
   * @example
   * ```ts ignore
   * await client.scard("tags");
   * ```
   */
  scard(key: Key): Reply<this, number> {
    return this.#call(["SCARD", key], r.integer);
  }

  /**
   * Removes and returns a random member (`SPOP`).
   *
   * @param key The key.
   * @returns The member, or `null` when the set is empty.
   * @example
   * ```ts ignore
   * await client.spop("tags");
   * ```
   */
  spop(key: Key): Reply<this, string | null>;
  /**
   * Removes and returns up to `count` random members (`SPOP key count`).
   *
   * @param key The key.
   * @param count How many.
   * @returns The members.
   * @example
   * ```ts ignore
   * await client.spop("tags", 2);
   * ```
   */
  spop(key: Key, count: number): Reply<this, string[]>;
  spop(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.#call(["SPOP", key], r.textOrNull)
      : this.#call(["SPOP", key, count], r.textArray);
  }

  /**
   * Returns a random member without removing it (`SRANDMEMBER`).
   *
   * @param key The key.
   * @returns The member, or `null` when the set is empty.
   * @example
   * ```ts ignore
   * await client.srandmember("tags");
   * ```
   */
  srandmember(key: Key): Reply<this, string | null>;
  /**
   * Returns random members (`SRANDMEMBER key count`): distinct when `count`
   * is positive, possibly repeated when negative.
   *
   * @param key The key.
   * @param count How many.
   * @returns The members.
   * @example
   * ```ts ignore
   * await client.srandmember("tags", 3);
   * ```
   */
  srandmember(key: Key, count: number): Reply<this, string[]>;
  srandmember(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.#call(["SRANDMEMBER", key], r.textOrNull)
      : this.#call(["SRANDMEMBER", key, count], r.textArray);
  }

  /**
   * The intersection of sets (`SINTER`).
   *
   * @param keys The sets.
   * @returns The members in all of them.
   * @example
   * ```ts ignore
   * await client.sinter("a", "b");
   * ```
   */
  sinter(...keys: Key[]): Reply<this, string[]> {
    return this.#call(["SINTER", ...keys], r.textArray);
  }

  /**
   * The union of sets (`SUNION`).
   *
   * @param keys The sets.
   * @returns The members in any of them.
   * @example
   * ```ts ignore
   * await client.sunion("a", "b");
   * ```
   */
  sunion(...keys: Key[]): Reply<this, string[]> {
    return this.#call(["SUNION", ...keys], r.textArray);
  }

  /**
   * The difference of sets (`SDIFF`).
   *
   * @param keys The first set, then the sets to subtract.
   * @returns The members of the first set in none of the others.
   * @example
   * ```ts ignore
   * await client.sdiff("a", "b");
   * ```
   */
  sdiff(...keys: Key[]): Reply<this, string[]> {
    return this.#call(["SDIFF", ...keys], r.textArray);
  }

  // ---- sorted sets -----------------------------------------------------------------------

  /**
   * Adds members to a sorted set, or updates their scores (`ZADD`).
   *
   * @param key The key.
   * @param member The first member and its score.
   * @param members More members.
   * @returns How many were added.
   * @example
   * ```ts ignore
   * await client.zadd("scores", { score: 10, member: "ada" }, { score: 7, member: "bob" });
   * ```
   */
  zadd(key: Key, member: ZMember, ...members: ZMember[]): Reply<this, number>;
  /**
   * Adds or updates members of a sorted set with conditions (`ZADD NX|XX GT|LT CH`).
   *
   * @param key The key.
   * @param options `nx`/`xx`, `gt`/`lt`, `ch`.
   * @param member The first member and its score.
   * @param members More members.
   * @returns How many were added (with `ch`: added or changed).
   * @example
   * ```ts ignore
   * await client.zadd("best", { gt: true, ch: true }, { score: 12, member: "ada" });
   * ```
   */
  zadd(
    key: Key,
    options: ZAddOptions,
    member: ZMember,
    ...members: ZMember[]
  ): Reply<this, number>;
  zadd(key: Key, first: ZAddOptions | ZMember, ...rest: ZMember[]): Reply<this, number> {
    const args: CommandArg[] = ["ZADD", key];
    let members = rest;
    if ("score" in first && "member" in first) {
      members = [first as ZMember, ...rest];
    } else {
      const options = first as ZAddOptions;
      if (options.nx === true) args.push("NX");
      else if (options.xx === true) args.push("XX");
      if (options.gt === true) args.push("GT");
      else if (options.lt === true) args.push("LT");
      if (options.ch === true) args.push("CH");
    }
    for (const { score, member } of members) args.push(score, member);
    return this.#call(args, r.integer);
  }

  /**
   * Adds to a member's score (`ZINCRBY`).
   *
   * @param key The key.
   * @param increment The amount.
   * @param member The member.
   * @returns The new score.
   * @example
   * ```ts ignore
   * await client.zincrby("scores", 5, "ada");
   * ```
   */
  zincrby(key: Key, increment: number, member: CommandArg): Reply<this, number> {
    return this.#call(["ZINCRBY", key, increment, member], r.double);
  }

  /**
   * A member's score (`ZSCORE`).
   *
   * @param key The key.
   * @param member The member.
   * @returns The score, or `null`.
   * @example
   * ```ts ignore
   * await client.zscore("scores", "ada"); // 15
   * ```
   */
  zscore(key: Key, member: CommandArg): Reply<this, number | null> {
    return this.#call(["ZSCORE", key, member], r.doubleOrNull);
  }

  /**
   * Removes members (`ZREM`).
   *
   * @param key The key.
   * @param members The members.
   * @returns How many were removed.
   * @example
   * ```ts ignore
   * await client.zrem("scores", "bob");
   * ```
   */
  zrem(key: Key, ...members: CommandArg[]): Reply<this, number> {
    return this.#call(["ZREM", key, ...members], r.integer);
  }

  /**
   * A sorted set's size (`ZCARD`).
   *
   * @param key The key.
   * @returns The number of members.
   * @example
   * ```ts ignore
   * await client.zcard("scores");
   * ```
   */
  zcard(key: Key): Reply<this, number> {
    return this.#call(["ZCARD", key], r.integer);
  }

  /**
   * Counts members with scores in a range (`ZCOUNT`).
   *
   * @param key The key.
   * @param min The lowest score: a number, `"-inf"`, or `"(5"` for exclusive.
   * @param max The highest score.
   * @returns The count.
   * @example
   * ```ts ignore
   * await client.zcount("scores", 10, "+inf");
   * ```
   */
  zcount(key: Key, min: number | string, max: number | string): Reply<this, number> {
    return this.#call(["ZCOUNT", key, min, max], r.integer);
  }

  /**
   * A member's rank, lowest score first (`ZRANK`).
   *
   * @param key The key.
   * @param member The member.
   * @returns The 0-based rank, or `null`.
   * @example
   * ```ts ignore
   * await client.zrank("scores", "ada");
   * ```
   */
  zrank(key: Key, member: CommandArg): Reply<this, number | null> {
    return this.#call(["ZRANK", key, member], r.integerOrNull);
  }

  /**
   * A member's rank, highest score first (`ZREVRANK`).
   *
   * @param key The key.
   * @param member The member.
   * @returns The 0-based rank, or `null`.
   * @example
   * ```ts ignore
   * await client.zrevrank("scores", "ada"); // 0: the leader
   * ```
   */
  zrevrank(key: Key, member: CommandArg): Reply<this, number | null> {
    return this.#call(["ZREVRANK", key, member], r.integerOrNull);
  }

  /**
   * A range of members with their scores (`ZRANGE … WITHSCORES`).
   *
   * @param key The key.
   * @param start The first index (or score/lex bound with `byScore`/`byLex`).
   * @param stop The last index (or bound).
   * @param options `withScores: true`, and `byScore`/`byLex`, `rev`, `limit`.
   * @returns The members and scores.
   * @example
   * ```ts ignore
   * await client.zrange("scores", 0, 2, { rev: true, withScores: true });
   * ```
   */
  zrange(
    key: Key,
    start: number | string,
    stop: number | string,
    options: ZRangeOptions & { withScores: true },
  ): Reply<this, ScoreMember[]>;
  /**
   * A range of members (`ZRANGE`).
   *
   * @param key The key.
   * @param start The first index (or score/lex bound with `byScore`/`byLex`).
   * @param stop The last index (or bound).
   * @param options `byScore`/`byLex`, `rev`, `limit`.
   * @returns The members.
   * @example
   * ```ts ignore
   * await client.zrange("scores", 0, -1);
   * await client.zrange("scores", "(10", "+inf", { byScore: true, limit: { offset: 0, count: 5 } });
   * ```
   */
  zrange(
    key: Key,
    start: number | string,
    stop: number | string,
    options?: ZRangeOptions & { withScores?: false },
  ): Reply<this, string[]>;
  zrange(
    key: Key,
    start: number | string,
    stop: number | string,
    options?: ZRangeOptions,
  ): Reply<this, string[] | ScoreMember[]> {
    const args: CommandArg[] = ["ZRANGE", key, start, stop];
    if (options?.byScore === true) args.push("BYSCORE");
    else if (options?.byLex === true) args.push("BYLEX");
    if (options?.rev === true) args.push("REV");
    if (options?.limit !== undefined) args.push("LIMIT", options.limit.offset, options.limit.count);
    if (options?.withScores === true) {
      args.push("WITHSCORES");
      return this.#call(args, r.scoreMembers);
    }
    return this.#call(args, r.textArray);
  }

  /**
   * Removes and returns the lowest-scored members (`ZPOPMIN`).
   *
   * @param key The key.
   * @param count How many.
   * @returns The members and their scores.
   * @example
   * ```ts ignore
   * const [next] = await client.zpopmin("queue");
   * ```
   */
  zpopmin(key: Key, count?: number): Reply<this, ScoreMember[]> {
    return this.#call(
      count === undefined ? ["ZPOPMIN", key] : ["ZPOPMIN", key, count],
      r.scoreMembers,
    );
  }

  /**
   * Removes and returns the highest-scored members (`ZPOPMAX`).
   *
   * @param key The key.
   * @param count How many.
   * @returns The members and their scores.
   * @example
   * ```ts ignore
   * const [top] = await client.zpopmax("scores");
   * ```
   */
  zpopmax(key: Key, count?: number): Reply<this, ScoreMember[]> {
    return this.#call(
      count === undefined ? ["ZPOPMAX", key] : ["ZPOPMAX", key, count],
      r.scoreMembers,
    );
  }

  /**
   * Removes members with scores in a range (`ZREMRANGEBYSCORE`).
   *
   * @param key The key.
   * @param min The lowest score (`"-inf"`, `"(5"` allowed).
   * @param max The highest score.
   * @returns How many were removed.
   * @example
   * ```ts ignore
   * await client.zremrangebyscore("events", "-inf", Date.now() - 60_000);
   * ```
   */
  zremrangebyscore(key: Key, min: number | string, max: number | string): Reply<this, number> {
    return this.#call(["ZREMRANGEBYSCORE", key, min, max], r.integer);
  }

  // ---- scripting -------------------------------------------------------------------------

  /**
   * Runs a Lua script (`EVAL`). The reply is returned as decoded, without conversion.
   *
   * @param script The script.
   * @param keys The keys it touches (`KEYS`).
   * @param args Its other arguments (`ARGV`).
   * @returns What the script returned.
   * @throws {ReplyError} When the script fails.
   * @example
   * ```ts ignore
   * await client.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", ["hits"], [5]);
   * ```
   */
  eval(script: string, keys: Key[] = [], args: CommandArg[] = []): Reply<this, RespValue> {
    return this.#call(["EVAL", script, keys.length, ...keys, ...args]);
  }

  /**
   * Runs a script cached with {@linkcode Commands.scriptLoad} (`EVALSHA`).
   *
   * @param sha1 The script's SHA-1 digest.
   * @param keys The keys it touches (`KEYS`).
   * @param args Its other arguments (`ARGV`).
   * @returns What the script returned.
   * @throws {ReplyError} `NOSCRIPT` when the server does not have the script.
   * @example
   * ```ts ignore
   * const sha = await client.scriptLoad("return ARGV[1]");
   * await client.evalsha(sha, [], ["hi"]); // "hi"
   * ```
   */
  evalsha(sha1: string, keys: Key[] = [], args: CommandArg[] = []): Reply<this, RespValue> {
    return this.#call(["EVALSHA", sha1, keys.length, ...keys, ...args]);
  }

  /**
   * Caches a script on the server (`SCRIPT LOAD`).
   *
   * @param script The script.
   * @returns Its SHA-1 digest, for {@linkcode Commands.evalsha}.
   * @example
   * ```ts ignore
   * const sha = await client.scriptLoad("return 1");
   * ```
   */
  scriptLoad(script: string): Reply<this, string> {
    return this.#call(["SCRIPT", "LOAD", script], r.text);
  }

  /**
   * Whether scripts are cached (`SCRIPT EXISTS`).
   *
   * @param sha1s The digests.
   * @returns One boolean per digest.
   * @example
   * ```ts ignore
   * const [known] = await client.scriptExists(sha);
   * ```
   */
  scriptExists(...sha1s: string[]): Reply<this, boolean[]> {
    return this.#call(["SCRIPT", "EXISTS", ...sha1s], r.booleanArray);
  }

  // ---- pub/sub ---------------------------------------------------------------------------

  /**
   * Publishes a message (`PUBLISH`).
   *
   * @param channel The channel.
   * @param message The message.
   * @returns How many subscribers received it (on this node).
   * @example
   * ```ts ignore
   * await client.publish("news", "hello");
   * ```
   */
  publish(channel: CommandArg, message: CommandArg): Reply<this, number> {
    return this.#call(["PUBLISH", channel, message], r.integer);
  }
}
