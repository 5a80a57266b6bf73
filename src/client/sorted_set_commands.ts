/**
 * The sorted set commands (`ZADD`, `ZRANGE`, `ZPOPMIN`, …), a layer of the
 * command methods shared by the client, pipelines and transactions:
 * `Commands` extends it.
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";
import type { Dispatch, Key, Reply } from "./command_types.ts";
import * as r from "./replies.ts";
import type { ScoreMember } from "./replies.ts";
import { scanArgs, type ScanMatchOptions } from "./scan_iterators.ts";
import { StreamCommands } from "./stream_commands.ts";
import { blockingArgs } from "./_command_checks.ts";

/** Options of {@linkcode SortedSetCommands.zadd}. */
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

/** Options of {@linkcode SortedSetCommands.zrange}. */
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

/**
 * The sorted set commands; see `Commands` for the rest.
 *
 * @example Through a client
 * ```ts
 * import { RedisClient } from "./redis_client.ts";
 * import { SortedSetCommands } from "./sorted_set_commands.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1" }); // not connected yet
 * console.log(client instanceof SortedSetCommands, typeof client.zadd); // true "function"
 * await client.close();
 * ```
 */
export abstract class SortedSetCommands extends StreamCommands {
  /**
   * Made by the subclasses.
   *
   * @param dispatch How the subclass sends or queues a command.
   */
  protected constructor(dispatch: Dispatch) {
    super(dispatch);
  }

  // ---- sorted sets -----------------------------------------------------------------------

  /**
   * Adds members to a sorted set, or updates their scores (`ZADD`).
   *
   * @param key The key.
   * @param member The first member and its score.
   * @param members More members.
   * @returns How many were added.
   *
   * @example Sorted sets, against the local emulator
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
   * const ada = { score: 10, member: "ada" };
   * console.log(await client.zadd("scores", ada, { score: 7, member: "grace" })); // 2
   * console.log(await client.zadd("scores", { gt: true, ch: true }, { ...ada, score: 12 })); // 1
   * console.log(await client.zincrby("scores", 4, "grace")); // 11
   * console.log(await client.zscore("scores", "ada"), await client.zcard("scores")); // 12 2
   * console.log(await client.zcount("scores", "(11", "+inf")); // 1
   * console.log(await client.zrank("scores", "ada"), await client.zrevrank("scores", "ada")); // 1 0
   * console.log(await client.zrange("scores", 0, -1, { rev: true })); // ["ada", "grace"]
   * console.log(await client.zrange("scores", 12, "+inf", { byScore: true, withScores: true }));
   * // [{ member: "ada", score: 12 }]
   * await client.zadd("scores", { score: 1, member: "ken" }, { score: 2, member: "linus" });
   * console.log(await client.zpopmin("scores")); // [{ member: "ken", score: 1 }]
   * console.log(await client.zpopmax("scores", 1)); // [{ member: "ada", score: 12 }]
   * console.log(await client.zremrangebyscore("scores", 0, 5)); // 1
   * console.log(await client.zrem("scores", "grace", "nobody")); // 1
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
    return this.call(args, r.integer);
  }

  /**
   * Adds to a member's score (`ZINCRBY`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param increment The amount.
   * @param member The member.
   * @returns The new score.
   */
  zincrby(key: Key, increment: number, member: CommandArg): Reply<this, number> {
    return this.call(["ZINCRBY", key, increment, member], r.double);
  }

  /**
   * A member's score (`ZSCORE`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param member The member.
   * @returns The score, or `null`.
   */
  zscore(key: Key, member: CommandArg): Reply<this, number | null> {
    return this.call(["ZSCORE", key, member], r.doubleOrNull);
  }

  /**
   * Removes members (`ZREM`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param members The members.
   * @returns How many were removed.
   */
  zrem(key: Key, ...members: CommandArg[]): Reply<this, number> {
    return this.call(["ZREM", key, ...members], r.integer);
  }

  /**
   * A sorted set's size (`ZCARD`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @returns The number of members.
   */
  zcard(key: Key): Reply<this, number> {
    return this.call(["ZCARD", key], r.integer);
  }

  /**
   * Counts members with scores in a range (`ZCOUNT`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param min The lowest score: a number, `"-inf"`, or `"(5"` for exclusive.
   * @param max The highest score.
   * @returns The count.
   */
  zcount(key: Key, min: number | string, max: number | string): Reply<this, number> {
    return this.call(["ZCOUNT", key, min, max], r.integer);
  }

  /**
   * A member's rank, lowest score first (`ZRANK`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param member The member.
   * @returns The 0-based rank, or `null`.
   */
  zrank(key: Key, member: CommandArg): Reply<this, number | null> {
    return this.call(["ZRANK", key, member], r.integerOrNull);
  }

