// Bundles, for Node.js 20 with esbuild, as a Lambda deployment is bundled:
// the conformance suite (tests/runtimes/node_entry.ts), the process-level
// client test (tests/client_runtime_test.ts) and the Lambda example
// (examples/lambda_handler.mjs, whose "@elasticache-iam/connector" imports
// resolve to this repository; tests/lambda_examples_test.ts builds it with the
// README's command instead). One ESM file per entry, TypeScript stripped,
// `await using` lowered, node:* built-ins left to Node, npm packages (aws4fetch,
// the AWS SDK's web identity provider) from this folder.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { packageAlias } from "../package_alias.mjs";

// Loaded with require() so that `deno check tests/` does not resolve this folder's node_modules.
const { build } = createRequire(import.meta.url)("esbuild");

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: {
    conformance_test: here("../node_entry.ts"),
    client_runtime_test: here("../../client_runtime_test.ts"),
    lambda_handler: here("../../../examples/lambda_handler.mjs"),
  },
  outdir: here("dist/"),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // ESM bundles of CommonJS packages need a require() for Node's built-ins.
  banner: {
    js:
      "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  plugins: [packageAlias],
  nodePaths: [here("node_modules")],
  sourcemap: "inline",
  logLevel: "warning",
});
