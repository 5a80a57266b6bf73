/**
 * IAM authentication for an ioredis or iovalkey `Cluster`: every connection
 * it opens (to each node, after `MOVED`, a failover or a topology refresh;
 * its topology refreshers; its pub/sub subscribers) reads a token valid at
 * its own connect time, and each is re-authenticated before the server's
 * 12-hour cut on its own schedule.
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
import { ConnectionWatch } from "./connection_watch.ts";
import { refreshIntervalOption } from "./options.ts";
import { redacted, redactEmittedErrors } from "./redaction.ts";
import type { AttachIamAuthOptions, IoredisClient, IoredisCluster } from "./types.ts";
import { PeriodicRefresh } from "./periodic_refresh.ts";

/**
 * Gives an ioredis or iovalkey `Cluster` IAM authentication, connects it, and
 * keeps every connection it opens authenticated:
 *
 * - each node connection (made at discovery, after `MOVED` or `ASK`, a
 *   failover, a topology refresh), each topology refresher and each pub/sub
 *   subscriber connection reads, when it connects, the token valid now (the
 *   helper replaces it every `refreshInterval`, when a connection closes, and
 *   as each connection starts to connect);
 * - each of those connections is re-authenticated with `AUTH user token`
 *   `reauthAfter` after its own connect and each re-authentication;
 * - when the cluster ends (`quit()`, `disconnect()`), the helper stops and
 *   leaves no timer or listener behind.
 *
 * Create the cluster with `lazyConnect: true`, and without a password in
 * `redisOptions`. ElastiCache's cluster nodes need `redisOptions: { tls: {} }`
 * and, to keep TLS host names checkable, `dnsLookup: (address, callback) => callback(null, address)`.
 *
 * @param cluster An ioredis or iovalkey `Cluster` created with `lazyConnect: true`.
 * @param auth The token manager (`IamAuth`), or any source of `{username, password}`;
 *   without it, the IAM user its first startup node's URL names
 *   (`new Cluster(["rediss://USER@HOST:PORT"])`), or `redisOptions.username`,
 *   on the cache its host is an ElastiCache or MemoryDB endpoint of.
 * @param options Re-authentication and refresh timing, error reporting, and,
 *   without `auth`, `credentials` and `region`.
 * @returns The running helper; dispose of it (or end the cluster) to stop it.
 * @throws {TypeError} When `cluster` is not a lazy ioredis or iovalkey `Cluster`, sets a password, or `auth` is malformed.
 * @throws {RangeError} When a duration is out of range.
 * @throws {CredentialsError} When no token can be had for the first connect.
 *
 * @example Against the local emulator in cluster mode
 * ```ts
 * import { Cluster } from "ioredis";
 * import { attachIamAuthCluster } from "../mod.ts";
 * import { IamAuth } from "@elasticache-iam/connector";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
 *
 * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
 * await using emu = await startEmulator({
 *   tls: true,
 *   cluster: { shards: 2, replicasPerShard: 0 },
 *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
 * });
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: keys,
 * });
 * const cluster = new Cluster([{ host: emu.gateway.hostname, port: emu.gateway.port }], {
 *   redisOptions: { tls: { ca: emu.gateway.caCertPem! } },
 *   lazyConnect: true, // the first connect must already carry a token
 * });
 * using _iam = await attachIamAuthCluster(cluster, auth);
 * await cluster.set("{user:1}:name", "Ada");
 * console.log(await cluster.get("{user:1}:name")); // "Ada"
 * await cluster.quit();
 * ```
 */
export async function attachIamAuthCluster(
  cluster: IoredisCluster,
  auth?: AuthProvider,
  options: AttachIamAuthOptions = {},
): Promise<IoredisClusterIamAuth> {
  checkCluster(cluster);
  const { credentials, region, ...rest } = options ?? {};
  if (auth !== undefined && (credentials !== undefined || region !== undefined)) {
    throw new TypeError(
      `Cannot attach IAM auth: '${
        credentials !== undefined ? "credentials" : "region"
      }' applies to the user the cluster's URL names; with 'auth', set it on the IamAuth`,
    );
  }
  const source = auth ?? clusterAuth(cluster, credentials, region);
  const helper = new IoredisClusterIamAuth(cluster, source, rest);
  try {
    await helper.start();
  } catch (error) {
    helper[Symbol.dispose]();
    throw error;
  }
  return helper;
}

