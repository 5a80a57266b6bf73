/**
 * The conformance host (Deno): two emulators, one plaintext and one TLS,
 * configured alike (the TLS one also serves a serverless cache with a
 * public endpoint, TLS 1.3 only, for the examples), and a small HTTP control
 * API on loopback so that a runtime under test in another process (Node.js,
 * Bun, workerd) can read their addresses, move their clocks, count
 * authentications and get OIDC tokens. See {@linkcode EmulatorInfo} for what it publishes.
 *
 * Control API: `GET /info`, `GET /clock`, `POST /clock/advance {ms}`,
 * `POST /clock/reset` (back to real time, for code that cannot be handed the
 * emulator's clock), `GET /stats`, `POST /oidc-token`.
 *
 * @module
 */

import {
  DEFAULT_ROLE_NAME,
  defaultTrustPolicy,
  type Emulator,
  type EmulatorConfig,
  startEmulator,
} from "@elasticache-iam/emulator";
import type { CacheKind, EmulatorInfo, GatewayInfo, GatewayStats } from "./_context.ts";

const ACCOUNT_ID = "123456789012";
const REGION = "us-east-1";
const CACHES: Record<CacheKind, string> = {
  replicationGroupId: "replication-group-01",
  serverlessCacheName: "serverless-cache-01",
  memoryDbClusterName: "memorydb-cluster-01",
};
const USER_ID = "iam-user-01";
/** A serverless cache with a public endpoint (TLS 1.3 only), on the TLS emulator: the examples' target. */
const PUBLIC_CACHE = "public-serverless-cache-01";

/** The execution role's temporary keys, as Lambda puts them in a function's environment. */
export const LAMBDA_KEYS = {
  accessKeyId: "ASIACONFORMANCE00001",
  secretAccessKey: "conformanceLambdaSecretKey00000000000000",
  sessionToken: "conformance-lambda-session-token",
};

/** The emulators' configuration: three kinds of cache, one user, one role. */
export function conformanceConfig(): EmulatorConfig {
  const ec = `arn:aws:elasticache:${REGION}:${ACCOUNT_ID}`;
  const mdb = `arn:aws:memorydb:${REGION}:${ACCOUNT_ID}`;
  return {
    region: REGION,
    accountId: ACCOUNT_ID,
    caches: [
      { replicationGroupId: CACHES.replicationGroupId },
      { serverlessCacheName: CACHES.serverlessCacheName },
      { memoryDbClusterName: CACHES.memoryDbClusterName },
    ],
    users: [{ userId: USER_ID, accessString: "on ~* &* +@all" }],
    roles: [{
      roleName: DEFAULT_ROLE_NAME,
      trustPolicy: defaultTrustPolicy(ACCOUNT_ID),
      policies: [{
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["elasticache:Connect"],
            Resource: [
              `${ec}:replicationgroup:${CACHES.replicationGroupId}`,
              `${ec}:serverlesscache:${CACHES.serverlessCacheName}`,
              `${ec}:serverlesscache:${PUBLIC_CACHE}`,
              `${ec}:user:${USER_ID}`,
            ],
          },
          {
            Effect: "Allow",
            Action: ["memorydb:Connect"],
            Resource: [`${mdb}:cluster/${CACHES.memoryDbClusterName}`, `${mdb}:user/${USER_ID}`],
          },
        ],
      }],
      temporaryCredentials: [LAMBDA_KEYS],
    }],
  };
}

/** A running host. Dispose it to stop the emulators and the control server. */
export interface ConformanceHost extends AsyncDisposable {
  /** The control API's base URL. */
  readonly controlUrl: string;
  /** What `GET /info` answers. */
  readonly info: EmulatorInfo;
  /** The emulators' clock. */
  now(): number;
  /**
   * Moves both emulators' clocks.
   *
   * @param ms How far.
   */
  advanceClock(ms: number): void;
  /** Sets both emulators' clocks back to real time. */
  resetClock(): void;
  /** Authentications counted so far. */
  stats(): GatewayStats;
  /** A fresh OIDC token for the default role. */
  webIdentityToken(): Promise<string>;
  /** The TLS emulator's CA certificate, written to a file (for `NODE_EXTRA_CA_CERTS`). */
  readonly caFile: string;
}

