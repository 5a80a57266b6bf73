/**
 * node-redis clients preconfigured for ElastiCache / MemoryDB IAM
 * authentication: TLS on, the IAM credentials provider, RESP3 and a
 * reconnect strategy that mints a fresh token after a refusal. Every other
 * option passes through to node-redis unchanged.
 *
 * @module
 */

import {
  type AuthProvider,
  backgroundTimers,
  backoffDelay,
  checkHost,
  ConnectionAuth,
  describe,
  endpointAuth,
  isLoopback,
  isRefusal,
  publish,
  type Timers,
} from "@elasticache-iam/connector/internal";
import type { CredentialsInput } from "@elasticache-iam/connector";
import {
  type IamCredentialsProvider,
  iamCredentialsProvider,
  type IamCredentialsProviderOptions,
} from "./credentials_provider.ts";

/** The IAM options {@linkcode createIamClient} and {@linkcode createIamCluster} add to node-redis's. */
export interface IamConnectionOptions {
  /**
   * The token manager (`IamAuth`), or any source of `{username, password}`
   * valid now.
   *
   * @default {the IAM authentication the `url` (of the first root node, for a
   * cluster) names: `rediss://USER@HOST:PORT`, the user being the IAM user id
   * and the cache's kind, name and region read from the ElastiCache or
   * MemoryDB host, signed with `credentials`}
   */
  auth?: AuthProvider;
  /**
   * Without `auth`: the AWS credentials the URL's IAM tokens are signed with.
   *
   * @default {defaultCredentials()}
   */
  credentials?: CredentialsInput;
  /**
   * Without `auth`: the cache's region, when not the URL host's.
   *
   * @default {the endpoint's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`}
   */
  region?: string;
  /**
   * How long a connection stays authenticated before it is re-authenticated, in
   * milliseconds, counted per connection: above 0 and at most 42600000
   * (11 h 50 min); `false` turns re-authentication off. The same rule as
   * every client of this module; a failed re-authentication is retried after
   * a backoff of 1 s doubling up to 60 s.
   *
   * @default {39600000} (11 hours)
   */
  reauthAfter?: number | false;
  /**
   * PEM certificates of the certificate authorities to trust, for a private CA
   * or the local emulator. Without it, the runtime's trusted roots are used
   * (ElastiCache's certificates chain to Amazon's public roots).
   */
  caCerts?: string | readonly string[];
  /**
   * Receives re-authentication failures (the message explains them; `cause`
   * holds the underlying error).
   *
   * @default {emitted as an `error` event on the client}
   */
  onReAuthenticationError?: (error: Error) => void;
  /**
   * Allows a plaintext connection to a host other than loopback. IAM
   * authentication needs in-transit encryption: only for a test server
   * behind your own TLS terminator.
   *
   * @default {false}
   */
  allowPlaintext?: boolean;
  /**
   * The timers re-authentication is scheduled with; tests pass their own.
   *
   * @default {the runtime's timers, unref'd}
   */
  timers?: Timers;
}

/**
 * node-redis's `createClient` (node-redis 5 or 6, the version your application
 * installed), or a function of the same shape. The integration calls it; it
 * never loads node-redis itself.
 */
// deno-lint-ignore no-explicit-any
export type NodeRedisCreateClient = (options: any) => NodeRedisEvents;

/** node-redis's `createCluster` (node-redis 5 or 6), or a function of the same shape. */
// deno-lint-ignore no-explicit-any
export type NodeRedisCreateCluster = (options: any) => NodeRedisEvents;

