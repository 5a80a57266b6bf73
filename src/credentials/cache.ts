/**
 * Caching a credentials provider's result until shortly before it expires.
 *
 * @module
 */
import { describe, optionalFunction, optionsObject } from "../_checks.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";

/** Options of {@linkcode cacheCredentials}. */
export interface CacheCredentialsOptions {
  /**
   * How long before `expiration` cached credentials stop being handed out, in milliseconds.
   *
   * @default {300_000}
   */
  expiryMarginMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * Wraps a provider so that its result is reused until `expiryMarginMs`
 * before its `expiration`. Credentials without an expiration are not cached:
 * they are resolved again on every call. Concurrent callers share one
 * resolution, and a failed resolution is not cached.
 *
 * @param provider The provider to wrap.
 * @param options The margin and the clock.
 * @returns The caching provider.
 * @throws {TypeError} When `provider` is not a function or an option has the wrong type.
 * @throws {RangeError} When `expiryMarginMs` is negative or not finite.
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
  const { expiryMarginMs, now: clock } = optionsObject(action, options);
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
  const margin = expiryMarginMs ?? 300_000;
  const now = clock ?? Date.now;
  let cached: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  return () => {
    if (cached?.expiration && cached.expiration.getTime() - margin > now()) {
      return Promise.resolve(cached);
    }
    pending ??= provider().then(
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
  };
}