function checkCluster(cluster: IoredisCluster): void {
  if (cluster !== null && typeof cluster === "object" && cluster.isCluster === false) {
    throw new TypeError(
      "Cannot set up IAM auth: 'cluster' is a Redis client, not a Cluster; use attachIamAuth(client, auth)",
    );
  }
  if (
    cluster === null || typeof cluster !== "object" || typeof cluster.on !== "function" ||
    typeof cluster.connect !== "function" || typeof cluster.nodes !== "function" ||
    typeof cluster.options !== "object" || cluster.options === null
  ) {
    throw new TypeError(
      "Cannot set up IAM auth: 'cluster' must be an ioredis or iovalkey Cluster",
    );
  }
}

/**
 * The IAM authentication a cluster made from an endpoint URL names: the user
 * of its first startup node's URL (or `redisOptions.username`) on the cache
 * that node's host is an endpoint of.
 */
function clusterAuth(
  cluster: IoredisCluster,
  credentials: CredentialsInput | undefined,
  region: string | undefined,
): AuthProvider {
  const first = firstStartupNode(cluster);
  let username = cluster.options.redisOptions?.username;
  let host: string | undefined;
  if (typeof first === "string") {
    try {
      const url = new URL(first);
      host = url.hostname;
      if (url.username !== "") username ??= decodeURIComponent(url.username);
    } catch {
      // "host:port": no user in it.
    }
  } else if (first !== null && typeof first === "object") {
    const node = first as { host?: unknown };
    if (typeof node.host === "string") host = node.host;
  }
  if (typeof username !== "string" || username === "" || host === undefined || host === "") {
    throw new TypeError(
      "Cannot attach IAM auth: give 'auth' (such as an IamAuth), or make the cluster from a URL " +
        "that names the IAM user: new Cluster(['rediss://USER@HOST:PORT'], { lazyConnect: true })",
    );
  }
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return endpointAuth(
    "Cannot attach IAM auth",
    `rediss://${encodeURIComponent(username)}@${bracketed}`,
    credentials,
    region,
  );
}

/**
 * The first node the cluster was made with (`host:port` or a URL, a port, or
 * `{ host, port }`): ioredis keeps them as `startupNodes`, a private field.
 */
function firstStartupNode(cluster: IoredisCluster): unknown {
  const nodes = (cluster as unknown as { startupNodes?: unknown }).startupNodes;
  return Array.isArray(nodes) ? nodes[0] : undefined;
}

/** `host:port` of the first startup node, for messages; never a URL's user or password. */
function startupLabel(cluster: IoredisCluster): string {
  const first = firstStartupNode(cluster);
  if (typeof first === "number") return `127.0.0.1:${first}`;
  if (typeof first === "string") {
    try {
      const url = new URL(first);
      if (url.hostname !== "") return `${url.hostname}:${url.port || 6379}`;
    } catch {
      // Not a URL.
    }
    if (/^[\w.-]+:\d+$/.test(first)) return first;
  }
  if (first !== null && typeof first === "object") {
    const { host, port } = first as { host?: unknown; port?: unknown };
    if (typeof host === "string") return `${host}:${typeof port === "number" ? port : 6379}`;
  }
  return "the cluster";
}

/** What the helper keeps per connection: its watch, and how to undo what it changed. */
interface Watched {
  readonly watch: ConnectionWatch;
  readonly restore: () => void;
}

