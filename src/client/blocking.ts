/**
 * Blocking commands on connections of their own. `BLPOP q 5` holds the
 * connection it is sent on until the server serves it: on the client's one
 * multiplexed connection, every command sent meanwhile would wait behind it.
 * So the client sends a blocking command (`BLPOP`, `BRPOP`, `BLMOVE`,
 * `BRPOPLPUSH`, `BZPOPMIN`, `BZPOPMAX`, `BLMPOP`, `BZMPOP`, `XREAD … BLOCK`,
 * `XREADGROUP … BLOCK`) over a small pool of dedicated connections, each a
 * {@linkcode Session} like the client's own: opened on the first blocking
 * command, authenticated with credentials valid at its own connect,
 * re-authenticated on the same schedule, reopened after it dropped, timed out
 * (the command's own timeout plus `commandTimeout`) and closed by the
 * client's `close()`.
 *
 * The rules, as node-redis's isolation pool and ioredis's `duplicate()` leave
 * them to the user, decided here once:
 *
 * - one connection per blocking command in flight, at most
 *   {@linkcode MAX_BLOCKING_CONNECTIONS}; past that, a blocking command
 *   waits for the first one to come free, at most `connectTimeout`, then
 *   fails with a `TimeoutError` (a busy connection answers only when served:
 *   queueing behind it on the server would wait without bound);
 * - a connection with nothing to do for {@linkcode BLOCKING_IDLE_CLOSE} ms is
 *   closed;
 * - they stay on the client's connection: a blocking command between `MULTI`
 *   and `EXEC` (the server queues it, and `EXEC` runs it without blocking),
 *   in a pipeline or transaction, one that does not block (`XREAD` without
 *   `BLOCK`), and `WAIT`/`WAITAOF`, which wait for the writes of the
 *   connection they are sent on;
 * - a dedicated connection is set up as the client's is: protocol, TLS,
 *   credentials, `READONLY` for a reader's, and the database and client name
 *   the client's connection has now (its `SELECT` or `CLIENT SETNAME` that
 *   succeeded, sent ahead of the blocking command when they changed).
 *
 * @module
 */

