/**
 * Timers and a clock for client tests: nothing fires until the test moves
 * the clock.
 *
 * @module
 */

import type { Timers } from "../../src/client/timers.ts";

interface Pending {
  at: number;
  callback: () => void;
}

/** A manual clock with timers that fire when it is advanced. */
export class FakeTimers implements Timers {
  #now: number;
  #next = 1;
  readonly #pending = new Map<number, Pending>();

  /** @param start The clock's starting time, in ms. */
  constructor(start = Date.UTC(2026, 10, 23, 12)) {
    this.#now = start;
  }

  /** The current time; pass as the client's `now`. */
  now = (): number => this.#now;

  /** How many timers are pending. */
  get pending(): number {
    return this.#pending.size;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#pending.set(id, { at: this.#now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Moves the clock and fires, in time order, every timer that is due. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let nextId: number | undefined;
      let next: Pending | undefined;
      for (const [id, timer] of this.#pending) {
        if (timer.at <= target && (next === undefined || timer.at < next.at)) {
          nextId = id;
          next = timer;
        }
      }
      if (next === undefined) break;
      this.#pending.delete(nextId!);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = target;
  }
}
