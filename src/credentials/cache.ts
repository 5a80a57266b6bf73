/**
 * Caching a credentials provider's result until shortly before it expires.
 *
 * @module
 */
import {
  describe,
  optionalFunction,
  optionsObject,
  timeoutOption,
  timersOption,
} from "../_checks.ts";
import type { Timers } from "../client/timers.ts";
import { answerWithin, noAnswer } from "./resolve.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named, sourceOf } from "./source_name.ts";

/** Options of {@linkcode cacheCredentials}. */
export interface CacheCredentialsOptions {
  /**
   * How long before `expiration` cached credentials stop being handed out, in milliseconds.
   *
   * @default {300_000}
   */
  expiryMarginMs?: number;
  /**
   * How long one call of the wrapped provider may take, in milliseconds.
   * When it has not answered by then, every caller waiting on it gets a
   * `CredentialsError`, and the next call calls the provider again (its late
   * answer is ignored). A positive number up to 2147483647, or `Infinity` to
   * wait as long as the provider takes.
   *
   * @default {10_000}
   */
  timeoutMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound each call of the provider (see `timeoutMs`); tests fire them by hand.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
}

/**
 * Wraps a provider so that its result is reused until `expiryMarginMs`
 * before its `expiration`. Credentials without an expiration are not cached:
 * they are resolved again on every call. Concurrent callers share one
 * resolution, and a failed resolution is not cached. Each call of `provider`
 * is bounded by `timeoutMs`: one that never answers fails its callers and is
 * not waited on again. A provider that throws, or returns keys instead of a
 * promise, is handled like one that rejects or resolves.
 *
 * @param provider The provider to wrap.
 * @param options The margin, the bound, the clock and the timers.
 * @returns The caching provider. It rejects with a `CredentialsError` when
 * `provider` does not answer within `timeoutMs`, and with `provider`'s error when it fails.
 * @throws {TypeError} When `provider` is not a function or an option has the wrong type.
 * @throws {RangeError} When `expiryMarginMs` is negative or not finite, or `timeoutMs` out of range.
 *
 * @example
 * ```ts
 * import { cacheCredentials } from "./cache.ts";
 *
 * let calls = 0;
 * const provider = cacheCredentials(() => {
 *   calls++;
 *   return Promise.resolve({ accessKeyId: "ASIA1", secretAccessKey: "s", expiration: new Date(Date.now() + 3_600_000) });
 * });
 * await provider();
 * await provider();
 * console.log(calls); // 1
 * ```
 */
export function cacheCredentials(
  provider: AwsCredentialsProvider,
  options?: CacheCredentialsOptions,
): AwsCredentialsProvider {
  const action = "Cannot cache credentials";
  if (typeof provider !== "function") {
    throw new TypeError(
      `${action}: 'provider' must be a credentials provider function, got ${describe(provider)}`,
    );
  }
  const { expiryMarginMs, now: clock, timeoutMs, timers } = optionsObject(action, options);
  if (
    expiryMarginMs !== undefined &&
    (typeof expiryMarginMs !== "number" || !Number.isFinite(expiryMarginMs) || expiryMarginMs < 0)
  ) {
    throw new RangeError(
      `${action}: 'expiryMarginMs' must be a number of milliseconds from 0, got ${
        describe(expiryMarginMs)
      }`,
    );
  }
  optionalFunction(action, "now", clock);
  const timeout = timeoutOption(action, "timeoutMs", timeoutMs, 10_000);
  const bound = timersOption(action, timers);
  const margin = expiryMarginMs ?? 300_000;
  const now = clock ?? Date.now;
  let cached: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  return named(() => {
    if (cached?.expiration && cached.expiration.getTime() - margin > now()) {
      return Promise.resolve(cached);
    }
    pending ??= answerWithin(provider, timeout, bound, () => noAnswer(timeout)).then(
      (credentials) => {
        cached = credentials;
        pending = undefined;
        return credentials;
      },
      (error) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  }, () => sourceOf(provider));
}
