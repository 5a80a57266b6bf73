/**
 * The thin cluster client: the thin client's command API over a Redis
 * Cluster, such as an ElastiCache replication group with cluster mode
 * enabled, an ElastiCache Serverless cache, or a MemoryDB cluster.
 *
 * It discovers the topology with `CLUSTER SHARDS` (falling back to
 * `CLUSTER SLOTS`), routes each command to the primary of its keys' hash
 * slot, follows `MOVED` (and refreshes the topology) and `ASK` (with
 * `ASKING`), refuses multi-key commands whose keys are in different slots
 * before sending them, keeps one lazily opened connection per node, each
 * authenticated with credentials valid at its own connect time (a fresh IAM
 * token after a failover or a node restart, never the first one minted), and
 * re-authenticates each before the 12-hour cut. Subscriptions (classic and
 * sharded), cluster-wide scans and watched transactions follow the slots'
 * nodes through failovers and migrations.
 *
 * @example
 * ```ts ignore
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { connectCluster } from "@elasticache-iam/connector/cluster";
 *
 * const auth = new IamAuth({ replicationGroupId: "my-cluster", userId: "my-user", region: "us-east-1", credentials: fromEnv() });
 * await using cluster = await connectCluster({
 *   host: "clustercfg.my-cluster.xxxxxx.use1.cache.amazonaws.com",
 *   auth,
 * });
 * await cluster.set("{user:1}:name", "Ada");
 * console.log(await cluster.mget("{user:1}:name", "{user:1}:email"));
 * ```
 *
 * @module
 */

import type { ConnectOptions } from "../client/options.ts";
import { Commands } from "../client/commands.ts";
import { Transaction } from "../client/multi.ts";
import { Pipeline } from "../client/pipeline.ts";
import type { ClusterNodeAddress, ClusterShardInfo } from "./topology.ts";
import { connectArguments, expandUrl } from "../client/url_options.ts";
import { Router, type RouterOptions } from "./router.ts";
import type { Key, ScanOptions } from "../client/commands.ts";
import type { MessageListener, PatternListener, Subscription } from "../client/pubsub.ts";
import { integer as integerReply } from "../client/replies.ts";
import { scanArgs } from "../client/scan_iterators.ts";
import { ClusterPubSub } from "./pubsub.ts";
import { scanCluster } from "./scan.ts";
import { scanClusterKey } from "./key_scan.ts";
import type { ScanMatchOptions } from "../client/scan_iterators.ts";
import { hashScanPage, scanPage, zsetScanPage } from "../client/replies.ts";
import { type ClusterWatch, WatchPool } from "./watch.ts";

export type { ClusterNodeAddress, ClusterNodeInfo, ClusterShardInfo } from "./topology.ts";

/** Options of {@linkcode connectCluster}. */
export interface ConnectClusterOptions
  extends Omit<ConnectOptions, "host" | "port" | "db" | "reconnect" | "readerEndpoint"> {
  /**
   * A node to discover the cluster from: the configuration endpoint of an
   * ElastiCache cluster, the endpoint of a serverless cache, or any node.
   * Give it or `url`.
   */
  host?: string;
  /**
   * Its port.
   *
   * @default {6379}
   */
  port?: number;
  /**
   * More nodes to discover the cluster from when `host` does not answer.
   *
   * @default {[]}
   */
  seeds?: readonly { host: string; port?: number }[];
  /**
   * Send read-only single commands (`GET`, `HGETALL`, …) to the slot's
   * replicas (with `READONLY`), in turn, instead of its primary. Replicas
   * replicate asynchronously: a read may not see a write that just succeeded.
   * Pipelines and transactions always go to primaries.
   *
   * @default {false}
   */
  replicaReads?: boolean;
  /**
   * How many `MOVED` / `ASK` redirections one command follows before its
   * error reply is returned.
   *
   * @default {16}
   */
  maxRedirections?: number;
  /**
   * How long a command keeps trying, in ms, while its slot's node cannot be
   * reached or the cluster answers `CLUSTERDOWN`, `TRYAGAIN`, `LOADING` or
   * `MASTERDOWN` (during a failover, a node restart or a resharding): the
   * topology is read again and the command retried with backoff. Commands
   * whose connection dropped after they were sent are retried only if they
   * only read.
   *
   * @default {10000}
   */
  retryTimeout?: number;
}

