/**
 * The ElastiCache / MemoryDB IAM auth token: a SigV4 query-presigned
 * `GET https://<cacheName>/?Action=connect&User=<userId>` with the scheme
 * stripped, signed with WebCrypto through `aws4fetch`.
 *
 * @module
 */
import type { AwsCredentials, CredentialsInput } from "./credentials/types.ts";
import { DEFAULT_CREDENTIALS_TIMEOUT, resolveCredentials } from "./credentials/resolve.ts";
import type { Timers } from "./client/timers.ts";
import { describe, timeoutOption, timersOption } from "./_checks.ts";
import { presignSigner } from "./presign_signer.ts";

/**
 * The longest life of an IAM auth token, in seconds (15 minutes).
 *
 * @example
 * ```ts
 * import { createAuthToken, MAX_TOKEN_LIFETIME_SECONDS } from "./token.ts";
 *
 * const token = await createAuthToken({
 *   replicationGroupId: "my-group",
 *   userId: "my-user",
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *   expiresIn: MAX_TOKEN_LIFETIME_SECONDS,
 * });
 * console.log(new URL(`https://${token}`).searchParams.get("X-Amz-Expires")); // "900"
 * ```
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 900;

/** The cache a token is for: exactly one of these three names. */
export type CacheTarget =
  | { replicationGroupId: string; serverlessCacheName?: never; memoryDbClusterName?: never }
  | { serverlessCacheName: string; replicationGroupId?: never; memoryDbClusterName?: never }
  | { memoryDbClusterName: string; replicationGroupId?: never; serverlessCacheName?: never };

/** What a token is signed for, apart from the credentials and the time. */
export type TokenTargetOptions = CacheTarget & {
  /** The ElastiCache / MemoryDB user id (for IAM users it equals the user name). Lowercased before signing. */
  userId: string;
  /** The AWS region of the cache, such as `us-east-1`. */
  region: string;
};

