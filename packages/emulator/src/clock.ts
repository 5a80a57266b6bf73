/**
 * The emulator's own clock: real time plus an offset that tests move, so that
 * token expiry, credential expiry and the connection age cap can be tested
 * without sleeping, while time still flows between two moves.
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";

/**
 * A clock that runs with real time from an adjustable offset.
 *
 * @example Jumping to a fixed date, then moving on
 * ```ts
 * import { EmulatorClock } from "./clock.ts";
 *
 * const clock = new EmulatorClock();
 * clock.set(new Date("2026-11-23T12:00:00Z"));
 * clock.advance(60_000);
 * console.log(clock.now() >= Date.parse("2026-11-23T12:01:00Z")); // true
 * ```
 */
export class EmulatorClock {
  #offset = 0;
  readonly #listeners = new Set<() => void>();
  readonly #realNow: () => number;

  /**
   * Creates a clock that reads real time.
   *
   * @param realNow The real time source, in milliseconds.
   * @throws {TypeError} If `realNow` is not a function.
   */
  constructor(realNow: () => number = Date.now) {
    if (typeof realNow !== "function") {
      throw new TypeError(
        `Cannot create the emulator clock: 'realNow' must be a function returning milliseconds, got ${typeof realNow}`,
      );
    }
    this.#realNow = realNow;
  }

  /**
   * Reads the emulator's time.
   *
   * @returns The time in milliseconds since the epoch.
   */
  now(): number {
    return this.#realNow() + this.#offset;
  }

  /**
   * Reads the emulator's time as a date.
   *
   * @returns The current emulator time.
   */
  date(): Date {
    return new Date(this.now());
  }

  /**
   * Moves the clock forward (or back, with a negative amount).
   *
   * @param ms How far to move, in milliseconds.
   * @throws {RangeError} If `ms` is not a finite number.
   */
  advance(ms: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms)) {
      throw new RangeError(
        `Cannot advance the emulator clock: 'ms' must be finite, got ${describe(ms)}`,
      );
    }
    this.#offset += ms;
    this.#notify();
  }

  /**
   * Sets the clock so that it reads `date` now; it keeps running from there.
   *
   * @param date The new time, as a date or milliseconds since the epoch.
   * @throws {RangeError} If `date` is not a valid time.
   */
  set(date: Date | number): void {
    const ms = typeof date === "number" ? date : date instanceof Date ? date.getTime() : NaN;
    if (!Number.isFinite(ms)) {
      throw new RangeError(
        `Cannot set the emulator clock: expected a valid date, got ${describe(date)}`,
      );
    }
    this.#offset = ms - this.#realNow();
    this.#notify();
  }

  /**
   * Registers a function called after every `advance` or `set`.
   *
   * @param listener The function.
   * @returns A function that removes the listener.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}
