/**
 * IAM authentication for ioredis and iovalkey clients, which have no async
 * password hook: {@linkcode attachIamAuth} keeps `client.options.password`
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
 * import { attachIamAuth } from "@elasticache-iam/connector/ioredis";
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
 * await attachIamAuth(client, auth);
 * await client.set("greeting", "hello");
 * ```
 *
 * @module
 */

import {
  AUTH_STEP_TIMEOUT,
  type AuthCredentials,
  type AuthProvider,
  backgroundTimers,
  ConnectionAuth,
  describe,
  endpointAuth,
  publish,
  reauthAfterOption,
  type Reauthentication,
  type Timers,
  withTimeout,
} from "@elasticache-iam/connector/internal";
import { type CredentialsInput, TimeoutError } from "@elasticache-iam/connector";

export type {
  AuthCredentials,
  AuthProvider,
  AwsCredentials,
  AwsCredentialsProvider,
  CredentialsInput,
  Timers,
} from "@elasticache-iam/connector";

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
   * ioredis's state of the connect under way, made by each `connect()`; its
   * `auth` holds the user name and token the handshake sends.
   */
  readonly condition?: { auth?: unknown } | null | undefined;
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
  /**
   * Emits an event (re-authentication failures go to `error` when it has
   * listeners). The helper wraps it on this client while it runs, to take
   * the token out of the `command` ioredis attaches to its own errors.
   *
   * @param event The event.
   * @param args Its arguments.
   */
  emit?(event: string, ...args: unknown[]): unknown;
  /**
   * How many listeners an event has.
   *
   * @param event The event.
   */
  listenerCount?(event: string): number;
}

/** Options of {@linkcode attachIamAuth}. */
export interface AttachIamAuthOptions {
  /**
   * Without `auth`: the AWS credentials the tokens for the client's user
   * (`username`, from its URL) are signed with.
   *
   * @default {defaultCredentials()}
   */
  credentials?: CredentialsInput;
  /**
   * Without `auth`: the cache's region, when not its host's.
   *
   * @default {the endpoint's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`}
   */
  region?: string;
  /**
   * How long the connection stays authenticated before it is re-authenticated,
   * in milliseconds, counted from its connect or last re-authentication:
   * above 0 and at most 42600000 (11 h 50 min); `false` turns
   * re-authentication off. The same rule as every client of this module; a
   * failed re-authentication is retried after a backoff of 1 s doubling up
   * to 60 s.
   *
   * @default {39600000} (11 hours)
   */
  reauthAfter?: number | false;
  /**
   * How often `client.options.password` is replaced with the token manager's
   * current token, in milliseconds, so that a reconnect at any time finds a
   * valid token there. (It is also replaced whenever the connection closes.)
   *
   * @default {60000}
   */
  refreshInterval?: number;
  /**
   * Receives re-authentication failures, with a message that explains them
   * and the underlying error as `cause`.
   *
   * @default {the client's `error` event when it has listeners; the last
   * failure also stays readable as the helper's `failure`}
   */
  onReAuthenticationError?: (error: Error) => void;
  /**
   * The timers re-authentication and refreshes are scheduled with; tests pass their own.
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

const DEFAULT_REFRESH_INTERVAL = 60_000;

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
 * @param auth The token manager (`IamAuth`), or any source of `{username, password}`;
 *   without it, the IAM user the client's URL names (`new Redis("rediss://USER@HOST:PORT")`:
 *   the cache's kind, name and region are read from the ElastiCache or MemoryDB host).
 * @param options Re-authentication and refresh timing, error reporting, and,
 *   without `auth`, `credentials` and `region`.
 * @returns The running helper; dispose of it (or end the client) to stop it.
 * @throws {TypeError} When the client was not created with `lazyConnect: true`, or `auth` is malformed.
 * @throws {RangeError} When a duration is out of range.
 * @throws {CredentialsError} When no token can be had for the first connect.
 *
 * @example Against the local emulator, over TLS
 * ```ts
 * import { Redis } from "ioredis";
 * import { attachIamAuth } from "./mod.ts";
 * import { IamAuth } from "@elasticache-iam/connector";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
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
 * using _iam = await attachIamAuth(client, auth);
 * console.log(await client.ping()); // "PONG"
 * await client.quit();
 * ```
 */
export async function attachIamAuth(
  client: IoredisClient,
  auth?: AuthProvider,
  options: AttachIamAuthOptions = {},
): Promise<IoredisIamAuth> {
  const { credentials, region, ...rest } = options ?? {};
  const source = auth ?? clientAuth(client, credentials, region);
  if (auth !== undefined && (credentials !== undefined || region !== undefined)) {
    throw new TypeError(
      `Cannot attach IAM auth: '${
        credentials !== undefined ? "credentials" : "region"
      }' applies to the user the client's URL names; with 'auth', set it on the IamAuth`,
    );
  }
  const helper = new IoredisIamAuth(client, source, rest);
  try {
    await helper.start();
  } catch (error) {
    helper[Symbol.dispose]();
    throw error;
  }
  return helper;
}

/**
 * The IAM authentication a client made from an endpoint URL names: its
 * `username` on the cache its `host` is an endpoint of.
 */
function clientAuth(
  client: IoredisClient,
  credentials: CredentialsInput | undefined,
  region: string | undefined,
): AuthProvider {
  const { host, username } = client?.options ?? {};
  if (typeof username !== "string" || username === "" || typeof host !== "string") {
    throw new TypeError(
      "Cannot attach IAM auth: give 'auth' (such as an IamAuth), or make the client from a URL " +
        "that names the IAM user: new Redis('rediss://USER@HOST:PORT', { lazyConnect: true })",
    );
  }
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return endpointAuth(
    "Cannot attach IAM auth",
    `rediss://${encodeURIComponent(username)}@${bracketed}`,
    credentials,
    region,
  );
}

/**
 * What {@linkcode attachIamAuth} returns: the helper that keeps the
 * client's password current and its connection re-authenticated.
 *
 * @example Against the local emulator
 * ```ts
 * import { Redis } from "ioredis";
 * import { attachIamAuth, IoredisIamAuth } from "./mod.ts";
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
 * const client = new Redis({ host: emu.gateway.hostname, port: emu.gateway.port, lazyConnect: true });
 * using iam = await attachIamAuth(client, auth);
 * // The client's password is a token, kept current for every reconnect.
 * const token = client.options.password;
 * console.log(iam instanceof IoredisIamAuth, token?.startsWith("replication-group-01/")); // true true
 * await client.quit(); // ending the client stops the helper too
 * ```
 */
export class IoredisIamAuth implements Disposable {
  readonly #client: IoredisClient;
  readonly #auth: ConnectionAuth;
  readonly #refreshInterval: number;
  readonly #timers: Timers;
  #live: Reauthentication | undefined;
  #refreshTimer: unknown;
  #wasReady = false;
  /** Whether the client was ready once: a later ready is a reconnect. */
  #readyBefore = false;
  /** Connection attempts since the client was last ready. */
  #attempts = 0;
  #stopped = false;
  #restoreEmit: (() => void) | undefined;

