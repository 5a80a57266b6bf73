/**
 * The client class, one for every runtime: without a `transport` option it
 * uses the runtime's sockets (Deno's, or `node:net`/`node:tls` on Node.js and
 * Bun, loaded on first connect); on Workers, `./cloudflare`'s `connect` passes
 * `cloudflare:sockets`.
 *
 * @module
 */

import { Commands, type Key, type ScanMatchOptions, type ScanOptions } from "./commands.ts";
import { ConnectionClosedError, TimeoutError } from "../errors.ts";
import { ok } from "./replies.ts";
import { scanHash, scanKeys, scanSet, scanSortedSet } from "./scan_iterators.ts";
import { Transaction } from "./multi.ts";
import { type BatchSender, Pipeline } from "./pipeline.ts";
import { type MessageListener, type PatternListener, PubSub, type Subscription } from "./pubsub.ts";
import { type ConnectOptions, resolveOptions } from "./options.ts";
import { ReplicaReads } from "./replica_reads.ts";
import { Session } from "./session.ts";
import { BlockingConnections } from "./blocking.ts";
import { commandRule, PLAIN } from "./command_rules.ts";
import { defaultTransport } from "../transport/default_transport.ts";

/**
 * A client for one Redis, Valkey, ElastiCache or MemoryDB endpoint, over one
 * multiplexed connection. Every command method returns a promise of its reply.
 *
 * Made with {@linkcode connect} (which opens the connection first), or with
 * `new RedisClient(options)`, which connects on the first command. After the
 * connection drops, the next command reopens it with fresh credentials;
 * commands that were waiting on the dropped connection fail with a
 * `ConnectionClosedError` and are never resent. With `replicaReads`, reads
 * go over a second connection, to the cache's reader endpoint. Blocking
 * commands (`BLPOP`, `XREAD … BLOCK`, …) run on connections of their own, so
 * that they never hold up the commands sent meanwhile (see `./blocking.ts`).
 *
 * @example A client with its own transport; it connects on the first command
 * ```ts
 * import { RedisClient } from "./redis_client.ts";
 * import { denoTransport } from "../transport/deno.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1", port: 6379, transport: denoTransport });
 * console.log(client.connected); // false: nothing is opened before a command
 * await client.close();
 * ```
 */
export class RedisClient extends Commands implements AsyncDisposable {
  readonly #session: Session;
  readonly #pubsub: PubSub;
  readonly #batch: BatchSender;
  /** With `replicaReads`: the reader endpoint's session, and which commands go there. */
  readonly #replicas: ReplicaReads | undefined;
  /** The connections blocking commands run on. */
  readonly #blocking: BlockingConnections;
  /** The options the client was made with, for `duplicate()`. */
  readonly #options: ConnectOptions;

