/**
 * A sustained load run through the emulator's IAM gateway: thin clients and
 * node-redis clients doing mixed commands (GET, SET with expiry, INCR, hashes,
 * lists, MGET, pipelines, MULTI/EXEC) for a fixed time, each client one
 * operation at a time, with the emulator's clock running fast so that the run
 * spans many token refresh intervals, an STS session renewal and several
 * (shortened) connection caps.
 *
 * It reports operations per second, p50/p99 latency, errors (must be zero),
 * token mints (at most one per refresh interval), STS calls, re-auths and
 * memory after a garbage collection before and after the run.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc tests/load/load.ts            # CI size, ~10 s
 * deno run -A --v8-flags=--expose-gc tests/load/load.ts --size=long # 64 + 32 clients, 2 minutes
 * deno run -A --v8-flags=--expose-gc tests/load/load.ts --json      # the report as JSON
 * ```
 *
 * @module
 */

import { startEmulator } from "@elasticache-iam/emulator";
import { createClient as createRedisClient } from "redis";
import { IamAuth } from "../../src/iam_auth.ts";
import { fromWebIdentity } from "../../src/credentials/web_identity.ts";
import { connect, type RedisClient } from "../../src/client.ts";
import { createIamClient } from "@elasticache-iam/node-redis";

/** How big a run is. */
export interface LoadOptions {
  /** Thin clients (one connection each). */
  thinClients: number;
  /** node-redis clients (one connection each). */
  nodeRedisClients: number;
  /** How long operations are measured, in real ms (after the warm-up). */
  durationMs: number;
  /** How long the clients run before memory and counters are taken, in real ms. */
  warmupMs: number;
  /** Emulator ms per real ms. */
  clockRate: number;
  /** How many times memory is sampled during the run (each after a forced GC). */
  memorySamples: number;
}

/** The two sizes: CI (well under 30 s) and the long run. */
export const SIZES: Record<"ci" | "long", LoadOptions> = {
  ci: {
    thinClients: 16,
    nodeRedisClients: 8,
    durationMs: 8_000,
    warmupMs: 3_000,
    clockRate: 300,
    memorySamples: 6,
  },
  long: {
    thinClients: 64,
    nodeRedisClients: 32,
    durationMs: 120_000,
    warmupMs: 5_000,
    clockRate: 300,
    memorySamples: 12,
  },
};

const MINUTE = 60_000;
/** The token manager's refresh interval (emulator time). */
const REFRESH_AFTER = 5 * MINUTE;
/** The gateway's connection cap (emulator time), shortened from 12 hours. */
const CAP = 30 * MINUTE;
/** Connections re-authenticate after this long (emulator time). */
const REAUTH_AFTER = 10 * MINUTE;

/** Latency percentiles, in ms. */
export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** Memory after a full garbage collection, in MB. */
export interface Memory {
  heapUsedMB: number;
  rssMB: number;
}

/** What a run measured. */
export interface LoadReport {
  options: LoadOptions;
  /** Whether memory was measured after a forced GC (`--v8-flags=--expose-gc`). */
  gc: boolean;
  /** Measured real time, in s. */
  seconds: number;
  /** Emulator time the measured run spanned, in minutes. */
  emulatedMinutes: number;
  /** Operations (a pipeline or transaction counts once). */
  operations: number;
  /** Commands sent, pipelines and transactions counted per command. */
  commands: number;
  operationsPerSecond: number;
  commandsPerSecond: number;
  latency: Latency;
  byClient: Record<"thin" | "nodeRedis", { operations: number; latency: Latency }>;
  /** Failed operations plus client error events: must be zero. */
  errors: number;
  /** A few error messages, for the report. */
  errorSamples: string[];
  /** Tokens minted during the measured run. */
  mints: number;
  /** The most the run may mint: one per refresh interval it spans, plus one. */
  mintBound: number;
  /** STS `AssumeRoleWithWebIdentity` calls during the measured run. */
  stsCalls: number;
  /** Re-authentications the gateway accepted during the measured run. */
  reauths: number;
  /** Connections the gateway cut at its cap (must be zero). */
  capCuts: number;
  /** Tokens the gateway refused (must be zero). */
  refusals: number;
  memoryBefore: Memory;
  memoryAfter: Memory;
  /** The heap after a forced GC at even points of the run, in MB. */
  heapSamplesMB: number[];
  /**
   * The lowest heap sample of the run's second half minus that of its first
   * half (samples taken during the run), in MB: a leak raises the floor, while
   * warm-up and transient garbage do not.
   */
  heapFloorGrowthMB: number;
}

