/**
 * The measuring loop shared by the throughput programs: for each operation
 * and depth, run batches of `depth` commands (each batch awaited before the
 * next, like `redis-benchmark -c 1 -P depth`) for a fixed time, after a short
 * warm-up, and report operations per second.
 *
 * @module
 */
import { env, now, report } from "./_runtime.ts";

/** One client under test: runs one batch of `depth` commands of one kind. */
export interface ThroughputDriver {
  /** Runs `depth` `SET key value` (depth 1: one awaited command) and resolves when every reply is in. */
  set(depth: number): Promise<unknown>;
  /** Runs `depth` `GET key` and resolves when every reply is in. */
  get(depth: number): Promise<unknown>;
  /** Closes the connection. */
  close(): Promise<unknown>;
}

/** The workload, from the environment the runner sets. */
export interface Workload {
  host: string;
  port: number;
  key: string;
  value: string;
  depths: number[];
  seconds: number;
}

/**
 * Reads the workload the runner passed in the environment.
 *
 * @returns The workload.
 */
export function workload(): Workload {
  return {
    host: env("BENCH_HOST"),
    port: Number(env("BENCH_PORT")),
    key: env("BENCH_KEY"),
    value: "x".repeat(Number(env("BENCH_VALUE_SIZE"))),
    depths: env("BENCH_DEPTHS").split(",").map(Number),
    seconds: Number(env("BENCH_SECONDS")),
  };
}

/**
 * Measures every operation at every depth and prints one JSON line per cell:
 * `{op, depth, opsPerSec, ops, ms}`.
 *
 * @param driver The client under test, connected.
 * @param load The workload.
 */
export async function measure(driver: ThroughputDriver, load: Workload): Promise<void> {
  for (const depth of load.depths) {
    for (const op of ["set", "get"] as const) {
      const run = op === "set" ? (d: number) => driver.set(d) : (d: number) => driver.get(d);
      // Warm-up: a fifth of the measuring time, at least 50 ms.
      const warmEnd = performance.now() + Math.max(50, load.seconds * 200);
      while (performance.now() < warmEnd) await run(depth);
      let ops = 0;
      const started = performance.now();
      const end = started + load.seconds * 1000;
      let at = started;
      while (at < end) {
        await run(depth);
        ops += depth;
        at = performance.now();
      }
      const ms = at - started;
      await report({ op, depth, opsPerSec: ops / (ms / 1000), ops, ms, at: now() });
    }
  }
  await driver.close();
}
