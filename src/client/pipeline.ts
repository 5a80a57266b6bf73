/**
 * Pipelines: several commands collected and sent in one write, their replies
 * read in one pass.
 *
 * @module
 */

import { ReplyError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import { Commands } from "./commands.ts";
import type { Parser } from "./connection.ts";

/** Sends a batch of commands and resolves with one raw reply per command. */
export type BatchSender = (
  commands: readonly (readonly CommandArg[])[],
  bytes: boolean | readonly boolean[],
) => Promise<RespValue[]>;

/** Options of {@linkcode Pipeline.exec} and {@linkcode Transaction.exec}. */
export interface ExecOptions {
  /**
   * Keep error replies in the result, as `ReplyError` values in the failed
   * commands' slots, instead of throwing the first one.
   *
   * @default {false}
   */
  keepErrors?: boolean;
}

/** The commands a pipeline or transaction has collected. */
export class Queue {
  commands: CommandArg[][] = [];
  parsers: (Parser | undefined)[] = [];
  /** Per command, whether its reply's bulk strings are bytes; empty until one is. */
  bytes: boolean[] = [];
  anyBytes = false;

  add(args: CommandArg[], parse: Parser | undefined, bytes: boolean): void {
    this.commands.push(args);
    this.parsers.push(parse);
    if (bytes) {
      if (!this.anyBytes) {
        this.anyBytes = true;
        this.bytes = new Array<boolean>(this.commands.length - 1).fill(false);
      }
      this.bytes.push(true);
    } else if (this.anyBytes) {
      this.bytes.push(false);
    }
  }

  /** Takes the queued commands out, leaving the queue empty for reuse. */
  take(): Queue {
    const taken = new Queue();
    taken.commands = this.commands;
    taken.parsers = this.parsers;
    taken.bytes = this.bytes;
    taken.anyBytes = this.anyBytes;
    this.commands = [];
    this.parsers = [];
    this.bytes = [];
    this.anyBytes = false;
    return taken;
  }

  /**
   * Parses each reply with its command's parser. Error replies are thrown
   * (the first one, once every reply has arrived) or kept.
   */
  settle(replies: RespValue[], options: ExecOptions | undefined): unknown[] {
    const out: unknown[] = new Array(replies.length);
    let firstError: Error | undefined;
    for (let i = 0; i < replies.length; i++) {
      const reply = replies[i]!;
      if (reply instanceof ReplyError) {
        out[i] = reply;
        firstError ??= reply;
        continue;
      }
      const parse = this.parsers[i];
      try {
        out[i] = parse === undefined ? reply : parse(reply);
      } catch (error) {
        out[i] = error;
        firstError ??= error as Error;
      }
    }
    if (firstError !== undefined && options?.keepErrors !== true) throw firstError;
    return out;
  }
}

/**
 * Commands collected to be sent in one write. Each command method queues its
 * command and returns the pipeline; {@linkcode Pipeline.exec} sends them and
 * returns one result per command, in order. The commands are not atomic: use
 * {@linkcode RedisClient.multi} for that.
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
 * const [hits, greeting] = await client.pipeline()
 *   .incr("hits")
 *   .get("greeting")
 *   .exec<[number, string | null]>();
 * console.log(hits, greeting); // 1 null
 * ```
 */
export class Pipeline extends Commands {
  readonly #send: BatchSender;
  readonly #queue = new Queue();

  /**
   * Made by `client.pipeline()`.
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
   * Sends the queued commands in one write and empties the pipeline.
   *
   * @typeParam T The results' types, as a tuple, when you want them checked
   * against the commands you queued (they are not inferred).
   * @param options `keepErrors`: return error replies in their slots instead of throwing.
   * @returns One result per command, parsed as its method returns it.
   * @throws {ReplyError} The first error reply, after every reply arrived (unless `keepErrors`).
   * @throws {ConnectionClosedError} When the connection closed before every reply arrived.
   *
   * @example Keeping per-command errors
   * ```ts ignore
   * const results = await client.pipeline().set("s", "x").incr("s").exec({ keepErrors: true });
   * results[1] instanceof ReplyError; // true: "ERR value is not an integer…"
   * ```
   */
  async exec<T extends unknown[] = unknown[]>(options?: ExecOptions): Promise<T> {
    const queue = this.#queue.take();
    if (queue.commands.length === 0) return [] as unknown as T;
    const replies = await this.#send(queue.commands, queue.anyBytes ? queue.bytes : false);
    return queue.settle(replies, options) as T;
  }
}