/**
 * Starts both emulators and the control API.
 *
 * @returns The host.
 */
export async function startConformanceHost(): Promise<ConformanceHost> {
  const log: string[] = [];
  const config = { ...conformanceConfig(), log: (line: string) => log.push(line) };
  const started = await Promise.allSettled([
    startEmulator(config),
    startEmulator({
      ...config,
      tls: true,
      caches: [...config.caches!, { serverlessCacheName: PUBLIC_CACHE, publicEndpoint: true }],
    }),
  ]);
  const emulators = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const failure = started.find((s) => s.status === "rejected");
  if (failure !== undefined) {
    for (const emu of emulators) await emu.close();
    throw failure.reason;
  }
  const [plain, tls] = emulators as [Emulator, Emulator];
  const dir = await Deno.makeTempDir({ prefix: "conformance-host-" });
  const caFile = `${dir}/emulator-ca.pem`;
  await Deno.writeTextFile(caFile, tls.gateway.caCertPem!);

  const address = ({ hostname, port }: GatewayInfo): GatewayInfo => ({ hostname, port });
  const endpointsOf = (name: string) => ({
    plain: address(plain.endpoint(name)),
    tls: { ...address(tls.endpoint(name)), caCertPem: tls.gateway.caCertPem! },
  });
  const info: EmulatorInfo = {
    region: REGION,
    plain: { hostname: plain.gateway.hostname, port: plain.gateway.port },
    tls: {
      hostname: tls.gateway.hostname,
      port: tls.gateway.port,
      caCertPem: tls.gateway.caCertPem!,
    },
    caches: CACHES,
    endpoints: {
      replicationGroupId: endpointsOf(CACHES.replicationGroupId),
      serverlessCacheName: endpointsOf(CACHES.serverlessCacheName),
      memoryDbClusterName: endpointsOf(CACHES.memoryDbClusterName),
    },
    publicEndpoint: { ...address(tls.endpoint(PUBLIC_CACHE)), cacheName: PUBLIC_CACHE },
    userId: USER_ID,
    lambdaEnv: {
      AWS_ACCESS_KEY_ID: LAMBDA_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LAMBDA_KEYS.secretAccessKey,
      AWS_SESSION_TOKEN: LAMBDA_KEYS.sessionToken,
      AWS_REGION: REGION,
    },
    roleArn: plain.roleArn(),
    stsEndpoint: plain.sts.endpoint,
  };
  const stats = (): GatewayStats => ({
    accepted: log.filter((line) => / AUTH as '.*' .*accepted/.test(line)).length,
    refused: log.filter((line) => / AUTH as '.*' refused/.test(line)).length,
  });
  const advanceClock = (ms: number) => {
    plain.clock.advance(ms);
    tls.clock.advance(ms);
  };
  const resetClock = () => {
    plain.clock.set(Date.now());
    tls.clock.set(Date.now());
  };
  const webIdentityToken = () =>
    plain.oidc.mintToken({ sub: "conformance", aud: "sts.amazonaws.com" });

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const { pathname } = new URL(request.url);
      try {
        if (pathname === "/info") return Response.json(info);
        if (pathname === "/clock") return Response.json({ now: plain.clock.now() });
        if (pathname === "/stats") return Response.json(stats());
        if (pathname === "/clock/advance" && request.method === "POST") {
          const { ms } = await request.json() as { ms: number };
          advanceClock(ms);
          return Response.json({ now: plain.clock.now() });
        }
        if (pathname === "/clock/reset" && request.method === "POST") {
          resetClock();
          return Response.json({ now: plain.clock.now() });
        }
        if (pathname === "/oidc-token" && request.method === "POST") {
          return Response.json({ token: await webIdentityToken() });
        }
        return new Response("not found", { status: 404 });
      } catch (error) {
        return new Response(String(error), { status: 500 });
      }
    },
  );
  const controlUrl = `http://127.0.0.1:${server.addr.port}`;
  return {
    controlUrl,
    info,
    caFile,
    now: () => plain.clock.now(),
    advanceClock,
    resetClock,
    stats,
    webIdentityToken,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Promise.allSettled([plain.close(), tls.close()]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