  /**
   * Creates a client without connecting: the first command connects.
   *
   * @param options Where and how to connect; see {@linkcode ConnectOptions}.
   * @throws {TypeError} When an option has the wrong type, or no transport is given or known.
   * @throws {RangeError} When a number is out of range.
   *
   * @example
   * ```ts ignore
   * const client = new RedisClient({ host: "127.0.0.1" });
   * await client.ping(); // connects now
   * await client.close();
   * ```
   */
  constructor(options: ConnectOptions) {
    super((args, parse, bytes) => {
      const session = this.#replicas?.route(args) ?? this.#session;
      const rule = commandRule(args);
      return rule === PLAIN
        ? session.run(args, parse, bytes)
        : this.#blocking.send(rule, args, parse, bytes, session);
    });
    const resolved = resolveOptions(options, defaultTransport);
    this.#options = options;
    this.#pubsub = new PubSub();
    this.#session = new Session(resolved, this.#pubsub);
    this.#pubsub.attach(this.#session);
    this.#blocking = new BlockingConnections(this.#session);
    const replicas = resolved.reader && new ReplicaReads(this.#session, resolved.reader);
    this.#replicas = replicas;
    this.#batch = replicas === undefined
      ? (commands, bytes) => this.#blocking.batch(commands, bytes)
      : (commands, bytes) => {
        replicas.follow(commands);
        return this.#blocking.batch(commands, bytes);
      };
  }

  /**
   * Whether the client has an open, authenticated connection right now (to
   * the endpoint; with `replicaReads`, the reader's opens on the first read).
   *
   * @returns `true` when connected.
   */
  get connected(): boolean {
    return this.#session.connected;
  }

  /**
   * Opens the connection now if it is not open.
   *
   * @returns Resolves when connected and authenticated.
   * @throws {AuthenticationError} When the server refused the credentials (after one fresh token).
   * @throws {ConnectionClosedError} When the socket could not be opened (refused, TLS error…).
   * @throws {TimeoutError} When connecting took longer than `connectTimeout`.
   *
   * @example
   * ```ts ignore
   * await client.open();
   * ```
   */
  open(): Promise<void> {
    if (this.#session.connected) return Promise.resolve();
    return this.#session.open();
  }

  /**
   * Starts a pipeline: commands queued on it are sent in one write by `exec()`.
   *
   * @returns An empty pipeline.
   * @example
   * ```ts ignore
   * const [a, b] = await client.pipeline().get("a").get("b").exec(); // [string | null, string | null]
   * ```
   */
  pipeline(): Pipeline {
    return new Pipeline(this.#batch);
  }

  /**
   * Starts a transaction: commands queued on it are sent as `MULTI … EXEC` in one write.
   *
   * @returns An empty transaction.
   * @example
   * ```ts ignore
   * await client.multi().set("a", "1").incr("n").exec();
   * ```
   */
  multi(): Transaction {
    return new Transaction(this.#batch);
  }

  /**
   * Walks every key with `SCAN`, page by page as the loop asks for them,
   * yielding each key. Every key present for the whole walk is yielded; a key
   * may be yielded more than once (when the server resizes its table during
   * the walk): collect into a `Set` when that matters. Leaving the loop early
   * sends nothing more.
   *
   * @param options `match` (a glob pattern), `count` (a hint of keys per
   * page), `type` (`string`, `hash`, `list`, `set`, `zset`, `stream`).
   * @returns The keys, for `for await`.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When `count` is not a positive integer.
   *
   * @example Scan iterators, against the local emulator
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
   * await client.mset({ "user:1": "Ada", "user:2": "Grace", "order:1": "tea" });
   * const users = new Set<string>();
   * for await (const key of client.scanIterator({ match: "user:*", count: 100 })) users.add(key);
   * console.log([...users].sort()); // ["user:1", "user:2"]
   *
   * await client.hset("user:1:profile", { name: "Ada", lang: "en" });
   * for await (const [field, value] of client.hscanIterator("user:1:profile")) {
   *   console.log(field, value); // "name" "Ada", then "lang" "en"
   * }
   * await client.sadd("tags", "aws", "iam");
   * for await (const member of client.sscanIterator("tags", { match: "a*" })) console.log(member); // "aws"
   * await client.zadd("scores", { score: 1.5, member: "ada" });
   * for await (const [member, score] of client.zscanIterator("scores")) console.log(member, score); // "ada" 1.5
   * ```
   */
  scanIterator(options?: ScanOptions): AsyncGenerator<string, void, undefined> {
    return scanKeys(this as RedisClient, options);
  }

  /**
   * Walks every field of a hash with `HSCAN`, yielding `[field, value]`
   * pairs; a field may come more than once (see
   * {@linkcode RedisClient.scanIterator}).
   *
   * Shown with the scan iterators in the example of {@linkcode RedisClient.scanIterator}.
   *
   * @param key The hash.
   * @param options `match` (a glob pattern of fields), `count`.
   * @returns The fields and values, for `for await`.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  hscanIterator(
    key: Key,
    options?: ScanMatchOptions,
  ): AsyncGenerator<[field: string, value: string], void, undefined> {
    return scanHash(this as RedisClient, key, options);
  }

  /**
   * Walks every member of a set with `SSCAN`; a member may come more than
   * once (see {@linkcode RedisClient.scanIterator}).
   *
   * Shown with the scan iterators in the example of {@linkcode RedisClient.scanIterator}.
   *
   * @param key The set.
   * @param options `match` (a glob pattern of members), `count`.
   * @returns The members, for `for await`.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When `count` is not a positive integer.
   */
  sscanIterator(key: Key, options?: ScanMatchOptions): AsyncGenerator<string, void, undefined> {
    return scanSet(this as RedisClient, key, options);
  }

  /**
   * Walks every member of a sorted set with `ZSCAN`, yielding
   * `[member, score]` pairs; a member may come more than once (see
   * {@linkcode RedisClient.scanIterator}).
   *
   * Shown with the scan iterators in the example of {@linkcode RedisClient.scanIterator}.
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
    return scanSortedSet(this as RedisClient, key, options);
  }

  /**
   * Sends `QUIT`, then closes the client as {@linkcode RedisClient.close}
   * does: commands sent before get their replies, later ones fail as after
   * `close()`. Without an open connection nothing is sent (none is opened
   * to say goodbye).
   *
   * @returns `OK`, also when the server closed the connection before answering.
   * @throws {ConnectionClosedError} When the client was closed already.
   *
   * @example
   * ```ts
   * import { RedisClient } from "./redis_client.ts";
   * import { denoTransport } from "../transport/deno.ts";
   *
   * const client = new RedisClient({ host: "127.0.0.1", transport: denoTransport });
   * console.log(await client.quit()); // "OK": nothing was open, nothing is sent
   * console.log(await client.ping().catch((error) => error.name)); // "ConnectionClosedError"
   * ```
   */
  async quit(): Promise<"OK"> {
    if (this.#session.closed || !this.#session.connected) {
      // Closed: QUIT fails as any command does after close(). Not connected: only close.
      if (this.#session.closed) await this.#session.run(["QUIT"]);
      await this.close();
      return "OK";
    }
    const reply = this.#session.run(["QUIT"], ok);
    const closing = this.close();
    try {
      return await reply;
    } catch (error) {
      // The server may close the connection before its OK reaches us: the client is closed as asked.
      if (error instanceof ConnectionClosedError || error instanceof TimeoutError) return "OK";
      throw error;
    } finally {
      await closing;
    }
  }

  /**
   * Subscribes to channels (`SUBSCRIBE`) on the client's connection. Needs
   * RESP3 (the default), where the same connection keeps running commands.
   * Subscriptions are restored after a reconnect.
   *
   * @param channels A channel or channels.
   * @param listener Called with each message and its channel.
   * @returns The subscription, to unsubscribe or dispose.
   * @throws {TypeError} With `protocol: 2`, or without channel names.
   *
   * @example
   * ```ts ignore
   * await using sub = await client.subscribe("news", (message, channel) => { … });
   * await client.publish("news", "hello");
   * ```
   */
  subscribe(
    channels: string | readonly string[],
    listener: MessageListener,
  ): Promise<Subscription> {
    return this.#pubsub.subscribe(typeof channels === "string" ? [channels] : channels, listener);
  }

  /**
   * Subscribes to channel patterns (`PSUBSCRIBE`), as {@linkcode RedisClient.subscribe}.
   *
   * @param patterns A glob pattern or patterns, such as `news.*`.
   * @param listener Called with each message, its channel and the matching pattern.
   * @returns The subscription.
   * @throws {TypeError} With `protocol: 2`, or without patterns.
   *
   * @example
   * ```ts ignore
   * await using sub = await client.psubscribe("news.*", (message, channel, pattern) => { … });
   * ```
   */
  psubscribe(
    patterns: string | readonly string[],
    listener: PatternListener,
  ): Promise<Subscription> {
    return this.#pubsub.psubscribe(typeof patterns === "string" ? [patterns] : patterns, listener);
  }

  /**
   * Makes a new client with the same options (and so the same `auth`, whose
   * tokens it shares): a connection of its own, opened on its first command.
   * Blocking commands need no duplicate (they run on connections of their
   * own); a client for a long-lived `MULTI`/`WATCH` session, or one whose
   * `commandTimeout` differs, may.
   *
   * @returns The new client, not connected yet; close it on its own.
   * @example
   * ```ts
   * import { RedisClient } from "./redis_client.ts";
   * import { denoTransport } from "../transport/deno.ts";
   *
   * await using client = new RedisClient({ host: "127.0.0.1", transport: denoTransport });
   * await using copy = client.duplicate();
   * console.log(copy !== client, copy.connected); // true false
   * ```
   */
  duplicate(): RedisClient {
    return new RedisClient(this.#options);
  }

  /**
   * Closes the client: waits for the replies of commands already sent, then
   * closes the socket (with `replicaReads`, both sockets) and clears every
   * timer. Blocking commands still waiting fail at once with a
   * `ConnectionClosedError`, and their connections close. Later commands fail.
   *
   * @returns Resolves when the socket is closed.
   * @example
   * ```ts ignore
   * await client.close();
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([
      this.#session.close(),
      this.#replicas?.close(),
      this.#blocking.close(),
    ]);
  }

  /**
   * Same as {@linkcode RedisClient.close}, for `await using`.
   *
   * @returns Resolves when the socket is closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** What `console.log` and `Deno.inspect` show: the endpoint, never credentials. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#describe();
  }

  /** What Node's `util.inspect` shows: the endpoint, never credentials. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.#describe();
  }

  #describe(): string {
    const o = this.#session.options;
    const state = this.#session.closed ? "closed" : this.#session.connected ? "connected" : "idle";
    const reader = this.#replicas === undefined ? "" : `, reads from ${this.#replicas.address}`;
    return `RedisClient { ${o.label}${reader}, tls: ${o.tls}, resp${o.protocol}, ${state} }`;
  }
}
