/**
 * The conformance suite as a Worker. `run_in_workerd.mjs` bundles it the way
 * Wrangler does (esbuild, `workerd`/`worker`/`browser` conditions, no Node
 * built-ins) and runs it in workerd through Miniflare without
 * `nodejs_compat`: the main entry point and the `./cloudflare` transport
 * must load and work with Web APIs and `cloudflare:sockets` only.
 *
 * `GET /cases` lists the cases; `GET /run?case=NAME` runs one in its own
 * request (a Worker's sockets belong to the request that opened them).
 *
 * @module
 */

import * as main from "../../../mod.ts";
import { connect } from "../../../src/cloudflare.ts";
import { assert, assertEquals, assertRejects } from "../../conformance/_assert.ts";
import { remoteContext } from "../../conformance/_context.ts";
import { cases, type ConformanceCase } from "../../conformance/cases.ts";

interface Env {
  CONFORMANCE_CONTROL_URL: string;
}

/** Cases only a Worker runs: the whole main entry point, loaded in workerd. */
const workerCases: ConformanceCase[] = [{
  name: "package: the whole main entry point loads in a Worker without nodejs_compat",
  async run() {
    const exported = Object.keys(main);
    for (const name of ["createAuthToken", "IamAuth", "fromEnv", "fromWebIdentity", "connect"]) {
      assert(exported.includes(name), `mod.ts exports ${name}`);
    }
    assertEquals(typeof (globalThis as { process?: unknown }).process, "undefined");
    // The main entry's connect has no default transport here: it says to use ./cloudflare.
    await assertRejects(
      main.connect({ host: "127.0.0.1", port: 1 }),
      "TypeError",
      /cloudflareTransport from the '\.\/cloudflare' export/,
    );
  },
}];

const all = [...workerCases, ...cases];

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/cases") {
      return Response.json(all.map((c) => ({ name: c.name, skip: c.skip?.workerd })));
    }
    const conformanceCase = all.find((c) => c.name === url.searchParams.get("case"));
    if (conformanceCase === undefined) return new Response("no such case", { status: 404 });
    try {
      const ctx = await remoteContext({
        runtime: "workerd",
        controlUrl: env.CONFORMANCE_CONTROL_URL,
        connect,
        caCerts: false,
      });
      await conformanceCase.run(ctx);
      return Response.json({ ok: true });
    } catch (error) {
      return Response.json({ ok: false, error: String((error as Error).stack ?? error) });
    }
  },
};
