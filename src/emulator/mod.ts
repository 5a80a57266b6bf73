/**
 * A local ElastiCache / MemoryDB IAM emulator: try and test the whole IAM
 * flow on one machine, with no AWS account.
 *
 * {@linkcode startEmulator} runs, on loopback:
 *
 * - an **OIDC issuer** that mints RS256 web-identity tokens and serves its JWKS;
 * - an **STS** endpoint answering `AssumeRoleWithWebIdentity` (JWT checked
 *   against the provider's keys, `iss`, `aud`, `exp` and the role's trust
 *   policy) and SigV4-signed `AssumeRole`, in AWS's XML shapes, so the AWS
 *   SDKs work against it unchanged;
 * - an **IAM-authenticating RESP gateway** in front of a real `redis-server`
 *   it starts: `AUTH` / `HELLO … AUTH` tokens are verified exactly as
 *   ElastiCache does (signature, scope, host, user, `ResourceType`, expiry,
 *   credentials, `elasticache:Connect` / `memorydb:Connect` policies) and any
 *   failure answers ElastiCache's exact `WRONGPASS` text; users' access
 *   strings are enforced by Redis itself as ACL users; connections are cut
 *   after 12 hours (configurable) unless re-authenticated, and IAM `AUTH`
 *   inside `MULTI` is refused.
 *
 * The emulator keeps its own clock ({@linkcode Emulator.clock}), which tests
 * move instead of sleeping. It needs `redis-server` (Redis 7+) on the `PATH`,
 * and `openssl` for TLS.
 *
 * @example Authenticating with a token from the module
 * ```ts ignore
 * import { startEmulator } from "@elasticache-iam/connector/emulator";
 * import { createAuthToken } from "@elasticache-iam/connector";
 * import { fromWebToken } from "@aws-sdk/credential-provider-web-identity";
 *
 * await using emu = await startEmulator();
 * const jwt = await emu.oidc.mintToken({ sub: "demo", aud: "sts.amazonaws.com" });
 * const credentials = await fromWebToken({
 *   roleArn: emu.roleArn(),
 *   webIdentityToken: jwt,
 *   clientConfig: { endpoint: emu.sts.endpoint, region: emu.region },
 * })();
 * const token = await createAuthToken({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials,
 * });
 * // Connect to emu.gateway.hostname:emu.gateway.port, then: AUTH iam-user-01 <token>
 * ```
 *
 * @module
 */

import { EmulatorClock } from "./clock.ts";
import {
  type ClusterConfig,
  type EmulatorCluster,
  resolveClusterConfig,
  type RunningCluster,
  startClusterNodes,
} from "./cluster.ts";
import { checkShape, type EmulatorConfig, resolveConfig } from "./config.ts";
import { CredentialStore } from "./credential_store.ts";
import { Gateway, type GatewayAddress } from "./gateway.ts";
import { type OidcIssuer, type RunningOidcIssuer, startOidcIssuer } from "./oidc_issuer.ts";
import { type RedisBackend, startRedisBackend } from "./redis_backend.ts";
import { type RunningSts, startSts, type StsEndpoint } from "./sts_server.ts";
import { createTlsMaterial, type TlsMaterial } from "./tls_certificate.ts";

export { EmulatorClock } from "./clock.ts";
export {
  type BackendConfig,
  type CacheConfig,
  type CacheUserConfig,
  DEFAULT_CONFIG,
  DEFAULT_ROLE_NAME,
  defaultTrustPolicy,
  type EmulatorConfig,
  type IamUserConfig,
  type Jwk,
  type OidcProviderConfig,
  OWN_PROVIDER_PLACEHOLDER,
  type RoleConfig,
  SEED_POLICY,
  type TemporaryCredentialsConfig,
} from "./config.ts";
export type { OneOrMany, PolicyDocument, PolicyStatement } from "./iam_policy.ts";
export type { GatewayAddress } from "./gateway.ts";
export type {
  ClusterConfig,
  ClusterNodeRef,
  ClusterWaitOptions,
  EmulatorCluster,
  EmulatorClusterNode,
  EmulatorClusterShard,
  SlotMigration,
} from "./cluster.ts";
export { AUTH_IN_MULTI_COMMAND, NOAUTH, NOAUTH_HELLO, WRONGPASS } from "./gateway.ts";
export type { MintTokenOptions, OidcIssuer } from "./oidc_issuer.ts";
export type { StsEndpoint } from "./sts_server.ts";
export { loadEmulatorConfig } from "./config_file.ts";

