/**
 * The sustained load run (`load.ts`) as a test: CI size by default (~12 s),
 * the long run with `LOAD_SIZE=long`. It runs in its own process, so that
 * memory is measured after forced garbage collections and without the test
 * runner's own allocations. Errors must be zero, token mints at most one per
 * refresh interval, and the heap's floor must not rise.
 */

import assert from "node:assert/strict";
import { formatReport, type LoadReport } from "./load.ts";

const SIZE = Deno.env.get("LOAD_SIZE") === "long" ? "long" : "ci";
/** How much the heap's floor may rise between the run's halves, in MB. */
const HEAP_FLOOR_SLACK_MB = 10;

Deno.test(`load (${SIZE}): mixed commands through the gateway, zero errors, bounded mints, no memory growth`, async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./load.ts", import.meta.url).pathname,
      `--size=${SIZE}`,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(SIZE === "long" ? 10 * 60_000 : 90_000),
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `the load run failed:\n${stderr}`);
  const report = JSON.parse(new TextDecoder().decode(output.stdout).trim()) as LoadReport;
  // deno-lint-ignore no-console
  console.log(formatReport(report));

  assert.equal(report.errors, 0, `errors: ${report.errorSamples.join("\n")}`);
  assert.equal(report.refusals, 0, "no token was refused");
  assert.equal(report.capCuts, 0, "no connection was cut at the cap");
  assert.ok(report.gc, "memory was measured after a forced GC");
  assert.ok(report.operations > 0 && report.byClient.thin.operations > 0);
  assert.ok(report.byClient.nodeRedis.operations > 0);
  assert.ok(report.emulatedMinutes > 30, "the run spanned the connection cap");
  assert.ok(report.reauths > 0, "connections re-authenticated along the way");
  assert.ok(
    report.mints <= report.mintBound,
    `${report.mints} mints for ${report.emulatedMinutes} minutes: at most one per refresh interval`,
  );
  assert.ok(
    report.heapFloorGrowthMB <= HEAP_FLOOR_SLACK_MB,
    `the heap's floor rose by ${report.heapFloorGrowthMB} MB: ${report.heapSamplesMB.join(", ")}`,
  );
});
