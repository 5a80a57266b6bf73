/**
 * The stream commands (`XADD`, `XREAD`, consumer groups, `XINFO STREAM`, …),
 * a layer of the command methods shared by the client, pipelines and
 * transactions: `Commands` extends it.
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";
import { optionsObject } from "../_checks.ts";
import { CommandBase } from "./command_base.ts";
import type { Dispatch, Key, Reply } from "./command_types.ts";
import * as r from "./replies.ts";
import * as s from "./stream_replies.ts";
import type {
  AutoClaimed,
  AutoClaimedIds,
  GroupEntry,
  PendingEntry,
  PendingSummary,
  StreamEntry,
  StreamInfo,
} from "./stream_replies.ts";
import {
  autoClaimArgs,
  claimArgs,
  groupCreateArgs,
  pendingRangeArgs,
  rangeArgs,
  readArgs,
  trimArgs,
  xaddArgs,
} from "./stream_options.ts";
import type {
  StreamTrim,
  XAddOptions,
  XAutoClaimOptions,
  XClaimOptions,
  XGroupCreateOptions,
  XPendingRangeOptions,
  XRangeOptions,
  XReadGroupOptions,
  XReadOptions,
} from "./stream_options.ts";

/**
 * The stream commands; see `Commands` for the rest.
 *
 * @example A stream, through a client
 * ```ts
 * import { RedisClient } from "./redis_client.ts";
 * import { StreamCommands } from "./stream_commands.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1" }); // not connected yet
 * console.log(client instanceof StreamCommands, typeof client.xadd); // true "function"
 * await client.close();
 * ```
 */
export abstract class StreamCommands extends CommandBase {
  /**
   * Made by the subclasses.
   *
   * @param dispatch How the subclass sends or queues a command.
   */
  protected constructor(dispatch: Dispatch) {
    super(dispatch);
  }

  // ---- streams ---------------------------------------------------------------------------

  /**
   * Appends an entry to a stream (`XADD`), creating the stream unless
   * `noMkStream`, and trims the stream when `trim` says so (`MAXLEN` or
   * `MINID`, exact or `approximate`, with a `limit`).
   *
   * @param key The stream.
   * @param fields The entry's fields and values (at least one).
   * @param options `noMkStream: true`, and `id` (default `*`), `trim`.
   * @returns The new entry's id, or `null` when the stream does not exist.
   * @throws {TypeError} When `fields` is empty, `trim` names neither or both of
   * `maxLen` and `minId`, or `limit` comes without `approximate`.
   * @throws {RangeError} When a number is out of range.
   *
   * @example Streams, against the local emulator
   * ```ts
   * import { connect, IamAuth } from "@elasticache-iam/connector";
   * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
   *
   * // The local emulator, and an IAM user whose keys may connect to its cache.
   * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
   * await using emu = await startEmulator({
   *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
   * });
   * using auth = new IamAuth({
   *   replicationGroupId: "replication-group-01",
   *   userId: "iam-user-01",
   *   region: emu.region,
   *   credentials: keys,
   * });
   * await using client = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
   *
   * console.log(await client.xadd("orders", { item: "tea", qty: 2 }, { id: "1-1" })); // "1-1"
   * await client.xadd("orders", { item: "cake", qty: 1 }, { id: "2-1" });
   * const id = await client.xadd("orders", { item: "jam" }, { trim: { maxLen: 1000, approximate: true } });
   * console.log(await client.xadd("nope", { a: 1 }, { noMkStream: true })); // null
   * console.log(await client.xlen("orders")); // 3
   * console.log(await client.xrange("orders", "-", "+", { count: 1 })); // [{ id: "1-1", fields: { item: "tea", qty: "2" } }]
   * console.log((await client.xrevrange("orders"))[0]!.id === id); // true
   * console.log(await client.xread({ orders: "2-1" })); // { orders: [{ id: …, fields: { item: "jam" } }] }
   * console.log(await client.xread({ orders: "$" }, { block: 10 })); // null: nothing came in 10 ms
   * console.log(await client.xdel("orders", "1-1"), await client.xtrim("orders", { maxLen: 1 })); // 1 1
   * const info = await client.xinfoStream("orders");
   * console.log(info.length, info.lastGeneratedId === id, info.firstEntry?.fields); // 1 true { item: "jam" }
   * ```
   */
  xadd(
    key: Key,
    fields: Record<string, CommandArg>,
    options: XAddOptions & { noMkStream: true },
  ): Reply<this, string | null>;
  /**
   * Appends an entry to a stream (`XADD`), creating the stream, and trims the
   * stream when `trim` says so.
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @param fields The entry's fields and values (at least one).
   * @param options `id` (default `*`), `trim`.
   * @returns The new entry's id.
   * @throws {TypeError} When `fields` is empty, or `trim` is not a valid strategy.
   * @throws {RangeError} When a number is out of range.
   */
  xadd(
    key: Key,
    fields: Record<string, CommandArg>,
    options?: XAddOptions & { noMkStream?: false },
  ): Reply<this, string>;
  /**
   * Appends an entry to a stream (`XADD`).
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @param fields The entry's fields and values (at least one).
   * @param options `id`, `noMkStream`, `trim`.
   * @returns The new entry's id, or `null` with `noMkStream` when the stream does not exist.
   * @throws {TypeError} When `fields` is empty, or `trim` is not a valid strategy.
   * @throws {RangeError} When a number is out of range.
   */
  xadd(
    key: Key,
    fields: Record<string, CommandArg>,
    options?: XAddOptions,
  ): Reply<this, string | null>;
  xadd(
    key: Key,
    fields: Record<string, CommandArg>,
    options?: XAddOptions,
  ): Reply<this, string | null> {
    return this.call(xaddArgs(key, fields, options), r.textOrNull);
  }

