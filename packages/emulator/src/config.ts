/**
 * The emulator's configuration: what the seed's setup steps create in AWS
 * (caches, IAM-enabled ElastiCache users, roles with trust and permission
 * policies, IAM users with keys, OIDC providers), its defaults, and its
 * checked, resolved form.
 *
 * @module
 */

import {
  CACHE_NAME_PATTERN,
  describe,
  REGION_PATTERN,
  USER_ID_PATTERN,
} from "@elasticache-iam/connector/internal";
import { parsePolicyDocument, type PolicyDocument } from "./iam_policy.ts";

/**
 * A cache the gateway fronts: exactly one of `replicationGroupId`,
 * `serverlessCacheName` (ElastiCache Serverless) or `memoryDbClusterName` (MemoryDB).
 */
export type CacheConfig =
  & (
    | { replicationGroupId: string; serverlessCacheName?: never; memoryDbClusterName?: never }
    | { serverlessCacheName: string; replicationGroupId?: never; memoryDbClusterName?: never }
    | { memoryDbClusterName: string; replicationGroupId?: never; serverlessCacheName?: never }
  )
  & {
    /** The cache's region. @default the configuration's `region` */
    region?: string;
    /**
     * The port of the cache's endpoint (its own gateway, in front of its own
     * `redis-server`). A serverless cache's reader endpoint is on the next
     * port when that one is free, else on any free port.
     *
     * @default for the first cache `gateway.port`; otherwise a free port
     */
    port?: number;
    /**
     * A serverless cache only: it has a public endpoint, as ElastiCache
     * Serverless for Valkey offers, which requires TLS 1.3. Its endpoints
     * speak TLS whatever `tls` says, and refuse TLS 1.2 handshakes.
     *
     * @default {false}
     */
    publicEndpoint?: boolean;
    /**
     * The user group: ids of the users that may connect (`default` is
     * ignored: the backend's default user is always disabled).
     *
     * @default every configured user
     */
    userIds?: string[];
  };

/** An IAM-enabled ElastiCache / MemoryDB user, as `aws elasticache create-user` makes it. */
export interface CacheUserConfig {
  /** The user id; for IAM-enabled users it must equal the user name. */
  userId: string;
  /** The user name. @default the user id */
  userName?: string;
  /** The access string, such as `on ~* +@all`; Redis enforces it as an ACL rule. */
  accessString: string;
}

/** Fixed temporary credentials, for tests that need to know them in advance. */
export interface TemporaryCredentialsConfig {
  /** The access key id (`ASIA…` by convention). */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token a request must carry with them. */
  sessionToken: string;
  /** When they stop being valid (emulator clock). @default never */
  expiration?: string | Date;
}

/** An IAM role, as `aws iam create-role` and `attach-role-policy` make it. */
export interface RoleConfig {
  /** The role name; its ARN is `arn:aws:iam::<accountId>:role/<roleName>`. */
  roleName: string;
  /**
   * The trust policy (the seed's `trust-policy.json`), as an object or JSON
   * text. `${emulator:oidc-provider}` anywhere in it stands for the
   * emulator's own OIDC provider name (`127.0.0.1:<port>`).
   */
  trustPolicy: PolicyDocument | string;
  /** The attached permission policies (the seed's `policy.json`). @default none */
  policies?: (PolicyDocument | string)[];
  /** The longest session `DurationSeconds` may ask for. @default {3600} */
  maxSessionDuration?: number;
  /** Fixed sessions of this role, as if assumed in advance. @default none */
  temporaryCredentials?: TemporaryCredentialsConfig[];
}

/** A long-term IAM user. */
export interface IamUserConfig {
  /** The user name; its ARN is `arn:aws:iam::<accountId>:user/<userName>`. */
  userName: string;
  /** Its access keys. @default none */
  accessKeys?: { accessKeyId: string; secretAccessKey: string }[];
  /** Its attached policies. @default none */
  policies?: (PolicyDocument | string)[];
  /** Fixed temporary credentials of this user (as from `GetSessionToken`). @default none */
  temporaryCredentials?: TemporaryCredentialsConfig[];
}

/** A JSON Web Key of a key set (JWKS): WebCrypto's `JsonWebKey` with its key id. */
export type Jwk = JsonWebKey & { kid?: string; x5c?: string[] };

/** An OIDC identity provider the STS trusts, as `aws iam create-open-id-connect-provider` makes it. */
export interface OidcProviderConfig {
  /** The issuer URL, equal to the tokens' `iss` claim. */
  url: string;
  /** The accepted audiences (`aud`). */
  clientIds: string[];
  /** The provider's public keys. @default fetched from `jwksUri` */
  jwks?: { keys: Jwk[] };
  /** Where the keys are published. @default found through the issuer's discovery document */
  jwksUri?: string;
}

/** The Redis server behind the gateway. */
export type BackendConfig =
  | {
    /** The `redis-server` program the emulator starts. @default {"redis-server"} */
    redisServer?: string;
    hostname?: never;
    port?: never;
  }
  | {
    /** An existing Redis 7+ server's host. @default {"127.0.0.1"} */
    hostname?: string;
    /** Its port. */
    port: number;
    /** A user allowed to run `ACL SETUSER` there. */
    username?: string;
    /** That user's password. */
    password?: string;
    redisServer?: never;
  };

/** The shape of the emulated cluster (see `startEmulator`'s `cluster`). */
export interface ClusterConfig {
  /**
   * How many shards (primaries); the 16384 slots are split evenly between them.
   *
   * @default {3}
   */
  shards?: number;
  /**
   * How many replicas each shard has.
   *
   * @default {1}
   */
  replicasPerShard?: number;
  /**
   * The nodes' `cluster-node-timeout`, in ms: how long a node may be
   * unreachable before it is marked failed and a replica takes over.
   *
   * @default {1000}
   */
  nodeTimeoutMs?: number;
}

