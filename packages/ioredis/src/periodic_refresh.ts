/**
 * The periodic token refresh both helpers run: every `refreshInterval`, the
 * stored token is replaced by one valid now, so that a connection ioredis
 * opens (a reconnect, a new cluster node) never carries an old one. One
 * unref'd timer, re-armed after each run, ended by `stop()`.
 *
 * @module
 */

import type { Timers } from "@elasticache-iam/connector/internal";

/** A repeating, unref'd timer that runs `refresh` every `interval` ms until stopped. */
export class PeriodicRefresh {
  readonly #timers: Timers;
  readonly #interval: number;
  readonly #refresh: () => void;
  #timer: unknown;
  #stopped = false;

  /**
   * Makes the refresh; nothing runs until {@linkcode PeriodicRefresh.start}.
   *
   * @param timers The timers it runs on.
   * @param interval Between two runs, in ms.
   * @param refresh What each run does (it must not throw).
   */
  constructor(timers: Timers, interval: number, refresh: () => void) {
    this.#timers = timers;
    this.#interval = interval;
    this.#refresh = refresh;
  }

  /** Starts (or restarts) the schedule: the first run is one interval from now. */
  start(): void {
    this.#clear();
    if (this.#stopped) return;
    const timer = this.#timers.setTimeout(() => {
      if (this.#timer !== timer || this.#stopped) return;
      this.#timer = undefined;
      this.#refresh();
      this.start();
    }, this.#interval);
    this.#timer = timer;
    this.#timers.unref?.(timer);
  }

  /** Stops it for good; a run already due does nothing. */
  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
