/**
 * What each cold-start measure of `src/cold_start.ts` saves: the cold-start
 * program (`bench/programs/cold_thin.ts`: import, credentials, token, TLS,
 * auth, `GET`) run in fresh processes against copies of this tree, one with
 * every measure and one per measure with that measure turned off (its
 * function made to return at once, or its Deno timer left undefined, so that
 * the caller makes the plain call). A series is a whole run: a fresh
 * emulator, one unmeasured run of each copy, then `--rounds` rounds of fresh
 * processes of every copy, in an order that rotates each round. Each series
 * gives, per measure, the median without minus the median with; the figure
 * reported is the median of the series' figures.
 *
 * ```sh
 * deno run -A bench/cold_start_measures.ts                      # 3 series × 20 rounds
 * deno run -A bench/cold_start_measures.ts --series=1 --rounds=5 --runtime=deno
 * ```
 *
 * Needs what `deno task bench` needs (it prepares the same way): Node.js 20,
 * `redis-server`, the Node peers in `bench/peers/`.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { type BenchEmulator, startBenchEmulator, VALUE } from "./lib/environment.ts";
import { cacheDenoPrograms, ensurePeers, ensureTools } from "./lib/peers.ts";
import { ROOT, runProgram } from "./lib/process.ts";
import { summarize } from "./lib/stats.ts";

const median = (samples: readonly number[]) => summarize(samples).median;

type Runtime = "deno" | "node";

/** A measure, and how a copy of `src/cold_start.ts` turns it off. */
interface Measure {
  key: string;
  label: string;
  runtimes: Runtime[];
  turnOff(source: string): string;
}

/** Makes the exported function `name` return at once with `value`. */
function returnAtOnce(name: string, value: string): (source: string) => string {
  return (source) => {
    const header = new RegExp(`^export function ${name}\\b[^\\n]*\\{\\n`, "m");
    if (!header.test(source)) throw new Error(`src/cold_start.ts has no function '${name}'`);
    return source.replace(header, (line) => `${line}  return ${value};\n`);
  };
}

const MEASURES: Measure[] = [
  {
    key: "headers",
    label: "`Headers` swap around aws4fetch's signer (`withPresignHeaders`)",
    runtimes: ["deno", "node"],
    turnOff: returnAtOnce("withPresignHeaders", "construct()"),
  },
  {
    key: "tls",
    label: "TLS library warmed by a throwaway P-256 key (`warmUpTls`)",
    runtimes: ["deno"],
    turnOff: returnAtOnce("warmUpTls", "Promise.resolve()"),
  },
  {
    key: "timers",
    label: "I/O timers on `AbortSignal.timeout` (`signalTimeout`)",
    runtimes: ["deno"],
    turnOff(source) {
      const declaration = /^export const signalTimeout\b[^;]*;/ms;
      if (!declaration.test(source)) throw new Error("src/cold_start.ts has no 'signalTimeout'");
      return source.replace(declaration, "export const signalTimeout = undefined;");
    },
  },
  {
    key: "decoder",
    label: "decoder warm-up (`warmUpDecoder`)",
    runtimes: ["deno", "node"],
    turnOff: returnAtOnce("warmUpDecoder", "undefined"),
  },
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    series: { type: "string", default: "3" },
    rounds: { type: "string", default: "20" },
    runtime: { type: "string", default: "deno,node" },
  },
  strict: true,
});
const seriesCount = Number(values.series);
const rounds = Number(values.rounds);
const runtimes = values.runtime!.split(",") as Runtime[];
const log = (line: string) => console.error(line);

/** Copies the tree (not `.git`, `node_modules` or bundles) to `to`. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if ([".git", "node_modules", "dist"].includes(entry.name)) continue;
    const source = `${from}/${entry.name}`;
    const target = `${to}/${entry.name}`;
    if (entry.isDirectory) await copyTree(source, target);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}

interface Variant {
  /** `all` (every measure on) or the key of the measure turned off. */
  off: string;
  runtime: Runtime;
  argv: string[];
}

await ensureTools(log);
await ensurePeers(log);
await cacheDenoPrograms(log);

