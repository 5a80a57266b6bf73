/**
 * Pub/sub over RESP3: `SUBSCRIBE` and `PSUBSCRIBE` on the client's own
 * connection (RESP3 lets it keep running other commands), messages arriving
 * as push frames and handed to listeners, subscriptions restored after a
 * reconnect.
 *
 * @module
 */

import type { Push, RespValue } from "../resp/types.ts";
import type { Connection } from "./connection.ts";
import { text } from "./replies.ts";
import type { Session, SessionHooks } from "./session.ts";

/**
 * Receives a message published to a subscribed channel.
 *
 * @param message The message.
 * @param channel The channel it was published to.
 */
export type MessageListener = (message: string, channel: string) => void;

/**
 * Receives a message published to a channel matching a subscribed pattern.
 *
 * @param message The message.
 * @param channel The channel it was published to.
 * @param pattern The pattern that matched.
 */
export type PatternListener = (message: string, channel: string, pattern: string) => void;

type Listener = (message: string, channel: string, pattern: string) => void;

/** One kind of subscription: channels (`SUBSCRIBE`) or patterns (`PSUBSCRIBE`). */
class Registry {
  readonly listeners = new Map<string, Set<Listener>>();
  constructor(readonly subscribe: string, readonly unsubscribe: string) {}
}

/**
 * A listener's subscription to channels or patterns. Dispose it (or call
 * {@linkcode Subscription.unsubscribe}) to stop receiving messages.
 *
 * @example Against the local emulator
 * ```ts
 * import { connect } from "../client.ts";
 * import { IamAuth } from "../iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
 *
 * // An IAM user whose keys may connect to the emulator's cache.
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
 * await using subscription = await client.subscribe("news", (message) => received.resolve(message));
 * await client.publish("news", "hello");
 * console.log(subscription.names, await received.promise); // ["news"] "hello"
 * ```
 */
export class Subscription implements AsyncDisposable {
  readonly #names: readonly string[];
  readonly #leave: () => Promise<void>;
  #left: Promise<void> | undefined;

  /**
   * Made by `client.subscribe()` and `client.psubscribe()`.
   *
   * @param names The channels or patterns.
   * @param leave Removes the listener.
   */
  constructor(names: readonly string[], leave: () => Promise<void>) {
    this.#names = names;
    this.#leave = leave;
  }

  /** The channels (or patterns) subscribed to. */
  get names(): readonly string[] {
    return this.#names;
  }

  /**
   * Removes the listener; channels no listener wants any more are unsubscribed on the server.
   *
   * @returns Resolves once the server confirmed (or at once when disconnected).
   * @example
   * ```ts ignore
   * await subscription.unsubscribe();
   * ```
   */
  unsubscribe(): Promise<void> {
    this.#left ??= this.#leave();
    return this.#left;
  }

  /**
   * Same as {@linkcode Subscription.unsubscribe}.
   *
   * @returns Resolves once unsubscribed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.unsubscribe();
  }
}

/** Tracks subscriptions and dispatches pub/sub push frames to their listeners. */
export class PubSub implements SessionHooks {
  readonly #channels = new Registry("SUBSCRIBE", "UNSUBSCRIBE");
  readonly #patterns = new Registry("PSUBSCRIBE", "PUNSUBSCRIBE");
  #session: Session | undefined;
  #report: (error: unknown) => void = () => {};

  /**
   * Connects the registry to its session (they refer to each other).
   *
   * @param session The client's session.
   */
  attach(session: Session): void {
    this.#session = session;
    this.#report = (error) => session.report(error);
  }

  /**
   * Subscribes a listener to channels.
   *
   * @param names The channels.
   * @param listener Called with each message.
   * @returns The subscription.
   */
  subscribe(names: readonly string[], listener: MessageListener): Promise<Subscription> {
    // A wrapper per call, so that each subscription is removed on its own.
    return this.#add(this.#channels, names, (message, channel) => listener(message, channel));
  }

  /**
   * Subscribes a listener to glob patterns.
   *
   * @param names The patterns.
   * @param listener Called with each message.
   * @returns The subscription.
   */
  psubscribe(names: readonly string[], listener: PatternListener): Promise<Subscription> {
    return this.#add(
      this.#patterns,
      names,
      (message, channel, pattern) => listener(message, channel, pattern),
    );
  }

  async #add(
    registry: Registry,
    names: readonly string[],
    listener: Listener,
  ): Promise<Subscription> {
    const session = this.#session!;
    if (session.options.protocol !== 3) {
      throw new TypeError(
        "Cannot subscribe: pub/sub on the client's connection needs protocol: 3 (RESP3)",
      );
    }
    const list = [...new Set(names)];
    if (list.length === 0 || list.some((name) => typeof name !== "string")) {
      throw new TypeError("Cannot subscribe: give one or more channel names as strings");
    }
    const fresh: string[] = [];
    for (const name of list) {
      let set = registry.listeners.get(name);
      if (set === undefined) {
        set = new Set();
        registry.listeners.set(name, set);
        fresh.push(name);
      }
      set.add(listener);
    }
    const leave = () => this.#remove(registry, list, listener);
    if (fresh.length > 0) {
      try {
        await session.use((conn) => conn.subscribe([registry.subscribe, ...fresh], fresh.length));
      } catch (error) {
        await leave().catch(() => {});
        throw error;
      }
    }
    return new Subscription(list, leave);
  }

  async #remove(registry: Registry, names: readonly string[], listener: Listener): Promise<void> {
    const gone: string[] = [];
    for (const name of names) {
      const set = registry.listeners.get(name);
      if (set === undefined || !set.delete(listener)) continue;
      if (set.size === 0) {
        registry.listeners.delete(name);
        gone.push(name);
      }
    }
    const session = this.#session!;
    if (gone.length === 0 || !session.connected || session.closed) return;
    await session.use((conn) => conn.subscribe([registry.unsubscribe, ...gone], gone.length));
  }

  /**
   * Hands a pub/sub message to its listeners.
   *
   * @param push The push frame.
   * @returns `true` when it was a pub/sub message.
   */
  onPush(push: Push): boolean {
    if (push.kind === "message") {
      const [channel, message] = push.data;
      this.#dispatch(this.#channels, text(channel!), text(channel!), message!);
      return true;
    }
    if (push.kind === "pmessage") {
      const [pattern, channel, message] = push.data;
      this.#dispatch(this.#patterns, text(pattern!), text(channel!), message!);
      return true;
    }
    return false;
  }

  #dispatch(registry: Registry, name: string, channel: string, message: RespValue): void {
    const set = registry.listeners.get(name);
    if (set === undefined) return;
    const payload = text(message);
    for (const listener of set) {
      try {
        listener(payload, channel, name);
      } catch (error) {
        this.#report(error);
      }
    }
  }

  /**
   * Subscribes a new connection to every channel and pattern that has listeners.
   *
   * @param conn The connection, just authenticated.
   */
  onConnect(conn: Connection): void {
    for (const registry of [this.#channels, this.#patterns]) {
      const names = [...registry.listeners.keys()];
      if (names.length === 0) continue;
      conn.subscribe([registry.subscribe, ...names], names.length).catch((error) =>
        this.#report(error)
      );
    }
  }

  /**
   * Whether a dropped connection must be reopened at once.
   *
   * @returns `true` while any listener is subscribed.
   */
  needsConnection(): boolean {
    return this.#channels.listeners.size > 0 || this.#patterns.listeners.size > 0;
  }
}
