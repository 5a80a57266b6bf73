/**
 * The conformance suite under `node:test`, for Node.js (`node --test`) and
 * Bun (`bun test`): `node/build.mjs` and `bun/build.mjs` bundle this file
 * with the module, and `run.ts` runs the bundle with `CONFORMANCE_CONTROL_URL`
 * pointing at the emulators it hosts in Deno.
 *
 * @module
 */

import { test } from "node:test";
import { connect } from "../../mod.ts";
import { type ConformanceContext, remoteContext } from "../conformance/_context.ts";
import { cases } from "../conformance/cases.ts";

const runtime = "Bun" in globalThis ? "bun" : "node";
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
const controlUrl = env?.CONFORMANCE_CONTROL_URL;
let context: Promise<ConformanceContext> | undefined;

for (const conformanceCase of cases) {
  const skip = conformanceCase.skip?.[runtime];
  test(conformanceCase.name, skip === undefined ? {} : { skip }, async () => {
    if (controlUrl === undefined) {
      throw new Error("Set CONFORMANCE_CONTROL_URL: run this through tests/runtimes/run.ts");
    }
    context ??= remoteContext({ runtime, controlUrl, connect });
    await conformanceCase.run(await context);
  });
}
