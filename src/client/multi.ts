/**
 * Transactions: `MULTI`, the queued commands and `EXEC`, written as one unit
 * so that nothing (a re-authentication in particular) lands inside them.
 *
 * @module
 */

import { ProtocolError, ReplyError } from "../errors.ts";
import type { CommandArg } from "../resp/types.ts";
import { type Chain, Commands } from "./commands.ts";
import { type BatchSender, type ExecOptions, Queue } from "./pipeline.ts";

/**
 * A transaction: commands queued on the client, then sent as
 * `MULTI … EXEC` in one write and run by the server atomically. Each
 * command method queues its command and returns the transaction, typed with
 * the command's reply added to the results (as {@linkcode Pipeline} is), so
 * `exec()` resolves with a tuple of them.
 *
 * @typeParam R The results of the commands queued so far, in order.
 *
 * @example Against the local emulator
 * ```ts
 * import { connect, IamAuth } from "@elasticache-iam/connector";
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
 *
 * // An IAM user whose keys may connect to the emulator's cache.
 * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
 * await using emu = await startEmulator({
 *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
 * });
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: keys,
 * });
 * await using client = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
 *
 * // [number, boolean], from the commands queued
 * const [count, expiring] = await client.multi().incr("visits").expire("visits", 60).exec();
 * console.log(count, expiring); // 1 true
 * ```
 */
export class Transaction<R extends unknown[] = []> extends Commands implements Chain {
  /** Type-level only, never set: see {@linkcode Chain}. */
  declare readonly "~reply": unknown;
  /** Type-level only, never set: this transaction with one more result, `this["~reply"]`. */
  declare readonly "~next": Transaction<[...R, this["~reply"]]>;

  readonly #send: BatchSender;
  readonly #queue = new Queue();

  /**
   * Made by `client.multi()`.
   *
   * @param send Sends a batch of commands.
   */
  constructor(send: BatchSender) {
    super((args, parse, bytes) => {
      this.#queue.add(args, parse, bytes);
      return this;
    });
    this.#send = send;
  }

  /** How many commands are queued. */
  get length(): number {
    return this.#queue.commands.length;
  }

  /**
   * Sends `MULTI`, the queued commands and `EXEC` in one write, and empties the transaction.
   *
   * @typeParam T The results' types. Inferred from the queued commands; name
   * it only to narrow them (a `send` reply, a transaction filled in a loop): it
   * must be assignable to the inferred tuple.
   * @param options Without `keepErrors: true`, the first run-time error reply is thrown.
   * @returns One result per command, parsed as its method returns it.
   * @throws {ReplyError} `EXECABORT` when a command was refused while queuing (its
   * error is the `cause`; nothing ran) or a watched key changed (`EXEC` returned
   * null; nothing ran), or the first run-time error reply.
   * @throws {ConnectionClosedError} When the connection closed before `EXEC`'s reply.
   */
  exec<T extends ([] extends R ? unknown[] : R) = [] extends R ? unknown[] : R>(
    options?: ExecOptions & { keepErrors?: false },
  ): Promise<T>;
  /**
   * Sends `MULTI`, the queued commands and `EXEC` in one write, and empties
   * the transaction, keeping run-time error replies in the results.
   *
   * @typeParam T The results' types, inferred from the queued commands.
   * @param options `keepErrors: true`: a command that failed while running
   * leaves its error (a `ReplyError`) in its slot; the others still ran.
   * @returns One result or error per command.
   * @throws {ReplyError} `EXECABORT` when a command was refused while queuing
   * or a watched key changed: nothing ran.
   * @throws {ConnectionClosedError} When the connection closed before `EXEC`'s reply.
   */
  exec<T extends ([] extends R ? unknown[] : R) = [] extends R ? unknown[] : R>(
    options: ExecOptions,
  ): Promise<{ [K in keyof T]: T[K] | Error }>;
  async exec(options?: ExecOptions): Promise<unknown[]> {
    const queue = this.#queue.take();
    if (queue.commands.length === 0) return [];
    const commands: CommandArg[][] = [["MULTI"], ...queue.commands, ["EXEC"]];
    const bytes = queue.anyBytes ? [false, ...queue.commands.map(() => false), true] : false;
    const replies = await this.#send(commands, bytes);
    const [multi] = replies;
    if (multi instanceof ReplyError) throw multi;
    const exec = replies[replies.length - 1];
    if (exec instanceof ReplyError) {
      const queued = replies.slice(1, -1).find((reply) => reply instanceof ReplyError);
      throw queued === undefined ? exec : new ReplyError(exec.message, { cause: queued });
    }
    if (exec === null) {
      throw new ReplyError(
        "EXECABORT Transaction aborted: a watched key changed (EXEC returned null)",
      );
    }
    if (!Array.isArray(exec)) {
      throw new ProtocolError("Cannot read reply: expected an array from EXEC");
    }
    return queue.settle(exec, options);
  }
}
