/**
 * ElastiCache and MemoryDB endpoints: from an endpoint's host name, or a
 * `redis://` / `rediss://` URL (whose user name is the IAM user id), the cache
 * it belongs to (named by the `createAuthToken` option that takes it), the
 * cache's name and its region. A host of no shape below (loopback, an IP
 * address, a private DNS alias, a VPC endpoint) names no cache: its callers
 * then need the cache name and region given explicitly.
 *
 * The host name shapes (`<rc>`: a short region code, see
 * {@linkcode regionFromCode}; `.amazonaws.com.cn` instead of `.amazonaws.com`
 * in the China regions), each with where AWS shows it:
 *
 * | endpoint | host name | option |
 * | --- | --- | --- |
 * | replication group primary (in-transit encryption on, as IAM requires) | `master.<rg>.<id>.<rc>.cache.amazonaws.com` | `replicationGroupId` |
 * | the same, as AWS's stunnel example writes it | `primary.<rg>.<id>.<rc>.cache.amazonaws.com` | `replicationGroupId` |
 * | replication group reader | `replica.<rg>.<id>.<rc>.cache.amazonaws.com` | `replicationGroupId` |
 * | replication group configuration (cluster mode on) | `clustercfg.<rg>.<id>.<rc>.cache.amazonaws.com` | `replicationGroupId` |
 * | replication group node | `<rg>-002.<rg>.<id>.<rc>…`, `<rg>-0001-001.<rg>.<id>.<rc>…` | `replicationGroupId` |
 * | serverless cache (its reader is the same host, port 6380) | `<name>-<id>.serverless.<rc>.cache.amazonaws.com` | `serverlessCacheName` |
 * | serverless cache, public endpoint (Valkey 9.0+) | `<name>-<id>.public.serverless.<rc>.cache.amazonaws.com` | `serverlessCacheName` |
 * | MemoryDB cluster | `clustercfg.<cluster>.<id>.memorydb.<region>.amazonaws.com` | `memoryDbClusterName` |
 * | MemoryDB node | `<cluster>-0001-001.<cluster>.<id>.memorydb.<region>.amazonaws.com` | `memoryDbClusterName` |
 *
 * Sources:
 * - primary, with and without in-transit encryption: ElastiCache "Finding connection endpoints"
 *   https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Endpoints.html
 *   (`master.ncit.ameaqx.use1.cache.amazonaws.com:6379`);
 * - `primary.` and a node of a cluster-mode-disabled group: ElastiCache "Enabling in-transit
 *   encryption" https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption-enable.html
 *   (`primary.ssltest.wif01h.use1…`, `ssltest-02.ssltest.wif01h.use1…`). Both pages' text as read
 *   from AWS's doc sources, https://github.com/awsdocs/amazon-elasticache-docs (archived 2023,
 *   commit 7ed0a8a: `doc_source/redis/Endpoints.md`, `doc_source/redis/in-transit-encryption-enable.md`);
 * - `replica.`, `clustercfg.` and `<rg>-0001-001.` nodes: no AWS page read for this module prints
 *   one (ElastiCache "Finding replication group endpoints",
 *   https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Replication.Endpoints.html, describes
 *   these endpoints, not their names); the shapes are those `describe-replication-groups` returns
 *   for groups with in-transit encryption, as public output shows them
 *   (`replica.<rg>.pyo0mq.use1…`, `clustercfg.<rg>.w6eqga.apn2…`, `redis-0001-001.redis.tetmd7.apne1…`);
 * - serverless: AWS's ElastiCache getting-started tutorial
 *   https://github.com/aws-samples/sample-developer-tutorials/blob/main/tuts/065-amazon-elasticache-gs/amazon-elasticache-gs.md
 *   (`my-valkey-cache-abcd1234xmpl.serverless.use1.cache.amazonaws.com`);
 * - serverless public: ElastiCache "Connect to a cache with a public endpoint"
 *   https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/connecting-public-endpoint.html
 *   (`my-public-cache-x2e9hv.public.serverless.use1.cache.amazonaws.com`);
 * - MemoryDB cluster: MemoryDB "Finding connection endpoints"
 *   https://docs.aws.amazon.com/memorydb/latest/devguide/endpoints.html
 *   (`clustercfg.my-cluster.xxxxxx.memorydb.us-east-1.amazonaws.com`);
 * - MemoryDB node: MemoryDB "Viewing a cluster's details"
 *   https://docs.aws.amazon.com/memorydb/latest/devguide/clusters.viewdetails.html
 *   (`my-cluster-0001-001.my-cluster.abcdef.memorydb.us-east-1.amazonaws.com`).
 *
 * Endpoints of groups without in-transit encryption (`<rg>.<id>.ng.0001.<rc>…`,
 * `<rg>.<id>.clustercfg.<rc>…`) are not read: IAM authentication needs in-transit encryption,
 * and some of those names are ambiguous (`x-ro.<id>.ng.0001…` is the primary of `x-ro` or the
 * reader of `x`).
 *
 * @module
 */
