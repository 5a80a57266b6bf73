/**
 * The types every command method is written with: keys, what a method
 * returns on the client and on a pipeline or transaction ({@linkcode Reply}),
 * and how a command is handed to the client ({@linkcode Dispatch}).
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";
import type { Parser } from "./connection.ts";

/** A key: a string (sent as UTF-8) or raw bytes. */
export type Key = string | Uint8Array;

/**
 * What pipelines and transactions have, and the client does not. The two
 * `~` members exist in the types only, never at run time: `~next` is the
 * chain's type once one more command is queued, the command's reply type
 * being `this["~reply"]`. {@linkcode Reply} fills in `~reply`, which is how a
 * command method, declared once, grows `Pipeline<[string | null]>` into
 * `Pipeline<[string | null, number]>`.
 */
export interface Chain {
  /** Sends the queued commands. */
  exec(...args: never[]): Promise<unknown>;
  /** Type-level only: the reply type of the command being queued, set by {@linkcode Reply}. */
  readonly "~reply": unknown;
  /** Type-level only: this chain's type with a command of reply `this["~reply"]` queued last. */
  readonly "~next": Chain;
}

/**
 * What a command method returns: on the client, a promise of the reply `T`;
 * on a pipeline or transaction, the same object, typed with `T` added to the
 * results its `exec()` resolves with.
 *
 * @example
 * ```ts
 * import type { Pipeline, RedisClient } from "../../mod.ts";
 * import type { Reply } from "../types.ts";
 *
 * type OnClient = Reply<RedisClient, number>; // Promise<number>
 * type OnPipeline = Reply<Pipeline<[string | null]>, number>; // Pipeline<[string | null, number]>
 *
 * const reply: OnClient = Promise.resolve(1);
 * const grown: Pipeline<[string | null, number]> = null as unknown as OnPipeline;
 * console.log(await reply, grown); // 1 null
 * ```
 */
export type Reply<Self, T> = Self extends Chain ? (Self & { readonly "~reply": T })["~next"]
  : Promise<T>;

/**
 * Sends a command: the client sends it now, a pipeline queues it.
 *
 * @param args The command and its arguments.
 * @param parse Turns a successful reply into the method's return value.
 * @param bytes Decode the reply's bulk strings as `Uint8Array`.
 * @returns A promise (client) or the pipeline (pipeline, transaction).
 */
export type Dispatch = (
  args: CommandArg[],
  parse: Parser | undefined,
  bytes: boolean,
) => unknown;

/** Options of {@linkcode Commands.send}. */
export interface SendOptions {
  /**
   * Return bulk strings as `Uint8Array` instead of decoding them as UTF-8.
   *
   * @default {false}
   */
  bytes?: boolean;
}
