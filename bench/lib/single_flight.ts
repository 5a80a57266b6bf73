/**
 * Single flight and mint cost.
 *
 * - Single flight: 1,000 concurrent `credentials()` calls on an empty token
 *   cache, web-identity credentials from the emulator's STS: STS calls and
 *   signatures must both be 1 (counted in the program), and the token must
 *   be accepted by the gateway.
 * - Mint cost: µs per token for `aws4fetch`, `@smithy/signature-v4`, this
 *   module's `createAuthToken`, and a cached `IamAuth.credentials()`, on
 *   Deno and on Node.js 20 (bundled).
 *
 * @module
 */
import type { BenchEmulator } from "./environment.ts";
import { denoProgram, nodeProgram, runProgram } from "./process.ts";
import { measured, type Measurement, notMeasured, ratio } from "./results.ts";

/**
 * Runs the single-flight program `runs` times (a fresh process and an empty
 * cache each time).
 *
 * @param bench The emulator.
 * @param options `concurrency`: concurrent callers; `runs`: repetitions.
 * @param log Progress lines.
 * @returns STS calls, signatures and the time for all callers to get a token.
 */
export async function measureSingleFlight(
  bench: BenchEmulator,
  options: { concurrency: number; runs: number },
  log: (line: string) => void,
): Promise<Measurement[]> {
  log(`Single flight: ${options.concurrency} concurrent callers × ${options.runs} runs…`);
  const base = { section: "single-flight" as const, runtime: "deno" as const };
  const label = `${
    options.concurrency.toLocaleString("en-US")
  } concurrent auth requests, empty cache`;
  const rows = [
    { key: "sts-calls", name: `${label}: STS calls`, unit: "calls" },
    { key: "signatures", name: `${label}: signatures`, unit: "signatures" },
    { key: "time", name: `${label}: time until every caller has a token`, unit: "ms" },
  ] as const;
  try {
    const emulator = bench.emulator;
    const stsCalls: number[] = [];
    const signatures: number[] = [];
    const times: number[] = [];
    let allAccepted = true;
    let allSame = true;
    for (let run = 0; run < options.runs; run++) {
      const jwt = await emulator.oidc.mintToken({ sub: "bench", aud: "sts.amazonaws.com" });
      const result = await runProgram(denoProgram("single_flight.ts"), {
        ...(await bench.programEnv()),
        BENCH_STS_ENDPOINT: emulator.sts.endpoint,
        BENCH_ROLE_ARN: emulator.roleArn(),
        BENCH_WEB_IDENTITY_TOKEN: jwt,
        BENCH_CONCURRENCY: String(options.concurrency),
      }, { timeoutMs: 60_000 });
      const line = result.lines[0] as {
        stsCalls: number;
        signatures: number;
        ms: number;
        distinctPasswords: number;
        accepted: boolean;
      };
      stsCalls.push(line.stsCalls);
      signatures.push(line.signatures);
      times.push(line.ms);
      allAccepted &&= line.accepted;
      allSame &&= line.distinctPasswords === 1;
    }
    const detail = { tokenAccepted: allAccepted, everyCallerGotTheSameToken: allSame };
    return [
      measured({ ...base, ...rows[0], id: "single-flight.sts-calls", detail }, stsCalls),
      measured({ ...base, ...rows[1], id: "single-flight.signatures", detail }, signatures),
      measured({ ...base, ...rows[2], id: "single-flight.time" }, times),
    ];
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0]!.slice(0, 200);
    return rows.map((row) =>
      notMeasured({ ...base, ...row, id: `single-flight.${row.key}` }, reason)
    );
  }
}

const MINT_LABELS: Record<string, string> = {
  "aws4fetch": "token mint: aws4fetch (by hand)",
  "smithy": "token mint: @smithy/signature-v4",
  "createAuthToken": "token mint: createAuthToken (this module)",
  "custom presigner": "token mint: custom presigner, no aws4fetch (not shipped)",
  "IamAuth (cached)": "token: IamAuth.credentials(), cached",
};

/**
 * Measures the mint cost on Deno and Node.
 *
 * @param bench The emulator (for the environment only).
 * @param options `iterations` per batch and `batches`.
 * @param log Progress lines.
 * @returns µs per mint per signer and runtime, with the ratio to `aws4fetch`.
 */
export async function measureMintCost(
  bench: BenchEmulator,
  options: { iterations: number; batches: number },
  log: (line: string) => void,
): Promise<Measurement[]> {
  log(`Mint cost: ${options.batches} batches × ${options.iterations} mints per signer…`);
  const env = {
    ...(await bench.programEnv()),
    BENCH_ITERATIONS: String(options.iterations),
    BENCH_BATCHES: String(options.batches),
  };
  const measurements: Measurement[] = [];
  for (const runtime of ["deno", "node"] as const) {
    const argv = runtime === "deno" ? denoProgram("mint_cost.ts") : nodeProgram("mint_cost.ts");
    try {
      const run = await runProgram(argv, env, { timeoutMs: 120_000 });
      const rows = run.lines.map((line) =>
        measured({
          id: `mint-cost.${runtime}.${
            String(line.name).replace(/\W+/g, "-").replace(/-$/, "").toLowerCase()
          }`,
          section: "mint-cost",
          name: MINT_LABELS[line.name as string] ?? String(line.name),
          runtime,
          unit: "µs",
        }, line.usPerMint as number[])
      );
      const base = rows[0];
      for (const row of rows) {
        const r = ratio(row, base);
        if (r !== undefined) row.ratios = { "vs aws4fetch": r };
      }
      measurements.push(...rows);
    } catch (error) {
      const reason = (error as Error).message.split("\n")[0]!.slice(0, 200);
      for (const name of Object.keys(MINT_LABELS)) {
        measurements.push(notMeasured({
          id: `mint-cost.${runtime}.${name.replace(/\W+/g, "-").replace(/-$/, "").toLowerCase()}`,
          section: "mint-cost",
          name: MINT_LABELS[name]!,
          runtime,
          unit: "µs",
        }, reason));
      }
    }
  }
  return measurements;
}
