/**
 * The token manager: hands out `{username, password}` for `AUTH`/`HELLO`,
 * caching the IAM auth token and minting a new one before it runs out.
 *
 * @module
 */
import {
  describe,
  optionalFunction,
  optionsObject,
  timeoutOption,
  timersOption,
} from "./_checks.ts";
import { backoffDelay, type Timers } from "./client/timers.ts";
import { CredentialsError } from "./errors.ts";
import {
  checkCredentials,
  DEFAULT_CREDENTIALS_TIMEOUT,
  messageOf,
  resolveCredentials,
} from "./credentials/resolve.ts";
import type { CredentialsInput } from "./credentials/types.ts";
import {
  type NormalizedTarget,
  normalizeExpiresIn,
  normalizeTarget,
  signToken,
  type TokenTargetOptions,
} from "./token.ts";
import { sourceOf } from "./credentials/source_name.ts";
import { publish } from "./observe/hub.ts";

/** A user name and password for `AUTH` or `HELLO … AUTH`, as node-redis and this module's client take them. */
export interface RedisCredentials {
  /** The user id. */
  readonly username: string;
  /** The IAM auth token. Never print it. */
  readonly password: string;
}

/** How failed refreshes are retried. */
export interface RetryOptions {
  /**
   * The delay after the first failure, in milliseconds; it doubles after each further failure.
   *
   * @default {1000}
   */
  initialDelay?: number;
  /**
   * The longest delay between attempts, in milliseconds. No wait lasts
   * longer, whatever the clock does: a clock stepped back restarts the wait
   * from the new time, a clock stepped forward ends it.
   *
   * @default {30000}
   */
  maxDelay?: number;
}

/** Options of {@linkcode IamAuth}. */
export type IamAuthOptions = TokenTargetOptions & {
  /** The AWS credentials to sign with: keys, or a provider such as `fromEnv()` or `fromWebIdentity()`. Resolved again for every new token. */
  credentials: CredentialsInput;
  /**
   * The token lifetime, in seconds (1 to 900).
   *
   * @default {900}
   */
  expiresIn?: number;
  /**
   * How old a token may get, in milliseconds, before the next caller triggers a
   * background refresh (the caller still gets the cached, valid token).
   * Must be shorter than the token lifetime.
   *
   * @default {300000}
   */
  refreshAfter?: number;
  /**
   * No token is handed out with less than this left before it, or the
   * credentials that signed it, expire, in milliseconds.
   *
   * @default {60000}
   */
  expiryMargin?: number;
  /** How failed refreshes are retried. */
  retry?: RetryOptions;
  /**
   * How long one resolution of `credentials` may take, in milliseconds: a
   * provider that has not answered by then fails the mint with a
   * `CredentialsError` (retried after the backoff, like any failed mint), so a
   * provider that never settles cannot hold every caller. Its late answer is
   * ignored. A positive number up to 2147483647, or `Infinity` to wait as long
   * as the provider takes. Unused when `credentials` are keys.
   *
   * @default {5000}
   */
  credentialsTimeout?: number;
  /**
   * The clock, in milliseconds since the epoch; tests move it instead of sleeping.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound a credentials resolution (see `credentialsTimeout`); tests fire them by hand.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
  /**
   * A source of randomness in [0, 1) for retry jitter.
   *
   * @default {Math.random}
   */
  random?: () => number;
};

interface CachedToken {
  readonly credentials: RedisCredentials;
  readonly mintedAt: number;
  readonly expiresAt: number;
}

interface Failure {
  readonly error: unknown;
  readonly attempts: number;
  /** When the wait started, on the injected clock; moved to "now" if the clock steps back. */
  since: number;
  /** How long to wait before the next attempt, at most `retry.maxDelay`. */
  readonly delay: number;
}

/**
 * The IAM token manager. `credentials()` answers at once from its cache
 * while the cached token has more than `expiryMargin` of life left (bounded by
 * both the token's lifetime and its credentials' expiration); once the token
 * is older than `refreshAfter`, the caller still gets it and a new one is minted
 * in the background. Concurrent callers share one mint: one credentials
 * resolution and one signature. A failed mint is retried after an exponential
 * backoff with jitter, on the next call after the delay (never more than
 * `retry.maxDelay`, even when the clock steps); meanwhile a still-valid token
 * keeps being served. Each credentials resolution is bounded by
 * `credentialsTimeout`, so a provider that never answers fails the mint instead
 * of holding every caller. Between calls the manager owns no timer (the only
 * one bounds a resolution under way), so it never keeps an idle process alive,
 * and a frozen serverless instance resumes correctly.
 *
 * @example
 * ```ts
 * import { IamAuth } from "./iam_auth.ts";
 *
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
 * });
 * const { username, password } = await auth.credentials();
 * console.log(username, password.startsWith("replication-group-01/?Action=connect")); // "iam-user-01" true
 * ```
 */
