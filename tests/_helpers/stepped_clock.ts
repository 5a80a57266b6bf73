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

import { FakeTimers } from "./client_fake_timers.ts";

/**
 * Fake timers whose `now` is the steady clock (what `Timers.now` must be:
 * durations are measured on it), and a separate, steppable wall clock,
 * {@linkcode SteppedClock.wall}, to pass as the client's `now` option.
 */
export class SteppedClock extends FakeTimers {
  #offset: number;

  /** @param start The wall clock's starting time, in ms since the epoch. */
  constructor(start = Date.UTC(2026, 10, 23, 12)) {
    super(0);
    this.#offset = start;
  }

  /** The wall clock, in ms since the epoch; pass as the client's `now` option. */
  wall = (): number => this.now() + this.#offset;

  /** Steps the wall clock by `ms` (negative: back); the steady clock and the timers stay. */
  step(ms: number): void {
    this.#offset += ms;
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
