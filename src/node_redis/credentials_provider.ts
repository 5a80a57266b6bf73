/**
 * A node-redis (v6) streaming credentials provider backed by the module's
 * token manager: every connect and reconnect gets a token valid now, and a
 * live connection is re-authenticated (node-redis sends `AUTH` when the
 * provider calls `onNext`) before the server's 12-hour cut.
 *
 * node-redis's shapes are declared here structurally; nothing is imported
 * from the `redis` package.
 *
 * @module
 */

import { AuthenticationError, CredentialsError, ReplyError } from "../errors.ts";
import { authenticationError, type AuthProvider } from "../client/handshake.ts";
import { systemTimers, type Timers } from "../client/timers.ts";

/** A user name and password as node-redis takes them (its `BasicAuth`). */
export interface NodeRedisBasicAuth {
  /** The ACL user. */
  username?: string;
  /** The password: here, the IAM auth token. */
  password?: string;
}

/** What node-redis passes to `subscribe()` (its `StreamingCredentialsListener<BasicAuth>`). */
export interface NodeRedisCredentialsListener {
  /**
   * Makes the client send `AUTH` with these credentials on its live connection.
   *
   * @param credentials The new credentials.
   */
  onNext(credentials: NodeRedisBasicAuth): void;
  /**
   * Tells the client that new credentials could not be had.
   *
   * @param error Why.
   */
  onError(error: Error): void;
}

/** The handle node-redis keeps for a subscription and disposes on `close()`, `destroy()` and `reset()`. */
export interface NodeRedisDisposable {
  /** Ends the subscription: no more `onNext` calls, no timer left behind. */
  dispose(): void;
}

/** node-redis's `StreamingCredentialsProvider`, as its `credentialsProvider` option takes it. */
export interface NodeRedisStreamingCredentialsProvider {
  /** Tells node-redis to `subscribe()` on every connect. */
  readonly type: "streaming-credentials-provider";
  /**
   * Called by node-redis on every connect and reconnect.
   *
   * @param listener Where new credentials and errors go.
   * @returns The credentials for this connection's handshake, and the subscription's handle.
   */
  subscribe(
    listener: NodeRedisCredentialsListener,
  ): Promise<[NodeRedisBasicAuth, NodeRedisDisposable]>;
  /**
   * Called by node-redis when a re-authentication failed.
   *
   * @param error What failed.
   */
  onReAuthenticationError(error: Error): void;
}

/** Options of {@linkcode nodeRedisCredentials}. */
export interface NodeRedisCredentialsOptions {
  /**
   * How long a connection stays authenticated before it is re-authenticated,
   * in milliseconds, counted from its own connect or last re-authentication.
   * ElastiCache and MemoryDB cut connections 12 hours after their last
   * authentication. `Infinity` turns re-authentication off.
   *
   * @default {39600000} (11 hours)
   */
  reauthAfter?: number;
  /**
   * How long to wait before trying again after a re-authentication failed
   * (no token could be had, or the server refused it twice), in milliseconds.
   *
   * @default {10000}
   */
  retryDelay?: number;
  /**
   * Receives re-authentication failures, with a message that explains them
   * and the underlying error as `cause`. Without it they are dropped (the
   * provider keeps retrying; the connection is cut at 12 hours at worst and
   * then reconnects with a fresh token).
   */
  onReAuthenticationError?: (error: Error) => void;
  /**
   * Names the server in error messages, such as `host:port`.
   *
   * @default {"the server"}
   */
  label?: string;
  /**
   * The timers re-authentication is scheduled with; tests pass their own.
   *
   * @default {the runtime's timers, unref'd}
   */
  timers?: Timers;
}

/**
 * The default `reauthAfter`: 11 hours, one hour before the server's 12-hour cut.
 *
 * @example
 * ```ts
 * import { DEFAULT_REAUTH_AFTER } from "./credentials_provider.ts";
 *
 * console.log(DEFAULT_REAUTH_AFTER / 3_600_000); // 11 (hours)
 * ```
 */
