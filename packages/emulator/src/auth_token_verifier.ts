/**
 * Verifies an IAM auth token the way ElastiCache and MemoryDB do: the
 * presigned URL's shape, credential scope, lifetime, host, user and
 * `ResourceType`, the keys that signed it, the recomputed SigV4 signature,
 * and the caller's permission to connect to both the cache and the user.
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";
import {
  cacheUserArn,
  type Principal,
  type ResolvedCache,
  type ResolvedConfig,
  type ResolvedUser,
} from "./config.ts";
import type { CredentialStore } from "./credential_store.ts";
import { evaluatePolicies } from "./iam_policy.ts";
import {
  canonicalQuery,
  computeSignature,
  parseAmzDate,
  SIGV4_ALGORITHM,
  timingSafeEqual,
} from "./sigv4.ts";

/** What a token is checked against. */
export interface TokenCheckContext {
  /** The resolved configuration. */
  readonly config: ResolvedConfig;
  /** The known keys. */
  readonly credentials: CredentialStore;
  /** The emulator's time, in ms. */
  readonly now: number;
  /**
   * The cache whose endpoint received the token: a token for any other cache
   * is refused, as each ElastiCache endpoint serves only its own cache.
   * Without it, any configured cache is accepted.
   */
  readonly cache?: ResolvedCache;
}

/** The outcome of a token check: the connection's cache, user and caller, or why it failed. */
export type TokenVerdict =
  | {
    readonly ok: true;
    /** The cache the token is for. */
    readonly cache: ResolvedCache;
    /** The user it authenticates. */
    readonly user: ResolvedUser;
    /** Who signed it. */
    readonly principal: Principal;
  }
  | {
    readonly ok: false;
    /** Why the token was refused, without any secret (for the emulator's log). */
    readonly reason: string;
  };

const KNOWN_PARAMETERS = new Set([
  "Action",
  "User",
  "ResourceType",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
]);

