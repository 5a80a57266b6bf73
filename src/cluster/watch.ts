/**
 * `WATCH` on a cluster: optimistic transactions on the node of one hash slot.
 *
 * A watch lives on a connection of its own to the slot's primary, never the
 * node's shared one: on a shared connection, any transaction another caller
 * runs meanwhile (its `EXEC` ends every watch of the connection) or a
 * reconnect would silently drop the watch, and the transaction would run
 * unprotected. The connection is taken from a small pool per node, opened
 * with credentials valid at its connect, never reconnected behind the watch's
 * back (a command after a dropped connection fails), and given back when the
 * watch ends (`EXEC`, `UNWATCH`).
 *
 * @module
 */

import type { Parser } from "../client/connection.ts";
import { Commands } from "../client/commands.ts";
import { commandName } from "../client/command_rules.ts";
import { Transaction } from "../client/multi.ts";
import type { Pipeline } from "../client/pipeline.ts";
import type { RedisClient } from "../client/redis_client.ts";
import { ConnectionClosedError, ReplyError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import { commandRoute } from "./command_keys.ts";
import { type Redirect, retryLater, type Router, transient } from "./router.ts";
import { keySlot } from "./slot.ts";
import { addressKey, type ClusterNodeAddress } from "./topology.ts";

/** How many idle watch connections are kept per node for the next watches. */
const IDLE_PER_NODE = 2;

/** The watch connections of a cluster client: handed out, taken back, closed with it. */
export class WatchPool {
  readonly #router: Router;
  readonly #idle = new Map<string, RedisClient[]>();
  readonly #busy = new Set<RedisClient>();
  #closed = false;

  /** @param router The cluster client's router. */
  constructor(router: Router) {
    this.#router = router;
  }

  /**
   * Watches keys of one slot on a connection of their own to its primary,
   * following `MOVED` and `ASK`, and retrying while the slot's node cannot be
   * reached, for up to `retryTimeout`.
   *
   * @param keys The keys.
   * @returns The watch.
   */
  async watch(keys: readonly CommandArg[]): Promise<ClusterWatch> {
    const slot = watchedSlot(keys);
    const router = this.#router;
    const deadline = router.now() + router.options.retryTimeout;
    let redirect: Redirect | undefined;
    let redirections = 0;
    for (let attempt = 0;; attempt++) {
      if (this.#closed || router.closed) {
        throw new ConnectionClosedError("Cannot watch: the cluster client is closed");
      }
      const topology = await router.ready();
      const address = redirect?.address ?? topology.shardOf(slot)?.primary;
      if (address === undefined) {
        if (router.now() >= deadline) {
          throw new ReplyError(`CLUSTERDOWN Hash slot ${slot} is not served by any known node`);
        }
        await router.refresh().catch(() => {});
        await router.backoff(attempt);
        continue;
      }
      const client = this.#take(address);
      let reply: RespValue | ReplyError;
      try {
        if (!client.connected) await client.open();
        reply = await sendOn(client, ["WATCH", ...keys], false, redirect?.asking === true);
      } catch (error) {
        this.#give(client, address, false);
        if (!transient(error) || router.now() >= deadline) throw error;
        router.refreshSoon();
        redirect = undefined;
        await router.backoff(attempt);
        continue;
      }
      if (!(reply instanceof ReplyError)) {
        return new ClusterWatch(slot, this.#connection(client, address, redirect?.asking === true));
      }
      // Refused: nothing is watched on the connection.
      this.#give(client, address, true);
      const moved = router.redirected(reply, address);
      if (moved !== undefined && ++redirections <= router.options.maxRedirections) {
        redirect = moved;
        continue;
      }
      if (retryLater(reply) && router.now() < deadline) {
        redirect = undefined;
        await router.backoff(attempt);
        continue;
      }
      throw reply;
    }
  }

  /** What a watch sends through: its connection, `ASKING` first during a migration. */
  #connection(client: RedisClient, address: ClusterNodeAddress, asking: boolean): WatchConnection {
    const router = this.#router;
    const noteMoved = (reply: RespValue) => {
      if (reply instanceof ReplyError) router.redirected(reply, address);
    };
    return {
      async send(args, bytes) {
        const reply = await sendOn(client, args, bytes, asking);
        noteMoved(reply);
        return reply;
      },
      async batch(commands, bytes) {
        const pipeline = client.pipeline();
        // ASKING before MULTI lasts for the whole transaction.
        if (asking) pipeline.send(["ASKING"]);
        commands.forEach((args, i) =>
          pipeline.send([...args], {
            bytes: typeof bytes === "boolean" ? bytes : bytes[i] === true,
          })
        );
        const replies = await execRaw(pipeline);
        if (asking) replies.shift();
        replies.forEach(noteMoved);
        return replies;
      },
      release: (reusable) => this.#give(client, address, reusable),
    };
  }

  #take(address: ClusterNodeAddress): RedisClient {
    const idle = this.#idle.get(addressKey(address));
    const client = idle?.pop() ?? this.#router.dedicatedClient(address);
    this.#busy.add(client);
    return client;
  }

  #give(client: RedisClient, address: ClusterNodeAddress, reusable: boolean): void {
    this.#busy.delete(client);
    const key = addressKey(address);
    const idle = this.#idle.get(key) ?? [];
    if (reusable && !this.#closed && client.connected && idle.length < IDLE_PER_NODE) {
      idle.push(client);
      this.#idle.set(key, idle);
    } else {
      client.close().catch(() => {});
    }
  }

  /**
   * Closes every watch connection, idle or not; watches still open end
   * (their later commands fail).
   *
   * @returns Resolves when they are closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#busy, ...[...this.#idle.values()].flat()];
    this.#busy.clear();
    this.#idle.clear();
    await Promise.all(all.map((client) => client.close()));
  }
}

/**
 * The connection a {@linkcode ClusterWatch} sends through, made by the
 * cluster client: the watched keys' node, after `ASKING` while their slot
 * is being migrated to it.
 */
