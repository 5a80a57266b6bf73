/**
 * Checks shared by the public functions' options: each throws a `TypeError`
 * or `RangeError` that names the function's action and the option, and shows
 * a short, secret-free description of the bad value; and the one loopback rule.
 *
 * @module
 */

import { systemTimers, type Timers } from "./client/timers.ts";

/** Strings up to this long are shown whole; longer ones only by their start. */
const SHOWN_WHOLE = 24;
/** How much of a longer string is shown: less than any secret a leak scan looks for. */
const SHOWN_START = 12;
/** Characters that mark a string as possibly carrying credentials (`user:pass@host`, `?X-Amz-…`), or that could forge lines. */
const UNSAFE = /[@?\p{Cc}]/u;

/**
 * The one way the module (the emulator's log included) shows a value it was
 * given in a message: short, and never a secret. Strings up to 24 characters are quoted whole; longer ones are cut
 * to their first 12 characters and their length, so a secret key or token
 * passed in the wrong option never appears; a string holding `@`, `?` or
 * control characters (a URL with credentials, a presigned token, a forged
 * line) is described by its length only. Other values are described by their type.
 *
 * @param value The value.
 * @returns Its description.
 *
 * @example
 * ```ts
 * import { describe } from "./_checks.ts";
 *
 * console.log(describe("us-east-1x")); // "'us-east-1x'"
 * console.log(describe("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")); // "'wJalrXUtnFEM…' (40 characters)"
 * console.log(describe("rediss://user:secret@example.com")); // "a string of 32 characters (not shown: it may hold credentials)"
 * ```
 */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    if (UNSAFE.test(value)) {
      return `a string of ${value.length} characters (not shown: it may hold credentials)`;
    }
    return value.length > SHOWN_WHOLE
      ? `'${value.slice(0, SHOWN_START)}…' (${value.length} characters)`
      : `'${value}'`;
  }
  if (typeof value === "number" || typeof value === "boolean" || value == null) {
    return String(value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid Date" : "a Date";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return `a ${typeof value}`;
}

/**
 * Checks that an options argument is a plain object, or absent.
 *
 * @param action What the caller was doing, such as `Cannot use web identity`.
 * @param value The options argument.
 * @param name How to call it in the message.
 * @returns The options, or an empty object when absent.
 * @throws {TypeError} When it is not an object.
 */
export function optionsObject<T extends object>(
  action: string,
  value: T | undefined,
  name = "options",
): T {
  if (value === undefined) return {} as T; // every caller's options are all optional
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${action}: '${name}' must be an object, got ${describe(value)}`);
  }
  return value;
}

/**
 * Checks that an optional option is a function.
 *
 * @param action What the caller was doing.
 * @param name The option's name.
 * @param value Its value.
 * @throws {TypeError} When it is given and not a function.
 */
export function optionalFunction(action: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${action}: '${name}' must be a function, got ${describe(value)}`);
  }
}

/**
 * Checks that an optional environment object is a plain object of strings.
 *
 * @param action What the caller was doing.
 * @param value The `env` option.
 * @throws {TypeError} When it is given and not an object.
 */
export function optionalEnv(action: string, value: unknown): void {
  if (
    value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))
  ) {
    throw new TypeError(
      `${action}: 'env' must be an object of variables (such as a Worker's bindings), got ${
        describe(value)
      }`,
    );
  }
}

/** A DNS name or an IPv4 literal: letters, digits, `-` and `_` in dot-separated labels. */
const HOST_NAME =
  /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
/** An IPv6 literal, without brackets (a zone index allowed). */
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(%[\w.-]+)?$/i;

/**
 * Checks that an option is a host name or an IP address (IPv6 in brackets or
 * not), before anything is resolved or connected, so that a URL or a secret
 * pasted there is refused without being echoed (see {@linkcode describe}).
 *
 * @param action What the caller was doing, such as `Cannot connect`.
 * @param name The option's name.
 * @param value Its value.
 * @throws {TypeError} When it is not a host name or IP address.
 *
 * @example
 * ```ts
 * import { checkHost } from "./_checks.ts";
 *
 * checkHost("Cannot connect", "host", "master.my-cache.abc123.use1.cache.amazonaws.com");
 * try {
 *   checkHost("Cannot connect", "host", "rediss://user:secret@example.com");
 * } catch (error) {
 *   console.log((error as Error).message.includes("secret")); // false
 * }
 * ```
 */