/** The emulator's configuration. Every field is optional; see {@linkcode DEFAULT_CONFIG}. */
export interface EmulatorConfig {
  /** The region of caches that do not set their own. @default {"us-east-1"} */
  region?: string;
  /** The AWS account id in every ARN. @default {"123456789012"} */
  accountId?: string;
  /** The caches. @default one replication group, `replication-group-01` */
  caches?: CacheConfig[];
  /** The IAM-enabled users. @default `iam-user-01` with `on ~* +@all` */
  users?: CacheUserConfig[];
  /** The roles. @default `elasticache-iam-auth-app`: see {@linkcode DEFAULT_CONFIG} */
  roles?: RoleConfig[];
  /** Long-term IAM users. @default none */
  iamUsers?: IamUserConfig[];
  /** Other OIDC providers the STS trusts, besides the emulator's own issuer. @default none */
  oidcProviders?: OidcProviderConfig[];
  /** The emulator's own OIDC issuer. */
  oidc?: {
    /** Its port. @default a free port */
    port?: number;
    /** The audiences STS accepts from it. @default {["sts.amazonaws.com"]} */
    clientIds?: string[];
  };
  /** The STS endpoint. */
  sts?: StsConfig;
  /**
   * The container credentials endpoint (ECS, EKS Pod Identity), handing out
   * STS credentials of a role. @default on a free port, for the first role
   */
  containerCredentials?: ContainerCredentialsConfig;
  /**
   * The EC2 instance metadata endpoint (IMDSv2), handing out STS credentials
   * of the instance's role. @default on a free port, for the first role
   */
  instanceMetadata?: InstanceMetadataConfig;
  /**
   * IAM Identity Center (SSO): the portal's `GetRoleCredentials` and SSO
   * OIDC's `CreateToken`, for SSO profiles. @default on a free port, offering every role
   */
  sso?: SsoConfig;
  /** The RESP gateway. */
  gateway?: GatewayConfig;
  /** Whether the gateway speaks TLS with a certificate made at start-up. @default {false} */
  tls?: boolean;
  /** The Redis server behind the gateway. @default a `redis-server` the emulator starts */
  backend?: BackendConfig;
  /**
   * Cluster mode: a Redis Cluster of `redis-server` nodes the emulator
   * starts, with one gateway per node (`gateway` is then the first node's).
   * Cannot be combined with a `backend` address or a `gateway.port`.
   *
   * @default single node
   */
  cluster?: ClusterConfig;
  /** How long an authenticated connection lives without re-auth, in ms. @default {43200000} (12 h) */
  connectionMaxAgeMs?: number;
  /** How far in the future a token's signing time may be, in seconds. @default {300} */
  maxClockSkewSeconds?: number;
  /** Receives one line per event (refusals with their reason, connections). @default silent */
  log?: (line: string) => void;
}

/** The STS endpoint's settings. */
export interface StsConfig {
  /** Its port. @default a free port */
  port?: number;
  /**
   * Serve HTTPS, with a certificate from the emulator's CA (the same CA as
   * the gateway's TLS; `sts.caCertPem`): for clients that refuse `http://`
   * STS endpoints, such as the Rust AWS SDK behind valkey-glide.
   *
   * @default {false}
   */
  tls?: boolean;
}

/** The container credentials endpoint's settings (see `emu.containerCredentials`). */
export interface ContainerCredentialsConfig {
  /** Its port. @default a free port */
  port?: number;
  /** The role whose credentials it hands out. @default the first configured role */
  roleName?: string;
}

/** The EC2 instance metadata endpoint's settings (see `emu.instanceMetadata`). */
export interface InstanceMetadataConfig {
  /** Its port. @default a free port */
  port?: number;
  /** The instance profile's role: whose credentials it hands out. @default the first configured role */
  roleName?: string;
}

/** The SSO endpoint's settings (see `emu.sso`). */
export interface SsoConfig {
  /** Its port. @default a free port */
  port?: number;
  /** The roles it hands out credentials for (a profile's `sso_role_name`). @default every configured role */
  roleNames?: string[];
}

/** The RESP gateway's settings: where it listens, and its bounds on unauthenticated clients. */
export interface GatewayConfig {
  /** Its port. @default a free port */
  port?: number;
  /**
   * How many connections may wait unauthenticated at once; more are answered
   * `-ERR max number of clients reached` (Redis' `maxclients` reply) and closed.
   *
   * @default {1000}
   */
  maxUnauthenticated?: number;
  /**
   * How long a connection may stay unauthenticated, in real milliseconds
   * (not the emulator's clock), before the gateway closes it.
   *
   * @default {10000}
   */
  authTimeoutMs?: number;
}

/**
 * The placeholder for the emulator's own OIDC provider name in trust policies.
 *
 * @example
 * ```ts
 * import { defaultTrustPolicy, OWN_PROVIDER_PLACEHOLDER } from "../mod.ts";
 *
 * const policy = JSON.stringify(defaultTrustPolicy("123456789012"));
 * console.log(policy.includes(`:oidc-provider/${OWN_PROVIDER_PLACEHOLDER}"`)); // true
 * ```
 */
export const OWN_PROVIDER_PLACEHOLDER = "${emulator:oidc-provider}";

/**
 * The seed's `policy.json`: `elasticache:Connect` on `replication-group-01` and `iam-user-01`.
 *
 * @example Granted to an IAM user with long-term keys
 * ```ts
 * import { connect } from "@elasticache-iam/connector";
 * import { IamAuth } from "@elasticache-iam/connector";
 * import { SEED_POLICY, startEmulator } from "../mod.ts";
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
 * await using client = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
 * console.log(await client.ping()); // "PONG"
 * ```
 */
export const SEED_POLICY: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow",
    Action: ["elasticache:Connect"],
    Resource: [
      "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:replication-group-01",
      "arn:aws:elasticache:us-east-1:123456789012:user:iam-user-01",
    ],
  }],
};

/**
 * The default role's name.
 *
 * @example
 * ```ts
 * import { DEFAULT_ROLE_NAME } from "../mod.ts";
 *
 * console.log(DEFAULT_ROLE_NAME); // "elasticache-iam-auth-app"
 * ```
 */
export const DEFAULT_ROLE_NAME = "elasticache-iam-auth-app";

