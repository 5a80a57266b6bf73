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
import { type EmulatorConfig, resolveConfig } from "./config.ts";
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
export { AUTH_IN_MULTI_COMMAND, NOAUTH, NOAUTH_HELLO, WRONGPASS } from "./gateway.ts";
export type { MintTokenOptions, OidcIssuer } from "./oidc_issuer.ts";
export type { StsEndpoint } from "./sts_server.ts";
export { loadEmulatorConfig } from "./config_file.ts";

/** A running emulator. Dispose it (`await using`) to stop everything it started. */
export interface Emulator extends AsyncDisposable {
  /** Where RESP clients connect, and the CA certificate to trust with TLS. */
  readonly gateway: GatewayAddress;
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
export async function startEmulator(config: EmulatorConfig = {}): Promise<Emulator> {
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
    // The slow parts (an RSA key, a certificate, a redis-server) start side by side.
    const [oidcStart, backendStart, tlsStart] = await Promise.allSettled([
      startOidcIssuer(clock, config.oidc?.port ?? 0),
      startRedisBackend(config.backend, [...checked.users.values()], log),
      config.tls === true ? createTlsMaterial() : Promise.resolve(undefined),
    ]);
    if (oidcStart.status === "fulfilled") cleanups.push(() => oidcStart.value.close());
    if (backendStart.status === "fulfilled") cleanups.push(() => backendStart.value.close());
    for (const start of [oidcStart, backendStart, tlsStart]) {
      if (start.status === "rejected") throw start.reason;
    }
    const oidc = (oidcStart as PromiseFulfilledResult<RunningOidcIssuer>).value;
    const backend = (backendStart as PromiseFulfilledResult<RedisBackend>).value;
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
    const gateway = new Gateway({
      config: resolved,
      credentials,
      clock,
      backend,
      log,
      port: config.gateway?.port ?? 0,
      ...(tls ? { tls } : {}),
    });
    cleanups.push(() => gateway.close());
    log(
      `emulator: gateway ${
        tls ? "rediss" : "redis"
      }://127.0.0.1:${gateway.address.port}, STS ${sts.endpoint}, OIDC issuer ${oidc.issuer}`,
    );
    let closing: Promise<void> | undefined;
    const close = () => closing ??= cleanUp();
    return {
      gateway: gateway.address,
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
