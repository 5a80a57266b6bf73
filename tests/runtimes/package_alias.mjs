// An esbuild plugin that resolves this workspace's packages
// ("@elasticache-iam/connector", "@elasticache-iam/node-redis", … and their
// subpaths) to this repository's files through each deno.json's `exports`, the
// way `npx jsr add …` makes them resolve in a user's project.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const rootConfig = JSON.parse(readFileSync(new URL("deno.json", root), "utf8"));
/** Each package's folder and `exports`, by name. */
const packages = new Map(
  [".", ...(rootConfig.workspace ?? [])].map((member) => {
    const dir = new URL(member.endsWith("/") ? member : `${member}/`, root);
    const config = member === "." ? rootConfig : JSON.parse(
      readFileSync(new URL("deno.json", dir), "utf8"),
    );
    const exportsMap = typeof config.exports === "string"
      ? { ".": config.exports }
      : config.exports;
    return [config.name, { dir, exportsMap }];
  }),
);
const scope = rootConfig.name.slice(0, rootConfig.name.indexOf("/"));

/** The plugin. */
export const packageAlias = {
  name: "package-alias",
  setup(build) {
    build.onResolve({ filter: new RegExp(`^${scope}/`) }, (args) => {
      const name = args.path.split("/").slice(0, 2).join("/");
      const pkg = packages.get(name);
      const subpath = `.${args.path.slice(name.length)}`;
      const target = pkg?.exportsMap[subpath];
      if (target === undefined) {
        return { errors: [{ text: `'${args.path}' is not in a workspace deno.json's exports` }] };
      }
      return { path: fileURLToPath(new URL(target, pkg.dir)) };
    });
  },
};