/**
 * The default role's trust policy: the emulator's own issuer, audience
 * `sts.amazonaws.com`, any subject.
 *
 * @param accountId The account id.
 * @param partition The IAM partition.
 * @returns The trust policy.
 * @throws {TypeError} If the account id is not 12 digits or the partition is malformed.
 *
 * @example A second role, trusted like the default one
 * ```ts
 * import { defaultTrustPolicy, SEED_POLICY, startEmulator } from "../mod.ts";
 *
 * await using emu = await startEmulator({
 *   roles: [{ roleName: "ci", trustPolicy: defaultTrustPolicy("123456789012"), policies: [SEED_POLICY] }],
 * });
 * console.log(emu.roleArn("ci")); // "arn:aws:iam::123456789012:role/ci"
 * ```
 */
export function defaultTrustPolicy(accountId: string, partition = "aws"): PolicyDocument {
  if (typeof accountId !== "string" || !ACCOUNT_ID.test(accountId)) {
    throw new TypeError(
      `Cannot make the trust policy: 'accountId' must be 12 digits, got ${describe(accountId)}`,
    );
  }
  if (typeof partition !== "string" || !/^aws(-[a-z]+)*$/.test(partition)) {
    throw new TypeError(
      `Cannot make the trust policy: 'partition' must be an AWS partition such as 'aws' or 'aws-cn', got ${
        describe(partition)
      }`,
    );
  }
  return {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: {
        Federated: `arn:${partition}:iam::${accountId}:oidc-provider/${OWN_PROVIDER_PLACEHOLDER}`,
      },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: { [`${OWN_PROVIDER_PLACEHOLDER}:aud`]: "sts.amazonaws.com" },
        StringLike: { [`${OWN_PROVIDER_PLACEHOLDER}:sub`]: "*" },
      },
    }],
  };
}

/**
 * What `startEmulator()` uses for every field the configuration leaves out.
 * Without `roles`, one role `elasticache-iam-auth-app` is made: trusting
 * {@linkcode defaultTrustPolicy} and allowed to connect to every configured
 * cache as every configured user (with the defaults, exactly the seed's
 * `policy.json`).
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG } from "../mod.ts";
 *
 * const { caches: [cache], users: [user] } = DEFAULT_CONFIG;
 * console.log(cache.replicationGroupId, user.userId); // "replication-group-01" "iam-user-01"
 * ```
 */
export const DEFAULT_CONFIG = {
  region: "us-east-1",
  accountId: "123456789012",
  caches: [{ replicationGroupId: "replication-group-01" }],
  users: [{ userId: "iam-user-01", userName: "iam-user-01", accessString: "on ~* +@all" }],
  oidcClientIds: ["sts.amazonaws.com"],
  connectionMaxAgeMs: 12 * 60 * 60 * 1000,
  maxClockSkewSeconds: 300,
} as const;

/** A cache, resolved. */
export interface ResolvedCache {
  /** The cache name: the host of its tokens. */
  name: string;
  /** What kind of cache it is. */
  kind: "replication-group" | "serverless" | "memorydb";
  /** Its region. */
  region: string;
  /** The signing service of its tokens. */
  service: "elasticache" | "memorydb";
  /** The IAM action that connects to it. */
  action: "elasticache:Connect" | "memorydb:Connect";
  /** Its ARN. */
  arn: string;
  /** The ids of the users that may connect. */
  userIds: ReadonlySet<string>;
  /** Whether its endpoints are public ones: TLS 1.3 only (serverless caches only). */
  publicEndpoint: boolean;
}

/**
 * The backend ACL user the emulator itself uses (to set each `redis-server`
 * up and, in a cluster, to replicate): no configured user may take its id.
 */
export const ADMIN_USER = "emulator-admin";

/** An IAM-enabled user, resolved. */
export interface ResolvedUser {
  /** The user id (= user name). */
  userId: string;
  /** The access string. */
  accessString: string;
  /** Whether the access string enables the user (`on`). */
  enabled: boolean;
}

/** Who holds a set of AWS keys. */
export interface Principal {
  /** `user` for an IAM user, `assumed-role` for a role session. */
  kind: "user" | "assumed-role";
  /** The caller's ARN (`…:user/NAME` or `…:assumed-role/ROLE/SESSION`). */
  arn: string;
  /** The IAM user's or the role's ARN. */
  baseArn: string;
  /** The account id. */
  accountId: string;
  /** The permission policies that apply to the caller. */
  policies: readonly PolicyDocument[];
}

/** A role, resolved. */
export interface ResolvedRole {
  /** The role name. */
  roleName: string;
  /** The role ARN. */
  arn: string;
  /** The unique role id (`AROA…`). */
  roleId: string;
  /** The trust policy, with the emulator's provider name filled in. */
  trustPolicy: PolicyDocument;
  /** The permission policies. */
  policies: readonly PolicyDocument[];
  /** The longest session, in seconds. */
  maxSessionDuration: number;
  /** Fixed sessions. */
  temporaryCredentials: readonly TemporaryCredentialsConfig[];
}

/** An IAM user, resolved. */
export interface ResolvedIamUser {
  /** The user name. */
  userName: string;
  /** The user ARN. */
  arn: string;
  /** Its access keys. */
  accessKeys: readonly { accessKeyId: string; secretAccessKey: string }[];
  /** Its policies. */
  policies: readonly PolicyDocument[];
  /** Its fixed temporary credentials. */
  temporaryCredentials: readonly TemporaryCredentialsConfig[];
}

/** An OIDC provider, resolved. */
export interface ResolvedOidcProvider {
  /** The issuer URL (`iss`). */
  url: string;
  /** The provider name: the URL without its scheme (and trailing slash); the condition key prefix. */
  name: string;
  /** The provider ARN, for `Federated` principals. */
  arn: string;
  /** The accepted audiences. */
  clientIds: readonly string[];
  /** Inline keys. */
  jwks?: { keys: Jwk[] };
  /** The keys' URL. */
  jwksUri?: string;
  /** Whether it is the emulator's own issuer. */
  own: boolean;
}