  /**
   * How many entries a stream holds (`XLEN`).
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @returns The count; 0 for a missing key.
   */
  xlen(key: Key): Reply<this, number> {
    return this.call(["XLEN", key], r.integer);
  }

  /**
   * Entries with ids from `start` to `end`, oldest first (`XRANGE`).
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @param start The lowest id (`-`: the first; `(id` excludes it).
   * @param end The highest id (`+`: the last).
   * @param options `count`.
   * @returns The entries.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  xrange(key: Key, start = "-", end = "+", options?: XRangeOptions): Reply<this, StreamEntry[]> {
    return this.call(rangeArgs("XRANGE", key, start, end, options), s.entries);
  }

  /**
   * Entries with ids from `end` down to `start`, newest first (`XREVRANGE`).
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @param end The highest id (`+`: the last).
   * @param start The lowest id (`-`: the first).
   * @param options `count`.
   * @returns The entries.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  xrevrange(key: Key, end = "+", start = "-", options?: XRangeOptions): Reply<this, StreamEntry[]> {
    return this.call(rangeArgs("XREVRANGE", key, end, start, options), s.entries);
  }

  /**
   * Reads the entries after the given ids, from one or more streams
   * (`XREAD`); with `block`, waits for one to arrive. A blocking read runs on
   * a connection of its own and never holds up other commands; its reply
   * timeout is `block` plus `commandTimeout`.
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param streams Each stream and the id to read after (`$`: only entries added from now on).
   * @param options `count` (per stream), `block` (ms; `0` waits until an entry arrives).
   * @returns The entries of each stream that had some, or `null` when none had any.
   * @throws {TypeError} When `streams` is empty.
   * @throws {RangeError} When a number is out of range.
   */
  xread(
    streams: Record<string, string>,
    options?: XReadOptions,
  ): Reply<this, Record<string, StreamEntry[]> | null> {
    const action = "Cannot read streams";
    const args: CommandArg[] = ["XREAD"];
    readArgs(action, streams, optionsObject(action, options), args);
    return this.call(args, s.streamsRead);
  }

