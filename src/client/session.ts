/**
 * The connection's life: opening it (socket, TLS, handshake with credentials
 * that are valid now, one fresh-token retry after WRONGPASS), re-authenticating
 * it before the 12-hour cut (never inside MULTI/EXEC), and reopening it lazily
 * with jittered backoff after it dropped. Commands go through `run`/`batch`.
 *
 * @module
 */

import {
  AuthenticationError,
  ConnectionClosedError,
  CredentialsError,
  ProtocolError,
  ReplyError,
  TimeoutError,
} from "../errors.ts";
import type { CommandArg, Push, RespValue } from "../resp/types.ts";
import { warmUpDecoder } from "../resp/warm_up.ts";
import type { Transport } from "../transport/types.ts";
import { Connection, messageOf, type Parser } from "./connection.ts";
import {
  authCommand,
  type AuthCredentials,
  authenticationError,
  type AuthProvider,
  CredentialsRefused,
  handshake,
  isAuthProvider,
  prepareHandshake,
} from "./handshake.ts";
import type { ResolvedOptions } from "./options.ts";
import { backoffDelay, setIoTimeout } from "./timers.ts";

/** A decoder complaint about the first byte of a TLS record (0x15 alert, 0x16 handshake). */
const TLS_RECORD = /unknown type byte 0x1[56]\b/;

/** How long to wait before retrying a failed re-authentication, in ms. */
const REAUTH_RETRY_DELAY = 60_000;

/** What the session tells the pub/sub layer. */
export interface SessionHooks {
  /** A push frame arrived; return `true` if it was handled. */
  onPush(push: Push): boolean;
  /** A connection is ready, before waiting commands are sent: restore state on it. */
  onConnect(conn: Connection): void;
  /** Whether a dropped connection must be reopened at once rather than lazily. */
  needsConnection(): boolean;
}

interface Waiter {
  go(conn: Connection): void;
  fail(error: Error): void;
}

/** Owns the current connection and replaces it when it drops. */
export class Session {
  readonly #o: ResolvedOptions;
  readonly #hooks: SessionHooks | undefined;
  #conn: Connection | undefined;
  #connecting: Promise<void> | undefined;
  #attempt: Promise<unknown> | undefined;
  #abortAttempt: ((reason: Error) => void) | undefined;
  #waiters: Waiter[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;

  #reauthDue = Infinity;
  #reauthTimer: unknown;
  #reauthing: Promise<void> | undefined;
  #sleepTimer: unknown;
  #wake: (() => void) | undefined;

  /**
   * @param options The resolved client options.
   * @param hooks The pub/sub layer's hooks.
   */
  constructor(options: ResolvedOptions, hooks?: SessionHooks) {
    this.#o = options;
    this.#hooks = hooks;
  }

  /** The options the session was made with. */
  get options(): ResolvedOptions {
    return this.#o;
  }

