/**
 * Hostile input for the RESP decoder: seeded random frames and mutated real
 * `redis-server` replies (see `_resp_fuzz.ts` for what each case checks),
 * run in a worker under a watchdog so that a hang fails the test instead of
 * stalling the suite; then targeted attacks on memory and time: huge
 * headers, slow-loris streams, nesting bombs and sustained streams under
 * tight limits.
 *
 * CI size: 40,000 frames. Nightly (`FUZZ_SIZE=long`): 1,200,000 frames.
 * A failure prints `FUZZ_SEED` and `FUZZ_CASE`, which replay it.
 */

import assert from "node:assert/strict";
import { ProtocolError } from "../../src/errors.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";
import type { FuzzStats } from "./_resp_fuzz.ts";
import { ONLY_CASE, replay, report, SEED, sized } from "./_prng.ts";

const FILE = "tests/fuzz/resp_decoder_fuzz_test.ts";
const FRAMES = sized(40_000, 1_200_000);
/** A run stalls if 1,000 cases take longer than this. */
const STALL_MS = 60_000;
const encoder = new TextEncoder();

Deno.test(`RESP decoder: ${FRAMES} random and mutated frames, no crash, no hang, bounded memory`, async () => {
  const worker = new Worker(new URL("./_resp_decoder_fuzz_worker.ts", import.meta.url), {
    type: "module",
  });
  let lastCase = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const result = await new Promise<
      | { type: "done"; stats: FuzzStats }
      | { type: "failure"; message: string; caseIndex: number; input: number[] }
      | { type: "stalled" }
    >((resolve) => {
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve({ type: "stalled" }), STALL_MS);
      };
      worker.onmessage = (event) => {
        if (event.data.type === "progress") {
          lastCase = event.data.caseIndex;
          arm();
        } else {
          resolve(event.data);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        resolve({
          type: "failure",
          message: `worker error: ${event.message}`,
          caseIndex: -1,
          input: [],
        });
      };
      arm();
      worker.postMessage({
        seed: SEED,
        frames: FRAMES,
        ...(ONLY_CASE === undefined ? {} : { only: ONLY_CASE }),
      });
    });
    if (result.type === "stalled") {
      assert.fail(
        `the decoder hung: no progress for ${STALL_MS} ms after case ${lastCase} ` +
          `(cases ${lastCase} to ${lastCase + 999}; seed ${SEED}; replay one with FUZZ_CASE)`,
      );
    }
    if (result.type === "failure") {
      const hex = result.input.map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.fail(`${result.message}\n${replay(result.caseIndex, FILE)}\ninput (hex): ${hex}`);
    }
    const s = result.stats;
    if (ONLY_CASE === undefined) assert.ok(s.frames >= FRAMES);
    report(
      `resp decoder: seed ${SEED}, ${s.cases} cases, ${s.frames} frames (${s.mutatedCases} ` +
        `mutated cases), ${
          (s.bytes / 1048576).toFixed(1)
        } MiB, each decoded chunked and whole, in ` +
        `${(s.ms / 1000).toFixed(1)} s = ${Math.round(s.frames / (s.ms / 1000))} frames/s; ` +
        `${s.protocolErrors} ProtocolErrors (${s.bufferLimitErrors} at the buffer limit); ` +
        `peak bufferedBytes ${s.peakBufferedBytes}; peak RSS ${
          (s.peakRss / 1048576).toFixed(0)
        } MiB`,
    );
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
});

/** Runs `fn` and returns how much the process' resident memory grew meanwhile, in MiB. */
function rssGrowth(fn: () => void): number {
  const before = Deno.memoryUsage().rss;
  fn();
  return (Deno.memoryUsage().rss - before) / 1048576;
}

function expectProtocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("RESP decoder: a header announcing 512 MiB allocates only what arrives", () => {
  const decoder = new RespDecoder();
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const grown = rssGrowth(() => {
    decoder.push(encoder.encode(`$${512 * 1024 * 1024 - 1}\r\n`));
    for (let i = 0; i < 32; i++) {
      decoder.push(chunk);
      assert.equal(decoder.read(), undefined);
    }
  });
  assert.equal(decoder.bufferedBytes, 2 * 1024 * 1024 + 12);
  assert.ok(grown < 64, `RSS grew by ${grown.toFixed(0)} MiB for 2 MiB of payload`);
});

