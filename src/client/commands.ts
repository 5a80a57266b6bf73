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
import { SortedSetCommands } from "./sorted_set_commands.ts";
import type { Dispatch, Key, Reply } from "./command_types.ts";
import * as sr from "./server_replies.ts";
import type { HelloReply, InfoSections } from "./server_replies.ts";
import { scanArgs, type ScanMatchOptions, type ScanOptions } from "./scan_iterators.ts";
import { blockingArgs, integerArg, timeoutArg } from "./_command_checks.ts";
import { describe, optionsObject } from "../_checks.ts";

export type { Chain, Dispatch, Key, Reply, SendOptions } from "./command_types.ts";

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

export type { ScanMatchOptions, ScanOptions } from "./scan_iterators.ts";

/** Options of {@linkcode Commands.copy}. */
export interface CopyOptions {
  /** Replace the destination when it exists (`REPLACE`). */
  replace?: boolean;
  /** Copy to this database (`DB`); a cluster has database 0 only. */
  db?: number;
}

export type { ZAddOptions, ZMember, ZRangeOptions } from "./sorted_set_commands.ts";

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
 * Each family of commands has one example, run against the local emulator,
 * on one of its methods: strings on {@linkcode Commands.get}, counters on
 * {@linkcode Commands.incr}, JSON values on {@linkcode Commands.getJson},
 * keys and expiry on {@linkcode Commands.expire}, scans on
 * {@linkcode Commands.scan}, hashes on {@linkcode Commands.hset}, lists on
 * {@linkcode Commands.rpush}, sets on {@linkcode Commands.sadd}, sorted sets
 * on {@linkcode Commands.zadd}, streams on {@linkcode Commands.xadd}, consumer
 * groups on {@linkcode Commands.xreadgroup}, scripting on
 * {@linkcode Commands.eval}, pub/sub on {@linkcode Commands.publish},
 * connection and server commands on {@linkcode Commands.ping}, the commands
 * operators type (`INFO`, `HELLO`, `CLIENT SETNAME`, `WAIT`, `COPY`, …) on
 * {@linkcode Commands.info}, and any other command on {@linkcode Commands.send}.
 *
 * @example The client and its pipelines have the same methods
 * ```ts
 * import { RedisClient } from "./redis_client.ts";
 * import { Commands } from "./commands.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1" }); // not connected yet
 * const pipeline = client.pipeline().set("greeting", "hello").get("greeting");
 * console.log(client instanceof Commands, pipeline instanceof Commands, pipeline.length); // true true 2
 * await client.close();
 * ```
 */
export abstract class Commands extends SortedSetCommands {
  /**
   * Made by the subclasses.
   *
   * @param dispatch How the subclass sends or queues a command.
   */
  protected constructor(dispatch: Dispatch) {
    super(dispatch);
  }

  // ---- connection and server -------------------------------------------------------------

  /**
   * Pings the server (`PING`).
   *
   * @param message Echoed back instead of `PONG`.
   * @returns `PONG`, or the message.
   *
   * @example Connection and server commands, against the local emulator
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
   * console.log(await client.ping()); // "PONG"
   * console.log(await client.ping("hi"), await client.echo("hello")); // "hi" "hello"
   * await client.set("greeting", "hello");
   * console.log(await client.dbsize()); // 1
   * const [seconds, microseconds] = await client.time();
   * console.log(seconds > 1_700_000_000, microseconds < 1_000_000); // true true
   * console.log(await client.flushdb(), await client.dbsize()); // "OK" 0
   * ```
   */
  ping(message?: CommandArg): Reply<this, string> {
    return this.call(message === undefined ? ["PING"] : ["PING", message], r.text);
  }

  /**
   * Echoes a message (`ECHO`).
   *
   * Shown with the connection and server commands in the example of {@linkcode Commands.ping}.
   *
   * @param message The message.
   * @returns The message.
   */
  echo(message: CommandArg): Reply<this, string> {
    return this.call(["ECHO", message], r.text);
  }

  /**
   * Counts the keys of the selected database (`DBSIZE`).
   *
   * Shown with the connection and server commands in the example of {@linkcode Commands.ping}.
   *
   * @returns The number of keys.
   */
  dbsize(): Reply<this, number> {
    return this.call(["DBSIZE"], r.integer);
  }

  /**
   * Deletes every key of the selected database (`FLUSHDB`).
   *
   * Shown with the connection and server commands in the example of {@linkcode Commands.ping}.
   *
   * @param options `async`: free memory in the background.
   * @returns `OK`.
   */
  flushdb(options?: { async?: boolean }): Reply<this, "OK"> {
    return this.call(options?.async === true ? ["FLUSHDB", "ASYNC"] : ["FLUSHDB"], r.ok);
  }

  /**
   * The server's clock (`TIME`).
   *
   * Shown with the connection and server commands in the example of {@linkcode Commands.ping}.
   *
   * @returns Unix time in seconds, and microseconds.
   */
  time(): Reply<this, [seconds: number, microseconds: number]> {
    return this.call(["TIME"], r.time);
  }

  /**
   * The server's information and statistics (`INFO`), by section. On the
   * cluster client, one node answers.
   *
   * @param sections Sections to return (`server`, `memory`, `keyspace`, …;
   * `all`, `everything`); none: the default set.
   * @returns Each section (its name in lower case) and its values, as strings.
   *
   * @example Server commands operators type, against the local emulator
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
   * const { server } = await client.info("server");
   * console.log(server?.redis_version !== undefined); // true
   * const hello = await client.hello();
   * console.log(hello.proto, hello.role); // 3 "master"
   * console.log(await client.clientSetName("worker-1"), await client.clientGetName()); // "OK" "worker-1"
   * await client.set("counter", "12");
   * console.log(await client.objectEncoding("counter")); // "int"
   * console.log(await client.memoryUsage("counter") !== null); // true
   * console.log(await client.copy("counter", "counter:copy")); // true
   * console.log(await client.copy("counter", "counter:copy")); // false: it exists
   * console.log(await client.copy("counter", "counter:copy", { replace: true })); // true
   * console.log(await client.wait(0, 100)); // 0: no replica needed, none waited for
   * ```
   */
  info(...sections: string[]): Reply<this, InfoSections> {
    return this.call(["INFO", ...sections], sr.info);
  }