  /**
   * Reads entries as a consumer of a group (`XREADGROUP`): with the id `>`,
   * entries never delivered to the group, which become pending for this
   * consumer until acknowledged (`xack`); with another id, this consumer's
   * pending entries after it. With `block`, waits for an entry, on a
   * connection of its own.
   *
   * @param group The group.
   * @param consumer The consumer, created on first use.
   * @param streams Each stream and the id to read after (`>` for new entries).
   * @param options `count`, `block` (ms), `noAck`.
   * @returns The entries of each stream, or `null` when none had any. A
   * pending entry deleted from the stream has `fields: null`.
   * @throws {TypeError} When `streams` is empty.
   * @throws {RangeError} When a number is out of range.
   *
   * @example Consumer groups, against the local emulator
   * ```ts
   * import { connect, IamAuth } from "@elasticache-iam/connector";
   * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
   *
   * // The local emulator, and an IAM user whose keys may connect to its cache.
   * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
   * await using emu = await startEmulator({
   *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
   * });
   * using auth = new IamAuth({
   *   replicationGroupId: "replication-group-01",
   *   userId: "iam-user-01",
   *   region: emu.region,
   *   credentials: keys,
   * });
   * await using client = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
   *
   * console.log(await client.xgroupCreate("jobs", "workers", "$", { mkStream: true })); // "OK"
   * await client.xadd("jobs", { task: "resize" }, { id: "1-1" });
   * await client.xadd("jobs", { task: "upload" }, { id: "2-1" });
   * const read = await client.xreadgroup("workers", "w1", { jobs: ">" }, { count: 10 });
   * console.log(read?.jobs?.map((entry) => entry.id)); // ["1-1", "2-1"]
   * console.log(await client.xack("jobs", "workers", "1-1")); // 1
   * const pending = await client.xpending("jobs", "workers");
   * console.log(pending.count, pending.consumers); // 1 [{ name: "w1", pending: 1 }]
   * const [entry] = await client.xpending("jobs", "workers", { count: 10 });
   * console.log(entry?.id, entry?.consumer, entry?.deliveries); // "2-1" "w1" 1
   * // Another worker takes over what w1 left pending for at least 0 ms.
   * console.log(await client.xgroupCreateConsumer("jobs", "workers", "w2")); // true
   * const claimed = await client.xclaim("jobs", "workers", "w2", 0, ["2-1"]);
   * console.log(claimed); // [{ id: "2-1", fields: { task: "upload" } }]
   * const auto = await client.xautoclaim("jobs", "workers", "w1", 0, "0-0");
   * console.log(auto.nextId, auto.entries.length, auto.deletedIds); // "0-0" 1 []
   * console.log(await client.xgroupDelConsumer("jobs", "workers", "w1")); // 1: it had one pending
   * console.log(await client.xgroupDestroy("jobs", "workers")); // true
   * ```
   */
  xreadgroup(
    group: CommandArg,
    consumer: CommandArg,
    streams: Record<string, string>,
    options?: XReadGroupOptions,
  ): Reply<this, Record<string, GroupEntry[]> | null> {
    const action = "Cannot read streams as a consumer group";
    const o = optionsObject(action, options);
    const args: CommandArg[] = ["XREADGROUP", "GROUP", group, consumer];
    if (o.noAck === true) args.push("NOACK");
    readArgs(action, streams, o, args);
    return this.call(args, s.groupRead);
  }

  /**
   * Acknowledges entries a consumer of the group has processed (`XACK`):
   * they leave the group's pending list.
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param ids The entries' ids.
   * @returns How many were pending and are now acknowledged.
   */
  xack(key: Key, group: CommandArg, ...ids: string[]): Reply<this, number> {
    return this.call(["XACK", key, group, ...ids], r.integer);
  }

  /**
   * Creates a consumer group (`XGROUP CREATE`).
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group's name.
   * @param id The last entry the group has seen: `$` (the default) for the
   * stream's last, so it reads only new entries; `0` to read it all.
   * @param options `mkStream` (create the stream when missing), `entriesRead`.
   * @returns `OK`.
   * @throws {ReplyError} `BUSYGROUP` when the group exists; `ERR` when the
   * stream does not and `mkStream` is not given.
   */
  xgroupCreate(
    key: Key,
    group: CommandArg,
    id = "$",
    options?: XGroupCreateOptions,
  ): Reply<this, "OK"> {
    return this.call(groupCreateArgs(key, group, id, options), r.ok);
  }