/** The part of a node-redis client or cluster the integration uses: its events. */
export interface NodeRedisEvents {
  /** Adds a listener (node-redis's `EventEmitter`). */
  // deno-lint-ignore no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Adds a listener before the others. */
  // deno-lint-ignore no-explicit-any
  prependListener(event: string, listener: (...args: any[]) => void): unknown;
  /** How many listeners an event has. */
  listenerCount(event: string): number;
  /** Emits an event. */
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * Options of {@linkcode createIamClient}: the options of the `createClient`
 * given (node-redis's client options), without static credentials, plus the IAM options.
 */
export type CreateIamClientOptions<C extends NodeRedisCreateClient> =
  & Omit<NonNullable<Parameters<C>[0]>, "credentialsProvider" | "username" | "password">
  & IamConnectionOptions;

/**
 * Options of {@linkcode createIamCluster}: the options of the `createCluster`
 * given (node-redis's cluster options), without static credentials, plus the IAM options.
 */
export type CreateIamClusterOptions<C extends NodeRedisCreateCluster> =
  & Omit<NonNullable<Parameters<C>[0]>, "defaults">
  & IamConnectionOptions
  & {
    /** Options for every node, discovery and pub/sub connection, as node-redis's `defaults`. */
    defaults?: Omit<
      NonNullable<NonNullable<Parameters<C>[0]>["defaults"]>,
      "credentialsProvider" | "username" | "password"
    >;
  };

/** A loose view of node-redis client options, for the fields this module reads. */
interface ClientFields {
  url?: string | undefined;
  socket?: SocketFields | undefined;
}

/** A loose view of node-redis cluster options, for the fields this module reads. */
interface ClusterFields {
  rootNodes?: readonly (ClientFields & Record<string, unknown>)[];
  defaults?: ClientFields & Record<string, unknown>;
  nodeAddressMap?: NodeAddressMap | undefined;
}

/** node-redis's `nodeAddressMap`: where to reach a node the cluster announced as `host:port`. */
type NodeAddressMap =
  | Record<string, { host?: string; port?: number } | undefined>
  | ((address: string) => { host?: string; port?: number } | undefined);

/**
 * Checks that the first argument is node-redis's factory, before anything else.
 *
 * @param caller The function's name.
 * @param name The factory's name.
 * @param value What was given.
 */
function factoryArgument(caller: string, name: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${caller}: the first argument must be node-redis's ${name} (import { ${name} } from "redis"), not ${
        describe(value)
      }`,
    );
  }
}

/** A loose view of node-redis socket options, for the fields this module sets or reads. */
interface SocketFields {
  host?: string | undefined;
  port?: number | undefined;
  path?: string | undefined;
  tls?: boolean | undefined;
  ca?: unknown;
  reconnectStrategy?: unknown;
}

/**
 * Creates a node-redis client (not yet connected) for ElastiCache / MemoryDB
 * with IAM authentication: TLS on (`rediss`), a fresh token on every connect
 * and reconnect, re-authentication before the 12-hour cut, RESP3, and a
 * reconnect strategy that backs off and mints a fresh token after a
 * `WRONGPASS`. Every other option passes through to node-redis's
 * `createClient` unchanged.
 *
 * Add an `error` listener, as node-redis requires; re-authentication failures
 * arrive there too unless `onReAuthenticationError` is given. For a second
 * connection use this function again, or `client.duplicate({ credentialsProvider: iamCredentialsProvider(auth) })`.
 *
 * @param createClient node-redis's `createClient`, from the `redis` package your application installed (5 or 6).
 * @param options node-redis's options (`url` or `socket`, …) plus `auth` and the IAM options.
 * @returns The node-redis client, typed as `createClient` returns it.
 * @throws {TypeError} When `createClient` is not a function, or `url` carries a password (or a user next to `auth`), or names no IAM user without `auth`, or asks for plaintext to a host other than loopback without `allowPlaintext`.
 * @throws {RangeError} When `reauthAfter` is out of range.
 *
 * @example Against the local emulator, over TLS
 * ```ts
 * import { createClient } from "redis";
 * import { createIamClient } from "./client.ts";
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
 * const client = createIamClient(createClient, {
 *   url: `rediss://${emu.gateway.hostname}:${emu.gateway.port}`,
 *   caCerts: emu.gateway.caCertPem!,
 *   auth,
 * });
 * client.on("error", (error) => console.error(error));
 * await client.connect();
 * await client.set("greeting", "hello");
 * console.log(await client.get("greeting")); // "hello"
 * await client.close();
 * ```
 */
export function createIamClient<C extends NodeRedisCreateClient>(
  createClient: C,
  options: CreateIamClientOptions<C>,
): ReturnType<C> {
  factoryArgument("createIamClient", "createClient", createClient);
  const { iam, rest } = splitOptions<ClientFields>(
    "createIamClient",
    options,
    (fields) => [fields],
  );
  let readyCount = 0;
  let lastError: Error | undefined;
  const { socket, label } = secureSocket(
    "createIamClient",
    rest.url,
    rest.socket,
    iam,
    (label) => ({
      label,
      readyCount: () => readyCount,
      lastError: () => lastError,
      provider: () => credentialsProvider,
      report: (error) => client.emit("error", error),
      retrying(retries, decision, cause) {
        if (open) {
          open = false;
          publish({ type: "connection:closed", server: label, reason: "error", error: cause });
        }
        if (typeof decision === "number") {
          publish({
            type: "reconnect:scheduled",
            server: label,
            attempt: retries + 1,
            delayMs: decision,
            reason: cause,
          });
        }
      },
    }),
  );
  const credentialsProvider = iamCredentialsProvider(iam.auth, {
    ...providerOptions(iam, (error) => client.emit("error", error)),
    label,
  });
  const client = createClient({ RESP: 3, ...rest, socket, credentialsProvider });
  // The lifecycle events the thin client publishes, from node-redis's own.
  let open = false;
  let attempt = 0;
  client.on("connect", () => {
    publish({ type: "connection:connect", server: label, attempt: ++attempt });
  });
  client.on("ready", () => {
    if (readyCount > 0) publish({ type: "reconnect:succeeded", server: label, attempts: attempt });
    readyCount++;
    attempt = 0;
    open = true;
  });
  // node-redis 5's close() with no command pending skips disposing the
  // subscription; its `end` event comes either way.
  client.on("end", () => {
    credentialsProvider.end();
    if (open) {
      publish({ type: "connection:closed", server: label, reason: "client", error: undefined });
    }
    open = false;
  });
  // Remembers what preceded a failure (node-redis hands the reconnect
  // strategy only "Socket closed unexpectedly" after a decoding error). Being
  // first keeps node-redis's rule that an `error` without a listener throws.
  client.prependListener("error", (error: Error) => {
    lastError = error;
    if (client.listenerCount("error") === 1) throw error;
  });
  return client as ReturnType<C>;
}

/**
 * Creates a node-redis cluster client (not yet connected) for ElastiCache /
 * MemoryDB in cluster mode with IAM authentication. Every connection it
 * opens, to each node, for topology discovery and for pub/sub, gets its own
 * credentials provider (sharing `auth`'s token cache), so each is
 * re-authenticated on its own schedule. TLS, RESP3 and the reconnect
 * strategy are set as in {@linkcode createIamClient}; everything else passes
 * through to node-redis's `createCluster`. The nodes it discovers are reached
 * as the root nodes are: over TLS, or, for `redis://` root nodes on loopback
 * (the local emulator), in plaintext, and then only on loopback.
 *
 * @param createCluster node-redis's `createCluster`, from the `redis` package your application installed (5 or 6).
 * @param options node-redis's cluster options (`rootNodes`, `defaults`, …) plus `auth` and the IAM options.
 * @returns The node-redis cluster client.
 * @throws {TypeError} When `createCluster` is not a function, or a root node's `url` carries a password (or a user next to `auth`), or none names an IAM user without `auth`, or asks for plaintext to a host other than loopback without `allowPlaintext`, or the root nodes (and `defaults.socket.tls`) mix TLS and plaintext.
 * @throws {RangeError} When `reauthAfter` is out of range.
 *
 * @example
 * ```ts ignore
 * import { IamAuth, fromEnv } from "@elasticache-iam/connector";
 * import { createCluster } from "redis";
 * import { createIamCluster } from "@elasticache-iam/node-redis";
 *
 * const auth = new IamAuth({
 *   replicationGroupId: "my-cluster",
 *   userId: "my-user",
 *   region: "us-east-1",
 *   credentials: fromEnv(),
 * });
 * const cluster = createIamCluster(createCluster, {
 *   rootNodes: [{ url: "rediss://clustercfg.my-cluster.xxxxxx.use1.cache.amazonaws.com:6379" }],
 *   auth,
 * });
 * cluster.on("error", (error) => console.error(error));
 * await cluster.connect();
 * ```
 *
 * @example Against the local emulator in cluster mode
 * ```ts
 * import { createCluster } from "redis";
 * import { createIamCluster } from "./client.ts";
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
 * const cluster = createIamCluster(createCluster, {
 *   rootNodes: [{ url: `rediss://${emu.gateway.hostname}:${emu.gateway.port}` }],
 *   caCerts: emu.gateway.caCertPem!,
 *   auth,
 * });
 * cluster.on("error", (error) => console.error(error));
 * await cluster.connect();
 * await cluster.set("{user:1}:name", "Ada");
 * console.log(await cluster.get("{user:1}:name")); // "Ada"
 * await cluster.close();
 * ```
 */
export function createIamCluster<C extends NodeRedisCreateCluster>(
  createCluster: C,
  options: CreateIamClusterOptions<C>,
): ReturnType<C> {
  factoryArgument("createIamCluster", "createCluster", createCluster);
  const { iam, rest } = splitOptions<ClusterFields>(
    "createIamCluster",
    options,
    (fields) => Array.isArray(fields.rootNodes) ? fields.rootNodes : [],
  );
  const { defaults = {}, ...clusterOptions } = rest;
  rejectStaticCredentials("createIamCluster", defaults, "defaults");
  const rootNodes = clusterOptions.rootNodes;
  if (!Array.isArray(rootNodes) || rootNodes.length === 0) {
    throw new TypeError(
      "Cannot create the cluster client: 'rootNodes' must list at least one node",
    );
  }
  const defaultSocket = defaults.socket as SocketFields | undefined;
  const rootTls = rootNodes.map((node) => {
    rejectStaticCredentials("createIamCluster", node, "a root node");
    const nodeSocket = { ...defaultSocket, ...(node.socket as SocketFields | undefined) };
    return secureSocket("createIamCluster", node.url, nodeSocket, iam).tls;
  });
  // node-redis reaches the nodes it discovers with `defaults.socket`: they
  // are reached as the root nodes are (redis:// root nodes on loopback, as
  // the local emulator's, make a plaintext cluster), and one way only.
  const tls = defaultSocket?.tls ?? rootTls[0]!;
  if (rootTls.some((nodeTls) => nodeTls !== tls)) {
    throw new TypeError(
      "Cannot createIamCluster: the root nodes and 'defaults.socket.tls' mix TLS and plaintext, " +
        "but node-redis reaches every node of the cluster the same way: use rediss:// for all " +
        "(or redis:// for all, for a test server on loopback)",
    );
  }
  const { socket } = secureSocket("createIamCluster", undefined, { ...defaultSocket, tls }, iam);
  if (!tls && !iam.allowPlaintext) {
    clusterOptions.nodeAddressMap = loopbackOnly(clusterOptions.nodeAddressMap);
  }
  const perConnection = {
    ...providerOptions(iam, (error) => cluster.emit("error", error)),
    label: "a cluster node",
  };
  const clientDefaults = { ...defaults, socket };
  // node-redis spreads `defaults` into the options of every connection it
  // opens (node, discovery and pub/sub clients alike): the getter runs once
  // per connection and hands each its own provider.
  Object.defineProperty(clientDefaults, "credentialsProvider", {
    enumerable: true,
    get: () => iamCredentialsProvider(iam.auth, perConnection),
  });
  const cluster = createCluster({ RESP: 3, ...clusterOptions, defaults: clientDefaults });
  return cluster as ReturnType<C>;
}

/**
 * Wraps node-redis's `nodeAddressMap` so that a plaintext cluster reaches
 * only nodes on loopback: a node announced (or mapped) elsewhere is refused
 * before any byte, and so any token, is sent to it.
 */
function loopbackOnly(map: NodeAddressMap | undefined): NodeAddressMap {
  return (address) => {
    const mapped = typeof map === "function" ? map(address) : map?.[address];
    const host = mapped?.host ?? address.slice(0, Math.max(0, address.lastIndexOf(":")));
    // A node that announces no address (a one-node cluster) is reached on localhost.
    if (host !== "" && !isLoopback(host)) {
      throw new TypeError(
        `Cannot connect to the cluster node at ${host}: its connection would be plaintext (the ` +
          `root nodes are redis://, on loopback), but IAM authentication needs TLS off ` +
          `loopback: use rediss:// root nodes, or set 'allowPlaintext' for a test server`,
      );
    }
    return mapped;
  };
}