  /**
   * The server's and the connection's description (`HELLO`, sent without
   * arguments): it never switches the connection's protocol or identity.
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @param protover The protocol the caller expects (2 or 3): the call fails
   * unless the connection speaks it. Choose the protocol with the `protocol`
   * option when connecting.
   * @returns `server`, `version`, `proto`, `id`, `mode`, `role`, `modules`.
   * @throws {RangeError} When `protover` is not 2 or 3.
   * @throws {TypeError} When the connection speaks another protocol than `protover`.
   */
  hello(protover?: 2 | 3): Reply<this, HelloReply> {
    if (protover !== undefined && protover !== 2 && protover !== 3) {
      throw new RangeError(
        `Cannot run HELLO: 'protover' must be 2 or 3, got ${describe(protover)}`,
      );
    }
    return this.call(["HELLO"], (value) => {
      const reply = sr.hello(value);
      if (protover !== undefined && reply.proto !== protover) {
        throw new TypeError(
          `Cannot run HELLO ${protover}: the connection speaks RESP${reply.proto}, and switching ` +
            `it would make the client read later replies wrongly; choose the protocol with the ` +
            `'protocol' option when connecting`,
        );
      }
      return reply;
    });
  }

  /**
   * Names the connection (`CLIENT SETNAME`), as `CLIENT LIST` shows it. The
   * client sets the name again on the connections it opens later (after a
   * reconnect); the `clientName` option names them all from the start. The
   * cluster client refuses it (a `TypeError`): give it `clientName`.
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @param name Printable ASCII without spaces; `""` removes the name.
   * @returns `OK`.
   * @throws {TypeError} When the name has spaces or other characters the server refuses.
   */
  clientSetName(name: string): Reply<this, "OK"> {
    if (typeof name !== "string" || !/^[!-~]*$/.test(name)) {
      throw new TypeError(
        `Cannot set the client name: 'name' must be printable ASCII without spaces, got ${
          describe(name)
        }`,
      );
    }
    return this.call(["CLIENT", "SETNAME", name], r.ok);
  }

  /**
   * The connection's name (`CLIENT GETNAME`).
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @returns The name, or `null` when it has none.
   */
  clientGetName(): Reply<this, string | null> {
    return this.call(["CLIENT", "GETNAME"], r.textOrNull);
  }

  /**
   * Waits until `numreplicas` replicas have acknowledged the writes sent
   * before it on this connection, or `timeoutMs` passed (`WAIT`). It runs
   * on the client's connection, the one the writes went through; its reply
   * timeout is `timeoutMs` plus `commandTimeout`. The cluster client refuses
   * it (a `TypeError`): each shard's writes go over a connection of their own.
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @param numreplicas How many replicas to wait for.
   * @param timeoutMs How long to wait at most, in ms; `0` waits without bound.
   * @returns How many replicas acknowledged the writes.
   * @throws {RangeError} When a number is not a non-negative integer.
   */
  wait(numreplicas: number, timeoutMs: number): Reply<this, number> {
    const action = "Cannot wait for replicas";
    return this.call([
      "WAIT",
      integerArg(action, "numreplicas", numreplicas, 0),
      integerArg(action, "timeoutMs", timeoutMs, 0),
    ], r.integer);
  }

  /**
   * Copies a key's value to another key (`COPY`). On a cluster both keys
   * must be in one hash slot (use a hash tag).
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @param source The key to copy.
   * @param destination The new key.
   * @param options `replace` an existing destination; `db`: the database to copy to.
   * @returns Whether it was copied (`false`: the source is missing, or the destination exists).
   * @throws {RangeError} When `db` is not a non-negative integer.
   */
  copy(source: Key, destination: Key, options?: CopyOptions): Reply<this, boolean> {
    const action = "Cannot copy key";
    const o = optionsObject(action, options);
    const args: CommandArg[] = ["COPY", source, destination];
    if (o.db !== undefined) args.push("DB", integerArg(action, "db", o.db, 0));
    if (o.replace === true) args.push("REPLACE");
    return this.call(args, r.boolean);
  }

  /**
   * How a key's value is stored (`OBJECT ENCODING`): `int`, `embstr`,
   * `listpack`, `hashtable`, `skiplist`, `stream`, ….
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @param key The key.
   * @returns The encoding, or `null` for a missing key.
   */
  objectEncoding(key: Key): Reply<this, string | null> {
    return this.call(["OBJECT", "ENCODING", key], r.textOrNull);
  }

  /**
   * How many bytes a key and its value take in memory (`MEMORY USAGE`).
   *
   * Shown with the server commands in the example of {@linkcode Commands.info}.
   *
   * @param key The key.
   * @param options `samples`: how many elements of a collection to sample (`0`: all; default 5).
   * @returns The bytes, or `null` for a missing key.
   * @throws {RangeError} When `samples` is not a non-negative integer.
   */
  memoryUsage(key: Key, options?: { samples?: number }): Reply<this, number | null> {
    const action = "Cannot measure memory usage";
    const o = optionsObject(action, options);
    const args: CommandArg[] = ["MEMORY", "USAGE", key];
    if (o.samples !== undefined) args.push("SAMPLES", integerArg(action, "samples", o.samples, 0));
    return this.call(args, r.integerOrNull);
  }

  // ---- keys ------------------------------------------------------------------------------

  /**
   * Deletes keys (`DEL`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param keys The keys.
   * @returns How many existed.
   */
  del(...keys: Key[]): Reply<this, number> {
    return this.call(["DEL", ...keys], r.integer);
  }

  /**
   * Deletes keys, freeing memory in the background (`UNLINK`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param keys The keys.
   * @returns How many existed.
   */
  unlink(...keys: Key[]): Reply<this, number> {
    return this.call(["UNLINK", ...keys], r.integer);
  }

  /**
   * Counts how many of the keys exist (`EXISTS`); a key named twice counts twice.
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param keys The keys.
   * @returns The count.
   */
  exists(...keys: Key[]): Reply<this, number> {
    return this.call(["EXISTS", ...keys], r.integer);
  }

