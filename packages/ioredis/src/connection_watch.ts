/**
 * The authentication lifecycle of one ioredis connection (a `Redis` client,
 * or one node connection of a `Cluster`), followed through the client's own
 * events: the token ioredis sends at each connect is kept out of inspect
 * output, the live connection is re-authenticated on its own schedule
 * (`ConnectionAuth` from the core, as every client of this module), the
 * stored token is refreshed when the connection closes, and the lifecycle
 * events are published. `attachIamAuth` watches its client with one;
 * `attachIamAuthCluster`, each connection its cluster opens.
 *
 * @module
 */

import {
  AUTH_STEP_TIMEOUT,
  type AuthCredentials,
  type ConnectionAuth,
  isRefusal,
  publish,
  type Reauthentication,
  withTimeout,
} from "@elasticache-iam/connector/internal";
import { TimeoutError } from "@elasticache-iam/connector";
import { conceal, redacted, redactEmittedErrors } from "./redaction.ts";
import type { IoredisClient } from "./types.ts";

/** What a {@linkcode ConnectionWatch} asks of the helper that owns it. */
export interface WatchOwner {
  /** The connection's authentication: its label, re-authentication timing, where failures go. */
  readonly auth: ConnectionAuth;
  /**
   * Keeps credentials a re-authentication sent, for the next connect.
   *
   * @param credentials What was sent.
   */
  store(credentials: AuthCredentials): void;
  /**
   * The connection closed: replace the stored token.
   *
   * @param fresh Whether to mint a new one (the last may have been refused).
   */
  closed(fresh: boolean): void;
  /**
   * When given, each connect of the client waits, while its socket opens,
   * for these credentials, and its handshake sends them (rather than the
   * ones its options held when the connect began).
   *
   * @returns Credentials valid now.
   */
  connectCredentials?(): Promise<AuthCredentials>;
  /** The client ended: it will not connect again. */
  ended(): void;
  /**
   * Whether a connection that closed before it was ready gets a freshly
   * minted token only when its token was refused (a cluster, whose nodes
   * come and go during a failover), rather than always.
   */
  readonly freshOnlyAfterRefusal: boolean;
  /**
   * Whether closes are told apart by who closed (`client`: `quit()` or
   * `disconnect()`; `server`: anything else), rather than by whether ioredis
   * reconnects (`server`) or not (`client`). A cluster's node connections
   * never reconnect: ioredis replaces them.
   */
  readonly closesByWho: boolean;
}

/**
 * Follows one ioredis connection's lifecycle; `start()` it before the
 * connection's first connect, `stop()` it to leave the client as it was.
 *
 * @example Watching a client that never connects
 * ```ts
 * import { EventEmitter } from "node:events";
 * import { ConnectionAuth } from "@elasticache-iam/connector/internal";
 * import { ConnectionWatch } from "./connection_watch.ts";
 *
 * const client = Object.assign(new EventEmitter(), {
 *   options: {},
 *   status: "wait",
 *   connect: () => Promise.resolve(),
 *   auth: () => Promise.resolve("OK"),
 * });
 * const auth = new ConnectionAuth({
 *   provider: { credentials: () => Promise.resolve({ password: "token" }) },
 *   reauthAfter: false,
 *   label: "127.0.0.1:6379",
 *   timers: { setTimeout, clearTimeout },
 *   now: Date.now,
 * });
 * const watch = new ConnectionWatch(client, {
 *   auth,
 *   store: () => {},
 *   closed: () => {},
 *   ended: () => {},
 *   freshOnlyAfterRefusal: false,
 *   closesByWho: false,
 * });
 * watch.start();
 * console.log(client.listenerCount("ready")); // 1
 * watch.stop();
 * console.log(client.listenerCount("ready")); // 0
 * ```
 */
