/**
 * The emulator in cluster mode (TLS, one gateway per node) with an `IamAuth`
 * that follows the emulator's clock, plus what the cluster tests share:
 * options for both clients, counters read from the gateways' log and the
 * nodes' statistics, and a workload runner.
 *
 * @module
 */

import type { ClusterEmulator, EmulatorCluster, EmulatorConfig } from "@elasticache-iam/emulator";
import type { IamAuthOptions } from "../../src/iam_auth.ts";
import type { ConnectClusterOptions } from "../../src/cluster/client.ts";
import { type IamEmulator, startIamEmulator } from "./iam_emulator.ts";

/** A running cluster emulator and a token manager for it. */
export interface IamCluster extends IamEmulator {
  /** The emulator, in cluster mode. */
  readonly emu: ClusterEmulator;
  /** The cluster's nodes and operations. */
  readonly cluster: EmulatorCluster;
  /** Options for `connectCluster`: the first gateway as seed, TLS with the emulator's CA, `auth`. */
  thinOptions(): ConnectClusterOptions;
  /** node-redis `createCluster` options: the first gateway as root node, `auth`, the CA. */
  nodeRedisOptions(): {
    rootNodes: { url: string }[];
    auth: IamEmulator["auth"];
    caCerts: string;
  };
  /** Log lines of IAM authentications the gateways accepted, per node index. */
  acceptedOn(nodeIndex: number): number;
  /** Log lines of IAM authentications the gateways refused. */
  refused(): string[];
  /** Log lines of connections the gateways cut at the age cap. */
  capClosures(): string[];
  /** A counter of `INFO errorstats` (such as `ASK`, `MOVED`) or `INFO commandstats` (`cmdstat_asking`) on a node. */
  stat(nodeIndex: number, name: string): Promise<number>;
}

/**
 * Starts the emulator with a 3×(1+1) cluster over TLS, unless `config` says otherwise.
 *
 * @param config Emulator settings, such as `connectionMaxAgeMs` or another `cluster` shape.
 * @param authOptions Token manager settings.
 * @returns The running cluster; dispose it to stop everything.
 */
export async function startIamCluster(
  config: EmulatorConfig = {},
  authOptions: Partial<IamAuthOptions> = {},
): Promise<IamCluster> {
  const env = await startIamEmulator(
    { cluster: { shards: 3, replicasPerShard: 1 }, ...config },
    authOptions,
  );
  const emu = env.emu as ClusterEmulator;
  const gateway = emu.gateway;
  const count = (pattern: RegExp) => env.log.filter((line) => pattern.test(line));
  return {
    ...env,
    emu,
    cluster: emu.cluster,
    [Symbol.asyncDispose]: () => env[Symbol.asyncDispose](),
    thinOptions: () => ({
      host: gateway.hostname,
      port: gateway.port,
      tls: true,
      caCerts: [env.caCertPem],
      auth: env.auth,
    }),
    nodeRedisOptions: () => ({
      rootNodes: [{ url: `rediss://${gateway.hostname}:${gateway.port}` }],
      auth: env.auth,
      caCerts: env.caCertPem,
    }),
    acceptedOn: (nodeIndex) =>
      count(new RegExp(`^node-${nodeIndex} gateway: #\\d+ AUTH as '.*' .*accepted`)).length,
    refused: () => count(/ AUTH as '.*' refused/),
    capClosures: () => count(/connection age cap/),
    async stat(nodeIndex, name) {
      const section = name.startsWith("cmdstat_") ? "commandstats" : "errorstats";
      const text = String(await emu.cluster.command(nodeIndex, ["INFO", section]));
      const key = section === "errorstats" ? `errorstat_${name}` : name;
      const match = new RegExp(`^${key}:(?:calls|count)=(\\d+)`, "m").exec(text);
      return match === null ? 0 : Number(match[1]);
    },
  };
}

/**
 * Runs `step` in `workers` loops until `stop()` is called, counting successes
 * and keeping errors; each step's latency is tracked.
 *
 * @param workers How many loops run at once.
 * @param step One unit of work; `n` counts up per worker.
 * @returns Controls and counters.
 */
export function runWorkload(
  workers: number,
  step: (worker: number, n: number) => Promise<void>,
): {
  stop(): Promise<void>;
  readonly ok: number;
  readonly errors: Error[];
  readonly slowestMs: number;
  /** Resolves once `count` more steps have succeeded. */
  progress(count: number, timeoutMs?: number): Promise<void>;
} {
  let running = true;
  let ok = 0;
  let slowest = 0;
  const errors: Error[] = [];
  const waiters: { target: number; resolve: () => void }[] = [];
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let n = 0; running; n++) {
      const start = performance.now();
      try {
        await step(worker, n);
        ok++;
        for (const waiter of waiters.filter((w) => ok >= w.target)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      } catch (error) {
        errors.push(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      slowest = Math.max(slowest, performance.now() - start);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    get ok() {
      return ok;
    },
    get errors() {
      return errors;
    },
    get slowestMs() {
      return slowest;
    },
    progress(count, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`Workload made no progress of ${count} steps in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push({
          target: ok + count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}