import { describe } from "./_checks.ts";

/** The `createAuthToken` option that names a cache of this kind. */
export type CacheKind = "replicationGroupId" | "serverlessCacheName" | "memoryDbClusterName";

/** Which endpoint of its cache a host name is. */
export type EndpointRole =
  | "primary"
  | "reader"
  | "configuration"
  | "node"
  | "serverless"
  | "public"
  | "cluster";

/** The cache an ElastiCache or MemoryDB endpoint host name belongs to. */
export interface CacheEndpoint {
  /** The `createAuthToken` / `IamAuth` option that takes the cache's name. */
  readonly kind: CacheKind;
  /** The cache's name: the replication group id, serverless cache name or MemoryDB cluster name. */
  readonly cacheName: string;
  /** The cache's region, such as `us-east-1`. */
  readonly region: string;
  /** Which endpoint of the cache the host is (`public`: a serverless cache's public endpoint). */
  readonly role: EndpointRole;
}

/** An endpoint host name or URL, taken apart (never its password). */
export interface ParsedEndpoint {
  /** The host name, lowercased, without a trailing dot; an IPv6 address without brackets. */
  readonly host: string;
  /** The port, when the endpoint gives one. */
  readonly port: number | undefined;
  /** The URL's user name (percent-decoded): the IAM user id. */
  readonly userId: string | undefined;
  /** Whether the URL's scheme asks for TLS (`rediss:`, `valkeys:`); `undefined` for a bare host. */
  readonly tls: boolean | undefined;
  /** Whether the URL holds a password (never kept: an IAM auth token replaces it). */
  readonly hasPassword: boolean;
  /** The cache the host belongs to, or `undefined` when it is not an ElastiCache or MemoryDB endpoint. */
  readonly cache: CacheEndpoint | undefined;
}

const SCHEMES: Readonly<Record<string, boolean>> = {
  "redis:": false,
  "rediss:": true,
  "valkey:": false,
  "valkeys:": true,
};

/** A cache name as a host name carries it (lowercased): see `CACHE_NAME_PATTERN` in token.ts. */
const NAME = "[a-z][a-z0-9]*(?:-[a-z0-9]+)*";
/** A node's number after its group's name: `-002` (cluster mode off) or `-0001-001` (on). */
const NODE = "\\d+(?:-\\d+)?";
const SUFFIX = "\\.amazonaws\\.com(\\.cn)?";

