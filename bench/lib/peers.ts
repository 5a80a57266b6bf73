/**
 * The benchmark's own dependencies: the Node peer packages (installed with
 * `npm ci` from `bench/peers/package-lock.json` when missing), the Deno
 * programs' modules and npm packages (in Deno's cache), the Node bundles of
 * the programs (esbuild), and `redis-server` / `redis-benchmark`.
 *
 * Everything is fetched here, by the runner, with its own environment. The
 * programs run later with a cleared environment (`runProgram`), which drops
 * whatever lets this machine reach the registry (a proxy's CA in
 * `NODE_EXTRA_CA_CERTS` or `DENO_CERT`, say), and Deno's run with
 * `--cached-only`: no program downloads anything while it is measured.
 *
 * @module
 */
import { ensureRedisServer } from "../../packages/emulator/src/ensure_redis_server.ts";
import { ROOT } from "./process.ts";

const PEERS = `${ROOT}/bench/peers`;
const PROGRAMS = "bench/programs";

/** The programs that also run on Node.js 20, bundled. */
export const NODE_PROGRAMS = [
  "cold_floor_node.ts",
  "cold_thin.ts",
  "cold_thin_custom_presign.ts",
  "cold_chain_thin.ts",
  "cold_chain_sdk.ts",
  "cold_node_redis_aws4fetch.ts",
  "cold_node_redis_provider.ts",
  "cold_node_redis_smithy.ts",
  "throughput_thin.ts",
  "throughput_thin_otel.ts",
  "throughput_node_redis.ts",
  "throughput_ioredis.ts",
  "throughput_glide.ts",
  "throughput_raw.ts",
  "throughput_codec.ts",
  "mint_cost.ts",
];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function run(argv: string[], cwd: string, what: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(`Cannot ${what}: '${argv[0]}' cannot be run (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-10).join("\n");
    throw new Error(`Cannot ${what}: '${argv.join(" ")}' failed:\n${stderr}`);
  }
  return new TextDecoder().decode(output.stdout).trim();
}

/**
 * Installs the Node peers when `node_modules` is missing or older than the
 * lockfile (`npm ci`: exactly the locked versions).
 *
 * @param log Progress lines.
 */
export async function ensurePeers(log: (line: string) => void): Promise<void> {
  const marker = `${PEERS}/node_modules/.package-lock.json`;
  const lock = await Deno.stat(`${PEERS}/package-lock.json`);
  const installed = await exists(marker) ? await Deno.stat(marker) : undefined;
  if (installed && (installed.mtime?.getTime() ?? 0) >= (lock.mtime?.getTime() ?? 0)) return;
  log("Installing the Node peers (npm ci in bench/peers)…");
  await run(["npm", "ci", "--no-audit", "--no-fund"], PEERS, "install the Node peers");
}

/**
 * Caches what every program under `bench/programs/` imports, npm packages
 * included (`deno install --entrypoint`), so that the programs can run with
 * `--cached-only`. Every file is an entry point, so a new program needs no
 * list to be kept.
 *
 * @param log Progress lines.
 */
export async function cacheDenoPrograms(log: (line: string) => void): Promise<void> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}/${PROGRAMS}`)) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${PROGRAMS}/${entry.name}`);
  }
  log("Caching the Deno programs' dependencies (deno install --entrypoint)…");
  await run(
    [Deno.execPath(), "install", "--entrypoint", ...files.sort()],
    ROOT,
    "cache the Deno programs' dependencies",
  );
}

/**
 * Bundles the Node programs into `bench/peers/dist/` with esbuild.
 *
 * @param log Progress lines.
 */
export async function bundlePrograms(log: (line: string) => void): Promise<void> {
  log("Bundling the Node programs (esbuild)…");
  await run(
    ["node", "build.mjs", "dist", ...NODE_PROGRAMS.map((file) => `../programs/${file}`)],
    PEERS,
    "bundle the Node programs",
  );
}

/**
 * Makes sure `redis-server` and `redis-benchmark` can be run (Debian's
 * `redis-server` package brings `redis-tools`).
 *
 * @param log Progress lines.
 * @returns The versions of Node.js and `redis-server`.
 */
export async function ensureTools(
  log: (line: string) => void,
): Promise<{ node: string; redis: string }> {
  const redis = await ensureRedisServer({ log });
  await run(["redis-benchmark", "--version"], ROOT, "find redis-benchmark").catch(async () => {
    log("redis-benchmark is missing: installing Debian's redis-tools package");
    await run(["apt-get", "install", "-y", "-qq", "redis-tools"], ROOT, "install redis-tools");
  });
  const node = await run(["node", "--version"], ROOT, "find Node.js");
  return { node, redis: redis.replace(/^Redis server v=(\S+).*$/, "$1") };
}