  /**
   * Sets a key's time to live in seconds (`EXPIRE`).
   *
   * @param key The key.
   * @param seconds The time to live.
   * @param condition `NX`, `XX`, `GT` or `LT` (Redis 7).
   * @returns Whether the timeout was set.
   *
   * @example Keys and expiry, against the local emulator
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
   * await client.mset({ "session:1": "ada", "session:2": "grace" });
   * console.log(await client.exists("session:1", "session:2", "session:3")); // 2
   * console.log(await client.expire("session:1", 3600)); // true
   * console.log(await client.ttl("session:1")); // 3600
   * console.log(await client.expire("session:1", 60, "GT")); // false: 60 s is not later
   * console.log(await client.pexpire("session:1", 5000)); // true
   * console.log(await client.pttl("session:1") > 4000); // true
   * console.log(await client.persist("session:1"), await client.ttl("session:1")); // true -1
   * const inAMinute = Date.now() + 60_000;
   * console.log(await client.expireat("session:2", Math.floor(inAMinute / 1000))); // true
   * console.log(await client.pexpireat("session:2", inAMinute)); // true
   * console.log(await client.ttl("missing"), await client.type("session:1")); // -2 "string"
   * console.log(await client.rename("session:1", "session:ada")); // "OK"
   * console.log(await client.renamenx("session:2", "session:ada")); // false: the name is taken
   * console.log((await client.keys("session:*")).sort()); // ["session:2", "session:ada"]
   * console.log(await client.del("session:ada", "session:3")); // 1
   * console.log(await client.unlink("session:2")); // 1
   * ```
   */
  expire(key: Key, seconds: number, condition?: ExpireCondition): Reply<this, boolean> {
    const args: CommandArg[] = ["EXPIRE", key, seconds];
    if (condition !== undefined) args.push(condition);
    return this.call(args, r.boolean);
  }

  /**
   * Sets a key's time to live in milliseconds (`PEXPIRE`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @param milliseconds The time to live.
   * @param condition `NX`, `XX`, `GT` or `LT` (Redis 7).
   * @returns Whether the timeout was set.
   */
  pexpire(key: Key, milliseconds: number, condition?: ExpireCondition): Reply<this, boolean> {
    const args: CommandArg[] = ["PEXPIRE", key, milliseconds];
    if (condition !== undefined) args.push(condition);
    return this.call(args, r.boolean);
  }

  /**
   * Sets when a key expires, as a Unix time in seconds (`EXPIREAT`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @param unixSeconds The time.
   * @returns Whether the timeout was set.
   */
  expireat(key: Key, unixSeconds: number): Reply<this, boolean> {
    return this.call(["EXPIREAT", key, unixSeconds], r.boolean);
  }

  /**
   * Sets when a key expires, as a Unix time in milliseconds (`PEXPIREAT`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @param unixMilliseconds The time.
   * @returns Whether the timeout was set.
   */
  pexpireat(key: Key, unixMilliseconds: number): Reply<this, boolean> {
    return this.call(["PEXPIREAT", key, unixMilliseconds], r.boolean);
  }

  /**
   * A key's remaining time to live in seconds (`TTL`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @returns Seconds; -1 without expiry, -2 for a missing key.
   */
  ttl(key: Key): Reply<this, number> {
    return this.call(["TTL", key], r.integer);
  }

  /**
   * A key's remaining time to live in milliseconds (`PTTL`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @returns Milliseconds; -1 without expiry, -2 for a missing key.
   */
  pttl(key: Key): Reply<this, number> {
    return this.call(["PTTL", key], r.integer);
  }

  /**
   * Removes a key's time to live (`PERSIST`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @returns Whether a timeout was removed.
   */
  persist(key: Key): Reply<this, boolean> {
    return this.call(["PERSIST", key], r.boolean);
  }

  /**
   * The type of the value at a key (`TYPE`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @returns `string`, `list`, `set`, `zset`, `hash`, `stream`, or `none`.
   */
  type(key: Key): Reply<this, string> {
    return this.call(["TYPE", key], r.text);
  }

  /**
   * Renames a key, replacing any key of the new name (`RENAME`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @param newKey Its new name.
   * @returns `OK`.
   * @throws {ReplyError} If the key does not exist.
   */
  rename(key: Key, newKey: Key): Reply<this, "OK"> {
    return this.call(["RENAME", key, newKey], r.ok);
  }

  /**
   * Renames a key unless the new name exists (`RENAMENX`).
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param key The key.
   * @param newKey Its new name.
   * @returns Whether it was renamed.
   */
  renamenx(key: Key, newKey: Key): Reply<this, boolean> {
    return this.call(["RENAMENX", key, newKey], r.boolean);
  }

  /**
   * Lists keys matching a pattern (`KEYS`). It blocks the server while it
   * walks every key: prefer {@linkcode Commands.scan}.
   *
   * Shown with the key and expiry commands in the example of {@linkcode Commands.expire}.
   *
   * @param pattern A glob pattern.
   * @returns The matching keys.
   */
  keys(pattern: string): Reply<this, string[]> {
    return this.call(["KEYS", pattern], r.textArray);
  }

  /**
   * One page of an incremental walk over the keys (`SCAN`). Start with cursor
   * `"0"` (or `0`) and stop when the returned cursor is `"0"`.
   *
   * @param cursor The cursor from the previous page.
   * @param options `match`, `count`, `type`.
   * @returns The next cursor and this page's keys.
   *
   * @example Walking the keys page by page, against the local emulator
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
   * const users = Array.from({ length: 25 }, (_, i) => [`user:${i}`, String(i)]);
   * await client.mset(Object.fromEntries(users));
   * await client.hset("profile:1", { name: "Ada" });
   *
   * const found: string[] = [];
   * let cursor = "0";
   * do {
   *   const [next, page] = await client.scan(cursor, { match: "user:*", count: 10 });
   *   found.push(...page);
   *   cursor = next;
   * } while (cursor !== "0");
   * console.log(found.length); // 25
   *
   * const [, hashes] = await client.scan(0, { type: "hash", count: 100 });
   * console.log(hashes); // ["profile:1"]
   * ```
   */
  scan(
    cursor: string | number,
    options?: ScanOptions,
  ): Reply<this, [cursor: string, keys: string[]]> {
    const args = scanArgs("Cannot scan keys", options, true);
    return this.call(["SCAN", cursor, ...args], r.scanPage);
  }

