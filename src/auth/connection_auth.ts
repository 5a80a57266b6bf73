/**
 * The authentication lifecycle of a connection, written once and used by
 * every client and integration (the thin client and, through it, the cluster
 * client; the node-redis credentials provider; the ioredis helper):
 *
 * - each new connection authenticates with credentials valid now;
 * - after the server refused them (`WRONGPASS`), a fresh token is minted and
 *   tried once; a second refusal fails with the likely causes;
 * - a live connection is re-authenticated `reauthAfter` after its own
 *   authentication (the integration's `send` keeps it out of `MULTI`);
 * - a failed re-authentication is reported and retried with a bounded,
 *   jittered backoff; it is kept, so that a connection that reaches the
 *   server's 12-hour cut fails its next command with it as `cause`.
 *
 * What differs per client is only how `AUTH` is sent on a live connection
 * ({@linkcode SendAuth}).
 *
 * @module
 */

import { backoffDelay, setIoTimeout, type Timers, withTimeout } from "../client/timers.ts";
import {
  AuthenticationError,
  ConnectionClosedError,
  CredentialsError,
  raiseUncaught,
  TimeoutError,
} from "../errors.ts";
import { AUTH_STEP_TIMEOUT, CONNECTION_MAX_AGE, REAUTH_RETRY } from "./policy.ts";
import { authenticationError, isRefusal, refusalReply } from "./refusal.ts";
import { publish } from "../observe/hub.ts";
import type { AuthCredentials, AuthProvider } from "./types.ts";

/**
 * Whether `auth` is a provider (as opposed to static credentials).
 *
 * @param auth The `auth` option.
 * @returns `true` for an {@linkcode AuthProvider}.
 */
export function isAuthProvider(auth: AuthProvider | AuthCredentials): auth is AuthProvider {
  return typeof (auth as AuthProvider).credentials === "function";
}

/** Options of {@linkcode ConnectionAuth}. */
export interface ConnectionAuthOptions {
  /** Where credentials come from: the token manager, or any provider. */
  readonly provider: AuthProvider;
  /** When a live connection is re-authenticated, from `reauthAfterOption()`; `false` never. */
  readonly reauthAfter: number | false;
  /** `host:port` (or another name of the server), for error messages. */
  readonly label: string;
  /** The timers re-authentication is scheduled with. */
  readonly timers: Timers;
  /** The clock, in ms since the epoch. */
  readonly now: () => number;
  /**
   * Receives re-authentication failures. Whether or not it is given, the
   * last failure is kept by the connection's {@linkcode Reauthentication}.
   */
  readonly onError?: ((error: Error) => void) | undefined;
  /** A source of numbers in [0, 1) for the retry jitter. */
  readonly random?: (() => number) | undefined;
}

/**
 * How an integration sends `AUTH` on its live connection. A returned promise
 * settles with the server's answer (a refusal rejects with an error that
 * quotes `WRONGPASS`); a client that only queues the command (node-redis's
 * `onNext`) returns nothing and reports a failure later through
 * {@linkcode Reauthentication.failed}.
 */
export type SendAuth = (credentials: AuthCredentials) => Promise<unknown> | void;

/**
 * The authentication of one client's connections: credentials for each
 * handshake (with the one fresh-token retry after a refusal), and a
 * {@linkcode Reauthentication} for each connection that authenticated.
 *
 * @example A handshake refused once, then accepted with a freshly minted token
 * ```ts
 * import { ConnectionAuth } from "./connection_auth.ts";
 * import { ReplyError } from "../errors.ts";
 * import { systemTimers } from "../client/timers.ts";
 *
 * let minted = 0;
 * const provider = {
 *   credentials: () => Promise.resolve({ username: "iam-user-01", password: `token-${minted || ++minted}` }),
 *   refresh: () => Promise.resolve({ username: "iam-user-01", password: `token-${++minted}` }),
 * };
 * const auth = new ConnectionAuth({
 *   provider, reauthAfter: false, label: "127.0.0.1:6379", timers: systemTimers, now: Date.now,
 * });
 * console.log((await auth.handshakeCredentials()).password); // "token-1"
 * const refusal = new ReplyError("WRONGPASS invalid username-password pair or user is disabled.");
 * console.log(auth.handshakeRefused(refusal)); // undefined: worth a fresh token
 * console.log((await auth.handshakeCredentials()).password); // "token-2"
 * console.log(auth.handshakeRefused(refusal)?.name); // "AuthenticationError"
 * ```
 */
