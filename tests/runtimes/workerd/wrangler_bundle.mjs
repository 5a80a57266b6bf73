// deno-lint-ignore-file no-console -- a command line tool reports on stdout
// Bundles a Worker as Wrangler does (esbuild, platform "browser", conditions
// workerd/worker/browser, only `cloudflare:sockets` external, so any Node
// built-in reachable from the module fails the build), with this workspace's
// packages resolved to this repository (package_alias.mjs). Used by
// run_in_workerd.mjs and by tests/worker_weight_test.ts (through
// `node wrangler_bundle.mjs ENTRY OUTFILE…`, which prints each bundle's size).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { packageAlias } from "../package_alias.mjs";

// Loaded with require() so that `deno check tests/` does not resolve this folder's node_modules.
const require = createRequire(import.meta.url);
const { build } = require("esbuild");

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Bundles a Worker as Wrangler does; fails on any Node built-in. */
export function bundleWorker(entry, outfile, { minify = false } = {}) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2022",
    external: ["cloudflare:sockets"],
    plugins: [packageAlias],
    nodePaths: [here("./node_modules")],
    metafile: true,
    minify,
    logLevel: "silent",
  });
}

/** Throws unless the bundle imports nothing but cloudflare:sockets. */
export function assertWorkerSafe(result) {
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
  const external = [...new Set(imports.filter((i) => i.external).map((i) => i.path))];
  if (external.some((path) => path !== "cloudflare:sockets")) {
    throw new Error(`unexpected external imports: ${external.join(", ")}`);
  }
  const inputs = Object.keys(result.metafile.inputs).filter((path) => path.startsWith("node:"));
  if (inputs.length > 0) throw new Error(`Node built-ins in the bundle: ${inputs.join(", ")}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [, , ...pairs] = process.argv;
  const sizes = {};
  for (let i = 0; i < pairs.length; i += 2) {
    const result = await bundleWorker(pairs[i], pairs[i + 1], {
      minify: process.env.MINIFY === "1",
    });
    assertWorkerSafe(result);
    sizes[pairs[i + 1]] = Object.values(result.metafile.outputs)[0].bytes;
  }
  console.log(JSON.stringify(sizes));
}