  // ---- strings ---------------------------------------------------------------------------

  /**
   * Gets a string value (`GET`).
   *
   * @param key The key.
   * @returns The value, or `null` when the key does not exist.
   * @throws {ReplyError} `WRONGTYPE` when the key holds another type.
   *
   * @example Strings, against the local emulator
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
   * console.log(await client.set("greeting", "hello")); // "OK"
   * console.log(await client.get("greeting")); // "hello"
   * console.log(await client.get("missing")); // null
   * console.log(await client.set("greeting", "hi", { nx: true })); // null: the key exists
   * console.log(await client.set("greeting", "hi", { xx: true, ex: 60, get: true })); // "hello"
   * console.log(await client.getex("greeting", { persist: true })); // "hi"
   * console.log(await client.ttl("greeting")); // -1
   * console.log(await client.mset({ a: "1", b: "2" })); // "OK"
   * console.log(await client.mget("a", "b", "c")); // ["1", "2", null]
   * console.log(await client.msetnx({ b: "3", c: "4" })); // false: b exists, nothing was set
   * console.log(await client.append("a", "23"), await client.strlen("a")); // 3 3
   * console.log(await client.getrange("a", 0, 1)); // "12"
   * console.log(await client.setrange("a", 1, "x")); // 3
   * console.log(await client.getBuffer("a")); // Uint8Array(3) [49, 120, 51]
   * console.log(await client.getdel("a"), await client.get("a")); // "1x3" null
   * ```
   */
  get(key: Key): Reply<this, string | null> {
    return this.call(["GET", key], r.textOrNull);
  }

  /**
   * Gets a value as bytes, for binary data (`GET`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @returns The bytes, or `null`.
   */
  getBuffer(key: Key): Reply<this, Uint8Array | null> {
    return this.callWith(["GET", key], r.bytesOrNull, true) as Reply<this, Uint8Array | null>;
  }

  /**
   * Gets a value stored as JSON and parses it: the opt-in counterpart of
   * {@linkcode Commands.setJson}. No other method parses JSON.
   *
   * @typeParam T The value's type (not checked).
   * @param key The key.
   * @returns The parsed value, or `null` when the key does not exist.
   * @throws {SyntaxError} When the value is not JSON.
   *
   * @example Values stored as JSON, against the local emulator
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
   * const ada = { name: "Ada", langs: ["en"] };
   * console.log(await client.setJson("user:1", ada, { ex: 60 })); // "OK"
   * console.log(await client.get("user:1")); // '{"name":"Ada","langs":["en"]}'
   * const user = await client.getJson<{ name: string; langs: string[] }>("user:1");
   * console.log(user?.name, user?.langs); // "Ada" ["en"]
   * console.log(await client.getJson("missing")); // null
   * ```
   */
  getJson<T = unknown>(key: Key): Reply<this, T | null> {
    return this.call(["GET", key], json as Parser<T | null>);
  }

  /**
   * Sets a key to a string value (`SET`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @param value The value.
   * @param options An expiry (`ex`, `px`, `exat`, `pxat`, `keepTtl`), a
   * condition (`nx`, `xx`), and `get` to return the old value.
   * @returns `OK`, or `null` when `nx`/`xx` prevented the write; with `get`,
   * the old value or `null`.
   */
  set(key: Key, value: CommandArg, options: SetOptions & { get: true }): Reply<this, string | null>;
  /**
   * Sets a key to a string value (`SET`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @param value The value.
   * @param options An expiry (`ex`, `px`, `exat`, `pxat`, `keepTtl`) and a condition (`nx`, `xx`).
   * @returns `OK`, or `null` when `nx`/`xx` prevented the write.
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
      return this.call(args, r.textOrNull);
    }
    return this.call(args, r.okOrNull);
  }

  /**
   * Stores a value as JSON (`SET key JSON.stringify(value)`): the opt-in
   * counterpart of {@linkcode Commands.getJson}.
   *
   * Shown with the JSON commands in the example of {@linkcode Commands.getJson}.
   *
   * @param key The key.
   * @param value Any JSON-serializable value.
   * @param options As for {@linkcode Commands.set}, without `get`.
   * @returns `OK`, or `null` when `nx`/`xx` prevented the write.
   * @throws {TypeError} When the value cannot be serialized.
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
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @returns The value, or `null`.
   */
  getdel(key: Key): Reply<this, string | null> {
    return this.call(["GETDEL", key], r.textOrNull);
  }

  /**
   * Gets a value and changes its expiry (`GETEX`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @param options A new expiry (`ex`, `px`, `exat`, `pxat`) or `persist`.
   * @returns The value, or `null`.
   */
  getex(key: Key, options?: GetExOptions): Reply<this, string | null> {
    const args: CommandArg[] = ["GETEX", key];
    expiryArgs(options, args);
    return this.call(args, r.textOrNull);
  }

  /**
   * Gets several values (`MGET`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param keys The keys.
   * @returns One value (or `null`) per key.
   */
  mget(...keys: Key[]): Reply<this, (string | null)[]> {
    return this.call(["MGET", ...keys], r.nullableTextArray);
  }

  /**
   * Sets several keys (`MSET`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param entries Keys and their values.
   * @returns `OK`.
   */
  mset(entries: Record<string, CommandArg>): Reply<this, "OK"> {
    return this.call(["MSET", ...Object.entries(entries).flat()], r.ok);
  }

  /**
   * Sets several keys, only if none exists (`MSETNX`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param entries Keys and their values.
   * @returns Whether they were set.
   */
  msetnx(entries: Record<string, CommandArg>): Reply<this, boolean> {
    return this.call(["MSETNX", ...Object.entries(entries).flat()], r.boolean);
  }

  /**
   * Appends to a string (`APPEND`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @param value What to append.
   * @returns The new length.
   */
  append(key: Key, value: CommandArg): Reply<this, number> {
    return this.call(["APPEND", key, value], r.integer);
  }