export interface WatchConnection {
  /**
   * Sends one command.
   *
   * @param args The command.
   * @param bytes Decode bulk strings as bytes.
   * @returns The reply; an error reply is returned, not thrown.
   */
  send(args: readonly CommandArg[], bytes: boolean): Promise<RespValue | ReplyError>;
  /**
   * Sends commands in one write.
   *
   * @param commands The commands.
   * @param bytes For all, or per command, decode bulk strings as bytes.
   * @returns One reply per command; error replies stay in the array.
   */
  batch(
    commands: readonly (readonly CommandArg[])[],
    bytes: boolean | readonly boolean[],
  ): Promise<RespValue[]>;
  /**
   * Gives the connection back when the watch ended.
   *
   * @param reusable Whether it may serve another watch (else it is closed).
   */
  release(reusable: boolean): void;
}

/**
 * Keys watched (`WATCH`) on a connection of their own to the primary of
 * their hash slot, made by `cluster.watch(...keys)`. Its command methods run
 * on that connection (read the watched keys here, on the primary, never on a
 * replica that may lag behind); `multi()` starts the transaction that `EXEC`
 * runs only if no watched key changed since the `WATCH`. The watch ends with
 * the transaction's `exec()`, with {@linkcode ClusterWatch.unwatch}, or when
 * disposed: end it, or its connection stays taken until the client closes.
 *
 * Commands must have their keys in the watched slot: others are refused with
 * a `TypeError` before anything is sent. If the connection drops, the watch
 * is lost with it: later commands fail with a `ConnectionClosedError`, and
 * nothing runs unwatched.
 *
 * @example Against the local emulator in cluster mode
 * ```ts
 * import { connectCluster } from "./client.ts";
 * import { IamAuth } from "../iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
 *
 * // An IAM user whose keys may connect to the emulator's cache.
 * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
 * await using emu = await startEmulator({
 *   cluster: { shards: 2, replicasPerShard: 0 },
 *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
 * });
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: keys,
 * });
 * await using cluster = await connectCluster({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
 * await cluster.set("{account:7}:balance", "100");
 *
 * // Withdraw 30 unless the balance changed between the read and the write.
 * await using watch = await cluster.watch("{account:7}:balance");
 * const balance = Number(await watch.get("{account:7}:balance"));
 * const [left] = await watch.multi().decrby("{account:7}:balance", 30).exec();
 * console.log(balance, left); // 100 70
 * ```
 */
export class ClusterWatch extends Commands implements AsyncDisposable {
  readonly #slot: number;
  readonly #conn: WatchConnection;
  #ended = false;

  /**
   * Made by `cluster.watch()`, once the server confirmed the `WATCH`.
   *
   * @param slot The watched keys' hash slot.
   * @param connection The connection they are watched on.
   */
  constructor(slot: number, connection: WatchConnection) {
    super((args, parse, bytes) => this.#run(args, parse, bytes));
    this.#slot = slot;
    this.#conn = connection;
  }

  /** The hash slot of the watched keys. */
  get slot(): number {
    return this.#slot;
  }

  /** Whether the watch is still on: no `exec()`, `unwatch()` or dispose yet. */
  get active(): boolean {
    return !this.#ended;
  }

  async #run(args: CommandArg[], parse: Parser | undefined, bytes: boolean): Promise<unknown> {
    this.#usable(commandName(args));
    this.#checkSlot(args, "");
    const reply = await this.#conn.send(args, bytes);
    if (reply instanceof ReplyError) throw reply;
    return parse === undefined ? reply : parse(reply);
  }