/**
 * A node-redis `reconnectStrategy` for IAM connections: exponential backoff
 * with jitter; after the server refused a token (`WRONGPASS`), a fresh token
 * is minted and the backoff is slower. It gives up, so that `connect()`
 * rejects, on a socket timeout and on a TLS certificate the runtime rejects
 * (a wrong CA or host name is not fixed by retrying). The strategy
 * {@linkcode createIamClient} sets also gives up when the server speaks TLS to a
 * plaintext client, and, before the client was first ready, when the server
 * refuses a freshly minted token too.
 *
 * @param auth The token manager to refresh after a refusal.
 * @returns The strategy, for `socket.reconnectStrategy`.
 *
 * @example
 * ```ts
 * import { iamReconnectStrategy } from "./client.ts";
 *
 * const strategy = iamReconnectStrategy({ credentials: () => Promise.resolve({ password: "token" }) });
 * const delay = strategy(0, new Error("ECONNRESET"));
 * console.log(typeof delay === "number" && delay <= 100); // true
 * ```
 */
export function iamReconnectStrategy(
  auth: AuthProvider,
): (retries: number, cause: Error) => number | false | Error {
  return reconnectStrategy(auth, undefined);
}

/** What the reconnect strategy of {@linkcode createIamClient} knows about its client. */
interface ClientContext {
  /** `host:port`, for error messages. */
  readonly label: string;
  /** How many times the client has been ready. */
  readyCount(): number;
  /** The last `error` event of the client. */
  lastError(): Error | undefined;
  /** The client's credentials provider, told about refused handshakes. */
  provider(): IamCredentialsProvider;
  /** Emits an `error` event on the client. */
  report(error: Error): void;
  /**
   * The reconnect strategy decided after a connection was lost or an attempt
   * failed: a pause in ms, or to give up.
   */
  retrying(retries: number, decision: number | false | Error, cause: Error): void;
}