/**
 * How much the floor of the samples rose from the first half to the second.
 *
 * @param samples Heap sizes in time order.
 * @returns The difference of the halves' minimums.
 */
export function floorGrowth(samples: readonly number[]): number {
  const half = Math.ceil(samples.length / 2);
  const first = Math.min(...samples.slice(0, half));
  const second = Math.min(...samples.slice(half));
  return Math.round((second - first) * 10) / 10;
}

/** A log-bucketed latency histogram (5 % resolution, constant memory). */
class Histogram {
  static readonly #BASE = Math.log(1.05);
  readonly #counts = new Float64Array(512);
  #max = 0;
  count = 0;

  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const index = Math.min(511, Math.floor(Math.log(us) / Histogram.#BASE));
    this.#counts[index]!++;
    this.count++;
    if (ms > this.#max) this.#max = ms;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < 512; i++) this.#counts[i]! += other.#counts[i]!;
    this.count += other.count;
    this.#max = Math.max(this.#max, other.#max);
  }

  percentile(p: number): number {
    const target = p * this.count;
    let seen = 0;
    for (let i = 0; i < 512; i++) {
      seen += this.#counts[i]!;
      if (seen >= target && seen > 0) return Math.exp((i + 1) * Histogram.#BASE) / 1000;
    }
    return this.#max;
  }

  latency(): Latency {
    return {
      p50: round(this.percentile(0.5)),
      p99: round(this.percentile(0.99)),
      max: round(this.#max),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** One operation of the mix: what it sends and how many commands it counts for. */
interface Operations {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  incr(key: string): Promise<unknown>;
  hashWriteRead(key: string, field: string, value: string): Promise<unknown>;
  listPushTrim(key: string, value: string): Promise<unknown>;
  mget(keys: string[]): Promise<unknown>;
  pipeline(keys: string[], value: string): Promise<unknown>;
  transaction(key: string): Promise<unknown>;
}

function thinOperations(client: RedisClient): Operations {
  return {
    get: (key) => client.get(key),
    set: (key, value) => client.set(key, value, { ex: 600 }),
    incr: (key) => client.incr(key),
    hashWriteRead: (key, field, value) =>
      client.pipeline().hset(key, { [field]: value }).hget(key, field).exec(),
    listPushTrim: (key, value) => client.pipeline().lpush(key, value).ltrim(key, 0, 99).exec(),
    mget: (keys) => client.mget(...keys),
    pipeline: (keys, value) => {
      const pipeline = client.pipeline();
      for (const key of keys) pipeline.set(key, value).get(key);
      return pipeline.exec();
    },
    transaction: (key) => client.multi().incr(key).expire(key, 600).exec(),
  };
}

type NodeRedis = ReturnType<typeof createRedisClient>;

function nodeRedisOperations(client: NodeRedis): Operations {
  return {
    get: (key) => client.get(key),
    set: (key, value) => client.set(key, value, { EX: 600 }),
    incr: (key) => client.incr(key),
    hashWriteRead: (key, field, value) =>
      Promise.all([client.hSet(key, field, value), client.hGet(key, field)]),
    listPushTrim: (key, value) => Promise.all([client.lPush(key, value), client.lTrim(key, 0, 99)]),
    mget: (keys) => client.mGet(keys),
    pipeline: (keys, value) =>
      Promise.all(keys.flatMap((key) => [client.set(key, value), client.get(key)])),
    transaction: (key) => client.multi().incr(key).expire(key, 600).exec(),
  };
}

/** Runs one client's closed loop until `running()` turns false. */
async function drive(
  ops: Operations,
  id: number,
  running: () => boolean,
  measuring: () => boolean,
  histogram: Histogram,
  tally: { operations: number; commands: number; errors: number; samples: string[] },
): Promise<void> {
  let n = 0;
  while (running()) {
    n++;
    const key = `load:${(id * 7919 + n * 104729) % 1000}`;
    const roll = (n * 37 + id * 11) % 100;
    const start = performance.now();
    let commands = 1;
    let op: Promise<unknown>;
    if (roll < 40) {
      op = ops.get(key);
    } else if (roll < 60) {
      op = ops.set(key, `value-${id}-${n}`);
    } else if (roll < 70) {
      op = ops.incr(`load:counter:${id % 8}`);
    } else if (roll < 78) {
      commands = 2;
      op = ops.hashWriteRead(`load:hash:${id % 16}`, `f${n % 50}`, "v");
    } else if (roll < 84) {
      commands = 2;
      op = ops.listPushTrim(`load:list:${id % 16}`, `item-${n}`);
    } else if (roll < 90) {
      op = ops.mget(Array.from({ length: 10 }, (_, i) => `load:${(n + i * 97) % 1000}`));
    } else if (roll < 96) {
      commands = 10;
      op = ops.pipeline(Array.from({ length: 5 }, (_, i) => `load:p:${id}:${i}`), `v${n}`);
    } else {
      commands = 4;
      op = ops.transaction(`load:tx:${id % 8}`);
    }
    try {
      await op;
      if (measuring()) {
        histogram.record(performance.now() - start);
        tally.operations++;
        tally.commands += commands;
      }
    } catch (error) {
      tally.errors++;
      if (tally.samples.length < 5) tally.samples.push(String(error));
    }
  }
}

function memory(): Memory {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = Deno.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
  return { heapUsedMB: mb(usage.heapUsed), rssMB: mb(usage.rss) };
}

/**
 * Starts the emulator, runs the load and tears everything down.
 *
 * @param options The size of the run.
 * @returns What it measured.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const log: string[] = [];
  await using emu = await startEmulator({
    tls: true,
    connectionMaxAgeMs: CAP,
    log: (line) => {
      if (!line.includes(" connected from ") && !line.includes(" disconnected")) log.push(line);
    },
  });
  const now = () => emu.clock.now();
  let mints = 0;
  const source = fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: () => emu.oidc.mintToken({ sub: "load", aud: "sts.amazonaws.com" }),
    stsEndpoint: emu.sts.endpoint,
    region: emu.region,
    now,
  });
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: () => {
      mints++;
      return source();
    },
    now,
    refreshAfter: REFRESH_AFTER,
  });

  const tally = { operations: 0, commands: 0, errors: 0, samples: [] as string[] };
  const onError = (error: Error) => {
    tally.errors++;
    if (tally.samples.length < 5) tally.samples.push(`event: ${error}`);
  };
  const thin: RedisClient[] = [];
  const nodeRedis: NodeRedis[] = [];
  try {
    for (let i = 0; i < options.thinClients; i++) {
      thin.push(
        await connect({
          host: emu.gateway.hostname,
          port: emu.gateway.port,
          tls: true,
          caCerts: emu.gateway.caCertPem!,
          auth,
          now,
          reauthAfter: REAUTH_AFTER,
          // The client's clock runs `clockRate` times faster: 5 s of real time.
          commandTimeout: 5000 * options.clockRate,
          onError,
        }),
      );
    }
    for (let i = 0; i < options.nodeRedisClients; i++) {
      const client = createIamClient(createRedisClient, {
        url: `rediss://${emu.gateway.hostname}:${emu.gateway.port}`,
        auth,
        caCerts: emu.gateway.caCertPem!,
        reauthAfter: Math.max(1, Math.round(REAUTH_AFTER / options.clockRate)),
      }) as NodeRedis;
      client.on("error", onError);
      await client.connect();
      nodeRedis.push(client);
    }

    // The emulator's clock runs `clockRate` times faster than real time.
    const tick = 50;
    const clock = setInterval(() => emu.clock.advance(tick * (options.clockRate - 1)), tick);
    let running = true;
    let measuring = false;
    const histograms = { thin: new Histogram(), nodeRedis: new Histogram() };
    const tallies = {
      thin: { operations: 0, commands: 0, errors: 0, samples: tally.samples },
      nodeRedis: { operations: 0, commands: 0, errors: 0, samples: tally.samples },
    };
    const loops = [
      ...thin.map((client, i) =>
        drive(
          thinOperations(client),
          i,
          () => running,
          () => measuring,
          histograms.thin,
          tallies.thin,
        )
      ),
      ...nodeRedis.map((client, i) =>
        drive(
          nodeRedisOperations(client),
          1000 + i,
          () => running,
          () => measuring,
          histograms.nodeRedis,
          tallies.nodeRedis,
        )
      ),
    ];
    let report: LoadReport;
    try {
      await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
      const memoryBefore = memory();
      const at = {
        mints,
        sts: stsCalls(log),
        accepted: accepted(log),
        refusals: refusals(log),
        cuts: capCuts(log),
        errors: tally.errors,
        emulated: emu.clock.now(),
        real: performance.now(),
      };
      measuring = true;
      // Memory is sampled (after a forced GC) at even points of the run: a leak raises the floor.
      const samples: Memory[] = [memoryBefore];
      const step = options.durationMs / options.memorySamples;
      for (let i = 1; i <= options.memorySamples; i++) {
        const due = at.real + i * step;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
        if (i < options.memorySamples) samples.push(memory());
      }
      measuring = false;
      const seconds = (performance.now() - at.real) / 1000;
      const emulatedMs = emu.clock.now() - at.emulated;
      const memoryAfter = memory();
      samples.push(memoryAfter);
      running = false;
      await Promise.all(loops);

      const all = new Histogram();
      all.merge(histograms.thin);
      all.merge(histograms.nodeRedis);
      const operations = tallies.thin.operations + tallies.nodeRedis.operations;
      const commands = tallies.thin.commands + tallies.nodeRedis.commands;
      report = {
        options,
        gc: typeof (globalThis as { gc?: unknown }).gc === "function",
        seconds: round(seconds),
        emulatedMinutes: Math.round(emulatedMs / MINUTE),
        operations,
        commands,
        operationsPerSecond: Math.round(operations / seconds),
        commandsPerSecond: Math.round(commands / seconds),
        latency: all.latency(),
        byClient: {
          thin: { operations: tallies.thin.operations, latency: histograms.thin.latency() },
          nodeRedis: {
            operations: tallies.nodeRedis.operations,
            latency: histograms.nodeRedis.latency(),
          },
        },
        errors: tally.errors - at.errors + tallies.thin.errors + tallies.nodeRedis.errors,
        errorSamples: tally.samples,
        mints: mints - at.mints,
        mintBound: Math.floor(emulatedMs / REFRESH_AFTER) + 1,
        stsCalls: stsCalls(log) - at.sts,
        reauths: accepted(log) - at.accepted,
        capCuts: capCuts(log) - at.cuts,
        refusals: refusals(log) - at.refusals,
        memoryBefore,
        memoryAfter,
        heapSamplesMB: samples.map((m) => m.heapUsedMB),
        heapFloorGrowthMB: floorGrowth(samples.slice(1).map((m) => m.heapUsedMB)),
      };
    } finally {
      running = false;
      clearInterval(clock);
      await Promise.all(loops);
    }
    return report;
  } finally {
    await Promise.all([
      ...thin.map((client) => client.close()),
      ...nodeRedis.map((client) => client.isOpen ? client.close() : undefined),
    ]);
  }
}

function accepted(log: string[]): number {
  return log.filter((line) => line.includes(" accepted ")).length;
}

function refusals(log: string[]): number {
  return log.filter((line) => line.includes(" refused: ")).length;
}

function capCuts(log: string[]): number {
  return log.filter((line) => line.includes("connection age cap")).length;
}

function stsCalls(log: string[]): number {
  return log.filter((line) => line.startsWith("sts: AssumeRoleWithWebIdentity issued")).length;
}

/**
 * The report as a Markdown table row block, for `bench/README.md`.
 *
 * @param report The report.
 * @returns Markdown lines.
 */
export function formatReport(report: LoadReport): string {
  const o = report.options;
  const mem = (m: Memory) => `heap ${m.heapUsedMB} MB, RSS ${m.rssMB} MB`;
  return [
    `clients: ${o.thinClients} thin + ${o.nodeRedisClients} node-redis, ${report.seconds} s measured ` +
    `(${report.emulatedMinutes} emulated minutes)`,
    `operations/s: ${report.operationsPerSecond} (${report.commandsPerSecond} commands/s)`,
    `latency: p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms, max ${report.latency.max} ms` +
    ` (thin p50 ${report.byClient.thin.latency.p50} / p99 ${report.byClient.thin.latency.p99} ms;` +
    ` node-redis p50 ${report.byClient.nodeRedis.latency.p50} / p99 ${report.byClient.nodeRedis.latency.p99} ms)`,
    `errors: ${report.errors}; refused tokens: ${report.refusals}; connections cut at the cap: ${report.capCuts}`,
    `token mints: ${report.mints} (bound ${report.mintBound}: one per 5-minute refresh interval); ` +
    `STS calls: ${report.stsCalls}; re-auths: ${report.reauths}`,
    `memory before: ${mem(report.memoryBefore)}; after: ${mem(report.memoryAfter)}` +
    (report.gc ? " (after a forced GC)" : " (no forced GC: run with --v8-flags=--expose-gc)"),
    `heap samples (MB): ${
      report.heapSamplesMB.join(", ")
    }; floor growth ${report.heapFloorGrowthMB} MB`,
  ].join("\n");
}

if (import.meta.main) {
  const size = Deno.args.find((arg) => arg.startsWith("--size="))?.slice(7) ??
    Deno.env.get("LOAD_SIZE") ?? "ci";
  if (size !== "ci" && size !== "long") {
    throw new TypeError(`Cannot run the load: --size must be 'ci' or 'long', got '${size}'`);
  }
  const report = await runLoad(SIZES[size]);
  // deno-lint-ignore no-console
  console.log(Deno.args.includes("--json") ? JSON.stringify(report) : formatReport(report));
}
