/**
 * Transactions: `MULTI`, the queued commands and `EXEC`, written as one unit
 * so that nothing (a re-authentication in particular) lands inside them.
 *
 * @module
 */

import { ProtocolError, ReplyError } from "../errors.ts";
import type { CommandArg } from "../resp/types.ts";
import { Commands } from "./commands.ts";
import { type BatchSender, type ExecOptions, Queue } from "./pipeline.ts";

/**
 * A transaction: commands queued on the client, then sent as
 * `MULTI … EXEC` in one write and run by the server atomically. Each
 * command method queues its command and returns the transaction.
 *
 * @example Against the local emulator
 * ```ts
 * import { connect } from "../client.ts";
 * import { IamAuth } from "../iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "../emulator/mod.ts";
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
 * const [count, expiring] = await client.multi()
 *   .incr("visits")
 *   .expire("visits", 60)
 *   .exec<[number, boolean]>();
 * console.log(count, expiring); // 1 true
 * ```
 */
export class Transaction extends Commands {
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
   * @typeParam T The results' types, as a tuple (not inferred).
   * @param options `keepErrors`: return run-time error replies in their slots instead of throwing.
   * @returns One result per command, parsed as its method returns it.
   * @throws {ReplyError} `EXECABORT` when a command was refused while queuing (its
   * error is the `cause`; nothing ran), or the first run-time error reply (unless `keepErrors`).
   * @throws {ConnectionClosedError} When the connection closed before `EXEC`'s reply.
   *
   * @example
   * ```ts ignore
   * const [a, b] = await client.multi().incr("a").incr("b").exec<[number, number]>();
   * ```
   */
  async exec<T extends unknown[] = unknown[]>(options?: ExecOptions): Promise<T> {
    const queue = this.#queue.take();
    if (queue.commands.length === 0) return [] as unknown as T;
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
    return queue.settle(exec, options) as T;
  }
}