/** Node's codes for a certificate it rejected (`tls.connect`'s verify errors). */
const CERTIFICATE_CODE =
  /^(ERR_TLS_|CERT_|UNABLE_TO_(GET|DECRYPT|DECODE|VERIFY)_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|INVALID_CA$|PATH_LENGTH_EXCEEDED$|INVALID_PURPOSE$|HOSTNAME_MISMATCH$|ERROR_IN_CERT_|OUT_OF_MEM$)/;

function reconnectStrategy(
  auth: AuthProvider,
  context: ClientContext | undefined,
): (retries: number, cause: Error) => number | false | Error {
  const label = context?.label ?? "the server";
  // Without a client's provider to tell, a refusal mints a fresh token into
  // the token manager's cache, where the next connect finds it.
  const standalone = context === undefined
    ? new ConnectionAuth({
      provider: auth,
      reauthAfter: false,
      label,
      timers: backgroundTimers,
      now: Date.now,
    })
    : undefined;
  return (retries, cause) => {
    if (cause?.name === "SocketTimeoutError") return false;
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === "string" && CERTIFICATE_CODE.test(code)) {
      return new Error(
        `Cannot connect to ${label}: the server's TLS certificate was rejected (${code}: ` +
          `${cause.message}); check 'caCerts' and the host name`,
        { cause },
      );
    }
    if (
      context !== undefined && context.readyCount() === 0 &&
      cause?.message === "Socket closed unexpectedly" &&
      /Unknown RESP type 2[12]\b/.test(context.lastError()?.message ?? "")
    ) {
      return new Error(
        `Cannot connect to ${label}: the server speaks TLS, but the client connected in ` +
          `plaintext; use rediss:// (or socket.tls: true)`,
        { cause: context.lastError() },
      );
    }
    if (isRefusal(cause)) {
      // The next attempt's subscribe() answers with a freshly minted token;
      // a refusal of that one is final.
      let final;
      try {
        final = context !== undefined
          ? context.provider().refused(cause)
          : standalone!.handshakeRefused(cause);
      } catch {
        // A disposed token manager: the next attempt reports it.
      }
      if (final !== undefined) {
        context?.report(final);
        if (context?.readyCount() === 0) return final;
      }
      return backoffDelay(retries, 1000, 30_000);
    }
    return backoffDelay(retries, 100, 5000);
  };
}