export class IamAuth implements Disposable {
  readonly #target: NormalizedTarget;
  readonly #source: CredentialsInput;
  readonly #expiresIn: number;
  readonly #refreshAfter: number;
  readonly #expiryMargin: number;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #credentialsTimeout: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #random: () => number;
  #cached: CachedToken | undefined;
  #pending: Promise<CachedToken> | undefined;
  #failure: Failure | undefined;
  #disposed = false;
  /** Derived SigV4 signing keys, so a refresh costs one HMAC instead of five. */
  readonly #signingKeys = new Map<string, ArrayBuffer>();

  /**
   * Checks the options; nothing is resolved or signed until the first call.
   * The cache's name, the region and the user id may be read from `endpoint`
   * (a host name or a `rediss://user@host:port` URL) instead; the region
   * otherwise falls back to `AWS_REGION`, then `AWS_DEFAULT_REGION`.
   *
   * @param options The token's target, the credentials and the timing.
   * @throws {TypeError} When a name, the endpoint, the region, the credentials or `timers` are
   * malformed, or an endpoint that names no cache comes without the cache's name.
   * @throws {RangeError} When a duration is out of range.
   */
  constructor(options: IamAuthOptions) {
    this.#target = normalizeTarget(options);
    optionalFunction("Cannot create IamAuth", "now", options.now);
    optionalFunction("Cannot create IamAuth", "random", options.random);
    optionsObject("Cannot create IamAuth", options.retry, "retry");
    this.#expiresIn = normalizeExpiresIn(options.expiresIn);
    const credentials = options.credentials;
    if (typeof credentials !== "function") checkCredentials(credentials);
    this.#source = credentials;
    const lifetime = this.#expiresIn * 1000;
    this.#refreshAfter = duration("refreshAfter", options.refreshAfter, 300_000, lifetime);
    this.#expiryMargin = duration("expiryMargin", options.expiryMargin, 60_000, lifetime);
    this.#initialDelay = duration("retry.initialDelay", options.retry?.initialDelay, 1000);
    this.#maxDelay = duration("retry.maxDelay", options.retry?.maxDelay, 30_000);
    this.#credentialsTimeout = timeoutOption(
      "Cannot create IamAuth",
      "credentialsTimeout",
      options.credentialsTimeout,
      DEFAULT_CREDENTIALS_TIMEOUT,
    );
    this.#timers = timersOption("Cannot create IamAuth", options.timers);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** The user id tokens are signed for (lowercased): the user name for `AUTH`. */
  get username(): string {
    return this.#target.userId;
  }

  /**
   * A user name and a token valid now, for a new connection or a re-auth.
   *
   * @returns The credentials.
   * @throws {CredentialsError} When no valid token can be had; `cause` is the credential source's or signer's error.
   */
  credentials(): Promise<RedisCredentials> {
    this.#assertOpen();
    const now = this.#now();
    const cached = this.#cached;
    if (cached && now < cached.expiresAt - this.#expiryMargin) {
      if (now >= cached.mintedAt + this.#refreshAfter) this.#refreshInBackground(now);
      return Promise.resolve(cached.credentials);
    }
    return this.#mintShared(now).then((token) => token.credentials);
  }

  /**
   * Mints a new token now, whatever the cache holds, as after a `WRONGPASS`.
   * Joins a mint already under way instead of starting a second one.
   *
   * @returns The new credentials.
   * @throws {CredentialsError} When no token can be minted.
   */
  refresh(): Promise<RedisCredentials> {
    this.#assertOpen();
    return this.#mintShared(this.#now()).then((token) => token.credentials);
  }

  /** Stops the manager: later calls throw. It owns no timer or socket to release. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    this.#cached = undefined;
    this.#signingKeys.clear();
  }

  #refreshInBackground(now: number): void {
    if (this.#pending || this.#retryIn(now) > 0) return;
    // The failure is recorded by #mintShared; the cached token keeps serving.
    this.#mintShared(now).catch(() => {});
  }

  #mintShared(now: number): Promise<CachedToken> {
    if (this.#pending) return this.#pending;
    const retryIn = this.#retryIn(now);
    if (retryIn > 0) return Promise.reject(this.#unavailable(this.#failure!.error, retryIn));
    const started = performance.now();
    const { cacheName: cache, userId: user, service, region } = this.#target;
    const pending = this.#mint().then(
      (token) => {
        if (this.#pending === pending) this.#pending = undefined;
        if (!this.#disposed) this.#cached = token;
        this.#failure = undefined;
        publish({
          type: "token:minted",
          cache,
          user,
          service,
          region,
          expiresAt: new Date(token.expiresAt),
          durationMs: performance.now() - started,
        });
        return token;
      },
      (error: unknown) => {
        if (this.#pending === pending) this.#pending = undefined;
        const attempts = (this.#failure?.attempts ?? 0) + 1;
        this.#failure = {
          error,
          attempts,
          since: this.#now(),
          delay: backoffDelay(attempts - 1, this.#initialDelay, this.#maxDelay, this.#random),
        };
        const unavailable = this.#unavailable(error);
        publish({
          type: "token:failed",
          cache,
          user,
          error: unavailable,
          attempts,
          durationMs: performance.now() - started,
        });
        throw unavailable;
      },
    );
    this.#pending = pending;
    return pending;
  }

  /**
   * How long until the next mint may be tried after a failure: 0 when it may
   * be now, never more than the failure's delay. A clock that went back
   * before the failure restarts the wait from now.
   */
  #retryIn(now: number): number {
    const failure = this.#failure;
    if (failure === undefined) return 0;
    if (now < failure.since) failure.since = now;
    return Math.max(0, failure.since + failure.delay - now);
  }