/** Options of {@linkcode createAuthToken}. */
export type AuthTokenOptions = TokenTargetOptions & {
  /** The AWS credentials to sign with: keys, or an AWS SDK-style provider function. */
  credentials: CredentialsInput;
  /**
   * How long the token is valid, in seconds (1 to 900).
   *
   * @default {900}
   */
  expiresIn?: number;
  /**
   * The signing time.
   *
   * @default {new Date()}
   */
  signingDate?: Date;
  /**
   * How long a credentials provider may take to answer, in milliseconds; one
   * that has not answered by then fails the call with a `CredentialsError`.
   * A positive number up to 2147483647, or `Infinity` to wait as long as it
   * takes. Unused when `credentials` are keys.
   *
   * @default {5000}
   */
  credentialsTimeout?: number;
  /**
   * The timers that bound the credentials provider (see `credentialsTimeout`); tests fire them by hand.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
};

/** A validated, normalized token target. */
export interface NormalizedTarget {
  /** The lowercased cache name: the host of the signed URL. */
  cacheName: string;
  /** The lowercased user id. */
  userId: string;
  /** The region. */
  region: string;
  /** `elasticache` or `memorydb`. */
  service: "elasticache" | "memorydb";
  /** Whether the cache is an ElastiCache Serverless cache (`ResourceType=ServerlessCache`). */
  serverless: boolean;
}

/**
 * What a lowercased cache name looks like (a replication group id, a
 * serverless cache name or a MemoryDB cluster name): a letter, then letters
 * and digits, with single hyphens between them. The emulator checks its
 * configured names against it too.
 */
export const CACHE_NAME_PATTERN: RegExp = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** What a lowercased ElastiCache user id looks like: a letter, then letters, digits or hyphens, optionally after `default.`. */
export const USER_ID_PATTERN: RegExp = /^(default\.)?[a-z][a-z0-9-]*$/;
/** What an AWS region name looks like: `us-east-1`, `cn-north-1`, `us-gov-west-1`. */
export const REGION_PATTERN: RegExp = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const TARGET_KEYS = ["replicationGroupId", "serverlessCacheName", "memoryDbClusterName"] as const;

/**
 * Checks and normalizes what a token is for, without signing anything.
 * Names are lowercased, then matched against ElastiCache's naming rules.
 *
 * @param options The target options.
 * @returns The normalized target.
 * @throws {TypeError} When a name is missing, malformed, or not exactly one cache name is given.
 *
 * @example
 * ```ts
 * import { normalizeTarget } from "./token.ts";
 *
 * const target = normalizeTarget({ replicationGroupId: "My-Group", userId: "App", region: "us-east-1" });
 * console.log(target.cacheName, target.userId); // "my-group" "app"
 * ```
 */
export function normalizeTarget(options: TokenTargetOptions): NormalizedTarget {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot sign token: options must be an object, got ${describe(options)}`);
  }
  const given = TARGET_KEYS.filter((key) => options[key] !== undefined);
  if (given.length !== 1) {
    throw new TypeError(
      `Cannot sign token: give exactly one of 'replicationGroupId', 'serverlessCacheName' or ` +
        `'memoryDbClusterName', got ${given.length === 0 ? "none" : given.join(" and ")}`,
    );
  }
  const key = given[0]!;
  const cacheName = lowercased(key, options[key]);
  if (!CACHE_NAME_PATTERN.test(cacheName)) {
    throw new TypeError(
      `Cannot sign token: '${key}' must be a cache name (letters, digits and single hyphens, ` +
        `starting with a letter; not an endpoint host name), got ${describe(options[key])}`,
    );
  }
  const userId = lowercased("userId", options.userId);
  if (!USER_ID_PATTERN.test(userId)) {
    throw new TypeError(
      `Cannot sign token: 'userId' must be an ElastiCache user id (a letter, then letters, digits ` +
        `or hyphens, optionally prefixed with 'default.'), got ${describe(options.userId)}`,
    );
  }
  if (typeof options.region !== "string" || !REGION_PATTERN.test(options.region)) {
    throw new TypeError(
      `Cannot sign token: 'region' must be an AWS region such as 'us-east-1', got ${
        describe(options.region)
      }`,
    );
  }
  return {
    cacheName,
    userId,
    region: options.region,
    service: key === "memoryDbClusterName" ? "memorydb" : "elasticache",
    serverless: key === "serverlessCacheName",
  };
}

/**
 * Checks a token lifetime in seconds.
 *
 * @param expiresIn The lifetime, or undefined for the default of 900.
 * @returns The lifetime in seconds.
 * @throws {RangeError} When it is not a whole number from 1 to 900.
 */
export function normalizeExpiresIn(expiresIn: number | undefined): number {
  if (expiresIn === undefined) return MAX_TOKEN_LIFETIME_SECONDS;
  if (
    typeof expiresIn !== "number" || !Number.isInteger(expiresIn) || expiresIn < 1 ||
    expiresIn > MAX_TOKEN_LIFETIME_SECONDS
  ) {
    throw new RangeError(
      `Cannot sign token: 'expiresIn' must be a whole number of seconds from 1 to 900, got ${
        describe(expiresIn)
      }`,
    );
  }
  return expiresIn;
}

/**
 * Creates an ElastiCache / MemoryDB IAM auth token: the password for
 * `AUTH <userId> <token>` or `HELLO 3 AUTH <userId> <token>`.
 *
 * Names are lowercased and validated before anything is signed. The token is
 * valid for `expiresIn` seconds from `signingDate`, and only while the
 * credentials that signed it are valid.
 *
 * @param options The cache, user, region, credentials and lifetime.
 * @returns The token: the presigned URL without its scheme.
 * @throws {TypeError} When a name, the region, the credentials or `timers` are malformed.
 * @throws {RangeError} When `expiresIn` is outside 1..900, `signingDate` is invalid or
 * `credentialsTimeout` is out of range.
 * @throws {CredentialsError} When the credentials provider fails or does not answer within `credentialsTimeout`.
 *
 * @example Signing with fixed keys at a fixed time
 * ```ts
 * import { createAuthToken } from "./token.ts";
 *
 * const token = await createAuthToken({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
 *   signingDate: new Date("2026-11-23T12:00:00Z"),
 * });
 * console.log(token.startsWith("replication-group-01/?Action=connect&User=iam-user-01&")); // true
 * ```
 */
export async function createAuthToken(options: AuthTokenOptions): Promise<string> {
  const target = normalizeTarget(options);
  const expiresIn = normalizeExpiresIn(options.expiresIn);
  const signingDate = normalizeSigningDate(options.signingDate);
  const timeout = timeoutOption(
    "Cannot sign token",
    "credentialsTimeout",
    options.credentialsTimeout,
    DEFAULT_CREDENTIALS_TIMEOUT,
  );
  const timers = timersOption("Cannot sign token", options.timers);
  const credentials = await resolveCredentials(options.credentials, { timeout, timers });
  return await signToken(target, credentials, expiresIn, signingDate);
}

/**
 * Signs a token for an already normalized target with resolved credentials.
 * The token manager calls this once per refresh.
 *
 * @param target The normalized target.
 * @param credentials The resolved credentials.
 * @param expiresIn The lifetime in seconds (already checked).
 * @param signingDate The signing time (already checked).
 * @param keyCache Where aws4fetch may keep derived signing keys between calls
 * (one per secret key, day, region and service); the caller owns and bounds it.
 * @returns The token.
 */
export async function signToken(
  target: NormalizedTarget,
  credentials: AwsCredentials,
  expiresIn: number,
  signingDate: Date,
  keyCache?: Map<string, ArrayBuffer>,
): Promise<string> {
  const url = new URL(`https://${target.cacheName}/`);
  url.searchParams.set("Action", "connect");
  url.searchParams.set("User", target.userId);
  if (target.serverless) url.searchParams.set("ResourceType", "ServerlessCache");
  url.searchParams.set("X-Amz-Expires", String(expiresIn));
  const signer = presignSigner({
    url: url.toString(),
    method: "GET",
    service: target.service,
    region: target.region,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    datetime: amzDate(signingDate),
    signQuery: true,
    ...(keyCache ? { cache: keyCache } : {}),
  });
  const signed = await signer.sign();
  return `${target.cacheName}/?${serializeQuery(signed.url.searchParams)}`;
}

/** The order botocore writes a token's parameters in; the signature comes last. */
const PARAMETER_ORDER = [
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
];

/** Writes the query with the encoding SigV4 signed (RFC 3986), not `URLSearchParams`' form encoding. */
function serializeQuery(params: URLSearchParams): string {
  const parts: string[] = [];
  for (const name of PARAMETER_ORDER) {
    const value = params.get(name);
    if (value !== null) parts.push(`${encodeRfc3986(name)}=${encodeRfc3986(value)}`);
  }
  return parts.join("&");
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `20261123T120000Z` from a date. */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

function normalizeSigningDate(date: Date | undefined): Date {
  if (date === undefined) return new Date();
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new RangeError(
      `Cannot sign token: 'signingDate' must be a valid Date, got ${describe(date)}`,
    );
  }
  return date;
}

function lowercased(name: string, value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot sign token: '${name}' must be a non-empty string, got ${describe(value)}`,
    );
  }
  return value.toLowerCase();
}
