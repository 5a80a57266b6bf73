/**
 * The report: Markdown tables (printed, and written into `bench/README.md`
 * between markers) and the targets of issue 8.
 *
 * @module
 */
import type { Measurement, Results, TargetResult } from "./results.ts";
import { DEPTHS } from "./throughput.ts";

const RUNTIME_NAMES = { deno: "Deno", node: "Node 20", native: "native" } as const;

function find(results: readonly Measurement[], id: string): Measurement | undefined {
  return results.find((m) => m.id === id);
}

function num(value: number | undefined, digits = 0): string {
  if (value === undefined) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function spread(m: Measurement | undefined, digits = 0): string {
  if (m === undefined) return "–";
  if (m.notMeasured !== undefined) return `not measured: ${m.notMeasured}`;
  return `${num(m.median, digits)} (${num(m.min, digits)}–${num(m.max, digits)})`;
}

function times(value: number | undefined): string {
  return value === undefined ? "–" : `${value.toFixed(2)}×`;
}

function kops(m: Measurement | undefined): string {
  if (m === undefined) return "–";
  if (m.notMeasured !== undefined) return "not measured";
  return `${((m.median ?? 0) / 1000).toFixed(1)}k`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/**
 * Renders every section as Markdown.
 *
 * @param results The run's results.
 * @returns The Markdown text.
 */
export function renderTables(results: Results): string {
  const m = results.measurements;
  const parts: string[] = [];

  const cold = m.filter((x) => x.section === "cold-start" && x.id.endsWith(".wall"));
  if (cold.length > 0) {
    const n = cold.find((x) => x.n !== undefined)?.n ?? 0;
    parts.push(
      `### Cold start to first reply (fresh process; median of ${n} alternating runs, min–max)`,
      "",
      table(
        [
          "runtime",
          "variant",
          "wall ms",
          "× (d)",
          "× (a)",
          "peak MiB",
          "× (d)",
          "× (a)",
          "in-process: import / connect / GET ms",
        ],
        cold.map((wall) => {
          const memory = find(m, wall.id.replace(/\.wall$/, ".memory"));
          const d = wall.detail as
            | { importMs?: number; connectMs?: number; getMs?: number }
            | undefined;
          return [
            RUNTIME_NAMES[wall.runtime!],
            wall.name,
            spread(wall),
            times(wall.ratios?.["vs (d)"]),
            times(wall.ratios?.["vs (a)"]),
            spread(memory, 1),
            times(memory?.ratios?.["vs (d)"]),
            times(memory?.ratios?.["vs (a)"]),
            d?.importMs === undefined
              ? "–"
              : `${num(d.importMs)} / ${num(d.connectMs)} / ${num(d.getMs, 1)}`,
          ];
        }),
      ),
      "",
    );
  }

  const chains = m.filter((x) => x.section === "credentials");
  if (chains.length > 0) {
    const n = chains.find((x) => x.n !== undefined)?.n ?? 0;
    const thin = chains.filter((x) => x.id.endsWith(".thin.wall"));
    parts.push(
      `### Cold start to first reply per credentials source (fresh process; median of ${n} alternating runs, min–max)`,
      "",
      table(
        [
          "runtime",
          "environment",
          "defaultCredentials() ms",
          "SDK fromNodeProviderChain() ms",
          "×",
        ],
        thin.map((x) => {
          const sdk = find(m, x.id.replace(/\.thin\.wall$/, ".sdk.wall"));
          return [
            RUNTIME_NAMES[x.runtime!],
            x.name.replace(/: [^:]*$/, ""),
            spread(x),
            spread(sdk),
            times(x.ratios?.["vs SDK chain"]),
          ];
        }),
      ),
      "",
    );
  }

  const rtts = m.filter((x) => x.section === "round-trips");
  if (rtts.length > 0) {
    parts.push(
      "### Round trips, connect to first reply (loopback proxy adding a fixed delay each way; other ms: elapsed time the round trips do not explain, i.e. processing and stalls)",
      "",
      table(
        [
          "runtime",
          "what",
          "round trips",
          "TCP + TLS + auth + commands",
          "elapsed (RTTs)",
          "other ms",
          "signatures",
        ],
        rtts.map((r) => {
          const d = r.detail as Record<string, number> | undefined;
          return [
            RUNTIME_NAMES[r.runtime!],
            r.name,
            r.notMeasured !== undefined ? `not measured: ${r.notMeasured}` : num(r.median),
            d ? `${d.tcp} + ${d.tls} + ${d.auth} + ${d.commands}` : "–",
            d ? num(d.elapsedRtts, 1) : "–",
            d ? num(d.otherMs, 1) : "–",
            d?.signatures === undefined ? "–" : num(d.signatures),
          ];
        }),
      ),
      "",
    );
  }

  const tput = m.filter((x) => x.section === "throughput");
  if (tput.length > 0) {
    const clients = [...new Map(tput.map((x) => {
      const d = x.detail as { client: string };
      return [`${d.client}.${x.runtime}`, x] as const;
    })).values()];
    const n = tput.find((x) => x.n !== undefined)?.n ?? 0;
    const header = ["runtime", "client"];
    for (const depth of DEPTHS) header.push(`SET d${depth}`, `GET d${depth}`);
    const rows = clients.map((first) => {
      const d = first.detail as { client: string };
      const cells = [
        RUNTIME_NAMES[first.runtime!],
        first.name.replace(/ (SET|GET) depth \d+$/, ""),
      ];
      for (const depth of DEPTHS) {
        for (const op of ["set", "get"]) {
          const cell = find(m, `throughput.${first.runtime}.${d.client}.${op}.depth-${depth}`);
          const vsNodeRedis = cell?.ratios?.["vs node-redis"];
          const vsCeiling = cell?.ratios?.["vs redis-benchmark"];
          const notes = [
            vsNodeRedis === undefined ? "" : `${vsNodeRedis.toFixed(2)}× nr`,
            vsCeiling === undefined ? "" : `${vsCeiling.toFixed(2)}× rb`,
          ].filter(Boolean).join(", ");
          cells.push(notes ? `${kops(cell)} (${notes})` : kops(cell));
        }
      }
      return cells;
    });
    parts.push(
      `### Throughput, one connection (ops/s, median of ${n} rounds; nr = node-redis on the same runtime, rb = redis-benchmark)`,
      "",
      table(header, rows),
      "",
    );
  }

  const flight = m.filter((x) => x.section === "single-flight");
  if (flight.length > 0) {
    parts.push(
      "### Single flight",
      "",
      table(
        ["measure", "median (min–max)", "unit"],
        flight.map((x) => [x.name, spread(x, x.unit === "ms" ? 1 : 0), x.unit]),
      ),
      "",
    );
  }

  const mint = m.filter((x) => x.section === "mint-cost");
  if (mint.length > 0) {
    const names = [...new Set(mint.map((x) => x.name))];
    parts.push(
      "### Token mint cost (µs per token, median of batches, min–max)",
      "",
      table(
        ["signer", "Deno µs", "× aws4fetch", "Node 20 µs", "× aws4fetch"],
        names.map((name) => {
          const deno = mint.find((x) => x.name === name && x.runtime === "deno");
          const node = mint.find((x) => x.name === name && x.runtime === "node");
          return [
            name,
            spread(deno, 1),
            times(deno?.ratios?.["vs aws4fetch"]),
            spread(node, 1),
            times(node?.ratios?.["vs aws4fetch"]),
          ];
        }),
      ),
      "",
    );
  }

  if (results.targets.length > 0) {
    parts.push(
      "### Targets (issue 8)",
      "",
      table(
        ["target", "this run", "met"],
        results.targets.map((
          t,
        ) => [t.target, t.value, t.met === null ? "not measured" : t.met ? "yes" : "**no**"]),
      ),
      "",
    );
  }
  return parts.join("\n");
}

/**
 * Checks the targets of issue 8 against the measurements.
 *
 * @param m The measurements.
 * @returns One line per target.
 */
export function evaluateTargets(m: readonly Measurement[]): TargetResult[] {
  const targets: TargetResult[] = [];
  const has = (x: Measurement | undefined): x is Measurement & { median: number } =>
    x !== undefined && x.median !== undefined;

  for (const runtime of ["deno", "node"] as const) {
    const wall = find(m, `cold-start.${runtime}.thin.wall`);
    if (wall === undefined) continue;
    const toD = wall.ratios?.["vs (d)"];
    const toA = wall.ratios?.["vs (a)"];
    targets.push({
      target: `Cold start (${RUNTIME_NAMES[runtime]}) ≤ 1.25× the floor (d)`,
      value: toD === undefined ? "not measured" : `${toD.toFixed(2)}×`,
      met: toD === undefined ? null : toD <= 1.25,
    });
    targets.push({
      target: `Cold start (${RUNTIME_NAMES[runtime]}) ≤ 0.5× node-redis + aws4fetch (a)`,
      value: toA === undefined ? "not measured" : `${toA.toFixed(2)}×`,
      met: toA === undefined ? null : toA <= 0.5,
    });
  }

  for (const runtime of ["deno", "node"] as const) {
    const fresh = find(m, `round-trips.${runtime}.thin.new-connection`);
    if (fresh === undefined) continue;
    const d = fresh.detail as { auth?: number } | undefined;
    targets.push({
      target: `Exactly one auth round trip on a new connection (${RUNTIME_NAMES[runtime]})`,
      value: d?.auth === undefined ? "not measured" : `${d.auth}`,
      met: d?.auth === undefined ? null : d.auth === 1,
    });
  }
  const warm = find(m, "round-trips.deno.thin.warm");
  if (warm !== undefined) {
    const d = warm.detail as { auth?: number; signatures?: number; commands?: number } | undefined;
    targets.push({
      target: "Warm invocation: no auth round trip, no signing, one round trip per command",
      value: d?.auth === undefined
        ? "not measured"
        : `${d.auth} auth, ${d.signatures} signatures, ${d.commands} command round trip`,
      met: d?.auth === undefined ? null : d.auth === 0 && d.signatures === 0 && d.commands === 1,
    });
  }
  const cached = find(m, "round-trips.deno.thin.cached-token");
  if (cached !== undefined) {
    const d = cached.detail as { auth?: number; signatures?: number } | undefined;
    targets.push({
      target: "Reconnect on a cached token: one auth round trip, no signing",
      value: d?.auth === undefined ? "not measured" : `${d.auth} auth, ${d.signatures} signatures`,
      met: d?.auth === undefined ? null : d.auth === 1 && d.signatures === 0,
    });
  }

  const throughputMeasured = m.some((x) => x.section === "throughput");
  for (const runtime of throughputMeasured ? (["deno", "node"] as const) : []) {
    const misses: string[] = [];
    let worst = Infinity;
    let measuredAny = false;
    for (const depth of DEPTHS) {
      for (const op of ["set", "get"]) {
        const cell = find(m, `throughput.${runtime}.thin.${op}.depth-${depth}`);
        const r = cell?.ratios?.["vs node-redis"];
        if (r === undefined) continue;
        measuredAny = true;
        worst = Math.min(worst, r);
        if (r < 1) misses.push(`${op.toUpperCase()} d${depth} ${r.toFixed(2)}×`);
      }
    }
    targets.push({
      target: `Throughput (${RUNTIME_NAMES[runtime]}) ≥ node-redis v6 at every depth`,
      value: !measuredAny
        ? "not measured"
        : misses.length === 0
        ? `lowest ${worst.toFixed(2)}×`
        : `below at ${misses.join(", ")}`,
      met: measuredAny ? misses.length === 0 : null,
    });
    const ceiling = ["set", "get"].map((op) =>
      find(m, `throughput.${runtime}.thin.${op}.depth-128`)?.ratios?.["vs redis-benchmark"]
    );
    const known = ceiling.filter((x): x is number => x !== undefined);
    targets.push({
      target: `Throughput (${RUNTIME_NAMES[runtime]}) ≥ 0.8× redis-benchmark at depth 128`,
      value: known.length === 0
        ? "not measured"
        : `SET ${times(ceiling[0])}, GET ${times(ceiling[1])}`,
      met: known.length === 0 ? null : known.every((x) => x >= 0.8),
    });
  }

  const sts = find(m, "single-flight.sts-calls");
  const sigs = find(m, "single-flight.signatures");
  if (sts !== undefined && sigs !== undefined) {
    const ok = has(sts) && has(sigs) && sts.min === 1 && sts.max === 1 && sigs.min === 1 &&
      sigs.max === 1 && (sts.detail as { tokenAccepted?: boolean })?.tokenAccepted === true;
    targets.push({
      target: "Single flight: 1 STS call and 1 signature for 1,000 concurrent callers",
      value: has(sts) && has(sigs)
        ? `STS ${sts.min}–${sts.max}, signatures ${sigs.min}–${sigs.max} over ${sts.n} runs`
        : "not measured",
      met: has(sts) && has(sigs) ? ok : null,
    });
  }
  return targets;
}

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

/**
 * Replaces the results between the markers of `bench/README.md`.
 *
 * @param path The README.
 * @param results The run's results.
 * @param tables The rendered tables.
 */
export async function updateReadme(path: string, results: Results, tables: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) {
    throw new Error(`Cannot update ${path}: the result markers are missing`);
  }
  const { machine } = results.meta;
  const block = [
    START,
    "",
    `Latest run: ${
      results.meta.date.slice(0, 10)
    }, \`${results.meta.command}\`, on ${machine.cpus} shared cores ` +
    `(${machine.os}), Deno ${machine.deno} (V8 ${machine.v8}), Node ${machine.node}, redis-server ${machine.redis}.`,
    "",
    "![Cold start and throughput](chart.svg)",
    "",
    tables,
    END,
  ].join("\n");
  await Deno.writeTextFile(path, text.slice(0, from) + block + text.slice(to + END.length));
}
