/**
 * The conformance suite in Deno. Under `deno test -A` it starts the
 * emulators in this process; `tests/runtimes/run.ts` runs it again in a
 * separate Deno process with Deno Deploy's permissions only (net and env),
 * pointing it at its host with `CONFORMANCE_CONTROL_URL`.
 *
 * @module
 */

import { connect } from "../../mod.ts";
import { type ConformanceContext, remoteContext } from "./_context.ts";
import { type ConformanceHost, startConformanceHost } from "./_host.ts";
import { cases } from "./cases.ts";

const controlUrl = Deno.env.get("CONFORMANCE_CONTROL_URL");
let host: ConformanceHost | undefined;
let context: Promise<ConformanceContext> | undefined;

function conformanceContext(): Promise<ConformanceContext> {
  context ??= (async () => {
    let url = controlUrl;
    if (url === undefined) {
      host = await startConformanceHost();
      url = host.controlUrl;
    }
    return await remoteContext({ runtime: "deno", controlUrl: url, connect });
  })();
  return context;
}

for (const conformanceCase of cases) {
  Deno.test({
    name: `conformance: ${conformanceCase.name}`,
    ignore: conformanceCase.skip?.deno !== undefined,
    // The emulators outlive each case: their sockets and timers are not the case's.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await conformanceCase.run(await conformanceContext());
    },
  });
}

Deno.test({
  name: "conformance: stop the emulators",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await host?.[Symbol.asyncDispose]();
  },
});