  /**
   * Checks the arguments; {@linkcode attachIamAuth} then starts the helper.
   *
   * @param client An ioredis or iovalkey client created with `lazyConnect: true`.
   * @param auth The token manager.
   * @param options Timing and error reporting.
   * @throws {TypeError} When the client or `auth` is malformed.
   * @throws {RangeError} When a duration is out of range.
   */
  constructor(client: IoredisClient, auth: AuthProvider, options: AttachIamAuthOptions = {}) {
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
    this.#timers = options.timers ?? backgroundTimers;
    const { host = "localhost", port = 6379 } = client.options;
    this.#auth = new ConnectionAuth({
      provider: auth,
      reauthAfter: reauthAfterOption("Cannot set up IAM auth", options.reauthAfter),
      label: `${host}:${port}`,
      timers: this.#timers,
      now: options.now ?? Date.now,
      onError: options.onReAuthenticationError ?? ((error) => this.#emitError(error)),
    });
    this.#refreshInterval = positive(
      "refreshInterval",
      options.refreshInterval,
      DEFAULT_REFRESH_INTERVAL,
    );
  }

  /** The last re-authentication failure of the current connection, until a re-authentication succeeds. */
  get failure(): Error | undefined {
    return this.#live?.failure;
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
    conceal(this.#client.options, "password");
    this.#store(await this.#auth.boundedHandshakeCredentials());
    this.#client.on("connecting", this.#onConnecting);
    this.#client.on("ready", this.#onReady);
    this.#client.on("close", this.#onClose);
    this.#client.on("end", this.#onEnd);
    this.#client.on("reconnecting", this.#onReconnecting);
    this.#redactErrors();
    this.#armRefresh();
    try {
      await this.#client.connect();
    } catch (error) {
      throw redacted(error);
    }
  }

  /**
   * ioredis attaches the failed command, arguments included, to its errors:
   * for a refused `AUTH` or `HELLO … AUTH`, the token. The client's `emit` is
   * wrapped, while the helper runs, so that every `error` event carries the
   * command without it (ioredis's own handshake errors included).
   */
  #redactErrors(): void {
    const client = this.#client as IoredisClient & { emit?: (...args: unknown[]) => unknown };
    const emit = client.emit;
    if (typeof emit !== "function") return;
    const wrapped = function (this: unknown, event: unknown, ...args: unknown[]) {
      if (event === "error") redacted(args[0]);
      return emit.call(this, event, ...args);
    };
    client.emit = wrapped;
    this.#restoreEmit = () => {
      if (client.emit === wrapped) client.emit = emit;
    };
  }

  /** Stops refreshing and re-authenticating; the client itself stays as it is. */
  [Symbol.dispose](): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#client.removeListener("connecting", this.#onConnecting);
    this.#client.removeListener("ready", this.#onReady);
    this.#client.removeListener("close", this.#onClose);
    this.#client.removeListener("end", this.#onEnd);
    this.#client.removeListener("reconnecting", this.#onReconnecting);
    this.#live?.end();
    this.#live = undefined;
    this.#clearRefresh();
    this.#restoreEmit?.();
  }

  /** ioredis copied the token into `condition.auth` for the handshake: keep it out of inspect there too. */
  #onConnecting = (): void => {
    publish({ type: "connection:connect", server: this.#label, attempt: ++this.#attempts });
    const condition = this.#client.condition;
    if (condition !== null && typeof condition === "object" && "auth" in condition) {
      conceal(condition, "auth");
    }
  };

  #onReady = (): void => {
    this.#wasReady = true;
    this.#live?.end();
    // ioredis writes a MULTI block in one go (its default), so an AUTH queued
    // by client.auth() never lands inside it.
    this.#live = this.#auth.authenticated(this.#auth.options.now(), async (credentials) => {
      this.#store(credentials);
      const username = credentials.username ?? this.#client.options.username ?? "default";
      try {
        // ioredis has no command timeout by default: the answer is bounded here.
        await withTimeout(
          this.#client.auth(username, credentials.password),
          AUTH_STEP_TIMEOUT,
          this.#auth.options.timers,
          () =>
            new TimeoutError(
              `Cannot re-authenticate the connection to ${this.#auth.options.label}: no answer within ${AUTH_STEP_TIMEOUT} ms`,
            ),
        );
      } catch (error) {
        throw redacted(error);
      }
    });
    if (this.#readyBefore) {
      publish({ type: "reconnect:succeeded", server: this.#label, attempts: this.#attempts });
    }
    this.#readyBefore = true;
    this.#attempts = 0;
  };

  #onClose = (): void => {
    this.#live?.end();
    this.#live = undefined;
    if (this.#wasReady) {
      // ioredis emits `close` a tick after it decided: `end` when it will not
      // reconnect (quit(), disconnect(), or a retryStrategy that gave up).
      publish({
        type: "connection:closed",
        server: this.#label,
        reason: this.#client.status === "end" ? "client" : "server",
        error: undefined,
      });
    }
    // A connection that closed before it was ready may have had its token refused: mint anew.
    // (ioredis reports the refusal itself, as an `error` event.)
    const fresh = !this.#wasReady;
    this.#wasReady = false;
    this.#updatePassword(fresh);
  };

  #onReconnecting = (delay: unknown): void => {
    publish({
      type: "reconnect:scheduled",
      server: this.#label,
      attempt: this.#attempts + 1,
      delayMs: typeof delay === "number" ? delay : 0,
      reason: undefined,
    });
  };

  get #label(): string {
    return this.#auth.options.label;
  }

  #onEnd = (): void => {
    this[Symbol.dispose]();
  };

  #store(credentials: AuthCredentials): void {
    if (credentials.username !== undefined) this.#client.options.username = credentials.username;
    this.#client.options.password = credentials.password;
  }

  #updatePassword(fresh: boolean): void {
    this.#auth.credentials(fresh).then(
      (credentials) => {
        if (!this.#stopped) this.#store(credentials);
      },
      () => {
        // The stored token stays; the token manager retries on the next call,
        // and the next connect attempt reports what is wrong.
      },
    );
  }

  #emitError(error: Error): void {
    const client = this.#client;
    if ((client.listenerCount?.("error") ?? 0) > 0) client.emit?.("error", error);
  }

  #armRefresh(): void {
    this.#clearRefresh();
    const timer = this.#timers.setTimeout(() => {
      if (this.#refreshTimer !== timer || this.#stopped) return;
      this.#refreshTimer = undefined;
      this.#updatePassword(false);
      this.#armRefresh();
    }, this.#refreshInterval);
    this.#refreshTimer = timer;
    this.#timers.unref?.(timer);
  }

  #clearRefresh(): void {
    if (this.#refreshTimer !== undefined) this.#timers.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
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

/**
 * Takes IAM auth tokens out of the `command` ioredis attaches to an error
 * (`{ name, args }`), in place, and returns the error.
 */
function redacted<T>(error: T): T {
  const command = (error as { command?: { args?: unknown } } | null)?.command;
  const args = command?.args;
  if (Array.isArray(args)) {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      const text = typeof arg === "string" ? arg : arg instanceof Uint8Array ? latin1(arg) : "";
      if (text.includes("X-Amz-")) args[i] = "[IAM auth token]";
    }
  }
  return error;
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/**
 * Turns `target[key]` into an accessor over the same value: ioredis reads and
 * writes it as before, but `console.log`, `Deno.inspect` and `util.inspect`
 * (even with hidden properties) show `[Getter/Setter]`, never the token, and
 * `JSON.stringify` and object spreads leave it out.
 */
function conceal(target: object, key: string): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor?.get !== undefined) return;
  let value = descriptor?.value;
  Object.defineProperty(target, key, {
    configurable: true,
    enumerable: false,
    get: () => value,
    set: (next: unknown) => {
      value = next;
    },
  });
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot set up IAM auth: '${name}' must be a positive number of milliseconds, got ${
        describe(value)
      }`,
    );
  }
  return value;
}
