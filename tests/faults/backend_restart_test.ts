/**
 * Fault: the `redis-server` behind the gateway is killed (`SIGKILL`) while
 * pipelines are in flight, then restarted on the same port. Every command
 * must end in a reply or an error (never silence), and no `SET` the client
 * saw acknowledged may be missing afterwards (the server fsyncs its
 * append-only file before replying, so an acknowledged write survives).
 */

import assert from "node:assert/strict";
import type { RedisClient } from "../../src/client.ts";
import { startDurableBackend } from "./_durable_backend.ts";
import {
  type FaultEnv,
  type NodeRedisClient,
  type Outcome,
  sleep,
  startFaultEnv,
  track,
  until,
} from "./_fault_env.ts";

/** Writers running side by side, and how many batches each keeps in flight. */
const WRITERS = 4;
const WINDOW = 4;
const BATCH = 50;

/** What the writers did, for the checks. */
interface Ledger {
  /** Every command (or pipeline) issued, with its live outcome. */
  readonly issued: { readonly outcome: Outcome<unknown> }[];
  /** Keys whose SET was acknowledged, with the value written. */
  readonly acked: Map<string, string>;
  /** Failures, by message. */
  readonly errors: Error[];
}

/** Writes batches of unique keys through `send` until `stop()` says so. */
async function write(
  ledger: Ledger,
  writer: number,
  stop: () => boolean,
  send: (entries: [string, string][]) => Promise<unknown[]>,
): Promise<void> {
  const window: Promise<unknown>[] = [];
  for (let n = 0; !stop(); n++) {
    const entries = Array.from(
      { length: BATCH },
      (_, i): [string, string] => [`kill:${writer}:${n}:${i}`, `value-${writer}-${n}-${i}`],
    );
    const sent = send(entries);
    ledger.issued.push(track(sent));
    window.push(
      sent.then(
        (replies) =>
          replies.forEach((reply, i) => {
            if (reply === "OK") ledger.acked.set(entries[i]![0], entries[i]![1]);
            else if (reply instanceof Error) ledger.errors.push(reply);
          }),
        (error) => ledger.errors.push(error),
      ),
    );
    if (window.length >= WINDOW) await window.shift();
    else await sleep(0);
  }
  await Promise.all(window);
}

/** Reads every acknowledged key back through a separate connection. */
async function lostKeys(env: FaultEnv, acked: Map<string, string>): Promise<string[]> {
  const keys = [...acked.keys()];
  const lost: string[] = [];
  for (let at = 0; at < keys.length; at += 500) {
    const chunk = keys.slice(at, at + 500);
    const values = await env.admin(["MGET", ...chunk]) as (string | null)[];
    chunk.forEach((key, i) => {
      if (values[i] !== acked.get(key)) lost.push(key);
    });
  }
  return lost;
}

/** Runs the writers, kills the backend mid-flight, restarts it, and checks the outcome. */
async function killAndRestart(
  label: string,
  send: (entries: [string, string][]) => Promise<unknown[]>,
  env: FaultEnv,
  backend: Awaited<ReturnType<typeof startDurableBackend>>,
): Promise<void> {
  const ledger: Ledger = { issued: [], acked: new Map(), errors: [] };
  let stopped = false;
  const writers = Array.from(
    { length: WRITERS },
    (_, w) => write(ledger, w, () => stopped, send),
  );
  await until(() => ledger.acked.size >= 2000, `${label}: writes before the kill`, 10_000);
  const inFlight = ledger.issued.filter((entry) => !entry.outcome.settled).length;
  await backend.kill();
  assert.ok(inFlight > 0, "commands were in flight when the server died");
  const ackedBeforeRestart = ledger.acked.size;
  await until(() => ledger.errors.length > 0, `${label}: the failure to reach the client`);
  await sleep(200);
  await backend.restart();
  await until(
    () => ledger.acked.size >= ackedBeforeRestart + 2000,
    `${label}: writes after the restart`,
    15_000,
  );
  stopped = true;
  await Promise.race([
    Promise.all(writers),
    sleep(10_000),
  ]);
  const silent = ledger.issued.filter((entry) => !entry.outcome.settled).length;
  assert.equal(
    silent,
    0,
    `${silent} of ${ledger.issued.length} commands never got a reply or an error`,
  );
  assert.ok(ledger.errors.length > 0);
  for (const error of ledger.errors) {
    assert.ok(error instanceof Error, String(error));
    assert.match(
      error.message,
      // (LOADING: a command that reached the restarted redis-server while it read its data back.)
      /closed|backend is unavailable|Socket closed unexpectedly|ECONNRESET|reset|^LOADING /i,
      `a clear error: ${error.message}`,
    );
  }
  const lost = await lostKeys(env, ledger.acked);
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} acknowledged SETs are missing`);
  assert.deepEqual(env.refusals(), [], "every reconnect presented a valid token");
}

Deno.test("thin client: redis-server killed mid-pipeline and restarted: every command answered or failed, no acknowledged SET lost", async () => {
  await using backend = await startDurableBackend();
  await using env = await startFaultEnv({ emulator: { backend: backend.config } });
  await backend.saveAcl();
  const client: RedisClient = await env.thin({
    reconnect: { attempts: 200, minDelay: 20, maxDelay: 200 },
  });
  await killAndRestart(
    "thin client",
    (entries) => {
      const pipeline = client.pipeline();
      for (const [key, value] of entries) pipeline.set(key, value);
      return pipeline.exec({ keepErrors: true });
    },
    env,
    backend,
  );
  assert.equal(await client.ping(), "PONG");
});

Deno.test("node-redis: redis-server killed mid-pipeline and restarted: every command answered or failed, no acknowledged SET lost", async () => {
  await using backend = await startDurableBackend();
  await using env = await startFaultEnv({ emulator: { backend: backend.config } });
  await backend.saveAcl();
  const { client } = env.nodeRedis();
  const node: NodeRedisClient = client;
  await node.connect();
  await killAndRestart(
    "node-redis",
    (entries) => {
      // Issued in one tick: node-redis writes them as one pipeline.
      const replies = entries.map(([key, value]) => node.set(key, value).then((r) => r, (e) => e));
      return Promise.all(replies).then((results) => {
        const failure = results.find((r) => r instanceof Error);
        // A whole batch that failed is one failure, as for the thin client's pipeline.
        if (failure !== undefined && results.every((r) => r instanceof Error)) throw failure;
        return results;
      });
    },
    env,
    backend,
  );
  assert.equal(await node.ping(), "PONG");
  await node.close();
});
