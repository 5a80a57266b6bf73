/**
 * Timers on a steady clock, as the runtime's are, and a wall clock that can
 * be stepped on its own, as NTP or a VM resume steps it: for client tests
 * that check that durations are measured on the steady clock and that a
 * wall-clock step moves no timeout and no schedule.
 *
 * ```ts
 * const clock = new SteppedClock();
 * const client = await connect({ host, transport, now: clock.wall, timers: clock });
 * clock.step(-3 * 3_600_000); // the wall clock goes back 3 hours; no timer moves
 * await pass(clock, 10_000); // 10 s pass on both clocks, firing due timers
 * ```
 *
 * @module
 */

import type { Timers } from "../../src/client/timers.ts";

interface Pending {
  /** When it fires, on the steady clock. */
  at: number;
  callback: () => void;
}

/**
 * Timers whose `now` is the steady clock (what {@linkcode Timers.now} must
 * be: durations are measured on it), and a separate, steppable wall clock,
 * {@linkcode SteppedClock.wall}, to pass as the client's `now` option.
 */
export class SteppedClock implements Timers {
  #steady = 0;
  #offset: number;
  #next = 1;
  readonly #pending = new Map<number, Pending>();

  /** @param start The wall clock's starting time, in ms since the epoch. */
  constructor(start = Date.UTC(2026, 10, 23, 12)) {
    this.#offset = start;
  }

  /** The steady clock, in ms from 0: only {@linkcode SteppedClock.advance} moves it. */
  now = (): number => this.#steady;

  /** The wall clock, in ms since the epoch; pass as the client's `now` option. */
  wall = (): number => this.#steady + this.#offset;

  /** How many timers are pending. */
  get pending(): number {
    return this.#pending.size;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#pending.set(id, { at: this.#steady + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Steps the wall clock by `ms` (negative: back); the steady clock and the timers stay. */
  step(ms: number): void {
    this.#offset += ms;
  }

  /** Lets `ms` pass on both clocks, firing, in time order, every timer that comes due. */
  advance(ms: number): void {
    const target = this.#steady + ms;
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
      this.#steady = Math.max(this.#steady, next.at);
      next.callback();
    }
    this.#steady = target;
  }
}

/** Lets promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 100; i++) await Promise.resolve();
}

/**
 * Lets `ms` pass in steps of `step` ms, letting promise callbacks run after
 * each, so that work a timer starts can go on before the next one fires.
 *
 * @param clock The clock to advance ({@linkcode SteppedClock} or fake timers).
 * @param ms How long.
 * @param step The step.
 */
export async function pass(
  clock: { advance(ms: number): void },
  ms: number,
  step = 100,
): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await settle();
  }
}