const work = await Deno.makeTempDir({ prefix: "cold-start-measures-" });
const variants: Variant[] = [];
const source = await Deno.readTextFile(`${ROOT}/src/cold_start.ts`);
for (const off of ["all", ...MEASURES.map((m) => m.key)]) {
  const measure = MEASURES.find((m) => m.key === off);
  const wanted = runtimes.filter((r) => measure === undefined || measure.runtimes.includes(r));
  if (wanted.length === 0) continue;
  const tree = `${work}/${off}`;
  await copyTree(ROOT, tree);
  if (measure) await Deno.writeTextFile(`${tree}/src/cold_start.ts`, measure.turnOff(source));
  const program = `${tree}/bench/programs/cold_thin.ts`;
  for (const runtime of wanted) {
    if (runtime === "deno") {
      variants.push({
        off,
        runtime,
        argv: [
          Deno.execPath(),
          "run",
          "-A",
          "--cached-only",
          `--config=${tree}/deno.json`,
          program,
        ],
      });
    } else {
      const built = await new Deno.Command("node", {
        args: [`${ROOT}/bench/peers/build.mjs`, `${tree}/dist`, program],
        cwd: `${ROOT}/bench/peers`,
      }).output();
      if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
      variants.push({ off, runtime, argv: ["node", `${tree}/dist/cold_thin.mjs`] });
    }
  }
}
log(`Copies in ${work}: ${variants.map((v) => `${v.runtime}/${v.off}`).join(", ")}`);

interface Sample {
  wallMs: number;
  connectMs: number;
}

const once = async (bench: BenchEmulator, variant: Variant): Promise<Sample> => {
  const run = await runProgram(variant.argv, await bench.programEnv(), { timeoutMs: 60_000 });
  const line = run.lines[0]!;
  if (line.reply !== VALUE) throw new Error(`unexpected reply ${JSON.stringify(line.reply)}`);
  const t = line.t as { start: number; connected: number };
  return { wallMs: run.wallMs, connectMs: t.connected - t.start };
};

/** Per series: variant → its samples. */
const series: Map<Variant, Sample[]>[] = [];
for (let s = 0; s < seriesCount; s++) {
  log(`Series ${s + 1}/${seriesCount}: ${variants.length} variants × ${rounds} rounds…`);
  // Each series is a whole run: its own emulator, one unmeasured run per copy, then the rounds.
  await using bench = await startBenchEmulator();
  const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
  for (const variant of variants) await once(bench, variant);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + r) % variants.length]!;
      samples.get(variant)!.push(await once(bench, variant));
    }
  }
  series.push(samples);
}
await Deno.remove(work, { recursive: true });

const fixed = (n: number) => (n >= 0 ? "+" : "") + n.toFixed(1);
const rows: string[] = [
  "| runtime | measure | wall ms saved (per series) | in-process connect ms saved (per series) | wall ms with all measures |",
  "| ------- | ------- | -------------------------- | ---------------------------------------- | ------------------------- |",
];
const results: Record<string, unknown>[] = [];
for (const runtime of runtimes) {
  const all = variants.find((v) => v.runtime === runtime && v.off === "all")!;
  const base = series.map((samples) => samples.get(all)!);
  const baseWall = median(base.map((list) => median(list.map((x) => x.wallMs))));
  for (const measure of MEASURES) {
    const variant = variants.find((v) => v.runtime === runtime && v.off === measure.key);
    if (variant === undefined) continue;
    const saved = (pick: (x: Sample) => number) =>
      series.map((samples) =>
        median(samples.get(variant)!.map(pick)) - median(samples.get(all)!.map(pick))
      );
    const wall = saved((x) => x.wallMs);
    const connect = saved((x) => x.connectMs);
    rows.push(
      `| ${runtime} | ${measure.label} | ${fixed(median(wall))} (${wall.map(fixed).join(", ")}) | ${
        fixed(median(connect))
      } (${connect.map(fixed).join(", ")}) | ${baseWall.toFixed(1)} |`,
    );
    results.push({ runtime, measure: measure.key, wallMsSaved: wall, connectMsSaved: connect });
  }
}
console.log(rows.join("\n"));
console.log(JSON.stringify({ series: seriesCount, rounds, results }));