export const DEFAULT_REAUTH_AFTER = 11 * 60 * 60 * 1000;
/**
 * The server cuts IAM connections this long after their last authentication.
 *
 * @example `reauthAfter` must stay below it
 * ```ts
 * import { CONNECTION_MAX_AGE, nodeRedisCredentials } from "./credentials_provider.ts";
 *
 * const auth = { credentials: () => Promise.resolve({ username: "iam-user-01", password: "token" }) };
 * try {
 *   nodeRedisCredentials(auth, { reauthAfter: CONNECTION_MAX_AGE });
 * } catch (error) {
 *   console.log(error instanceof RangeError, CONNECTION_MAX_AGE / 3_600_000); // true 12
 * }
 * ```
 */
export const CONNECTION_MAX_AGE = 12 * 60 * 60 * 1000;
const DEFAULT_RETRY_DELAY = 10_000;

/**
 * Checks a `reauthAfter` option: above 0 and below {@linkcode CONNECTION_MAX_AGE},
 * or `Infinity` (no re-authentication).
 *
 * @param action What is being set up, for the error message.
 * @param value The option as given.
 * @returns The value, or {@linkcode DEFAULT_REAUTH_AFTER} when it is undefined.
 * @throws {RangeError} When it is out of range.
 */
export function reauthAfterOption(action: string, value: number | undefined): number {
  const reauthAfter = value ?? DEFAULT_REAUTH_AFTER;
  if (
    typeof reauthAfter !== "number" || Number.isNaN(reauthAfter) || reauthAfter <= 0 ||
    (reauthAfter >= CONNECTION_MAX_AGE && reauthAfter !== Infinity)
  ) {
    throw new RangeError(
      `${action}: 'reauthAfter' must be above 0 and below ${CONNECTION_MAX_AGE} ms (12 hours), ` +
        `or Infinity to turn re-authentication off, got ${reauthAfter}`,
    );
  }
  return reauthAfter;
}

/** One connection's subscription. */
interface Subscription {
  readonly listener: NodeRedisCredentialsListener;
  timer: unknown;
  /** Whether the last `onNext` used a token minted after a refusal. */
  retried: boolean;
  ended: boolean;
}

/**
 * Makes a node-redis streaming credentials provider for **one** node-redis
 * client, backed by a token manager such as `IamAuth`.
 *
 * - `subscribe()`, which node-redis calls on every connect and reconnect,
 *   answers with a token valid now.
 * - The connection is re-authenticated `reauthAfter` after its own connect
 *   and again after each re-authentication, never on a mere token refresh.
 * - node-redis subscribes again on each reconnect without disposing the
 *   previous subscription: the new subscription replaces it, so reconnects
 *   pile up neither listeners nor timers, and the `close()` / `destroy()` that
 *   disposes the last one leaves nothing behind.
 * - A token that cannot be had is reported through `onError` with the token
 *   manager's explanation (its retry policy decides when to try again); a
 *   token the server refuses is replaced by a freshly minted one once.
 *
 * Because each subscription replaces the previous one, give every node-redis
 * client its own provider: they are cheap, and they share the token
 * manager's cache. This module's `createClient` and `createCluster` do so,
 * including for every cluster node, discovery and pub/sub client; for
 * `client.duplicate()` pass `{ credentialsProvider: nodeRedisCredentials(auth) }`.
 *
 * @param auth The token manager (`IamAuth`), or any source of `{username, password}`.
 * @param options Re-authentication timing and error reporting.
 * @returns The provider, for node-redis's `credentialsProvider` option.
 * @throws {TypeError} When `auth` has no `credentials()` method.
 * @throws {RangeError} When a duration is out of range.
 *
 * @example With node-redis's own `createClient`, against the local emulator
 * ```ts
 * import { createClient } from "redis";
 * import { nodeRedisCredentials } from "./credentials_provider.ts";
 * import { IamAuth } from "../iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "../emulator/mod.ts";
 *
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
 * const client = createClient({
 *   url: `redis://${emu.gateway.hostname}:${emu.gateway.port}`, // rediss:// for ElastiCache
 *   credentialsProvider: nodeRedisCredentials(auth),
 * });
 * await client.connect();
 * console.log(await client.ping()); // "PONG"
 * await client.close();
 * ```
 */
export function nodeRedisCredentials(
  auth: AuthProvider,
  options: NodeRedisCredentialsOptions = {},
): NodeRedisCredentialsProvider {
  return new NodeRedisCredentialsProvider(auth, options);
}