/** A running emulator. Dispose it (`await using`) to stop everything it started. */
export interface Emulator extends AsyncDisposable {
  /**
   * Where RESP clients connect, and the CA certificate to trust with TLS. In
   * cluster mode: the first node's gateway, a seed like a configuration endpoint.
   */
  readonly gateway: GatewayAddress;
  /** In cluster mode, the cluster's nodes and operations; otherwise `undefined`. */
  readonly cluster: EmulatorCluster | undefined;
  /** The STS endpoint. */
  readonly sts: StsEndpoint;
  /** The OIDC issuer the STS trusts by default. */
  readonly oidc: OidcIssuer;
  /** The emulator's clock: `advance(ms)` and `set(date)` move token and connection time. */
  readonly clock: EmulatorClock;
  /** The default region. */
  readonly region: string;
  /** The account id. */
  readonly accountId: string;
  /**
   * The ARN of a configured role.
   *
   * @param roleName The role name; by default the first configured role.
   * @returns The role ARN.
   * @throws {TypeError} If no such role is configured.
   */
  roleArn(roleName?: string): string;
  /** Stops the gateway, the STS, the issuer and the backend. Same as disposing. */
  close(): Promise<void>;
}

/** A running emulator in cluster mode. */
export interface ClusterEmulator extends Emulator {
  /** The cluster's nodes (each behind its own gateway) and the operations tests need. */
  readonly cluster: EmulatorCluster;
}

/**
 * Starts the emulator in cluster mode: a Redis Cluster of `redis-server`
 * nodes on loopback with one IAM gateway per node, each node announcing its
 * gateway's address, so `CLUSTER SHARDS`, `MOVED` and `ASK` lead clients to
 * gateways.
 *
 * @param config The configuration, with `cluster`.
 * @returns The running emulator; `cluster` has the nodes, failover, node restarts and slot migration.
 * @throws {TypeError} If the configuration is malformed.
 * @throws {Error} If a node does not start or the cluster does not form.
 *
 * @example Three shards with one replica each
 * ```ts ignore
 * import { startEmulator } from "./mod.ts";
 *
 * await using emu = await startEmulator({ cluster: { shards: 3, replicasPerShard: 1 } });
 * console.log(emu.cluster.nodes.length); // 6
 * ```
 */
export function startEmulator(
  config: EmulatorConfig & { cluster: ClusterConfig },
): Promise<ClusterEmulator>;
/**
 * Starts the emulator on loopback: OIDC issuer, STS, backend `redis-server`
 * and gateway, configured like the seed's AWS setup.
 *
 * @param config The configuration; every field has a default (see {@linkcode DEFAULT_CONFIG}).
 * @returns The running emulator.
 * @throws {TypeError} If the configuration is malformed.
 * @throws {Error} If `redis-server` (or, with TLS, `openssl`) is missing or fails to start.
 *
 * @example Default configuration
 * ```ts
 * import { startEmulator } from "./mod.ts";
 *
 * await using emu = await startEmulator();
 * console.log(emu.gateway.port > 0, emu.sts.endpoint.startsWith("http://127.0.0.1:")); // true true
 * ```
 */
