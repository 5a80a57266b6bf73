/**
 * The ElastiCache / MemoryDB IAM auth token: a SigV4 query-presigned
 * `GET https://<cacheName>/?Action=connect&User=<userId>` with the scheme
 * stripped, signed with WebCrypto through `aws4fetch`. The cache's name and
 * region are given, or read from its endpoint (see `endpoint.ts`); the region
 * falls back to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the AWS
 * profile's `region` in the shared config files.
 *
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
import type { AwsCredentials, CredentialsInput } from "./credentials/types.ts";
import { DEFAULT_CREDENTIALS_TIMEOUT, resolveCredentials } from "./credentials/resolve.ts";
import type { Timers } from "./client/timers.ts";
import { describe, timeoutOption, timersOption } from "./_checks.ts";
import { withPresignHeaders } from "./cold_start.ts";
import { type ParsedEndpoint, readEndpoint } from "./endpoint.ts";
import { readEnv } from "./credentials/env.ts";
import { regionFromProfile } from "./credentials/shared_config.ts";

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

/**
 * What a token is signed for, apart from the credentials and the time: a
 * cache's name (one of {@linkcode CacheTarget}'s options), or an `endpoint`
 * to read it from, or both (what is given explicitly wins over what the
 * endpoint says).
 */
export type TokenTargetOptions =
  | (CacheTarget & {
    /**
     * The ElastiCache / MemoryDB user id (for IAM users it equals the user
     * name). Lowercased before signing.
     */
    userId: string;
    /**
     * The AWS region of the cache, such as `us-east-1`.
     *
     * @default {the endpoint's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the AWS profile's `region`}
     */
    region?: string;
    /**
     * The cache's endpoint: a host name or a `redis://` / `rediss://` URL (its
     * user name is the user id). The cache's name and region are read from it
     * when it is an ElastiCache or MemoryDB endpoint (see `parseEndpoint`).
     */
    endpoint?: string;
  })
  | (
    & (CacheTarget | {
      replicationGroupId?: never;
      serverlessCacheName?: never;
      memoryDbClusterName?: never;
    })
    & {
      /**
       * The cache's endpoint: a host name or a `redis://` / `rediss://` URL (its
       * user name is the user id). The cache's kind, name and region are read
       * from an ElastiCache or MemoryDB endpoint host name (see
       * `parseEndpoint`); any other host needs the cache's name (and a region)
       * given.
       */
      endpoint: string;
      /**
       * The ElastiCache / MemoryDB user id. Lowercased before signing.
       *
       * @default {the user name of the `endpoint` URL}
       */
      userId?: string;
      /**
       * The AWS region of the cache, such as `us-east-1`.
       *
       * @default {the endpoint's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the AWS profile's `region`}
       */
      region?: string;
    }
  );

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
/** What an AWS region name looks like: `us-east-1`, `cn-north-1`, `us-gov-west-1`, `eusc-de-east-1`. */
export const REGION_PATTERN: RegExp = /^[a-z]{2,4}(-[a-z]+)+-\d+$/;
const TARGET_KEYS = ["replicationGroupId", "serverlessCacheName", "memoryDbClusterName"] as const;

/**
 * Checks and normalizes what a token is for, without signing anything or
 * touching the network. The cache's kind and name and the user id come from
 * the options, else from `endpoint`; the region from the options, else from
 * `endpoint`, else from `AWS_REGION`, else from `AWS_DEFAULT_REGION`, else
 * from the AWS profile (`AWS_PROFILE`, else `default`). Names
 * are lowercased, then matched against ElastiCache's naming rules.
 *
 * @param options The target options.
 * @returns The normalized target.
 * @throws {TypeError} When a name is missing or malformed, not exactly one cache
 * name is given (and `endpoint` names none), or `endpoint` is not a host name or URL.
 * @throws {CredentialsError} When the region must be read from an environment that
 * this Deno process may not read.
 *
 * @example
 * ```ts
 * import { normalizeTarget } from "./token.ts";
 *
 * const target = normalizeTarget({ replicationGroupId: "My-Group", userId: "App", region: "us-east-1" });
 * console.log(target.cacheName, target.userId); // "my-group" "app"
 *
 * const derived = normalizeTarget({ endpoint: "rediss://app@my-cache-abc123.serverless.euw1.cache.amazonaws.com:6379" });
 * console.log(derived.cacheName, derived.serverless, derived.region); // "my-cache" true "eu-west-1"
 * ```
 */
