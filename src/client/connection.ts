/**
 * One connection's I/O: writes commands coalesced into one socket write per
 * tick, matches replies to commands in order, routes RESP3 push frames, and
 * fails every command still waiting when the socket dies. It knows nothing of
 * authentication or reconnection (see `session.ts`).
 *
 * @module
 */

import { ConnectionClosedError, ProtocolError, ReplyError, TimeoutError } from "../errors.ts";
import { encodeCommandsView, encodeCommandView } from "../resp/encoder.ts";
import { type DecoderLimits, type ReadOptions, RespDecoder } from "../resp/decoder.ts";
import { type CommandArg, Push, type RespValue } from "../resp/types.ts";
import type { Transport } from "../transport/types.ts";
import {
  BLOCKING,
  blockingTimeout,
  CLOSES_TRANSACTION,
  commandRule,
  OPENS_TRANSACTION,
  PLAIN,
  REFUSED,
  refusedCommandError,
} from "./command_rules.ts";
import { replyKind } from "./replies.ts";
import { setIoTimeout, type Timers } from "./timers.ts";

/** Turns a successful reply into the value a command method returns. */
export type Parser<T = unknown> = (value: RespValue) => T;

/** Callbacks and limits of a {@linkcode Connection}. */
export interface ConnectionOptions {
  /** `host:port`, for error messages. */
  label: string;
  /**
   * Fail a command (and close the connection) when its reply takes longer,
   * in ms; a blocking command gets its own timeout on top. `undefined`: no limit.
   */
  commandTimeout?: number | undefined;
  /** The clock, for `commandTimeout` when the timers have no steady clock of their own. */
  now: () => number;
  /** Timers for `commandTimeout`. */
  timers: Timers;
  /** What a reply may decode to; past a limit the connection closes with a `ProtocolError`. */
  replyLimits?: DecoderLimits | undefined;
  /** Receives push frames that answer no command (pub/sub messages, invalidations). */
  onPush?: ((push: Push) => void) | undefined;
  /** Called once, when the connection has closed, with the reason. */
  onClose?: ((error: Error) => void) | undefined;
  /**
   * When the server closes the connection: what may have led to it, for the
   * `cause` of the error the waiting commands get (a failed re-authentication
   * before the server's 12-hour cut).
   */
  closeCause?: (() => Error | undefined) | undefined;
}

const SINGLE = 0;
const BATCH = 1;
const SUBSCRIBE = 2;

const BYTES = { bytes: true } as const;
/** The read buffer of the fast path; the decoder copies what it keeps. */
const READ_BUFFER_SIZE = 64 * 1024;
/**
 * How long `close()` waits for the next reply of a command already sent, in
 * ms: it waits as long as replies keep coming, and gives up on a server that
 * went silent.
 */
const CLOSE_PATIENCE = 1000;
/** Compact the reply queue once this many settled slots sit before its head. */
const COMPACT_AT = 4096;
const SUBSCRIBE_KINDS = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
]);

/** A command (or a batch of them) waiting for its replies. */
class Slot {
  /** A batch's replies, filled in order (`remaining` counts the unfilled places at the end). */
  values: RespValue[] | undefined = undefined;
  /** A batch's replies' estimated decoded size so far, bounded like one reply's. */
  held = 0;
  /** Whether this is a `MULTI`: refused, it opens no transaction. */
  opensTransaction = false;
  constructor(
    readonly kind: number,
    public remaining: number,
    readonly bytes: boolean | readonly boolean[],
    readonly parse: Parser | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    readonly sentAt: number,
    /** When the command times out on its own: `sentAt` + the timeout (+ its blocking time). */
    readonly own: number,
    /**
     * When it times out, on the steady clock: never before the one ahead of
     * it, which the server answers first. `Infinity` behind a command that
     * blocks until served; set again when the slot reaches the head.
     */
    public deadline: number,
  ) {}
}

/**
 * A live connection over a {@linkcode Transport}. Commands are encoded at once
 * and written together at the end of the tick; replies settle their commands
 * in order.
 */
export class Connection {
  readonly #transport: Transport;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #decoder: RespDecoder;
  readonly #options: ConnectionOptions;
  readonly #readDone: Promise<void>;

