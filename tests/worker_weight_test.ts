/**
 * The weight `defaultCredentials()` adds to a Cloudflare Worker: two Workers
 * that differ only in where their AWS credentials come from (`fromEnv` and
 * `defaultCredentials`, both reading the Worker's bindings) are bundled as
 * Wrangler does (`tests/runtimes/workerd/wrangler_bundle.mjs`, minified as
 * `wrangler deploy --minify`), and each bundle is imported by Node.js (its
 * `cloudflare:sockets` import pointed at an empty module) to time what the
 * isolate evaluates before the first request.
 */

import assert from "node:assert/strict";
import { nodeImportMs } from "./_helpers/import_time.ts";
import { run } from "./_helpers/iam_emulator.ts";
import { npmCi } from "./_helpers/npm_ci.ts";

const HARNESS = new URL("runtimes/workerd/", import.meta.url);

function workerSource(credentials: "fromEnv" | "defaultCredentials"): string {
  return `import { ${credentials}, IamAuth } from "@elasticache-iam/connector";
import { connect } from "@elasticache-iam/connector/cloudflare";

let auth: IamAuth | undefined;

export default {
  async fetch(_request: Request, env: Record<string, string>): Promise<Response> {
    auth ??= new IamAuth({
      serverlessCacheName: "my-cache",
      userId: "iam-user-01",
      region: "us-east-1",
      credentials: ${credentials}({ env }),
    });
    const client = await connect({ host: env.CACHE_HOST!, tls: true, auth });
    try {
      return new Response(String(await client.ping()));
    } finally {
      await client.close();
    }
  },
};
`;
}

Deno.test("weight: a Worker using defaultCredentials() bundles to at most 1.3× the fromEnv() one and imports at most 3 ms slower", async () => {
  const problem = await npmCi(HARNESS.pathname);
  if (problem !== undefined) throw new Error(problem);
  const dir = await Deno.makeTempDir();
  try {
    const built: Record<string, { bytes: number; importMs: number }> = {};
    for (const name of ["fromEnv", "defaultCredentials"] as const) {
      await Deno.writeTextFile(`${dir}/${name}.ts`, workerSource(name));
      const result = await run(
        "node",
        [
          new URL("wrangler_bundle.mjs", HARNESS).pathname,
          `${dir}/${name}.ts`,
          `${dir}/${name}.mjs`,
        ],
        { MINIFY: "1" },
      );
      assert.equal(result.code, 0, result.stderr);
      const bundle = await Deno.readTextFile(`${dir}/${name}.mjs`);
      // Node cannot load cloudflare:sockets; the bundle imports it only on connect.
      const runnable = bundle.replaceAll(
        `"cloudflare:sockets"`,
        `"data:text/javascript,export function connect(){}"`,
      );
      await Deno.writeTextFile(`${dir}/${name}.node.mjs`, runnable);
      built[name] = {
        bytes: new TextEncoder().encode(bundle).length,
        importMs: await nodeImportMs(`${dir}/${name}.node.mjs`),
      };
    }
    const ratio = built.defaultCredentials!.bytes / built.fromEnv!.bytes;
    const slower = built.defaultCredentials!.importMs - built.fromEnv!.importMs;
    // The figures, for a failure's message (the bench reports; this test asserts).
    const figures =
      `fromEnv ${built.fromEnv!.bytes} B, ${built.fromEnv!.importMs.toFixed(1)} ms; ` +
      `defaultCredentials ${built.defaultCredentials!.bytes} B, ` +
      `${built.defaultCredentials!.importMs.toFixed(1)} ms`;
    assert.ok(ratio <= 1.3, `${ratio.toFixed(2)}× the fromEnv() bundle (${figures})`);
    assert.ok(slower <= 3, `${slower.toFixed(1)} ms slower to import (${figures})`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
