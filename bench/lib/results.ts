/**
 * The shape of `bench/results.json`: one object with every measurement's
 * median, min, max, unit and ratios, and the targets of issue 8.
 *
 * @module
 */
import { round, summarize, type Summary } from "./stats.ts";

/** The benchmark's sections, in report order. */
export type Section =
  | "cold-start"
  | "credentials"
  | "round-trips"
  | "throughput"
  | "single-flight"
  | "mint-cost";

/** One measured quantity. */
export interface Measurement {
  /** A stable id, such as `cold-start.deno.thin.wall`. */
  id: string;
  /** Its section. */
  section: Section;
  /** What was measured, for people. */
  name: string;
  /** Where it ran: `deno`, `node` (20, bundled) or `native` (redis-benchmark). */
  runtime?: "deno" | "node" | "native";
  /** The unit of `median`, `min` and `max`. */
  unit: string;
  /** The median of the samples. */
  median?: number;
  /** The smallest sample. */
  min?: number;
  /** The largest sample. */
  max?: number;
  /** How many samples. */
  n?: number;
  /** The median as a ratio to other measurements' medians, by name. */
  ratios?: Record<string, number>;
  /** Set instead of numbers when the quantity could not be measured, with the reason. */
  notMeasured?: string;
  /**
   * Set with `notMeasured` when the reason is a tool this machine lacks (GNU
   * `time` for peak memory): the run did not break.
   */
  toolMissing?: true;
  /** Anything else worth keeping (breakdowns, counts). */
  detail?: Record<string, unknown>;
}

/** A target of issue 8 and whether this run met it. */
export interface TargetResult {
  /** The target, in words. */
  target: string;
  /** What this run measured, in words. */
  value: string;
  /** Met, missed, or not measured. */
  met: boolean | null;
}

/** Everything one run produced. */
export interface Results {
  /** When, where and how it ran. */
  meta: {
    date: string;
    quick: boolean;
    command: string;
    machine: { cpus: number; os: string; deno: string; v8: string; node: string; redis: string };
    notes: string[];
  };
  /** Every measurement. */
  measurements: Measurement[];
  /** The targets. */
  targets: TargetResult[];
}

/**
 * Makes a measurement from samples, rounded for the report.
 *
 * @param fields Everything but the statistics.
 * @param samples The samples.
 * @returns The measurement.
 */
export function measured(
  fields: Omit<Measurement, "median" | "min" | "max" | "n">,
  samples: readonly number[],
): Measurement {
  const summary: Summary = summarize(samples);
  return {
    ...fields,
    median: round(summary.median),
    min: round(summary.min),
    max: round(summary.max),
    n: summary.n,
  };
}

/**
 * Makes the row of something that could not be measured.
 *
 * @param fields Everything but the statistics.
 * @param reason Why.
 * @returns The measurement.
 */
export function notMeasured(
  fields: Omit<Measurement, "median" | "min" | "max" | "n" | "notMeasured">,
  reason: string,
): Measurement {
  return { ...fields, notMeasured: reason };
}

/**
 * Makes the row of something this machine cannot measure for want of a tool:
 * reported, but not a broken run.
 *
 * @param fields Everything but the statistics.
 * @param reason Which tool is missing.
 * @returns The measurement.
 */
export function toolMissing(
  fields: Omit<Measurement, "median" | "min" | "max" | "n" | "notMeasured" | "toolMissing">,
  reason: string,
): Measurement {
  return { ...fields, notMeasured: reason, toolMissing: true };
}

/**
 * What broke in a run: the measurements that could not be made (a program
 * that failed or printed the wrong thing), except those for which the
 * machine lacks a tool. Slow numbers never appear here.
 *
 * @param measurements The run's measurements.
 * @returns Each distinct reason with how many measurements it cost, most first.
 */
export function brokenRuns(
  measurements: readonly Measurement[],
): { reason: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const m of measurements) {
    if (m.notMeasured === undefined || m.toolMissing) continue;
    counts.set(m.notMeasured, (counts.get(m.notMeasured) ?? 0) + 1);
  }
  return [...counts].map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count);
}

/**
 * The ratio of two medians, rounded, or undefined when either is missing.
 *
 * @param value The measurement.
 * @param base The measurement to divide by.
 * @returns The ratio.
 */
export function ratio(
  value: Measurement | undefined,
  base: Measurement | undefined,
): number | undefined {
  if (value?.median === undefined || base?.median === undefined || base.median === 0) {
    return undefined;
  }
  return Math.round((value.median / base.median) * 100) / 100;
}
