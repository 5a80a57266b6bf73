/**
 * What the connection must know about a command before it writes it, decided
 * in one place from the command's name (a string or bytes, any case):
 *
 * - whether it opens or closes a transaction (`MULTI`, `EXEC`, `DISCARD`), so
 *   that a re-authentication is held back until the transaction ends;
 * - whether it blocks on the server (`BLPOP q 5`, `XREAD BLOCK 100 …`,
 *   `WAIT 1 0`), and for how long, so that its reply timeout is its own
 *   timeout plus the command timeout, and whether it may run on a connection
 *   of its own (all but `WAIT`, `WAITAOF`);
 * - whether it changes how the client's connections are set up (`SELECT`,
 *   `CLIENT SETNAME`), so that later ones are set up the same way;
 * - whether it would change what the server sends back on the connection
 *   (`SUBSCRIBE`, `MONITOR`, `CLIENT REPLY OFF`, …), which would make later
 *   replies answer the wrong commands, or drop its authentication (`RESET`):
 *   those are refused, with the API to use instead;
 * - whether it only reads, so that it may be sent again after a dropped
 *   connection, and whether a replica may answer it when the user asks for
 *   replica reads (`replicaReads` of the thin client and of the cluster
 *   client): the one home of that rule.
 *
 * The check is on the hot path: a table indexed by the name's first letter
 * rules out almost every command (`GET`, `SET`, `HSET`, …) without building a
 * string.
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";

/** A command that needs nothing special. */
export const PLAIN = 0;
/** `MULTI`. */
export const OPENS_TRANSACTION = 1;
/** `EXEC`, `DISCARD`. */
export const CLOSES_TRANSACTION = 2;
/** A command that may block on the server: see {@linkcode blockingTimeout}. */
export const BLOCKING = 3;
/** A command the connection refuses: see {@linkcode refusedCommandError}. */
export const REFUSED = 4;
/**
 * `SELECT`, `CLIENT SETNAME`: it changes what a new connection of the client
 * must be set up with; see {@linkcode connectionSetting}.
 */
export const SETS_CONNECTION = 5;

type Rule =
  | typeof PLAIN
  | typeof OPENS_TRANSACTION
  | typeof CLOSES_TRANSACTION
  | typeof BLOCKING
  | typeof REFUSED
  | typeof SETS_CONNECTION;

const PUBSUB = "use client.subscribe() or client.psubscribe(), which keep the replies in order";
const STREAM = "it turns the connection into a stream of events, and later replies would " +
  "answer the wrong commands; use redis-cli or a connection of its own";

/** Why each refused command is refused, and what to use instead. */
const REFUSALS = new Map<string, string>([
  ["SUBSCRIBE", PUBSUB],
  ["PSUBSCRIBE", PUBSUB],
  ["SSUBSCRIBE", PUBSUB],
  ["UNSUBSCRIBE", "call unsubscribe() on the subscription client.subscribe() returned"],
  ["PUNSUBSCRIBE", "call unsubscribe() on the subscription client.psubscribe() returned"],
  ["SUNSUBSCRIBE", "call unsubscribe() on the subscription"],
  ["MONITOR", STREAM],
  ["SYNC", STREAM],
  ["PSYNC", STREAM],
  [
    "REPLCONF",
    "it is for replicas: the server answers some of its forms with no reply at all, and later " +
    "replies would answer the wrong commands",
  ],
  [
    "RESET",
    "it ends the connection's authentication, and later commands would run as the default " +
    "user; close the client and connect again instead",
  ],
]);

const RULES = new Map<string, Rule>([
  ["MULTI", OPENS_TRANSACTION],
  ["EXEC", CLOSES_TRANSACTION],
  ["DISCARD", CLOSES_TRANSACTION],
  ...["BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP", "BZMPOP"].map(
    (name) => [name, BLOCKING] as const,
  ),
  ...["XREAD", "XREADGROUP", "WAIT", "WAITAOF"].map((name) => [name, BLOCKING] as const),
  ["SELECT", SETS_CONNECTION],
  ["CLIENT", REFUSED], // only CLIENT REPLY OFF|SKIP (CLIENT SETNAME: SETS_CONNECTION); see commandRule()
  ["HELLO", REFUSED], // only with arguments; see refusalReason()
  ...[...REFUSALS.keys()].map((name) => [name, REFUSED] as const),
]);

/**
 * Commands that only read keys' data: a replica (a serverless cache's reader
 * endpoint, a shard's replica) may answer them when the user asks for replica
 * reads, and they may be sent again after a dropped connection.
 */
