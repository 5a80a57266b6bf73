/**
 * The fault suite's world: the emulator with TLS; a token manager whose AWS
 * credentials come from web identity through a fault-injecting proxy in front
 * of the emulator's STS, on the client's own (possibly skewed) clock; counts
 * of token mints and of what the gateway accepted, refused and cut; an
 * optional TCP proxy in front of the gateway; and clients of both kinds (the
 * thin client and node-redis) wired to all of it.
 *
 * @module
 */

import { type Emulator, type EmulatorConfig, startEmulator } from "@elasticache-iam/emulator";
import { createClient as createRedisClient } from "redis";
import { IamAuth, type IamAuthOptions } from "../../src/iam_auth.ts";
import { fromWebIdentity } from "../../src/credentials/web_identity.ts";
import { connect, type RedisClient } from "../../src/client.ts";
import type { ConnectOptions } from "../../mod.ts";
import type { AuthCredentials, AuthProvider } from "../../mod.ts";
import { createIamClient, type CreateIamClientOptions } from "@elasticache-iam/node-redis";
import { startStsFaultProxy, type StsFaultProxy } from "./_sts_fault_proxy.ts";
import { startTcpProxy, type TcpProxy } from "./_tcp_proxy.ts";

/** The application's cache user; every count below is about it. */
export const USER = "iam-user-01";
/** A second IAM user the suite itself uses to kill connections and read data back. */
const ADMIN = "fault-admin";
const ACCESS = "on ~* &* +@all";

/** Options of {@linkcode startFaultEnv}. */
export interface FaultEnvOptions {
  /** Emulator settings (TLS is on unless `tls: false`). */
  emulator?: EmulatorConfig;
  /** Token manager settings (target, timing, retry). */
  auth?: Partial<IamAuthOptions>;
  /** The STS session length asked for, in seconds (900 to 3600). */
  durationSeconds?: number;
  /** How far the client's clock is off the emulator's, in ms (positive: ahead). */
  skewMs?: number;
  /** Put a TCP proxy between the clients and the gateway. */
  gatewayProxy?: boolean;
}

/** A node-redis client made by {@linkcode FaultEnv.nodeRedis}. */
export type NodeRedisClient = ReturnType<typeof createRedisClient>;

/** node-redis and IAM options for {@linkcode FaultEnv.nodeRedis}, such as `RESP: 2` or `reauthAfter`. */
export type NodeRedisExtra =
  & Partial<Omit<CreateIamClientOptions<typeof createRedisClient>, "RESP">>
  & { RESP?: 2 | 3 };

/** The running world. Dispose it to stop everything. */
export interface FaultEnv extends AsyncDisposable {
  readonly emu: Emulator;
  /** The application's token manager. */
  readonly auth: IamAuth;
  /** The proxy in front of the emulator's STS (counts requests, injects faults). */
  readonly sts: StsFaultProxy;
  /** The proxy in front of the gateway, with `gatewayProxy`. */
  readonly gatewayProxy: TcpProxy | undefined;
  /** The gateway's CA certificate. */
  readonly caCertPem: string;
  /** Where clients connect: the gateway, or its proxy. */
  readonly address: { readonly hostname: string; readonly port: number; readonly tls: boolean };
  /** The same as a `rediss://` (or `redis://`) URL, for node-redis. */
  readonly url: string;
  /** Every line the emulator logged. */
  readonly log: string[];
  /** Every token handed to a client made here, in order (never print them). */
  readonly tokens: string[];
  /** The client's clock: the emulator's, plus the skew. */
  now(): number;
  /**
   * Changes how far the client's clock is off the emulator's.
   *
   * @param ms The new skew (positive: ahead).
   */
  setSkew(ms: number): void;
  /** How many tokens the application's token manager minted (one credentials resolution each). */
  mints(): number;
  /** How many IAM `AUTH`/`HELLO AUTH` of the application's user the gateway accepted. */
  accepted(): number;
  /** The log lines of the tokens of the application's user that the gateway refused, with the reasons. */
  refusals(): string[];
  /** How many connections the gateway cut at the connection age cap. */
  capCuts(): number;
  /** The token manager as clients see it: records every token it hands out. */
  readonly provider: AuthProvider;
  /**
   * Options for the thin client.
   *
   * @param extra Options to add or override.
   * @returns The options.
   */
  thinOptions(extra?: Partial<ConnectOptions>): ConnectOptions;
  /**
   * A connected thin client, closed with the environment.
   *
   * @param extra Options to add or override.
   * @returns The client.
   */
  thin(extra?: Partial<ConnectOptions>): Promise<RedisClient>;
  /**
   * A node-redis client through this module's `createClient`, not yet
   * connected, destroyed with the environment; its `error` events are collected.
   *
   * @param extra Options to add or override.
   * @returns The client and the errors it emitted.
   */
  nodeRedis(extra?: NodeRedisExtra): { client: NodeRedisClient; errors: Error[] };
  /**
   * Kills every connection of the application's user on the server side
   * (`CLIENT KILL USER`), as a failover or an idle cut does.
   *
   * @returns How many connections were killed.
   */
  killConnections(): Promise<number>;
  /**
   * Runs a command as the suite's own admin user (a separate connection and token manager).
   *
   * @param args The command.
   * @returns Its reply.
   */
  admin(args: string[]): Promise<unknown>;
}

/**
 * Starts the world.
 *
 * @param options The emulator, token manager, STS, clock and proxy settings.
 * @returns The running world.
 */
