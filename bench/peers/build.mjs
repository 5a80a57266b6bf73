// deno-lint-ignore-file no-console
// Bundles benchmark programs for Node.js 20 with esbuild, as a Lambda
// deployment would: one ESM file per program, everything inlined except
// native bindings. `npm:name@version` specifiers (Deno's) resolve to the
// packages installed here; bare ones (`redis`, `aws4fetch`) too; this workspace's
// packages (`@elasticache-iam/…`) to this checkout's files.
//
//   node build.mjs <outdir> <entry.ts>...
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { packageAlias } from "../../tests/runtimes/package_alias.mjs";

// Loaded with require() so that `deno check bench/` does not try to resolve
// this folder's node_modules.
const { build } = createRequire(import.meta.url)("esbuild");

const here = dirname(fileURLToPath(import.meta.url));
const [outdir, ...entries] = process.argv.slice(2);
if (!outdir || entries.length === 0) {
  console.error("Usage: node build.mjs <outdir> <entry.ts>...");
  process.exit(2);
}

/** Packages with native code: left to Node to load from this folder's node_modules. */
const EXTERNAL = new Set(["@valkey/valkey-glide"]);

/** `npm:@scope/name@1.2.3/sub` → `@scope/name/sub`. */
function packageSpecifier(specifier) {
  const rest = specifier.slice("npm:".length);
  const parts = rest.split("/");
  const scoped = rest.startsWith("@");
  const nameParts = parts.slice(0, scoped ? 2 : 1);
  const last = nameParts.length - 1;
  nameParts[last] = nameParts[last].replace(/@[^@]*$/, "");
  return [...nameParts, ...parts.slice(scoped ? 2 : 1)].join("/");
}

const denoSpecifiers = {
  name: "deno-specifiers",
  setup(b) {
    b.onResolve({ filter: /^npm:/ }, async (args) => {
      const path = packageSpecifier(args.path);
      if (EXTERNAL.has(path)) return { path, external: true };
      return await b.resolve(path, { kind: args.kind, resolveDir: args.resolveDir });
    });
    b.onResolve(
      { filter: /^@valkey\/valkey-glide$/ },
      (args) => ({ path: args.path, external: true }),
    );
  },
};

await Promise.all(entries.map((entry) =>
  build({
    entryPoints: [entry],
    outfile: join(outdir, basename(entry).replace(/\.ts$/, ".mjs")),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    nodePaths: [join(here, "node_modules")],
    plugins: [packageAlias, denoSpecifiers],
    // node-redis and friends call require() for Node built-ins.
    banner: {
      js:
        "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: "error",
  })
));
