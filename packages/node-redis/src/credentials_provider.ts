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

import {
  type AuthCredentials,
  type AuthProvider,
  backgroundTimers,
  ConnectionAuth,
  reauthAfterOption,
  type Reauthentication,
  type Timers,
} from "@elasticache-iam/connector/internal";
import type { AuthenticationError } from "@elasticache-iam/connector";

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

/** Options of {@linkcode iamCredentialsProvider}. */
export interface IamCredentialsProviderOptions {
  /**
   * How long a connection stays authenticated before it is re-authenticated,
   * in milliseconds, counted from its own connect or last re-authentication:
   * above 0 and at most 42600000 (11 h 50 min), since ElastiCache and MemoryDB
   * cut connections 12 hours after their last authentication; `false` turns
   * re-authentication off. The same rule as every client of this module.
   *
   * @default {39600000} (11 hours)
   */
  reauthAfter?: number | false;
  /**
   * Receives re-authentication failures, with a message that explains them
   * and the underlying error as `cause`. A failed re-authentication is
   * retried after a backoff of 1 s doubling up to 60 s, as in every client of
   * this module.
   *
   * @default {none: the last failure stays readable as the provider's `failure`
   * (`createIamClient` and `createIamCluster` report failures as
   * `error` events instead)}
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
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** One connection's subscription. */
interface Subscription {
  readonly listener: NodeRedisCredentialsListener;
  live: Reauthentication | undefined;
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
 * manager's cache. `createIamClient` and `createIamCluster` do so,
 * including for every cluster node, discovery and pub/sub client; for
 * `client.duplicate()` pass `{ credentialsProvider: iamCredentialsProvider(auth) }`.
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
 * import { iamCredentialsProvider } from "./credentials_provider.ts";
 * import { IamAuth } from "@elasticache-iam/connector";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
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
 *   credentialsProvider: iamCredentialsProvider(auth),
 * });
 * await client.connect();
 * console.log(await client.ping()); // "PONG"
 * await client.close();
 * ```
 */
export function iamCredentialsProvider(
  auth: AuthProvider,
  options: IamCredentialsProviderOptions = {},
): IamCredentialsProvider {
  return new IamCredentialsProvider(auth, options);
}

/** node-redis's `ClientClosedError` message, which it hands on as a `CredentialsError`'s. */
const CLIENT_CLOSED = "The client is closed";

/**
 * The provider {@linkcode iamCredentialsProvider} makes: a node-redis
 * `streaming-credentials-provider` for one client.
 *
 * @example
 * ```ts
 * import { IamCredentialsProvider } from "./credentials_provider.ts";
 *
 * const provider = new IamCredentialsProvider({
 *   credentials: () => Promise.resolve({ username: "iam-user-01", password: "token" }),
 * });
 * const [credentials, subscription] = await provider.subscribe({ onNext() {}, onError() {} });
 * console.log(credentials.username, provider.subscribed); // "iam-user-01" true
 * subscription.dispose();
 * console.log(provider.subscribed); // false
 * ```
 */
export class IamCredentialsProvider implements NodeRedisStreamingCredentialsProvider, Disposable {
  /** Tells node-redis this provider streams credentials. */
  readonly type = "streaming-credentials-provider" as const;
  readonly #auth: ConnectionAuth;
  #current: Subscription | undefined;
  #generation = 0;
  #closed = false;
  /** Aborted on dispose: ends a `subscribe()` waiting on the provider, and its timer. */
  readonly #stop = new AbortController();

  /**
   * Checks the options; nothing is fetched until node-redis subscribes.
   *
   * @param auth The token manager, or any source of `{username, password}`.
   * @param options Re-authentication timing and error reporting.
   * @throws {TypeError} When `auth` has no `credentials()` method.
   * @throws {RangeError} When `reauthAfter` is out of range.
   */
  constructor(auth: AuthProvider, options: IamCredentialsProviderOptions = {}) {
    const action = "Cannot create the node-redis credentials provider";
    if (auth === null || typeof auth !== "object" || typeof auth.credentials !== "function") {
      throw new TypeError(
        `${action}: 'auth' must be an IamAuth (or an object with a credentials() method)`,
      );
    }
    this.#auth = new ConnectionAuth({
      provider: auth,
      reauthAfter: reauthAfterOption(action, options.reauthAfter),
      label: options.label ?? "the server",
      timers: options.timers ?? backgroundTimers,
      now: options.now ?? Date.now,
      onError: options.onReAuthenticationError,
    });
  }

  /** The user name of the credentials last handed to node-redis, for error messages; `undefined` before the first. */
  get username(): string | undefined {
    return this.#auth.username;
  }

  /** The current connection's last re-authentication failure, until a re-authentication succeeds. */
  get failure(): Error | undefined {
    return this.#current?.live?.failure;
  }

  /** Whether a connection is subscribed now (between its connect and its `dispose()` or replacement). */
  get subscribed(): boolean {
    return this.#current !== undefined;
  }

  /**
   * Called by node-redis on every connect and reconnect: answers with a token
   * valid now (a freshly minted one after {@linkcode refused}), and replaces
   * the previous subscription (node-redis does not dispose it; its connection
   * is gone). A provider that does not answer within 30 s fails it.
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
    const { now } = this.#auth.options;
    const credentials = await this.#auth.boundedHandshakeCredentials(this.#stop.signal);
    const subscription: Subscription = { listener, live: undefined, ended: false };
    if (this.#closed || generation !== this.#generation) {
      // Disposed meanwhile, or a newer connect attempt started while this one
      // waited: this handshake's connection is abandoned. Its handle is a
      // stand-in for the newest subscription, in case node-redis keeps it.
      subscription.ended = true;
      return [toBasicAuth(credentials), { dispose: () => this.#end(this.#current) }];
    }
    this.#current = subscription;
    // node-redis sends AUTH for onNext (never inside its MULTI blocks) and
    // reports a failure through onReAuthenticationError.
    subscription.live = this.#auth.authenticated(now(), (fresh) => {
      listener.onNext(toBasicAuth(fresh));
    });
    return [toBasicAuth(credentials), { dispose: () => this.#end(subscription) }];
  }

  /**
   * Called by node-redis when a re-authentication failed: a refused token is
   * replaced by a freshly minted one at once; otherwise, or when that is
   * refused too, the failure goes to `onReAuthenticationError` and another
   * attempt follows after a backoff.
   *
   * @param error node-redis's error: `CredentialsError` when `AUTH` failed,
   *   `UnableToObtainNewCredentialsError` when the provider reported a failure (already handled).
   */
  onReAuthenticationError(error: Error): void {
    if (error?.name === "UnableToObtainNewCredentialsError") return; // Ours, reported with its cause.
    if (error?.message === CLIENT_CLOSED) {
      // A re-auth reached a client closed without disposing its subscription
      // (node-redis 5's close() with nothing pending): its connection is gone.
      this.end();
      return;
    }
    this.#current?.live?.failed(error instanceof Error ? error : new Error(String(error)));
  }

  /**
   * Tells the provider that the server refused the token of a connect
   * (`WRONGPASS`), for a reconnect strategy: the next `subscribe()` then
   * answers with a freshly minted token, once.
   *
   * @param refusal The server's refusal, as node-redis reported it.
   * @returns `undefined` when a fresh token will be tried; the
   *   `AuthenticationError` with the likely causes when a fresh token was refused too.
   */
  refused(refusal: Error): AuthenticationError | undefined {
    return this.#auth.handshakeRefused(refusal);
  }

  /**
   * Ends the current connection's subscription and its re-authentication
   * timer, as node-redis's handle does on `close()`; the provider stays usable
   * for a later connect. For clients whose `close()` skips the handle
   * (node-redis 5 with no command pending): `createIamClient` calls it on the
   * client's `end` event.
   *
   * @example
   * ```ts
   * import { iamCredentialsProvider } from "./credentials_provider.ts";
   *
   * const provider = iamCredentialsProvider({
   *   credentials: () => Promise.resolve({ username: "iam-user-01", password: "token" }),
   * });
   * await provider.subscribe({ onNext() {}, onError() {} });
   * provider.end();
   * console.log(provider.subscribed); // false
   * ```
   */
  end(): void {
    this.#end(this.#current);
  }

  /** Ends the current subscription and refuses new ones; a `subscribe()` under way fails at once. */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#end(this.#current);
    this.#stop.abort(
      new TypeError("Cannot subscribe: this node-redis credentials provider has been disposed"),
    );
  }

  #end(subscription: Subscription | undefined): void {
    if (subscription === undefined) return;
    subscription.ended = true;
    subscription.live?.end();
    if (this.#current === subscription) this.#current = undefined;
  }

  /** Shows the state, never a token. */
  [Symbol.for("Deno.customInspect")](): string {
    return `IamCredentialsProvider { subscribed: ${this.subscribed} }`;
  }

  /** Shows the state, never a token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `IamCredentialsProvider { subscribed: ${this.subscribed} }`;
  }
}

function toBasicAuth(credentials: AuthCredentials): NodeRedisBasicAuth {
  const basic: NodeRedisBasicAuth = { password: credentials.password };
  if (credentials.username !== undefined) basic.username = credentials.username;
  return basic;
}