/** The IAM options with the token source settled. */
type ResolvedIam = IamConnectionOptions & { auth: AuthProvider };

/**
 * Separates the IAM options from node-redis's, and settles the token source:
 * `auth`, or the IAM user a URL names (its user name is then removed from the
 * URL node-redis gets, so that node-redis never sends it as a static user).
 */
function splitOptions<T extends object>(
  caller: string,
  options: unknown,
  urls: (rest: T) => { url?: string | undefined }[],
): { iam: ResolvedIam; rest: T } {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${caller}: 'options' must be an object with 'auth' or a 'url' naming the IAM user`,
    );
  }
  const {
    auth,
    credentials,
    region,
    reauthAfter,
    caCerts,
    onReAuthenticationError,
    allowPlaintext,
    timers,
    ...rest
  } = options as IamConnectionOptions;
  const holders = urls(rest as T).filter((holder) => typeof holder?.url === "string");
  let source = auth;
  if (source === undefined) {
    const named = holders.find((holder) => /^[a-z]+:\/\/[^/@]+@/i.test(holder.url!));
    if (named === undefined) {
      throw new TypeError(
        `Cannot ${caller}: give 'auth' (such as an IamAuth), or a 'url' that names the IAM ` +
          `user: rediss://USER@HOST:PORT`,
      );
    }
    source = endpointAuth(`Cannot ${caller}`, named.url!, credentials, region);
  } else if (credentials !== undefined || region !== undefined) {
    throw new TypeError(
      `Cannot ${caller}: '${
        credentials !== undefined ? "credentials" : "region"
      }' applies to the IAM user a 'url' names; with 'auth', set it on the IamAuth`,
    );
  }
  if (source === null || typeof source !== "object" || typeof source.credentials !== "function") {
    throw new TypeError(
      `Cannot ${caller}: 'auth' must be an IamAuth (or an object with a credentials() method)`,
    );
  }
  for (const holder of holders) holder.url = withoutUser(caller, holder.url!, auth === undefined);
  rejectStaticCredentials(caller, rest, "the options");
  const iam: ResolvedIam = { auth: source };
  if (reauthAfter !== undefined) iam.reauthAfter = reauthAfter;
  if (caCerts !== undefined) iam.caCerts = caCerts;
  if (onReAuthenticationError !== undefined) iam.onReAuthenticationError = onReAuthenticationError;
  if (allowPlaintext !== undefined) iam.allowPlaintext = allowPlaintext;
  if (timers !== undefined) iam.timers = timers;
  return { iam, rest: rest as T };
}

