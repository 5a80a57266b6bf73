/**
 * The client's timer seam: `setIoTimeout` on the runtime's timers (on Deno,
 * `AbortSignal.timeout`, which does not load Node's timers), its fallback for
 * injected timers, and that a cleared one lets the process exit.
 */

import assert from "node:assert/strict";
import { setIoTimeout, systemTimers, type Timers } from "../src/client/timers.ts";

const wait = (ms: number) =>
  new Promise<void>((resolve) => systemTimers.setIoTimeout!(resolve, ms));

Deno.test("systemTimers.setIoTimeout runs its callback once, after the delay", async () => {
  const started = performance.now();
  let calls = 0;
  let firedAt = 0;
  systemTimers.setIoTimeout!(() => {
    calls++;
    firedAt = performance.now();
  }, 20);
  await wait(60);
  assert.equal(calls, 1);
  assert.ok(firedAt - started >= 19, `fired after ${firedAt - started} ms`);
});

Deno.test("systemTimers.clearTimeout cancels an io timeout", async () => {
  let fired = false;
  const handle = systemTimers.setIoTimeout!(() => fired = true, 10);
  systemTimers.clearTimeout(handle);
  systemTimers.clearTimeout(handle); // twice is harmless
  systemTimers.unref!(handle); // and so is unref
  await wait(40);
  assert.equal(fired, false);
});

Deno.test("on Deno, io timeouts do not use the global setTimeout", () => {
  const original = globalThis.setTimeout;
  let used = false;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    used = true;
    return original(...args);
  }) as typeof setTimeout;
  try {
    systemTimers.clearTimeout(systemTimers.setIoTimeout!(() => {}, 1000));
  } finally {
    globalThis.setTimeout = original;
  }
  assert.equal(used, false);
});

Deno.test("setIoTimeout falls back to setTimeout, then unref", () => {
  const calls: string[] = [];
  const timers: Timers = {
    setTimeout: (_callback, ms) => {
      calls.push(`setTimeout ${ms}`);
      return 7;
    },
    clearTimeout: () => {},
    unref: (handle) => void calls.push(`unref ${handle}`),
  };
  assert.equal(setIoTimeout(timers, () => {}, 5), 7);
  assert.deepEqual(calls, ["setTimeout 5", "unref 7"]);
  const withIo: Timers = { ...timers, setIoTimeout: () => "io" };
  assert.equal(setIoTimeout(withIo, () => {}, 5), "io");
});

Deno.test("a cleared io timeout does not keep the process alive", async () => {
  const timersUrl = new URL("../src/client/timers.ts", import.meta.url).href;
  const script = `
    import { systemTimers } from ${JSON.stringify(timersUrl)};
    systemTimers.clearTimeout(systemTimers.setIoTimeout(() => {}, 30_000));
  `;
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(output.success, true, new TextDecoder().decode(output.stderr));
  assert.ok(performance.now() - started < 10_000, "the process waited for the timer");
});