/**
 * What {@linkcode attachIamAuthCluster} returns: the helper that gives each
 * connection of the cluster a current token and re-authenticates it.
 *
 * @example Against the local emulator: ending the cluster stops the helper
 * ```ts
 * import { Cluster } from "ioredis";
 * import { attachIamAuthCluster, IoredisClusterIamAuth } from "../mod.ts";
 * import { IamAuth } from "@elasticache-iam/connector";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
 *
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
 * const cluster = new Cluster([{ host: emu.gateway.hostname, port: emu.gateway.port }], {
 *   lazyConnect: true,
 * });
 * const iam = await attachIamAuthCluster(cluster, auth);
 * console.log(iam instanceof IoredisClusterIamAuth, await cluster.ping()); // true "PONG"
 * await cluster.quit(); // ending the cluster stops the helper too
 * ```
 */
export class IoredisClusterIamAuth implements Disposable {
  readonly #cluster: IoredisCluster;
  readonly #provider: AuthProvider;
  /** The cluster's own: the first token, and the refreshes of the stored one. */
  readonly #auth: ConnectionAuth;
  readonly #reauthAfter: number | false;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #onError: (error: Error) => void;
  /** The credentials every connection of the cluster reads when it connects. */
  #credentials: AuthCredentials | undefined;
  readonly #connections = new Map<IoredisClient, Watched>();
  readonly #restore: (() => void)[] = [];
  readonly #refresh: PeriodicRefresh;
  #stopped = false;