const TOKEN_SHAPE = /^([^/?#\s]+)\/\?([^#\s]+)$/;
const MAX_EXPIRES_SECONDS = 900;
const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * Checks `AUTH <username> <token>` as ElastiCache / MemoryDB would.
 *
 * @param username The user name given to `AUTH` or `HELLO … AUTH`.
 * @param token The password given with it.
 * @param context The configuration, keys and time to check against.
 * @returns The verdict; a refusal carries its reason, never a secret.
 *
 * @example A token for a cache the emulator does not know is refused
 * ```ts
 * import { verifyAuthToken } from "./auth_token_verifier.ts";
 * import { resolveConfig } from "./config.ts";
 * import { CredentialStore } from "./credential_store.ts";
 *
 * const config = resolveConfig({}, "http://127.0.0.1:1");
 * const verdict = await verifyAuthToken("iam-user-01", "other-cache/?Action=connect", {
 *   config,
 *   credentials: new CredentialStore(config),
 *   now: Date.now(),
 * });
 * console.log(verdict.ok); // false
 * ```
 */
export async function verifyAuthToken(
  username: string,
  token: string,
  context: TokenCheckContext,
): Promise<TokenVerdict> {
  try {
    return await check(username, token, context);
  } catch (error) {
    return refuse(`token could not be checked (${(error as Error).name})`);
  }
}

async function check(
  username: string,
  token: string,
  { config, credentials, now, cache: served }: TokenCheckContext,
): Promise<TokenVerdict> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(token)) {
    return refuse("token starts with a URL scheme; the scheme must be stripped");
  }
  const shape = TOKEN_SHAPE.exec(token);
  if (shape === null) return refuse("token is not a presigned URL of the form '<cache>/?<query>'");
  const host = shape[1]!;
  const params = new Map<string, string>();
  for (const pair of shape[2]!.split("&")) {
    const equals = pair.indexOf("=");
    if (equals <= 0) return refuse(`token has a malformed query parameter`);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(pair.slice(0, equals));
      value = decodeURIComponent(pair.slice(equals + 1));
    } catch {
      return refuse("token has a malformed percent-encoding");
    }
    if (!KNOWN_PARAMETERS.has(name)) {
      return refuse(`token has an unexpected parameter ${describe(name)}`);
    }
    if (params.has(name)) return refuse(`token repeats the parameter ${describe(name)}`);
    params.set(name, value);
  }
  for (
    const required of [
      "Action",
      "User",
      "X-Amz-Algorithm",
      "X-Amz-Credential",
      "X-Amz-Date",
      "X-Amz-Expires",
      "X-Amz-SignedHeaders",
      "X-Amz-Signature",
    ]
  ) {
    if (!params.has(required)) return refuse(`token has no '${required}' parameter`);
  }
  const action = params.get("Action")!;
  if (action !== "connect") return refuse(`token Action is ${describe(action)}, not 'connect'`);
  const tokenUser = params.get("User")!;
  if (tokenUser !== username) {
    return refuse(
      `token User ${describe(tokenUser)} differs from the AUTH user name ${describe(username)}`,
    );
  }

  if (served !== undefined && host !== served.name) {
    return refuse(
      `token is for cache ${describe(host)}, but this endpoint serves cache ${
        describe(served.name)
      }; sign the token for the cache you connect to`,
    );
  }
  const candidates = served !== undefined
    ? [served]
    : config.caches.filter((cache) => cache.name === host);
  if (candidates.length === 0) {
    return refuse(
      `token host ${describe(host)} is not a configured cache name (${
        config.caches.map((c) => c.name).join(", ")
      })`,
    );
  }
  const algorithm = params.get("X-Amz-Algorithm")!;
  if (algorithm !== SIGV4_ALGORITHM) {
    return refuse(`token algorithm ${describe(algorithm)} is not SigV4`);
  }
  const scopeParts = params.get("X-Amz-Credential")!.split("/");
  if (scopeParts.length !== 5 || scopeParts[4] !== "aws4_request") {
    return refuse("token credential is not '<key>/<date>/<region>/<service>/aws4_request'");
  }
  const [accessKeyId, scopeDate, region, service] = scopeParts as [string, string, string, string];
  const amzDate = params.get("X-Amz-Date")!;
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return refuse(`token X-Amz-Date ${describe(amzDate)} is malformed`);
  if (scopeDate !== amzDate.slice(0, 8)) {
    return refuse(
      `token credential scope date ${describe(scopeDate)} does not match X-Amz-Date ${
        describe(amzDate)
      }`,
    );
  }
  const inRegion = candidates.filter((cache) => cache.region === region);
  if (inRegion.length === 0) {
    return refuse(
      `token region ${describe(region)} is not the region of cache ${describe(host)} (${
        candidates.map((c) => c.region).join(", ")
      })`,
    );
  }
  const cache = inRegion.find((c) => c.service === service);
  if (cache === undefined) {
    return refuse(
      `token service ${describe(service)} is not the service of cache ${describe(host)} (${
        inRegion.map((c) => c.service).join(", ")
      })`,
    );
  }
  const resourceType = params.get("ResourceType");
  if (cache.kind === "serverless") {
    if (resourceType !== "ServerlessCache") {
      return refuse(
        resourceType === undefined
          ? `token for serverless cache ${describe(host)} has no ResourceType=ServerlessCache`
          : `token ResourceType ${describe(resourceType)} is not 'ServerlessCache'`,
      );
    }
  } else if (resourceType !== undefined) {
    return refuse(
      `token has ResourceType ${describe(resourceType)} but ${describe(host)} is not serverless`,
    );
  }
  const signedHeaders = params.get("X-Amz-SignedHeaders")!;
  if (signedHeaders !== "host") {
    return refuse(`token signed headers are ${describe(signedHeaders)}, not 'host'`);
  }
  const expiresText = params.get("X-Amz-Expires")!;
  const expires = /^\d{1,6}$/.test(expiresText) ? Number(expiresText) : NaN;
  if (!(expires >= 1 && expires <= MAX_EXPIRES_SECONDS)) {
    return refuse(`token X-Amz-Expires ${describe(expiresText)} is not 1 to 900 seconds`);
  }
  const expiresAt = signedAt + expires * 1000;
  if (now > expiresAt) {
    return refuse(
      `token expired at ${iso(expiresAt)} (signed ${iso(signedAt)}, now ${iso(now)})`,
    );
  }
  if (signedAt > now + config.maxClockSkewMs) {
    return refuse(`token is signed at ${iso(signedAt)}, in the future (now ${iso(now)})`);
  }

  const user = config.users.get(tokenUser);
  if (user === undefined) return refuse(`user ${describe(tokenUser)} is not a configured IAM user`);
  if (!cache.userIds.has(user.userId)) {
    return refuse(
      `user ${describe(tokenUser)} is not in the user group of cache ${describe(host)}`,
    );
  }
  if (!user.enabled) return refuse(`user ${describe(tokenUser)} is disabled by its access string`);

  const keys = credentials.get(accessKeyId);
  if (keys === undefined) return refuse(`access key ${describe(accessKeyId)} is not known`);
  const sessionToken = params.get("X-Amz-Security-Token");
  if (keys.sessionToken === undefined) {
    if (sessionToken !== undefined) {
      return refuse(
        `token carries a session token but ${describe(accessKeyId)} is a long-term key`,
      );
    }
  } else if (sessionToken === undefined) {
    return refuse(`token has no session token but ${describe(accessKeyId)} is a temporary key`);
  } else if (!timingSafeEqual(sessionToken, keys.sessionToken)) {
    return refuse(`token session token does not belong to ${describe(accessKeyId)}`);
  }
  if (keys.expiration !== undefined && now >= keys.expiration) {
    return refuse(`credentials ${describe(accessKeyId)} expired at ${iso(keys.expiration)}`);
  }

  const unsigned = [...params].filter(([name]) => name !== "X-Amz-Signature");
  const canonicalRequest = [
    "GET",
    "/",
    canonicalQuery(unsigned),
    `host:${host}`,
    "",
    "host",
    EMPTY_PAYLOAD_SHA256,
  ].join("\n");
  const expected = await computeSignature(
    keys.secretAccessKey,
    amzDate,
    scopeParts.slice(1).join("/"),
    canonicalRequest,
  );
  if (!timingSafeEqual(expected, params.get("X-Amz-Signature")!)) {
    return refuse("signature mismatch");
  }

  const userArn = cacheUserArn(cache, user.userId, config.accountId);
  for (const resource of [cache.arn, userArn]) {
    const decision = evaluatePolicies(keys.principal.policies, {
      action: cache.action,
      resource,
      context: {
        "aws:PrincipalArn": keys.principal.baseArn,
        "aws:PrincipalAccount": keys.principal.accountId,
        "aws:RequestedRegion": cache.region,
      },
    });
    if (decision !== "allow") {
      return refuse(
        `${keys.principal.arn} is not allowed ${cache.action} on ${resource} (${decision})`,
      );
    }
  }
  return { ok: true, cache, user, principal: keys.principal };
}

function refuse(reason: string): TokenVerdict {
  return { ok: false, reason };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
