// An esbuild plugin that resolves "@elasticache-iam/connector" and its
// subpaths to this repository's files through deno.json's `exports`, the way
// `npx jsr add @elasticache-iam/connector` makes them resolve in a user's project.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const config = JSON.parse(readFileSync(new URL("deno.json", root), "utf8"));
const exportsMap = typeof config.exports === "string" ? { ".": config.exports } : config.exports;
const escaped = config.name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The plugin. */
export const packageAlias = {
  name: "package-alias",
  setup(build) {
    build.onResolve({ filter: new RegExp(`^${escaped}(/.*)?$`) }, (args) => {
      const subpath = `.${args.path.slice(config.name.length)}`;
      const target = exportsMap[subpath];
      if (target === undefined) {
        return { errors: [{ text: `'${args.path}' is not in deno.json's exports` }] };
      }
      return { path: fileURLToPath(new URL(target, root)) };
    });
  },
};