export function normalizeTarget(options: TokenTargetOptions): NormalizedTarget {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${ACTION}: options must be an object, got ${describe(options)}`);
  }
  const endpoint = options.endpoint === undefined
    ? undefined
    : readEndpoint(ACTION, "endpoint", options.endpoint);
  if (endpoint?.hasPassword) {
    throw new TypeError(
      `${ACTION}: 'endpoint' must not hold a password (the IAM auth token is the password), ` +
        `got ${describe(options.endpoint)}`,
    );
  }
  const given = TARGET_KEYS.filter((key) => options[key] !== undefined);
  if (given.length > 1) {
    throw new TypeError(
      `${ACTION}: give exactly one of 'replicationGroupId', 'serverlessCacheName' or ` +
        `'memoryDbClusterName', got ${given.join(" and ")}`,
    );
  }
  const derived = endpoint?.cache;
  const region = regionOf(options.region, endpoint);
  const key = given[0] ?? derived?.kind;
  if (key === undefined) throw missingCacheName(endpoint, region.value === undefined);
  const named = given.length === 1 ? options[key] : derived!.cacheName;
  const cacheName = lowercased(key, named);
  if (!CACHE_NAME_PATTERN.test(cacheName)) {
    throw new TypeError(
      `${ACTION}: '${key}' must be a cache name (letters, digits and single hyphens, ` +
        `starting with a letter; not an endpoint host name), got ${describe(named)}`,
    );
  }
  const user = options.userId ?? endpoint?.userId;
  if (user === undefined && endpoint !== undefined) {
    throw new TypeError(
      `${ACTION}: 'userId' is required when the 'endpoint' URL has no user name ` +
        `(rediss://<userId>@<host>)`,
    );
  }
  const userId = lowercased("userId", user);
  if (!USER_ID_PATTERN.test(userId)) {
    throw new TypeError(
      `${ACTION}: 'userId' must be an ElastiCache user id (a letter, then letters, digits ` +
        `or hyphens, optionally prefixed with 'default.'), got ${describe(user)}`,
    );
  }
  if ("missing" in region) {
    throw new TypeError(
      `${ACTION}: 'region' is required when ${
        endpoint === undefined
          ? ""
          : `the 'endpoint' host ${describe(endpoint.host)} does not name it and `
      }neither AWS_REGION nor AWS_DEFAULT_REGION is set${region.missing}`,
    );
  }
  if (typeof region.value !== "string" || !REGION_PATTERN.test(region.value)) {
    throw new TypeError(
      `${ACTION}: ${region.from} must be an AWS region such as 'us-east-1', got ${
        describe(region.value)
      }`,
    );
  }
  return {
    cacheName,
    userId,
    region: region.value,
    service: key === "memoryDbClusterName" ? "memorydb" : "elasticache",
    serverless: key === "serverlessCacheName",
  };
}

/** What a failed check says it was doing. */
const ACTION = "Cannot sign token";

/** The region and where it came from (how a message names it), or why there is none. */
type RegionSource = { value: unknown; from: string } | { value?: undefined; missing: string };

/**
 * The region: the option, the endpoint's, `AWS_REGION`, `AWS_DEFAULT_REGION`,
 * then the AWS profile's `region` (`AWS_PROFILE`, else `default`), as the AWS
 * SDKs and CLI look for it.
 */
function regionOf(given: unknown, endpoint: ParsedEndpoint | undefined): RegionSource {
  if (given !== undefined) return { value: given, from: "'region'" };
  if (endpoint?.cache) return { value: endpoint.cache.region, from: "the 'endpoint' region" };
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const value = readEnv(name);
    if (value !== undefined) return { value, from: name };
  }
  let fromProfile: string | undefined;
  try {
    fromProfile = regionFromProfile();
  } catch (error) {
    // A file that cannot be read (Deno without --allow-read, a broken file) names no region.
    return { missing: `, and the AWS profile cannot be read (${(error as Error).message})` };
  }
  if (fromProfile !== undefined) return { value: fromProfile, from: "the AWS profile's 'region'" };
  return { missing: ", nor a region in the AWS profile" };
}

/** Neither a cache name nor an endpoint that names one: which options to give. */
function missingCacheName(endpoint: ParsedEndpoint | undefined, needsRegion: boolean): TypeError {
  const names = "'replicationGroupId', 'serverlessCacheName' or 'memoryDbClusterName'";
  if (endpoint === undefined) {
    return new TypeError(
      `${ACTION}: give exactly one of ${names}, or an 'endpoint' to read it from, got none`,
    );
  }
  return new TypeError(
    `${ACTION}: the 'endpoint' host ${
      describe(endpoint.host)
    } is not an ElastiCache or MemoryDB endpoint host name, so give the cache's name as ${names}${
      needsRegion ? ", and 'region' (or set AWS_REGION)" : ""
    }`,
  );
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
 * @param options The cache (by name, or by `endpoint`), user, region, credentials and lifetime.
 * @returns The token: the presigned URL without its scheme.
 * @throws {TypeError} When a name, the endpoint, the region, the credentials or `timers` are
 * malformed, or an endpoint that is not an ElastiCache or MemoryDB endpoint comes without the
 * cache's name (or without a region when no variable gives one).
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
 *
 * @example From the endpoint the console shows: the same token
 * ```ts
 * import { createAuthToken } from "./token.ts";
 *
 * const common = {
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
 *   signingDate: new Date("2026-11-23T12:00:00Z"),
 * };
 * const fromEndpoint = await createAuthToken({
 *   endpoint: "rediss://iam-user-01@master.replication-group-01.abc123.use1.cache.amazonaws.com:6379",
 *   ...common,
 * });
 * const explicit = await createAuthToken({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: "us-east-1",
 *   ...common,
 * });
 * console.log(fromEndpoint === explicit); // true
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
  // A presigned token signs no header: no platform `Headers` (a cold-start measure).
  const signer = withPresignHeaders(() =>
    new AwsV4Signer({
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
    })
  );
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
      `${ACTION}: '${name}' must be a non-empty string, got ${describe(value)}`,
    );
  }
  return value.toLowerCase();
}
