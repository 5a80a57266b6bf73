/** A clock for tests: it stands still until moved. */
export class ManualClock {
  #now: number;

  /** @param start The starting time. */
  constructor(start: Date | number = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  /** The current time in milliseconds; pass `clock.now` where a `now` option is taken. */
  now = (): number => this.#now;

  /** Moves the clock forward. */
  advance(ms: number): void {
    this.#now += ms;
  }
}
