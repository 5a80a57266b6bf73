/**
 * The timing rules of IAM-authenticated connections, in one place: the
 * server's 12-hour cut, when a live connection is re-authenticated, how a
 * failed re-authentication is retried, and how long one authentication step
 * may take. Every client and integration reads them from here.
 *
 * @module
 */

import { describe } from "../_checks.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * ElastiCache and MemoryDB cut an IAM-authenticated connection this long
 * after its last authentication (`AUTH` or `HELLO … AUTH` with a valid token).
 *
 * @example
 * ```ts
 * import { CONNECTION_MAX_AGE } from "./policy.ts";
 *
 * console.log(CONNECTION_MAX_AGE / 3_600_000); // 12 (hours)
 * ```
 */
export const CONNECTION_MAX_AGE = 12 * HOUR;

/**
 * The time a re-authentication keeps before the cut: `reauthAfter` may be at
 * most {@linkcode CONNECTION_MAX_AGE} minus this, so that a failed attempt can
 * be retried (see {@linkcode REAUTH_RETRY}) a dozen times before the server
 * closes the connection.
 *
 * @example
 * ```ts
 * import { REAUTH_MARGIN } from "./policy.ts";
 *
 * console.log(REAUTH_MARGIN / 60_000); // 10 (minutes)
 * ```
 */
export const REAUTH_MARGIN = 10 * MINUTE;

/**
 * The largest `reauthAfter`: 11 hours 50 minutes.
 *
 * @example
 * ```ts
 * import { MAX_REAUTH_AFTER } from "./policy.ts";
 *
 * console.log(MAX_REAUTH_AFTER); // 42600000
 * ```
 */
export const MAX_REAUTH_AFTER = CONNECTION_MAX_AGE - REAUTH_MARGIN;

/**
 * The default `reauthAfter`: 11 hours, one hour before the cut.
 *
 * @example
 * ```ts
 * import { DEFAULT_REAUTH_AFTER } from "./policy.ts";
 *
 * console.log(DEFAULT_REAUTH_AFTER / 3_600_000); // 11 (hours)
 * ```
 */
export const DEFAULT_REAUTH_AFTER = 11 * HOUR;

/**
 * How a failed re-authentication is retried: after a jittered backoff that
 * starts at `minDelay` and doubles up to `maxDelay` (see `backoffDelay`), for
 * as long as the connection lives.
 *
 * @example
 * ```ts
 * import { REAUTH_RETRY } from "./policy.ts";
 *
 * console.log(REAUTH_RETRY.minDelay, REAUTH_RETRY.maxDelay); // 1000 60000
 * ```
 */
export const REAUTH_RETRY: { readonly minDelay: number; readonly maxDelay: number } = {
  minDelay: 1_000,
  maxDelay: 60_000,
};

/**
 * The longest the module waits on an auth provider's `credentials()` outside
 * a connect (a connect is bounded by its own timeout): for a
 * re-authentication, at node-redis's `subscribe()` and at `attachIamAuth`,
 * and for the server's answer to an ioredis re-authentication (which has no
 * command timeout of its own). A step that takes longer fails and is
 * retried like any other failure.
 *
 * @example
 * ```ts
 * import { AUTH_STEP_TIMEOUT } from "./policy.ts";
 *
 * console.log(AUTH_STEP_TIMEOUT); // 30000
 * ```
 */
export const AUTH_STEP_TIMEOUT = 30_000;

/**
 * Checks a `reauthAfter` option, the same way for every client and
 * integration: a number of milliseconds above 0 and at most
 * {@linkcode MAX_REAUTH_AFTER}, or `false` to turn re-authentication off (the
 * server then cuts the connection 12 hours after it authenticated, and the
 * next command reconnects with a fresh token).
 *
 * @param action What is being set up, for the error message (`Cannot connect`).
 * @param value The option as given.
 * @returns The value, {@linkcode DEFAULT_REAUTH_AFTER} when it is undefined, or `false`.
 * @throws {RangeError} When it is anything else.
 *
 * @example
 * ```ts
 * import { reauthAfterOption } from "./policy.ts";
 *
 * console.log(reauthAfterOption("Cannot connect", undefined)); // 39600000
 * console.log(reauthAfterOption("Cannot connect", false)); // false
 * try {
 *   reauthAfterOption("Cannot connect", 13 * 3_600_000);
 * } catch (error) {
 *   console.log(error instanceof RangeError); // true
 * }
 * ```
 */
export function reauthAfterOption(action: string, value: unknown): number | false {
  if (value === undefined) return DEFAULT_REAUTH_AFTER;
  if (value === false) return false;
  if (
    typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_REAUTH_AFTER
  ) {
    throw new RangeError(
      `${action}: 'reauthAfter' must be a number of milliseconds above 0 and at most ` +
        `${MAX_REAUTH_AFTER} (11 h 50 min: the server cuts IAM connections 12 hours after they ` +
        `authenticate, and a failed re-authentication needs time to be retried), or false to ` +
        `turn re-authentication off, got ${describe(value)}`,
    );
  }
  return value;
}
