/**
 * Option checks the ioredis helpers share.
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";

/** How often the stored token is replaced, by default: every minute. */
export const DEFAULT_REFRESH_INTERVAL = 60_000;

/**
 * Checks `refreshInterval`.
 *
 * @param value What was given.
 * @returns The interval in ms, {@linkcode DEFAULT_REFRESH_INTERVAL} when not given.
 * @throws {RangeError} When it is not a positive number of milliseconds.
 */
export function refreshIntervalOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_REFRESH_INTERVAL;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot set up IAM auth: 'refreshInterval' must be a positive number of milliseconds, got ${
        describe(value)
      }`,
    );
  }
  return value;
}
