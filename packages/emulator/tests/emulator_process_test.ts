/**
 * The emulator's processes outlive nothing: when the process that started the
 * emulator dies without closing it (SIGKILL, `Deno.exit()`), every
 * `redis-server` it started, single backend and cluster nodes alike, exits
 * within seconds, and so does whatever watched them.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../../", import.meta.url);
const EMULATOR = new URL("packages/emulator/mod.ts", ROOT).href;
const GONE_WITHIN_MS = 10_000;

/**
 * The script of the process that starts an emulator, prints the processes it
 * started (as JSON, from `ps`), then exits or waits to be killed.
 */
const SCRIPT = `
import { startEmulator } from ${JSON.stringify(EMULATOR)};
import { childrenOf } from ${JSON.stringify(import.meta.url)};
const [mode, end] = Deno.args;
await startEmulator(mode === "cluster" ? { cluster: { shards: 2, replicasPerShard: 0 } } : {});
console.log(JSON.stringify(await childrenOf(Deno.pid)));
if (end === "exit") Deno.exit(1);
setInterval(() => {}, 1000);
`;

interface Process {
  pid: number;
  ppid: number;
  command: string;
}

async function processes(): Promise<Process[]> {
  const output = await new Deno.Command("ps", {
    args: ["-A", "-o", "pid=,ppid=,stat=,comm="],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n").flatMap((line) => {
    const [pid, ppid, stat, ...command] = line.trim().split(/\s+/);
    // A zombie has exited; only its parent has not collected its status yet.
    if (pid === undefined || stat === undefined || stat.startsWith("Z")) return [];
    return [{ pid: Number(pid), ppid: Number(ppid), command: command.join(" ") }];
  });
}

/**
 * The processes `pid` started (not their own children).
 *
 * @param pid The parent's process id.
 * @returns Its running children.
 */
export async function childrenOf(pid: number): Promise<Process[]> {
  return (await processes()).filter((p) => p.ppid === pid);
}

/**
 * Starts an emulator in another Deno process, waits until it is up, lists the
 * processes it started, then ends that Deno process the given way.
 */
async function startAndDie(mode: "single" | "cluster", end: "sigkill" | "exit") {
  const dir = await Deno.makeTempDir({ prefix: "emulator-process-test-" });
  try {
    const script = `${dir}/start_emulator.ts`;
    await Deno.writeTextFile(script, SCRIPT);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        new URL("deno.json", ROOT).pathname,
        script,
        mode,
        end === "exit" ? "exit" : "wait",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    if (end === "sigkill" && text.includes("\n")) child.kill("SIGKILL");
    const status = await child.status;
    await reader.cancel();
    assert.ok(text.endsWith("\n"), await stderr);
    assert.equal(status.code, end === "exit" ? 1 : 137, await stderr);
    return JSON.parse(text) as Process[];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Waits until none of the processes runs any more; returns those still running after the wait. */
async function survivors(list: Process[]): Promise<Process[]> {
  const deadline = Date.now() + GONE_WITHIN_MS;
  for (;;) {
    const running = new Set((await processes()).map((p) => p.pid));
    const left = list.filter((p) => running.has(p.pid));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function noOrphans(end: "sigkill" | "exit") {
  const [single, cluster] = await Promise.all([
    startAndDie("single", end),
    startAndDie("cluster", end),
  ]);
  const servers = (list: Process[]) => list.filter((p) => p.command.includes("redis-server"));
  assert.equal(servers(single).length, 1, JSON.stringify(single));
  assert.equal(servers(cluster).length, 2, JSON.stringify(cluster));
  assert.deepEqual(await survivors([...single, ...cluster]), []);
}

Deno.test("emulator processes: a SIGKILLed owner leaves no redis-server (single and cluster) running", async () => {
  await noOrphans("sigkill");
});

Deno.test("emulator processes: an owner that calls Deno.exit() without closing leaves no redis-server running", async () => {
  await noOrphans("exit");
});
