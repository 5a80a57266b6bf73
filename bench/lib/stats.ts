/**
 * Summaries of repeated measurements.
 *
 * @module
 */

/** The median, min and max of a measurement's samples, and its unit. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/**
 * Summarizes samples.
 *
 * @param samples At least one sample.
 * @returns Median, min, max and count.
 * @throws {RangeError} Without samples.
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("Cannot summarize: no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/**
 * Rounds for display and JSON: 3 significant digits, at most 2 decimals below 10.
 *
 * @param value A number.
 * @returns The rounded number.
 */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value);
  if (abs >= 10) return Math.round(value * 10) / 10;
  if (abs >= 1) return Math.round(value * 100) / 100;
  return Number(value.toPrecision(3));
}
