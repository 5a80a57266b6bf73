/**
 * Running benchmark programs as separate processes: wall time from spawn to
 * exit, peak memory (through GNU `time`, when present), and the JSON lines
 * they print.
 *
 * @module
 */

/** The repository root (the runner always works from there). */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** What one run of a program gave. */
export interface ProgramRun {
  /** Spawn to exit, in ms, measured by the runner. */
  wallMs: number;
  /** Peak resident memory in KiB, or undefined without GNU `time`. */
  maxRssKiB: number | undefined;
  /** The JSON lines the program printed on stdout. */
  lines: Record<string, unknown>[];
}

let gnuTime: Promise<boolean> | undefined;

/**
 * Whether `/usr/bin/time` is GNU time (it reports peak memory with `-f %M`).
 *
 * @returns Whether peak memory can be measured.
 */
export function hasGnuTime(): Promise<boolean> {
  gnuTime ??= new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", "true"],
    stdout: "null",
    stderr: "piped",
  }).output().then((output) => output.success, () => false);
  return gnuTime;
}

/** The environment every program gets on top of the benchmark's variables. */
function baseEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "LANG"];
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of keep) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

const MARK = "BENCH_MAXRSS_KIB=";

/**
 * Runs a program to completion.
 *
 * @param argv The command and its arguments.
 * @param env The benchmark's environment variables (the runner's own are not inherited).
 * @param options `memory`: measure peak memory; `timeoutMs`: kill the program after this long.
 * @returns Wall time, peak memory and output lines.
 * @throws {Error} When the program fails, prints no JSON, or times out.
 */
export async function runProgram(
  argv: readonly string[],
  env: Record<string, string>,
  options: { memory?: boolean; timeoutMs?: number } = {},
): Promise<ProgramRun> {
  const memory = options.memory === true && await hasGnuTime();
  const [command, ...args] = memory ? ["/usr/bin/time", "-f", `${MARK}%M`, ...argv] : [...argv];
  const child = new Deno.Command(command!, {
    args,
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const started = performance.now();
  const process = child.spawn();
  const timer = setTimeout(() => {
    try {
      process.kill("SIGKILL");
    } catch {
      // It exited meanwhile.
    }
  }, options.timeoutMs ?? 120_000);
  const output = await process.output();
  const wallMs = performance.now() - started;
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(output.stdout);
  let stderr = new TextDecoder().decode(output.stderr);
  let maxRssKiB: number | undefined;
  const at = stderr.lastIndexOf(MARK);
  if (memory && at >= 0) {
    maxRssKiB = Number(stderr.slice(at + MARK.length).trim());
    stderr = stderr.slice(0, at);
  }
  const name = argv[argv.length - 1]!.replace(/^.*\//, "");
  if (!output.success) {
    // The error's first line, then its last lines (the stack's end is rarely the news).
    const lines = stderr.trim().split("\n").filter((line) => line.trim() !== "");
    const error = lines.find((line) => /error|Error/.test(line)) ?? lines[0] ?? "";
    throw new Error(
      `${name} failed (${output.signal ?? `exit ${output.code}`}): ${error.trim()}\n${
        lines.slice(-8).join("\n")
      }`,
    );
  }
  const lines = stdout.split("\n").filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line) as Record<string, unknown>
  );
  if (lines.length === 0) {
    throw new Error(`${name} printed no result: ${stderr.trim().slice(-800)}`);
  }
  return { wallMs, maxRssKiB, lines };
}

/**
 * The `deno run` command line for a program under `bench/programs/`. With
 * `--cached-only`: its dependencies were cached by the runner
 * (`cacheDenoPrograms`), and a program that would download something fails
 * at once instead of timing the network (or failing later, as the program's
 * cleared environment may not let it reach the registry).
 *
 * @param file The program's file name.
 * @returns The command and arguments.
 */
export function denoProgram(file: string): string[] {
  return [Deno.execPath(), "run", "-A", "--cached-only", `bench/programs/${file}`];
}

/**
 * The `node` command line for a program's Node bundle.
 *
 * @param file The program's file name (`.ts`).
 * @returns The command and arguments.
 */
export function nodeProgram(file: string): string[] {
  return ["node", `bench/peers/dist/${file.replace(/\.ts$/, ".mjs")}`];
}