  #slots: (Slot | undefined)[] = [];
  #head = 0;
  #outbox: Uint8Array[] = [];
  #outBytes = 0;
  #flushQueued = false;
  /** Whether a write is on its way to the socket; the next one waits and takes everything queued. */
  #writing = false;
  #closed: Error | undefined;
  /** Whether the server closed it. */
  #byServer = false;
  #idle: (() => void) | undefined;

  #inTransaction = false;
  #deferred: {
    args: CommandArg[];
    resolve: (value: RespValue) => void;
    reject: (error: Error) => void;
  }[] = [];
  #timer: unknown;
  /** The time taken once per tick for the commands written in it (`commandTimeout` only). */
  #tickTime = 0;
  /** When the armed command timer fires, on the steady clock; `Infinity` when none is armed. */
  #timerAt = Infinity;
  /** The steady clock durations are measured on: the timers' own, else the client's clock. */
  readonly #elapsed: () => number;
  /** The deadline of the last command queued: deadlines never decrease along the queue. */
  #lastDeadline = 0;
  /** Extra reply time of the command being queued, when it blocks on the server. */
  #blocking = 0;
  /** How many commands (or batches) have had their replies: `close()` watches it for progress. */
  #replies = 0;

  /**
   * Starts reading from the transport.
   *
   * @param transport A connected transport; the connection owns it from now on.
   * @param options Callbacks and limits.
   */
  constructor(transport: Transport, options: ConnectionOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#decoder = new RespDecoder(options.replyLimits);
    const timers = options.timers;
    this.#elapsed = timers.now !== undefined ? () => timers.now!() : options.now;
    if (transport.write === undefined) {
      this.#writer = transport.writable.getWriter();
      this.#writer.closed.catch(() => {});
    }
    this.#readDone = transport.listen === undefined ? this.#readLoop() : this.#listen(transport);
  }

  /** Whether the connection has closed (or failed). */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Why the connection closed; `undefined` while it is open. */
  get closeReason(): Error | undefined {
    return this.#closed;
  }

  /** How many commands (or batches) wait for replies. */
  get pending(): number {
    return this.#slots.length - this.#head;
  }

  /** Whether a `MULTI` was written and its `EXEC`/`DISCARD` not yet. */
  get inTransaction(): boolean {
    return this.#inTransaction;
  }

  /**
   * Sends one command.
   *
   * @param args The command and its arguments.
   * @param parse Applied to a successful reply before the promise resolves.
   * @param bytes Decode bulk strings of the reply as `Uint8Array`.
   * @returns The parsed reply; an error reply rejects as a `ReplyError`.
   */
  send<T = RespValue>(
    args: readonly CommandArg[],
    parse?: Parser<T>,
    bytes = false,
  ): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const rule = commandRule(args);
    if (rule === REFUSED) return Promise.reject(refusedCommandError(args));
    let data: Uint8Array;
    try {
      data = encodeCommandView(args);
    } catch (error) {
      return Promise.reject(error);
    }
    // Only a command that is written changes what the connection tracks.
    if (rule !== PLAIN) this.#apply(rule, args);
    return new Promise<T>((resolve, reject) => {
      const slot = this.#push(SINGLE, 1, bytes, parse, resolve as (v: unknown) => void, reject);
      slot.opensTransaction = rule === OPENS_TRANSACTION;
      this.#write(data);
    });
  }

  /**
   * Sends several commands in one write and collects their replies. Error
   * replies stay in the array as `ReplyError` values.
   *
   * @param commands The commands, in order.
   * @param bytes Per command: decode its reply's bulk strings as `Uint8Array`.
   * @returns One reply per command.
   */
  sendBatch(
    commands: readonly (readonly CommandArg[])[],
    bytes: boolean | readonly boolean[] = false,
  ): Promise<RespValue[]> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (commands.length === 0) return Promise.resolve([]);
    // One look at each name; only a batch with a special command is tracked
    // command by command, after every command of it passed the refusal check.
    let special = false;
    for (let i = 0; i < commands.length; i++) {
      const rule = commandRule(commands[i]!);
      if (rule === PLAIN) continue;
      if (rule === REFUSED) {
        return Promise.reject(refusedCommandError(commands[i]!));
      }
      special = true;
    }
    let data: Uint8Array;
    try {
      data = encodeCommandsView(commands);
    } catch (error) {
      return Promise.reject(error);
    }
    let blocking = 0;
    if (special) {
      for (const args of commands) {
        const rule = commandRule(args);
        if (rule === PLAIN) continue;
        this.#apply(rule, args);
        if (this.#blocking > blocking) blocking = this.#blocking;
      }
    }
    this.#blocking = blocking;
    return this.#sendBatch(data, commands.length, bytes);
  }

  /**
   * Sends commands encoded beforehand (by the encoder) and collects their
   * replies, as {@linkcode Connection.sendBatch} does. For commands that
   * open or close no transaction (the handshake).
   *
   * @param data The commands' bytes.
   * @param count How many commands they hold.
   * @returns One reply per command.
   */
  sendEncoded(data: Uint8Array, count: number): Promise<RespValue[]> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return this.#sendBatch(data, count, false);
  }

  #sendBatch(
    data: Uint8Array,
    count: number,
    bytes: boolean | readonly boolean[],
  ): Promise<RespValue[]> {
    return new Promise<RespValue[]>((resolve, reject) => {
      const slot = this.#push(
        BATCH,
        count,
        bytes,
        undefined,
        resolve as (v: unknown) => void,
        reject,
      );
      slot.values = new Array<RespValue>(count);
      this.#write(data);
    });
  }

  /**
   * Sends a RESP3 `SUBSCRIBE`-family command, which the server confirms with
   * one push frame per channel instead of a reply.
   *
   * @param args The command, such as `["SUBSCRIBE", "a", "b"]`.
   * @param confirmations How many confirmation frames to wait for.
   * @returns Resolves once every confirmation arrived.
   */
  subscribe(args: readonly CommandArg[], confirmations: number): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    let data: Uint8Array;
    try {
      data = encodeCommandView(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.#push(
        SUBSCRIBE,
        confirmations,
        false,
        undefined,
        resolve as (v: unknown) => void,
        reject,
      );
      this.#write(data);
    });
  }

  /**
   * Sends a command now, or, while a `MULTI` is open on the stream, right
   * after the `EXEC` or `DISCARD` that closes it. Used for re-authentication,
   * which ElastiCache refuses inside a transaction.
   *
   * @param args The command.
   * @returns Its reply (error replies reject).
   */
  sendOutsideTransaction(args: CommandArg[]): Promise<RespValue> {
    if (!this.#inTransaction) return this.send(args);
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => this.#deferred.push({ args, resolve, reject }));
  }

  /**
   * Closes the connection once every command sent so far has its reply. It
   * waits as long as replies keep arriving; when none came for a second, the
   * commands still waiting fail with a `ConnectionClosedError`.
   *
   * @returns Resolves when the socket is closed and reading has stopped.
   */
  async close(): Promise<void> {
    if (this.#closed === undefined && this.pending > 0) {
      const timers = this.#options.timers;
      let timer: unknown;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        let seen = this.#replies;
        const wait = () => {
          timer = setIoTimeout(timers, () => {
            if (this.#replies === seen) return resolve();
            seen = this.#replies;
            wait();
          }, CLOSE_PATIENCE);
        };
        wait();
      });
      timers.clearTimeout(timer);
    }
    this.destroy(
      new ConnectionClosedError(`Connection to ${this.#options.label} closed by the client`),
    );
    await this.#readDone;
  }

  /**
   * Closes the connection at once; commands still waiting fail with `error`.
   *
   * @param error Why, as the waiting commands will see it.
   * @returns Resolves when reading has stopped.
   */
  destroy(error: Error): Promise<void> {
    this.#fail(error);
    return this.#readDone;
  }

  /**
   * Follows what a command being written changes: MULTI/EXEC/DISCARD in the
   * written stream, and how long a blocking command may hold its reply (in
   * `#blocking`, for the slot pushed next).
   */
  #apply(rule: number, args: readonly CommandArg[]): void {
    this.#blocking = 0;
    if (rule === OPENS_TRANSACTION) {
      this.#inTransaction = true;
    } else if (rule === CLOSES_TRANSACTION) {
      this.#transactionEnded();
    } else if (rule === BLOCKING) {
      // Queued inside MULTI, it does not block: EXEC runs it without waiting.
      if (!this.#inTransaction) this.#blocking = blockingTimeout(args);
    }
  }

  /** A transaction ended (EXEC, DISCARD, or a refused MULTI): what waited for it goes out. */
  #transactionEnded(): void {
    this.#inTransaction = false;
    queueMicrotask(() => this.#sendDeferred());
  }

  #sendDeferred(): void {
    if (this.#inTransaction || this.#deferred.length === 0) return;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const { args, resolve, reject } of deferred) this.send(args).then(resolve, reject);
  }

  /** Queues a command's (or a batch's) slot; `#apply` ran for its commands. */
  #push(
    kind: number,
    remaining: number,
    bytes: boolean | readonly boolean[],
    parse: Parser | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ): Slot {
    const timeout = this.#options.commandTimeout;
    let sentAt = 0;
    let own = Infinity;
    let deadline = Infinity;
    if (timeout !== undefined) {
      // One clock read per tick: the commands of a tick are written together.
      sentAt = this.#flushQueued ? this.#tickTime : (this.#tickTime = this.#elapsed());
      own = sentAt + timeout + this.#blocking;
      deadline = Math.max(own, this.#lastDeadline);
      this.#lastDeadline = deadline;
    }
    this.#blocking = 0;
    const slot = new Slot(kind, remaining, bytes, parse, resolve, reject, sentAt, own, deadline);
    this.#slots.push(slot);
    // The armed timer may be a blocking command's, far later: a sooner deadline re-arms it.
    if (deadline < this.#timerAt) this.#armTimer(deadline - sentAt);
    return slot;
  }

  #write(data: Uint8Array): void {
    const outbox = this.#outbox;
    const last = outbox.length === 0 ? undefined : outbox[outbox.length - 1]!;
    if (
      last !== undefined && last.buffer === data.buffer &&
      last.byteOffset + last.length === data.byteOffset
    ) {
      // Encoded right after the previous command in the encoder's arena: one view covers both.
      outbox[outbox.length - 1] = new Uint8Array(
        last.buffer,
        last.byteOffset,
        last.length + data.length,
      );
    } else {
      outbox.push(data);
    }
    this.#outBytes += data.length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#writing || this.#closed !== undefined || this.#outBytes === 0) return;
    const chunks = this.#outbox;
    let data: Uint8Array;
    if (chunks.length === 1) {
      data = chunks[0]!;
    } else {
      data = new Uint8Array(this.#outBytes);
      let at = 0;
      for (const chunk of chunks) {
        data.set(chunk, at);
        at += chunk.length;
      }
    }
    this.#outbox = [];
    this.#outBytes = 0;
    this.#writing = true;
    this.#writeAll(data).then(
      () => {
        this.#writing = false;
        if (this.#outBytes > 0) this.#flush();
      },
      (error) =>
        this.#fail(
          new ConnectionClosedError(
            `Connection to ${this.#options.label} closed: cannot write: ${messageOf(error)}`,
            { cause: error },
          ),
        ),
    );
  }

  /** Writes all of `data`; a throwing transport rejects, as an `async` function would. */
  #writeAll(data: Uint8Array): Promise<unknown> {
    const write = this.#transport.write;
    try {
      if (write === undefined) return this.#writer!.write(data);
      const length = data.length;
      return write.call(this.#transport, data).then((n) =>
        n < length ? this.#writeAll(data.subarray(n)) : undefined
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #readLoop(): Promise<void> {
    const transport = this.#transport;
    const reader = transport.read === undefined ? transport.readable.getReader() : undefined;
    const buffer = reader === undefined ? new Uint8Array(READ_BUFFER_SIZE) : undefined;
    try {
      for (;;) {
        if (reader !== undefined) {
          const { value, done } = await reader.read();
          if (done) break;
          this.#decoder.push(value);
        } else {
          const n = await transport.read!(buffer!);
          if (n === null) break;
          this.#decoder.push(buffer!.subarray(0, n));
        }
        this.#drain();
      }
      this.#fail(this.#closedByServer());
    } catch (error) {
      this.#readFailed(error);
    } finally {
      try {
        reader?.releaseLock();
      } catch {
        // A read is still pending on a closed stream.
      }
    }
  }

  /** Reads through the transport's `listen` fast path: chunks are decoded as they arrive. */
  #listen(transport: Transport): Promise<void> {
    return new Promise<void>((resolve) => {
      transport.listen!(
        (chunk) => {
          if (this.#closed !== undefined) return;
          try {
            this.#decoder.push(chunk);
            this.#drain();
          } catch (error) {
            this.#readFailed(error);
          }
        },
        (error) => {
          if (error === undefined) {
            this.#fail(this.#closedByServer());
          } else {
            this.#readFailed(error);
          }
          resolve();
        },
      );
    });
  }

  /** Whether the server closed the connection (rather than this client, or a failure). */
  get closedByServer(): boolean {
    return this.#byServer;
  }

  /** The error for a connection the server closed, with what may have led to it as `cause`. */
  #closedByServer(): ConnectionClosedError {
    if (this.#closed === undefined) this.#byServer = true;
    const message = `Connection to ${this.#options.label} closed by the server`;
    const cause = this.#options.closeCause?.();
    return cause === undefined
      ? new ConnectionClosedError(message)
      : new ConnectionClosedError(`${message} (after: ${cause.message})`, { cause });
  }

  /** Closes the connection after reading failed: a protocol error, or the socket's error. */
  #readFailed(error: unknown): void {
    this.#fail(
      error instanceof ProtocolError
        ? new ProtocolError(
          `${error.message}; the connection to ${this.#options.label} was closed`,
          { cause: error },
        )
        : new ConnectionClosedError(
          `Connection to ${this.#options.label} closed: ${messageOf(error)}`,
          { cause: error },
        ),
    );
  }

  /** Decodes every complete frame buffered and settles commands with them. */
  #drain(): void {
    const decoder = this.#decoder;
    for (;;) {
      const slot = this.#slots[this.#head];
      if (slot !== undefined && slot.kind === BATCH && typeof slot.bytes === "boolean") {
        // A batch with one read mode: its replies in a tight loop.
        if (!this.#drainBatch(slot, slot.bytes ? BYTES : undefined)) return;
        continue;
      }
      let bytes = false;
      if (slot !== undefined) {
        const flags = slot.bytes;
        bytes = typeof flags === "boolean"
          ? flags
          : flags[slot.values === undefined ? 0 : slot.values.length - slot.remaining] === true;
      }
      const value = bytes ? decoder.read(BYTES) : decoder.read();
      if (value === undefined) return;
      if (value instanceof Push) {
        if (slot?.kind === SUBSCRIBE && SUBSCRIBE_KINDS.has(value.kind)) {
          if (--slot.remaining === 0) {
            this.#shift();
            slot.resolve(undefined);
          }
        } else {
          this.#options.onPush?.(value);
        }
        continue;
      }
      if (slot === undefined) {
        throw new ProtocolError(
          `Cannot match reply: the server sent ${replyKind(value)} while no command was waiting`,
        );
      }
      if (slot.kind === BATCH) {
        this.#hold(slot);
        const values = slot.values!;
        values[values.length - slot.remaining] = value;
        if (--slot.remaining > 0) continue;
        this.#shift();
        slot.resolve(slot.values);
        continue;
      }
      this.#shift();
      if (value instanceof ReplyError) {
        // A refused MULTI (NOPERM, a wrong argument) opens no transaction.
        if (slot.opensTransaction) this.#transactionEnded();
        slot.reject(value);
      } else if (slot.kind === SUBSCRIBE) {
        slot.reject(
          new ProtocolError(`Cannot subscribe: the server answered with ${replyKind(value)}`),
        );
      } else if (slot.parse === undefined) {
        slot.resolve(value);
      } else {
        try {
          slot.resolve(slot.parse(value));
        } catch (error) {
          slot.reject(error as Error);
        }
      }
    }
  }

  /**
   * Reads replies into the batch at the head of the queue. Returns whether
   * the batch completed (and was settled), `false` when bytes ran out first.
   */
  #drainBatch(slot: Slot, options: ReadOptions | undefined): boolean {
    const decoder = this.#decoder;
    const values = slot.values!;
    for (;;) {
      const value = decoder.read(options);
      if (value === undefined) return false;
      if (value instanceof Push) {
        this.#options.onPush?.(value);
        continue;
      }
      this.#hold(slot);
      values[values.length - slot.remaining] = value;
      if (--slot.remaining === 0) break;
    }
    this.#shift();
    slot.resolve(values);
    return true;
  }

  /**
   * Counts a reply a batch keeps until its last one arrives: together they are
   * bounded by `maxReplyBytes`, as one reply is, or a pipeline of replies each
   * just under the limit could still exhaust the heap.
   */
  #hold(slot: Slot): void {
    const decoder = this.#decoder;
    slot.held += decoder.lastReplyBytes;
    if (slot.held > decoder.maxReplyBytes) {
      throw new ProtocolError(
        `Cannot decode reply: the replies of one pipeline exceed maxReplyBytes (${decoder.maxReplyBytes} bytes, estimated, together); raise the limit if such pipelines are expected, or split the pipeline`,
      );
    }
  }

  /** Removes the head slot, keeping the queue O(1) per reply. */
  #shift(): void {
    const slots = this.#slots;
    slots[this.#head++] = undefined;
    this.#replies++;
    if (this.#head === slots.length) {
      slots.length = 0;
      this.#head = 0;
      this.#lastDeadline = 0;
      // The command timer stays armed: when it fires on an empty queue it
      // stops, so a busy connection arms it once per timeout, not per command.
      const idle = this.#idle;
      if (idle !== undefined) {
        this.#idle = undefined;
        idle();
      }
    } else {
      const next = slots[this.#head]!;
      if (next.deadline === Infinity && next.own !== Infinity) this.#unblocked(next);
      if (this.#head >= COMPACT_AT && this.#head * 2 >= slots.length) {
        this.#slots = slots.slice(this.#head);
        this.#head = 0;
      }
    }
  }

  /**
   * A command that waited behind one that blocks until served reaches the
   * head: the server answers it next, so it gets a whole timeout from now.
   */
  #unblocked(slot: Slot): void {
    const now = this.#elapsed();
    slot.deadline = Math.max(slot.own, now + this.#options.commandTimeout!);
    if (slot.deadline < this.#timerAt) this.#armTimer(slot.deadline - now);
  }

  #armTimer(ms: number): void {
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
    const delay = Math.max(0, ms);
    this.#timerAt = this.#elapsed() + delay;
    this.#timer = setIoTimeout(this.#options.timers, () => this.#onTimer(), delay);
  }

  #clearTimer(): void {
    this.#options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const slot = this.#slots[this.#head];
    if (slot === undefined || slot.deadline === Infinity || this.#closed !== undefined) return;
    const now = this.#elapsed();
    if (now < slot.deadline) {
      this.#armTimer(slot.deadline - now);
      return;
    }
    const timeout = slot.deadline - slot.sentAt;
    const error = new TimeoutError(
      `Command to ${this.#options.label} timed out after ${timeout} ms; the connection was closed`,
    );
    this.#shift();
    slot.reject(error);
    this.#fail(
      new ConnectionClosedError(
        `Connection to ${this.#options.label} closed: a command timed out after ${timeout} ms`,
        { cause: error },
      ),
    );
  }

  #fail(error: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    if (this.#timer !== undefined) this.#clearTimer();
    const slots = this.#slots;
    const head = this.#head;
    this.#slots = [];
    this.#head = 0;
    this.#outbox = [];
    this.#outBytes = 0;
    for (let i = head; i < slots.length; i++) slots[i]?.reject(error);
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const { reject } of deferred) reject(error);
    const idle = this.#idle;
    this.#idle = undefined;
    idle?.();
    try {
      const closing = this.#transport.close();
      if (closing instanceof Promise) closing.catch(() => {});
    } catch {
      // Already closed.
    }
    this.#options.onClose?.(error);
  }
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
