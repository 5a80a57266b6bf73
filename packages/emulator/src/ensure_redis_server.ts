/**
 * Makes sure `redis-server` (and `redis-cli`) can be run: finds them, or
 * installs Debian's `redis-server` package when running as root with
 * `apt-get`, or fails with a message saying what to install.
 *
 * ```sh
 * deno run -A src/emulator/ensure_redis_server.ts
 * ```
 *
 * @module
 */

/** Options of {@linkcode ensureRedisServer}. */
export interface EnsureRedisServerOptions {
  /** Called with a line of progress when something is installed. */
  log?: (line: string) => void;
}

/**
 * Finds `redis-server`, installing it with `apt-get` when it is missing and
 * this process runs as root on a system that has `apt-get`.
 *
 * @param options Where progress goes.
 * @returns The `redis-server --version` line.
 * @throws {Error} When it is missing and cannot be installed here; the message says how to install it.
 */
export async function ensureRedisServer(options: EnsureRedisServerOptions = {}): Promise<string> {
  const found = await version("redis-server");
  if (found) return found;
  const canInstall = Deno.uid() === 0 && (await version("apt-get")) !== undefined;
  if (!canInstall) {
    throw new Error(
      "Cannot find redis-server (Redis 7 or later) on PATH: install it first, for example " +
        "'sudo apt-get install -y redis-server' on Debian/Ubuntu or 'brew install redis' on macOS",
    );
  }
  options.log?.("redis-server is missing: installing Debian's redis-server package with apt-get");
  await run(["apt-get", "update", "-qq"]);
  await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"]);
  const installed = await version("redis-server");
  if (!installed) throw new Error("Cannot find redis-server on PATH after installing it");
  return installed;
}

async function version(command: string): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function run(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const output = await new Deno.Command(command!, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join("\n");
    throw new Error(`Cannot install redis-server: '${argv.join(" ")}' failed:\n${stderr}`);
  }
}

function writeLine(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));
}

if (import.meta.main) {
  try {
    await ensureRedisServer({ log: (line) => writeLine(line) });
  } catch (error) {
    writeLine(`Error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
