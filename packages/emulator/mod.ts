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
 * A serverless cache (`serverlessCacheName`) is served as ElastiCache
 * Serverless serves one: one virtual node owning every slot behind its
 * endpoint (`CLUSTER SLOTS` / `SHARDS` / `NODES`), a reader endpoint on the
 * next port ({@linkcode CacheEndpoint.reader}) that serves reads after
 * `READONLY`, `CROSSSLOT` and `SELECT` refused as in cluster mode, at most
 * 3,999 arguments a request, and with `publicEndpoint: true` TLS 1.3 only.
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

import { EmulatorClock } from "./src/clock.ts";
import {
  type EmulatorCluster,
  type RunningCluster,
  startClusterNodes,
  startServerlessNodes,
} from "./src/cluster.ts";
import { describe } from "@elasticache-iam/connector/internal";
import {
  checkShape,
  type ClusterConfig,
  type EmulatorConfig,
  endpointPorts,
  resolveClusterConfig,
  resolveConfig,
  type ResolvedCache,
} from "./src/config.ts";
import {
  type ContainerCredentialsEndpoint,
  credentialEndpointRoles,
  type InstanceMetadataEndpoint,
  type RunningCredentialEndpoints,
  startCredentialEndpoints,
} from "./src/credential_endpoints.ts";
import { CredentialStore } from "./src/credential_store.ts";
import { Gateway, type GatewayAddress, type GatewayTls } from "./src/gateway.ts";
import { type OidcIssuer, type RunningOidcIssuer, startOidcIssuer } from "./src/oidc_issuer.ts";
import { type RedisBackend, startRedisBackend } from "./src/redis_backend.ts";
import { type RunningSts, startSts, type StsEndpoint } from "./src/sts_server.ts";
import { type RunningSso, type SsoEndpoint, ssoRoles, startSso } from "./src/sso_server.ts";
import { createTlsMaterial, type TlsMaterial } from "./src/tls_certificate.ts";

export { EmulatorClock } from "./src/clock.ts";
export {
  type BackendConfig,
  type CacheConfig,
  type CacheUserConfig,
  type ClusterConfig,
  type ContainerCredentialsConfig,
  DEFAULT_CONFIG,
  DEFAULT_ROLE_NAME,
  defaultTrustPolicy,
  type EmulatorConfig,
  type GatewayConfig,
  type IamUserConfig,
  type InstanceMetadataConfig,
  type Jwk,
  type OidcProviderConfig,
  OWN_PROVIDER_PLACEHOLDER,
  type RoleConfig,
  SEED_POLICY,
  type SsoConfig,
  type StsConfig,
  type TemporaryCredentialsConfig,
} from "./src/config.ts";
export type { OneOrMany, PolicyDocument, PolicyStatement } from "./src/iam_policy.ts";
export type { GatewayAddress } from "./src/gateway.ts";
export type {
  ClusterNodeRef,
  ClusterWaitOptions,
  EmulatorCluster,
  EmulatorClusterNode,
  EmulatorClusterShard,
  SlotMigration,
} from "./src/cluster.ts";
export { AUTH_IN_MULTI_COMMAND, NOAUTH, NOAUTH_HELLO, WRONGPASS } from "./src/gateway.ts";
export type { MintTokenOptions, OidcIssuer } from "./src/oidc_issuer.ts";
export type { StsEndpoint } from "./src/sts_server.ts";
export type { SsoEndpoint, SsoLogin, SsoLoginOptions } from "./src/sso_server.ts";
export type {
  ContainerCredentialsEndpoint,
  InstanceMetadataEndpoint,
} from "./src/credential_endpoints.ts";
export { loadEmulatorConfig } from "./src/config_file.ts";

