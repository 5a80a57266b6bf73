/**
 * The timer seam of the client: re-authentication, reconnect backoff and
 * command timeouts go through it, so tests can drive them without sleeping.
 *
 * @module
 */

/**
 * Timers as the client uses them. The default wraps `setTimeout`; tests pass
 * their own to fire timers by hand.
 */
export interface Timers {
  /**
   * Schedules `callback` after `ms` milliseconds.
   *
   * @param callback What to run.
   * @param ms The delay.
   * @returns A handle for `clearTimeout`.
   */
  setTimeout(callback: () => void, ms: number): unknown;
  /**
   * Cancels a timer; unknown or fired handles are ignored.
   *
   * @param handle What `setTimeout` returned.
   */
  clearTimeout(handle: unknown): void;
  /**
   * Lets the process exit while this timer is pending (`Deno.unrefTimer`,
   * Node's `timeout.unref()`). Used for background timers such as re-auth.
   *
   * @param handle What `setTimeout` returned.
   */
  unref?(handle: unknown): void;
}

/** The runtime's own timers. */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
  unref(handle) {
    if (typeof handle === "number") {
      const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
      deno?.unrefTimer?.(handle);
    } else {
      (handle as { unref?: () => void } | null)?.unref?.();
    }
  },
};

/**
 * Waits `ms` milliseconds on `timers`.
 *
 * @param timers The timers to use.
 * @param ms The delay.
 * @returns Resolves after the delay.
 */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}

/**
 * The delay before reconnect attempt `attempt` (0-based): between half and
 * all of `min(maxDelay, minDelay * 2^attempt)`, chosen at random so that many
 * clients cut at once do not reconnect in lockstep.
 *
 * @param attempt The number of failed attempts so far.
 * @param minDelay The first cap, in ms.
 * @param maxDelay The largest cap, in ms.
 * @param random A source of numbers in [0, 1).
 * @returns The delay in ms.
 */
export function backoffDelay(
  attempt: number,
  minDelay: number,
  maxDelay: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * cap / 2);
}
