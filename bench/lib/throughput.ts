/**
 * Throughput on one connection against one plain `redis-server` on loopback:
 * `SET`/`GET` of a 16-byte value, sequential (depth 1) and pipelined (depth
 * 16 and 128), for the thin client, node-redis v6, ioredis and valkey-glide,
 * with `redis-benchmark -c 1 -P <depth>` as the ceiling. Two loops without a
 * client frame them on each runtime: the bare socket loop (pre-encoded
 * batches, the runtime's own ceiling) and the same loop encoding and decoding
 * every command with this module's codec (what any client must do). Clients
 * run in rounds, in rotating order; each round is a fresh process per client.
 *
 * @module
 */
import { startRedisServer } from "../../tests/_helpers/redis_server.ts";
import { denoProgram, nodeProgram, ROOT, runProgram } from "./process.ts";
import { measured, type Measurement, notMeasured, ratio } from "./results.ts";

/** The key `redis-benchmark` uses without `-r`; every client uses the same. */
const KEY = "key:__rand_int__";
const VALUE_SIZE = 16;
/** The depths measured. */
export const DEPTHS = [1, 16, 128] as const;

interface Client {
  key: string;
  label: string;
  runtime: "deno" | "node" | "native";
  argv?: string[];
  /**
   * A reference that frames the clients (node-redis itself, the loops
   * without a client, `redis-benchmark`): not compared with node-redis.
   */
  reference?: true;
}

const CLIENTS: Client[] = [
  {
    key: "thin",
    label: "thin client (this module)",
    runtime: "deno",
    argv: denoProgram("throughput_thin.ts"),
  },
  {
    key: "thin",
    label: "thin client (this module)",
    runtime: "node",
    argv: nodeProgram("throughput_thin.ts"),
  },
  {
    key: "thin-otel",
    label: "thin client + OpenTelemetry (instrument(), SDK, batched export)",
    runtime: "deno",
    argv: denoProgram("throughput_thin_otel.ts"),
  },
  {
    key: "thin-otel",
    label: "thin client + OpenTelemetry (instrument(), SDK, batched export)",
    runtime: "node",
    argv: nodeProgram("throughput_thin_otel.ts"),
  },
  {
    key: "node-redis",
    reference: true,
    label: "node-redis v6",
    runtime: "deno",
    argv: denoProgram("throughput_node_redis.ts"),
  },
  {
    key: "node-redis",
    reference: true,
    label: "node-redis v6",
    runtime: "node",
    argv: nodeProgram("throughput_node_redis.ts"),
  },
  { key: "ioredis", label: "ioredis", runtime: "node", argv: nodeProgram("throughput_ioredis.ts") },
  {
    key: "glide",
    label: "valkey-glide",
    runtime: "node",
    argv: nodeProgram("throughput_glide.ts"),
  },
  {
    key: "codec",
    reference: true,
    label: "bare socket loop + this module's encoder and decoder, no client",
    runtime: "deno",
    argv: denoProgram("throughput_codec.ts"),
  },
  {
    key: "codec",
    reference: true,
    label: "bare socket loop + this module's encoder and decoder, no client",
    runtime: "node",
    argv: nodeProgram("throughput_codec.ts"),
  },
  {
    key: "raw",
    reference: true,
    label: "bare socket loop, no client (runtime ceiling)",
    runtime: "deno",
    argv: denoProgram("throughput_raw.ts"),
  },
  {
    key: "raw",
    reference: true,
    label: "bare socket loop, no client (runtime ceiling)",
    runtime: "node",
    argv: nodeProgram("throughput_raw.ts"),
  },
  {
    key: "redis-benchmark",
    label: "redis-benchmark (ceiling)",
    runtime: "native",
    reference: true,
  },
];

/** Rough ops/s per depth, to size `redis-benchmark -n` for about `seconds`. */
const EXPECTED_OPS = { 1: 40_000, 16: 400_000, 128: 1_000_000 } as const;

