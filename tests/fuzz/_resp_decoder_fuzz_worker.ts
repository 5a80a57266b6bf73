/**
 * Runs the RESP decoder fuzz in a worker, so that the test can stop it and
 * fail if it hangs. Receives `{ seed, frames, only? }`; posts `progress`
 * messages, then `done` with the figures or `failure` with what replays it.
 *
 * @module
 */

import { FuzzFailure, loadCorpus, runFuzz } from "./_resp_fuzz.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (event: MessageEvent) => {
  const { seed, frames, only } = event.data as { seed: number; frames: number; only?: number };
  const json = JSON.parse(
    await Deno.readTextFile(new URL("./real_replies.json", import.meta.url)),
  );
  const corpus = loadCorpus(json);
  try {
    const stats = runFuzz(
      seed,
      frames,
      corpus,
      (caseIndex) => scope.postMessage({ type: "progress", caseIndex }),
      only,
    );
    scope.postMessage({ type: "done", stats });
  } catch (error) {
    if (error instanceof FuzzFailure) {
      scope.postMessage({
        type: "failure",
        message: error.message,
        caseIndex: error.caseIndex,
        input: error.input.length <= 4096 ? [...error.input] : [...error.input.subarray(0, 4096)],
      });
    } else {
      scope.postMessage({
        type: "failure",
        message: `the fuzz itself broke: ${(error as Error).stack ?? error}`,
        caseIndex: -1,
        input: [],
      });
    }
  }
};
