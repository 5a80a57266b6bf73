/**
 * Pipelines: several commands collected and sent in one write, their replies
 * read in one pass.
 *
 * @module
 */

import { ReplyError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import { type Chain, Commands } from "./commands.ts";
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
 * The type parameter is the results' types so far: each command method
 * returns the pipeline typed with its reply added, so
 * `client.pipeline().get("a").incr("n")` is a `Pipeline<[string | null, number]>`
 * and its `exec()` resolves with that tuple. A pipeline filled by statements
 * (a loop) keeps the type it was made with, `Pipeline<[]>`, whose `exec()`
 * resolves with `unknown[]`.
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
 * // [number, string | null], from the commands queued
 * const [hits, greeting] = await client.pipeline().incr("hits").get("greeting").exec();
 * console.log(hits, greeting); // 1 null
 *
 * // Queued in a loop: the results are unknown[]
 * const pipeline = client.pipeline();
 * for (const key of ["a", "b", "c"]) pipeline.incr(key);
 * console.log(await pipeline.exec()); // [1, 1, 1]
 * ```
 */
export class Pipeline<R extends unknown[] = []> extends Commands implements Chain {
  /** Type-level only, never set: see {@linkcode Chain}. */
  declare readonly "~reply": unknown;
  /** Type-level only, never set: this pipeline with one more result, `this["~reply"]`. */
  declare readonly "~next": Pipeline<[...R, this["~reply"]]>;

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
   * @typeParam T The results' types. Inferred from the queued commands; name
   * it only to narrow them (a `send` reply, a pipeline filled in a loop): it
   * must be assignable to the inferred tuple.
   * @param options Without `keepErrors: true`, the first error reply is thrown.
   * @returns One result per command, parsed as its method returns it.
   * @throws {ReplyError} The first error reply, after every reply arrived.
   * @throws {ConnectionClosedError} When the connection closed before every reply arrived.
   */
  exec<T extends ([] extends R ? unknown[] : R) = [] extends R ? unknown[] : R>(
    options?: ExecOptions & { keepErrors?: false },
  ): Promise<T>;
  /**
   * Sends the queued commands in one write and empties the pipeline, keeping
   * error replies in the results.
   *
   * @typeParam T The results' types, inferred from the queued commands.
   * @param options `keepErrors: true`: a failed command's slot holds its
   * error (a `ReplyError` for an error reply) instead of the first one being thrown.
   * @returns One result or error per command.
   * @throws {ConnectionClosedError} When the connection closed before every reply arrived.
   *
   * @example Keeping per-command errors
   * ```ts
   * import { connect, IamAuth, ReplyError } from "@elasticache-iam/connector";
   * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
   *
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
   * // [("OK" | null) | Error, number | Error]
   * const [set, incr] = await client.pipeline().set("s", "x").incr("s").exec({ keepErrors: true });
   * console.log(set); // "OK"
   * console.log(incr instanceof ReplyError, (incr as ReplyError).code); // true "ERR"
   * ```
   */
  exec<T extends ([] extends R ? unknown[] : R) = [] extends R ? unknown[] : R>(
    options: ExecOptions,
  ): Promise<{ [K in keyof T]: T[K] | Error }>;
  async exec(options?: ExecOptions): Promise<unknown[]> {
    const queue = this.#queue.take();
    if (queue.commands.length === 0) return [];
    const replies = await this.#send(queue.commands, queue.anyBytes ? queue.bytes : false);
    return queue.settle(replies, options);
  }
}
