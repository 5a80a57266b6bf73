/**
 * The package as users get it: what each entry point loads at import time,
 * that the main entry point loads and signs with no npm resolution and no
 * permission at all, module docs for every export, a runnable `@example` for
 * every exported function, class and constant, the doc tests, doc lint, the
 * publish dry run, and that the README's TypeScript snippets and install lines
 * are right.
 * (A Worker built from `mod.ts` runs in workerd in `tests/runtimes/workerd`.)
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
  name: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
  compilerOptions: Record<string, unknown>;
  tasks: Record<string, string>;
};
const decoder = new TextDecoder();

/** One JSR package of the workspace: the core at the root, the others under `packages/`. */
interface Package {
  /** Its folder, relative to the root, with a trailing slash (`""` for the core). */
  dir: string;
  name: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

const PACKAGES: Package[] = [
  { dir: "", name: config.name, exports: config.exports, imports: config.imports },
  ...await Promise.all(
    (config as unknown as { workspace: string[] }).workspace.map(async (member) => {
      const dir = `${member.replace(/\/$/, "")}/`;
      const json = JSON.parse(await Deno.readTextFile(new URL(`${dir}deno.json`, ROOT)));
      return { dir, name: json.name, exports: json.exports, imports: json.imports ?? {} };
    }),
  ),
];

/** Every entry point of every package, as a path from the root (`packages/emulator/mod.ts`). */
const ENTRY_POINTS = PACKAGES.flatMap((pkg) =>
  Object.entries(pkg.exports).map(([subpath, file]) => ({
    pkg,
    subpath: `${pkg.name}${subpath.slice(1)}`,
    file: `${pkg.dir}${file.replace(/^\.\//, "")}`,
  }))
);

/**
 * The npm packages and the other workspace packages each package may import,
 * anywhere in what its exports reach (type-only and dynamic imports included):
 * what a user who installs it gets. The core brings only what it signs and
 * resolves credentials with; the integrations use the client the application
 * installed; only the emulator brings a JWT library.
 */
const ALLOWED_DEPENDENCIES: Record<string, string[]> = {
  "@elasticache-iam/connector": ["npm:aws4fetch"],
  "@elasticache-iam/emulator": ["jsr:@elasticache-iam/connector", "npm:jose"],
  "@elasticache-iam/node-redis": ["jsr:@elasticache-iam/connector"],
  "@elasticache-iam/ioredis": ["jsr:@elasticache-iam/connector"],
  "@elasticache-iam/otel": ["jsr:@elasticache-iam/connector", "npm:@opentelemetry/api"],
};

/** A package's folder, as a working directory. */
function rootOf(pkg: Package): string {
  return new URL(pkg.dir || "./", ROOT).pathname;
}

async function deno(args: string[], cwd = ROOT.pathname) {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

interface Dependency {
  specifier: string;
  code?: { specifier: string };
  type?: { specifier: string };
  isDynamic?: boolean;
}

interface ModuleGraph {
  modules: { specifier: string; kind: string; dependencies?: Dependency[]; npmPackage?: string }[];
  redirects: Record<string, string>;
  npmPackages: Record<string, { name: string; localPath?: string }>;
}

async function graphOf(entry: string): Promise<ModuleGraph> {
  const { code, stdout, stderr } = await deno(["info", "--json", entry]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/** What loading `entry` loads (code imports only, not types, not dynamic imports), and the dynamic imports it could make later. */
function reach(graph: ModuleGraph, entry: string) {
  const byUrl = new Map(graph.modules.map((m) => [m.specifier, m]));
  const root = new URL(entry, ROOT).href;
  const loaded = new Set<string>([root]);
  const dynamic: string[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const module = byUrl.get(queue.pop()!);
    for (const dep of module?.dependencies ?? []) {
      const code = dep.code?.specifier;
      if (code === undefined) continue; // a type-only import
      const target = graph.redirects[code] ?? code;
      if (dep.isDynamic) {
        dynamic.push(target);
        continue;
      }
      if (!loaded.has(target)) {
        loaded.add(target);
        queue.push(target);
      }
    }
  }
  const npm = [...loaded].flatMap((url) => {
    const module = byUrl.get(url);
    return module?.kind === "npm" ? [module.npmPackage!.replace(/@[^@]+$/, "")] : [];
  });
  return { loaded: [...loaded], dynamic, npm };
}

const relative = (url: string) => url.startsWith(ROOT.href) ? url.slice(ROOT.href.length) : url;

Deno.test("mod.ts loads no node:* or cloudflare:* module, and only aws4fetch from npm, at import time", async () => {
  const graph = await graphOf("mod.ts");
  const { loaded, dynamic, npm } = reach(graph, "mod.ts");
  const foreign = loaded.filter((url) => !url.startsWith(ROOT.href) && !url.startsWith("npm:"));
  assert.deepEqual(foreign, [], "node:, cloudflare:, jsr: or remote modules");
  // aws4fetch is imported statically: in Deno, a dynamic import() of an npm package at the
  // first signature cost about 3–4 ms of a cold start, against about 1.5 ms at import.
  assert.deepEqual(npm, ["aws4fetch"]);
  assert.ok(loaded.every((url) => !relative(url).startsWith("packages/")), "another package");
  assert.ok(loaded.every((url) => !relative(url).startsWith("src/cluster")), "the cluster client");
  // Loaded on first use only: the Node/Bun socket transport, and the STS client for web identity.
  // The credential sources that read files or metadata endpoints load on their first call.
  // (The token manager and the default chain, for a URL's user, are loaded statically already.)
  assert.deepEqual([...new Set(dynamic.map(relative))].sort(), [
    "src/credentials/chain.ts",
    "src/credentials/container.ts",
    "src/credentials/instance_metadata.ts",
    "src/credentials/process.ts",
    "src/credentials/profile.ts",
    "src/credentials/sso.ts",
    "src/credentials/sts_web_identity.ts",
    "src/iam_auth.ts",
    "src/transport/node.ts",
  ]);
  // Even that transport imports no Node built-in: it asks process.getBuiltinModule, so
  // bundlers for Workers that follow the dynamic import find nothing to resolve.
  const transport = reach(graph, "src/transport/node.ts");
  assert.deepEqual(transport.loaded.map(relative).sort(), [
    "src/transport/node.ts",
  ]);
});

Deno.test("./cloudflare loads cloudflare:sockets on first connect only, and no node:* module", async () => {
  const graph = await graphOf("src/cloudflare.ts");
  const { loaded, dynamic, npm } = reach(graph, "src/cloudflare.ts");
  assert.deepEqual(loaded.filter((url) => !url.startsWith(ROOT.href)), []);
  assert.deepEqual(npm, []);
  // The one client class may load the Node.js transport for a client made
  // without a transport on Node.js or Bun; it imports no Node built-in (it asks
  // process.getBuiltinModule), so a Worker's bundler has nothing to resolve.
  // A URL's user loads the token manager (and aws4fetch) on the first connect.
  assert.deepEqual(dynamic.map(relative).sort(), [
    "cloudflare:sockets",
    "src/credentials/chain.ts",
    "src/iam_auth.ts",
    "src/transport/node.ts",
  ]);
});

Deno.test("mod.ts loads and signs in a Deno process with no permissions and npm resolution off", async () => {
  const graph = await graphOf("mod.ts");
  const aws4fetch = Object.values(graph.npmPackages).find((p) => p.name === "aws4fetch");
  assert.ok(aws4fetch?.localPath, "aws4fetch is in Deno's npm cache");
  const manifest = JSON.parse(await Deno.readTextFile(`${aws4fetch.localPath}/package.json`));
  const dir = await Deno.makeTempDir({ prefix: "no-npm-" });
  try {
    // aws4fetch as a plain file: the only third-party code the main entry point loads.
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({
        imports: { aws4fetch: `file://${aws4fetch.localPath}/${manifest.module}` },
      }),
    );
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `import * as main from ${JSON.stringify(new URL("mod.ts", ROOT).href)};
const token = await main.createAuthToken({
  serverlessCacheName: "my-cache",
  userId: "my-user",
  region: "us-east-1",
  credentials: main.fromEnv({ env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" } }),
  signingDate: new Date("2026-11-23T12:00:00Z"),
});
console.log(Object.keys(main).length, token.split("&X-Amz-Signature=")[0]);
`,
    );
    const result = await deno([
      "run",
      "--no-npm",
      "--no-remote",
      "--no-lock",
      "--no-prompt",
      "--config",
      `${dir}/deno.json`,
      `${dir}/probe.ts`,
    ], dir);
    assert.equal(result.code, 0, result.stderr);
    const [count, token] = result.stdout.trim().split(" ");
    assert.ok(Number(count) > 10, `mod.ts exports ${count} values`);
    assert.equal(
      token,
      "my-cache/?Action=connect&User=my-user&ResourceType=ServerlessCache" +
        "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261123%2Fus-east-1%2F" +
        "elasticache%2Faws4_request&X-Amz-Date=20261123T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface DocJsDoc {
  doc?: string;
  tags?: { kind: string; doc?: string }[];
}

interface DocNode {
  module_doc?: DocJsDoc;
  symbols?: { name: string; declarations: { kind: string; jsDoc?: DocJsDoc }[] }[];
}

const docs = new Map<string, Promise<DocNode>>();

/** What `deno doc --json` says about an entry point: its module doc and the symbols it exports. */
function docOf(file: string): Promise<DocNode> {
  let doc = docs.get(file);
  if (doc === undefined) {
    doc = deno(["doc", "--json", file]).then(({ code, stdout, stderr }) => {
      assert.equal(code, 0, stderr);
      const json = JSON.parse(stdout) as { nodes?: Record<string, DocNode> };
      return json.nodes?.[new URL(file, ROOT).href] ?? {};
    });
    docs.set(file, doc);
  }
  return doc;
}

Deno.test("every export in deno.json has a module doc whose first line says what it is", async () => {
  for (const { subpath, file } of ENTRY_POINTS) {
    const moduleDoc = (await docOf(file)).module_doc?.doc ?? "";
    const firstLine = moduleDoc.trim().split("\n")[0] ?? "";
    assert.ok(firstLine.length > 10, `${subpath} (${file}) has no @module doc`);
  }
});

/** The languages of the code blocks `deno test --doc` type-checks and runs. */
const DOC_TEST_LANGUAGES = new Set([
  "ts",
  "typescript",
  "mts",
  "cts",
  "tsx",
  "js",
  "javascript",
  "mjs",
  "cjs",
  "jsx",
]);

/** Whether an `@example` holds a code block `deno test --doc` runs: a JS/TS one without `ignore`. */
function hasRunnableCode(example: string): boolean {
  return [...example.matchAll(/^\s*```([^\s`]*)(.*)$/gm)].some(([, lang, attributes]) =>
    DOC_TEST_LANGUAGES.has(lang!) && !/(^|\s)ignore(\s|$)/.test(attributes!)
  );
}

/**
 * Functions, classes, variables and enums: the symbols with behavior an example can run.
 * Interfaces and type aliases are exempt: they have nothing to run, and the
 * examples of the functions and classes that take or return them show them in use.
 */
const VALUE_KINDS = new Set(["function", "class", "variable", "enum"]);

Deno.test("every exported function, class and constant has an @example that deno test --doc runs", async () => {
  const missing: string[] = [];
  // `./internal` is the workspace's own plumbing, shown by its module example only.
  for (const { subpath, file } of ENTRY_POINTS.filter((e) => !e.subpath.endsWith("/internal"))) {
    for (const symbol of (await docOf(file)).symbols ?? []) {
      if (!symbol.declarations.some((d) => VALUE_KINDS.has(d.kind))) continue;
      const examples = symbol.declarations.flatMap((d) =>
        (d.jsDoc?.tags ?? []).filter((tag) => tag.kind === "example").map((tag) => tag.doc ?? "")
      );
      if (!examples.some(hasRunnableCode)) {
        missing.push(`${subpath}: ${symbol.name}${examples.length > 0 ? " (only ignored)" : ""}`);
      }
    }
  }
  assert.deepEqual(missing, [], "symbols without a runnable @example");
});

Deno.test("deno doc --lint is clean for every package's exports", async () => {
  for (const pkg of PACKAGES) {
    // Linted together, as JSR documents a package: a type that one entry
    // point uses and another exports (`./cluster` and `Pipeline`) is public.
    const files = Object.values(pkg.exports);
    const { code, stdout, stderr } = await deno(["doc", "--lint", ...files], rootOf(pkg));
    assert.equal(code, 0, `${pkg.name}: ${stdout}${stderr}`);
  }
});

Deno.test("the examples in every package's docs run: deno test --doc", async () => {
  for (const pkg of PACKAGES) {
    // The entry points at a package's top and `src/` hold every module it loads.
    const roots = [
      ...new Set(
        Object.values(pkg.exports).map((file) => file.startsWith("./src/") ? "src/" : file),
      ),
    ];
    try {
      if (!roots.includes("src/") && (await Deno.stat(`${rootOf(pkg)}src`)).isDirectory) {
        roots.push("src/");
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const { code, stdout, stderr } = await deno(["test", "-A", "--doc", ...roots], rootOf(pkg));
    assert.equal(code, 0, `${pkg.name}: ${stdout.slice(-6000)}${stderr.slice(-4000)}`);
    assert.match(stdout, /^ok \| [1-9]\d* passed \| 0 failed/m, pkg.name);
  }
});

Deno.test("deno publish --dry-run passes for every package, with no slow types", async () => {
  for (const pkg of PACKAGES) {
    const { code, stdout, stderr } = await deno(
      ["publish", "--dry-run", "--allow-dirty"],
      rootOf(pkg),
    );
    const output = `${stdout}${stderr}`;
    assert.equal(code, 0, `${pkg.name}: ${output}`);
    // Diagnostics read "warning[code]: …" or "error[missing-explicit-return-type]: …".
    assert.doesNotMatch(output, /^(warning|error)\[/m, pkg.name);
    // Each publish is that package alone: the core's carries no member's file.
    assert.ok(output.includes(`Simulating publish of ${pkg.name}@`), `${pkg.name}: ${output}`);
    if (pkg.dir === "") assert.doesNotMatch(output, /\/packages\//, pkg.name);
  }
});

Deno.test("each package reaches only its allowed npm and workspace packages (deno info --json)", async () => {
  const packageOf = (url: string) =>
    PACKAGES.filter((pkg) => url.startsWith(new URL(pkg.dir, ROOT).href))
      .sort((a, b) => b.dir.length - a.dir.length)[0];
  for (const pkg of PACKAGES) {
    const found = new Set<string>();
    for (const file of Object.values(pkg.exports)) {
      const graph = await graphOf(`${pkg.dir}${file.replace(/^\.\//, "")}`);
      for (const module of graph.modules) {
        if (packageOf(module.specifier) !== pkg) continue;
        for (const dep of module.dependencies ?? []) {
          for (const target of [dep.code?.specifier, dep.type?.specifier]) {
            if (target === undefined) continue;
            const resolved = graph.redirects[target] ?? target;
            if (resolved.startsWith("npm:")) {
              found.add(`npm:${resolved.slice(4).replace(/^\//, "").replace(/(.)@.*$/, "$1")}`);
            } else if (resolved.startsWith(ROOT.href)) {
              if (packageOf(resolved) !== pkg) found.add(`jsr:${packageOf(resolved)!.name}`);
            } else if (!/^(node|cloudflare):/.test(resolved)) {
              found.add(resolved);
            }
          }
        }
      }
    }
    assert.deepEqual([...found].sort(), ALLOWED_DEPENDENCIES[pkg.name], pkg.name);
  }
});

Deno.test("the README's install lines name this package", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  for (
    const line of [
      `deno add jsr:${config.name}`,
      `npx jsr add ${config.name}`,
      `bunx jsr add ${config.name}`,
    ]
  ) {
    assert.ok(readme.includes(line), `README lacks '${line}'`);
  }
});

Deno.test("every package README's TypeScript snippets type-check against this checkout", async () => {
  const readme = (await Promise.all(
    PACKAGES.map((pkg) => Deno.readTextFile(new URL(`${pkg.dir}README.md`, ROOT))),
  )).join("\n");
  const snippets = [...readme.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!
  );
  assert.ok(snippets.length >= 3, "the README has TypeScript snippets");
  const dir = await Deno.makeTempDir({ prefix: "readme-snippets-" });
  try {
    // jsr:@elasticache-iam/connector (and its subpaths) are this checkout's files.
    const imports: Record<string, string> = Object.assign(
      {},
      ...PACKAGES.map((pkg) => pkg.imports),
    );
    for (const { subpath, file } of ENTRY_POINTS) {
      imports[`jsr:${subpath}`] = new URL(file, ROOT).href;
      imports[subpath] = new URL(file, ROOT).href;
    }
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ imports, compilerOptions: config.compilerOptions }),
    );
    // Snippets may use the `auth` made in an earlier one.
    await Deno.writeTextFile(
      `${dir}/globals.d.ts`,
      `declare const auth: import("jsr:${config.name}").IamAuth;\n`,
    );
    const files = [];
    for (const [i, snippet] of snippets.entries()) {
      const file = `${dir}/snippet_${String(i + 1).padStart(2, "0")}.ts`;
      await Deno.writeTextFile(file, `/// <reference path="./globals.d.ts" />\n${snippet}`);
      files.push(file);
    }
    const result = await deno(["check", "--config", `${dir}/deno.json`, ...files], dir);
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The import cycles among this checkout's files, each as a path that comes back
 * to its start: one per back edge of a depth-first walk, so none when there are none.
 */
function importCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const cycles: string[][] = [];
  const visit = (module: string) => {
    path.push(module);
    onPath.add(module);
    for (const next of edges.get(module) ?? []) {
      if (onPath.has(next)) cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!done.has(next)) visit(next);
    }
    path.pop();
    onPath.delete(module);
    done.add(module);
  };
  for (const module of [...edges.keys()].sort()) if (!done.has(module)) visit(module);
  return cycles;
}

Deno.test("no import cycle among the package's files, type-only and dynamic imports included", async () => {
  const edges = new Map<string, Set<string>>();
  for (const { file } of ENTRY_POINTS) {
    const graph = await graphOf(file);
    for (const module of graph.modules) {
      if (!module.specifier.startsWith(ROOT.href)) continue;
      const targets = edges.get(module.specifier) ?? new Set<string>();
      edges.set(module.specifier, targets);
      for (const dep of module.dependencies ?? []) {
        for (const target of [dep.code?.specifier, dep.type?.specifier]) {
          const resolved = target === undefined ? undefined : graph.redirects[target] ?? target;
          if (resolved?.startsWith(ROOT.href)) targets.add(resolved);
        }
      }
    }
  }
  assert.ok(edges.size > 20, "the graph holds the package's files");
  assert.deepEqual(importCycles(edges).map((cycle) => cycle.map(relative).join(" → ")), []);
});

Deno.test("the cache-name, user-id and region patterns are written once, in src/token.ts", async () => {
  const token = await import("../src/token.ts");
  const patterns = Object.entries(token).filter(([, value]) => value instanceof RegExp) as [
    string,
    RegExp,
  ][];
  const sources: { file: string; text: string }[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir));
      else if (entry.name.endsWith(".ts")) {
        const url = new URL(entry.name, dir);
        sources.push({ file: relative(url.href), text: await Deno.readTextFile(url) });
      }
    }
  };
  await walk(new URL("src/", ROOT));
  const copies = Object.fromEntries(
    ["CACHE_NAME_PATTERN", "USER_ID_PATTERN", "REGION_PATTERN"].map((name) => {
      const pattern = patterns.find(([exported]) => exported === name)?.[1];
      const literal = pattern === undefined ? undefined : `/${pattern.source}/`;
      return [
        name,
        literal === undefined
          ? "not exported"
          : sources.filter(({ text }) => text.includes(literal)).map(({ file }) => file),
      ];
    }),
  );
  assert.deepEqual(copies, {
    CACHE_NAME_PATTERN: ["src/token.ts"],
    USER_ID_PATTERN: ["src/token.ts"],
    REGION_PATTERN: ["src/token.ts"],
  });
});
