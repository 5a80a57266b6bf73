/**
 * Where a command's keys are, so that the cluster client can route it by hash
 * slot; which ones run on every primary; and which ones a cluster client
 * cannot route. Which commands only read (replica reads, safe retries) is
 * the thin client's rule too, in `../client/command_rules.ts`.
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";
import { commandName } from "../client/command_rules.ts";

/** How a command's reply is combined when it runs on every primary. */
export type Aggregate = "sum" | "concat" | "ok" | "first" | "and";

/** What the router does with a command. */
export type CommandRoute =
  | {
    /** The command has keys (at least one): route by their slot. */
    kind: "keys";
    /** The keys. */
    keys: CommandArg[];
  }
  | {
    /** The command has no key: any primary answers. */
    kind: "any";
  }
  | {
    /** The command runs on every primary; the replies are combined. */
    kind: "all";
    /** How. */
    aggregate: Aggregate;
  }
  | {
    /** A cluster client cannot run this command. */
    kind: "unsupported";
    /** Why, and what to do instead. */
    reason: string;
  };

type Spec =
  | { k: "none" }
  | { k: "range"; first: number; last: number; step: number }
  | { k: "numkeys"; at: number; dest?: boolean }
  | { k: "streams" }
  | { k: "all"; aggregate: Aggregate }
  | { k: "unsupported"; reason: string };

const NONE: Spec = { k: "none" };
const FIRST: Spec = { k: "range", first: 1, last: 1, step: 1 };
const ALL_ARGS: Spec = { k: "range", first: 1, last: -1, step: 1 };
const PAIRS: Spec = { k: "range", first: 1, last: -1, step: 2 };
const ALL_BUT_LAST: Spec = { k: "range", first: 1, last: -2, step: 1 };
const TWO: Spec = { k: "range", first: 1, last: 2, step: 1 };
const SECOND: Spec = { k: "range", first: 2, last: 2, step: 1 };
const FROM_SECOND: Spec = { k: "range", first: 2, last: -1, step: 1 };

const TRANSACTION =
  "use client.multi() for transactions: it sends MULTI … EXEC to the node of their keys' slot, " +
  "and client.watch(...keys) to watch keys: its multi() runs on the watch's connection";
const SUBSCRIBE = "use client.subscribe(), psubscribe() or ssubscribe(), which keep the " +
  "subscriptions on connections of their own and follow the slots' nodes";
const WAIT = "it counts the replicas holding the earlier writes of the one connection it runs " +
  "on, and the cluster client writes to each shard over a connection of its own";
const CLIENT_NAME = "CLIENT SETNAME names one node's connection, and the cluster client has one " +
  "per node; give the 'clientName' option, which names every connection it opens";

const SPECS = new Map<string, Spec>([
  ...names("PING ECHO TIME INFO LASTSAVE COMMAND CONFIG CLIENT CLUSTER HELLO AUTH").map(
    (name) => [name, NONE] as const,
  ),
  ...names("READONLY READWRITE ROLE PUBLISH PUBSUB FUNCTION LATENCY SLOWLOG ACL").map(
    (name) => [name, NONE] as const,
  ),
  ...names("DEL UNLINK EXISTS MGET TOUCH SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE").map(
    (name) => [name, ALL_ARGS] as const,
  ),
  ...names("SDIFFSTORE PFCOUNT PFMERGE").map((name) => [name, ALL_ARGS] as const),
  ["MSET", PAIRS],
  ["MSETNX", PAIRS],
  ...names("BLPOP BRPOP BZPOPMIN BZPOPMAX").map((name) => [name, ALL_BUT_LAST] as const),
  ...names("RENAME RENAMENX RPOPLPUSH LMOVE BLMOVE BRPOPLPUSH SMOVE COPY LCS ZRANGESTORE").map(
    (name) => [name, TWO] as const,
  ),
  ["GEOSEARCHSTORE", TWO],
  ...names("EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO BLMPOP BZMPOP").map(
    (name) => [name, { k: "numkeys", at: 2 }] as const,
  ),
  ...names("ZUNION ZINTER ZDIFF ZINTERCARD SINTERCARD LMPOP ZMPOP").map(
    (name) => [name, { k: "numkeys", at: 1 }] as const,
  ),
  ...names("ZUNIONSTORE ZINTERSTORE ZDIFFSTORE").map(
    (name) => [name, { k: "numkeys", at: 2, dest: true }] as const,
  ),
  ...names("OBJECT MEMORY XINFO XGROUP").map((name) => [name, SECOND] as const),
  ["BITOP", FROM_SECOND],
  ["XREAD", { k: "streams" }],
  ["XREADGROUP", { k: "streams" }],
  ["DBSIZE", { k: "all", aggregate: "sum" }],
  ["KEYS", { k: "all", aggregate: "concat" }],
  ["FLUSHDB", { k: "all", aggregate: "ok" }],
  ["FLUSHALL", { k: "all", aggregate: "ok" }],
  ["RANDOMKEY", { k: "all", aggregate: "first" }],
  [
    "SCAN",
    {
      k: "unsupported",
      reason: "SCAN cursors belong to one node; use client.scanIterator(), which scans every " +
        "primary and follows slots that move",
    },
  ],
  ...names("MULTI EXEC DISCARD WATCH UNWATCH").map(
    (name) => [name, { k: "unsupported", reason: TRANSACTION }] as const,
  ),
  ...names("SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE").map(
    (name) => [name, { k: "unsupported", reason: SUBSCRIBE }] as const,
  ),
  ["SELECT", { k: "unsupported", reason: "a Redis Cluster has database 0 only" }],
  ...names("WAIT WAITAOF").map((name) => [name, { k: "unsupported", reason: WAIT }] as const),
  ...names("QUIT RESET MONITOR SYNC PSYNC SHUTDOWN ASKING").map(
    (name) =>
      [name, { k: "unsupported", reason: "it concerns one connection, not the cluster" }] as const,
  ),
]);