const GROUP_ENDPOINT = new RegExp(
  `^(master|primary|replica|clustercfg)\\.(${NAME})\\.[a-z0-9]+\\.([a-z0-9]+)\\.cache${SUFFIX}$`,
);
const GROUP_NODE = new RegExp(
  `^(${NAME})-${NODE}\\.\\1\\.[a-z0-9]+\\.([a-z0-9]+)\\.cache${SUFFIX}$`,
);
const SERVERLESS = new RegExp(
  `^(${NAME})-[a-z0-9]+\\.(public\\.)?serverless\\.([a-z0-9]+)\\.cache${SUFFIX}$`,
);
const MEMORYDB_CLUSTER = new RegExp(
  `^clustercfg\\.(${NAME})\\.[a-z0-9]+\\.memorydb\\.([a-z0-9-]+)${SUFFIX}$`,
);
const MEMORYDB_NODE = new RegExp(
  `^(${NAME})-${NODE}\\.\\1\\.[a-z0-9]+\\.memorydb\\.([a-z0-9-]+)${SUFFIX}$`,
);

const ROLES: Readonly<Record<string, EndpointRole>> = {
  master: "primary",
  primary: "primary",
  replica: "reader",
  clustercfg: "configuration",
};

/** A DNS name or an IPv4 literal: letters, digits, `-` and `_` in dot-separated labels. */
const HOST_NAME =
  /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
/** An IPv6 literal (a zone index allowed). */
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(%[\w.-]+)?$/i;

/**
 * Takes an endpoint apart and, for an ElastiCache or MemoryDB endpoint host
 * name, says which cache it belongs to. Nothing is resolved or connected.
 *
 * @param endpoint A host name (`host`, `host:port`, `[IPv6]:port`) or a
 * `redis://`, `rediss://`, `valkey://` or `valkeys://` URL, whose user name is
 * the IAM user id.
 * @returns The host, port, user id and cache; `cache` is `undefined` for a host
 * that is not an ElastiCache or MemoryDB endpoint (give the cache's name and
 * region yourself then).
 * @throws {TypeError} When `endpoint` is not a host name or such a URL; the
 * message shows the value without any secret it may hold.
 *
 * @example From a primary endpoint URL
 * ```ts
 * import { parseEndpoint } from "./endpoint.ts";
 *
 * const endpoint = parseEndpoint("rediss://app-user@master.my-group.abc123.use1.cache.amazonaws.com:6379");
 * console.log(endpoint.userId, endpoint.port); // "app-user" 6379
 * console.log(endpoint.cache); // { kind: "replicationGroupId", cacheName: "my-group", region: "us-east-1", role: "primary" }
 * console.log(parseEndpoint("redis.internal.example").cache); // undefined
 * ```
 */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  return readEndpoint("Cannot read endpoint", "endpoint", endpoint);
}

/**
 * {@linkcode parseEndpoint} with the caller's words in its errors.
 *
 * @param action What the caller was doing, such as `Cannot sign token`.
 * @param name How to call the value in a message, such as `endpoint`.
 * @param value The endpoint.
 * @returns The endpoint, taken apart.
 * @throws {TypeError} When the value is not a host name or a Redis / Valkey URL.
 *
 * @example
 * ```ts
 * import { readEndpoint } from "./endpoint.ts";
 *
 * try {
 *   readEndpoint("Cannot sign token", "endpoint", "https://user:secret@example.com");
 * } catch (error) {
 *   console.log((error as Error).message.includes("secret")); // false
 * }
 * ```
 */
