/**
 * Connection options read from an endpoint URL, as the AWS console shows it:
 * `rediss://iam-user-01@master.my-group.abc123.use1.cache.amazonaws.com:6379`
 * gives the host, the port, TLS, and, from the user name, IAM authentication
 * for that user on the cache the host names (cache kind, name and region read
 * from the host). The one home of this rule for the thin client and the
 * cluster client.
 *
 * The token manager is loaded on the first connect, not here: the Workers
 * entry point, which shares the client class, loads no npm package until it
 * signs.
 *
 * @module
 */

import type { AuthCredentials, AuthProvider } from "../auth/types.ts";
import type { CredentialsInput } from "../credentials/types.ts";
import { type ParsedEndpoint, readEndpoint } from "../endpoint.ts";

/** The options that name an endpoint by URL, shared by `connect` and `connectCluster`. */
export interface UrlOptions {
  /**
   * The endpoint as a URL: `rediss://USER@HOST:PORT` (or `redis://` for
   * plaintext, `valkeys://`, `valkey://`). It gives `host`, `port` and `tls`;
   * its user name is the IAM user id, and with it the client authenticates
   * with IAM auth tokens for the cache the host names (an ElastiCache or
   * MemoryDB endpoint: its kind, name and region are read from it). A
   * password in the URL is refused: pass static credentials as `auth`.
   * Options given explicitly (`host`, `port`, `tls`, `auth`, `region`) win.
   */
  url?: string;
  /**
   * The AWS credentials the IAM auth tokens are signed with, when the URL
   * names a user and `auth` is not given: keys, or a provider such as
   * `fromEnv()`, `fromWebIdentity()` or any AWS SDK credential provider.
   *
   * @default {defaultCredentials()}
   */
  credentials?: CredentialsInput;
  /**
   * The cache's region, for the URL's IAM authentication.
   *
   * @default {the endpoint's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`}
   */
  region?: string;
}

/** What a URL fills in: the address and, for a URL with a user, IAM authentication. */
export interface FromUrl {
  host?: string;
  port?: number;
  tls?: boolean;
  auth?: AuthProvider | AuthCredentials;
}

/**
 * Replaces `url`, `credentials` and `region` with what they mean: `host`,
 * `port`, `tls` and `auth`, explicit options winning. Checks everything it
 * can before any network work; the token manager itself is made on the first
 * connect.
 *
 * @param action What the caller does, for errors (`Cannot connect`).
 * @param options The caller's options.
 * @returns The options without `url`, `credentials` and `region`.
 * @throws {TypeError} When the URL is malformed or holds a password, when
 *   `credentials` or `region` are given without a URL user, or when the URL's
 *   host is not an ElastiCache or MemoryDB endpoint and `auth` is not given.
 *
 * @example
 * ```ts
 * import { expandUrl } from "./url_options.ts";
 *
 * const options = expandUrl("Cannot connect", {
 *   url: "rediss://app@master.my-group.abc123.use1.cache.amazonaws.com:6379",
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 * });
 * console.log(options.host, options.port, options.tls); // "master.my-group.abc123.use1.cache.amazonaws.com" 6379 true
 * console.log(typeof (options.auth as { credentials: unknown }).credentials); // "function"
 * ```
 */
export function expandUrl<T extends UrlOptions & FromUrl>(
  action: string,
  options: T,
): Omit<T, keyof UrlOptions> & FromUrl {
  if (options === null || typeof options !== "object") return options;
  const { url, credentials, region, ...rest } = options;
  if (url === undefined) {
    for (const [name, value] of [["credentials", credentials], ["region", region]] as const) {
      if (value !== undefined) {
        throw new TypeError(
          `${action}: '${name}' applies to the IAM authentication a 'url' with a user names ` +
            `(rediss://USER@HOST:PORT); without 'url', give 'auth' (such as new IamAuth({ … }))`,
        );
      }
    }
    return rest as Omit<T, keyof UrlOptions> & FromUrl;
  }
  const parsed = readEndpoint(action, "url", url);
  if (!/^[a-z]+:\/\//i.test(url.trim())) {
    throw new TypeError(
      `${action}: 'url' must be a redis:// or rediss:// URL (for a host name, give 'host')`,
    );
  }
  if (parsed.hasPassword) {
    throw new TypeError(
      `${action}: 'url' holds a password (not shown); with IAM the user name is enough, and ` +
        `static credentials go in 'auth': { username, password }`,
    );
  }
  const expanded: Record<string, unknown> = { ...rest };
  expanded.host ??= parsed.host.includes(":") ? `[${parsed.host}]` : parsed.host;
  if (parsed.port !== undefined) expanded.port ??= parsed.port;
  if (parsed.tls !== undefined) expanded.tls ??= parsed.tls;
  if (rest.auth !== undefined) {
    if (credentials !== undefined || region !== undefined) {
      throw new TypeError(
        `${action}: '${
          credentials !== undefined ? "credentials" : "region"
        }' and 'auth' both say how to authenticate; give one`,
      );
    }
    return expanded as Omit<T, keyof UrlOptions> & FromUrl;
  }
  if (parsed.userId === undefined) {
    if (credentials !== undefined || region !== undefined) {
      throw new TypeError(
        `${action}: the 'url' names no user, so there is nothing to sign IAM tokens for: ` +
          `write it as rediss://USER@HOST:PORT with the IAM-enabled user's id`,
      );
    }
    return expanded as Omit<T, keyof UrlOptions> & FromUrl;
  }
  expanded.auth = userAuth(action, parsed, url, credentials, region);
  return expanded as Omit<T, keyof UrlOptions> & FromUrl;
}

