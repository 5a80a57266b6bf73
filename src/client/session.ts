/**
 * The connection's life: opening it (socket, TLS, handshake with credentials
 * that are valid now), checking it on each command (a re-authentication that
 * is due starts; a connection past the server's 12-hour cut is replaced), and
 * reopening it lazily with jittered backoff after it dropped. The
 * authentication itself (the fresh-token retry after `WRONGPASS`, the
 * re-authentication schedule, its retries) is the shared lifecycle in
 * `src/auth/`. Commands go through `run`/`batch`.
 *
 * @module
 */

import { ConnectionAuth, isAuthProvider, type Reauthentication } from "../auth/connection_auth.ts";
import { authenticationError } from "../auth/refusal.ts";
import type { AuthCredentials } from "../auth/types.ts";
import { ConnectionClosedError, ProtocolError, raiseUncaught, TimeoutError } from "../errors.ts";
import { warmUpDecoder } from "../cold_start.ts";
import { RespDecoder } from "../resp/decoder.ts";
import type { CommandArg, Push, RespValue } from "../resp/types.ts";
import type { Transport } from "../transport/types.ts";
import { Connection, messageOf, type Parser } from "./connection.ts";
import { authCommand, CredentialsRefused, handshake, prepareHandshake } from "./handshake.ts";
import type { ResolvedOptions } from "./options.ts";
import { abortable, backoffDelay, setIoTimeout, sleep } from "./timers.ts";
import { TracedCommand } from "../observe/command_context.ts";
import type { ConnectionClosedEvent } from "../observe/events.ts";
import {
  lookUpDiagnosticsChannel,
  publish,
  traceCommand,
  tracingCommands,
} from "../observe/hub.ts";