/** The cluster configuration after defaults and checks. */
export interface ResolvedClusterConfig {
  /** The shards. */
  shards: number;
  /** Replicas per shard. */
  replicasPerShard: number;
  /** `cluster-node-timeout`, ms. */
  nodeTimeoutMs: number;
}

/** The configuration after defaults, checks and resolution. */
export interface ResolvedConfig {
  /** The default region. */
  region: string;
  /** The account id. */
  accountId: string;
  /** The IAM partition of the default region. */
  partition: string;
  /** The caches. */
  caches: readonly ResolvedCache[];
  /** The users by id. */
  users: ReadonlyMap<string, ResolvedUser>;
  /** The roles by ARN. */
  roles: ReadonlyMap<string, ResolvedRole>;
  /** The IAM users. */
  iamUsers: readonly ResolvedIamUser[];
  /** The OIDC providers by issuer URL. */
  oidcProviders: ReadonlyMap<string, ResolvedOidcProvider>;
  /** The connection age cap, in ms. */
  connectionMaxAgeMs: number;
  /** How many connections may wait unauthenticated at once. */
  maxUnauthenticated: number;
  /** How long a connection may stay unauthenticated, in real ms. */
  authTimeoutMs: number;
  /** The tolerated forward skew of a token's signing time, in ms. */
  maxClockSkewMs: number;
}

const ACCOUNT_ID = /^\d{12}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * The IAM partition of a region: `aws-cn` for China, `aws-us-gov` for
 * GovCloud, else `aws`.
 *
 * @param region The region.
 * @returns The partition.
 */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/**
 * Applies defaults to a configuration, checks it and resolves names to ARNs.
 *
 * @param config The configuration.
 * @param ownIssuer The emulator's own issuer URL, such as `http://127.0.0.1:4567`.
 * @returns The resolved configuration.
 * @throws {TypeError} If a field is missing or malformed.
 * @throws {RangeError} If a number is out of range.
 */