  /**
   * A member's rank, highest score first (`ZREVRANK`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param member The member.
   * @returns The 0-based rank, or `null`.
   */
  zrevrank(key: Key, member: CommandArg): Reply<this, number | null> {
    return this.call(["ZREVRANK", key, member], r.integerOrNull);
  }

  /**
   * A range of members with their scores (`ZRANGE … WITHSCORES`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param start The first index (or score/lex bound with `byScore`/`byLex`).
   * @param stop The last index (or bound).
   * @param options `withScores: true`, and `byScore`/`byLex`, `rev`, `limit`.
   * @returns The members and scores.
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
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param start The first index (or score/lex bound with `byScore`/`byLex`).
   * @param stop The last index (or bound).
   * @param options `byScore`/`byLex`, `rev`, `limit`.
   * @returns The members.
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
      return this.call(args, r.scoreMembers);
    }
    return this.call(args, r.textArray);
  }

  /**
   * Removes and returns the lowest-scored members (`ZPOPMIN`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param count How many.
   * @returns The members and their scores.
   */
  zpopmin(key: Key, count?: number): Reply<this, ScoreMember[]> {
    return this.call(
      count === undefined ? ["ZPOPMIN", key] : ["ZPOPMIN", key, count],
      r.scoreMembers,
    );
  }

  /**
   * Removes and returns the highest-scored members (`ZPOPMAX`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param count How many.
   * @returns The members and their scores.
   */
  zpopmax(key: Key, count?: number): Reply<this, ScoreMember[]> {
    return this.call(
      count === undefined ? ["ZPOPMAX", key] : ["ZPOPMAX", key, count],
      r.scoreMembers,
    );
  }

  /**
   * Pops the lowest-scored member of the first non-empty sorted set, waiting
   * up to `timeoutSeconds` for one (`BZPOPMIN`). On the client it waits on a
   * connection of its own.
   *
   * @param keys The sorted sets, in the order they are tried.
   * @param timeoutSeconds How long to wait, in seconds; `0` waits without end.
   * @returns The set, the member and its score, or `null` when the time ran out.
   * @throws {RangeError} When `timeoutSeconds` is not a number from 0, before anything is sent.
   *
   * @example
   * ```ts ignore
   * const next = await client.bzpopmin("schedule", 5); // { key, member, score } | null
   * ```
   */
  bzpopmin(
    keys: Key | Key[],
    timeoutSeconds: number,
  ): Reply<this, { key: string; member: string; score: number } | null> {
    const args = blockingArgs("BZPOPMIN", "pop from a sorted set", keys, timeoutSeconds);
    return this.call(args, r.keyedScoreMemberOrNull);
  }

  /**
   * As {@linkcode SortedSetCommands.bzpopmin}, the highest-scored member (`BZPOPMAX`).
   *
   * @param keys The sorted sets, in the order they are tried.
   * @param timeoutSeconds How long to wait, in seconds; `0` waits without end.
   * @returns The set, the member and its score, or `null` when the time ran out.
   * @throws {RangeError} When `timeoutSeconds` is not a number from 0, before anything is sent.
   *
   * @example
   * ```ts ignore
   * const top = await client.bzpopmax("leaderboard", 1);
   * ```
   */
  bzpopmax(
    keys: Key | Key[],
    timeoutSeconds: number,
  ): Reply<this, { key: string; member: string; score: number } | null> {
    const args = blockingArgs("BZPOPMAX", "pop from a sorted set", keys, timeoutSeconds);
    return this.call(args, r.keyedScoreMemberOrNull);
  }

  /**
   * Removes members with scores in a range (`ZREMRANGEBYSCORE`).
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The key.
   * @param min The lowest score (`"-inf"`, `"(5"` allowed).
   * @param max The highest score.
   * @returns How many were removed.
   */
  zremrangebyscore(key: Key, min: number | string, max: number | string): Reply<this, number> {
    return this.call(["ZREMRANGEBYSCORE", key, min, max], r.integer);
  }

  /**
   * One page of an incremental walk over a sorted set's members and scores
   * (`ZSCAN`). Start with cursor `"0"` and stop when the returned cursor is
   * `"0"`; a member may come twice. The client's `zscanIterator` walks every page.
   *
   * Shown with the sorted-set commands in the example of {@linkcode Commands.zadd}.
   *
   * @param key The sorted set.
   * @param cursor The cursor from the previous page.
   * @param options `match`, `count`.
   * @returns The next cursor and this page's `[member, score]` pairs.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  zscan(
    key: Key,
    cursor: string | number,
    options?: ScanMatchOptions,
  ): Reply<this, [cursor: string, members: [member: string, score: number][]]> {
    const args = scanArgs("Cannot scan sorted set", options, false);
    return this.call(["ZSCAN", key, cursor, ...args], r.zsetScanPage);
  }
}