export async function startFaultEnv(options: FaultEnvOptions = {}): Promise<FaultEnv> {
  const log: string[] = [];
  const config = options.emulator ?? {};
  const users = [...(config.users ?? [{ userId: USER, accessString: ACCESS }])];
  users.push({ userId: ADMIN, accessString: ACCESS });
  const emu = await startEmulator({
    tls: true,
    ...config,
    users,
    log: (line) => log.push(line),
  });
  const cleanups: (() => Promise<void> | void)[] = [() => emu.close()];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // Keep stopping the rest.
      }
    }
  };
  try {
    const sts = startStsFaultProxy(emu.sts.endpoint);
    cleanups.push(() => sts.close());
    let skew = options.skewMs ?? 0;
    const now = () => emu.clock.now() + skew;
    const webIdentity = (clock: () => number, endpoint: string) =>
      fromWebIdentity({
        roleArn: emu.roleArn(),
        webIdentityToken: () =>
          emu.oidc.mintToken({ sub: "fault-suite", aud: "sts.amazonaws.com" }),
        stsEndpoint: endpoint,
        region: emu.region,
        now: clock,
        ...(options.durationSeconds ? { durationSeconds: options.durationSeconds } : {}),
      });
    const source = webIdentity(now, sts.endpoint);
    let mints = 0;
    const auth = new IamAuth({
      replicationGroupId: "replication-group-01",
      userId: USER,
      region: emu.region,
      credentials: () => {
        mints++;
        return source();
      },
      now,
      ...options.auth,
    } as IamAuthOptions);
    cleanups.push(() => auth[Symbol.dispose]());

    const tokens: string[] = [];
    const record = (credentials: AuthCredentials) => {
      tokens.push(credentials.password);
      return credentials;
    };
    const provider: AuthProvider = {
      credentials: () => auth.credentials().then(record),
      refresh: () => auth.refresh().then(record),
    };

    const gatewayProxy = options.gatewayProxy ? startTcpProxy(emu.gateway) : undefined;
    if (gatewayProxy) cleanups.push(() => gatewayProxy.close());
    const tls = emu.gateway.tls;
    const address = {
      hostname: "127.0.0.1",
      port: gatewayProxy?.port ?? emu.gateway.port,
      tls,
    };
    const caCertPem = emu.gateway.caCertPem ?? "";
    const thinOptions = (extra: Partial<ConnectOptions> = {}): ConnectOptions => ({
      host: address.hostname,
      port: address.port,
      tls,
      ...(tls ? { caCerts: caCertPem } : {}),
      auth: provider,
      now,
      ...extra,
    });

    let adminClient: RedisClient | undefined;
    const adminAuth = new IamAuth({
      replicationGroupId: "replication-group-01",
      userId: ADMIN,
      region: emu.region,
      credentials: webIdentity(() => emu.clock.now(), emu.sts.endpoint),
      now: () => emu.clock.now(),
    });
    cleanups.push(() => adminAuth[Symbol.dispose]());
    const admin = async (args: string[]): Promise<unknown> => {
      adminClient ??= await connect({
        host: emu.gateway.hostname,
        port: emu.gateway.port,
        tls,
        ...(tls ? { caCerts: caCertPem } : {}),
        auth: adminAuth,
        now: () => emu.clock.now(),
      });
      return await adminClient.send(args);
    };
    cleanups.push(() => adminClient?.close());

    const own = (line: string) => line.includes(`AUTH as '${USER}'`);
    return {
      emu,
      auth,
      sts,
      gatewayProxy,
      caCertPem,
      address,
      url: `${tls ? "rediss" : "redis"}://${address.hostname}:${address.port}`,
      log,
      tokens,
      now,
      setSkew(ms: number) {
        skew = ms;
      },
      mints: () => mints,
      accepted: () => log.filter((line) => own(line) && line.includes(" accepted ")).length,
      refusals: () => log.filter((line) => own(line) && line.includes(" refused: ")),
      capCuts: () => log.filter((line) => line.includes("connection age cap")).length,
      provider,
      thinOptions,
      async thin(extra) {
        const client = await connect(thinOptions(extra));
        cleanups.push(() => client.close());
        return client;
      },
      nodeRedis(extra = {}) {
        const client = createIamClient(createRedisClient, {
          url: `${tls ? "rediss" : "redis"}://${address.hostname}:${address.port}`,
          auth: provider,
          ...(tls ? { caCerts: caCertPem } : {}),
          ...extra,
        } as CreateIamClientOptions<typeof createRedisClient>) as NodeRedisClient;
        const errors: Error[] = [];
        client.on("error", (error: Error) => errors.push(error));
        cleanups.push(() => {
          if (client.isOpen) client.destroy();
        });
        return { client, errors };
      },
      async killConnections() {
        return Number(await admin(["CLIENT", "KILL", "USER", USER]));
      },
      admin,
      [Symbol.asyncDispose]: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/**
 * Polls `condition` every few ms, failing after `ms` of real time.
 *
 * @param condition What to wait for.
 * @param what Named in the timeout error.
 * @param ms The limit.
 */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Sleeps in real time (only where a real socket or timer must get its turn).
 *
 * @param ms How long.
 * @returns Resolves after `ms`.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How a tracked promise ended. */
export type Outcome<T> =
  | { readonly settled: false }
  | { readonly settled: true; readonly ok: true; readonly value: T }
  | { readonly settled: true; readonly ok: false; readonly error: unknown };

/**
 * Watches a promise so that a test can later tell a reply, an error and silence apart.
 *
 * @param promise The command's promise.
 * @returns A live view of its outcome.
 */
export function track<T>(promise: Promise<T>): { readonly outcome: Outcome<T> } {
  const box: { outcome: Outcome<T> } = { outcome: { settled: false } };
  promise.then(
    (value) => box.outcome = { settled: true, ok: true, value },
    (error) => box.outcome = { settled: true, ok: false, error },
  );
  return box;
}