export function resolveConfig(config: EmulatorConfig, ownIssuer: string): ResolvedConfig {
  checkShape(config);
  const region = config.region ?? DEFAULT_CONFIG.region;
  checkRegion(region, "'region'");
  const accountId = config.accountId ?? DEFAULT_CONFIG.accountId;
  if (typeof accountId !== "string" || !ACCOUNT_ID.test(accountId)) {
    throw new TypeError(
      `Cannot start the emulator: 'accountId' must be 12 digits, got ${describe(accountId)}`,
    );
  }
  const partition = partitionOf(region);

  const users = new Map<string, ResolvedUser>();
  for (const user of config.users ?? DEFAULT_CONFIG.users) {
    const resolved = resolveUser(user);
    if (users.has(resolved.userId)) {
      throw new TypeError(
        `Cannot start the emulator: user id '${resolved.userId}' is configured twice`,
      );
    }
    users.set(resolved.userId, resolved);
  }

  const caches: ResolvedCache[] = [];
  for (const cache of config.caches ?? DEFAULT_CONFIG.caches) {
    const resolved = resolveCache(cache, region, accountId, users);
    if (
      caches.some((c) =>
        c.name === resolved.name && c.region === resolved.region && c.service === resolved.service
      )
    ) {
      throw new TypeError(
        `Cannot start the emulator: cache '${resolved.name}' is configured twice in ${resolved.region}`,
      );
    }
    caches.push(resolved);
  }

  const ownName = providerName(ownIssuer);
  const substitute = (doc: PolicyDocument | string): unknown => {
    const text = typeof doc === "string" ? doc : JSON.stringify(doc);
    const filled = text.split(OWN_PROVIDER_PLACEHOLDER).join(ownName);
    try {
      return JSON.parse(filled);
    } catch {
      return filled; // parsePolicyDocument reports it
    }
  };

  const roles = new Map<string, ResolvedRole>();
  for (const role of config.roles ?? [defaultRole(caches, users, accountId, partition)]) {
    if (role === null || typeof role !== "object" || typeof role.roleName !== "string") {
      throw new TypeError(`Cannot start the emulator: every role needs a 'roleName'`);
    }
    if (!ROLE_NAME.test(role.roleName)) {
      throw new TypeError(
        `Cannot start the emulator: role name ${JSON.stringify(role.roleName)} is malformed`,
      );
    }
    const what = `role '${role.roleName}'`;
    const arn = `arn:${partition}:iam::${accountId}:role/${role.roleName}`;
    if (roles.has(arn)) {
      throw new TypeError(`Cannot start the emulator: ${what} is configured twice`);
    }
    if (role.trustPolicy === undefined) {
      throw new TypeError(`Cannot start the emulator: ${what} has no 'trustPolicy'`);
    }
    const maxSessionDuration = role.maxSessionDuration ?? 3600;
    if (
      !Number.isInteger(maxSessionDuration) || maxSessionDuration < 900 ||
      maxSessionDuration > 43200
    ) {
      throw new RangeError(
        `Cannot start the emulator: ${what} 'maxSessionDuration' must be 900 to 43200 seconds, got ${
          describe(maxSessionDuration)
        }`,
      );
    }
    roles.set(arn, {
      roleName: role.roleName,
      arn,
      roleId: `AROA${stableId(arn)}`,
      trustPolicy: parsePolicyDocument(substitute(role.trustPolicy), `${what} trust policy`),
      policies: (role.policies ?? []).map((p, i) =>
        parsePolicyDocument(substitute(p), `${what} policy ${i + 1}`)
      ),
      maxSessionDuration,
      temporaryCredentials: checkTemporary(role.temporaryCredentials, what),
    });
  }

  const iamUsers: ResolvedIamUser[] = [];
  for (const user of config.iamUsers ?? []) {
    if (user === null || typeof user !== "object" || typeof user.userName !== "string") {
      throw new TypeError(`Cannot start the emulator: every IAM user needs a 'userName'`);
    }
    const what = `IAM user '${user.userName}'`;
    for (const key of user.accessKeys ?? []) {
      if (typeof key?.accessKeyId !== "string" || typeof key.secretAccessKey !== "string") {
        throw new TypeError(
          `Cannot start the emulator: ${what} has an access key without 'accessKeyId' and 'secretAccessKey'`,
        );
      }
    }
    iamUsers.push({
      userName: user.userName,
      arn: `arn:${partition}:iam::${accountId}:user/${user.userName}`,
      accessKeys: user.accessKeys ?? [],
      policies: (user.policies ?? []).map((p, i) =>
        parsePolicyDocument(substitute(p), `${what} policy ${i + 1}`)
      ),
      temporaryCredentials: checkTemporary(user.temporaryCredentials, what),
    });
  }

  const oidcProviders = new Map<string, ResolvedOidcProvider>();
  const ownClientIds = config.oidc?.clientIds ?? [...DEFAULT_CONFIG.oidcClientIds];
  oidcProviders.set(ownIssuer, {
    url: ownIssuer,
    name: ownName,
    arn: `arn:${partition}:iam::${accountId}:oidc-provider/${ownName}`,
    clientIds: ownClientIds,
    own: true,
  });
  for (const provider of config.oidcProviders ?? []) {
    if (typeof provider?.url !== "string" || !/^https?:\/\/[^/]/.test(provider.url)) {
      throw new TypeError(
        `Cannot start the emulator: an OIDC provider's 'url' must be an http(s) URL, got ${
          describe(provider?.url)
        }`,
      );
    }
    if (!Array.isArray(provider.clientIds) || provider.clientIds.length === 0) {
      throw new TypeError(
        `Cannot start the emulator: OIDC provider '${provider.url}' needs 'clientIds'`,
      );
    }
    const name = providerName(provider.url);
    oidcProviders.set(provider.url, {
      url: provider.url,
      name,
      arn: `arn:${partition}:iam::${accountId}:oidc-provider/${name}`,
      clientIds: provider.clientIds,
      ...(provider.jwks ? { jwks: provider.jwks } : {}),
      ...(provider.jwksUri ? { jwksUri: provider.jwksUri } : {}),
      own: false,
    });
  }

  const connectionMaxAgeMs = config.connectionMaxAgeMs ?? DEFAULT_CONFIG.connectionMaxAgeMs;
  if (!Number.isFinite(connectionMaxAgeMs) || connectionMaxAgeMs < 1) {
    throw new RangeError(
      `Cannot start the emulator: 'connectionMaxAgeMs' must be at least 1, got ${
        describe(connectionMaxAgeMs)
      }`,
    );
  }
  const skew = config.maxClockSkewSeconds ?? DEFAULT_CONFIG.maxClockSkewSeconds;
  if (!Number.isFinite(skew) || skew < 0) {
    throw new RangeError(
      `Cannot start the emulator: 'maxClockSkewSeconds' must be 0 or more, got ${describe(skew)}`,
    );
  }
  const limit = (name: keyof GatewayConfig, fallback: number) => {
    const value = config.gateway?.[name] ?? fallback;
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot start the emulator: 'gateway.${name}' must be a positive integer, got ${
          describe(value)
        }`,
      );
    }
    return value;
  };
  return {
    region,
    accountId,
    partition,
    caches,
    users,
    roles,
    iamUsers,
    oidcProviders,
    connectionMaxAgeMs,
    maxUnauthenticated: limit("maxUnauthenticated", 1000),
    authTimeoutMs: limit("authTimeoutMs", 10_000),
    maxClockSkewMs: skew * 1000,
  };
}

function defaultRole(
  caches: readonly ResolvedCache[],
  users: ReadonlyMap<string, ResolvedUser>,
  accountId: string,
  partition: string,
): RoleConfig {
  const elasticache = caches.filter((c) => c.service === "elasticache");
  const memorydb = caches.filter((c) => c.service === "memorydb");
  const statement = (action: string, list: ResolvedCache[]) => ({
    Effect: "Allow" as const,
    Action: [action],
    Resource: [
      ...list.map((c) => c.arn),
      ...list.flatMap((c) => [...users.keys()].map((id) => cacheUserArn(c, id, accountId))),
    ].filter((arn, i, all) => all.indexOf(arn) === i),
  });
  const statements = [
    ...(elasticache.length ? [statement("elasticache:Connect", elasticache)] : []),
    ...(memorydb.length ? [statement("memorydb:Connect", memorydb)] : []),
  ];
  return {
    roleName: DEFAULT_ROLE_NAME,
    trustPolicy: defaultTrustPolicy(accountId, partition),
    policies: statements.length ? [{ Version: "2012-10-17", Statement: statements }] : [],
  };
}

/**
 * The provider name AWS derives from an issuer URL: scheme and trailing slash removed.
 *
 * @param issuer The issuer URL.
 * @returns The provider name, such as `token.actions.githubusercontent.com`.
 */
export function providerName(issuer: string): string {
  return issuer.replace(/^https?:\/\//, "").replace(/\/+$/, "");
}

function resolveUser(user: CacheUserConfig): ResolvedUser {
  if (user === null || typeof user !== "object" || typeof user.userId !== "string") {
    throw new TypeError(`Cannot start the emulator: every user needs a 'userId'`);
  }
  if (!USER_ID_PATTERN.test(user.userId)) {
    throw new TypeError(
      `Cannot start the emulator: user id ${
        JSON.stringify(user.userId)
      } is not a lowercase ElastiCache user id`,
    );
  }
  if (user.userId === ADMIN_USER) {
    throw new TypeError(
      `Cannot start the emulator: user id '${ADMIN_USER}' is reserved for the emulator's own backend user; choose another`,
    );
  }
  const userName = user.userName ?? user.userId;
  if (userName !== user.userId) {
    throw new TypeError(
      `Cannot start the emulator: IAM-enabled user '${user.userId}' must have an identical user name, got ${
        describe(userName)
      }`,
    );
  }
  if (typeof user.accessString !== "string") {
    throw new TypeError(
      `Cannot start the emulator: user '${user.userId}' needs an 'accessString' such as "on ~* +@all"`,
    );
  }
  const words = user.accessString.trim().split(/\s+/);
  const enabled = words.lastIndexOf("on") > words.lastIndexOf("off");
  return { userId: user.userId, accessString: user.accessString, enabled };
}

