// deno-lint-ignore-file no-console -- a build script reports build errors
// Bundles the conformance suite (tests/runtimes/node_entry.ts) and the
// process-level client test (tests/client_runtime_test.ts) with Bun's own
// bundler and TypeScript transpiler, for `bun test`. The module's npm
// dependencies (named in deno.json's import map) come from this folder.
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const imports = Object.keys((await Bun.file(here("../../../deno.json")).json()).imports);
const escaped = imports.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));

const result = await Bun.build({
  entrypoints: [here("../node_entry.ts"), here("../../client_runtime_test.ts")],
  outdir: here("dist"),
  naming: "[name].test.[ext]",
  target: "bun",
  format: "esm",
  sourcemap: "inline",
  plugins: [{
    name: "packages from this folder",
    setup(build) {
      build.onResolve({ filter: new RegExp(`^(${escaped.join("|")})$`) }, (args) => ({
        path: Bun.resolveSync(args.path, here(".")),
      }));
    },
  }],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
