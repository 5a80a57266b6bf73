/**
 * The timer seam of the client: re-authentication, reconnect backoff and
 * command timeouts go through it, so tests can drive them without sleeping.
 *
 * @module
 */

import { signalTimeout, SignalTimer } from "../cold_start.ts";

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
   * @param handle What `setTimeout` or `setIoTimeout` returned.
   */
  clearTimeout(handle: unknown): void;
  /**
   * Lets the process exit while this timer is pending (`Deno.unrefTimer`,
   * Node's `timeout.unref()`). Used for background timers.
   *
   * @param handle What `setTimeout` returned.
   */
  unref?(handle: unknown): void;
  /**
   * Schedules `callback` after `ms` milliseconds for a timer that only runs
   * alongside socket work which keeps the process alive anyway (a connect
   * attempt, a command waiting for its reply, an open connection's
   * re-authentication) and is cleared when that work ends. Such a timer need
   * not keep the process alive, so it can be cheaper than `setTimeout`.
   * Optional: without it the client calls `setTimeout`, then `unref`.
   *
   * @param callback What to run.
   * @param ms The delay.
   * @returns A handle for `clearTimeout`.
   */
  setIoTimeout?(callback: () => void, ms: number): unknown;
  /**
   * A steady clock, in ms, that durations are measured on (how long a
   * command has waited): `performance.now` for the runtime's timers, so that
   * a wall clock stepped back or forward neither stretches nor cuts a
   * timeout; fake timers bring their own. Optional: without it, the client's
   * `now` is used.
   *
   * @returns The time in ms, from an arbitrary origin.
   */
  now?(): number;
}

function unrefRuntimeTimer(handle: unknown): void {
  if (typeof handle === "number") {
    const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
    deno?.unrefTimer?.(handle);
  } else {
    (handle as { unref?: () => void } | null)?.unref?.();
  }
}

/**
 * The runtime's own timers. On Deno, `setIoTimeout` runs on
 * `AbortSignal.timeout` (`signalTimeout`, a cold-start measure in
 * `../cold_start.ts`); elsewhere it is an unref'd `setTimeout`.
 */
export const systemTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout(handle) {
    if (handle instanceof SignalTimer) handle.cancel();
    else clearTimeout(handle as number);
  },
  unref(handle) {
    // A SignalTimer lives only as long as the socket work it guards.
    if (!(handle instanceof SignalTimer)) unrefRuntimeTimer(handle);
  },
  setIoTimeout: signalTimeout ?? ((callback, ms) => {
    const handle = setTimeout(callback, ms);
    unrefRuntimeTimer(handle);
    return handle;
  }),
};

/**
 * The runtime's timers for code that owns no socket of its own, such as the
 * node-redis credentials provider and the ioredis helper, whose sockets
 * belong to another client: their I/O timers are unref'd `setTimeout`s
 * everywhere (a {@linkcode systemTimers} I/O timer on Deno keeps the process
 * alive while it waits, which only the socket work it guards may do).
 */
export const backgroundTimers: Timers = {
  now: systemTimers.now!,
  setTimeout: systemTimers.setTimeout,
  clearTimeout: systemTimers.clearTimeout,
  unref: systemTimers.unref!,
};

/**
 * Schedules a timer that only runs alongside socket work (see
 * {@linkcode Timers.setIoTimeout}) on `timers`, falling back to an unref'd
 * `setTimeout`.
 *
 * @param timers The timers to use.
 * @param callback What to run.
 * @param ms The delay.
 * @returns A handle for `timers.clearTimeout`.
 */
export function setIoTimeout(timers: Timers, callback: () => void, ms: number): unknown {
  if (timers.setIoTimeout !== undefined) return timers.setIoTimeout(callback, ms);
  const handle = timers.setTimeout(callback, ms);
  timers.unref?.(handle);
  return handle;
}

/**
 * Waits `ms` milliseconds on `timers`; an abort ends the wait early (it then
 * resolves, it does not reject: the caller checks why it woke). The one
 * cancellable sleep of the module: backoffs and retry pauses use it, so that
 * `close()` never waits for a pause to run out.
 *
 * @param timers The timers to use.
 * @param ms The delay.
 * @param signal Ends the wait at once when aborted.
 * @returns Resolves after the delay, or as soon as `signal` aborts.
 */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = () => {
      timers.clearTimeout(handle);
      signal?.removeEventListener("abort", wake);
      resolve();
    };
    const handle = timers.setTimeout(wake, Math.max(0, ms));
    signal?.addEventListener("abort", wake, { once: true });
  });
}

/**
 * Waits for `work` at most `ms` milliseconds: the one way the module bounds a
 * wait on something it does not control (a credentials callback, a provider).
 * On time-out the returned promise rejects with `timeout()`'s error; `work`
 * goes on, and its outcome is ignored (a late rejection is caught, never
 * unhandled). The timer is an I/O timer (see {@linkcode setIoTimeout}): it
 * does not keep the process alive on its own (and on Deno it does not load
 * `node:timers` on a cold start). When `signal` aborts, the wait ends at once
 * with the signal's reason and the timer is cleared.
 *
 * @param work What to wait for.
 * @param ms The bound, in ms; `Infinity` waits as long as `work` takes.
 * @param timers The timers to use.
 * @param timeout Makes the error to reject with when time runs out.
 * @param signal Ends the wait (and clears the timer) when aborted.
 * @returns What `work` resolves to.
 */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  timers: Timers,
  timeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  if (ms === Infinity && signal === undefined) return work;
  if (signal?.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      if (handle !== undefined) timers.clearTimeout(handle);
      signal?.removeEventListener("abort", abort);
    };
    const abort = () => {
      done();
      reject(signal!.reason);
    };
    const handle = ms === Infinity ? undefined : setIoTimeout(timers, () => {
      signal?.removeEventListener("abort", abort);
      reject(timeout());
    }, Math.max(0, ms));
    signal?.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(error);
      },
    );
  });
}

/**
 * Waits for `work` until `signal` aborts: then the returned promise rejects
 * with the signal's reason, and `work`'s outcome is ignored. For waits that
 * `close()` must be able to end at once.
 *
 * @param work What to wait for.
 * @param signal Ends the wait.
 * @returns What `work` resolves to.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
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