const SCRIPT_SUBCOMMANDS = new Map<string, Aggregate>([
  ["LOAD", "first"],
  ["FLUSH", "ok"],
  ["EXISTS", "and"],
]);

function names(list: string): string[] {
  return list.split(" ").filter((name) => name !== "");
}

const decoder = new TextDecoder();

/**
 * Where a command goes in a cluster.
 *
 * Commands missing from the table take their first argument as their key
 * (most data commands do), so a module command such as `JSON.GET key` is
 * routed by `key`; a keyless one with an argument lands on some node, whose
 * answer does not depend on slots.
 *
 * @param args The command and its arguments.
 * @returns Its keys, or `any`, `all` or `unsupported`.
 *
 * @example
 * ```ts
 * import { commandRoute } from "./command_keys.ts";
 *
 * console.log(commandRoute(["MSET", "a", "1", "b", "2"])); // { kind: "keys", keys: ["a", "b"] }
 * console.log(commandRoute(["PING"])); // { kind: "any" }
 * ```
 */
export function commandRoute(args: readonly CommandArg[]): CommandRoute {
  const name = commandName(args);
  if (name === "SCRIPT") {
    const aggregate = SCRIPT_SUBCOMMANDS.get(commandName(args.slice(1)));
    return aggregate === undefined ? { kind: "any" } : { kind: "all", aggregate };
  }
  if (name === "CLIENT" && commandName(args.slice(1)) === "SETNAME") {
    return { kind: "unsupported", reason: CLIENT_NAME };
  }
  const spec = SPECS.get(name) ?? (args.length >= 2 ? FIRST : NONE);
  switch (spec.k) {
    case "none":
      return { kind: "any" };
    case "all":
      return { kind: "all", aggregate: spec.aggregate };
    case "unsupported":
      return { kind: "unsupported", reason: spec.reason };
    case "range": {
      const last = spec.last < 0 ? args.length + spec.last : Math.min(spec.last, args.length - 1);
      const keys: CommandArg[] = [];
      for (let i = spec.first; i <= last; i += spec.step) keys.push(args[i]!);
      return keys.length === 0 ? { kind: "any" } : { kind: "keys", keys };
    }
    case "numkeys": {
      const count = Number(text(args[spec.at]));
      const keys: CommandArg[] = spec.dest === true && args[1] !== undefined ? [args[1]] : [];
      if (Number.isInteger(count) && count > 0) {
        keys.push(...args.slice(spec.at + 1, spec.at + 1 + count));
      }
      return keys.length === 0 ? { kind: "any" } : { kind: "keys", keys };
    }
    case "streams": {
      // XREADGROUP's group and consumer come first: a group named "streams" is no keyword.
      const from = name === "XREADGROUP" ? 4 : 1;
      const at = args.findIndex((arg, i) => i >= from && text(arg).toUpperCase() === "STREAMS");
      if (at === -1) return { kind: "any" };
      const rest = args.slice(at + 1);
      const keys = rest.slice(0, Math.floor(rest.length / 2));
      return keys.length === 0 ? { kind: "any" } : { kind: "keys", keys };
    }
  }
}

function text(arg: CommandArg | undefined): string {
  if (arg === undefined) return "";
  return arg instanceof Uint8Array ? decoder.decode(arg) : String(arg);
}