  /**
   * A string's length in bytes (`STRLEN`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @returns The length; 0 for a missing key.
   */
  strlen(key: Key): Reply<this, number> {
    return this.call(["STRLEN", key], r.integer);
  }

  /**
   * A substring, by byte offsets (`GETRANGE`); negative offsets count from the end.
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @param start The first byte.
   * @param end The last byte (inclusive).
   * @returns The substring.
   */
  getrange(key: Key, start: number, end: number): Reply<this, string> {
    return this.call(["GETRANGE", key, start, end], r.text);
  }

  /**
   * Overwrites part of a string (`SETRANGE`).
   *
   * Shown with the string commands in the example of {@linkcode Commands.get}.
   *
   * @param key The key.
   * @param offset The byte offset.
   * @param value The bytes to write there.
   * @returns The new length.
   */
  setrange(key: Key, offset: number, value: CommandArg): Reply<this, number> {
    return this.call(["SETRANGE", key, offset, value], r.integer);
  }

  /**
   * Adds 1 to an integer (`INCR`); a missing key counts as 0.
   *
   * @param key The key.
   * @returns The new value.
   * @throws {ReplyError} When the value is not an integer.
   *
   * @example Counters, against the local emulator
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
   * console.log(await client.incr("visits")); // 1
   * console.log(await client.incrby("visits", 10)); // 11
   * console.log(await client.decr("visits")); // 10
   * console.log(await client.decrby("visits", 4)); // 6
   * console.log(await client.incrbyfloat("price", 1.5)); // 1.5
   * console.log(await client.get("visits")); // "6": a value read back stays a string
   * ```
   */
  incr(key: Key): Reply<this, number> {
    return this.call(["INCR", key], r.integer);
  }

  /**
   * Adds to an integer (`INCRBY`).
   *
   * Shown with the counter commands in the example of {@linkcode Commands.incr}.
   *
   * @param key The key.
   * @param increment The amount (may be negative).
   * @returns The new value.
   */
  incrby(key: Key, increment: number): Reply<this, number> {
    return this.call(["INCRBY", key, increment], r.integer);
  }

  /**
   * Adds to a floating-point number (`INCRBYFLOAT`).
   *
   * Shown with the counter commands in the example of {@linkcode Commands.incr}.
   *
   * @param key The key.
   * @param increment The amount.
   * @returns The new value.
   */
  incrbyfloat(key: Key, increment: number): Reply<this, number> {
    return this.call(["INCRBYFLOAT", key, increment], r.double);
  }

  /**
   * Subtracts 1 from an integer (`DECR`).
   *
   * Shown with the counter commands in the example of {@linkcode Commands.incr}.
   *
   * @param key The key.
   * @returns The new value.
   */
  decr(key: Key): Reply<this, number> {
    return this.call(["DECR", key], r.integer);
  }

  /**
   * Subtracts from an integer (`DECRBY`).
   *
   * Shown with the counter commands in the example of {@linkcode Commands.incr}.
   *
   * @param key The key.
   * @param decrement The amount.
   * @returns The new value.
   */
  decrby(key: Key, decrement: number): Reply<this, number> {
    return this.call(["DECRBY", key, decrement], r.integer);
  }

  // ---- hashes ----------------------------------------------------------------------------

  /**
   * Gets a hash field (`HGET`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param field The field.
   * @returns The value, or `null`.
   */
  hget(key: Key, field: CommandArg): Reply<this, string | null> {
    return this.call(["HGET", key, field], r.textOrNull);
  }

  /**
   * Sets hash fields (`HSET`).
   *
   * @param key The key.
   * @param fields Fields and their values.
   * @returns How many fields were added (not updated).
   *
   * @example Hashes, against the local emulator
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
   * console.log(await client.hset("user:1", { name: "Ada", visits: 1 })); // 2
   * console.log(await client.hsetnx("user:1", "name", "Grace")); // false
   * console.log(await client.hget("user:1", "name")); // "Ada"
   * console.log(await client.hmget("user:1", "name", "email")); // ["Ada", null]
   * console.log(await client.hincrby("user:1", "visits", 2)); // 3
   * console.log(await client.hincrbyfloat("user:1", "score", 0.5)); // 0.5
   * console.log(await client.hexists("user:1", "email"), await client.hlen("user:1")); // false 3
   * console.log(await client.hkeys("user:1")); // ["name", "visits", "score"]
   * console.log(await client.hvals("user:1")); // ["Ada", "3", "0.5"]
   * console.log(await client.hdel("user:1", "score", "email")); // 1
   * console.log(await client.hgetall("user:1")); // { name: "Ada", visits: "3" }
   * ```
   */
  hset(key: Key, fields: Record<string, CommandArg>): Reply<this, number> {
    return this.call(["HSET", key, ...Object.entries(fields).flat()], r.integer);
  }

  /**
   * Sets a hash field unless it exists (`HSETNX`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param field The field.
   * @param value The value.
   * @returns Whether it was set.
   */
  hsetnx(key: Key, field: CommandArg, value: CommandArg): Reply<this, boolean> {
    return this.call(["HSETNX", key, field, value], r.boolean);
  }

  /**
   * Gets several hash fields (`HMGET`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param fields The fields.
   * @returns One value (or `null`) per field.
   */
  hmget(key: Key, ...fields: CommandArg[]): Reply<this, (string | null)[]> {
    return this.call(["HMGET", key, ...fields], r.nullableTextArray);
  }

  /**
   * Gets a whole hash (`HGETALL`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @returns Its fields and values; `{}` for a missing key.
   */
  hgetall(key: Key): Reply<this, Record<string, string>> {
    return this.call(["HGETALL", key], r.record);
  }

  /**
   * Deletes hash fields (`HDEL`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param fields The fields.
   * @returns How many existed.
   */
  hdel(key: Key, ...fields: CommandArg[]): Reply<this, number> {
    return this.call(["HDEL", key, ...fields], r.integer);
  }

  /**
   * Whether a hash field exists (`HEXISTS`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param field The field.
   * @returns `true` if it exists.
   */
  hexists(key: Key, field: CommandArg): Reply<this, boolean> {
    return this.call(["HEXISTS", key, field], r.boolean);
  }