export class ConnectionAuth {
  readonly #o: ConnectionAuthOptions;
  /** Credentials minted after a refusal, for the next handshake. */
  #fresh: Promise<AuthCredentials> | undefined;
  /** Whether the credentials handed to the last handshake were minted after a refusal. */
  #handedFresh = false;
  #failing = false;
  #username: string | undefined;

  /**
   * Makes the authentication state of one client.
   *
   * @param options The provider, the re-authentication timing and where failures go.
   */
  constructor(options: ConnectionAuthOptions) {
    this.#o = options;
  }

  /** The options it was made with. */
  get options(): ConnectionAuthOptions {
    return this.#o;
  }

  /** The user name of the credentials last handed out, for messages; `undefined` before the first. */
  get username(): string | undefined {
    return this.#username;
  }

  /**
   * Credentials for a new connection's handshake: valid now, or, right after
   * a refusal, the freshly minted ones. The caller bounds the wait (a connect
   * has its own timeout).
   *
   * @returns The credentials.
   * @throws {CredentialsError} When the provider cannot hand any out.
   * @throws {TypeError} When the provider returned no `{ username, password }`.
   */
  handshakeCredentials(): Promise<AuthCredentials> {
    const fresh = this.#fresh;
    this.#fresh = undefined;
    this.#handedFresh = fresh !== undefined;
    return (fresh ?? this.credentials(false)).then(
      (credentials) => {
        this.#failing = false;
        return credentials;
      },
      (error) => {
        this.#failing = true;
        throw error;
      },
    );
  }

  /**
   * {@linkcode ConnectionAuth.handshakeCredentials}, bounded by
   * `AUTH_STEP_TIMEOUT`: for clients whose connect has no timeout of its own
   * around the provider (node-redis, ioredis).
   *
   * @param signal Ends the wait early (the client was disposed).
   * @returns The credentials.
   * @throws {CredentialsError} When the provider fails or does not answer in time.
   */
  boundedHandshakeCredentials(signal?: AbortSignal): Promise<AuthCredentials> {
    const { timers, label } = this.#o;
    return withTimeout(
      this.handshakeCredentials(),
      AUTH_STEP_TIMEOUT,
      timers,
      () =>
        new CredentialsError(
          `Cannot connect to ${label}: the auth provider did not answer within ${AUTH_STEP_TIMEOUT} ms`,
        ),
      signal,
    );
  }

  /**
   * Whether the provider failed the last handshake: a client then waits for
   * credentials before it opens a socket, rather than opening one per attempt
   * while the provider is down.
   */
  get failing(): boolean {
    return this.#failing;
  }