function resolveCache(
  cache: CacheConfig,
  defaultRegion: string,
  accountId: string,
  users: ReadonlyMap<string, ResolvedUser>,
): ResolvedCache {
  if (cache === null || typeof cache !== "object") {
    throw new TypeError(`Cannot start the emulator: every cache must be an object`);
  }
  const keys = (["replicationGroupId", "serverlessCacheName", "memoryDbClusterName"] as const)
    .filter(
      (key) => cache[key] !== undefined,
    );
  if (keys.length !== 1) {
    throw new TypeError(
      `Cannot start the emulator: a cache needs exactly one of 'replicationGroupId', 'serverlessCacheName' or 'memoryDbClusterName', got ${
        keys.length === 0 ? "none" : keys.join(" and ")
      }`,
    );
  }
  const key = keys[0]!;
  const name = cache[key]!;
  if (typeof name !== "string" || !CACHE_NAME_PATTERN.test(name)) {
    throw new TypeError(
      `Cannot start the emulator: cache '${key}' must be a lowercase cache name, got ${
        describe(name)
      }`,
    );
  }
  const region = cache.region ?? defaultRegion;
  checkRegion(region, `cache '${name}' 'region'`);
  const partition = partitionOf(region);
  const userIds = new Set<string>();
  for (const id of cache.userIds ?? [...users.keys()]) {
    if (id === "default") continue;
    if (!users.has(id)) {
      throw new TypeError(
        `Cannot start the emulator: cache '${name}' lists user '${id}', which is not configured`,
      );
    }
    userIds.add(id);
  }
  const publicEndpoint = cache.publicEndpoint ?? false;
  if (typeof publicEndpoint !== "boolean") {
    throw new TypeError(
      `Cannot start the emulator: cache '${name}' 'publicEndpoint' must be a boolean, got ${
        describe(publicEndpoint)
      }`,
    );
  }
  if (publicEndpoint && key !== "serverlessCacheName") {
    throw new TypeError(
      `Cannot start the emulator: cache '${name}' cannot have a public endpoint: ElastiCache offers public endpoints for serverless caches only ('serverlessCacheName')`,
    );
  }
  if (key === "memoryDbClusterName") {
    return {
      name,
      kind: "memorydb",
      region,
      service: "memorydb",
      action: "memorydb:Connect",
      arn: `arn:${partition}:memorydb:${region}:${accountId}:cluster/${name}`,
      userIds,
      publicEndpoint,
    };
  }
  const serverless = key === "serverlessCacheName";
  return {
    name,
    kind: serverless ? "serverless" : "replication-group",
    region,
    service: "elasticache",
    action: "elasticache:Connect",
    arn: `arn:${partition}:elasticache:${region}:${accountId}:${
      serverless ? "serverlesscache" : "replicationgroup"
    }:${name}`,
    userIds,
    publicEndpoint,
  };
}

/**
 * The ARN of a cache user as IAM policies name it.
 *
 * @param cache The cache the user connects to (its service, region and partition).
 * @param userId The user id.
 * @param accountId The account id.
 * @returns The user ARN.
 */
export function cacheUserArn(cache: ResolvedCache, userId: string, accountId: string): string {
  const partition = partitionOf(cache.region);
  return cache.service === "memorydb"
    ? `arn:${partition}:memorydb:${cache.region}:${accountId}:user/${userId}`
    : `arn:${partition}:elasticache:${cache.region}:${accountId}:user:${userId}`;
}

/**
 * Checks the types of the configuration's fields that the rest of the
 * resolution does not look into, so that a malformed one fails before anything starts.
 *
 * @param config The configuration.
 * @throws {TypeError} If a field has the wrong type.
 * @throws {RangeError} If a port is out of range.
 */
export function checkShape(config: EmulatorConfig): void {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new TypeError(
      `Cannot start the emulator: the configuration must be an object, got ${describe(config)}`,
    );
  }
  for (const key of ["caches", "users", "roles", "iamUsers", "oidcProviders"] as const) {
    if (config[key] !== undefined && !Array.isArray(config[key])) {
      throw new TypeError(
        `Cannot start the emulator: '${key}' must be an array, got ${describe(config[key])}`,
      );
    }
  }
  if (config.log !== undefined && typeof config.log !== "function") {
    throw new TypeError(
      `Cannot start the emulator: 'log' must be a function of one line, got ${
        describe(config.log)
      }`,
    );
  }
  if (config.tls !== undefined && typeof config.tls !== "boolean") {
    throw new TypeError(
      `Cannot start the emulator: 'tls' must be a boolean, got ${describe(config.tls)}`,
    );
  }
  for (
    const name of [
      "gateway",
      "sts",
      "oidc",
      "backend",
      "cluster",
      "containerCredentials",
      "instanceMetadata",
      "sso",
    ] as const
  ) {
    const section = config[name];
    if (section !== undefined && (section === null || typeof section !== "object")) {
      throw new TypeError(
        `Cannot start the emulator: '${name}' must be an object, got ${describe(section)}`,
      );
    }
  }
  checkPort("gateway.port", config.gateway?.port);
  for (const [index, cache] of (config.caches ?? []).entries()) {
    if (cache !== null && typeof cache === "object") checkPort(`caches[${index}].port`, cache.port);
  }
  checkPort("sts.port", config.sts?.port);
  checkPort("oidc.port", config.oidc?.port);
  checkPort("containerCredentials.port", config.containerCredentials?.port);
  checkPort("instanceMetadata.port", config.instanceMetadata?.port);
  checkPort("sso.port", config.sso?.port);
  const clientIds = config.oidc?.clientIds;
  if (
    clientIds !== undefined &&
    (!Array.isArray(clientIds) || !clientIds.every((id) => typeof id === "string"))
  ) {
    throw new TypeError(
      `Cannot start the emulator: 'oidc.clientIds' must be an array of strings, got ${
        describe(clientIds)
      }`,
    );
  }
  const backend = config.backend as Record<string, unknown> | undefined;
  if (backend !== undefined) {
    checkPort("backend.port", backend.port);
    for (const key of ["hostname", "username", "password", "redisServer"]) {
      if (backend[key] !== undefined && typeof backend[key] !== "string") {
        throw new TypeError(
          `Cannot start the emulator: 'backend.${key}' must be a string, got ${
            key === "password" ? typeof backend[key] : describe(backend[key])
          }`,
        );
      }
    }
  }
  checkKeys(config);
}

