/**
 * IAM authentication for ioredis and iovalkey clients, which have no async
 * password hook: {@linkcode attachIamAuth} keeps `client.options.password`
 * set to a valid token, so every reconnect authenticates with one, and
 * re-authenticates the live connection with `client.auth(user, token)`
 * before the server's 12-hour cut. {@linkcode attachIamAuthCluster} does the
 * same for every connection of a `Cluster`: each node's (after `MOVED`, a
 * failover, a topology refresh too), the topology refreshers' and the
 * pub/sub subscribers'.
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
  type AuthCredentials,
  type AuthProvider,
  backgroundTimers,
  ConnectionAuth,
  endpointAuth,
  reauthAfterOption,
  type Timers,
} from "@elasticache-iam/connector/internal";
import type { CredentialsInput } from "@elasticache-iam/connector";
import { ConnectionWatch } from "./src/connection_watch.ts";
import { conceal, redacted } from "./src/redaction.ts";
import { refreshIntervalOption } from "./src/options.ts";
import type { AttachIamAuthOptions, IoredisClient } from "./src/types.ts";

export type {
  AuthCredentials,
  AuthProvider,
  AwsCredentials,
  AwsCredentialsProvider,
  CredentialsInput,
  Timers,
} from "@elasticache-iam/connector";
import { PeriodicRefresh } from "./src/periodic_refresh.ts";
export type { AttachIamAuthOptions, IoredisClient, IoredisCluster } from "./src/types.ts";
export { attachIamAuthCluster, IoredisClusterIamAuth } from "./src/cluster.ts";

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
  readonly #watch: ConnectionWatch;
  readonly #timers: Timers;
  readonly #refresh: PeriodicRefresh;
  #stopped = false;

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
    if (client.isCluster === true) {
      throw new TypeError(
        "Cannot set up IAM auth: 'client' is an ioredis Cluster; use attachIamAuthCluster(cluster, auth)",
      );
    }
    if (auth === null || typeof auth !== "object" || typeof auth.credentials !== "function") {
      throw new TypeError(
        "Cannot set up IAM auth: 'auth' must be an IamAuth (or an object with a credentials() method)",
      );
    }
    this.#client = client;
    this.#timers = options.timers ?? backgroundTimers;
    this.#refresh = new PeriodicRefresh(
      this.#timers,
      refreshIntervalOption(options.refreshInterval),
      () => this.#updatePassword(false),
    );
    const { host = "localhost", port = 6379 } = client.options;
    this.#auth = new ConnectionAuth({
      provider: auth,
      reauthAfter: reauthAfterOption("Cannot set up IAM auth", options.reauthAfter),
      label: `${host}:${port}`,
      timers: this.#timers,
      now: options.now ?? Date.now,
      onError: options.onReAuthenticationError ?? ((error) => this.#emitError(error)),
    });
    this.#watch = new ConnectionWatch(client, {
      auth: this.#auth,
      store: (credentials) => this.#store(credentials),
      closed: (fresh) => this.#updatePassword(fresh),
      ended: () => this[Symbol.dispose](),
      freshOnlyAfterRefusal: false,
      closesByWho: false,
    });
  }

  /** The last re-authentication failure of the current connection, until a re-authentication succeeds. */
  get failure(): Error | undefined {
    return this.#watch.failure;
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
    // ioredis attaches the failed command, arguments included, to its errors:
    // for a refused `AUTH` or `HELLO … AUTH`, the token. The watch wraps the
    // client's `emit` so that every `error` event carries it without.
    this.#watch.start();
    this.#refresh.start();
    try {
      await this.#client.connect();
    } catch (error) {
      throw redacted(error);
    }
  }

  /** Stops refreshing and re-authenticating; the client itself stays as it is. */
  [Symbol.dispose](): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watch.stop();
    this.#refresh.stop();
  }

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

  /** Shows the state, never a token. */
  [Symbol.for("Deno.customInspect")](): string {
    return `IoredisIamAuth { stopped: ${this.#stopped} }`;
  }

  /** Shows the state, never a token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `IoredisIamAuth { stopped: ${this.#stopped} }`;
  }
}
