/**
 * IAM authentication for ioredis and iovalkey clients, which have no async
 * password hook: {@linkcode connectIoredis} keeps `client.options.password`
 * set to a valid token, so every reconnect authenticates with one, and
 * re-authenticates the live connection with `client.auth(user, token)`
 * before the server's 12-hour cut.
 *
 * Nothing is imported from ioredis or iovalkey: the client's shape is
 * declared structurally, so both (and their forks) work.
 *
 * @example
 * ```ts ignore
 * import Redis from "ioredis";
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { connectIoredis } from "@elasticache-iam/connector/ioredis";
 *
 * const auth = new IamAuth({
 *   replicationGroupId: "my-cache",
 *   userId: "my-user",
 *   region: "us-east-1",
 *   credentials: fromEnv(),
 * });
 * const client = new Redis({
 *   host: "master.my-cache.xxxxxx.use1.cache.amazonaws.com",
 *   port: 6379,
 *   tls: {},
 *   lazyConnect: true,
 * });
 * await connectIoredis(client, auth);
 * await client.set("greeting", "hello");
 * ```
 *
 * @module
 */

import { AuthenticationError } from "./errors.ts";
import { authenticationError, type AuthProvider } from "./client/handshake.ts";
import { ReplyError } from "./errors.ts";
import { systemTimers, type Timers } from "./client/timers.ts";
import { reauthAfterOption } from "./node_redis/credentials_provider.ts";

export type { AuthCredentials, AuthProvider } from "./client/handshake.ts";
export type { Timers } from "./client/timers.ts";

/** The parts of an ioredis or iovalkey `Redis` client this module uses. */
export interface IoredisClient {
  /** The client's options: the user name and password of the next connect are read from here. */
  readonly options: {
    host?: string | undefined;
    port?: number | undefined;
    username?: string | undefined;
    password?: string | null | undefined;
  };
  /** `wait` (created with `lazyConnect: true`), `connecting`, `ready`, `close`, `reconnecting`, `end`, … */
  readonly status: string;
  /**
   * Opens the connection.
   *
   * @returns Resolves when ready.
   */
  connect(): Promise<unknown>;
  /**
   * Sends `AUTH username password`.
   *
   * @param username The user.
   * @param password The token.
   * @returns The reply.
   */
  auth(username: string, password: string): Promise<unknown>;
  /**
   * Adds an event listener.
   *
   * @param event The event.
   * @param listener The listener.
   */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /**
   * Removes an event listener.
   *
   * @param event The event.
   * @param listener The listener.
   */
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Options of {@linkcode connectIoredis}. */
export interface ConnectIoredisOptions {
  /**
   * How long the connection stays authenticated before it is re-authenticated,
   * in milliseconds, counted from its connect or last re-authentication.
   * `Infinity` turns re-authentication off.
   *
   * @default {39600000} (11 hours)
   */
  reauthAfter?: number;
  /**
   * How often `client.options.password` is replaced with the token manager's
   * current token, in milliseconds, so that a reconnect at any time finds a
   * valid token there. (It is also replaced whenever the connection closes.)
   *
   * @default {60000}
   */
  refreshInterval?: number;
  /**
   * How long to wait before trying a failed re-authentication again, in milliseconds.
   *
   * @default {10000}
   */
  retryDelay?: number;
  /**
   * Receives re-authentication failures, with a message that explains them
   * and the underlying error as `cause`.
   *
   * @default {dropped; the connection is cut at 12 hours at worst and reconnects with a fresh token}
   */
  onReAuthenticationError?: (error: Error) => void;
  /**
   * The timers re-authentication and refreshes are scheduled with; tests pass their own.
   *
   * @default {the runtime's timers, unref'd}
   */
  timers?: Timers;
}

const DEFAULT_REFRESH_INTERVAL = 60_000;
const DEFAULT_RETRY_DELAY = 10_000;

/**
 * Gives an ioredis or iovalkey client IAM authentication, connects it, and
 * keeps it authenticated:
 *
 * - `client.options.username` / `password` are set to a token valid now, and
 *   replaced every `refreshInterval` and whenever the connection closes, so
 *   every reconnect uses a valid token (after a connection closed before it
 *   was ready, as after a refused token, a fresh one is minted);
 * - the live connection is re-authenticated with `client.auth(user, token)`
 *   `reauthAfter` after each connect and re-authentication; a refused token
 *   is replaced by a freshly minted one once;
 * - when the client ends (`quit()`, `disconnect()`), the helper stops and
 *   leaves no timer or listener behind.
 *
 * Create the client with `lazyConnect: true` (and `tls`), so that its first
 * connect already carries a token.
 *
 * @param client An ioredis or iovalkey `Redis` client created with `lazyConnect: true`.
 * @param auth The token manager (`IamAuth`), or any source of `{username, password}`.
 * @param options Re-authentication and refresh timing, error reporting.
 * @returns The running helper; dispose of it (or end the client) to stop it.
 * @throws {TypeError} When the client was not created with `lazyConnect: true`, or `auth` is malformed.
 * @throws {RangeError} When a duration is out of range.
 * @throws {CredentialsError} When no token can be had for the first connect.
 *
 * @example Against the local emulator, over TLS
 * ```ts
 * import { Redis } from "ioredis";
 * import { connectIoredis } from "./ioredis.ts";
 * import { IamAuth } from "./iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "./emulator/mod.ts";
 *
 * // An IAM user whose keys may connect to the emulator's cache.
 * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
 * await using emu = await startEmulator({
 *   tls: true,
 *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
 * });
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: keys,
 * });
 * const client = new Redis({
 *   host: emu.gateway.hostname,
 *   port: emu.gateway.port,
 *   tls: { ca: emu.gateway.caCertPem! },
 *   lazyConnect: true, // the first connect must already carry a token
 * });
 * using _iam = await connectIoredis(client, auth);
 * console.log(await client.ping()); // "PONG"
 * await client.quit();
 * ```
 */
export async function connectIoredis(
  client: IoredisClient,
  auth: AuthProvider,
  options: ConnectIoredisOptions = {},
): Promise<IoredisIamAuth> {
  const helper = new IoredisIamAuth(client, auth, options);
  try {
    await helper.start();
  } catch (error) {
    helper[Symbol.dispose]();
    throw error;
  }
  return helper;
}

/**
 * What {@linkcode connectIoredis} returns: the helper that keeps the
 * client's password current and its connection re-authenticated.
 *
 * @example Against the local emulator
 * ```ts
 * import { Redis } from "ioredis";
 * import { connectIoredis, IoredisIamAuth } from "./ioredis.ts";
 * import { IamAuth } from "./iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "./emulator/mod.ts";
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
 * const client = new Redis({ host: emu.gateway.hostname, port: emu.gateway.port, lazyConnect: true });
 * using iam = await connectIoredis(client, auth);
 * // The client's password is a token, kept current for every reconnect.
 * const token = client.options.password;
 * console.log(iam instanceof IoredisIamAuth, token?.startsWith("replication-group-01/")); // true true
 * await client.quit(); // ending the client stops the helper too
 * ```
 */
export class IoredisIamAuth implements Disposable {
  readonly #client: IoredisClient;
  readonly #auth: AuthProvider;
  readonly #reauthAfter: number;
  readonly #refreshInterval: number;
  readonly #retryDelay: number;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #timers: Timers;
  #reauthTimer: unknown;
  #refreshTimer: unknown;
  #wasReady = false;
  #stopped = false;