import { ConnectionClosedError, ReplyError, TimeoutError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import {
  BLOCKING,
  blockingTimeout,
  CLOSES_TRANSACTION,
  commandName,
  commandRule,
  connectionSetting,
  OPENS_TRANSACTION,
  SETS_CONNECTION,
  waitsForOwnWrites,
} from "./command_rules.ts";
import type { Parser } from "./connection.ts";
import { Session } from "./session.ts";

/**
 * How many blocking commands one client (one node of a cluster client) runs
 * at once, each on a connection of its own.
 */
export const MAX_BLOCKING_CONNECTIONS = 16;

/** After how long without a blocking command a dedicated connection is closed, in ms. */
export const BLOCKING_IDLE_CLOSE = 30_000;

/** A blocking command waiting for a connection to come free. */
interface Waiter {
  take(session: Session): void;
  fail(error: Error): void;
}

/**
 * The client's blocking connections, and the rule that sends a command to
 * them or to the client's own connection. The client hands it every command
 * whose rule (`commandRule`) is not `PLAIN`.
 *
 * @example A blocking command runs on its own connection, lazily opened
 * ```ts
 * import { BlockingConnections } from "./blocking.ts";
 * import { resolveOptions } from "./options.ts";
 * import { Session } from "./session.ts";
 * import { denoTransport } from "../transport/deno.ts";
 *
 * const session = new Session(resolveOptions({ host: "127.0.0.1", transport: denoTransport }));
 * const blocking = new BlockingConnections(session);
 * console.log(blocking.open, blocking.busy); // 0 0: nothing opened before a blocking command
 * await Promise.all([blocking.close(), session.close()]);
 * ```
 */
export class BlockingConnections {
  readonly #main: Session;
  readonly #max: number;
  /** Every dedicated connection's session. */
  readonly #all = new Set<Session>();
  /** The ones free, the most recently used last (it is taken first; the others idle out). */
  readonly #free: Session[] = [];
  /** Each free one's idle timer. */
  readonly #idle = new Map<Session, unknown>();
  #waiters: Waiter[] = [];
  /** `MULTI`s sent on the client's connection and not yet answered. */
  #opening = 0;
  #closed = false;

  /**
   * @param main The client's session: where everything else goes, and what the dedicated ones copy.
   * @param max How many dedicated connections at most.
   */
  constructor(main: Session, max = MAX_BLOCKING_CONNECTIONS) {
    this.#main = main;
    this.#max = max;
  }

  /** How many dedicated connections exist (connected or not). */
  get open(): number {
    return this.#all.size;
  }

  /** How many run a blocking command now. */
  get busy(): number {
    return this.#all.size - this.#free.length;
  }

  /**
   * Sends a command whose rule is not `PLAIN`: a blocking one over a
   * dedicated connection, when it may go there; anything else over
   * `session`, noting what the client's connections must follow (an open
   * transaction, a `SELECT` or `CLIENT SETNAME` that succeeded).
   *
   * @param rule The command's rule (`commandRule`).
   * @param args The command.
   * @param parse Applied to a successful reply.
   * @param bytes Decode bulk strings as `Uint8Array`.
   * @param session Where the client would send it.
   * @returns The parsed reply.
   */
  send<T>(
    rule: number,
    args: readonly CommandArg[],
    parse: Parser<T> | undefined,
    bytes: boolean,
    session: Session,
  ): Promise<T> {
    if (rule === BLOCKING) {
      if (
        session === this.#main && !this.#inTransaction() && !waitsForOwnWrites(args) &&
        blockingTimeout(args) > 0
      ) {
        return this.#block(args, parse, bytes);
      }
    } else if (rule === OPENS_TRANSACTION) {
      // Until the server answers, the transaction is open as far as routing goes.
      this.#opening++;
      const reply = session.run(args, parse, bytes);
      const done = () => void this.#opening--;
      reply.then(done, done);
      return reply;
    } else if (rule === SETS_CONNECTION && !this.#inTransaction()) {
      const reply = session.run(args, parse, bytes);
      // Recorded before the caller sees the reply: its next command is set up with it.
      reply.then(() => session.remember(connectionSetting(args)), () => {});
      return reply;
    }
    return session.run(args, parse, bytes);
  }

  /**
   * Sends a pipeline or transaction over the client's connection (a blocking
   * command in it stays there), noting the `SELECT` and `CLIENT SETNAME` in
   * it that succeeded: outside `MULTI` by their own reply, inside by their
   * place in `EXEC`'s.
   *
   * @param commands The commands.
   * @param bytes Per command, decode bulk strings as `Uint8Array`.
   * @returns One reply per command; error replies stay in the array.
   */
  batch(
    commands: readonly (readonly CommandArg[])[],
    bytes?: boolean | readonly boolean[],
  ): Promise<RespValue[]> {
    const main = this.#main;
    if (this.#inTransaction() || !commands.some((c) => commandRule(c) === SETS_CONNECTION)) {
      return main.batch(commands, bytes);
    }
    const replies = main.batch(commands, bytes);
    replies.then((values) => this.#follow(commands, values), () => {});
    return replies;
  }

  /** Records what the `SELECT` and `CLIENT SETNAME` of a batch set, once the server ran them. */
  #follow(commands: readonly (readonly CommandArg[])[], replies: RespValue[]): void {
    /** Inside `MULTI`: per queued command, what it sets if it succeeds. */
    let queued: ReturnType<typeof connectionSetting>[] | undefined;
    for (let i = 0; i < commands.length; i++) {
      const args = commands[i]!;
      const rule = commandRule(args);
      if (queued === undefined) {
        if (rule === OPENS_TRANSACTION && !(replies[i] instanceof ReplyError)) queued = [];
        else if (rule === SETS_CONNECTION && replies[i] === "OK") {
          this.#main.remember(connectionSetting(args));
        }
      } else if (rule === CLOSES_TRANSACTION) {
        const results = replies[i];
        // EXEC's array: one result per queued command (DISCARD, an aborted EXEC: none ran).
        if (Array.isArray(results) && results.length === queued.length) {
          queued.forEach((setting, j) => {
            if (setting !== undefined && results[j] === "OK") this.#main.remember(setting);
          });
        }
        queued = undefined;
      } else {
        queued.push(rule === SETS_CONNECTION ? connectionSetting(args) : undefined);
      }
    }
  }

  /**
   * Closes every dedicated connection at once: a blocking command in flight
   * fails with a `ConnectionClosedError` (the server, seeing the connection
   * close, serves it to no one), as does one waiting for a connection.
   *
   * @returns Resolves when every socket is closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.fail(this.#closedError());
    const timers = this.#main.options.timers;
    for (const handle of this.#idle.values()) timers.clearTimeout(handle);
    this.#idle.clear();
    this.#free.length = 0;
    const sessions = [...this.#all];
    this.#all.clear();
    await Promise.all(sessions.map((session) => session.close(true)));
  }

  #inTransaction(): boolean {
    return this.#opening > 0 || this.#main.inTransaction;
  }

  async #block<T>(
    args: readonly CommandArg[],
    parse: Parser<T> | undefined,
    bytes: boolean,
  ): Promise<T> {
    const session = await this.#take(args);
    try {
      return await this.#run(session, args, parse, bytes);
    } finally {
      this.#give(session);
    }
  }

  /** Runs the command, after the `SELECT` / `CLIENT SETNAME` that set the connection up as the client's. */
  async #run<T>(
    session: Session,
    args: readonly CommandArg[],
    parse: Parser<T> | undefined,
    bytes: boolean,
  ): Promise<T> {
    const main = this.#main;
    const setup: CommandArg[][] = [];
    if ((session.db ?? 0) !== (main.db ?? 0)) setup.push(["SELECT", main.db ?? 0]);
    if (main.clientName !== undefined && session.clientName !== main.clientName) {
      setup.push(["CLIENT", "SETNAME", main.clientName]);
    }
    if (setup.length === 0) return await session.run(args, parse, bytes);
    const replies = await session.batch([...setup, args], [...setup.map(() => false), bytes]);
    for (let i = 0; i < setup.length; i++) {
      const reply = replies[i];
      if (reply instanceof ReplyError) {
        throw new ReplyError(
          `${reply.message} (cannot set the blocking connection up as the client's: ${
            setup[i]![0]
          } failed)`,
          { cause: reply },
        );
      }
      session.remember(connectionSetting(setup[i]!));
    }
    const reply = replies[setup.length] as RespValue;
    if (reply instanceof ReplyError) throw reply;
    return parse === undefined ? reply as T : parse(reply);
  }

  /** A free dedicated connection, a new one under the cap, or the first to come free. */
  #take(args: readonly CommandArg[]): Promise<Session> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const free = this.#free.pop();
    if (free !== undefined) {
      this.#main.options.timers.clearTimeout(this.#idle.get(free));
      this.#idle.delete(free);
      return Promise.resolve(free);
    }
    if (this.#all.size < this.#max) {
      const o = this.#main.options;
      const session = new Session({
        ...o,
        db: this.#main.db,
        clientName: this.#main.clientName,
        label: `${o.label} (blocking connection)`,
        reader: undefined,
        // Without reconnects (a cluster's node: the cluster decides), one attempt per command.
        reconnect: o.reconnect === false ? { attempts: 1, minDelay: 0, maxDelay: 0 } : o.reconnect,
      });
      this.#all.add(session);
      return Promise.resolve(session);
    }
    const { timers, connectTimeout, label } = this.#main.options;
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter = {
        take: (session) => {
          timers.clearTimeout(timer);
          resolve(session);
        },
        fail: (error) => {
          timers.clearTimeout(timer);
          reject(error);
        },
      };
      const timer = timers.setTimeout(() => {
        this.#waiters = this.#waiters.filter((other) => other !== waiter);
        reject(
          new TimeoutError(
            `Cannot send ${commandName(args)} to ${label}: all ${this.#max} blocking connections ` +
              `stayed busy for ${connectTimeout} ms (connectTimeout); each blocking command holds ` +
              `one until the server serves it: run fewer at once, or give them shorter timeouts`,
          ),
        );
      }, connectTimeout);
      this.#waiters.push(waiter);
    });
  }

  /** A blocking command is done with its connection: the next waiter takes it, or it idles. */
  #give(session: Session): void {
    if (this.#closed || !this.#all.has(session)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) return waiter.take(session);
    this.#free.push(session);
    const timers = this.#main.options.timers;
    const handle = timers.setTimeout(() => {
      this.#idle.delete(session);
      const at = this.#free.indexOf(session);
      if (at !== -1) this.#free.splice(at, 1);
      this.#all.delete(session);
      session.close().catch(() => {});
    }, BLOCKING_IDLE_CLOSE);
    // Background work: an idle connection does not keep the process alive for this timer.
    timers.unref?.(handle);
    this.#idle.set(session, handle);
  }

  #closedError(): ConnectionClosedError {
    return new ConnectionClosedError(
      `Cannot send command to ${this.#main.options.label}: the client is closed`,
    );
  }
}
