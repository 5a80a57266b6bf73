/**
 * Assertions for the conformance suite that need no runtime module at all
 * (not even `node:assert`), so the same cases run in Deno, Node.js, Bun and
 * in a Worker without `nodejs_compat`.
 *
 * @module
 */

/** Thrown by a failed assertion. */
export class AssertionError extends Error {
  /** @param message What was expected. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/**
 * Fails unless `condition` is truthy.
 *
 * @param condition The condition.
 * @param message What was expected.
 */
export function assert(condition: unknown, message = "expected a truthy value"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/**
 * Fails unless `actual` and `expected` are deeply equal: primitives with
 * `Object.is`, arrays, plain objects, `Map`, `Set`, `Date` and byte arrays by content.
 *
 * @param actual What the code produced.
 * @param expected What it should have produced.
 * @param message Context for the failure.
 */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${message ? `${message}: ` : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

/**
 * Fails unless `text` matches `pattern`.
 *
 * @param text The text.
 * @param pattern The pattern.
 * @param message Context for the failure.
 */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (typeof text !== "string" || !pattern.test(text)) {
    throw new AssertionError(
      `${message ? `${message}: ` : ""}expected ${show(text)} to match ${pattern}`,
    );
  }
}

/**
 * Awaits `promise` and fails unless it rejects with an error named `name`.
 *
 * @param promise The operation.
 * @param name The expected error's `name` (classes differ between bundles, names do not).
 * @param pattern When given, the message must match it.
 * @returns The error.
 */
export async function assertRejects(
  promise: Promise<unknown> | (() => Promise<unknown>),
  name: string,
  pattern?: RegExp,
): Promise<Error> {
  let outcome: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    outcome = error;
    if (!(error instanceof Error)) {
      throw new AssertionError(`expected a rejection with ${name}, got ${show(error)}`);
    }
    if (error.name !== name) {
      throw new AssertionError(
        `expected a rejection with ${name}, got ${error.name}: ${error.message}`,
      );
    }
    if (pattern !== undefined) assertMatch(error.message, pattern, `${name} message`);
    return error;
  }
  throw new AssertionError(`expected a rejection with ${name}, got ${show(outcome)} resolved`);
}

function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    const right = [...b.entries()];
    return [...a.entries()].every(([key, value], i) =>
      equal(key, right[i]![0]) && equal(value, right[i]![1])
    );
  }
  if (a instanceof Set && b instanceof Set) {
    return a.size === b.size && [...a].every((value) => b.has(value));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((value, i) => equal(value, b[i]));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length &&
    keysA.every((key) =>
      Object.hasOwn(b, key) &&
      equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    );
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v) => {
      if (typeof v === "bigint") return `${v}n`;
      if (v instanceof Map) return { Map: [...v.entries()] };
      if (v instanceof Uint8Array) return { bytes: [...v] };
      return v;
    }) ?? String(value);
  } catch {
    return String(value);
  }
}