export function readEndpoint(action: string, name: string, value: unknown): ParsedEndpoint {
  const refuse = (why: string): never => {
    throw new TypeError(`${action}: '${name}' must be ${why}, got ${describe(value)}`);
  };
  const expected = "a host name or a redis:// or rediss:// URL";
  if (typeof value !== "string" || value.trim() === "") return refuse(expected);
  const text = value.trim();
  let host: string;
  let port: string;
  let userId: string | undefined;
  let tls: boolean | undefined;
  let hasPassword = false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (url === undefined) return refuse(`${expected} (this URL does not parse)`);
    tls = SCHEMES[url.protocol.toLowerCase()];
    if (tls === undefined) return refuse(`${expected} (redis, rediss, valkey or valkeys)`);
    host = url.hostname;
    port = url.port;
    hasPassword = url.password !== "";
    if (url.username !== "") {
      try {
        userId = decodeURIComponent(url.username);
      } catch {
        return refuse(`${expected} (its user name is not valid percent-encoding)`);
      }
    }
  } else {
    if (/[/@?#\s]/.test(text)) return refuse(expected);
    const colons = text.split(":").length - 1;
    const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (bracketed !== null) [, host = "", port = ""] = bracketed;
    else if (colons === 1) [host = "", port = ""] = text.split(":");
    else [host, port] = [text, ""]; // a name, or an IPv6 address without brackets
    if (port === "" && /\]:$|^[^:]*:$/.test(text)) {
      return refuse(`${expected}, with a port from 1 to 65535`);
    }
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1); // a URL's IPv6 host
  if (host === "" || !(HOST_NAME.test(host) || IPV6.test(host))) return refuse(expected);
  if (port !== "" && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return refuse(`${expected}, with a port from 1 to 65535`);
  }
  host = host.toLowerCase().replace(/\.$/, "");
  return {
    host,
    port: port === "" ? undefined : Number(port),
    userId,
    tls,
    hasPassword,
    cache: cacheOf(host),
  };
}

/** The cache an endpoint host name (lowercased, no trailing dot) belongs to. */
function cacheOf(host: string): CacheEndpoint | undefined {
  const cache = (
    kind: CacheKind,
    cacheName: string,
    region: string | undefined,
    role: EndpointRole,
  ) => region === undefined ? undefined : { kind, cacheName, region, role };
  let match = GROUP_ENDPOINT.exec(host);
  if (match) {
    const [, prefix, name, code, china] = match;
    return cache(
      "replicationGroupId",
      name!,
      regionFromCode(code!, china !== undefined),
      ROLES[prefix!]!,
    );
  }
  if ((match = GROUP_NODE.exec(host))) {
    const [, name, code, china] = match;
    return cache("replicationGroupId", name!, regionFromCode(code!, china !== undefined), "node");
  }
  if ((match = SERVERLESS.exec(host))) {
    const [, name, isPublic, code, china] = match;
    const region = regionFromCode(code!, china !== undefined);
    return cache("serverlessCacheName", name!, region, isPublic ? "public" : "serverless");
  }
  match = MEMORYDB_CLUSTER.exec(host) ?? MEMORYDB_NODE.exec(host);
  if (match) {
    const [whole, name, region, china] = match;
    const inPartition = region!.startsWith("cn-") === (china !== undefined) &&
      REGION_NAME.test(region!);
    const role = whole!.startsWith("clustercfg.") ? "cluster" : "node";
    return cache("memoryDbClusterName", name!, inPartition ? region : undefined, role);
  }
  return undefined;
}

// ------------------------------------------------------------------------------- region codes

/**
 * Region names as they appear on `.amazonaws.com` and `.amazonaws.com.cn`
 * hosts: an area, `gov` for AWS GovCloud (US), a direction and a number
 * (botocore's `regionRegex` of the `aws`, `aws-us-gov` and `aws-cn` partitions).
 */
const REGION_NAME = /^(us|eu|ap|sa|ca|me|af|il|mx|cn)-(gov-)?([a-z]+)-([1-9]\d*)$/;
/** The areas of the `aws` (and `aws-us-gov`) partition; `cn` is `aws-cn`'s. */
const AREAS = new Set(["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"]);
const DIRECTIONS: Readonly<Record<string, string>> = {
  east: "e",
  west: "w",
  north: "n",
  south: "s",
  central: "c",
  northeast: "ne",
  northwest: "nw",
  southeast: "se",
  southwest: "sw",
};
const DIRECTION_NAMES = Object.fromEntries(
  Object.entries(DIRECTIONS).map(([name, code]) => [code, name]),
);
/**
 * Where ElastiCache's host names depart from the rule: Seoul and Osaka are
 * `apn2` and `apn3` (Tokyo is `apne1`), Ningxia is `cnw1` (its AZ ids say
 * `cnnw1`). Seen in endpoint host names of real caches, such as
 * `clustercfg.<rg>.<id>.apn2.cache.amazonaws.com` and
 * `<name>-<id>.serverless.cnw1.cache.amazonaws.com.cn`.
 */
