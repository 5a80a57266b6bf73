/**
 * The client class, one for every runtime: without a `transport` option it
 * uses the runtime's sockets (Deno's, or `node:net`/`node:tls` on Node.js and
 * Bun, loaded on first connect); on Workers, `./cloudflare`'s `connect` passes
 * `cloudflare:sockets`.
 *
 * @module
 */

import { Commands } from "./commands.ts";
import { Transaction } from "./multi.ts";
import { type BatchSender, Pipeline } from "./pipeline.ts";
import { type MessageListener, type PatternListener, PubSub, type Subscription } from "./pubsub.ts";
import { type ConnectOptions, resolveOptions } from "./options.ts";
import { ReplicaReads } from "./replica_reads.ts";
import { Session } from "./session.ts";
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
 * go over a second connection, to the cache's reader endpoint.
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
    super((args, parse, bytes) =>
      (this.#replicas?.route(args) ?? this.#session).run(args, parse, bytes)
    );
    const resolved = resolveOptions(options, defaultTransport);
    this.#pubsub = new PubSub();
    this.#session = new Session(resolved, this.#pubsub);
    this.#pubsub.attach(this.#session);
    const replicas = resolved.reader && new ReplicaReads(this.#session, resolved.reader);
    this.#replicas = replicas;
    this.#batch = replicas === undefined
      ? (commands, bytes) => this.#session.batch(commands, bytes)
      : (commands, bytes) => {
        replicas.follow(commands);
        return this.#session.batch(commands, bytes);
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
   * Closes the client: waits for the replies of commands already sent, then
   * closes the socket (with `replicaReads`, both sockets) and clears every
   * timer. Later commands fail.
   *
   * @returns Resolves when the socket is closed.
   * @example
   * ```ts ignore
   * await client.close();
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([this.#session.close(), this.#replicas?.close()]);
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