/** A running emulator. Dispose it (`await using`) to stop everything it started. */
export interface Emulator extends AsyncDisposable {
  /**
   * Where RESP clients connect to the first configured cache, and the CA
   * certificate to trust with TLS. In cluster mode: the first node's
   * gateway, a seed like a configuration endpoint.
   */
  readonly gateway: GatewayAddress;
  /**
   * Every cache's endpoint, in configuration order (the first is
   * {@linkcode Emulator.gateway}). As on AWS, each cache has its own data
   * behind its own endpoint, which refuses tokens signed for another cache.
   */
  readonly caches: readonly CacheEndpoint[];
  /**
   * The endpoint of a configured cache.
   *
   * @param cacheName The replication group id, serverless cache name or MemoryDB cluster name.
   * @returns Its endpoint.
   * @throws {TypeError} If no cache, or more than one (in different regions or services), has that name.
   */
  endpoint(cacheName: string): CacheEndpoint;
  /** In cluster mode, the cluster's nodes and operations; otherwise `undefined`. */
  readonly cluster: EmulatorCluster | undefined;
  /** The STS endpoint. */
  readonly sts: StsEndpoint;
  /** The OIDC issuer the STS trusts by default. */
  readonly oidc: OidcIssuer;
  /**
   * The container credentials endpoint, as ECS and EKS Pod Identity serve
   * one: point `AWS_CONTAINER_CREDENTIALS_FULL_URI` at `fullUri` with
   * `AWS_CONTAINER_AUTHORIZATION_TOKEN` (or a token file) set to
   * `authorizationToken`. It hands out the emulator's own STS credentials of
   * a role (`containerCredentials.roleName`, by default the first).
   */
  readonly containerCredentials: ContainerCredentialsEndpoint;
  /**
   * The EC2 instance metadata endpoint, IMDSv2 only: point
   * `AWS_EC2_METADATA_SERVICE_ENDPOINT` at `endpoint`. It hands out the
   * emulator's own STS credentials of the instance's role
   * (`instanceMetadata.roleName`, by default the first).
   */
  readonly instanceMetadata: InstanceMetadataEndpoint;
  /**
   * IAM Identity Center (SSO) for SSO profiles: point `AWS_ENDPOINT_URL_SSO`
   * and `AWS_ENDPOINT_URL_SSO_OIDC` at `endpoint`, and `sso.login({ home,
   * ssoSession })` writes the token cache `aws sso login` writes. Its portal
   * hands out the emulator's own STS credentials of a role (`sso_role_name`).
   */
  readonly sso: SsoEndpoint;
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

/**
 * A configured cache and its endpoint: where clients connect to reach its
 * data, with a token signed for its name.
 */
export interface CacheEndpoint extends GatewayAddress {
  /** The cache name: what tokens are signed for. */
  readonly name: string;
  /** What kind of cache it is. */
  readonly kind: "replication-group" | "serverless" | "memorydb";
  /** Its region. */
  readonly region: string;
  /** Its endpoint as a URL: `redis://127.0.0.1:<port>` (`rediss://` with TLS). */
  readonly url: string;
  /**
   * A serverless cache's reader endpoint (AWS: the same host, port 6380):
   * after `READONLY`, reads there are served by the virtual node's replica.
   * On the endpoint's port + 1 when that was free. `undefined` for other caches.
   */
  readonly reader?: ReaderEndpoint;
  /** Whether it is a serverless cache's public endpoint: TLS 1.3 only. */
  readonly publicEndpoint: boolean;
}

/** A serverless cache's reader endpoint. */
export interface ReaderEndpoint extends GatewayAddress {
  /** As a URL: `redis://127.0.0.1:<port>` (`rediss://` with TLS). */
  readonly url: string;
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
    credentialEndpointRoles(config, checked);
    ssoRoles(config, checked);
    const clusterConfig = config.cluster === undefined
      ? undefined
      : resolveClusterConfig(config.cluster);
    const ports = endpointPorts(config);
    const caches = checked.caches;
    if (clusterConfig !== undefined) {
      if (config.backend?.port !== undefined) {
        throw new TypeError(
          "Cannot start the emulator: 'cluster' starts its own nodes and cannot use a 'backend' address",
        );
      }
      if (ports.some((port) => port !== 0)) {
        throw new TypeError(
          "Cannot start the emulator: 'cluster' gives every node a free gateway port; remove 'gateway.port' and the caches' 'port'",
        );
      }
      if (caches.length !== 1) {
        throw new TypeError(
          `Cannot start the emulator: 'cluster' emulates one cluster-mode cache, got ${caches.length} caches; start one emulator per cluster`,
        );
      }
      if (caches[0]!.kind === "serverless") {
        throw new TypeError(
          "Cannot start the emulator: a serverless cache is always one virtual node owning every slot; leave 'cluster' out (it shapes replication groups)",
        );
      }
    } else if (config.backend?.port !== undefined && caches.length !== 1) {
      throw new TypeError(
        `Cannot start the emulator: a 'backend' address holds one cache's data, got ${caches.length} caches; leave 'backend' out and the emulator starts one redis-server per cache`,
      );
    } else if (config.backend?.port !== undefined && caches[0]!.kind === "serverless") {
      throw new TypeError(
        "Cannot start the emulator: a serverless cache runs on redis-servers the emulator starts (a primary and the reader's replica, in cluster mode); leave 'backend.port' out",
      );
    }
    const usersOf = (cache: ResolvedCache) =>
      [...checked.users.values()].filter((user) => cache.userIds.has(user.userId));
    const logOf = (cache: ResolvedCache) => (line: string) => log(`${cache.name} ${line}`);
    // The slow parts (an RSA key, a certificate, redis-servers) start side by side.
    const starts = await Promise.allSettled([
      startOidcIssuer(clock, config.oidc?.port ?? 0).catch((error) => {
        throw inUse(error, "OIDC issuer", config.oidc?.port, "'oidc.port'");
      }),
      config.tls === true || config.sts?.tls === true || caches.some((c) => c.publicEndpoint)
        ? createTlsMaterial()
        : Promise.resolve(undefined),
      ...(clusterConfig === undefined
        ? caches.map((cache, index) =>
          cache.kind === "serverless"
            ? startServerlessNodes(usersOf(cache), logOf(cache), {
              port: ports[index]!,
              reserved: [
                ...ports,
                config.sts?.port ?? 0,
                config.oidc?.port ?? 0,
                config.containerCredentials?.port ?? 0,
                config.instanceMetadata?.port ?? 0,
                config.sso?.port ?? 0,
              ],
              ...(config.backend?.redisServer ? { program: config.backend.redisServer } : {}),
            })
            : startRedisBackend(config.backend, usersOf(cache), logOf(cache))
        )
        : [
          startClusterNodes(clusterConfig, usersOf(caches[0]!), log, config.backend?.redisServer),
        ]),
    ]);
    for (const start of starts) {
      const started = start.status === "fulfilled" ? start.value : undefined;
      if (started !== undefined && "close" in started) cleanups.push(() => started.close());
    }
    for (const start of starts) {
      if (start.status === "rejected") throw start.reason;
    }
    const [oidc, material, ...backends] = (starts as PromiseFulfilledResult<unknown>[]).map((
      start,
    ) => start.value) as [
      RunningOidcIssuer,
      TlsMaterial | undefined,
      ...(RedisBackend | RunningCluster)[],
    ];
    // One CA for all; each speaks TLS only when asked to (a public endpoint always, 1.3 only).
    const tls = config.tls === true ? material : undefined;
    const tlsOf = (cache: ResolvedCache): GatewayTls | undefined =>
      cache.publicEndpoint ? { ...material!, minVersion: "TLSv1.3" } : tls;
    const stsTls = config.sts?.tls === true ? material : undefined;
    const resolved = resolveConfig(config, oidc.issuer);
    const credentials = new CredentialStore(resolved);
    let sts: RunningSts;
    try {
      sts = startSts({
        config: resolved,
        credentials,
        clock,
        ownJwks: oidc.jwks,
        log,
        port: config.sts?.port ?? 0,
        ...(stsTls ? { tls: stsTls } : {}),
      });
    } catch (error) {
      throw inUse(error, "STS", config.sts?.port, "'sts.port'");
    }
    cleanups.push(() => sts.close());
    const credentialEndpoints: RunningCredentialEndpoints = startCredentialEndpoints({
      config,
      resolved,
      credentials,
      clock,
      log,
      startFailure: inUse,
    });
    cleanups.push(() => credentialEndpoints.close());
    const sso: RunningSso = startSso({
      config,
      resolved,
      credentials,
      clock,
      log,
      startFailure: inUse,
    });
    cleanups.push(() => sso.close());
    const endpoints: CacheEndpoint[] = [];
    let cluster: EmulatorCluster | undefined;
    for (const [index, cache] of resolved.caches.entries()) {
      const backend = backends[index]!;
      const portInUse = (error: unknown) =>
        inUse(
          error,
          index === 0 ? "gateway" : `${describe(cache.name)} gateway`,
          ports[index],
          index === 0
            ? "'gateway.port' (the emulator command's --port)"
            : `'caches[${index}].port'`,
        );
      if ("form" in backend) {
        try {
          await backend.form({ config: resolved, credentials, clock, cache, tls: tlsOf(cache) });
        } catch (error) {
          throw portInUse(error);
        }
        const [primary, reader] = backend.gateways;
        endpoints.push(
          cacheEndpoint(cache, primary!, cache.kind === "serverless" ? reader : undefined),
        );
        if (cache.kind !== "serverless") cluster = backend.control;
        continue;
      }
      let gateway: Gateway;
      const cacheTls = tlsOf(cache);
      try {
        gateway = await Gateway.start({
          config: resolved,
          credentials,
          clock,
          cache,
          backend,
          log: logOf(cache),
          port: ports[index]!,
          ...(cacheTls ? { tls: cacheTls } : {}),
        });
      } catch (error) {
        throw portInUse(error);
      }
      cleanups.push(() => gateway.close());
      endpoints.push(cacheEndpoint(cache, gateway.address, undefined));
    }
    log(
      `emulator: ${
        endpoints.map((endpoint) =>
          `${endpoint.name} at ${endpoint.url}${
            endpoint.reader ? ` (reader ${endpoint.reader.url})` : ""
          }`
        ).join(", ")
      }; STS ${sts.endpoint}; OIDC issuer ${oidc.issuer}; container credentials ${credentialEndpoints.containerCredentials.origin}; instance metadata ${credentialEndpoints.instanceMetadata.endpoint}; SSO ${sso.endpoint}`,
    );
    let closing: Promise<void> | undefined;
    const close = () => closing ??= cleanUp();
    return {
      gateway: gatewayAddress(endpoints[0]!),
      caches: endpoints,
      endpoint(cacheName: string): CacheEndpoint {
        const named = endpoints.filter((endpoint) => endpoint.name === cacheName);
        if (named.length !== 1) {
          throw new TypeError(
            named.length === 0
              ? `Cannot find cache ${describe(cacheName)} in the emulator's configuration (${
                endpoints.map((endpoint) => endpoint.name).join(", ")
              })`
              : `Several caches are named ${
                describe(cacheName)
              } (in different regions or services); pick one from 'caches'`,
          );
        }
        return named[0]!;
      },
      cluster,
      sts: {
        endpoint: sts.endpoint,
        ...(stsTls ? { caCertPem: stsTls.caCertPem } : {}),
      },
      oidc: {
        issuer: oidc.issuer,
        providerName: oidc.providerName,
        jwksUri: oidc.jwksUri,
        jwks: oidc.jwks,
        mintToken: (options) => oidc.mintToken(options),
      },
      containerCredentials: credentialEndpoints.containerCredentials,
      instanceMetadata: credentialEndpoints.instanceMetadata,
      sso: {
        endpoint: sso.endpoint,
        startUrl: sso.startUrl,
        region: sso.region,
        accountId: sso.accountId,
        roleNames: sso.roleNames,
        login: (options) => sso.login(options),
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

/** A cache's endpoint: the address of the gateway that serves it (and of its reader's). */
function cacheEndpoint(
  cache: ResolvedCache,
  address: GatewayAddress,
  reader: GatewayAddress | undefined,
): CacheEndpoint {
  return {
    ...gatewayAddress(address),
    name: cache.name,
    kind: cache.kind,
    region: cache.region,
    url: urlOf(address),
    ...(reader === undefined ? {} : { reader: { ...gatewayAddress(reader), url: urlOf(reader) } }),
    publicEndpoint: cache.publicEndpoint,
  };
}

function urlOf(address: GatewayAddress): string {
  return `${address.tls ? "rediss" : "redis"}://${address.hostname}:${address.port}`;
}

/** The address part of an endpoint (what `gateway` has always been). */
function gatewayAddress(address: GatewayAddress): GatewayAddress {
  return {
    hostname: address.hostname,
    port: address.port,
    tls: address.tls,
    ...(address.caCertPem !== undefined ? { caCertPem: address.caCertPem } : {}),
  };
}

/**
 * Names the port and the option when a listener could not start because its
 * port is taken (`Deno.listen` says only "Address already in use").
 *
 * @param error What starting the listener threw.
 * @param what The listener.
 * @param port The configured port, if any.
 * @param option Where the port is configured.
 * @returns The error to throw.
 */
function inUse(error: unknown, what: string, port: number | undefined, option: string): unknown {
  let cause: unknown = error;
  while (cause instanceof Error && !(cause instanceof Deno.errors.AddrInUse)) cause = cause.cause;
  if (!(cause instanceof Deno.errors.AddrInUse)) return error;
  return new Error(
    `Cannot start the emulator: the ${what}'s port ${port} on 127.0.0.1 is in use; stop what listens there, or choose another port with ${option} or leave it out for a free one`,
    { cause: error },
  );
}
