/**
 * How long Node.js takes to import a bundle: the weight a user's cold start
 * carries before their code runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { run } from "./iam_emulator.ts";

/**
 * The median of Node.js importing a bundle in five fresh processes, in ms.
 *
 * @param bundle The bundle's path.
 * @returns The median import time.
 */
export async function nodeImportMs(bundle: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const result = await run("node", [
      "--input-type=module",
      "-e",
      `const t = performance.now(); await import(process.argv[1]); console.log(performance.now() - t);`,
      bundle,
    ], {});
    assert.equal(result.code, 0, result.stderr);
    times.push(Number(result.stdout.trim()));
  }
  return times.sort((a, b) => a - b)[2]!;
}