  /**
   * Starts the transaction: `MULTI`, its commands and `EXEC` in one write on
   * the watch's connection, when `exec()` is called. Its commands' keys must
   * be in the watched slot. `exec()` ends the watch, whatever its outcome.
   *
   * @returns An empty transaction.
   * @example
   * ```ts ignore
   * const [n] = await watch.multi().incr("{order:7}:n").exec(); // ReplyError EXECABORT if a watched key changed
   * ```
   */
  multi(): Transaction {
    return new Transaction(async (commands, bytes) => {
      this.#usable("a transaction");
      for (const args of commands.slice(1, -1)) this.#checkSlot(args, " in a watched transaction");
      this.#ended = true;
      let replies: RespValue[];
      try {
        replies = await this.#conn.batch(commands, bytes);
      } catch (error) {
        this.#conn.release(false);
        throw error;
      }
      // EXEC (run or aborted) ended the watch on the server too.
      this.#conn.release(true);
      return replies;
    });
  }

  /**
   * Ends the watch without a transaction (`UNWATCH`) and gives its connection back.
   *
   * @returns Resolves when done (at once if the watch had ended).
   * @example
   * ```ts ignore
   * if (balance < 30) await watch.unwatch();
   * ```
   */
  async unwatch(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    let reply: RespValue | ReplyError;
    try {
      reply = await this.#conn.send(["UNWATCH"], false);
    } catch {
      // The connection is gone, and the watch with it.
      this.#conn.release(false);
      return;
    }
    this.#conn.release(!(reply instanceof ReplyError));
  }

  /**
   * Same as {@linkcode ClusterWatch.unwatch}, for `await using`.
   *
   * @returns Resolves when done.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.unwatch();
  }

  #usable(what: string): void {
    if (this.#ended) {
      throw new TypeError(
        `Cannot send ${what} on this watch: it ended (exec(), unwatch() or dispose); call cluster.watch() again`,
      );
    }
  }

  #checkSlot(args: readonly CommandArg[], where: string): void {
    const name = commandName(args);
    const route = commandRoute(args);
    if (name === "WATCH" || name === "UNWATCH" || name === "MULTI" || name === "EXEC") {
      throw new TypeError(
        `Cannot send ${name} on a watch${where}: watch every key in cluster.watch(...keys), then use watch.multi() and exec(), or watch.unwatch()`,
      );
    }
    if (route.kind === "unsupported") {
      throw new TypeError(`Cannot send ${name} on a watch${where}: ${route.reason}`);
    }
    if (route.kind === "all") {
      throw new TypeError(
        `Cannot send ${name} on a watch${where}: it runs on every primary; send it through the cluster client`,
      );
    }
    if (route.kind !== "keys") return;
    for (const key of route.keys) {
      const slot = keySlot(keyText(key));
      if (slot !== this.#slot) {
        throw new TypeError(
          `Cannot send ${name} on a watch${where}: ${
            showKey(key)
          } is in hash slot ${slot}, the watched keys in ${this.#slot}; a watch runs on one node: give keys that belong together a hash tag, such as {user:1}:a and {user:1}:b`,
        );
      }
    }
  }
}

/**
 * The one slot of keys to watch.
 *
 * @param keys The keys.
 * @returns Their slot.
 * @throws {TypeError} Without keys, or when they are in different slots.
 */
export function watchedSlot(keys: readonly CommandArg[]): number {
  if (
    !Array.isArray(keys) || keys.length === 0 ||
    keys.some((key) => typeof key !== "string" && !(key instanceof Uint8Array))
  ) {
    throw new TypeError("Cannot watch: give one or more keys (strings or bytes)");
  }
  const slots = new Map<number, CommandArg>();
  for (const key of keys) {
    const slot = keySlot(keyText(key));
    if (!slots.has(slot)) slots.set(slot, key);
  }
  if (slots.size > 1) {
    const list = [...slots].map(([slot, key]) => `${showKey(key)} in ${slot}`).join(", ");
    throw new TypeError(
      `Cannot watch keys in different hash slots (${list}): a watch and its transaction run on one node; give keys that belong together a hash tag, such as {user:1}:a and {user:1}:b`,
    );
  }
  return slots.keys().next().value!;
}

/** Sends a command, after `ASKING` when asked to; error replies are returned. */
async function sendOn(
  client: RedisClient,
  args: readonly CommandArg[],
  bytes: boolean,
  asking: boolean,
): Promise<RespValue | ReplyError> {
  if (asking) {
    const replies = await execRaw(client.pipeline().send(["ASKING"]).send([...args], { bytes }));
    return replies[1] ?? null;
  }
  try {
    return await client.send([...args], { bytes });
  } catch (error) {
    if (error instanceof ReplyError) return error;
    throw error;
  }
}

function execRaw(pipeline: Pipeline<unknown[]>): Promise<RespValue[]> {
  return pipeline.exec({ keepErrors: true }) as Promise<RespValue[]>;
}

function keyText(key: CommandArg): string | Uint8Array {
  return typeof key === "number" ? String(key) : key;
}

function showKey(key: CommandArg): string {
  if (key instanceof Uint8Array) return `a ${key.length}-byte key`;
  const text = String(key);
  return `'${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`;
}
