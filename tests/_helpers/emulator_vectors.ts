/**
 * The golden token vectors (`auth_tokens.json`, computed by botocore) and an
 * emulator configuration under which every one of them is valid: each
 * vector's cache in its region, its user, its keys, and a policy naming the
 * cache and user ARNs the way AWS writes them (written out here, not taken
 * from the emulator's code).
 *
 * @module
 */

import type {
  CacheConfig,
  CacheEndpoint,
  Emulator,
  EmulatorConfig,
  IamUserConfig,
  PolicyDocument,
} from "@elasticache-iam/emulator";

/** One golden vector, normalized (`signedAs` applied). */
export interface Vector {
  name: string;
  userId: string;
  cacheName: string;
  region: string;
  kind: "replication-group" | "serverless" | "memorydb";
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The signing time, `YYYYMMDDTHHMMSSZ`. */
  date: string;
  /** The signing time in ms. */
  signedAt: number;
  expiresIn: number;
  expected: string;
}

const ACCOUNT = "123456789012";

/** Loads every `valid` and `normalized` vector. */
export function loadVectors(): Vector[] {
  const file = JSON.parse(
    Deno.readTextFileSync(new URL("../fixtures/auth_tokens.json", import.meta.url)),
  ) as { valid: Record<string, unknown>[]; normalized: Record<string, unknown>[] };
  return [...file.valid, ...file.normalized].map((raw) => {
    const signedAs = raw.signedAs as { userId: string; cacheName: string } | undefined;
    const date = raw.date as string;
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date)!;
    return {
      name: raw.name as string,
      userId: signedAs?.userId ?? raw.userId as string,
      cacheName: signedAs?.cacheName ?? raw.cacheName as string,
      region: raw.region as string,
      kind: raw.service === "memorydb"
        ? "memorydb"
        : raw.serverless === true
        ? "serverless"
        : "replication-group",
      accessKeyId: raw.accessKeyId as string,
      secretAccessKey: raw.secretAccessKey as string,
      ...(raw.sessionToken ? { sessionToken: raw.sessionToken as string } : {}),
      date,
      signedAt: Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!),
      expiresIn: (raw.expiresIn as number | undefined) ?? 900,
      expected: raw.expected as string,
    };
  });
}

function partition(region: string): string {
  return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/** The cache ARN of a vector, as AWS writes it. */
export function cacheArn(v: Vector): string {
  const p = partition(v.region);
  if (v.kind === "memorydb") {
    return `arn:${p}:memorydb:${v.region}:${ACCOUNT}:cluster/${v.cacheName}`;
  }
  const type = v.kind === "serverless" ? "serverlesscache" : "replicationgroup";
  return `arn:${p}:elasticache:${v.region}:${ACCOUNT}:${type}:${v.cacheName}`;
}

/** The user ARN of a vector, as AWS writes it. */
export function userArn(v: Vector): string {
  const p = partition(v.region);
  return v.kind === "memorydb"
    ? `arn:${p}:memorydb:${v.region}:${ACCOUNT}:user/${v.userId}`
    : `arn:${p}:elasticache:${v.region}:${ACCOUNT}:user:${v.userId}`;
}

/** A cache configuration for a vector. */
export function cacheConfig(v: Vector): CacheConfig {
  if (v.kind === "memorydb") return { memoryDbClusterName: v.cacheName, region: v.region };
  if (v.kind === "serverless") return { serverlessCacheName: v.cacheName, region: v.region };
  return { replicationGroupId: v.cacheName, region: v.region };
}

/** The endpoint of a vector's cache in an emulator started with {@linkcode vectorConfig}. */
export function vectorEndpoint(emu: Emulator, v: Vector): CacheEndpoint {
  const endpoint = emu.caches.find((c) =>
    c.name === v.cacheName && c.region === v.region && c.kind === v.kind
  );
  if (endpoint === undefined) throw new Error(`no endpoint for the cache of vector '${v.name}'`);
  return endpoint;
}

/** Options that change one thing in {@linkcode vectorConfig}. */
export interface VectorConfigOptions {
  /** Policies of the vectors' IAM user, instead of the allow-exactly-these-ARNs one. */
  policies?: PolicyDocument[];
  /** An expiration for every set of temporary credentials. */
  expiration?: Date;
}

/** An emulator configuration under which every vector is valid at its date. */
export function vectorConfig(vectors: Vector[], options: VectorConfigOptions = {}): EmulatorConfig {
  const caches: CacheConfig[] = [];
  const seenCaches = new Set<string>();
  for (const v of vectors) {
    const key = `${v.kind}/${v.region}/${v.cacheName}`;
    if (!seenCaches.has(key)) caches.push(cacheConfig(v));
    seenCaches.add(key);
  }
  const users = [...new Set(vectors.map((v) => v.userId))].map((userId) => ({
    userId,
    userName: userId,
    accessString: "on ~* +@all",
  }));
  const allowExactly: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Action: ["elasticache:Connect", "memorydb:Connect"],
      Resource: [...new Set(vectors.flatMap((v) => [cacheArn(v), userArn(v)]))],
    }],
  };
  const iamUser: IamUserConfig & {
    accessKeys: { accessKeyId: string; secretAccessKey: string }[];
    temporaryCredentials: NonNullable<IamUserConfig["temporaryCredentials"]>;
  } = {
    userName: "vector-signer",
    accessKeys: [],
    temporaryCredentials: [],
    policies: options.policies ?? [allowExactly],
  };
  const seenKeys = new Set<string>();
  for (const v of vectors) {
    if (seenKeys.has(v.accessKeyId)) continue;
    seenKeys.add(v.accessKeyId);
    if (v.sessionToken === undefined) {
      iamUser.accessKeys.push({ accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey });
    } else {
      iamUser.temporaryCredentials.push({
        accessKeyId: v.accessKeyId,
        secretAccessKey: v.secretAccessKey,
        sessionToken: v.sessionToken,
        ...(options.expiration ? { expiration: options.expiration } : {}),
      });
    }
  }
  return { accountId: ACCOUNT, caches, users, iamUsers: [iamUser], roles: [] };
}

/** Rewrites one query parameter of a token (value given decoded; `undefined` removes it). */
export function withParam(token: string, name: string, value: string | undefined): string {
  const [host, query] = token.split("/?") as [string, string];
  const pairs = query.split("&").filter((pair) => !pair.startsWith(`${name}=`));
  if (value !== undefined) {
    pairs.splice(pairs.length - 1, 0, `${name}=${encodeURIComponent(value)}`);
  }
  return `${host}/?${pairs.join("&")}`;
}

/** Reads one query parameter of a token, decoded. */
export function paramOf(token: string, name: string): string | undefined {
  const query = token.split("/?")[1] ?? "";
  const pair = query.split("&").find((p) => p.startsWith(`${name}=`));
  return pair === undefined ? undefined : decodeURIComponent(pair.slice(name.length + 1));
}