/**
 * The IAM authentication an endpoint URL with a user names: the token
 * manager for that user on the cache the host names, made (and its module
 * loaded) on the first connect. The one place the thin client, the cluster
 * client and the node-redis and ioredis integrations turn a URL into `auth`.
 *
 * @param action What the caller does, for errors.
 * @param url `rediss://USER@HOST[:PORT]`.
 * @param credentials The AWS credentials; by default `defaultCredentials()`.
 * @param region The region, when not the endpoint's.
 * @returns The auth provider.
 * @throws {TypeError} When the URL names no user, holds a password, or its
 *   host is not an ElastiCache or MemoryDB endpoint.
 *
 * @example
 * ```ts
 * import { endpointAuth } from "./url_options.ts";
 *
 * const auth = endpointAuth(
 *   "Cannot connect",
 *   "rediss://app@my-cache-abc123.serverless.use1.cache.amazonaws.com",
 *   { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 * );
 * console.log((await auth.credentials()).username); // "app"
 * ```
 */
export function endpointAuth(
  action: string,
  url: string,
  credentials?: CredentialsInput,
  region?: string,
): AuthProvider {
  const parsed = readEndpoint(action, "url", url);
  if (parsed.hasPassword) {
    throw new TypeError(
      `${action}: 'url' holds a password (not shown); with IAM the user name is enough`,
    );
  }
  if (parsed.userId === undefined) {
    throw new TypeError(
      `${action}: the 'url' names no user: write it as rediss://USER@HOST:PORT with the ` +
        `IAM-enabled user's id, or give 'auth'`,
    );
  }
  return userAuth(action, parsed, url, credentials, region);
}

/**
 * The token manager for a parsed URL that names a user, made on the first
 * connect: the part of {@linkcode endpointAuth} that `expandUrl`, which has
 * parsed and checked the URL already, shares.
 */
function userAuth(
  action: string,
  parsed: ParsedEndpoint,
  url: string,
  credentials: CredentialsInput | undefined,
  region: string | undefined,
): AuthProvider {
  if (parsed.cache === undefined) {
    throw new TypeError(
      `${action}: ${parsed.host} is not an ElastiCache or MemoryDB endpoint, so the cache's name ` +
        `and region cannot be read from the 'url'; give 'auth': new IamAuth({ endpoint, ` +
        `replicationGroupId (or serverlessCacheName, memoryDbClusterName), region, credentials })`,
    );
  }
  // With the default chain, every client of a URL shares one token manager: a
  // server or a Worker that connects per request mints (and asks STS) once per
  // token lifetime, not once per request.
  const key = credentials === undefined ? `${url.trim()}\n${region ?? ""}` : undefined;
  const shared = key === undefined ? undefined : SHARED.get(key);
  if (shared !== undefined) return shared;
  let made: Promise<AuthProvider> | undefined;
  const iam = () =>
    made ??= (async () => {
      const [{ IamAuth }, { defaultCredentials }] = await Promise.all([
        import("../iam_auth.ts"),
        import("../credentials/chain.ts"),
      ]);
      return new IamAuth({
        endpoint: url,
        credentials: credentials ?? defaultCredentials(),
        ...(region === undefined ? {} : { region }),
      });
    })().catch((error) => {
      made = undefined; // A bad region or an unreadable environment: tried again next time.
      throw error;
    });
  const provider: AuthProvider = {
    credentials: async () => (await iam()).credentials(),
    refresh: async () => {
      const auth = await iam();
      return await (auth.refresh ?? auth.credentials).call(auth);
    },
  };
  if (key !== undefined) {
    SHARED.set(key, provider);
    // Bounded: a program that connects to ever new URLs keeps the latest ones only.
    if (SHARED.size > MAX_SHARED) SHARED.delete(SHARED.keys().next().value!);
  }
  return provider;
}

/** The token managers of URLs signed with the default chain, by URL and region, oldest first. */
const SHARED = new Map<string, AuthProvider>();
/** How many URLs' token managers are kept for sharing. */
const MAX_SHARED = 64;

/**
 * The options of `connect(url, options)` or `connect(options)`, as one object.
 *
 * @param action What the caller does, for errors (`Cannot connect`).
 * @param target The endpoint URL, or the options.
 * @param options More options, after a URL.
 * @returns The options, with `url` set from a URL target.
 * @throws {TypeError} When options follow an options object.
 *
 * @example
 * ```ts
 * import { connectArguments } from "./url_options.ts";
 *
 * const options = connectArguments("Cannot connect", "rediss://app@host.example", { region: "us-east-1" });
 * console.log(options); // { region: "us-east-1", url: "rediss://app@host.example" }
 * ```
 */
export function connectArguments<T extends UrlOptions>(
  action: string,
  target: string | T,
  options: Omit<T, "url"> | undefined,
): T {
  if (typeof target === "string") {
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new TypeError(`${action}: the options after the URL must be an object`);
    }
    return { ...options, url: target } as T;
  }
  if (options !== undefined) {
    throw new TypeError(
      `${action}: give the options as one object, or a URL followed by the other options`,
    );
  }
  return target;
}