  /**
   * Checks the arguments; {@linkcode attachIamAuthCluster} then starts the helper.
   *
   * @param cluster An ioredis or iovalkey `Cluster` created with `lazyConnect: true`.
   * @param auth The token manager.
   * @param options Timing and error reporting.
   * @throws {TypeError} When the cluster or `auth` is malformed.
   * @throws {RangeError} When a duration is out of range.
   */
  constructor(cluster: IoredisCluster, auth: AuthProvider, options: AttachIamAuthOptions = {}) {
    checkCluster(cluster);
    if (auth === null || typeof auth !== "object" || typeof auth.credentials !== "function") {
      throw new TypeError(
        "Cannot set up IAM auth: 'auth' must be an IamAuth (or an object with a credentials() method)",
      );
    }
    this.#cluster = cluster;
    this.#provider = auth;
    this.#reauthAfter = reauthAfterOption("Cannot set up IAM auth", options.reauthAfter);
    this.#timers = options.timers ?? backgroundTimers;
    this.#refresh = new PeriodicRefresh(
      this.#timers,
      refreshIntervalOption(options.refreshInterval),
      () => this.#update(false),
    );
    this.#now = options.now ?? Date.now;
    this.#onError = options.onReAuthenticationError ?? ((error) => this.#emitError(error));
    this.#auth = new ConnectionAuth({
      provider: auth,
      reauthAfter: false,
      label: startupLabel(cluster),
      timers: this.#timers,
      now: this.#now,
    });
  }

  /**
   * The last re-authentication failure of one of the cluster's connections,
   * until that connection re-authenticates or closes.
   */
  get failure(): Error | undefined {
    for (const { watch } of this.#connections.values()) {
      if (watch.failure !== undefined) return watch.failure;
    }
    return undefined;
  }

  /**
   * Sets the first token and connects the cluster.
   *
   * @returns Resolves when the cluster is ready.
   * @throws {TypeError} When the cluster was not created with `lazyConnect: true`, or sets a password.
   * @throws {CredentialsError} When no token can be had.
   * @throws {Error} When the cluster was closed before its first token came.
   */
  async start(): Promise<void> {
    const cluster = this.#cluster;
    if (cluster.status !== "wait") {
      throw new TypeError(
        `Cannot set up IAM auth: create the cluster with 'lazyConnect: true' so that its first ` +
          `connections carry a token (its status is '${cluster.status}')`,
      );
    }
    const redisOptions = cluster.options.redisOptions;
    if (redisOptions?.password !== undefined && redisOptions.password !== null) {
      throw new TypeError(
        "Cannot set up IAM auth: 'redisOptions.password' is set, but the helper supplies the " +
          "token of every node connection; remove it",
      );
    }
    cluster.on("+node", this.#onNode);
    cluster.on("end", this.#onEnd);
    this.#restore.push(() => {
      cluster.removeListener("+node", this.#onNode);
      cluster.removeListener("end", this.#onEnd);
    });
    this.#store(await this.#auth.boundedHandshakeCredentials());
    if (this.#stopped || cluster.status !== "wait") {
      throw new Error(
        "Cannot set up IAM auth: the cluster was closed before its first token came",
      );
    }
    for (const node of cluster.nodes("all")) this.#attach(node);
    this.#followSubscribers();
    // A cluster's errors (`error`, and `node error` for a node's) may carry a
    // node's failed `AUTH` or `HELLO … AUTH`: its token is taken out.
    this.#restore.push(
      redactEmittedErrors(cluster as { emit?: (event: string, ...args: unknown[]) => unknown }),
    );
    this.#refresh.start();
    try {
      await cluster.connect();
    } catch (error) {
      throw redacted(error);
    }
  }

  /** Stops refreshing and re-authenticating every connection; the cluster itself stays as it is. */
  [Symbol.dispose](): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const { watch, restore } of this.#connections.values()) {
      watch.stop();
      restore();
    }
    this.#connections.clear();
    this.#refresh.stop();
    for (const restore of this.#restore.splice(0).reverse()) restore();
  }

  /** ioredis's `+node`: a connection to a node was made (not yet opened). */
  #onNode = (node: unknown): void => {
    this.#attach(node as IoredisClient);
  };

  #onEnd = (): void => {
    this[Symbol.dispose]();
  };

  /**
   * Follows one connection: its options read the current token, its
   * duplicates (the cluster's topology refreshers) get it too, and a watch
   * re-authenticates it and publishes its lifecycle.
   */
  #attach(client: IoredisClient | null | undefined): void {
    if (this.#stopped || client === null || typeof client !== "object") return;
    if (this.#connections.has(client) || typeof client.options !== "object") return;
    this.#bind(client.options);
    const restoreDuplicate = this.#credentialsForDuplicates(client);
    const { host = "localhost", port = 6379 } = client.options;
    const watch = new ConnectionWatch(client, {
      auth: new ConnectionAuth({
        provider: this.#provider,
        reauthAfter: this.#reauthAfter,
        label: `${host}:${port}`,
        timers: this.#timers,
        now: this.#now,
        onError: this.#onError,
      }),
      store: (credentials) => this.#store(credentials),
      closed: (fresh) => this.#update(fresh),
      connectCredentials: () => this.#current(),
      ended: () => {
        restoreDuplicate();
        this.#connections.delete(client);
      },
      // Nodes come and go during a failover: a connection refused by a node
      // that is down is no reason to mint; a refused token is.
      freshOnlyAfterRefusal: true,
      closesByWho: true,
    });
    this.#connections.set(client, { watch, restore: restoreDuplicate });
    watch.start();
  }

  /**
   * Makes `options.username` and `options.password` read the cluster's
   * current credentials (ioredis reads them at each connect), as accessors
   * that inspect output and spreads leave out.
   */
  #bind(options: IoredisClient["options"]): void {
    for (const key of ["username", "password"] as const) {
      const descriptor = Object.getOwnPropertyDescriptor(options, key);
      const initial = descriptor?.get !== undefined
        ? descriptor.get.call(options)
        : descriptor?.value;
      let assigned: { value: unknown } | undefined;
      Object.defineProperty(options, key, {
        configurable: true,
        enumerable: false,
        get: () => {
          if (assigned !== undefined) return assigned.value;
          const credentials = this.#credentials;
          return key === "password" ? credentials?.password : credentials?.username ?? initial;
        },
        set: (value: unknown) => {
          assigned = { value };
        },
      });
    }
  }

  /**
   * ioredis refreshes the topology on a duplicate of a node connection
   * (`{ ...options }`, which leaves the accessors out, and connects at
   * once): it is given the current credentials, and followed as any other
   * connection of the cluster.
   */
  #credentialsForDuplicates(client: IoredisClient): () => void {
    const target = client as unknown as { duplicate?: (override?: object) => unknown };
    const duplicate = target.duplicate;
    if (typeof duplicate !== "function") return () => {};
    const wrapped = (override?: { lazyConnect?: unknown }) => {
      const credentials = this.#credentials;
      const username = credentials?.username ?? client.options.username;
      // Made lazy, so that its first connect too waits for a current token.
      const lazy = (override?.lazyConnect ??
        (client.options as { lazyConnect?: unknown }).lazyConnect) === true;
      const copy = duplicate.call(client, {
        ...(username !== undefined ? { username } : {}),
        password: credentials?.password,
        ...override,
        lazyConnect: true,
      }) as IoredisClient | undefined;
      this.#attach(copy);
      if (!lazy) copy?.connect().catch(() => {});
      return copy;
    };
    target.duplicate = wrapped;
    return () => {
      if (target.duplicate === wrapped) delete target.duplicate;
    };
  }

  /**
   * The cluster's pub/sub subscriber connections are made by ioredis as
   * needed, not through its node pool: each is followed from the moment it
   * is made (before it connects), as a node connection is.
   */
  #followSubscribers(): void {
    const cluster = this.#cluster as unknown as {
      subscriber?: object | null;
      shardedSubscribers?: { shardedSubscribers?: unknown } | null;
    };
    const subscriber = cluster.subscriber;
    if (subscriber !== null && typeof subscriber === "object") {
      this.#intercept(subscriber, "subscriber");
    }
    // ioredis's `shardedSubscribers: true`: one subscriber per shard.
    const group = cluster.shardedSubscribers?.shardedSubscribers;
    if (group instanceof Map) {
      const map = group as Map<unknown, { instance?: IoredisClient | null }>;
      for (const sharded of map.values()) this.#attach(sharded?.instance);
      const set = map.set;
      const wrapped = (key: unknown, sharded: { instance?: IoredisClient | null }) => {
        this.#attach(sharded?.instance);
        return set.call(map, key, sharded);
      };
      map.set = wrapped;
      this.#restore.push(() => {
        if (map.set === wrapped) delete (map as { set?: unknown }).set;
      });
    }
  }

  /** Follows each client assigned to `holder[key]`. */
  #intercept(holder: object, key: string): void {
    const descriptor = Object.getOwnPropertyDescriptor(holder, key);
    if (descriptor === undefined || !("value" in descriptor)) return;
    let value = descriptor.value as IoredisClient | null | undefined;
    this.#attach(value);
    Object.defineProperty(holder, key, {
      configurable: true,
      enumerable: descriptor.enumerable ?? true,
      get: () => value,
      set: (next: IoredisClient | null | undefined) => {
        value = next;
        this.#attach(next);
      },
    });
    this.#restore.push(() => {
      Object.defineProperty(holder, key, {
        configurable: true,
        enumerable: descriptor.enumerable ?? true,
        writable: true,
        value,
      });
    });
  }

  #store(credentials: AuthCredentials): void {
    if (!this.#stopped) this.#credentials = credentials;
  }

  /** Replaces the stored credentials with the token manager's current (or freshly minted) ones. */
  #update(fresh: boolean): void {
    if (this.#stopped) return;
    this.#auth.credentials(fresh).then(
      (credentials) => this.#store(credentials),
      () => {
        // The stored token stays; the token manager retries on the next call,
        // and the next connect attempt reports what is wrong.
      },
    );
  }

  /**
   * The token manager's credentials now (from its cache, or freshly minted
   * when the stored token is too old, after a pause of the process or a clock
   * step), for a connection that is opening; they are stored too.
   */
  async #current(): Promise<AuthCredentials> {
    const credentials = await this.#auth.credentials(false);
    this.#store(credentials);
    return credentials;
  }

  #emitError(error: Error): void {
    const cluster = this.#cluster;
    if ((cluster.listenerCount?.("error") ?? 0) > 0) cluster.emit?.("error", error);
  }

  /** Shows the state, never a token. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#describe();
  }

  /** Shows the state, never a token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.#describe();
  }

  #describe(): string {
    return `IoredisClusterIamAuth { connections: ${this.#connections.size}, stopped: ${this.#stopped} }`;
  }
}