export function checkHost(action: string, name: string, value: unknown): void {
  const host = typeof value === "string" && value.startsWith("[") && value.endsWith("]")
    ? value.slice(1, -1)
    : value;
  if (typeof host === "string" && host !== "" && (HOST_NAME.test(host) || IPV6.test(host))) return;
  throw new TypeError(
    `${action}: '${name}' must be a host name or IP address, got ${describe(value)}${
      typeof value === "string" && value.includes("://")
        ? "; pass the URL's host name, without scheme, user or port"
        : ""
    }`,
  );
}

/**
 * Whether a host stays on this machine, the one rule for plaintext by
 * default: `localhost`, an IPv4 literal in `127.0.0.0/8`, or the IPv6
 * loopback `::1` (in any spelling, brackets allowed). Names under
 * `.localhost` are not: they are resolved through DNS, whose answer could
 * point anywhere. Malformed literals (`127.300.1.1`) are not either.
 *
 * @param host A host name or IP address.
 * @returns `true` for a loopback host.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./_checks.ts";
 *
 * console.log(isLoopback("127.0.0.1"), isLoopback("[::1]"), isLoopback("localhost")); // true true true
 * console.log(isLoopback("app.localhost"), isLoopback("127.300.1.1")); // false false
 * ```
 */
export function isLoopback(host: string): boolean {
  const name = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const lower = name.toLowerCase();
  if (lower === "localhost") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(lower);
  if (v4 !== null) return v4.slice(1).every((part) => Number(part) <= 255 && !/^0\d/.test(part));
  return lower.includes(":") && isIpv6Loopback(lower);
}

/** Whether an IPv6 literal (no brackets, no zone) is `::1`. */
function isIpv6Loopback(text: string): boolean {
  if (!/^[0-9a-f:]+$/.test(text)) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if ([...head, ...tail].some((group) => group.length === 0 || group.length > 4)) return false;
  const count = head.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return false;
  const all = [...head, ...new Array(8 - count).fill("0"), ...tail].map((g) => parseInt(g, 16));
  return all.slice(0, 7).every((g) => g === 0) && all[7] === 1;
}

/** The longest bound a timer can wait: larger delays overflow to 1 ms on Node.js and in browsers. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks a bound on a wait, in milliseconds: a positive number up to
 * 2147483647 (the longest timer), or `Infinity` for no bound.
 *
 * @param action What the caller was doing, such as `Cannot create IamAuth`.
 * @param name The option's name.
 * @param value Its value.
 * @param fallback The default.
 * @returns The bound.
 * @throws {TypeError} When it is given and not a number.
 * @throws {RangeError} When it is out of range.
 *
 * @example
 * ```ts
 * import { timeoutOption } from "./_checks.ts";
 *
 * console.log(timeoutOption("Cannot cache credentials", "timeoutMs", undefined, 10_000)); // 10000
 * ```
 */
export function timeoutOption(
  action: string,
  name: string,
  value: unknown,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (value === Infinity) return Infinity;
  if (typeof value !== "number" || !(value > 0 && value <= MAX_TIMER_MS)) {
    const Failure = typeof value === "number" ? RangeError : TypeError;
    throw new Failure(
      `${action}: '${name}' must be a positive number of milliseconds up to ${MAX_TIMER_MS}, ` +
        `or Infinity for no bound, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Checks an optional `timers` option.
 *
 * @param action What the caller was doing.
 * @param value The option's value.
 * @returns The timers, or {@linkcode systemTimers} when absent.
 * @throws {TypeError} When it is given and lacks `setTimeout` or `clearTimeout`.
 *
 * @example
 * ```ts
 * import { timersOption } from "./_checks.ts";
 * import { systemTimers } from "./client/timers.ts";
 *
 * console.log(timersOption("Cannot cache credentials", undefined) === systemTimers); // true
 * ```
 */
export function timersOption(action: string, value: unknown): Timers {
  if (value === undefined) return systemTimers;
  const timers = value as Partial<Timers> | null;
  if (
    timers === null || typeof timers !== "object" || typeof timers.setTimeout !== "function" ||
    typeof timers.clearTimeout !== "function"
  ) {
    throw new TypeError(
      `${action}: 'timers' must be an object with setTimeout and clearTimeout functions, got ${
        describe(value)
      }`,
    );
  }
  return value as Timers;
}