/**
 * A URL without the IAM user's name, which the token source now carries. A
 * password, or a user next to an explicit `auth`, is refused (never shown).
 */
function withoutUser(caller: string, url: string, userIsIam: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Cannot ${caller}: 'url' is not a URL (expected rediss://host:port)`);
  }
  if (parsed.password !== "" || (parsed.username !== "" && !userIsIam)) {
    throw new TypeError(
      `Cannot ${caller}: 'url' carries a ${
        parsed.password !== "" ? "password" : "user next to 'auth'"
      }, but the IAM credentials provider supplies the user and token; remove it from the URL`,
    );
  }
  parsed.username = "";
  return parsed.href.replace(/\/$/, "");
}

function providerOptions(
  iam: ResolvedIam,
  emitError: (error: Error) => void,
): IamCredentialsProviderOptions {
  const options: IamCredentialsProviderOptions = {
    onReAuthenticationError: iam.onReAuthenticationError ?? emitError,
  };
  if (iam.reauthAfter !== undefined) options.reauthAfter = iam.reauthAfter;
  if (iam.timers !== undefined) options.timers = iam.timers;
  return options;
}

function rejectStaticCredentials(caller: string, options: object, where: string): void {
  for (const key of ["username", "password", "credentialsProvider"]) {
    if ((options as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(
        `Cannot ${caller}: ${where} set '${key}', but the IAM credentials provider supplies ` +
          `the user and token; pass 'auth' only`,
      );
    }
  }
}

/**
 * Checks that the connection will use TLS (or is plaintext to loopback, or
 * allowed), and returns the socket options with TLS, the CA certificates and
 * the reconnect strategy set.
 */
function secureSocket(
  caller: string,
  url: string | undefined,
  socket: SocketFields | undefined,
  iam: ResolvedIam,
  context?: (label: string) => ClientContext,
): { socket: SocketFields; label: string; tls: boolean } {
  const result: SocketFields = { ...socket };
  let host: string;
  let tls: boolean;
  let port: number | undefined = socket?.port;
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`Cannot ${caller}: 'url' is not a URL (expected rediss://host:port)`);
    }
    if (parsed.protocol !== "rediss:" && parsed.protocol !== "redis:") {
      throw new TypeError(
        `Cannot ${caller}: 'url' must start with rediss:// (or redis:// for a loopback test server), got ${
          describe(`${parsed.protocol}//`)
        }`,
      );
    }
    host = parsed.hostname;
    tls = parsed.protocol === "rediss:";
    if (socket?.tls !== undefined && socket.tls !== tls) {
      throw new TypeError(
        `Cannot ${caller}: 'url' is ${parsed.protocol}// but 'socket.tls' is ${socket.tls}: ` +
          `give one of them (rediss:// is TLS)`,
      );
    }
    if (parsed.port !== "") port = Number(parsed.port);
  } else {
    if (socket?.path === undefined && socket?.host !== undefined) {
      checkHost(`Cannot ${caller}`, "socket.host", socket.host);
    }
    host = socket?.path !== undefined ? "localhost" : socket?.host ?? "localhost";
    tls = socket?.path !== undefined ? socket?.tls ?? false : socket?.tls ?? true;
    if (socket?.path === undefined) result.tls = tls;
  }
  if (!tls && !iam.allowPlaintext && !isLoopback(host)) {
    throw new TypeError(
      `Cannot ${caller}: the connection to ${host} would be plaintext, but IAM authentication ` +
        `needs TLS: use rediss:// (or socket.tls: true), or set 'allowPlaintext' for a test server`,
    );
  }
  if (tls && iam.caCerts !== undefined) {
    result.ca = typeof iam.caCerts === "string" ? iam.caCerts : [...iam.caCerts];
  }
  const label = `${host}:${port ?? 6379}`;
  const client = context?.(label);
  const strategy = reconnectStrategy(iam.auth, client);
  result.reconnectStrategy ??= client === undefined
    ? strategy
    : (retries: number, cause: Error) => {
      const decision = strategy(retries, cause);
      client.retrying(retries, decision, cause);
      return decision;
    };
  return { socket: result, label, tls };
}