  /**
   * Records that the server refused a handshake. The first refusal starts
   * minting a fresh token, which the next {@linkcode handshakeCredentials}
   * returns; a refusal of that fresh token is final.
   *
   * @param refusal The server's `WRONGPASS` (a `ReplyError`, or another client's error quoting it).
   * @returns `undefined` when a fresh token is worth a try; otherwise the
   *   `AuthenticationError`, with the likely causes, to fail with.
   */
  handshakeRefused(refusal: Error): AuthenticationError | undefined {
    const reply = refusalReply(refusal);
    const refused = { type: "auth:refused", server: this.#o.label, user: this.#username } as const;
    if (this.#handedFresh) {
      this.#handedFresh = false;
      const error = authenticationError(this.#o.label, this.#username, reply, true);
      publish({ ...refused, code: reply.code, retrying: false, error });
      return error;
    }
    publish({ ...refused, code: reply.code, retrying: true, error: undefined });
    const fresh = this.credentials(true);
    fresh.catch(() => {}); // The next handshake reports it.
    this.#fresh = fresh;
    return undefined;
  }

  /**
   * Starts the re-authentication schedule of a connection whose handshake
   * succeeded.
   *
   * @param at When the handshake was sent (the server counts 12 hours from its authentication).
   * @param send How `AUTH` is sent on this connection.
   * @returns The connection's schedule; `end()` it when the connection closes.
   */
  authenticated(at: number, send: SendAuth): Reauthentication {
    publish({ type: "auth:accepted", server: this.#o.label, user: this.#username });
    return new Reauthentication(this, at, send);
  }

  /**
   * Asks the provider for credentials (`refresh()` for fresh ones, when it has it).
   *
   * @param fresh Whether to bypass the provider's cache.
   * @returns The credentials.
   * @throws {TypeError} When the provider returned no `{ username, password }`.
   */
  async credentials(fresh: boolean): Promise<AuthCredentials> {
    const provider = this.#o.provider;
    const credentials = fresh && provider.refresh !== undefined
      ? await provider.refresh()
      : await provider.credentials();
    if (credentials === null || typeof credentials?.password !== "string") {
      throw new TypeError(
        "Cannot authenticate: the auth provider returned no { username, password }",
      );
    }
    this.#username = credentials.username;
    return credentials;
  }

  /**
   * Hands a background failure to `onError`, if given (without it, the
   * failure is kept by the connection's {@linkcode Reauthentication}).
   *
   * @param error The failure.
   */
  report(error: Error): void {
    try {
      this.#o.onError?.(error);
    } catch (handlerFailure) {
      raiseUncaught(handlerFailure); // The handler itself failed: never dropped either.
    }
  }
}

/**
 * One live connection's re-authentication schedule: `reauthAfter` after its
 * last authentication, a fresh token is sent through the integration's
 * {@linkcode SendAuth}; a refused token is replaced by a freshly minted one
 * once; any other failure is reported and retried after a backoff
 * ({@linkcode REAUTH_RETRY}). The provider's answer is bounded by
 * {@linkcode AUTH_STEP_TIMEOUT}; the server's by the client that sends the
 * `AUTH`. Timers run on nominal delays, so wall-clock steps move nothing.
 *
 * @example Made by `ConnectionAuth.authenticated()`
 * ```ts
 * import { ConnectionAuth } from "./connection_auth.ts";
 * import { systemTimers } from "../client/timers.ts";
 *
 * const provider = { credentials: () => Promise.resolve({ username: "iam-user-01", password: "token" }) };
 * const auth = new ConnectionAuth({
 *   provider, reauthAfter: 39_600_000, label: "127.0.0.1:6379", timers: systemTimers, now: Date.now,
 * });
 * const reauth = auth.authenticated(Date.now(), () => Promise.resolve());
 * console.log(reauth.nextCheck - Date.now() <= 39_600_000); // true
 * reauth.end();
 * ```
 */
export class Reauthentication {
  readonly #auth: ConnectionAuth;
  readonly #send: SendAuth;
  /** When the connection last authenticated (by its handshake or a re-authentication). */
  #authAt: number;
  /** When the next re-authentication is due; `Infinity` while one runs, or when none is planned. */
  #due = Infinity;
  /** Whether the planned one retries a failure (else it is the regular one). */
  #retry = false;
  #nextCheck = Infinity;
  #timer: unknown;
  #running: Promise<void> | undefined;
  /** Whether the credentials sent last were minted after a refusal. */
  #sentFresh = false;
  #failures = 0;
  #failure: Error | undefined;
  #ended = false;
  /** Aborted by `end()`: ends the wait on the provider, and its timer, at once. */
  readonly #stop = new AbortController();

  /**
   * Starts the re-authentication schedule of one connection.
   *
   * @param auth The client's authentication.
   * @param at When the connection authenticated.
   * @param send How `AUTH` is sent on it.
   */
  constructor(auth: ConnectionAuth, at: number, send: SendAuth) {
    this.#auth = auth;
    this.#send = send;
    this.#authAt = at;
    this.#schedule(auth.options.reauthAfter, false);
  }

  /** When the server cuts the connection unless it re-authenticates first: 12 hours after its last authentication. */
  get expiresAt(): number {
    return this.#authAt + CONNECTION_MAX_AGE;
  }

  /** The earliest time {@linkcode check} has something to do: the next re-authentication, or the cut. */
  get nextCheck(): number {
    return this.#nextCheck;
  }

  /** The last re-authentication failure, until a re-authentication succeeds. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * For clients that look at every command: starts a re-authentication that
   * is due (its timer may fire late, after the process was frozen), and tells
   * whether the connection is past the cut.
   *
   * @param now The time.
   * @returns `undefined` while the connection's authentication holds (or a
   *   re-authentication is under way); past the cut, a `ConnectionClosedError`
   *   to close it with, whose `cause` is the failed re-authentication when
   *   there was one.
   */
  check(now: number): ConnectionClosedError | undefined {
    // A re-authentication under way decides: it extends the connection, or fails and is kept.
    if (this.#running !== undefined) return undefined;
    if (now >= this.expiresAt) return this.#expired();
    if (now >= this.#due) this.#start(false);
    return undefined;
  }

  /**
   * Reports that a re-authentication sent without an answer (node-redis's
   * `onNext`) failed: a refusal gets one fresh token at once; other failures
   * are reported and retried after the backoff.
   *
   * @param error The client's error.
   */
  failed(error: Error): void {
    if (this.#ended || this.#running !== undefined) return;
    this.#run(() => this.#afterFailure(error, this.#sentFresh));
  }

  /** Stops the schedule: the connection closed. An attempt under way is abandoned, its timers cleared. */
  end(): void {
    this.#ended = true;
    this.#clearTimer();
    this.#stop.abort();
    this.#due = Infinity;
    this.#nextCheck = Infinity;
  }

  /**
   * Plans the next re-authentication `delay` ms from now (`false`: none). The
   * timer runs on the nominal delay, so a wall clock stepped back or forward
   * meanwhile moves it by nothing; `nextCheck` follows the wall clock, for
   * clients that check on each command after a freeze.
   */
  #schedule(delay: number | false, retry: boolean): void {
    this.#clearTimer();
    const due = delay === false ? Infinity : this.#auth.options.now() + delay;
    this.#due = due;
    this.#retry = retry;
    this.#nextCheck = Math.min(due, this.expiresAt);
    if (this.#ended || delay === false) return;
    // Cleared when the connection closes: an I/O timer, with no keep-alive of
    // its own (and, on Deno, no `node:timers` load on a cold start).
    const timer = setIoTimeout(this.#auth.options.timers, () => {
      if (this.#timer !== timer) return;
      this.#timer = undefined;
      if (!this.#ended) this.#start(false);
    }, Math.max(0, delay));
    this.#timer = timer;
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#auth.options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #start(fresh: boolean): void {
    if (this.#running !== undefined || this.#ended) return;
    // A regular re-authentication after a quiet period: earlier failures are over.
    if (!this.#retry) this.#failures = 0;
    this.#clearTimer();
    this.#due = Infinity;
    publish({
      type: "reauth:due",
      server: this.#auth.options.label,
      user: this.#auth.username,
      retry: this.#retry,
      cutAt: new Date(this.expiresAt),
    });
    this.#run(() => this.#attempt(fresh));
  }

  #run(step: () => Promise<void>): void {
    const running = step().finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
  }

  async #attempt(fresh: boolean): Promise<void> {
    const { now, timers, label } = this.#auth.options;
    const at = now();
    let answered = false;
    try {
      // The provider is bounded here; the server's answer by the client that
      // sends it (the thin client's command timeout: an AUTH queued behind a
      // blocking command waits with it, as the server answers it after).
      const credentials = await withTimeout(
        this.#auth.credentials(fresh),
        AUTH_STEP_TIMEOUT,
        timers,
        () =>
          new TimeoutError(
            `Cannot re-authenticate the connection to ${label}: the auth provider did not answer within ${AUTH_STEP_TIMEOUT} ms`,
          ),
        this.#stop.signal,
      );
      if (this.#ended) return;
      this.#sentFresh = fresh;
      const sending = this.#send(credentials);
      if (sending === undefined) {
        // Queued only (node-redis): taken as sent until the client reports a failure.
        this.#failure = undefined;
      } else {
        await sending;
        answered = true;
      }
    } catch (error) {
      if (!this.#ended) await this.#afterFailure(error, fresh);
      return;
    }
    if (this.#ended) return;
    if (answered) {
      // The server accepted: the connection has 12 more hours.
      this.#authAt = at;
      this.#failures = 0;
      this.#failure = undefined;
    }
    publish({
      type: "reauth:done",
      server: label,
      user: this.#auth.username,
      durationMs: now() - at,
    });
    this.#schedule(this.#auth.options.reauthAfter, false);
  }

  async #afterFailure(error: unknown, fresh: boolean): Promise<void> {
    if (isRefusal(error) && !fresh) {
      await this.#attempt(true);
      return;
    }
    const { label, random } = this.#auth.options;
    const failure = isRefusal(error)
      ? authenticationError(label, this.#auth.username, refusalReply(error as Error), true)
      : error instanceof AuthenticationError || error instanceof CredentialsError ||
          error instanceof TimeoutError
      ? error
      : new AuthenticationError(
        `Cannot re-authenticate the connection to ${label}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    this.#failure = failure;
    this.#failures++;
    this.#auth.report(failure);
    if (this.#ended) return;
    const delay = backoffDelay(
      this.#failures - 1,
      REAUTH_RETRY.minDelay,
      REAUTH_RETRY.maxDelay,
      random,
    );
    publish({
      type: "reauth:failed",
      server: label,
      user: this.#auth.username,
      error: failure,
      failures: this.#failures,
      retryInMs: delay,
    });
    this.#schedule(delay, true);
  }

  #expired(): ConnectionClosedError {
    const { label } = this.#auth.options;
    const failure = this.#failure;
    if (failure === undefined) {
      return new ConnectionClosedError(
        `Connection to ${label} closed: its IAM authentication reached the server's 12-hour limit`,
      );
    }
    return new ConnectionClosedError(
      `Connection to ${label} closed: its IAM authentication reached the server's 12-hour limit, ` +
        `and re-authenticating it failed: ${failure.message}`,
      { cause: failure },
    );
  }
}