/**
 * The provider {@linkcode nodeRedisCredentials} makes: a node-redis
 * `streaming-credentials-provider` for one client.
 *
 * @example
 * ```ts
 * import { NodeRedisCredentialsProvider } from "./credentials_provider.ts";
 *
 * const provider = new NodeRedisCredentialsProvider({
 *   credentials: () => Promise.resolve({ username: "iam-user-01", password: "token" }),
 * });
 * const [credentials, subscription] = await provider.subscribe({ onNext() {}, onError() {} });
 * console.log(credentials.username, provider.subscribed); // "iam-user-01" true
 * subscription.dispose();
 * console.log(provider.subscribed); // false
 * ```
 */
export class NodeRedisCredentialsProvider
  implements NodeRedisStreamingCredentialsProvider, Disposable {
  /** Tells node-redis this provider streams credentials. */
  readonly type = "streaming-credentials-provider" as const;
  readonly #auth: AuthProvider;
  readonly #reauthAfter: number;
  readonly #retryDelay: number;
  readonly #onReAuthenticationError: ((error: Error) => void) | undefined;
  readonly #label: string;
  readonly #timers: Timers;
  #current: Subscription | undefined;
  #username: string | undefined;
  #generation = 0;
  #closed = false;

  /**
   * Checks the options; nothing is fetched until node-redis subscribes.
   *
   * @param auth The token manager, or any source of `{username, password}`.
   * @param options Re-authentication timing and error reporting.
   * @throws {TypeError} When `auth` has no `credentials()` method.
   * @throws {RangeError} When a duration is out of range.
   */
  constructor(auth: AuthProvider, options: NodeRedisCredentialsOptions = {}) {
    if (auth === null || typeof auth !== "object" || typeof auth.credentials !== "function") {
      throw new TypeError(
        "Cannot create the node-redis credentials provider: 'auth' must be an IamAuth " +
          "(or an object with a credentials() method)",
      );
    }
    this.#auth = auth;
    this.#reauthAfter = reauthAfterOption(
      "Cannot create the node-redis credentials provider",
      options.reauthAfter,
    );
    const retryDelay = options.retryDelay ?? DEFAULT_RETRY_DELAY;
    if (typeof retryDelay !== "number" || !Number.isFinite(retryDelay) || retryDelay <= 0) {
      throw new RangeError(
        `Cannot create the node-redis credentials provider: 'retryDelay' must be a positive number of milliseconds, got ${retryDelay}`,
      );
    }
    this.#retryDelay = retryDelay;
    this.#onReAuthenticationError = options.onReAuthenticationError;
    this.#label = options.label ?? "the server";
    this.#timers = options.timers ?? systemTimers;
  }

  /** The user name of the credentials last handed to node-redis, for error messages; `undefined` before the first. */
  get username(): string | undefined {
    return this.#username;
  }

  /** Whether a connection is subscribed now (between its connect and its `dispose()` or replacement). */
  get subscribed(): boolean {
    return this.#current !== undefined;
  }

  /**
   * Called by node-redis on every connect and reconnect: answers with a token
   * valid now, and replaces the previous subscription (node-redis does not
   * dispose it; its connection is gone).
   *
   * @param listener node-redis's `onNext` / `onError` callbacks for this connection.
   * @returns The credentials for the handshake, and the handle node-redis disposes on close.
   * @throws {CredentialsError} When no token can be had (node-redis then retries the connection).
   * @throws {TypeError} When the provider has been disposed, or `listener` is malformed.
   */
  async subscribe(
    listener: NodeRedisCredentialsListener,
  ): Promise<[NodeRedisBasicAuth, NodeRedisDisposable]> {
    if (this.#closed) {
      throw new TypeError(
        "Cannot subscribe: this node-redis credentials provider has been disposed",
      );
    }
    if (
      listener === null || typeof listener !== "object" || typeof listener.onNext !== "function" ||
      typeof listener.onError !== "function"
    ) {
      throw new TypeError("Cannot subscribe: 'listener' must have onNext and onError functions");
    }
    // A (re)connect: whatever subscription this client had belongs to a connection that is gone.
    this.#end(this.#current);
    const generation = ++this.#generation;
    const credentials = await this.#auth.credentials();
    this.#username = credentials.username;
    const subscription: Subscription = { listener, timer: undefined, retried: false, ended: false };
    if (this.#closed || generation !== this.#generation) {
      // Disposed meanwhile, or a newer connect attempt started while this one
      // waited: this handshake's connection is abandoned. Its handle is a
      // stand-in for the newest subscription, in case node-redis keeps it.
      subscription.ended = true;
      return [toBasicAuth(credentials), { dispose: () => this.#end(this.#current) }];
    }
    this.#current = subscription;
    this.#arm(subscription, this.#reauthAfter);
    return [toBasicAuth(credentials), { dispose: () => this.#end(subscription) }];
  }

  /**
   * Called by node-redis when a re-authentication failed. When the server
   * refused the token, a freshly minted one is tried once at once; otherwise,
   * or when that fails too, the failure goes to `onReAuthenticationError` and
   * another attempt is made after `retryDelay`.
   *
   * @param error node-redis's error: `CredentialsError` when `AUTH` failed,
   *   `UnableToObtainNewCredentialsError` when the provider reported a failure (already handled).
   */
  onReAuthenticationError(error: Error): void {
    if (error?.name === "UnableToObtainNewCredentialsError") return; // Ours, reported with its cause.
    const subscription = this.#current;
    if (subscription === undefined) return; // The connection is closed or being replaced.
    const refused = isRefusal(error);
    if (refused && !subscription.retried) {
      this.#reauthenticate(subscription, true);
      return;
    }
    this.#report(
      refused
        ? authenticationError(this.#label, this.#username, new ReplyError(serverReply(error)), true)
        : new AuthenticationError(
          `Cannot re-authenticate the connection to ${this.#label}: ${error?.message ?? error}`,
          { cause: error },
        ),
    );
    this.#arm(subscription, this.#retryDelay);
  }

  /** Ends the current subscription and refuses new ones. */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#end(this.#current);
  }

  #arm(subscription: Subscription, delay: number): void {
    if (subscription.timer !== undefined) this.#timers.clearTimeout(subscription.timer);
    subscription.timer = undefined;
    if (subscription.ended || delay === Infinity) return;
    const timer = this.#timers.setTimeout(() => {
      if (subscription.timer !== timer) return;
      subscription.timer = undefined;
      this.#reauthenticate(subscription, false);
    }, delay);
    subscription.timer = timer;
    this.#timers.unref?.(timer);
  }

  async #reauthenticate(subscription: Subscription, fresh: boolean): Promise<void> {
    let credentials;
    try {
      credentials = fresh && this.#auth.refresh
        ? await this.#auth.refresh()
        : await this.#auth.credentials();
    } catch (error) {
      if (subscription.ended) return;
      const failure = error instanceof Error ? error : new CredentialsError(String(error));
      subscription.listener.onError(failure);
      this.#report(failure);
      this.#arm(subscription, this.#retryDelay);
      return;
    }
    if (subscription.ended) return;
    this.#username = credentials.username;
    subscription.retried = fresh;
    // Re-arm first: onNext may report a failure synchronously.
    this.#arm(subscription, this.#reauthAfter);
    subscription.listener.onNext(toBasicAuth(credentials));
  }

  #end(subscription: Subscription | undefined): void {
    if (subscription === undefined) return;
    subscription.ended = true;
    if (subscription.timer !== undefined) this.#timers.clearTimeout(subscription.timer);
    subscription.timer = undefined;
    if (this.#current === subscription) this.#current = undefined;
  }

  #report(error: Error): void {
    this.#onReAuthenticationError?.(error);
  }

  /** Shows the state, never a token. */
  [Symbol.for("Deno.customInspect")](): string {
    return `NodeRedisCredentialsProvider { subscribed: ${this.subscribed} }`;
  }

  /** Shows the state, never a token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `NodeRedisCredentialsProvider { subscribed: ${this.subscribed} }`;
  }
}

function toBasicAuth(credentials: { username?: string | undefined; password: string }) {
  const basic: NodeRedisBasicAuth = { password: credentials.password };
  if (credentials.username !== undefined) basic.username = credentials.username;
  return basic;
}

/** Whether node-redis's re-auth error carries the server's refusal of the token. */
function isRefusal(error: Error | undefined): boolean {
  return /\b(WRONGPASS|NOAUTH)\b/.test(error?.message ?? "");
}

/** The server's reply inside node-redis's "Re-authentication … failed: <reply>" message. */
function serverReply(error: Error): string {
  const message = error.message;
  const start = message.search(/\b(WRONGPASS|NOAUTH)\b/);
  return start === -1 ? message : message.slice(start);
}