  /**
   * Adds to an integer hash field (`HINCRBY`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param field The field.
   * @param increment The amount.
   * @returns The new value.
   */
  hincrby(key: Key, field: CommandArg, increment: number): Reply<this, number> {
    return this.call(["HINCRBY", key, field, increment], r.integer);
  }

  /**
   * Adds to a floating-point hash field (`HINCRBYFLOAT`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @param field The field.
   * @param increment The amount.
   * @returns The new value.
   */
  hincrbyfloat(key: Key, field: CommandArg, increment: number): Reply<this, number> {
    return this.call(["HINCRBYFLOAT", key, field, increment], r.double);
  }

  /**
   * A hash's field names (`HKEYS`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @returns The fields.
   */
  hkeys(key: Key): Reply<this, string[]> {
    return this.call(["HKEYS", key], r.textArray);
  }

  /**
   * A hash's values (`HVALS`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @returns The values.
   */
  hvals(key: Key): Reply<this, string[]> {
    return this.call(["HVALS", key], r.textArray);
  }

  /**
   * How many fields a hash has (`HLEN`).
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The key.
   * @returns The count.
   */
  hlen(key: Key): Reply<this, number> {
    return this.call(["HLEN", key], r.integer);
  }

  /**
   * One page of an incremental walk over a hash's fields (`HSCAN`). Start
   * with cursor `"0"` and stop when the returned cursor is `"0"`; a field may
   * come twice. The client's `hscanIterator` walks every page.
   *
   * Shown with the hash commands in the example of {@linkcode Commands.hset}.
   *
   * @param key The hash.
   * @param cursor The cursor from the previous page.
   * @param options `match`, `count`.
   * @returns The next cursor and this page's `[field, value]` pairs.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  hscan(
    key: Key,
    cursor: string | number,
    options?: ScanMatchOptions,
  ): Reply<this, [cursor: string, entries: [field: string, value: string][]]> {
    const args = scanArgs("Cannot scan hash", options, false);
    return this.call(["HSCAN", key, cursor, ...args], r.hashScanPage);
  }

  // ---- lists -----------------------------------------------------------------------------

  /**
   * Prepends values to a list (`LPUSH`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param values The values; the last one ends up first.
   * @returns The list's new length.
   */
  lpush(key: Key, ...values: CommandArg[]): Reply<this, number> {
    return this.call(["LPUSH", key, ...values], r.integer);
  }

  /**
   * Appends values to a list (`RPUSH`).
   *
   * @param key The key.
   * @param values The values.
   * @returns The list's new length.
   *
   * @example Lists, against the local emulator
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
   * console.log(await client.rpush("jobs", "a", "b", "c")); // 3
   * console.log(await client.lpush("jobs", "z")); // 4
   * console.log(await client.lrange("jobs", 0, -1)); // ["z", "a", "b", "c"]
   * console.log(await client.lpop("jobs"), await client.rpop("jobs", 2)); // "z" ["c", "b"]
   * console.log(await client.llen("jobs"), await client.lindex("jobs", 0)); // 1 "a"
   * console.log(await client.lset("jobs", 0, "a2")); // "OK"
   * console.log(await client.lrem("jobs", 0, "a2")); // 1
   * console.log(await client.rpop("jobs"), await client.lpop("jobs", 5)); // null null: empty
   * await client.rpush("jobs", "x", "y", "z");
   * console.log(await client.ltrim("jobs", 0, 1)); // "OK"
   * console.log(await client.lmove("jobs", "done", "LEFT", "RIGHT")); // "x"
   * console.log(await client.lrange("jobs", 0, -1)); // ["y"]
   * console.log(await client.lrange("done", 0, -1)); // ["x"]
   * ```
   */
  rpush(key: Key, ...values: CommandArg[]): Reply<this, number> {
    return this.call(["RPUSH", key, ...values], r.integer);
  }

  /**
   * Removes and returns the first element (`LPOP`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @returns The element, or `null` when the list is empty.
   */
  lpop(key: Key): Reply<this, string | null>;
  /**
   * Removes and returns up to `count` elements from the head (`LPOP key count`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param count How many.
   * @returns The elements, or `null` when the list is empty.
   */
  lpop(key: Key, count: number): Reply<this, string[] | null>;
  lpop(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.call(["LPOP", key], r.textOrNull)
      : this.call(["LPOP", key, count], r.textArrayOrNull);
  }

  /**
   * Removes and returns the last element (`RPOP`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @returns The element, or `null` when the list is empty.
   */
  rpop(key: Key): Reply<this, string | null>;
  /**
   * Removes and returns up to `count` elements from the tail (`RPOP key count`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param count How many.
   * @returns The elements, or `null` when the list is empty.
   */
  rpop(key: Key, count: number): Reply<this, string[] | null>;
  rpop(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.call(["RPOP", key], r.textOrNull)
      : this.call(["RPOP", key, count], r.textArrayOrNull);
  }

  /**
   * A range of a list (`LRANGE`); negative indexes count from the end.
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param start The first index.
   * @param stop The last index (inclusive).
   * @returns The elements.
   */
  lrange(key: Key, start: number, stop: number): Reply<this, string[]> {
    return this.call(["LRANGE", key, start, stop], r.textArray);
  }

  /**
   * A list's length (`LLEN`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @returns The length.
   */
  llen(key: Key): Reply<this, number> {
    return this.call(["LLEN", key], r.integer);
  }

  /**
   * The element at an index (`LINDEX`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param index The index; negative counts from the end.
   * @returns The element, or `null`.
   */
  lindex(key: Key, index: number): Reply<this, string | null> {
    return this.call(["LINDEX", key, index], r.textOrNull);
  }

  /**
   * Sets the element at an index (`LSET`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param index The index.
   * @param value The value.
   * @returns `OK`.
   * @throws {ReplyError} When the index is out of range.
   */
  lset(key: Key, index: number, value: CommandArg): Reply<this, "OK"> {
    return this.call(["LSET", key, index, value], r.ok);
  }