  /**
   * Checks the arguments; {@linkcode connectIoredis} then starts the helper.
   *
   * @param client An ioredis or iovalkey client created with `lazyConnect: true`.
   * @param auth The token manager.
   * @param options Timing and error reporting.
   * @throws {TypeError} When the client or `auth` is malformed.
   * @throws {RangeError} When a duration is out of range.
   */
  constructor(client: IoredisClient, auth: AuthProvider, options: ConnectIoredisOptions = {}) {
    if (
      client === null || typeof client !== "object" || typeof client.auth !== "function" ||
      typeof client.on !== "function" || typeof client.options !== "object"
    ) {
      throw new TypeError("Cannot set up IAM auth: 'client' must be an ioredis or iovalkey client");
    }
    if (auth === null || typeof auth !== "object" || typeof auth.credentials !== "function") {
      throw new TypeError(
        "Cannot set up IAM auth: 'auth' must be an IamAuth (or an object with a credentials() method)",
      );
    }
    this.#client = client;
    this.#auth = auth;
    this.#reauthAfter = reauthAfterOption("Cannot set up IAM auth", options.reauthAfter);
    this.#refreshInterval = positive(
      "refreshInterval",
      options.refreshInterval,
      DEFAULT_REFRESH_INTERVAL,
    );
    this.#retryDelay = positive("retryDelay", options.retryDelay, DEFAULT_RETRY_DELAY);
    this.#onError = options.onReAuthenticationError;
    this.#timers = options.timers ?? systemTimers;
  }

  /**
   * Sets the first token and connects the client.
   *
   * @returns Resolves when the client is ready.
   * @throws {TypeError} When the client was not created with `lazyConnect: true`.
   * @throws {CredentialsError} When no token can be had.
   */
  async start(): Promise<void> {
    if (this.#client.status !== "wait") {
      throw new TypeError(
        `Cannot set up IAM auth: create the client with 'lazyConnect: true' so that its first ` +
          `connect carries a token (its status is '${this.#client.status}')`,
      );
    }
    this.#store(await this.#auth.credentials());
    this.#client.on("ready", this.#onReady);
    this.#client.on("close", this.#onClose);
    this.#client.on("end", this.#onEnd);
    this.#armRefresh();
    await this.#client.connect();
  }

