// deno-lint-ignore-file no-console -- a test runner reports on stdout
/**
 * Runs the conformance suite in every runtime the module promises, each in
 * its own process, against emulators hosted here in Deno:
 *
 * - `deno`: `deno test` with Deno Deploy's permissions only (`--allow-net
 *   --allow-env`: no files, subprocesses, FFI or system information);
 * - `node`: Node.js 20 (a Lambda handler's runtime), esbuild bundle, `node --test`;
 * - `bun`: Bun's bundler and `bun test`;
 * - `workerd`: a Worker built from the module, in Miniflare without `nodejs_compat`.
 *
 * ```sh
 * deno run -A tests/runtimes/run.ts [deno] [node] [bun] [workerd]
 * ```
 *
 * Each harness folder installs its own packages with `npm ci` from its
 * committed lockfile (skipped when `node_modules` already matches it). For
 * each runtime it prints exactly one line `<runtime>: N passed, N failed…`
 * (the runtime's own output is shown, indented, only when something failed)
 * and exits with status 1 when any test failed or a runtime could not run.
 *
 * @module
 */

import { startConformanceHost } from "../conformance/_host.ts";
import { npmCi } from "../_helpers/npm_ci.ts";

type Runtime = "deno" | "node" | "bun" | "workerd";

interface Outcome {
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  note?: string;
}

interface HostInfo {
  controlUrl: string;
  caFile: string;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const HERE = new URL("./", import.meta.url).pathname;
const ALL: Runtime[] = ["deno", "node", "bun", "workerd"];
const TIME_LIMIT_MS = 240_000;

let setsid: Promise<boolean> | undefined;

/**
 * Runs a command in its own session (with `setsid`, when there is one), so that
 * the whole process tree can be killed: at the time limit, and once the
 * command has exited (a test runner's stray subprocess would keep its pipes open).
 */
async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; output: string }> {
  setsid ??= new Deno.Command("setsid", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((result) => result.success, () => false);
  const grouped = await setsid;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(grouped ? "setsid" : command, {
      args: grouped ? ["--wait", command, ...args] : args,
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    return { code: -1, output: `${command} ${args.join(" ")}: ${(error as Error).message}` };
  }
  const killAll = () => {
    for (const target of grouped ? [-child.pid, child.pid] : [child.pid]) {
      try {
        Deno.kill(target, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killAll();
  }, TIME_LIMIT_MS);
  const status = await child.status;
  clearTimeout(timer);
  if (grouped) killAll();
  const output = (await stdout) + (await stderr);
  return {
    code: status.code,
    output: timedOut ? `${output}\nKilled after ${TIME_LIMIT_MS / 1000} s.` : output,
  };
}

function count(output: string, pattern: RegExp): number {
  return Number(pattern.exec(output)?.[1] ?? 0);
}

/** Node's TAP reporter (also used for workerd): `# pass N`, `# fail N`, `# skipped N`. */
function tap(code: number, output: string): Outcome {
  const passed = count(output, /^# pass (\d+)$/m);
  const failed = count(output, /^# fail (\d+)$/m) + count(output, /^# cancelled (\d+)$/m);
  const skipped = count(output, /^# skipped (\d+)$/m);
  return finish(code, output, { passed, failed, skipped, output });
}

/** A runtime that exited with an error but reported no failed test counts as one failure. */
function finish(code: number, output: string, outcome: Outcome): Outcome {
  if (code !== 0 && outcome.failed === 0) {
    return { ...outcome, failed: 1, output, note: `exit ${code} before reporting a failed test` };
  }
  if (outcome.passed + outcome.failed === 0) {
    return { ...outcome, failed: 1, output, note: "no test ran" };
  }
  return outcome;
}

async function harness(name: "node" | "bun" | "workerd", host: HostInfo): Promise<Outcome> {
  const dir = `${HERE}${name}`;
  const problem = await npmCi(dir);
  if (problem !== undefined) {
    return { passed: 0, failed: 1, skipped: 0, output: problem, note: "install failed" };
  }
  const env: Record<string, string> = { CONFORMANCE_CONTROL_URL: host.controlUrl };
  if (name === "workerd") env.NODE_EXTRA_CA_CERTS = host.caFile;
  const { code, output } = await run("npm", ["test", "--silent"], { cwd: dir, env });
  if (name !== "bun") return tap(code, output);
  // bun test: " 25 pass", " 1 skip", " 0 fail".
  return finish(code, output, {
    passed: count(output, /^\s*(\d+) pass$/m),
    failed: count(output, /^\s*(\d+) fail$/m),
    skipped: count(output, /^\s*(\d+) skip$/m),
    output,
  });
}

async function deno(host: HostInfo): Promise<Outcome> {
  const { code, output } = await run(Deno.execPath(), [
    "test",
    "--no-check",
    "--allow-net",
    "--allow-env",
    "tests/conformance/conformance_test.ts",
  ], { cwd: ROOT, env: { CONFORMANCE_CONTROL_URL: host.controlUrl } });
  // "ok | 22 passed | 0 failed | 1 ignored (3s)"; the host-stopping test is not a case.
  const summary =
    /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/m
      .exec(output);
  const passed = Math.max(0, Number(summary?.[1] ?? 0) - 1);
  return finish(code, output, {
    passed,
    failed: Number(summary?.[2] ?? 0),
    skipped: Number(summary?.[3] ?? 0),
    output,
  });
}

const wanted = Deno.args.length === 0 ? ALL : Deno.args as Runtime[];
for (const name of wanted) {
  if (!ALL.includes(name)) {
    console.error(`Unknown runtime '${name}'; expected some of: ${ALL.join(", ")}`);
    Deno.exit(2);
  }
}

let failures = 0;
{
  await using host = await startConformanceHost();
  for (const name of wanted) {
    host.resetClock(); // The previous runtime's cases moved it hours ahead.
    const started = performance.now();
    const outcome = name === "deno" ? await deno(host) : await harness(name, host);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    failures += outcome.failed;
    if (outcome.failed > 0) {
      // Indented so that no line of it reads as a summary to the CI script.
      console.log(outcome.output.trimEnd().split("\n").map((line) => `    ${line}`).join("\n"));
    }
    console.log(
      `${name}: ${outcome.passed} passed, ${outcome.failed} failed, ${outcome.skipped} skipped (${seconds} s${
        outcome.note ? `; ${outcome.note}` : ""
      })`,
    );
  }
}
Deno.exit(failures > 0 ? 1 : 0);