  /**
   * Removes elements equal to a value (`LREM`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param count How many: from the head when positive, from the tail when negative, all when 0.
   * @param value The value.
   * @returns How many were removed.
   */
  lrem(key: Key, count: number, value: CommandArg): Reply<this, number> {
    return this.call(["LREM", key, count, value], r.integer);
  }

  /**
   * Trims a list to a range (`LTRIM`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param key The key.
   * @param start The first index kept.
   * @param stop The last index kept.
   * @returns `OK`.
   */
  ltrim(key: Key, start: number, stop: number): Reply<this, "OK"> {
    return this.call(["LTRIM", key, start, stop], r.ok);
  }

  /**
   * Moves an element from one list to another (`LMOVE`).
   *
   * Shown with the list commands in the example of {@linkcode Commands.rpush}.
   *
   * @param source The source list.
   * @param destination The destination list.
   * @param from Which end of the source to take from.
   * @param to Which end of the destination to put at.
   * @returns The element, or `null` when the source is empty.
   */
  lmove(source: Key, destination: Key, from: ListSide, to: ListSide): Reply<this, string | null> {
    return this.call(["LMOVE", source, destination, from, to], r.textOrNull);
  }

  /**
   * Pops the first element of the first non-empty list, waiting up to
   * `timeoutSeconds` for one (`BLPOP`). On the client it waits on a
   * connection of its own, so commands sent meanwhile are not delayed; in a
   * pipeline or transaction it does not wait.
   *
   * @param keys The lists, in the order they are tried.
   * @param timeoutSeconds How long to wait, in seconds (decimals allowed); `0` waits without end.
   * @returns `[list, element]`, or `null` when the time ran out.
   * @throws {RangeError} When `timeoutSeconds` is not a number from 0, before anything is sent.
   *
   * @example A worker waiting for a job (against any server; not run here)
   * ```ts ignore
   * const job = await client.blpop(["jobs:high", "jobs:low"], 5);
   * if (job !== null) console.log(`from ${job[0]}: ${job[1]}`);
   * ```
   */
  blpop(
    keys: Key | Key[],
    timeoutSeconds: number,
  ): Reply<this, [list: string, element: string] | null> {
    const args = blockingArgs("BLPOP", "pop from a list", keys, timeoutSeconds);
    return this.call(args, r.textPairOrNull);
  }

  /**
   * As {@linkcode Commands.blpop}, from the end of the list (`BRPOP`).
   *
   * @param keys The lists, in the order they are tried.
   * @param timeoutSeconds How long to wait, in seconds; `0` waits without end.
   * @returns `[list, element]`, or `null` when the time ran out.
   * @throws {RangeError} When `timeoutSeconds` is not a number from 0, before anything is sent.
   *
   * @example
   * ```ts ignore
   * const job = await client.brpop("jobs", 1);
   * ```
   */
  brpop(
    keys: Key | Key[],
    timeoutSeconds: number,
  ): Reply<this, [list: string, element: string] | null> {
    const args = blockingArgs("BRPOP", "pop from a list", keys, timeoutSeconds);
    return this.call(args, r.textPairOrNull);
  }

  /**
   * Moves an element from one list to another, waiting up to
   * `timeoutSeconds` for the source to have one (`BLMOVE`).
   *
   * @param source The source list.
   * @param destination The destination list.
   * @param from Which end of the source to take from.
   * @param to Which end of the destination to put at.
   * @param timeoutSeconds How long to wait, in seconds; `0` waits without end.
   * @returns The element, or `null` when the time ran out.
   * @throws {RangeError} When `timeoutSeconds` is not a number from 0, before anything is sent.
   *
   * @example A reliable queue: take a job into a processing list
   * ```ts ignore
   * const job = await client.blmove("jobs", "jobs:processing", "LEFT", "RIGHT", 5);
   * ```
   */
  blmove(
    source: Key,
    destination: Key,
    from: ListSide,
    to: ListSide,
    timeoutSeconds: number,
  ): Reply<this, string | null> {
    const timeout = timeoutArg("move between lists", timeoutSeconds);
    return this.call(["BLMOVE", source, destination, from, to, timeout], r.textOrNull);
  }

  // ---- sets ------------------------------------------------------------------------------

  /**
   * Adds members to a set (`SADD`).
   *
   * @param key The key.
   * @param members The members.
   * @returns How many were new.
   *
   * @example Sets, against the local emulator
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
   * console.log(await client.sadd("a", "redis", "aws", "iam")); // 3
   * console.log(await client.sadd("b", "redis", "deno")); // 2
   * console.log(await client.sismember("a", "aws")); // true
   * console.log(await client.smismember("a", "aws", "deno")); // [true, false]
   * console.log(await client.scard("a"), await client.sinter("a", "b")); // 3 ["redis"]
   * console.log((await client.sunion("a", "b")).sort()); // ["aws", "deno", "iam", "redis"]
   * console.log((await client.sdiff("a", "b")).sort()); // ["aws", "iam"]
   * console.log(await client.srem("a", "iam")); // 1
   * console.log((await client.smembers("a")).sort()); // ["aws", "redis"]
   * console.log((await client.srandmember("b", 5)).sort()); // ["deno", "redis"]: no repeats
   * console.log((await client.spop("b", 2)).sort()); // ["deno", "redis"]
   * console.log(await client.spop("b"), await client.srandmember("b")); // null null: empty
   * ```
   */
  sadd(key: Key, ...members: CommandArg[]): Reply<this, number> {
    return this.call(["SADD", key, ...members], r.integer);
  }

  /**
   * Removes members from a set (`SREM`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @param members The members.
   * @returns How many were removed.
   */
  srem(key: Key, ...members: CommandArg[]): Reply<this, number> {
    return this.call(["SREM", key, ...members], r.integer);
  }

  /**
   * A set's members (`SMEMBERS`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @returns The members, in no particular order.
   */
  smembers(key: Key): Reply<this, string[]> {
    return this.call(["SMEMBERS", key], r.textArray);
  }

  /**
   * Whether a value is a member of a set (`SISMEMBER`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @param member The value.
   * @returns `true` if it is.
   */
  sismember(key: Key, member: CommandArg): Reply<this, boolean> {
    return this.call(["SISMEMBER", key, member], r.boolean);
  }