Deno.test("RESP decoder: array, map and push headers of 2^32-1 preallocate nothing", () => {
  for (const type of ["*", "%", "~", ">", "|"]) {
    const decoder = new RespDecoder();
    const grown = rssGrowth(() => {
      decoder.push(encoder.encode(`${type}4294967295\r\n`));
      assert.equal(decoder.read(), undefined);
      decoder.push(encoder.encode(`${type}4294967295\r\n`.repeat(63)));
      assert.equal(decoder.read(), undefined);
    });
    assert.ok(grown < 16, `${type}: RSS grew by ${grown.toFixed(0)} MiB`);
    expectProtocolError(() => {
      decoder.push(encoder.encode(`${type}1\r\n`));
      decoder.read();
    }, /maxDepth 64/);
  }
  expectProtocolError(() => {
    const decoder = new RespDecoder();
    decoder.push(encoder.encode("*4294967296\r\n"));
    decoder.read();
  }, /exceeds maxAggregateLength/);
});

Deno.test("RESP decoder: slow-loris lines and payloads byte by byte take linear time", () => {
  const started = performance.now();
  const cases: [string, Uint8Array][] = [
    ["a 64 KiB simple string", encoder.encode(`+${"s".repeat(65_536)}\r\n`)],
    ["a 256 KiB bulk string", encoder.encode(`$262144\r\n${"b".repeat(262_144)}\r\n`)],
  ];
  for (const [what, bytes] of cases) {
    const decoder = new RespDecoder();
    let value: unknown;
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.subarray(i, i + 1));
      value = decoder.read() ?? value;
    }
    assert.ok(value !== undefined, what);
  }
  const ms = performance.now() - started;
  // Quadratic rescanning would take minutes; linear work takes well under a second.
  assert.ok(ms < 10_000, `byte-by-byte decoding took ${ms.toFixed(0)} ms`);
});

Deno.test("RESP decoder: a line without CRLF fails at maxInlineLength, whatever the chunking", () => {
  for (const type of ["+", "-", ":", "$", "*", ",", "(", "#", "_"]) {
    for (const chunk of [1, 7, 4096, 100_000]) {
      const decoder = new RespDecoder({ maxInlineLength: 1000 });
      const line = encoder.encode(type + "9".repeat(5000));
      expectProtocolError(() => {
        for (let i = 0; i < line.length; i += chunk) {
          decoder.push(line.subarray(i, i + chunk));
          decoder.read();
        }
      }, /maxInlineLength|exceeds|invalid/);
      assert.equal(decoder.bufferedBytes, 0);
    }
  }
});

Deno.test("RESP decoder: nesting bombs fail at maxDepth without deep recursion", () => {
  for (const maxDepth of [1, 64, 10_000]) {
    const decoder = new RespDecoder({ maxDepth });
    decoder.push(encoder.encode("*1\r\n".repeat(maxDepth + 5)));
    expectProtocolError(() => decoder.read(), new RegExp(`maxDepth ${maxDepth}`));
  }
  // At the limit, a deep value decodes (iteratively: no stack overflow).
  const decoder = new RespDecoder({ maxDepth: 100_000 });
  decoder.push(encoder.encode("*1\r\n".repeat(100_000) + ":1\r\n"));
  let value = decoder.read();
  let depth = 0;
  while (Array.isArray(value)) {
    value = value[0];
    depth++;
  }
  assert.equal(depth, 100_000);
  assert.equal(value, 1);
});

Deno.test("RESP decoder: a sustained stream under tight limits never buffers past them", () => {
  // Room for one whole bulk string, its header, and one more 8 KiB read.
  const limits = { maxBulkLength: 60_000, maxBufferedBytes: 60_000 + 1024 + 8192 };
  const decoder = new RespDecoder(limits);
  const payload = "p".repeat(60_000);
  const frame = encoder.encode(`$60000\r\n${payload}\r\n+OK\r\n:1\r\n`);
  const stream = new Uint8Array(frame.length * 128);
  for (let i = 0; i < 128; i++) stream.set(frame, i * frame.length);
  let peak = 0;
  let frames = 0;
  const grown = rssGrowth(() => {
    for (let round = 0; round < 4; round++) {
      for (let at = 0; at < stream.length; at += 8192) {
        decoder.push(stream.subarray(at, at + 8192));
        peak = Math.max(peak, decoder.bufferedBytes);
        while (decoder.read() !== undefined) frames++;
      }
    }
  });
  assert.equal(frames, 4 * 128 * 3);
  assert.ok(peak <= limits.maxBufferedBytes, `peak ${peak}`);
  assert.ok(grown < 64, `RSS grew by ${grown.toFixed(0)} MiB streaming 30 MiB`);
  // One chunk bigger than the limit is refused before it is copied.
  expectProtocolError(
    () => decoder.push(new Uint8Array(limits.maxBufferedBytes + 1)),
    /exceed maxBufferedBytes 69216/,
  );
  assert.equal(decoder.bufferedBytes, 0);
});