/** A decoder complaint about the first byte of a TLS record (0x15 alert, 0x16 handshake). */
const TLS_RECORD = /unknown type byte 0x1[56]\b/;

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
  /** The authentication lifecycle, when `auth` is a provider. */
  readonly #auth: ConnectionAuth | undefined;
  /** Aborted by `close()`: ends a backoff pause and a connect attempt at once. */
  readonly #stop = new AbortController();
  #conn: Connection | undefined;
  /** The current connection's re-authentication schedule. */
  #live: Reauthentication | undefined;
  #connecting: Promise<void> | undefined;
  #waiters: Waiter[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The pause before reopening a connection that subscriptions wait for. */
  #reopenTimer: unknown;
  /** Whether a connection was ready once: opening another is a reconnect. */
  #wasConnected = false;
  /** Why the last connection closed, for the reconnect event. */
  #lastClose: Error | undefined;
  /** The connection being closed at the server's 12-hour cut. */
  #cutting: Connection | undefined;
  /** The database new connections select: `db`, then the last `SELECT` that succeeded. */
  #db: number | undefined;
  /** The name new connections set: `clientName`, then the last `CLIENT SETNAME` that succeeded. */
  #clientName: string | undefined;

  /**
   * @param options The resolved client options.
   * @param hooks The pub/sub layer's hooks.
   */
  constructor(options: ResolvedOptions, hooks?: SessionHooks) {
    this.#o = options;
    this.#hooks = hooks;
    this.#db = options.db;
    this.#clientName = options.clientName;
    const auth = options.auth;
    if (auth !== undefined && isAuthProvider(auth)) {
      this.#auth = new ConnectionAuth({
        provider: auth,
        reauthAfter: options.reauthAfter,
        label: options.label,
        timers: options.timers,
        now: options.now,
        onError: options.onError,
      });
    }
    lookUpDiagnosticsChannel();
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

  /** Whether a `MULTI` was written on the current connection and its `EXEC`/`DISCARD` not yet. */
  get inTransaction(): boolean {
    return this.#conn?.inTransaction === true;
  }

  /** The database the connection is on, and that a new one selects (`undefined`: 0). */
  get db(): number | undefined {
    return this.#db;
  }

  /** The connection's name, and the one a new connection sets. */
  get clientName(): string | undefined {
    return this.#clientName;
  }

  /**
   * Records a `SELECT` or `CLIENT SETNAME` the server accepted on the
   * connection outside a transaction: a new connection (after a reconnect)
   * is set up the same way.
   *
   * @param setting What the command set, from `connectionSetting()`.
   */
  remember(setting: { db: number } | { clientName: string } | undefined): void {
    if (setting === undefined) return;
    if ("db" in setting) this.#db = setting.db;
    else this.#clientName = setting.clientName;
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
    if (tracingCommands()) {
      return traceCommand(new TracedCommand(args, this.#o), () => this.#run(args, parse, bytes));
    }
    return this.#run(args, parse, bytes);
  }

  #run<T>(args: readonly CommandArg[], parse: Parser<T> | undefined, bytes: boolean): Promise<T> {
    const current = this.#usable();
    if (current instanceof Connection) return current.send(args, parse, bytes);
    if (current !== undefined) return Promise.reject(current);
    return this.#whenConnected((c) => c.send(args, parse, bytes));
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
    if (tracingCommands()) {
      return traceCommand(
        new TracedCommand(commands[0] ?? [], this.#o, commands.length),
        () => this.use((c) => c.sendBatch(commands, bytes)),
      );
    }
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
    const current = this.#usable();
    if (current instanceof Connection) return fn(current);
    if (current !== undefined) return Promise.reject(current);
    return this.#whenConnected(fn);
  }

  /**
   * The current connection if it may take a command. A re-authentication
   * that is due starts (its timer may be late after a freeze). A connection
   * past the server's 12-hour cut is closed: when a failed re-authentication
   * led there, that failure is returned for the command to fail with;
   * otherwise (re-authentication off, or a process frozen past the cut) the
   * command goes to a new connection.
   */
  #usable(): Connection | Error | undefined {
    const conn = this.#conn;
    const live = this.#live;
    if (conn === undefined || live === undefined) return conn;
    const now = this.#o.now();
    if (now < live.nextCheck) return conn;
    const expired = live.check(now);
    if (expired === undefined) return conn;
    this.#cutting = conn;
    conn.destroy(expired);
    return expired.cause !== undefined ? expired : undefined;
  }

  #whenConnected<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
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
   * already sent (as long as replies keep coming), closes the socket.
   * Commands waiting for a connection, and a connect attempt under way (even
   * one waiting on a stalled credentials source), fail at once.
   *
   * @param abandon Fail the commands already sent at once, without waiting
   *   for their replies (a blocking connection's command is answered only
   *   when served).
   * @returns Resolves when everything is released.
   */
  close(abandon = false): Promise<void> {
    this.#closing ??= this.#close(abandon);
    return this.#closing;
  }

  async #close(abandon: boolean): Promise<void> {
    this.#closed = true;
    const closedError = new ConnectionClosedError(
      `Cannot send command to ${this.#o.label}: the client is closed`,
    );
    this.#stop.abort(closedError);
    if (this.#reopenTimer !== undefined) this.#o.timers.clearTimeout(this.#reopenTimer);
    await this.#connecting?.catch(() => {});
    this.#failWaiters(closedError);
    const conn = this.#conn;
    this.#conn = undefined;
    this.#live?.end();
    this.#live = undefined;
    if (abandon) {
      await conn?.destroy(
        new ConnectionClosedError(`Connection to ${this.#o.label} closed by the client`),
      );
    } else {
      await conn?.close();
    }
    if (conn !== undefined) {
      publish({
        type: "connection:closed",
        server: this.#o.label,
        reason: "client",
        error: undefined,
      });
    }
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
    for (let attempt = 0; attempt < attempts && !this.#closed; attempt++) {
      const server = this.#o.label;
      if (attempt > 0 || this.#wasConnected) {
        const { minDelay, maxDelay } = this.#o.reconnect || { minDelay: 0, maxDelay: 0 };
        const delay = attempt > 0 ? backoffDelay(attempt - 1, minDelay, maxDelay) : 0;
        publish({
          type: "reconnect:scheduled",
          server,
          attempt: attempt + 1,
          delayMs: delay,
          reason: failure ?? this.#lastClose,
        });
        if (attempt > 0) await sleep(this.#o.timers, delay, this.#stop.signal);
        if (this.#closed) break;
      }
      publish({ type: "connection:connect", server, attempt: attempt + 1 });
      try {
        const [conn, live] = await this.#open();
        if (this.#closed || conn.closed) {
          // Closed by the client meanwhile, or by the server right after the
          // handshake (a FIN, or a frame no command asked for): not ready.
          live?.end();
          if (this.#closed) {
            await conn.close();
            break;
          }
          failure = conn.closeReason!;
          if (!retryable(failure)) break;
          continue;
        }
        this.#ready(conn, live);
        if (this.#wasConnected || attempt > 0) {
          publish({ type: "reconnect:succeeded", server, attempts: attempt + 1 });
        }
        this.#wasConnected = true;
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

  #ready(conn: Connection, live: Reauthentication | undefined): void {
    this.#conn = conn;
    this.#live = live;
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

  /** One connection attempt, bounded by `connectTimeout` and ended at once by `close()`. */
  async #open(): Promise<[Connection, Reauthentication | undefined]> {
    const o = this.#o;
    const controller = new AbortController();
    // The attempt starts before its timer is armed, so the socket (and, on
    // Deno, the TLS library's start-up) does not wait for the timer's first
    // set-up, about 0.5 ms on a cold start.
    const attempt = this.#establish(controller.signal);
    attempt.catch(() => {});
    const timer = setIoTimeout(
      o.timers,
      () =>
        controller.abort(
          new TimeoutError(
            `Cannot connect to ${o.label}: no ready connection after ${o.connectTimeout} ms`,
          ),
        ),
      o.connectTimeout,
    );
    const stop = this.#stop.signal;
    const onStop = () => controller.abort(stop.reason);
    stop.addEventListener("abort", onStop, { once: true });
    try {
      return await abortable(attempt, controller.signal);
    } finally {
      o.timers.clearTimeout(timer);
      stop.removeEventListener("abort", onStop);
    }
  }

  /**
   * Opens a socket and runs the handshake on it. Every wait ends when
   * `signal` aborts; the socket is then closed, even one still opening.
   */
  async #establish(signal: AbortSignal): Promise<[Connection, Reauthentication | undefined]> {
    // Set up as the last connection was: its SELECT and CLIENT SETNAME, if any.
    const o = this.#db === this.#o.db && this.#clientName === this.#o.clientName
      ? this.#o
      : { ...this.#o, db: this.#db, clientName: this.#clientName };
    const auth = this.#auth;
    const pending: Promise<AuthCredentials | undefined> = auth !== undefined
      ? auth.handshakeCredentials()
      : Promise.resolve(o.auth as AuthCredentials | undefined);
    // While the provider keeps failing, no socket is opened for nothing.
    if (auth?.failing) await abortable(pending, signal);
    // Otherwise the socket opens at once, so that minting a token, and encoding
    // the handshake with it, run while its TCP and TLS handshakes are under way.
    const opening = openTransport(o);
    opening.catch(() => {});
    const preparing = pending.then((credentials) => ({
      credentials,
      prepared: prepareHandshake(credentials, o),
    }));
    preparing.catch(() => {});
    warmUpDecoder(() => new RespDecoder());
    let transport: Transport;
    try {
      transport = await abortable(opening, signal);
    } catch (error) {
      if (signal.aborted) {
        opening.then(closeTransport, () => {});
        throw signal.reason;
      }
      if (error instanceof TypeError) throw error;
      throw new ConnectionClosedError(`Cannot connect to ${o.label}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const conn: Connection = new Connection(transport, {
      label: o.label,
      commandTimeout: o.commandTimeout,
      replyLimits: o.replyLimits,
      now: o.now,
      timers: o.timers,
      onPush: (push) => this.#onPush(push),
      onClose: (error) => this.#onClose(conn, error),
      // The server's own 12-hour cut after failed re-authentications: keep the failure.
      closeCause: () => this.#conn === conn ? this.#live?.failure : undefined,
    });
    const abort = () => conn.destroy(signal.reason as Error);
    signal.addEventListener("abort", abort, { once: true });
    try {
      let { credentials, prepared } = await abortable(preparing, signal);
      for (;;) {
        const authAt = o.now();
        try {
          await handshake(conn, prepared, o);
          const live = auth?.authenticated(
            authAt,
            (fresh) => conn.sendOutsideTransaction(authCommand(fresh)),
          );
          // A provider's acceptance is told by ConnectionAuth; static credentials (or none) here.
          if (auth === undefined) {
            publish({ type: "auth:accepted", server: o.label, user: credentials?.username });
          }
          return [conn, live];
        } catch (error) {
          if (!(error instanceof CredentialsRefused)) throw error;
          if (auth === undefined) {
            const refused = authenticationError(o.label, credentials?.username, error.reply, false);
            publish({
              type: "auth:refused",
              server: o.label,
              user: credentials?.username,
              code: error.reply.code,
              retrying: false,
              error: refused,
            });
            throw refused;
          }
          const final = auth.handshakeRefused(error.reply);
          if (final !== undefined) throw final;
          if (conn.closed) {
            // The server hung up after refusing: the fresh token goes on a new socket.
            signal.removeEventListener("abort", abort);
            return await this.#establish(signal);
          }
          credentials = await abortable(auth.handshakeCredentials(), signal);
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

  #onClose(conn: Connection, error: Error): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    this.#lastClose = error;
    publish({
      type: "connection:closed",
      server: this.#o.label,
      reason: this.#closeReason(conn, error),
      error,
    });
    this.#live?.end();
    this.#live = undefined;
    if (!this.#closed && this.#hooks?.needsConnection() === true) this.#reopen();
  }

  /** Why a ready connection closed, in one word. */
  #closeReason(conn: Connection, error: Error): ConnectionClosedEvent["reason"] {
    if (this.#closed) return "client";
    if (this.#cutting === conn) {
      this.#cutting = undefined;
      return "cut";
    }
    if (conn.closedByServer) return "server";
    if (error instanceof ProtocolError) return "protocol";
    if (error.cause instanceof TimeoutError) return "timeout";
    return "error";
  }

  /** Reopens a connection that something (a subscription) depends on. */
  #reopen(): void {
    const waiter: Waiter = {
      go: () => {},
      fail: (error) => {
        this.report(error);
        if (this.#closed || this.#hooks?.needsConnection() !== true) return;
        const handle = this.#o.timers.setTimeout(() => {
          this.#reopenTimer = undefined;
          if (!this.#closed && this.#conn === undefined) this.#reopen();
        }, this.#o.reconnect === false ? 1000 : this.#o.reconnect.maxDelay);
        this.#o.timers.unref?.(handle);
        this.#reopenTimer = handle;
      },
    };
    if (this.#o.reconnect === false) return;
    this.#waiters.push(waiter);
    this.#startConnecting(this.#o.reconnect.attempts);
  }

  /**
   * Hands a failure no caller awaits (a subscription listener that threw, a
   * subscription that could not be restored) to `onError`. Without it, the
   * failure is not dropped: a connection failure surfaces in the commands it
   * breaks, and anything else goes to the runtime's uncaught-error path
   * (`reportError`), as an exception thrown by an event listener does.
   *
   * @param error The failure.
   */
  report(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    const onError = this.#o.onError;
    if (onError === undefined) {
      if (!(failure instanceof ConnectionClosedError || failure instanceof TimeoutError)) {
        raiseUncaught(failure);
      }
      return;
    }
    try {
      onError(failure);
    } catch (handlerFailure) {
      raiseUncaught(handlerFailure);
    }
  }
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