  /**
   * Deletes a consumer group, its consumers and its pending list (`XGROUP DESTROY`).
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @returns Whether the group existed.
   */
  xgroupDestroy(key: Key, group: CommandArg): Reply<this, boolean> {
    return this.call(["XGROUP", "DESTROY", key, group], r.boolean);
  }

  /**
   * Creates a consumer in a group (`XGROUP CREATECONSUMER`); `xreadgroup`
   * also creates its consumer on first use.
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param consumer The consumer's name.
   * @returns Whether it was created (`false`: it existed).
   */
  xgroupCreateConsumer(key: Key, group: CommandArg, consumer: CommandArg): Reply<this, boolean> {
    return this.call(["XGROUP", "CREATECONSUMER", key, group, consumer], r.boolean);
  }

  /**
   * Deletes a consumer from a group (`XGROUP DELCONSUMER`); its pending
   * entries are dropped from the pending list (claim them first to keep them).
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param consumer The consumer.
   * @returns How many entries it had pending.
   */
  xgroupDelConsumer(key: Key, group: CommandArg, consumer: CommandArg): Reply<this, number> {
    return this.call(["XGROUP", "DELCONSUMER", key, group, consumer], r.integer);
  }

  /**
   * A group's pending entries in summary (`XPENDING key group`).
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @returns How many are pending, the lowest and highest ids, and per consumer how many.
   */
  xpending(key: Key, group: CommandArg): Reply<this, PendingSummary>;
  /**
   * A group's pending entries, one by one (`XPENDING key group [IDLE ms] start end count [consumer]`).
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param options `count` (required), `start` (`-`), `end` (`+`), `consumer`, `minIdleTime`.
   * @returns Each entry's id, consumer, idle time and delivery count.
   * @throws {TypeError} When `count` is missing.
   * @throws {RangeError} When a number is out of range.
   */
  xpending(key: Key, group: CommandArg, options: XPendingRangeOptions): Reply<this, PendingEntry[]>;
  xpending(
    key: Key,
    group: CommandArg,
    options?: XPendingRangeOptions,
  ): Reply<this, PendingSummary | PendingEntry[]> {
    return options === undefined
      ? this.call(["XPENDING", key, group], s.pendingSummary)
      : this.call(pendingRangeArgs(key, group, options), s.pendingEntries);
  }

  /**
   * Takes pending entries over for another consumer (`XCLAIM … JUSTID`):
   * their ids only, without counting a delivery.
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param consumer The consumer that takes them.
   * @param minIdleTime Only entries pending for at least this many ms.
   * @param ids The entries' ids (at least one).
   * @param options `justId: true`, and `idle` or `time`, `retryCount`, `force`.
   * @returns The ids claimed.
   * @throws {TypeError} When `ids` is empty.
   * @throws {RangeError} When a number is out of range.
   */
  xclaim(
    key: Key,
    group: CommandArg,
    consumer: CommandArg,
    minIdleTime: number,
    ids: readonly string[],
    options: XClaimOptions & { justId: true },
  ): Reply<this, string[]>;
  /**
   * Takes pending entries over for another consumer (`XCLAIM`), counting a
   * delivery. Entries deleted from the stream meanwhile are left out.
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param consumer The consumer that takes them.
   * @param minIdleTime Only entries pending for at least this many ms.
   * @param ids The entries' ids (at least one).
   * @param options `idle` or `time`, `retryCount`, `force`.
   * @returns The entries claimed.
   * @throws {TypeError} When `ids` is empty.
   * @throws {RangeError} When a number is out of range.
   */
  xclaim(
    key: Key,
    group: CommandArg,
    consumer: CommandArg,
    minIdleTime: number,
    ids: readonly string[],
    options?: XClaimOptions & { justId?: false },
  ): Reply<this, StreamEntry[]>;
  xclaim(
    key: Key,
    group: CommandArg,
    consumer: CommandArg,
    minIdleTime: number,
    ids: readonly string[],
    options?: XClaimOptions,
  ): Reply<this, string[] | StreamEntry[]> {
    const args = claimArgs(key, group, consumer, minIdleTime, ids, options);
    return options?.justId === true
      ? this.call(args, r.textArray)
      : this.call(args, s.claimedEntries);
  }