export function startEmulator(config?: EmulatorConfig): Promise<Emulator>;
export async function startEmulator(config: EmulatorConfig = {}): Promise<Emulator> {
  checkShape(config);
  const log = config.log ?? (() => {});
  const clock = new EmulatorClock();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`emulator: error while stopping: ${(error as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  try {
    // Check the whole configuration before starting anything (the issuer URL is not known yet).
    const checked = resolveConfig(config, "http://127.0.0.1:0");
    new CredentialStore(checked);
    const clusterConfig = config.cluster === undefined
      ? undefined
      : resolveClusterConfig(config.cluster);
    if (clusterConfig !== undefined && config.backend?.port !== undefined) {
      throw new TypeError(
        "Cannot start the emulator: 'cluster' starts its own nodes and cannot use a 'backend' address",
      );
    }
    if (clusterConfig !== undefined && config.gateway?.port !== undefined) {
      throw new TypeError(
        "Cannot start the emulator: 'cluster' gives every node a free gateway port; remove 'gateway.port'",
      );
    }
    const users = [...checked.users.values()];
    // The slow parts (an RSA key, a certificate, redis-servers) start side by side.
    const [oidcStart, backendStart, tlsStart] = await Promise.allSettled([
      startOidcIssuer(clock, config.oidc?.port ?? 0),
      clusterConfig === undefined
        ? startRedisBackend(config.backend, users, log)
        : startClusterNodes(clusterConfig, users, log, config.backend?.redisServer),
      config.tls === true ? createTlsMaterial() : Promise.resolve(undefined),
    ]);
    if (oidcStart.status === "fulfilled") cleanups.push(() => oidcStart.value.close());
    if (backendStart.status === "fulfilled") cleanups.push(() => backendStart.value.close());
    for (const start of [oidcStart, backendStart, tlsStart]) {
      if (start.status === "rejected") throw start.reason;
    }
    const oidc = (oidcStart as PromiseFulfilledResult<RunningOidcIssuer>).value;
    const started = (backendStart as PromiseFulfilledResult<RedisBackend | RunningCluster>).value;
    const tls = (tlsStart as PromiseFulfilledResult<TlsMaterial | undefined>).value;
    const resolved = resolveConfig(config, oidc.issuer);
    const credentials = new CredentialStore(resolved);
    const sts: RunningSts = startSts({
      config: resolved,
      credentials,
      clock,
      ownJwks: oidc.jwks,
      log,
      port: config.sts?.port ?? 0,
    });
    cleanups.push(() => sts.close());
    let gatewayAddress: GatewayAddress;
    let cluster: EmulatorCluster | undefined;
    if ("form" in started) {
      await started.form({ config: resolved, credentials, clock, tls });
      gatewayAddress = started.gateways[0]!;
      cluster = started.control;
    } else {
      const gateway = new Gateway({
        config: resolved,
        credentials,
        clock,
        backend: started,
        log,
        port: config.gateway?.port ?? 0,
        ...(tls ? { tls } : {}),
      });
      cleanups.push(() => gateway.close());
      gatewayAddress = gateway.address;
    }
    log(
      `emulator: gateway ${
        tls ? "rediss" : "redis"
      }://127.0.0.1:${gatewayAddress.port}, STS ${sts.endpoint}, OIDC issuer ${oidc.issuer}`,
    );
    let closing: Promise<void> | undefined;
    const close = () => closing ??= cleanUp();
    return {
      gateway: gatewayAddress,
      cluster,
      sts: { endpoint: sts.endpoint },
      oidc: {
        issuer: oidc.issuer,
        providerName: oidc.providerName,
        jwksUri: oidc.jwksUri,
        jwks: oidc.jwks,
        mintToken: (options) => oidc.mintToken(options),
      },
      clock,
      region: resolved.region,
      accountId: resolved.accountId,
      roleArn(roleName?: string): string {
        const roles = [...resolved.roles.values()];
        const role = roleName === undefined ? roles[0] : roles.find((r) => r.roleName === roleName);
        if (role === undefined) {
          throw new TypeError(
            `Cannot find role ${
              roleName === undefined ? "" : `'${roleName}' `
            }in the emulator's configuration`,
          );
        }
        return role.arn;
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