/** Every key of any member of a union. */
type KeyOf<T> = T extends unknown ? keyof T : never;

/** The keys of a section, as a list the compiler keeps equal to its type's keys. */
function keysOf<T>(keys: Record<KeyOf<T>, true>): readonly string[] {
  return Object.keys(keys);
}

type AccessKeyConfig = NonNullable<IamUserConfig["accessKeys"]>[number];

const KEYS = {
  config: keysOf<EmulatorConfig>({
    region: true,
    accountId: true,
    caches: true,
    users: true,
    roles: true,
    iamUsers: true,
    oidcProviders: true,
    oidc: true,
    sts: true,
    gateway: true,
    tls: true,
    backend: true,
    cluster: true,
    connectionMaxAgeMs: true,
    maxClockSkewSeconds: true,
    log: true,
    containerCredentials: true,
    instanceMetadata: true,
    sso: true,
  }),
  cache: keysOf<CacheConfig>({
    replicationGroupId: true,
    serverlessCacheName: true,
    memoryDbClusterName: true,
    region: true,
    userIds: true,
    port: true,
    publicEndpoint: true,
  }),
  user: keysOf<CacheUserConfig>({ userId: true, userName: true, accessString: true }),
  role: keysOf<RoleConfig>({
    roleName: true,
    trustPolicy: true,
    policies: true,
    maxSessionDuration: true,
    temporaryCredentials: true,
  }),
  iamUser: keysOf<IamUserConfig>({
    userName: true,
    accessKeys: true,
    policies: true,
    temporaryCredentials: true,
  }),
  accessKey: keysOf<AccessKeyConfig>({ accessKeyId: true, secretAccessKey: true }),
  temporaryCredentials: keysOf<TemporaryCredentialsConfig>({
    accessKeyId: true,
    secretAccessKey: true,
    sessionToken: true,
    expiration: true,
  }),
  oidcProvider: keysOf<OidcProviderConfig>({
    url: true,
    clientIds: true,
    jwks: true,
    jwksUri: true,
  }),
  oidc: keysOf<NonNullable<EmulatorConfig["oidc"]>>({ port: true, clientIds: true }),
  sts: keysOf<StsConfig>({ port: true, tls: true }),
  containerCredentials: keysOf<ContainerCredentialsConfig>({ port: true, roleName: true }),
  instanceMetadata: keysOf<InstanceMetadataConfig>({ port: true, roleName: true }),
  sso: keysOf<SsoConfig>({ port: true, roleNames: true }),
  gateway: keysOf<GatewayConfig>({ port: true, maxUnauthenticated: true, authTimeoutMs: true }),
  backend: keysOf<BackendConfig>({
    redisServer: true,
    hostname: true,
    port: true,
    username: true,
    password: true,
  }),
  cluster: keysOf<ClusterConfig>({ shards: true, replicasPerShard: true, nodeTimeoutMs: true }),
};

/**
 * Refuses keys the configuration and its sections do not have (a misspelt
 * `cachez` would otherwise leave the defaults in place without a word).
 */
function checkKeys(config: EmulatorConfig): void {
  const c = config as Record<string, unknown>;
  sectionKeys(c, KEYS.config, "the configuration");
  const credentials = ["temporaryCredentials", KEYS.temporaryCredentials] as const;
  const lists = [
    ["caches", KEYS.cache, []],
    ["users", KEYS.user, []],
    ["roles", KEYS.role, [credentials]],
    ["iamUsers", KEYS.iamUser, [["accessKeys", KEYS.accessKey], credentials]],
    ["oidcProviders", KEYS.oidcProvider, []],
  ] as const;
  for (const [name, keys, inner] of lists) {
    for (const [i, item] of listAt(c, name).entries()) {
      sectionKeys(item, keys, `'${name}[${i}]'`);
      for (const [innerName, innerKeys] of inner) {
        for (const [j, value] of listAt(item, innerName).entries()) {
          sectionKeys(value, innerKeys, `'${name}[${i}].${innerName}[${j}]'`);
        }
      }
    }
  }
  const sections = [
    ["oidc", KEYS.oidc],
    ["sts", KEYS.sts],
    ["containerCredentials", KEYS.containerCredentials],
    ["instanceMetadata", KEYS.instanceMetadata],
    ["sso", KEYS.sso],
    ["gateway", KEYS.gateway],
    ["backend", KEYS.backend],
    ["cluster", KEYS.cluster],
  ] as const;
  for (const [name, keys] of sections) sectionKeys(c[name], keys, `'${name}'`);
}

/** The array at `object[key]`, or none when either is something else (other checks report it). */
function listAt(object: unknown, key: string): unknown[] {
  const value = object !== null && typeof object === "object"
    ? (object as Record<string, unknown>)[key]
    : undefined;
  return Array.isArray(value) ? value : [];
}

function sectionKeys(section: unknown, known: readonly string[], where: string): void {
  if (section === null || typeof section !== "object" || Array.isArray(section)) return;
  for (const key of Object.keys(section)) {
    if (known.includes(key)) continue;
    // A near name: at most 2 edits and fewer than half the key's letters (`cachez`, `prot`), or
    // one that starts with the key but for its last letter (`policy`, `host`).
    const near = known.find((name) => {
      const [a, b] = [name.toLowerCase(), key.toLowerCase()];
      const distance = editDistance(a, b);
      return (distance <= 2 && distance < b.length / 2) ||
        (b.length >= 4 && a.startsWith(b.slice(0, -1)));
    });
    throw new TypeError(
      `Cannot start the emulator: unknown key ${describe(key)} in ${where}; ${
        near === undefined
          ? `the keys are ${known.map((name) => `'${name}'`).join(", ")}`
          : `did you mean '${near}'?`
      }`,
    );
  }
}