/**
 * A client for a Redis Cluster: the same command methods as `RedisClient`,
 * each routed to the node that serves its keys. Made with
 * {@linkcode connectCluster}, or with `new ClusterClient(options)`, which
 * discovers the cluster on the first command.
 *
 * Commands that run on every primary (`DBSIZE` sums, `KEYS` concatenates,
 * `FLUSHDB`, `SCRIPT LOAD`/`FLUSH`/`EXISTS`) do so. Pub/sub, a scan of
 * every key and `WATCH` have methods of their own (`subscribe`,
 * `psubscribe`, `ssubscribe`, `scanIterator`, `watch`); sent as commands,
 * they are refused with a `TypeError` naming the method, as `SELECT` is.
 *
 * @example Made without connecting
 * ```ts
 * import { ClusterClient } from "./client.ts";
 *
 * const cluster = new ClusterClient({ host: "clustercfg.my-cluster.xxxxxx.use1.cache.amazonaws.com" });
 * console.log(cluster.shards()); // []: the first command discovers the cluster
 * await cluster.close();
 * ```
 */
export class ClusterClient extends Commands implements AsyncDisposable {
  readonly #router: Router;
  /** Subscriptions, made on the first `subscribe`, `psubscribe` or `ssubscribe`. */
  #pubsub: ClusterPubSub | undefined;
  /** Watch connections, made on the first `watch`. */
  #watchPool: WatchPool | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Creates a client without connecting: the first command discovers the cluster.
   *
   * @param options Where to discover the cluster and how to connect to its nodes.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When a number is out of range.
   *
   * @example
   * ```ts ignore
   * const cluster = new ClusterClient({ host: "127.0.0.1", port: 7000 });
   * await cluster.ping();
   * await cluster.close();
   * ```
   */
  constructor(options: ConnectClusterOptions) {
    super((args, parse, bytes) => {
      const reply = this.#router.run(args, bytes);
      return parse === undefined ? reply : reply.then(parse);
    });
    this.#router = new Router(resolveClusterOptions(options));
  }

  /**
   * The shards as the client last read them: slot ranges, primary and replicas.
   *
   * @returns The shards; empty before discovery.
   *
   * @example
   * ```ts ignore
   * for (const shard of cluster.shards()) console.log(shard.slots, shard.primary.port);
   * ```
   */
  shards(): readonly ClusterShardInfo[] {
    return this.#router.shards;
  }

