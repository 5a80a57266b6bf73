/**
 * Cold start to first reply: fresh processes, alternating variants, on Deno
 * and on Node.js 20 (bundled). Each process imports its client, resolves
 * credentials from the environment, mints a token (not the floor), opens
 * TLS, authenticates, runs `GET` and exits.
 *
 * @module
 */
import type { BenchEmulator } from "./environment.ts";
import { VALUE } from "./environment.ts";
import { denoProgram, nodeProgram, runProgram } from "./process.ts";
import { measured, type Measurement, notMeasured, ratio, toolMissing } from "./results.ts";

/** A cold-start variant. */
export interface ColdVariant {
  /** Short id: `floor`, `a`, `b`, `c`, `thin`, `presign`. */
  key: "floor" | "a" | "b" | "c" | "thin" | "presign";
  /** The label in the report. */
  label: string;
  runtime: "deno" | "node";
  argv: string[];
}

const LABELS = {
  thin: "thin client (this module)",
  presign: "thin client, custom presigner instead of aws4fetch (not shipped)",
  a: "(a) node-redis + aws4fetch by hand",
  b: "(b) node-redis + ./node-redis provider",
  c: "(c) node-redis + @smithy/signature-v4",
  floor: "(d) floor: bare socket, static password",
} as const;

const FILES = {
  thin: "cold_thin.ts",
  presign: "cold_thin_custom_presign.ts",
  a: "cold_node_redis_aws4fetch.ts",
  b: "cold_node_redis_provider.ts",
  c: "cold_node_redis_smithy.ts",
} as const;

/**
 * The variants, Deno's then Node's.
 *
 * @returns The variants.
 */
export function coldVariants(): ColdVariant[] {
  const variants: ColdVariant[] = [];
  for (const runtime of ["deno", "node"] as const) {
    variants.push({
      key: "floor",
      label: LABELS.floor,
      runtime,
      argv: runtime === "deno"
        ? denoProgram("cold_floor_deno.ts")
        : nodeProgram("cold_floor_node.ts"),
    });
    for (const key of ["thin", "presign", "a", "b", "c"] as const) {
      variants.push({
        key,
        label: LABELS[key],
        runtime,
        argv: runtime === "deno" ? denoProgram(FILES[key]) : nodeProgram(FILES[key]),
      });
    }
  }
  return variants;
}

interface Sample {
  wallMs: number;
  maxRssMiB: number | undefined;
  importMs: number;
  connectMs: number;
  getMs: number;
}

/**
 * Runs every variant `rounds` times, rotating the order each round, after one
 * unmeasured warm-up run each (module caches, code caches, page cache).
 *
 * @param bench The emulator.
 * @param rounds How many measured runs per variant.
 * @param log Progress lines.
 * @returns Wall time and peak memory per variant, with ratios to the floor and to (a).
 */
export async function measureColdStart(
  bench: BenchEmulator,
  rounds: number,
  log: (line: string) => void,
): Promise<Measurement[]> {
  const variants = coldVariants();
  const env = await bench.programEnv();
  const samples = new Map<ColdVariant, Sample[]>(variants.map((v) => [v, []]));
  const failures = new Map<ColdVariant, string>();
  const once = async (variant: ColdVariant): Promise<Sample | undefined> => {
    if (failures.has(variant)) return undefined;
    try {
      const run = await runProgram(variant.argv, { ...env, ...(await bench.programEnv()) }, {
        memory: true,
        timeoutMs: 60_000,
      });
      const line = run.lines[0]!;
      if (line.reply !== VALUE) throw new Error(`unexpected reply ${JSON.stringify(line.reply)}`);
      const t = line.t as { start: number; connected: number; reply: number };
      return {
        wallMs: run.wallMs,
        maxRssMiB: run.maxRssKiB === undefined ? undefined : run.maxRssKiB / 1024,
        importMs: t.start - (line.origin as number),
        connectMs: t.connected - t.start,
        getMs: t.reply - t.connected,
      };
    } catch (error) {
      failures.set(variant, (error as Error).message.split("\n")[0]!.slice(0, 200));
      log(`  ${variant.runtime} ${variant.key}: failed: ${(error as Error).message}`);
      return undefined;
    }
  };
  log(`Cold start: ${variants.length} variants × ${rounds} runs (after one warm-up run each)…`);
  for (const variant of variants) await once(variant);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + r) % variants.length]!;
      const sample = await once(variant);
      if (sample) samples.get(variant)!.push(sample);
    }
  }

  const measurements: Measurement[] = [];
  for (const runtime of ["deno", "node"] as const) {
    const rows = variants.filter((v) => v.runtime === runtime);
    const wall = new Map<ColdVariant, Measurement>();
    const memory = new Map<ColdVariant, Measurement>();
    for (const variant of rows) {
      const list = samples.get(variant)!;
      const base = {
        section: "cold-start" as const,
        name: variant.label,
        runtime,
      };
      if (list.length === 0) {
        const reason = failures.get(variant) ?? "no run succeeded";
        wall.set(
          variant,
          notMeasured(
            { ...base, id: `cold-start.${runtime}.${variant.key}.wall`, unit: "ms" },
            reason,
          ),
        );
        memory.set(
          variant,
          notMeasured(
            { ...base, id: `cold-start.${runtime}.${variant.key}.memory`, unit: "MiB" },
            reason,
          ),
        );
        continue;
      }
      const median = (values: number[]) =>
        measured({ id: "", section: "cold-start", name: "", unit: "" }, values).median!;
      wall.set(
        variant,
        measured({
          ...base,
          id: `cold-start.${runtime}.${variant.key}.wall`,
          unit: "ms",
          detail: {
            // In-process breakdown (medians): runtime start-up + imports, credentials + token + TLS + auth, GET.
            importMs: median(list.map((s) => s.importMs)),
            connectMs: median(list.map((s) => s.connectMs)),
            getMs: median(list.map((s) => s.getMs)),
          },
        }, list.map((s) => s.wallMs)),
      );
      const rss = list.flatMap((s) => s.maxRssMiB === undefined ? [] : [s.maxRssMiB]);
      memory.set(
        variant,
        rss.length > 0
          ? measured(
            { ...base, id: `cold-start.${runtime}.${variant.key}.memory`, unit: "MiB" },
            rss,
          )
          : toolMissing(
            { ...base, id: `cold-start.${runtime}.${variant.key}.memory`, unit: "MiB" },
            "GNU time (/usr/bin/time) is not installed",
          ),
      );
    }
    const floor = rows.find((v) => v.key === "floor")!;
    const peerA = rows.find((v) => v.key === "a")!;
    for (const table of [wall, memory]) {
      for (const variant of rows) {
        const m = table.get(variant)!;
        const ratios: Record<string, number> = {};
        const toFloor = ratio(m, table.get(floor));
        const toA = ratio(m, table.get(peerA));
        if (toFloor !== undefined) ratios["vs (d)"] = toFloor;
        if (toA !== undefined) ratios["vs (a)"] = toA;
        if (Object.keys(ratios).length > 0) m.ratios = ratios;
        measurements.push(m);
      }
    }
  }
  return measurements;
}