  /**
   * Whether each value is a member of a set (`SMISMEMBER`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @param members The values.
   * @returns One boolean per value.
   */
  smismember(key: Key, ...members: CommandArg[]): Reply<this, boolean[]> {
    return this.call(["SMISMEMBER", key, ...members], r.booleanArray);
  }

  /**
   * A set's size (`SCARD`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @returns The number of members.
   */
  scard(key: Key): Reply<this, number> {
    return this.call(["SCARD", key], r.integer);
  }

  /**
   * Removes and returns a random member (`SPOP`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @returns The member, or `null` when the set is empty.
   */
  spop(key: Key): Reply<this, string | null>;
  /**
   * Removes and returns up to `count` random members (`SPOP key count`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @param count How many.
   * @returns The members.
   */
  spop(key: Key, count: number): Reply<this, string[]>;
  spop(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.call(["SPOP", key], r.textOrNull)
      : this.call(["SPOP", key, count], r.textArray);
  }

  /**
   * Returns a random member without removing it (`SRANDMEMBER`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @returns The member, or `null` when the set is empty.
   */
  srandmember(key: Key): Reply<this, string | null>;
  /**
   * Returns random members (`SRANDMEMBER key count`): distinct when `count`
   * is positive, possibly repeated when negative.
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The key.
   * @param count How many.
   * @returns The members.
   */
  srandmember(key: Key, count: number): Reply<this, string[]>;
  srandmember(key: Key, count?: number): Reply<this, string | string[] | null> {
    return count === undefined
      ? this.call(["SRANDMEMBER", key], r.textOrNull)
      : this.call(["SRANDMEMBER", key, count], r.textArray);
  }

  /**
   * The intersection of sets (`SINTER`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param keys The sets.
   * @returns The members in all of them.
   */
  sinter(...keys: Key[]): Reply<this, string[]> {
    return this.call(["SINTER", ...keys], r.textArray);
  }

  /**
   * The union of sets (`SUNION`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param keys The sets.
   * @returns The members in any of them.
   */
  sunion(...keys: Key[]): Reply<this, string[]> {
    return this.call(["SUNION", ...keys], r.textArray);
  }

  /**
   * The difference of sets (`SDIFF`).
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param keys The first set, then the sets to subtract.
   * @returns The members of the first set in none of the others.
   */
  sdiff(...keys: Key[]): Reply<this, string[]> {
    return this.call(["SDIFF", ...keys], r.textArray);
  }

  /**
   * One page of an incremental walk over a set's members (`SSCAN`). Start
   * with cursor `"0"` and stop when the returned cursor is `"0"`; a member
   * may come twice. The client's `sscanIterator` walks every page.
   *
   * Shown with the set commands in the example of {@linkcode Commands.sadd}.
   *
   * @param key The set.
   * @param cursor The cursor from the previous page.
   * @param options `match`, `count`.
   * @returns The next cursor and this page's members.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  sscan(
    key: Key,
    cursor: string | number,
    options?: ScanMatchOptions,
  ): Reply<this, [cursor: string, members: string[]]> {
    const args = scanArgs("Cannot scan set", options, false);
    return this.call(["SSCAN", key, cursor, ...args], r.scanPage);
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
   *
   * @example Lua scripts, against the local emulator
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
   * const script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
   * console.log(await client.eval(script, ["counter"], [5])); // 5
   * const sha1 = await client.scriptLoad(script);
   * console.log(await client.evalsha(sha1, ["counter"], [5])); // 10
   * console.log(await client.scriptExists(sha1, "0".repeat(40))); // [true, false]
   * console.log(await client.eval("return {1, 'two'}")); // [1, "two"]: the reply as decoded
   * ```
   */
  eval(script: string, keys: Key[] = [], args: CommandArg[] = []): Reply<this, RespValue> {
    return this.call(["EVAL", script, keys.length, ...keys, ...args]);
  }

  /**
   * Runs a script cached with {@linkcode Commands.scriptLoad} (`EVALSHA`).
   *
   * Shown with the scripting commands in the example of {@linkcode Commands.eval}.
   *
   * @param sha1 The script's SHA-1 digest.
   * @param keys The keys it touches (`KEYS`).
   * @param args Its other arguments (`ARGV`).
   * @returns What the script returned.
   * @throws {ReplyError} `NOSCRIPT` when the server does not have the script.
   */
  evalsha(sha1: string, keys: Key[] = [], args: CommandArg[] = []): Reply<this, RespValue> {
    return this.call(["EVALSHA", sha1, keys.length, ...keys, ...args]);
  }

  /**
   * Caches a script on the server (`SCRIPT LOAD`).
   *
   * Shown with the scripting commands in the example of {@linkcode Commands.eval}.
   *
   * @param script The script.
   * @returns Its SHA-1 digest, for {@linkcode Commands.evalsha}.
   */
  scriptLoad(script: string): Reply<this, string> {
    return this.call(["SCRIPT", "LOAD", script], r.text);
  }

  /**
   * Whether scripts are cached (`SCRIPT EXISTS`).
   *
   * Shown with the scripting commands in the example of {@linkcode Commands.eval}.
   *
   * @param sha1s The digests.
   * @returns One boolean per digest.
   */
  scriptExists(...sha1s: string[]): Reply<this, boolean[]> {
    return this.call(["SCRIPT", "EXISTS", ...sha1s], r.booleanArray);
  }

  // ---- pub/sub ---------------------------------------------------------------------------

  /**
   * Publishes a message (`PUBLISH`).
   *
   * @param channel The channel.
   * @param message The message.
   * @returns How many subscribers received it (on this node).
   *
   * @example Publishing to a subscriber, against the local emulator
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
   * const received = Promise.withResolvers<string>();
   * await using _news = await client.subscribe("news", (message) => received.resolve(message));
   * console.log(await client.publish("news", "hello")); // 1: one subscriber got it
   * console.log(await received.promise); // "hello"
   * ```
   */
  publish(channel: CommandArg, message: CommandArg): Reply<this, number> {
    return this.call(["PUBLISH", channel, message], r.integer);
  }
}