  /**
   * Discovers the cluster now (if not done yet).
   *
   * @returns Resolves when the topology is known.
   * @throws {ConnectionClosedError} When no seed node answered.
   * @throws {AuthenticationError} When a node refused the credentials.
   *
   * @example
   * ```ts ignore
   * await cluster.open();
   * ```
   */
  async open(): Promise<void> {
    if (this.#router.shards.length === 0) await this.#router.refresh();
  }

  /**
   * Reads the topology again now. The client also does so by itself after
   * `MOVED`, `CLUSTERDOWN` and unreachable nodes.
   *
   * @returns Resolves when the topology is fresh.
   * @throws {ConnectionClosedError} When no node answered.
   *
   * @example
   * ```ts ignore
   * await cluster.refreshTopology();
   * ```
   */
  refreshTopology(): Promise<void> {
    return this.#router.refresh();
  }

  /**
   * Starts a pipeline: its commands are grouped by node, each group sent in
   * one write; replies come back in the order the commands were queued.
   * Commands redirected meanwhile (`MOVED`, `ASK`) are sent again one by one.
   *
   * @returns An empty pipeline.
   *
   * @example
   * ```ts ignore
   * const [a, b] = await cluster.pipeline().get("a").get("b").exec(); // [string | null, string | null]
   * ```
   */
  pipeline(): Pipeline {
    return new Pipeline((commands, bytes) => this.#router.batch(commands, bytes));
  }

  /**
   * Starts a transaction: `MULTI … EXEC` on the node of its keys, which must
   * all be in one hash slot (use a hash tag such as `{order:7}`).
   *
   * @returns An empty transaction.
   *
   * @example
   * ```ts ignore
   * await cluster.multi().incr("{order:7}:n").set("{order:7}:at", "now").exec();
   * ```
   */
  multi(): Transaction {
    return new Transaction((commands, bytes) => this.#router.transaction(commands, bytes));
  }

  /**
   * Watches keys (`WATCH`) for an optimistic transaction, on a connection of
   * its own to the primary of their hash slot: read them with the watch's
   * command methods, then `watch.multi()…exec()` runs only if none changed
   * meanwhile (else it throws a `ReplyError` `EXECABORT`; run the whole step
   * again). The keys must share a slot (give them a hash tag).
   *
   * @param keys The keys, all in one hash slot.
   * @returns The watch, once the server confirmed it; end it with its
   * transaction's `exec()`, `unwatch()`, or `await using`.
   * @throws {TypeError} Without keys, or with keys in different hash slots
   * (naming them and their slots), before anything is sent.
   * @throws {ConnectionClosedError} When the slot's node stayed unreachable for `retryTimeout`.
   *
   * Run against the emulator in the example of {@linkcode ClusterWatch}.
   *
   * @example
   * ```ts ignore
   * await using watch = await cluster.watch("{account:7}:balance");
   * const balance = Number(await watch.get("{account:7}:balance"));
   * await watch.multi().set("{account:7}:balance", String(balance - 30)).exec();
   * ```
   */
  async watch(...keys: Key[]): Promise<ClusterWatch> {
    this.#watchPool ??= new WatchPool(this.#router);
    return await this.#watchPool.watch(keys);
  }

  /**
   * Subscribes to channels (`SUBSCRIBE`), as the thin client does: in a
   * cluster a `PUBLISH` reaches every node, so the channels live on one
   * node's subscriber connection (a connection of its own, authenticated,
   * and re-authenticated before the 12-hour cut), and move to another node
   * when that node fails or leaves the cluster. Needs RESP3 (the default).
   *
   * @param channels A channel or channels.
   * @param listener Called with each message and its channel.
   * @returns The subscription, once the server confirmed it; unsubscribe or dispose it.
   * @throws {TypeError} With `protocol: 2`, or without channel names.
   *
   * @example Channels and shard channels, against the local emulator in cluster mode
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
   *
   * const news = Promise.withResolvers<string>();
   * await using _news = await cluster.subscribe("news", (message) => news.resolve(message));
   * await cluster.publish("news", "hello");
   * console.log(await news.promise); // "hello"
   *
   * // A shard channel lives on the primary of its slot; SPUBLISH goes there too.
   * const chat = Promise.withResolvers<string>();
   * await using _chat = await cluster.ssubscribe("{room:1}:chat", (message) => chat.resolve(message));
   * console.log(await cluster.spublish("{room:1}:chat", "hi"), await chat.promise); // 1 "hi"
   * ```
   */
  subscribe(
    channels: string | readonly string[],
    listener: MessageListener,
  ): Promise<Subscription> {
    return this.#subscriptions().subscribe("channels", channels, listener);
  }

  /**
   * Subscribes to channel patterns (`PSUBSCRIBE`), as {@linkcode ClusterClient.subscribe}.
   *
   * @param patterns A glob pattern or patterns, such as `news.*`.
   * @param listener Called with each message, its channel and the matching pattern.
   * @returns The subscription.
   * @throws {TypeError} With `protocol: 2`, or without patterns.
   *
   * @example
   * ```ts ignore
   * await using sub = await cluster.psubscribe("news.*", (message, channel, pattern) => {});
   * ```
   */
  psubscribe(
    patterns: string | readonly string[],
    listener: PatternListener,
  ): Promise<Subscription> {
    return this.#subscriptions().subscribe("patterns", patterns, listener);
  }

  /**
   * Subscribes to shard channels (`SSUBSCRIBE`, Redis 7): each channel is
   * served by the primary of its hash slot, where it is subscribed (channels
   * of several slots go to their own nodes), and followed when the slot
   * moves (`MOVED`, a failover, a slot migration: the node's `sunsubscribe`
   * or the next topology read) and after a reconnect. Messages published
   * (`spublish`) while a slot moves may be lost, as in Redis itself; none is
   * lost once the subscription is back on the slot's new primary.
   *
   * @param channels A shard channel or channels.
   * @param listener Called with each message and its channel.
   * @returns The subscription, once every channel's node confirmed it.
   * @throws {TypeError} With `protocol: 2`, or without channel names.
   *
   * Shown with `subscribe` in the example of {@linkcode ClusterClient.subscribe}.
   *
   * @example
   * ```ts ignore
   * await using sub = await cluster.ssubscribe("{room:1}:chat", (message) => console.log(message));
   * await cluster.spublish("{room:1}:chat", "hi");
   * ```
   */
  ssubscribe(
    channels: string | readonly string[],
    listener: MessageListener,
  ): Promise<Subscription> {
    return this.#subscriptions().subscribe("shard", channels, listener);
  }

  /**
   * Publishes a message to a shard channel (`SPUBLISH`, Redis 7), on the
   * primary of the channel's hash slot.
   *
   * @param channel The shard channel.
   * @param message The message.
   * @returns How many subscribers of that shard received it.
   *
   * @example
   * ```ts ignore
   * console.log(await cluster.spublish("{room:1}:chat", "hi")); // 1
   * ```
   */
  async spublish(channel: string | Uint8Array, message: string | Uint8Array): Promise<number> {
    return integerReply(await this.#router.run(["SPUBLISH", channel, message], false));
  }

  /**
   * Walks every key of the cluster: `SCAN` on each primary in turn, for
   * `for await`. A topology change during the walk (a failover, a slot
   * migration) skips no key of a slot that stayed put: slots whose node
   * changed during their node's scan are scanned again where they are then.
   * A key may be yielded **more than once** (`SCAN` repeats keys when a
   * node resizes its table, and a slot scanned again repeats its keys):
   * collect into a `Set` when that matters.
   *
   * @param options `match` (a glob pattern), `count` (a hint of keys per
   * call), `type` (such as `hash`).
   * @returns The keys.
   * @throws {TypeError} When an option has the wrong type (at once, before anything is sent).
   * @throws {RangeError} When `count` is not a positive integer.
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
   *
   * // Keys in every slot range, so on both shards.
   * for (let i = 0; i < 100; i++) await cluster.set(`user:${i}`, "…");
   * await cluster.set("order:1", "tea");
   * const users = new Set<string>(); // a key may come twice: a Set keeps one
   * for await (const key of cluster.scanIterator({ match: "user:*", count: 50 })) users.add(key);
   * console.log(users.size); // 100
   * ```
   */
  scanIterator(options?: ScanOptions): AsyncGenerator<string, void, undefined> {
    return scanCluster(this.#router, scanArgs("Cannot scan the cluster", options, true));
  }

  /**
   * Walks every field of a hash with `HSCAN` on the primary of its slot,
   * yielding `[field, value]` pairs. The walk follows the key when its slot
   * moves (a failover, a migration): the new node's walk starts again from
   * the beginning, so no field present throughout is skipped, and fields may
   * come more than once (`HSCAN` itself may repeat one): collect into a `Map`
   * when that matters.
   *
   * @param key The hash.
   * @param options `match` (a glob pattern of fields), `count`.
   * @returns The fields and values, for `for await`.
   * @throws {TypeError} When an option has the wrong type (at once, before anything is sent).
   * @throws {RangeError} When `count` is not a positive integer.
   *
   * @example Scan iterators of one key, against the local emulator in cluster mode
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
   * await cluster.hset("user:1", { name: "Ada", lang: "en" });
   * const fields = new Map<string, string>();
   * for await (const [field, value] of cluster.hscanIterator("user:1")) fields.set(field, value);
   * console.log(fields.get("name")); // "Ada"
   * await cluster.sadd("tags", "aws", "iam");
   * for await (const tag of cluster.sscanIterator("tags", { match: "i*" })) console.log(tag); // "iam"
   * await cluster.zadd("scores", { score: 2, member: "ada" });
   * for await (const [member, score] of cluster.zscanIterator("scores")) console.log(member, score); // "ada" 2
   * ```
   */
  hscanIterator(
    key: Key,
    options?: ScanMatchOptions,
  ): AsyncGenerator<[field: string, value: string], void, undefined> {
    const args = scanArgs("Cannot scan hash", options, false);
    return scanClusterKey(this.#router, "HSCAN", key, args, hashScanPage);
  }

  /**
   * Walks every member of a set with `SSCAN`, following the key when its
   * slot moves, as {@linkcode ClusterClient.hscanIterator} does; a member
   * may come more than once.
   *
   * Shown with the scan iterators in the example of {@linkcode ClusterClient.hscanIterator}.
   *
   * @param key The set.
   * @param options `match` (a glob pattern of members), `count`.
   * @returns The members, for `for await`.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  sscanIterator(key: Key, options?: ScanMatchOptions): AsyncGenerator<string, void, undefined> {
    const args = scanArgs("Cannot scan set", options, false);
    return scanClusterKey(this.#router, "SSCAN", key, args, scanPage);
  }

  /**
   * Walks every member of a sorted set with `ZSCAN`, yielding
   * `[member, score]` pairs, following the key when its slot moves, as
   * {@linkcode ClusterClient.hscanIterator} does; a member may come more than once.
   *
   * Shown with the scan iterators in the example of {@linkcode ClusterClient.hscanIterator}.
   *
   * @param key The sorted set.
   * @param options `match` (a glob pattern of members), `count`.
   * @returns The members and scores, for `for await`.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  zscanIterator(
    key: Key,
    options?: ScanMatchOptions,
  ): AsyncGenerator<[member: string, score: number], void, undefined> {
    const args = scanArgs("Cannot scan sorted set", options, false);
    return scanClusterKey(this.#router, "ZSCAN", key, args, zsetScanPage);
  }

  #subscriptions(): ClusterPubSub {
    this.#pubsub ??= new ClusterPubSub(this.#router);
    return this.#pubsub;
  }

  /**
   * Closes every node connection after the replies already on their way.
   * Commands waiting to be retried fail.
   *
   * @returns Resolves when everything is closed.
   *
   * @example
   * ```ts ignore
   * await cluster.close();
   * ```
   */
  close(): Promise<void> {
    // The router first: it refuses new subscriptions and watches at once.
    this.#closing ??= Promise.all([
      this.#router.close(),
      this.#pubsub?.close(),
      this.#watchPool?.close(),
    ]).then(() => {});
    return this.#closing;
  }

  /**
   * Same as {@linkcode ClusterClient.close}, for `await using`.
   *
   * @returns Resolves when everything is closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** What `console.log` and `Deno.inspect` show: the seed and the shards, never credentials. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#describe();
  }

  /** What Node's `util.inspect` shows. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.#describe();
  }

  #describe(): string {
    const state = this.#router.closed ? "closed" : `${this.#router.shards.length} shard(s)`;
    return `ClusterClient { ${this.#router.label}, tls: ${this.#router.tls}, ${state} }`;
  }
}

/**
 * Discovers a Redis Cluster and returns a ready client. Node connections
 * open on first use, each with credentials that are valid at that moment.
 *
 * @param target The configuration (or serverless) endpoint's URL
 * (`rediss://USER@HOST:PORT`: the user is the IAM user id, the cache's name
 * and region are read from the host), or all the options.
 * @param options After a URL, the other options; as one object: where to
 * discover the cluster (`url`, or `host`, `port`, `seeds`), and every option
 * of `connect` for the node connections (`auth`, `tls`, `caCerts`, `transport`, …).
 * @returns The client; dispose it (or call `close()`) when done.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 * @throws {ConnectionClosedError} When no seed node answered.
 * @throws {AuthenticationError} When a node refused the credentials, also after a fresh token.
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
 * await cluster.mset({ "{user:1}:name": "Ada", "{user:1}:lang": "en" });
 * console.log(await cluster.mget("{user:1}:name", "{user:1}:lang")); // ["Ada", "en"]
 * console.log(cluster.shards().length); // 2
 * ```
 */
export async function connectCluster(
  target: string | ConnectClusterOptions,
  options?: Omit<ConnectClusterOptions, "url">,
): Promise<ClusterClient> {
  const client = new ClusterClient(
    connectArguments("Cannot connect to the cluster", target, options),
  );
  try {
    await client.open();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

function resolveClusterOptions(options: ConnectClusterOptions): RouterOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot connect to the cluster: options must be an object`);
  }
  options = expandUrl("Cannot connect to the cluster", options);
  const {
    host,
    port,
    seeds = [],
    replicaReads = false,
    maxRedirections = 16,
    retryTimeout = 10_000,
    ...rest
  } = options as ConnectClusterOptions & {
    db?: unknown;
    reconnect?: unknown;
    readerEndpoint?: unknown;
  };
  const { db, reconnect, readerEndpoint, ...node } = rest;
  if (db !== undefined || reconnect !== undefined) {
    throw new TypeError(
      `Cannot connect to the cluster: '${
        db !== undefined ? "db" : "reconnect"
      }' does not apply (a cluster has database 0 only; the cluster client reconnects by itself)`,
    );
  }
  if (readerEndpoint !== undefined) {
    throw new TypeError(
      "Cannot connect to the cluster: 'readerEndpoint' does not apply (with replicaReads, the " +
        "cluster client reads from the replicas the cluster lists)",
    );
  }
  const all: ClusterNodeAddress[] = [seed(host, port, "host"), ...checkSeeds(seeds)];
  if (typeof replicaReads !== "boolean") {
    throw new TypeError(
      `Cannot connect to the cluster: 'replicaReads' must be a boolean, got ${typeof replicaReads}`,
    );
  }
  integer("maxRedirections", maxRedirections, 0, 1000);
  integer("retryTimeout", retryTimeout, 0, 3_600_000);
  return { seeds: all, node, replicaReads, maxRedirections, retryTimeout };
}

function checkSeeds(seeds: readonly { host: string; port?: number }[]): ClusterNodeAddress[] {
  if (!Array.isArray(seeds)) {
    throw new TypeError(`Cannot connect to the cluster: 'seeds' must be an array`);
  }
  return seeds.map((s, i) => seed(s?.host, s?.port, `seeds[${i}].host`));
}

function seed(host: unknown, port: unknown, what: string): ClusterNodeAddress {
  if (typeof host !== "string" || host.length === 0) {
    throw new TypeError(
      `Cannot connect to the cluster: '${what}' must be a non-empty string, got ${
        typeof host === "string" ? "''" : String(host)
      }`,
    );
  }
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return { host: bare, port: integer("port", port ?? 6379, 1, 65535) };
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot connect to the cluster: '${name}' must be an integer from ${min} to ${max}, got ${
        String(value)
      }`,
    );
  }
  return value;
}
