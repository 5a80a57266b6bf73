/**
 * PROTOTYPE of a proposed change to `src/client/timers.ts`, kept here so the
 * benchmark can show its effect: on Deno 2.9 the global `setTimeout` is
 * Node's (it returns a `Timeout` object), and its first call loads the Node
 * compatibility timers (`node:timers`, `node:async_hooks`, `node:util`
 * inspect): 6–10 ms of every cold start, spent on the connect timeout.
 * `AbortSignal.timeout` uses Deno's own timers and costs well under 1 ms.
 *
 * An `AbortSignal.timeout` timer cannot be cancelled (here a flag makes a
 * cancelled one do nothing) and never keeps the process alive: fine for the
 * connect and command timeouts (a socket operation is pending meanwhile,
 * which keeps the process alive) and for the re-auth timer (meant to be
 * unref'd), not for the reconnect backoff, which the real fix should leave on
 * `setTimeout` (loaded only when a connection actually drops). This
 * prototype serves the cold-start measurement only, where nothing drops.
 *
 * @module
 */
import { systemTimers, type Timers } from "../../src/client/timers.ts";

interface SignalTimer {
  cancelled: boolean;
}

const hasDeno = (globalThis as { Deno?: unknown }).Deno !== undefined;

/**
 * Timers for the thin client: `AbortSignal.timeout` on Deno for timeouts
 * (the handles are `{cancelled}` objects), the runtime's timers elsewhere.
 */
export const cheapTimers: Timers = hasDeno
  ? {
    setTimeout(callback: () => void, ms: number): unknown {
      const timer: SignalTimer = { cancelled: false };
      AbortSignal.timeout(Math.max(0, ms)).addEventListener("abort", () => {
        if (!timer.cancelled) callback();
      }, { once: true });
      return timer;
    },
    clearTimeout(handle: unknown): void {
      if (handle !== null && typeof handle === "object" && "cancelled" in handle) {
        (handle as SignalTimer).cancelled = true;
      } else {
        systemTimers.clearTimeout(handle);
      }
    },
    unref(): void {
      // AbortSignal.timeout never keeps the process alive.
    },
  }
  : systemTimers;
