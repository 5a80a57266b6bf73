/**
 * Checks of the typed command methods' arguments that the server would take
 * for something else or refuse in words that do not name the option: each
 * throws, before anything is sent, a `TypeError` (wrong type) or `RangeError`
 * (out of range) naming the method's action and the option.
 *
 * @module
 */

import { describe } from "../_checks.ts";
import type { CommandArg } from "../resp/types.ts";
import type { Key } from "./command_types.ts";

/**
 * Checks an integer argument, such as a `COUNT` or a time in milliseconds.
 *
 * @param action What the method was doing, such as `Cannot read streams`.
 * @param name The option's name.
 * @param value Its value.
 * @param min The smallest value allowed.
 * @returns The value.
 * @throws {TypeError} When it is not a number.
 * @throws {RangeError} When it is not a safe integer of at least `min`.
 *
 * @example
 * ```ts
 * import { integerArg } from "./_command_checks.ts";
 *
 * console.log(integerArg("Cannot read streams", "count", 10, 1)); // 10
 * try {
 *   integerArg("Cannot read streams", "count", 0, 1);
 * } catch (error) {
 *   console.log((error as Error).message); // "Cannot read streams: 'count' must be an integer of at least 1, got 0"
 * }
 * ```
 */
export function integerArg(action: string, name: string, value: unknown, min: number): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min) return value;
  const Failure = typeof value === "number" ? RangeError : TypeError;
  throw new Failure(
    `${action}: '${name}' must be an integer of at least ${min}, got ${describe(value)}`,
  );
}

/**
 * Checks an optional integer argument.
 *
 * @param action What the method was doing.
 * @param name The option's name.
 * @param value Its value, or `undefined`.
 * @param min The smallest value allowed.
 * @returns The value, or `undefined`.
 * @throws {TypeError} When it is given and not a number.
 * @throws {RangeError} When it is given and not a safe integer of at least `min`.
 */
export function optionalIntegerArg(
  action: string,
  name: string,
  value: unknown,
  min: number,
): number | undefined {
  return value === undefined ? undefined : integerArg(action, name, value, min);
}

/**
 * A blocking command's timeout argument, checked: seconds from 0 (decimals allowed).
 *
 * @param what What the command does, for the message.
 * @param seconds The caller's value.
 * @returns It.
 * @throws {RangeError} When it is not a finite number from 0.
 */
export function timeoutArg(what: string, seconds: number): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(
      `Cannot ${what}: 'timeoutSeconds' must be a number of seconds from 0 (0 waits without end), got ${
        describe(seconds)
      }`,
    );
  }
  return seconds;
}

/**
 * `NAME key… timeout` for a blocking pop over several keys.
 *
 * @param name The command.
 * @param what What it does, for messages.
 * @param keys One key or several.
 * @param seconds The timeout.
 * @returns The command.
 */
export function blockingArgs(
  name: string,
  what: string,
  keys: Key | Key[],
  seconds: number,
): CommandArg[] {
  const list = Array.isArray(keys) ? keys : [keys];
  if (list.length === 0) throw new TypeError(`Cannot ${what}: give at least one key`);
  return [name, ...list, timeoutArg(what, seconds)];
}