  /**
   * Takes over, for another consumer, the entries pending for at least
   * `minIdleTime` ms, scanning the pending list from `start`
   * (`XAUTOCLAIM … JUSTID`): their ids only, without counting a delivery.
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param consumer The consumer that takes them.
   * @param minIdleTime Only entries pending for at least this many ms.
   * @param start The id to scan from (`0-0`: the start; then the `nextId` returned).
   * @param options `justId: true`, and `count` (default 100).
   * @returns The id to continue from, the ids claimed, and the ids deleted meanwhile.
   * @throws {RangeError} When a number is out of range.
   */
  xautoclaim(
    key: Key,
    group: CommandArg,
    consumer: CommandArg,
    minIdleTime: number,
    start: string,
    options: XAutoClaimOptions & { justId: true },
  ): Reply<this, AutoClaimedIds>;
  /**
   * Takes over, for another consumer, the entries pending for at least
   * `minIdleTime` ms, scanning the pending list from `start` (`XAUTOCLAIM`).
   *
   * Shown with the consumer group commands in the example of {@linkcode Commands.xreadgroup}.
   *
   * @param key The stream.
   * @param group The group.
   * @param consumer The consumer that takes them.
   * @param minIdleTime Only entries pending for at least this many ms.
   * @param start The id to scan from (`0-0`: the start; then the `nextId` returned).
   * @param options `count` (default 100).
   * @returns The id to continue from (`0-0` when done), the entries claimed,
   * and the ids of pending entries deleted from the stream meanwhile.
   * @throws {RangeError} When a number is out of range.
   */
  xautoclaim(
    key: Key,
    group: CommandArg,
    consumer: CommandArg,
    minIdleTime: number,
    start?: string,
    options?: XAutoClaimOptions & { justId?: false },
  ): Reply<this, AutoClaimed>;
  xautoclaim(
    key: Key,
    group: CommandArg,
    consumer: CommandArg,
    minIdleTime: number,
    start = "0-0",
    options?: XAutoClaimOptions,
  ): Reply<this, AutoClaimed | AutoClaimedIds> {
    const args = autoClaimArgs(key, group, consumer, minIdleTime, start, options);
    return options?.justId === true
      ? this.call(args, s.autoClaimedIds)
      : this.call(args, s.autoClaimed);
  }

  /**
   * Trims a stream (`XTRIM`): to at most `maxLen` entries, or evicting ids
   * below `minId`; `approximate` (`~`) trims whole macro nodes only, at most
   * `limit` entries per call.
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @param trim `{ maxLen }` or `{ minId }`, and `approximate`, `limit`.
   * @returns How many entries were evicted.
   * @throws {TypeError} When `trim` names neither or both of `maxLen` and
   * `minId`, or `limit` comes without `approximate`.
   * @throws {RangeError} When a number is out of range.
   */
  xtrim(key: Key, trim: StreamTrim): Reply<this, number> {
    const args: CommandArg[] = ["XTRIM", key];
    trimArgs("Cannot trim stream", trim, args);
    return this.call(args, r.integer);
  }

  /**
   * Deletes entries from a stream (`XDEL`). Pending lists keep their ids.
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @param ids The entries' ids.
   * @returns How many existed.
   */
  xdel(key: Key, ...ids: string[]): Reply<this, number> {
    return this.call(["XDEL", key, ...ids], r.integer);
  }

  /**
   * A stream's length, ids, group count, and first and last entries (`XINFO STREAM`).
   *
   * Shown with the stream commands in the example of {@linkcode Commands.xadd}.
   *
   * @param key The stream.
   * @returns The stream's information.
   * @throws {ReplyError} `ERR no such key` for a missing stream.
   */
  xinfoStream(key: Key): Reply<this, StreamInfo> {
    return this.call(["XINFO", "STREAM", key], s.streamInfo);
  }
}
