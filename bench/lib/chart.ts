/**
 * A small SVG chart for the README: cold start (median ms per variant, Deno
 * and Node) and throughput (`GET` ops/s per client and depth, as a share of
 * `redis-benchmark` at the same depth). Plain SVG, no dependencies.
 *
 * @module
 */
import type { Measurement } from "./results.ts";
import { DEPTHS } from "./throughput.ts";

interface Bar {
  value: number | undefined;
  color: string;
  text: string;
}

interface Row {
  label: string;
  bars: Bar[];
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const BAR = 9;
const GAP = 2;
const ROW_GAP = 8;
const LABEL_WIDTH = 200;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function panel(
  x: number,
  y: number,
  width: number,
  title: string,
  rows: Row[],
  legend: { color: string; text: string }[],
): { svg: string; height: number } {
  const out: string[] = [];
  out.push(
    `<text x="${x}" y="${y + 12}" ${FONT} font-size="13" font-weight="600">${escape(title)}</text>`,
  );
  let legendX = x;
  for (const item of legend) {
    out.push(`<rect x="${legendX}" y="${y + 20}" width="10" height="10" fill="${item.color}"/>`);
    out.push(
      `<text x="${legendX + 14}" y="${y + 29}" ${FONT} font-size="11">${escape(item.text)}</text>`,
    );
    legendX += 24 + item.text.length * 6;
  }
  const max = Math.max(1e-9, ...rows.flatMap((r) => r.bars.map((b) => b.value ?? 0)));
  const plot = width - LABEL_WIDTH - 70;
  let at = y + 44;
  for (const row of rows) {
    const rowHeight = row.bars.length * (BAR + GAP) - GAP;
    out.push(
      `<text x="${x + LABEL_WIDTH - 6}" y="${
        at + rowHeight / 2 + 4
      }" text-anchor="end" ${FONT} font-size="11">${escape(row.label)}</text>`,
    );
    for (const bar of row.bars) {
      const length = bar.value === undefined ? 0 : Math.max(1, (bar.value / max) * plot);
      out.push(
        `<rect x="${x + LABEL_WIDTH}" y="${at}" width="${
          length.toFixed(1)
        }" height="${BAR}" fill="${bar.color}"/>`,
      );
      out.push(
        `<text x="${x + LABEL_WIDTH + length + 4}" y="${
          at + BAR - 1
        }" ${FONT} font-size="10" fill="#444">${escape(bar.text)}</text>`,
      );
      at += BAR + GAP;
    }
    at += ROW_GAP;
  }
  return { svg: out.join("\n"), height: at - y };
}

const DENO = "#2f6fde";
const NODE = "#5fa04e";
const DEPTH_COLORS = ["#9ec5fe", "#3d8bfd", "#0a3a8a"];

/**
 * Renders the chart.
 *
 * @param m The measurements.
 * @returns The SVG document.
 */
export function renderChart(m: readonly Measurement[]): string {
  const get = (id: string) => m.find((x) => x.id === id);
  const width = 600;
  const shortLabels = {
    floor: "(d) floor",
    thin: "thin client",
    presign: "thin, custom presigner (not shipped)",
    a: "(a) node-redis + aws4fetch",
    b: "(b) node-redis + provider",
    c: "(c) node-redis + smithy",
  } as const;
  const coldRows: Row[] = (["floor", "thin", "presign", "a", "b", "c"] as const).map((key) => {
    const deno = get(`cold-start.deno.${key}.wall`);
    const node = get(`cold-start.node.${key}.wall`);
    return {
      label: shortLabels[key],
      bars: [deno, node].map((x, i) => ({
        value: x?.median,
        color: i === 0 ? DENO : NODE,
        text: x?.median === undefined ? "not measured" : `${Math.round(x.median)} ms`,
      })),
    };
  });
  const cold = panel(
    10,
    10,
    width,
    "Cold start to first reply (median ms, lower is better)",
    coldRows,
    [
      { color: DENO, text: "Deno" },
      { color: NODE, text: "Node 20 (bundled)" },
    ],
  );

  const clients = [
    ["deno", "thin", "thin client (Deno)"],
    ["deno", "node-redis", "node-redis v6 (Deno)"],
    ["node", "thin", "thin client (Node)"],
    ["node", "node-redis", "node-redis v6 (Node)"],
    ["node", "ioredis", "ioredis (Node)"],
    ["node", "glide", "valkey-glide (Node)"],
  ] as const;
  const tputRows: Row[] = clients.map(([runtime, client, label]) => ({
    label,
    bars: DEPTHS.map((depth, i) => {
      const cell = get(`throughput.${runtime}.${client}.get.depth-${depth}`);
      const share = cell?.ratios?.["vs redis-benchmark"];
      return {
        value: share,
        color: DEPTH_COLORS[i]!,
        text: share === undefined ? "not measured" : `${Math.round(share * 100)}%`,
      };
    }),
  }));
  const tput = panel(
    10,
    20 + cold.height,
    width,
    "GET throughput, one connection (% of redis-benchmark, higher is better)",
    tputRows,
    DEPTHS.map((depth, i) => ({ color: DEPTH_COLORS[i]!, text: `depth ${depth}` })),
  );
  const height = 30 + cold.height + tput.height;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${
      width + 20
    }" height="${height}" viewBox="0 0 ${width + 20} ${height}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    cold.svg,
    tput.svg,
    "</svg>",
    "",
  ].join("\n");
}