export class ConnectionWatch {
  readonly #client: IoredisClient;
  readonly #owner: WatchOwner;
  #live: Reauthentication | undefined;
  #wasReady = false;
  /** Whether the client was ready once: a later ready is a reconnect. */
  #readyBefore = false;
  /** Connection attempts since the client was last ready. */
  #attempts = 0;
  /** Whether the server refused the token since the last connect attempt began. */
  #refused = false;
  /** Whether `quit()` or `disconnect()` was called since the last connect attempt began. */
  #closing = false;
  #started = false;
  #stopped = false;
  #restore: (() => void)[] = [];

  /**
   * Makes the watch; nothing happens until `start()`.
   *
   * @param client The ioredis or iovalkey client (or node connection).
   * @param owner The helper it reports to.
   */
  constructor(client: IoredisClient, owner: WatchOwner) {
    this.#client = client;
    this.#owner = owner;
  }

  /** `host:port` of the connection, as events and messages name it. */
  get label(): string {
    return this.#owner.auth.options.label;
  }

  /** The last re-authentication failure of the current connection, until a re-authentication succeeds. */
  get failure(): Error | undefined {
    return this.#live?.failure;
  }

  /** Adds the listeners and wraps what the watch needs to see. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const client = this.#client;
    client.on("connecting", this.#onConnecting);
    client.on("ready", this.#onReady);
    client.on("close", this.#onClose);
    client.on("end", this.#onEnd);
    client.on("reconnecting", this.#onReconnecting);
    this.#restore.push(
      redactEmittedErrors(client as { emit?: (event: string, ...args: unknown[]) => unknown }, (
        error,
      ) => {
        if (isRefusal(error)) this.#refused = true;
      }),
    );
    if (this.#owner.closesByWho) this.#followManualCloses();
    const fetch = this.#owner.connectCredentials;
    if (fetch !== undefined) this.#gateConnects(() => fetch.call(this.#owner));
  }

  /** Stops re-authenticating and removes everything `start()` added; the client itself stays as it is. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const client = this.#client;
    client.removeListener("connecting", this.#onConnecting);
    client.removeListener("ready", this.#onReady);
    client.removeListener("close", this.#onClose);
    client.removeListener("end", this.#onEnd);
    client.removeListener("reconnecting", this.#onReconnecting);
    this.#live?.end();
    this.#live = undefined;
    for (const restore of this.#restore.splice(0)) restore();
  }

  /**
   * ioredis sets `manuallyClosing` when `quit()` or `disconnect()` is called,
   * and clears it before it emits `close`: an accessor remembers it.
   */
  #followManualCloses(): void {
    const client = this.#client as unknown as Record<string, unknown>;
    const descriptor = Object.getOwnPropertyDescriptor(client, "manuallyClosing");
    if (descriptor !== undefined && !("value" in descriptor)) return;
    let value = descriptor?.value;
    Object.defineProperty(client, "manuallyClosing", {
      configurable: true,
      enumerable: descriptor?.enumerable ?? true,
      get: () => value,
      set: (next: unknown) => {
        value = next;
        if (next === true) this.#closing = true;
      },
    });
    this.#restore.push(() => {
      Object.defineProperty(client, "manuallyClosing", {
        configurable: true,
        enumerable: descriptor?.enumerable ?? true,
        writable: true,
        value,
      });
    });
  }

  /**
   * ioredis builds the handshake from the options when a connect begins, then
   * opens the socket (`connector.connect()`) and sends it once the socket is
   * open. The connector is wrapped so that ioredis sees the socket only once
   * `fetch` has answered (bounded by `AUTH_STEP_TIMEOUT`; the socket opens
   * meanwhile), and the handshake sends that answer: a token valid when the
   * connection opens, even after the process was paused or the clock
   * stepped. On failure the credentials from the options go, and a refusal
   * mints anew.
   */
  #gateConnects(fetch: () => Promise<AuthCredentials>): void {
    const client = this.#client;
    const connector = (client as { connector?: { connect?: unknown } }).connector;
    const connect = connector?.connect;
    if (connector === undefined || typeof connect !== "function") return;
    const { timers } = this.#owner.auth.options;
    const gated = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const condition = client.condition;
      const answer = withTimeout(
        fetch(),
        AUTH_STEP_TIMEOUT,
        timers,
        () => new TimeoutError(`the auth provider did not answer within ${AUTH_STEP_TIMEOUT} ms`),
      ).then(
        (credentials) => {
          if (
            condition === null || typeof condition !== "object" || client.condition !== condition
          ) {
            return;
          }
          const username = credentials.username ?? client.options.username;
          condition.auth = username !== undefined && username !== ""
            ? [username, credentials.password]
            : credentials.password;
        },
        () => {},
      );
      return (connect as (...args: unknown[]) => Promise<unknown>).apply(this, args).then(
        async (stream) => {
          await answer;
          return stream;
        },
      );
    };
    connector.connect = gated;
    this.#restore.push(() => {
      if (connector.connect === gated) delete connector.connect;
    });
  }

  /** ioredis copied the token into `condition.auth` for the handshake: keep it out of inspect there too. */
  #onConnecting = (): void => {
    this.#refused = false;
    this.#closing = false;
    publish({ type: "connection:connect", server: this.label, attempt: ++this.#attempts });
    const condition = this.#client.condition;
    if (condition !== null && typeof condition === "object" && "auth" in condition) {
      conceal(condition, "auth");
    }
  };

  #onReady = (): void => {
    this.#wasReady = true;
    this.#live?.end();
    const auth = this.#owner.auth;
    // ioredis writes a MULTI block in one go (its default), so an AUTH queued
    // by client.auth() never lands inside it.
    this.#live = auth.authenticated(auth.options.now(), async (credentials) => {
      if (this.#client.status === "end") {
        // Its `end` never came (ioredis removed every listener of a
        // connection it dropped, as a cluster's sharded subscribers).
        this.#onEnd();
        return;
      }
      this.#owner.store(credentials);
      const username = credentials.username ?? this.#client.options.username ?? "default";
      try {
        // ioredis has no command timeout by default: the answer is bounded here.
        await withTimeout(
          this.#client.auth(username, credentials.password),
          AUTH_STEP_TIMEOUT,
          auth.options.timers,
          () =>
            new TimeoutError(
              `Cannot re-authenticate the connection to ${this.label}: no answer within ${AUTH_STEP_TIMEOUT} ms`,
            ),
        );
      } catch (error) {
        throw redacted(error);
      }
    });
    if (this.#readyBefore) {
      publish({ type: "reconnect:succeeded", server: this.label, attempts: this.#attempts });
    }
    this.#readyBefore = true;
    this.#attempts = 0;
  };

  #onClose = (): void => {
    this.#live?.end();
    this.#live = undefined;
    if (this.#wasReady) {
      // Without `closesByWho`: ioredis emits `close` a tick after it decided,
      // `end` when it will not reconnect (quit(), disconnect(), or a
      // retryStrategy that gave up).
      const byClient = this.#owner.closesByWho ? this.#closing : this.#client.status === "end";
      publish({
        type: "connection:closed",
        server: this.label,
        reason: byClient ? "client" : "server",
        error: undefined,
      });
    }
    // A connection that closed before it was ready may have had its token
    // refused: mint anew. (ioredis reports the refusal itself, as an `error` event.)
    const fresh = !this.#wasReady && (this.#refused || !this.#owner.freshOnlyAfterRefusal);
    this.#wasReady = false;
    this.#owner.closed(fresh);
  };

  #onReconnecting = (delay: unknown): void => {
    publish({
      type: "reconnect:scheduled",
      server: this.label,
      attempt: this.#attempts + 1,
      delayMs: typeof delay === "number" ? delay : 0,
      reason: undefined,
    });
  };

  #onEnd = (): void => {
    this.stop();
    this.#owner.ended();
  };
}