  /** Whether a connection is open right now. */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens the first connection, with one attempt (no backoff), so that a
   * wrong address, certificate or credential fails `connect()` at once.
   *
   * @returns Resolves when the connection is ready.
   */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ go: () => resolve(), fail: reject });
      this.#startConnecting(1);
    });
  }

  /**
   * Sends one command, connecting first if needed.
   *
   * @param args The command.
   * @param parse Applied to a successful reply.
   * @param bytes Decode bulk strings as `Uint8Array`.
   * @returns The parsed reply.
   */
  run<T>(args: readonly CommandArg[], parse?: Parser<T>, bytes = false): Promise<T> {
    const conn = this.#conn;
    if (conn !== undefined) {
      if (this.#reauthDue !== Infinity && this.#o.now() >= this.#reauthDue) {
        this.#startReauth(conn);
      }
      return conn.send(args, parse, bytes);
    }
    return this.use((c) => c.send(args, parse, bytes));
  }

  /**
   * Sends several commands in one write.
   *
   * @param commands The commands.
   * @param bytes Per command, decode bulk strings as `Uint8Array`.
   * @returns One reply per command; error replies stay in the array.
   */
  batch(
    commands: readonly (readonly CommandArg[])[],
    bytes?: boolean | readonly boolean[],
  ): Promise<RespValue[]> {
    return this.use((c) => c.sendBatch(commands, bytes));
  }

  /**
   * Runs `fn` on a ready connection, connecting first if needed. Calls made
   * while connecting run in call order once the handshake succeeded.
   *
   * @param fn What to do with the connection.
   * @returns What `fn` returns.
   */
  use<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = this.#conn;
    if (conn !== undefined) {
      if (this.#reauthDue !== Infinity && this.#o.now() >= this.#reauthDue) {
        this.#startReauth(conn);
      }
      return fn(conn);
    }
    if (this.#closed) {
      return Promise.reject(
        new ConnectionClosedError(`Cannot send command to ${this.#o.label}: the client is closed`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push({ go: (c) => fn(c).then(resolve, reject), fail: reject });
      this.#startConnecting(this.#o.reconnect === false ? 0 : this.#o.reconnect.attempts);
    });
  }

  /**
   * Closes the session: stops timers, waits for the replies of commands
   * already sent, closes the socket. Commands waiting for a connection fail.
   *
   * @returns Resolves when everything is released.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#clearReauthTimer();
    const closedError = new ConnectionClosedError(
      `Cannot send command to ${this.#o.label}: the client is closed`,
    );
    this.#abortAttempt?.(closedError);
    if (this.#sleepTimer !== undefined) {
      this.#o.timers.clearTimeout(this.#sleepTimer);
      this.#sleepTimer = undefined;
      this.#wake?.();
    }
    await this.#connecting?.catch(() => {});
    await this.#attempt?.catch(() => {});
    this.#failWaiters(closedError);
    const conn = this.#conn;
    this.#conn = undefined;
    await conn?.close();
    await this.#reauthing;
  }

  #startConnecting(attempts: number): void {
    if (this.#connecting !== undefined) return;
    this.#connecting = this.#connect(attempts).finally(() => {
      this.#connecting = undefined;
    });
  }

  async #connect(attempts: number): Promise<void> {
    let failure: Error | undefined;
    if (attempts === 0) {
      failure = new ConnectionClosedError(
        `Cannot send command to ${this.#o.label}: the connection closed and reconnect is off`,
      );
    }
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (this.#closed) break;
      if (attempt > 0) {
        const { minDelay, maxDelay } = this.#o.reconnect || { minDelay: 0, maxDelay: 0 };
        await this.#sleep(backoffDelay(attempt - 1, minDelay, maxDelay));
        if (this.#closed) break;
      }
      try {
        const conn = await this.#open();
        if (this.#closed) {
          await conn.close();
          break;
        }
        this.#ready(conn);
        return;
      } catch (error) {
        failure = error as Error;
        if (!retryable(failure)) break;
      }
    }
    this.#failWaiters(
      this.#closed
        ? new ConnectionClosedError(`Cannot send command to ${this.#o.label}: the client is closed`)
        : failure!,
    );
  }

  #ready(conn: Connection): void {
    this.#conn = conn;
    this.#hooks?.onConnect(conn);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.go(conn);
  }

  #failWaiters(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.fail(error);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = this.#o.timers.setTimeout(() => {
        this.#sleepTimer = undefined;
        this.#wake = undefined;
        resolve();
      }, ms);
    });
  }

  /** One connection attempt, bounded by `connectTimeout`. */
  async #open(): Promise<Connection> {
    const o = this.#o;
    const controller = new AbortController();
    // The attempt starts before its timer is armed, so the socket (and, on
    // Deno, the TLS library's start-up) does not wait for the timer's first
    // set-up, about 0.5 ms on a cold start.
    const attempt = this.#establish(controller.signal, undefined);
    this.#attempt = attempt;
    let timer: unknown;
    const deadline = new Promise<never>((_, reject) => {
      const abort = (reason: Error) => {
        controller.abort(reason);
        reject(reason);
      };
      this.#abortAttempt = abort;
      timer = setIoTimeout(
        o.timers,
        () =>
          abort(
            new TimeoutError(
              `Cannot connect to ${o.label}: no ready connection after ${o.connectTimeout} ms`,
            ),
          ),
        o.connectTimeout,
      );
    });
    try {
      return await Promise.race([attempt, deadline]);
    } finally {
      o.timers.clearTimeout(timer);
      this.#abortAttempt = undefined;
      attempt.catch(() => {});
    }
  }

  async #establish(
    signal: AbortSignal,
    fresh: AuthCredentials | undefined,
  ): Promise<Connection> {
    const o = this.#o;
    const auth = o.auth;
    const provider = auth !== undefined && isAuthProvider(auth) ? auth : undefined;
    // The socket opens first, so that minting a token, and encoding the
    // handshake with it, run while its TCP and TLS handshakes are under way.
    const opening = openTransport(o);
    opening.catch(() => {});
    const pending: Promise<AuthCredentials | undefined> = fresh !== undefined
      ? Promise.resolve(fresh)
      : provider !== undefined
      ? getCredentials(provider, false)
      : Promise.resolve(auth as AuthCredentials | undefined);
    const preparing = pending.then((credentials) => ({
      credentials,
      prepared: prepareHandshake(credentials, o),
    }));
    preparing.catch(() => {});
    warmUpDecoder();
    let transport: Transport;
    try {
      transport = await opening;
    } catch (error) {
      if (error instanceof TypeError) throw error;
      throw new ConnectionClosedError(`Cannot connect to ${o.label}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    if (signal.aborted) {
      await closeTransport(transport);
      throw signal.reason;
    }
    const conn: Connection = new Connection(transport, {
      label: o.label,
      commandTimeout: o.commandTimeout,
      now: o.now,
      timers: o.timers,
      onPush: (push) => this.#onPush(push),
      onClose: () => this.#onClose(conn),
    });
    const abort = () => conn.destroy(signal.reason as Error);
    signal.addEventListener("abort", abort, { once: true });
    try {
      let { credentials, prepared } = await preparing;
      let refreshed = fresh !== undefined;
      for (;;) {
        const authAt = o.now();
        try {
          await handshake(conn, prepared, o);
          if (provider !== undefined) this.#authenticated(authAt);
          return conn;
        } catch (error) {
          if (!(error instanceof CredentialsRefused)) throw error;
          if (provider === undefined || refreshed) {
            throw authenticationError(
              o.label,
              credentials?.username,
              error.reply,
              provider !== undefined,
            );
          }
          refreshed = true;
          credentials = await getCredentials(provider, true);
          if (conn.closed) {
            signal.removeEventListener("abort", abort);
            return await this.#establish(signal, credentials);
          }
          prepared = prepareHandshake(credentials, o);
        }
      }
    } catch (error) {
      await conn.destroy(
        new ConnectionClosedError(`Connection to ${o.label} closed: the handshake failed`),
      );
      if (!o.tls && error instanceof ProtocolError && TLS_RECORD.test(error.message)) {
        // 0x15 / 0x16 open a TLS alert / handshake record: the server expected TLS.
        throw new ConnectionClosedError(
          `Cannot connect to ${o.label}: the server speaks TLS, but this connection is plaintext; pass 'tls: true'`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  #onPush(push: Push): void {
    if (this.#hooks?.onPush(push) === true) return;
    try {
      this.#o.onPush?.(push);
    } catch (error) {
      this.report(error);
    }
  }

  #onClose(conn: Connection): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    this.#reauthDue = Infinity;
    this.#clearReauthTimer();
    if (!this.#closed && this.#hooks?.needsConnection() === true) this.#reopen();
  }

  /** Reopens a connection that something (a subscription) depends on. */
  #reopen(): void {
    const waiter: Waiter = {
      go: () => {},
      fail: (error) => {
        this.report(error);
        if (this.#closed || this.#hooks?.needsConnection() !== true) return;
        const handle = this.#o.timers.setTimeout(() => {
          if (!this.#closed && this.#conn === undefined) this.#reopen();
        }, this.#o.reconnect === false ? 1000 : this.#o.reconnect.maxDelay);
        this.#o.timers.unref?.(handle);
      },
    };
    if (this.#o.reconnect === false) return;
    this.#waiters.push(waiter);
    this.#startConnecting(this.#o.reconnect.attempts);
  }

  /**
   * Hands a failure no caller awaits to `onError`.
   *
   * @param error The failure.
   */
  report(error: unknown): void {
    try {
      this.#o.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // The error handler itself failed; nothing is left to tell.
    }
  }

  /** Records a successful authentication made at `at`, and plans the next one. */
  #authenticated(at: number): void {
    // A connection that completes after close() is closed at once: no re-auth.
    if (this.#closed) return;
    this.#scheduleReauth(at + this.#o.reauthAfter);
  }

  #scheduleReauth(due: number): void {
    this.#reauthDue = due;
    this.#clearReauthTimer();
    // Cleared when the connection closes, so it needs no keep-alive of its own.
    this.#reauthTimer = setIoTimeout(this.#o.timers, () => {
      this.#reauthTimer = undefined;
      const conn = this.#conn;
      if (conn === undefined || this.#closed) return;
      if (this.#o.now() >= this.#reauthDue) this.#startReauth(conn);
      else this.#scheduleReauth(this.#reauthDue);
    }, Math.max(0, due - this.#o.now()));
  }

  #clearReauthTimer(): void {
    if (this.#reauthTimer === undefined) return;
    this.#o.timers.clearTimeout(this.#reauthTimer);
    this.#reauthTimer = undefined;
  }

  #startReauth(conn: Connection): void {
    if (this.#reauthing !== undefined) return;
    this.#reauthDue = Infinity;
    this.#clearReauthTimer();
    this.#reauthing = this.#reauth(conn).finally(() => {
      this.#reauthing = undefined;
    });
  }

  /**
   * Re-authenticates the live connection with a fresh token; the `AUTH` waits
   * for an open MULTI to end. On failure the connection keeps its identity
   * until the server cuts it; the re-auth is retried a minute later.
   */
  async #reauth(conn: Connection): Promise<void> {
    const provider = this.#o.auth as AuthProvider;
    let credentials: AuthCredentials | undefined;
    try {
      credentials = await getCredentials(provider, false);
      for (let refreshed = false;;) {
        if (conn.closed || this.#conn !== conn) return;
        const authAt = this.#o.now();
        try {
          await conn.sendOutsideTransaction(authCommand(credentials));
          if (this.#conn === conn) this.#authenticated(authAt);
          return;
        } catch (error) {
          if (!(error instanceof ReplyError) || error.code !== "WRONGPASS") throw error;
          if (refreshed) {
            throw authenticationError(this.#o.label, credentials.username, error, true);
          }
          refreshed = true;
          credentials = await getCredentials(provider, true);
        }
      }
    } catch (error) {
      if (conn.closed || this.#conn !== conn || this.#closed) return;
      this.report(
        error instanceof AuthenticationError || error instanceof CredentialsError
          ? error
          : new AuthenticationError(
            `Cannot re-authenticate the connection to ${this.#o.label}: ${messageOf(error)}`,
            { cause: error },
          ),
      );
      this.#scheduleReauth(this.#o.now() + Math.min(REAUTH_RETRY_DELAY, this.#o.reauthAfter));
    }
  }
}

async function getCredentials(provider: AuthProvider, fresh: boolean): Promise<AuthCredentials> {
  const credentials = fresh && provider.refresh !== undefined
    ? await provider.refresh()
    : await provider.credentials();
  if (credentials === null || typeof credentials?.password !== "string") {
    throw new TypeError(
      "Cannot authenticate: the auth provider returned no { username, password }",
    );
  }
  return credentials;
}

/** Whether a failed connection attempt is worth another try. */
function retryable(error: Error): boolean {
  return error instanceof ConnectionClosedError || error instanceof TimeoutError;
}

/** Calls the transport factory; a factory that throws gives a rejected promise. */
function openTransport(o: ResolvedOptions): Promise<Transport> {
  try {
    return o.transport({
      hostname: o.hostname,
      port: o.port,
      tls: o.tls,
      servername: o.servername,
      caCerts: o.caCerts,
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

async function closeTransport(transport: Transport): Promise<void> {
  try {
    await transport.close();
  } catch {
    // Already closed.
  }
}