const CODE_EXCEPTIONS: Readonly<Record<string, string>> = {
  "ap-northeast-2": "apn2",
  "ap-northeast-3": "apn3",
  "cn-northwest-1": "cnw1",
};
const EXCEPTION_REGIONS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(CODE_EXCEPTIONS).map(([region, code]) => [code, region]),
);

/**
 * The short region code ElastiCache writes in its host names: the area, `g`
 * for AWS GovCloud (US), the initials of the direction and the number
 * (`us-east-1` → `use1`, `ap-southeast-2` → `apse2`, `us-gov-west-1` →
 * `usgw1`, `cn-north-1` → `cnn1`), except where ElastiCache departs from that
 * rule (`ap-northeast-2` → `apn2`, `ap-northeast-3` → `apn3`,
 * `cn-northwest-1` → `cnw1`). The AZ ids of
 * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html
 * follow the same rule.
 *
 * @param region A region name.
 * @returns The code, or `undefined` for a region outside the `aws`,
 * `aws-us-gov` and `aws-cn` partitions (whose ElastiCache host names AWS does
 * not document).
 *
 * @example
 * ```ts
 * import { regionCode } from "./endpoint.ts";
 *
 * console.log(regionCode("us-east-1"), regionCode("ap-southeast-2"), regionCode("cn-northwest-1")); // "use1" "apse2" "cnw1"
 * console.log(regionCode("us-iso-east-1")); // undefined
 * ```
 */
export function regionCode(region: string): string | undefined {
  const exception = CODE_EXCEPTIONS[region];
  if (exception !== undefined) return exception;
  const match = REGION_NAME.exec(region);
  if (match === null) return undefined;
  const [, area, gov, direction, number] = match;
  const initials = DIRECTIONS[direction!];
  if (initials === undefined || (gov !== undefined && area !== "us")) return undefined;
  return `${area}${gov === undefined ? "" : "g"}${initials}${number}`;
}

/**
 * The region a short region code of an ElastiCache host name stands for: the
 * inverse of {@linkcode regionCode}, which also reads the rule's spelling of
 * the exceptions (`apne2`, `cnnw1`).
 *
 * @param code The code, such as `use1`.
 * @param china Whether the host is in the China partition (`.amazonaws.com.cn`).
 * @returns The region, or `undefined` when the code is no region code of that partition.
 *
 * @example
 * ```ts
 * import { regionFromCode } from "./endpoint.ts";
 *
 * console.log(regionFromCode("use1", false), regionFromCode("apse2", false)); // "us-east-1" "ap-southeast-2"
 * console.log(regionFromCode("cnn1", true), regionFromCode("cnn1", false)); // "cn-north-1" undefined
 * ```
 */
export function regionFromCode(code: string, china: boolean): string | undefined {
  const region = EXCEPTION_REGIONS[code] ?? ruleRegion(code);
  if (region === undefined || region.startsWith("cn-") !== china) return undefined;
  return region;
}

function ruleRegion(code: string): string | undefined {
  const match = /^([a-z]{2})(g?)(ne|nw|se|sw|n|s|e|w|c)([1-9]\d*)$/.exec(code);
  if (match === null) return undefined;
  const [, area, gov, initials, number] = match;
  if (area !== "cn" && !AREAS.has(area!)) return undefined;
  if (gov === "g" && area !== "us") return undefined;
  return `${area}-${gov === "g" ? "gov-" : ""}${DIRECTION_NAMES[initials!]}-${number}`;
}