const DATA_READS = new Set(
  names(
    "GET MGET EXISTS STRLEN GETRANGE SUBSTR TTL PTTL EXPIRETIME PEXPIRETIME TYPE DUMP GETBIT " +
      "BITCOUNT BITPOS HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN HRANDFIELD HSCAN " +
      "LRANGE LLEN LINDEX LPOS SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SINTER SUNION " +
      "SDIFF SINTERCARD SSCAN ZSCORE ZMSCORE ZRANGE ZRANGEBYSCORE ZRANGEBYLEX ZREVRANGE " +
      "ZREVRANGEBYSCORE ZREVRANGEBYLEX ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANDMEMBER ZINTER " +
      "ZUNION ZDIFF ZINTERCARD ZSCAN XRANGE XREVRANGE XLEN XINFO GEOPOS GEODIST GEOHASH GEOSEARCH " +
      "EVAL_RO EVALSHA_RO FCALL_RO SORT_RO LCS OBJECT MEMORY DBSIZE KEYS RANDOMKEY",
  ),
);

/**
 * Commands that only read, but about the server that answers them: safe to
 * send again, never sent to a replica in the primary's stead (a health
 * check's `PING` is about the primary).
 */
const SERVER_READS = new Set(names("PING ECHO TIME INFO"));

function names(list: string): string[] {
  return list.split(" ").filter((name) => name !== "");
}

const decoder = new TextDecoder();

/**
 * A command's name, uppercase.
 *
 * @param args The command.
 * @returns Its name, such as `GET`; `""` for an empty command.
 *
 * @example
 * ```ts
 * import { commandName } from "./command_rules.ts";
 *
 * console.log(commandName(["hgetall", "user:1"])); // "HGETALL"
 * console.log(commandName([new TextEncoder().encode("get"), "k"])); // "GET"
 * ```
 */
export function commandName(args: readonly CommandArg[]): string {
  const first = args[0];
  if (first === undefined) return "";
  return (first instanceof Uint8Array ? decoder.decode(first) : String(first)).toUpperCase();
}

/**
 * Whether a command only reads (`GET`, `HGETALL`, `PING`, …), so that it may
 * be sent again after its connection dropped.
 *
 * @param name The command's name, uppercase.
 * @returns `true` for a command that changes nothing.
 *
 * @example
 * ```ts
 * import { isReadOnly } from "./command_rules.ts";
 *
 * console.log(isReadOnly("GET"), isReadOnly("PING"), isReadOnly("INCR")); // true true false
 * ```
 */
export function isReadOnly(name: string): boolean {
  return DATA_READS.has(name) || SERVER_READS.has(name);
}

/**
 * Whether a replica may answer a command in the primary's stead when the
 * user asks for replica reads: the command only reads keys' data (`GET`,
 * `HGETALL`, `MGET`, `EVAL_RO`, …). Writes, and reads about the server that
 * answers (`PING`, `ECHO`, `TIME`, `INFO`), go to the primary.
 *
 * @param name The command's name, uppercase.
 * @returns `true` when a replica may answer it.
 *
 * @example
 * ```ts
 * import { readsFromReplica } from "./command_rules.ts";
 *
 * console.log(readsFromReplica("GET"), readsFromReplica("PING"), readsFromReplica("SET")); // true false false
 * ```
 */
export function readsFromReplica(name: string): boolean {
  return DATA_READS.has(name);
}

/** Per first letter (lower-cased ASCII code), a bit per name length that some rule has. */
const LENGTHS = new Uint16Array(128);
for (const name of RULES.keys()) LENGTHS[name.charCodeAt(0) | 0x20]! |= 1 << name.length;

/**
 * The rule for a command.
 *
 * @param args The command and its arguments.
 * @returns {@linkcode PLAIN} for almost every command, else what is special about it.
 */
export function commandRule(args: readonly CommandArg[]): Rule {
  const name = args[0];
  let length: number;
  let first: number;
  if (typeof name === "string") {
    length = name.length;
    first = name.charCodeAt(0);
  } else if (name instanceof Uint8Array) {
    length = name.length;
    first = name[0] ?? 0;
  } else {
    return PLAIN;
  }
  if (length > 12 || first > 127 || (LENGTHS[first | 0x20]! & (1 << length)) === 0) return PLAIN;
  const rule = RULES.get(upper(name)) ?? PLAIN;
  if (rule === REFUSED && refusalReason(args) === undefined) {
    return upper(args[1]) === "SETNAME" && upper(name) === "CLIENT" ? SETS_CONNECTION : PLAIN;
  }
  return rule;
}

/**
 * What a command whose rule is {@linkcode SETS_CONNECTION} sets, once the
 * server accepted it: the database (`SELECT 2`) or the client name
 * (`CLIENT SETNAME worker-1`). A client sets its later connections up the
 * same way (after a reconnect, and on its dedicated blocking connections).
 *
 * @param args The command.
 * @returns The setting; `undefined` when its argument cannot be read (the server refuses it).
 *
 * @example
 * ```ts
 * import { connectionSetting } from "./command_rules.ts";
 *
 * console.log(connectionSetting(["select", "2"])); // { db: 2 }
 * console.log(connectionSetting(["CLIENT", "SETNAME", "worker-1"])); // { clientName: "worker-1" }
 * ```
 */
export function connectionSetting(
  args: readonly CommandArg[],
): { db: number } | { clientName: string } | undefined {
  if (upper(args[0]) === "SELECT") {
    const db = args.length === 2 ? numberArg(args[1]) : NaN;
    return Number.isInteger(db) && db >= 0 ? { db } : undefined;
  }
  const name = args[2];
  if (args.length !== 3 || name === undefined) return undefined;
  return { clientName: name instanceof Uint8Array ? decoder.decode(name) : String(name) };
}