/** How many one-letter edits (insert, delete, replace, swap two neighbours) turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      const above = rows[i - 1]!;
      row[j] = Math.min(
        above[j]! + 1,
        row[j - 1]! + 1,
        above[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}

/** The bounds of the `cluster` numbers, inclusive. */
export const CLUSTER_LIMITS = {
  shards: { min: 1, max: 16 },
  replicasPerShard: { min: 0, max: 5 },
  nodeTimeoutMs: { min: 100, max: 60_000 },
} as const;

/**
 * Applies defaults to the cluster configuration and checks it.
 *
 * @param config The `cluster` option.
 * @returns The resolved configuration.
 * @throws {TypeError} If it is not an object.
 * @throws {RangeError} If a number is out of range.
 */
export function resolveClusterConfig(config: ClusterConfig): ResolvedClusterConfig {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new TypeError(
      `Cannot start the emulator: 'cluster' must be an object, got ${describe(config)}`,
    );
  }
  const resolved = {
    shards: config.shards ?? 3,
    replicasPerShard: config.replicasPerShard ?? 1,
    nodeTimeoutMs: config.nodeTimeoutMs ?? 1000,
  };
  for (const name of ["shards", "replicasPerShard", "nodeTimeoutMs"] as const) {
    const value = resolved[name];
    const { min, max } = CLUSTER_LIMITS[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `Cannot start the emulator: 'cluster.${name}' must be an integer from ${min} to ${max}, got ${
          describe(value)
        }`,
      );
    }
  }
  return resolved;
}

/**
 * The port of each cache's endpoint, in configuration order (0: a free
 * port): a cache's own `port`, or for the first cache `gateway.port`. Every
 * port configured, the caches', `sts.port`, `oidc.port`, `containerCredentials.port`
 * and `instanceMetadata.port`, must differ.
 *
 * @param config A configuration that passed {@linkcode checkShape}.
 * @returns One port per cache.
 * @throws {TypeError} If two settings give the same port, or the first cache's port twice.
 */
export function endpointPorts(config: EmulatorConfig): number[] {
  const caches: readonly CacheConfig[] = config.caches ?? DEFAULT_CONFIG.caches;
  const gatewayPort = config.gateway?.port;
  const first = caches[0]?.port;
  if (gatewayPort !== undefined && first !== undefined && gatewayPort !== first) {
    throw new TypeError(
      `Cannot start the emulator: 'gateway.port' (${gatewayPort}) and 'caches[0].port' (${first}) both set the first cache's port; keep one`,
    );
  }
  const ports = caches.map((cache, index) =>
    cache.port ?? (index === 0 ? gatewayPort : undefined) ?? 0
  );
  for (const [index, port] of ports.entries()) {
    const earlier = ports.indexOf(port);
    if (port !== 0 && earlier < index) {
      throw new TypeError(
        `Cannot start the emulator: caches #${earlier + 1} and #${
          index + 1
        } both ask for port ${port}; every cache has its own endpoint`,
      );
    }
  }
  // Each setting by the name a user wrote; 0 (a free port) clashes with nothing.
  const settings: [string, number][] = [
    ...ports.map((port, index): [string, number] => [
      caches[index]?.port === undefined ? "'gateway.port'" : `'caches[${index}].port'`,
      port,
    ]),
    ["'sts.port'", config.sts?.port ?? 0],
    ["'oidc.port'", config.oidc?.port ?? 0],
    ["'containerCredentials.port'", config.containerCredentials?.port ?? 0],
    ["'instanceMetadata.port'", config.instanceMetadata?.port ?? 0],
    ["'sso.port'", config.sso?.port ?? 0],
  ];
  for (const [index, [name, port]] of settings.entries()) {
    const earlier = settings.findIndex(([, other]) => other === port);
    if (port !== 0 && earlier < index) {
      throw new TypeError(
        `Cannot start the emulator: ${
          settings[earlier]![0]
        } and ${name} both ask for port ${port}; every endpoint needs its own port`,
      );
    }
  }
  return ports;
}

function checkPort(what: string, port: unknown): void {
  if (port === undefined) return;
  if (typeof port !== "number") {
    throw new TypeError(
      `Cannot start the emulator: '${what}' must be a number, got ${describe(port)}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot start the emulator: '${what}' must be an integer from 0 to 65535, got ${
        describe(port)
      }`,
    );
  }
}

function checkRegion(region: unknown, what: string): void {
  if (typeof region !== "string" || !REGION_PATTERN.test(region)) {
    throw new TypeError(
      `Cannot start the emulator: ${what} must be an AWS region such as 'us-east-1', got ${
        describe(region)
      }`,
    );
  }
}

function checkTemporary(
  list: TemporaryCredentialsConfig[] | undefined,
  what: string,
): TemporaryCredentialsConfig[] {
  for (const item of list ?? []) {
    if (
      typeof item?.accessKeyId !== "string" || typeof item.secretAccessKey !== "string" ||
      typeof item.sessionToken !== "string" || item.sessionToken === ""
    ) {
      throw new TypeError(
        `Cannot start the emulator: ${what} has temporary credentials without 'accessKeyId', 'secretAccessKey' and 'sessionToken'`,
      );
    }
    if (item.expiration !== undefined && !Number.isFinite(new Date(item.expiration).getTime())) {
      throw new TypeError(
        `Cannot start the emulator: ${what} has temporary credentials with an invalid 'expiration'`,
      );
    }
  }
  return list ?? [];
}

/** A deterministic 17-character uppercase id derived from a string (for `AROA…` role ids). */
function stableId(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 16777619) >>> 0;
    h2 = Math.imul(h2 + text.charCodeAt(i), 2246822519) >>> 0;
  }
  return (h1.toString(36) + h2.toString(36)).toUpperCase().padEnd(17, "X").slice(0, 17);
}
