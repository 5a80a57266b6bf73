/**
 * The values the RESP encoder takes and the decoder produces.
 *
 * @module
 */

import type { ReplyError } from "../errors.ts";

/**
 * A decoded RESP2 or RESP3 value.
 *
 * | wire type | value |
 * | --- | --- |
 * | `+` simple string | `string` |
 * | `-` error, `!` blob error | {@linkcode ReplyError} (returned, not thrown) |
 * | `:` integer | `number`, or `bigint` outside the safe integer range |
 * | `$` bulk string, `=` verbatim string | `string`, or `Uint8Array` when read with `bytes: true` |
 * | `$-1`, `*-1`, `_` null | `null` |
 * | `*` array | `RespValue[]` |
 * | `%` map | `Map<RespValue, RespValue>` |
 * | `~` set | `Set<RespValue>` |
 * | `,` double | `number` (`Infinity`, `-Infinity`, `NaN` included) |
 * | `#` boolean | `boolean` |
 * | `(` big number | `bigint` |
 * | `>` push | {@linkcode Push} |
 */
export type RespValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Uint8Array
  | ReplyError
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>
  | Push;

/**
 * A RESP3 push frame (`>`): out-of-band data such as a pub/sub message or a
 * client-side caching invalidation, which answers no command.
 *
 * @example A pub/sub message
 * ```ts
 * import { Push } from "./types.ts";
 *
 * const push = new Push("message", ["news", "hello"]);
 * console.log(push.kind, push.data); // "message" ["news", "hello"]
 * ```
 */
export class Push {
  /**
   * Creates a push frame.
   *
   * @param kind The frame's first element as a string, such as `message`,
   * `pmessage`, `subscribe` or `invalidate`.
   * @param data The frame's remaining elements.
   */
  constructor(readonly kind: string, readonly data: RespValue[]) {}
}

/**
 * One argument of a command: strings are sent as UTF-8, numbers in their
 * decimal form (`Infinity` as `inf`), and byte arrays as they are.
 */
export type CommandArg = string | number | Uint8Array;