/**
 * Whether a blocking command waits on the writes of the connection that
 * sends it (`WAIT`, `WAITAOF`: until the replicas, or the AOF, have this
 * connection's earlier writes), so that it must run on the connection those
 * writes went through. Other blocking commands (`BLPOP`, `XREAD … BLOCK`, …)
 * wait for data, and any connection of the client may run them.
 *
 * @param args A command whose rule is {@linkcode BLOCKING}.
 * @returns `true` for `WAIT` and `WAITAOF`.
 *
 * @example
 * ```ts
 * import { waitsForOwnWrites } from "./command_rules.ts";
 *
 * console.log(waitsForOwnWrites(["WAIT", 1, 100]), waitsForOwnWrites(["BLPOP", "q", 5])); // true false
 * ```
 */
export function waitsForOwnWrites(args: readonly CommandArg[]): boolean {
  const name = upper(args[0]);
  return name === "WAIT" || name === "WAITAOF";
}

/** Why a command is refused, with what to use instead; `undefined` when it is allowed. */
function refusalReason(args: readonly CommandArg[]): string | undefined {
  const name = upper(args[0]);
  if (name === "HELLO") {
    return args.length === 1 ? undefined : "it can switch the connection's protocol or " +
      "identity under the client, and later replies would be read wrongly; the client runs " +
      "HELLO itself when it connects (choose the version with the 'protocol' option)";
  }
  if (name === "CLIENT") {
    if (upper(args[1]) !== "REPLY") return undefined;
    const mode = upper(args[2]);
    return mode === "OFF" || mode === "SKIP"
      ? `the server would stop answering commands, and later replies would answer the wrong ones`
      : undefined;
  }
  return REFUSALS.get(name);
}

/**
 * The TypeError for a command whose rule is {@linkcode REFUSED}: it names
 * the command, why it is refused, and what to use instead.
 *
 * @param args The refused command.
 * @returns The error to reject with.
 */
export function refusedCommandError(args: readonly CommandArg[]): TypeError {
  const name = upper(args[0]);
  const shown = name === "CLIENT"
    ? `CLIENT REPLY ${upper(args[2])}`
    : name === "HELLO"
    ? "HELLO with arguments"
    : name;
  return new TypeError(`Cannot send ${shown} on this connection: ${refusalReason(args)}`);
}

/**
 * How long a blocking command may keep the server from answering, in ms:
 * its own timeout (`BLPOP q 5` → 5000, `XREAD BLOCK 100 …` → 100), `Infinity`
 * for one that blocks until served (a timeout of 0), `0` when this call does
 * not block (`XREAD` without `BLOCK`) or its timeout cannot be read (the
 * server then answers with an error at once).
 *
 * @param args A command whose rule is {@linkcode BLOCKING}.
 * @returns The time in ms.
 */
export function blockingTimeout(args: readonly CommandArg[]): number {
  const name = upper(args[0]);
  let value: CommandArg | undefined;
  let unit = 1000;
  switch (name) {
    case "BLMPOP":
    case "BZMPOP":
      value = args[1];
      break;
    case "XREAD":
    case "XREADGROUP": {
      // Options come before STREAMS (after GROUP group consumer for XREADGROUP): a key or
      // a group named "block" is not the option.
      let at = name === "XREADGROUP" ? 4 : 1;
      for (; at < args.length; at++) {
        const option = upper(args[at]);
        if (option === "BLOCK") break;
        if (option === "STREAMS") return 0;
        if (option === "COUNT") at++;
      }
      if (at >= args.length) return 0;
      value = args[at + 1];
      unit = 1;
      break;
    }
    case "WAIT":
      value = args[2];
      unit = 1;
      break;
    case "WAITAOF":
      value = args[3];
      unit = 1;
      break;
    default: // BLPOP and the others: the timeout comes last
      value = args[args.length - 1];
  }
  const time = numberArg(value);
  // Unreadable, the server refuses it at once: no extra time. Only a real 0 blocks for good.
  if (!Number.isFinite(time) || time < 0) return 0;
  return time === 0 ? Infinity : time * unit;
}

/** A numeric argument as Redis reads it (a decimal, possibly fractional), or `NaN`. */
function numberArg(arg: CommandArg | undefined): number {
  if (typeof arg === "number") return arg;
  const text = typeof arg === "string"
    ? arg
    : arg instanceof Uint8Array && arg.length <= 64
    ? String.fromCharCode(...arg)
    : "";
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
}

/** An argument in upper case (byte arguments read as Latin-1, up to 16 bytes): for names and keywords. */
function upper(arg: CommandArg | undefined): string {
  if (typeof arg === "string") return arg.toUpperCase();
  if (arg instanceof Uint8Array) {
    return arg.length > 16 ? "" : String.fromCharCode(...arg).toUpperCase();
  }
  return arg === undefined ? "" : String(arg);
}
