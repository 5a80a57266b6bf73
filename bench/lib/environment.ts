/**
 * What every measurement runs against: the emulator (gateway, STS, OIDC
 * issuer) with one IAM user whose long-term keys the cold-start programs read
 * from the environment, behind a TLS terminator.
 *
 * Why a terminator: the emulator's own TLS listener is `Deno.listenTls`,
 * whose connections cannot set `TCP_NODELAY`. After a TLS 1.3 handshake the
 * server's session tickets sit unacknowledged, so Nagle's algorithm holds the
 * first reply until the client's delayed ACK (about 40 ms on Linux), for every
 * client alike. ElastiCache's servers set `TCP_NODELAY`; so does this
 * terminator (`node:tls`, both sides), in front of the plaintext gateway.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
import type { Emulator } from "@elasticache-iam/emulator";
import { createTlsMaterial } from "../../packages/emulator/src/tls_certificate.ts";
import { createAuthToken } from "../../mod.ts";

/** The cache and user the emulator's default configuration defines. */
export const CACHE = "replication-group-01";
/** The IAM-enabled ElastiCache user. */
export const USER = "iam-user-01";
/** The region. */
export const REGION = "us-east-1";
/** The key every cold start reads. */
export const KEY = "bench:cold";
/** Its value. */
export const VALUE = "cold-start-value";

/** The long-term keys of the benchmark's IAM user (an emulator-only identity, not a secret). */
export const ACCESS_KEYS = {
  accessKeyId: "AKIAEMULATORBENCH001",
  secretAccessKey: "emulator-bench-secret-access-key-0000001",
} as const;

/** A host and port. */
export interface Endpoint {
  readonly hostname: string;
  readonly port: number;
}

/** A running emulator plus what the programs need to reach it. */
export interface BenchEmulator extends AsyncDisposable {
  /** The emulator. */
  readonly emulator: Emulator;
  /** Where TLS clients connect (the terminator in front of the gateway). */
  readonly tls: Endpoint;
  /** The CA certificate (PEM) that signed the terminator's certificate. */
  readonly caCertPem: string;
  /**
   * Environment variables for a program that connects to `endpoint` (by
   * default the TLS endpoint).
   */
  programEnv(endpoint?: Endpoint): Promise<Record<string, string>>;
}

/**
 * Starts the emulator and the TLS terminator, and stores the key the cold
 * starts read.
 *
 * @returns The running emulator; dispose it to stop everything.
 */
export async function startBenchEmulator(): Promise<BenchEmulator> {
  const [emulator, material] = await Promise.all([
    startEmulator({
      iamUsers: [{ userName: "bench", accessKeys: [{ ...ACCESS_KEYS }], policies: [SEED_POLICY] }],
    }),
    createTlsMaterial(),
  ]);
  const gateway = emulator.gateway;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: material.cert, key: material.key }, (client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: gateway.hostname, port: gateway.port });
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const tlsEndpoint = { hostname: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await emulator.close();
  };
  try {
    await storeColdKey(tlsEndpoint, material.caCertPem);
  } catch (error) {
    await close();
    throw error;
  }
  let staticPassword: { token: string; at: number } | undefined;
  return {
    emulator,
    tls: tlsEndpoint,
    caCertPem: material.caCertPem,
    async programEnv(endpoint = tlsEndpoint) {
      // The floor's "static password": a token minted here, renewed every 5 minutes.
      if (staticPassword === undefined || Date.now() - staticPassword.at > 300_000) {
        staticPassword = { token: await mint(), at: Date.now() };
      }
      return {
        BENCH_HOST: endpoint.hostname,
        BENCH_PORT: String(endpoint.port),
        BENCH_CA_PEM: material.caCertPem,
        BENCH_CACHE: CACHE,
        BENCH_USER: USER,
        BENCH_KEY: KEY,
        BENCH_PASSWORD: staticPassword.token,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: ACCESS_KEYS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ACCESS_KEYS.secretAccessKey,
      };
    },
    [Symbol.asyncDispose]: close,
  };
}

function mint(): Promise<string> {
  return createAuthToken({
    replicationGroupId: CACHE,
    userId: USER,
    region: REGION,
    credentials: { ...ACCESS_KEYS },
  });
}

/** `SET bench:cold cold-start-value` through the terminator and the gateway (also a smoke test of both). */
async function storeColdKey(endpoint: Endpoint, caCertPem: string): Promise<void> {
  const conn = await Deno.connectTls({ ...endpoint, caCerts: [caCertPem] });
  try {
    const token = await mint();
    const encoder = new TextEncoder();
    const frame = (...args: string[]) =>
      `*${args.length}\r\n${
        args.map((arg) => `$${encoder.encode(arg).length}\r\n${arg}\r\n`).join("")
      }`;
    await conn.write(encoder.encode(frame("AUTH", USER, token) + frame("SET", KEY, VALUE)));
    const buffer = new Uint8Array(1024);
    let text = "";
    while (!text.endsWith("+OK\r\n+OK\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
      if (text.startsWith("-")) break;
    }
    if (text !== "+OK\r\n+OK\r\n") {
      throw new Error(`Cannot store the cold-start key through the emulator: ${text.trim()}`);
    }
  } finally {
    conn.close();
  }
}