  /** Stops refreshing and re-authenticating; the client itself stays as it is. */
  [Symbol.dispose](): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#client.removeListener("ready", this.#onReady);
    this.#client.removeListener("close", this.#onClose);
    this.#client.removeListener("end", this.#onEnd);
    this.#clear("reauth");
    this.#clear("refresh");
  }

  #onReady = (): void => {
    this.#wasReady = true;
    this.#armReauth(this.#reauthAfter);
  };

  #onClose = (): void => {
    this.#clear("reauth");
    // A connection that closed before it was ready may have had its token refused: mint anew.
    const fresh = !this.#wasReady;
    this.#wasReady = false;
    this.#updatePassword(fresh);
  };

  #onEnd = (): void => {
    this[Symbol.dispose]();
  };

  #store(credentials: { username?: string | undefined; password: string }): void {
    if (credentials.username !== undefined) this.#client.options.username = credentials.username;
    this.#client.options.password = credentials.password;
  }

  #updatePassword(fresh: boolean): void {
    let pending;
    try {
      pending = fresh && this.#auth.refresh ? this.#auth.refresh() : this.#auth.credentials();
    } catch {
      return; // A disposed token manager: the next connect attempt reports it.
    }
    pending.then(
      (credentials) => {
        if (!this.#stopped) this.#store(credentials);
      },
      () => {
        // The stored token stays; the token manager retries on the next call.
      },
    );
  }

  #armRefresh(): void {
    this.#clear("refresh");
    const timer = this.#timers.setTimeout(() => {
      if (this.#refreshTimer !== timer || this.#stopped) return;
      this.#refreshTimer = undefined;
      this.#updatePassword(false);
      this.#armRefresh();
    }, this.#refreshInterval);
    this.#refreshTimer = timer;
    this.#timers.unref?.(timer);
  }

  #armReauth(delay: number): void {
    this.#clear("reauth");
    if (this.#stopped || delay === Infinity) return;
    const timer = this.#timers.setTimeout(() => {
      if (this.#reauthTimer !== timer) return;
      this.#reauthTimer = undefined;
      this.#reauthenticate(false);
    }, delay);
    this.#reauthTimer = timer;
    this.#timers.unref?.(timer);
  }

  #clear(which: "reauth" | "refresh"): void {
    const timer = which === "reauth" ? this.#reauthTimer : this.#refreshTimer;
    if (timer !== undefined) this.#timers.clearTimeout(timer);
    if (which === "reauth") this.#reauthTimer = undefined;
    else this.#refreshTimer = undefined;
  }

  async #reauthenticate(fresh: boolean): Promise<void> {
    if (this.#stopped || this.#client.status !== "ready") return; // `ready` re-arms.
    let username: string;
    try {
      const credentials = fresh && this.#auth.refresh
        ? await this.#auth.refresh()
        : await this.#auth.credentials();
      if (this.#stopped) return;
      this.#store(credentials);
      username = credentials.username ?? this.#client.options.username ?? "default";
      await this.#client.auth(username, credentials.password);
    } catch (error) {
      if (this.#stopped || this.#client.status !== "ready") return; // Closed meanwhile: reconnect re-arms.
      const message = error instanceof Error ? error.message : String(error);
      if (/\b(WRONGPASS|NOAUTH)\b/.test(message)) {
        if (!fresh) return this.#reauthenticate(true);
        const user = this.#client.options.username ?? "default";
        const start = message.search(/\b(WRONGPASS|NOAUTH)\b/);
        const { host = "localhost", port = 6379 } = this.#client.options;
        this.#onError?.(authenticationError(
          `${host}:${port}`,
          user,
          new ReplyError(message.slice(start)),
          true,
        ));
      } else {
        this.#onError?.(
          error instanceof Error && error.name === "CredentialsError"
            ? error
            : new AuthenticationError(`Cannot re-authenticate the connection: ${message}`, {
              cause: error,
            }),
        );
      }
      this.#armReauth(this.#retryDelay);
      return;
    }
    this.#armReauth(this.#reauthAfter);
  }

  /** Shows the state, never a token. */
  [Symbol.for("Deno.customInspect")](): string {
    return `IoredisIamAuth { stopped: ${this.#stopped} }`;
  }

  /** Shows the state, never a token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `IoredisIamAuth { stopped: ${this.#stopped} }`;
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot set up IAM auth: '${name}' must be a positive number of milliseconds, got ${value}`,
    );
  }
  return value;
}