  async #mint(): Promise<CachedToken> {
    const resolving = performance.now();
    const credentials = await resolveCredentials(this.#source, {
      timeout: this.#credentialsTimeout,
      timers: this.#timers,
    });
    publish({
      type: "credentials:resolved",
      source: sourceOf(this.#source),
      expiration: credentials.expiration,
      durationMs: performance.now() - resolving,
    });
    const signedAt = this.#now();
    if (this.#signingKeys.size >= 4) this.#signingKeys.clear(); // new keys or a new day
    const password = await signToken(
      this.#target,
      credentials,
      this.#expiresIn,
      new Date(signedAt),
      this.#signingKeys,
    );
    const credentialsExpireAt = credentials.expiration?.getTime() ?? Infinity;
    const expiresAt = Math.min(signedAt + this.#expiresIn * 1000, credentialsExpireAt);
    if (expiresAt - this.#expiryMargin <= this.#now()) {
      throw new CredentialsError(
        `the AWS credentials expire at ${
          new Date(credentialsExpireAt).toISOString()
        }, within the ${this.#expiryMargin} ms safety margin; the credential source ` +
          `handed out credentials that are about to expire`,
      );
    }
    return {
      credentials: { username: this.#target.userId, password },
      mintedAt: signedAt,
      expiresAt,
    };
  }

  #unavailable(error: unknown, retryIn?: number): CredentialsError {
    const { userId, cacheName } = this.#target;
    const retry = retryIn === undefined ? "" : `; next attempt in ${Math.ceil(retryIn)} ms`;
    return new CredentialsError(
      `Cannot get an IAM auth token for user '${userId}' on '${cacheName}': ${
        messageOf(error)
      }${retry}`,
      { cause: error },
    );
  }

  #assertOpen(): void {
    if (this.#disposed) {
      throw new TypeError("Cannot get an IAM auth token: this IamAuth has been disposed");
    }
  }

  /** Shows the target, never the token. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#describe();
  }

  /** Shows the target, never the token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.#describe();
  }

  /**
   * What `JSON.stringify` shows: the target, never the token.
   *
   * @returns The target.
   */
  toJSON(): { userId: string; cacheName: string; region: string; service: string } {
    const { userId, cacheName, region, service } = this.#target;
    return { userId, cacheName, region, service };
  }

  #describe(): string {
    const { userId, cacheName, region, service } = this.#target;
    return `IamAuth { userId: "${userId}", cacheName: "${cacheName}", region: "${region}", service: "${service}" }`;
  }
}

function duration(name: string, value: number | undefined, fallback: number, below?: number) {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" || !Number.isFinite(value) || value <= 0 ||
    (below !== undefined && value >= below)
  ) {
    const range = below === undefined ? "a positive number" : `above 0 and below ${below}`;
    throw new RangeError(
      `Cannot create IamAuth: '${name}' must be ${range} (milliseconds), got ${describe(value)}`,
    );
  }
  return value;
}