async function redisBenchmark(
  port: number,
  depth: (typeof DEPTHS)[number],
  seconds: number,
): Promise<{ set: number; get: number }> {
  const requests = Math.max(2_000, Math.round(EXPECTED_OPS[depth] * seconds));
  const output = await new Deno.Command("redis-benchmark", {
    args: [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-c",
      "1",
      "-n",
      String(requests),
      "-P",
      String(depth),
      "-d",
      String(VALUE_SIZE),
      "-t",
      "set,get",
      "--csv",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`redis-benchmark failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  const rps: Record<string, number> = {};
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const [test, value] = line.split(",").map((cell) => cell.replaceAll('"', ""));
    if (test && value && !Number.isNaN(Number(value))) rps[test.toLowerCase()] = Number(value);
  }
  if (rps.set === undefined || rps.get === undefined) {
    throw new Error("redis-benchmark printed no rates");
  }
  return { set: rps.set, get: rps.get };
}

/**
 * Measures every client at every depth.
 *
 * @param options `rounds`: processes per client; `seconds`: measuring time per cell.
 * @param log Progress lines.
 * @returns One measurement per client, operation and depth, with ratios to
 * node-redis (same runtime) and to `redis-benchmark`.
 */
export async function measureThroughput(
  options: { rounds: number; seconds: number },
  log: (line: string) => void,
): Promise<Measurement[]> {
  log(
    `Throughput: ${CLIENTS.length} clients × ${options.rounds} rounds, ${options.seconds} s per cell…`,
  );
  await using redis = await startRedisServer();
  const env = {
    BENCH_HOST: redis.hostname,
    BENCH_PORT: String(redis.port),
    BENCH_KEY: KEY,
    BENCH_VALUE_SIZE: String(VALUE_SIZE),
    BENCH_DEPTHS: DEPTHS.join(","),
    BENCH_SECONDS: String(options.seconds),
  };
  const cellKey = (client: Client, op: string, depth: number) =>
    `${client.key}.${client.runtime}.${op}.${depth}`;
  const samples = new Map<string, number[]>();
  const failures = new Map<Client, string>();
  const add = (key: string, value: number) => {
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key)!.push(value);
  };
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < CLIENTS.length; i++) {
      const client = CLIENTS[(i + round) % CLIENTS.length]!;
      if (failures.has(client)) continue;
      try {
        if (client.argv === undefined) {
          for (const depth of DEPTHS) {
            const rates = await redisBenchmark(redis.port, depth, options.seconds);
            add(cellKey(client, "set", depth), rates.set);
            add(cellKey(client, "get", depth), rates.get);
          }
          continue;
        }
        const run = await runProgram(client.argv, env, { timeoutMs: 120_000 });
        for (const line of run.lines) {
          add(cellKey(client, line.op as string, line.depth as number), line.opsPerSec as number);
        }
      } catch (error) {
        failures.set(client, (error as Error).message.split("\n")[0]!.slice(0, 200));
        log(`  ${client.label} (${client.runtime}): failed: ${(error as Error).message}`);
      }
    }
  }

  const measurements: Measurement[] = [];
  const byKey = new Map<string, Measurement>();
  for (const client of CLIENTS) {
    for (const op of ["set", "get"] as const) {
      for (const depth of DEPTHS) {
        const key = cellKey(client, op, depth);
        const fields = {
          id: `throughput.${client.runtime}.${client.key}.${op}.depth-${depth}`,
          section: "throughput" as const,
          name: `${client.label} ${op.toUpperCase()} depth ${depth}`,
          runtime: client.runtime,
          unit: "ops/s",
          detail: { client: client.key, op, depth },
        };
        const values = samples.get(key);
        const m = values?.length
          ? measured(fields, values)
          : notMeasured(fields, failures.get(client) ?? "no sample");
        byKey.set(key, m);
        measurements.push(m);
      }
    }
  }
  const ceiling = CLIENTS.at(-1)!;
  for (const client of CLIENTS) {
    for (const op of ["set", "get"] as const) {
      for (const depth of DEPTHS) {
        const m = byKey.get(cellKey(client, op, depth))!;
        const ratios: Record<string, number> = {};
        const nodeRedis = client.reference
          ? undefined
          : CLIENTS.find((c) => c.key === "node-redis" && c.runtime === client.runtime)!;
        const toNodeRedis = nodeRedis && ratio(m, byKey.get(cellKey(nodeRedis, op, depth)));
        const toCeiling = client === ceiling
          ? undefined
          : ratio(m, byKey.get(cellKey(ceiling, op, depth)));
        if (toNodeRedis !== undefined) ratios["vs node-redis"] = toNodeRedis;
        if (toCeiling !== undefined) ratios["vs redis-benchmark"] = toCeiling;
        if (Object.keys(ratios).length > 0) m.ratios = ratios;
      }
    }
  }
  return measurements;
}
