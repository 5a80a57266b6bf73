/**
 * `deno task bench`: the module against its peers, in one reproducible run
 * on this machine. See `bench/README.md` for the method.
 *
 * ```sh
 * deno run -A bench/run.ts            # full run: writes bench/results.json, chart.svg, README table
 * deno run -A bench/run.ts --quick    # CI smoke run (< 1 min): writes to a temporary folder
 * deno run -A bench/run.ts --only=cold-start,round-trips
 * ```
 *
 * Exits with status 1 when a measurement could not be made (a program
 * failed: a broken run), after writing the results; never for a slow number.
 *
 * Options: `--quick`; `--only=<sections>` (cold-start, credentials,
 * round-trips, throughput, single-flight, mint-cost); `--out=<dir>` (where results.json
 * and chart.svg go); `--rounds=<n>` (cold-start runs per variant).
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { renderChart } from "./lib/chart.ts";
import { measureColdStart } from "./lib/cold_start.ts";
import { measureCredentialsColdStart } from "./lib/credentials_cold_start.ts";
import { startBenchEmulator } from "./lib/environment.ts";
import { bundlePrograms, cacheDenoPrograms, ensurePeers, ensureTools } from "./lib/peers.ts";
import { ROOT } from "./lib/process.ts";
import { evaluateTargets, renderTables, updateReadme } from "./lib/report.ts";
import { brokenRuns, type Measurement, type Results, type Section } from "./lib/results.ts";
import { measureRoundTrips } from "./lib/round_trips.ts";
import { measureMintCost, measureSingleFlight } from "./lib/single_flight.ts";
import { measureThroughput } from "./lib/throughput.ts";

const SECTIONS: Section[] = [
  "cold-start",
  "credentials",
  "round-trips",
  "throughput",
  "single-flight",
  "mint-cost",
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string" },
    rounds: { type: "string" },
  },
  strict: true,
});
const quick = values.quick === true;
const only = values.only === undefined ? SECTIONS : values.only.split(",") as Section[];
for (const section of only) {
  if (!SECTIONS.includes(section)) {
    console.error(`Unknown section '${section}': use ${SECTIONS.join(", ")}`);
    Deno.exit(2);
  }
}
const settings = quick
  ? {
    coldRounds: 3,
    delayMs: 10,
    throughput: { rounds: 1, seconds: 0.25 },
    singleFlight: { concurrency: 1000, runs: 1 },
    mint: { iterations: 200, batches: 3 },
  }
  : {
    coldRounds: 15,
    delayMs: 25,
    throughput: { rounds: 5, seconds: 0.8 },
    singleFlight: { concurrency: 1000, runs: 3 },
    mint: { iterations: 2000, batches: 7 },
  };
if (values.rounds !== undefined) settings.coldRounds = Number(values.rounds);
// A full run of every section updates the committed results; anything else goes elsewhere.
const official = !quick && values.only === undefined && values.rounds === undefined;
const outDir = values.out ??
  (official ? `${ROOT}/bench` : await Deno.makeTempDir({ prefix: "bench-" }));

const log = (line: string) => console.error(line);
const started = performance.now();
const command = `deno task bench${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}`;

const versions = await ensureTools(log);
// Everything the programs need is fetched now: they run with a cleared environment and
// Deno's with --cached-only (bench/lib/peers.ts).
await ensurePeers(log);
await cacheDenoPrograms(log);
await bundlePrograms(log);

const measurements: Measurement[] = [];
{
  log("Starting the emulator (gateway, STS, OIDC issuer) and the TLS terminator…");
  await using bench = await startBenchEmulator();
  if (only.includes("cold-start")) {
    measurements.push(...await measureColdStart(bench, settings.coldRounds, log));
  }
  if (only.includes("credentials")) {
    measurements.push(...await measureCredentialsColdStart(bench, settings.coldRounds, log));
  }
  if (only.includes("round-trips")) {
    measurements.push(...await measureRoundTrips(bench, settings.delayMs, log));
  }
  if (only.includes("single-flight")) {
    measurements.push(...await measureSingleFlight(bench, settings.singleFlight, log));
  }
  if (only.includes("mint-cost")) {
    measurements.push(...await measureMintCost(bench, settings.mint, log));
  }
}
if (only.includes("throughput")) {
  measurements.push(...await measureThroughput(settings.throughput, log));
}

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    quick,
    command,
    machine: {
      cpus: navigator.hardwareConcurrency,
      os: `${Deno.build.os} ${Deno.osRelease()}`,
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      node: versions.node.replace(/^v/, ""),
      redis: versions.redis,
    },
    notes: [
      "Medians of alternating runs; absolute times depend on the machine and its load, ratios are what count.",
      "TLS is terminated by node:tls with TCP_NODELAY in front of the emulator's plaintext gateway (see bench/README.md).",
    ],
  },
  measurements,
  targets: evaluateTargets(measurements),
};
const tables = renderTables(results);
console.log(tables);
await Deno.mkdir(outDir, { recursive: true });
await Deno.writeTextFile(`${outDir}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
await Deno.writeTextFile(`${outDir}/chart.svg`, renderChart(measurements));
if (official) await updateReadme(`${ROOT}/bench/README.md`, results, tables);
if (official) {
  // Keep the committed outputs as `deno fmt --check` wants them.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "bench/results.json", "bench/chart.svg", "bench/README.md"],
    cwd: ROOT,
    stdout: "null",
    stderr: "inherit",
  }).output();
}
log(
  `Wrote ${outDir}/results.json and ${outDir}/chart.svg${
    official ? " and the table in bench/README.md" : ""
  } in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
);
const broken = brokenRuns(measurements);
if (broken.length > 0) {
  const lost = broken.reduce((sum, { count }) => sum + count, 0);
  console.error(
    `Cannot complete the benchmark: ${lost} of ${measurements.length} measurements were not made ` +
      "(a broken run, not a slow number):",
  );
  for (const { reason, count } of broken) console.error(`  ${count} × ${reason}`);
  Deno.exit(1);
}
