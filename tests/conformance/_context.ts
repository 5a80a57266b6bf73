/**
 * What a conformance case gets from the runtime running it: the emulator's
 * addresses, its clock and counters (through the host's control API, so the
 * emulator can run in Deno while the runtime under test is another process),
 * and the runtime's own `connect`.
 *
 * Nothing here imports a runtime module: it uses `fetch` only.
 *
 * @module
 */

import type { ConnectOptions, RedisClient as BaseRedisClient } from "../../mod.ts";

/** The runtimes the suite runs in. */
export type RuntimeName = "deno" | "node" | "bun" | "workerd";

/** The kinds of cache the emulators serve, named by the option that signs for each. */
export type CacheKind = "replicationGroupId" | "serverlessCacheName" | "memoryDbClusterName";

/** A gateway address. */
export interface GatewayInfo {
  /** The host to connect to. */
  hostname: string;
  /** Its port. */
  port: number;
}

/** What the host publishes at `GET /info`. */
export interface EmulatorInfo {
  /** The region of every cache. */
  region: string;
  /** The replication group's plaintext endpoint. */
  plain: GatewayInfo;
  /** The replication group's TLS endpoint and the CA that signed its certificate. */
  tls: GatewayInfo & { caCertPem: string };
  /** The cache names the emulators serve, one of each kind. */
  caches: Record<CacheKind, string>;
  /** Each cache's own endpoints (as on AWS, an endpoint refuses tokens for other caches). */
  endpoints: Record<CacheKind, { plain: GatewayInfo; tls: GatewayInfo }>;
  /**
   * A serverless cache with a public endpoint (TLS 1.3 only, as on AWS), on
   * the TLS emulator (same CA): the endpoint the Worker example connects to.
   */
  publicEndpoint: GatewayInfo & { cacheName: string };
  /** The IAM-enabled user with every permission. */
  userId: string;
  /** A Lambda function's environment: the execution role's temporary keys. */
  lambdaEnv: Record<string, string>;
  /** The role web identities assume. */
  roleArn: string;
  /** The STS endpoint (of the plaintext emulator). */
  stsEndpoint: string;
}

/** Authentications counted by the gateways (both emulators). */
export interface GatewayStats {
  /** `AUTH` / `HELLO AUTH` accepted. */
  accepted: number;
  /** `AUTH` / `HELLO AUTH` refused with `WRONGPASS`. */
  refused: number;
}

/** What every case receives. */
export interface ConformanceContext {
  /** The runtime running the case. */
  readonly runtime: RuntimeName;
  /** The emulator. */
  readonly info: EmulatorInfo;
  /** The runtime's `connect`: the main entry's, or `./cloudflare`'s in a Worker. */
  connect(options: ConnectOptions): Promise<BaseRedisClient>;
  /**
   * Options for a cache's TLS endpoint (by default the replication group's),
   * the way this runtime trusts the emulator's CA.
   */
  tlsTarget(cache?: CacheKind): Pick<ConnectOptions, "host" | "port" | "tls" | "caCerts">;
  /** Options for the replication group's plaintext endpoint. */
  plainTarget(): Pick<ConnectOptions, "host" | "port" | "tls">;
  /** The emulator's clock, for `IamAuth` and the client's `now`. */
  now(): number;
  /**
   * Moves the emulators' clocks (tokens age, the connection cap comes closer).
   *
   * @param ms How far.
   */
  advanceClock(ms: number): Promise<void>;
  /** The gateways' authentication counters. */
  stats(): Promise<GatewayStats>;
  /** A fresh OIDC token from the emulator's issuer, audience `sts.amazonaws.com`. */
  webIdentityToken(): Promise<string>;
}

/** How a runtime entry builds its context. */
export interface ContextOptions {
  /** The runtime. */
  runtime: RuntimeName;
  /** The host's control URL (`CONFORMANCE_CONTROL_URL`). */
  controlUrl: string;
  /** The runtime's `connect`. */
  connect(options: ConnectOptions): Promise<BaseRedisClient>;
  /**
   * Whether the runtime takes the CA as `caCerts`; a Worker cannot and
   * trusts it through workerd's `NODE_EXTRA_CA_CERTS` instead.
   *
   * @default {true}
   */
  caCerts?: boolean;
}

/**
 * Builds a context that talks to a conformance host over HTTP.
 *
 * @param options The runtime, the control URL and `connect`.
 * @returns The context.
 */
export async function remoteContext(options: ContextOptions): Promise<ConformanceContext> {
  const base = options.controlUrl.replace(/\/$/, "");
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : {
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      }),
    });
    if (!response.ok) {
      throw new Error(
        `Conformance host: ${path} answered ${response.status}: ${await response.text()}`,
      );
    }
    return await response.json() as T;
  };
  const info = await call<EmulatorInfo>("/info");
  let offset = (await call<{ now: number }>("/clock")).now - Date.now();
  const caCerts = options.caCerts ?? true;
  return {
    runtime: options.runtime,
    info,
    connect: options.connect,
    tlsTarget: (cache = "replicationGroupId") => ({
      host: info.endpoints[cache].tls.hostname,
      port: info.endpoints[cache].tls.port,
      tls: true,
      ...(caCerts ? { caCerts: info.tls.caCertPem } : {}),
    }),
    plainTarget: () => ({ host: info.plain.hostname, port: info.plain.port, tls: false }),
    now: () => Date.now() + offset,
    async advanceClock(ms) {
      offset = (await call<{ now: number }>("/clock/advance", { ms })).now - Date.now();
    },
    stats: () => call<GatewayStats>("/stats"),
    webIdentityToken: async () => (await call<{ token: string }>("/oidc-token", {})).token,
  };
}
