// Bundles the runtime-neutral client test for Node.js: one ESM file per test,
// TypeScript stripped, `await using` lowered for Node 20, node:* left external.
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

// Loaded with require() so that `deno check tests/` does not resolve this folder's node_modules.
const { build } = createRequire(import.meta.url)("esbuild");

const tests = ["client_runtime_test"];
const root = fileURLToPath(new URL("../../", import.meta.url));

await build({
  entryPoints: tests.map((name) => `${root}${name}.ts`),
  outdir: fileURLToPath(new URL("dist/", import.meta.url)),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
