/**
 * A decoded-size bomb over a real socket, in a real child process: a server
 * answers with `*4294967295` and then empty maps (`%0`) for as long as the
 * client reads. Each costs 4 bytes on the wire and about 200 bytes once
 * decoded, so without `maxReplyElements` and `maxReplyBytes` some 14 MB of
 * wire data end a process with a 512 MB heap in a fatal out-of-memory, and
 * some 92 MB one with the default heap. With them, the child's decoder throws
 * a `ProtocolError` that names the limit, and the child exits normally.
 *
 * This file is also the child: `deno run` runs {@linkcode child}.
 */

import assert from "node:assert/strict";
import { type DecoderLimits, RespDecoder } from "../src/resp/decoder.ts";

const encoder = new TextEncoder();
const CHUNK = 64 * 1024;
/** How long a child may run before it is killed and the test fails. */
const CHILD_DEADLINE_MS = 60_000;

/** What the child prints on its one line of stdout. */
interface ChildReport {
  /** The error's name, or `"none"` if the reply ended without one. */
  name: string;
  message: string;
  /** Bytes read from the socket until the decoder threw. */
  consumed: number;
  /** `Deno.memoryUsage().heapUsed` when it threw, garbage included. */
  heapUsed: number;
}

/**
 * Answers whatever a client sends with `*4294967295\r\n` and then `filler`,
 * written in 64 KiB chunks until the client hangs up.
 */
function startBombServer(filler: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunk = encoder.encode(filler.repeat(CHUNK / filler.length));
  let written = 0;
  const served = (async () => {
    for await (const conn of listener) {
      try {
        await conn.read(new Uint8Array(1024));
        written += await conn.write(encoder.encode("*4294967295\r\n"));
        for (;;) {
          let at = 0;
          while (at < chunk.length) at += await conn.write(chunk.subarray(at));
          written += chunk.length;
        }
      } catch {
        // The client hung up.
      } finally {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get written() {
      return written;
    },
    async close() {
      listener.close();
      await served;
    },
  };
}

/** Runs this file as a child with a V8 heap of `heapMiB` (default if undefined). */
async function runChild(
  port: number,
  limits: DecoderLimits,
  heapMiB?: number,
): Promise<{ code: number; report: ChildReport | undefined; stderr: string }> {
  const args = ["run", "--no-check", "--allow-net=127.0.0.1"];
  if (heapMiB !== undefined) args.push(`--v8-flags=--max-old-space-size=${heapMiB}`);
  args.push(new URL(import.meta.url).pathname, String(port), JSON.stringify(limits));
  const process = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.kill("SIGKILL");
  }, CHILD_DEADLINE_MS);
  try {
    const { code, stdout, stderr } = await process.output();
    assert.ok(!timedOut, `the child did not end within ${CHILD_DEADLINE_MS} ms`);
    const text = new TextDecoder().decode(stdout).trim();
    return {
      code,
      report: text === "" ? undefined : JSON.parse(text) as ChildReport,
      stderr: new TextDecoder().decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function assertChildStopsTheBomb(
  filler: string,
  limits: DecoderLimits,
  heapMiB: number | undefined,
  limit: RegExp,
  maxConsumed: number,
): Promise<ChildReport> {
  const server = startBombServer(filler);
  try {
    const { code, report, stderr } = await runChild(server.port, limits, heapMiB);
    assert.equal(code, 0, `the child crashed (exit code ${code}): ${stderr.slice(-2000)}`);
    assert.ok(report !== undefined, `the child printed nothing: ${stderr.slice(-2000)}`);
    assert.equal(report.name, "ProtocolError", report.message);
    assert.match(report.message, limit);
    assert.match(report.message, /raise the limit if such replies are expected$/);
    assert.ok(report.consumed > 1024 * 1024, `stopped after ${report.consumed} bytes`);
    assert.ok(report.consumed < maxConsumed, `stopped after ${report.consumed} bytes`);
    return report;
  } finally {
    await server.close();
  }
}

Deno.test("a decoded-size bomb ends in a ProtocolError naming the limit at the default heap and limits", async () => {
  // About 2.6 million empty maps (10 MB on the wire) reach the estimated 512 MiB.
  await assertChildStopsTheBomb(
    "%0\r\n",
    {},
    undefined,
    /^Cannot decode RESP frame: the reply exceeds maxReplyBytes \(537001984 bytes, estimated\)/,
    64 * 1024 * 1024,
  );
  // Tiny integers cost less than the estimated bytes allow: 2^24 of them (67 MB on the wire)
  // reach maxReplyElements first.
  await assertChildStopsTheBomb(
    ":1\r\n",
    {},
    undefined,
    /^Cannot decode RESP frame: the reply exceeds maxReplyElements \(16777216 values\)/,
    72 * 1024 * 1024,
  );
});

Deno.test("a decoded-size bomb ends in a ProtocolError in a 512 MB heap with maxReplyBytes of 64 MiB", async () => {
  await assertChildStopsTheBomb(
    "%0\r\n",
    { maxReplyBytes: 64 * 1024 * 1024 },
    512,
    /^Cannot decode RESP frame: the reply exceeds maxReplyBytes \(67108864 bytes, estimated\)/,
    8 * 1024 * 1024,
  );
  // Empty arrays cost less each: more of them, and still a ProtocolError.
  await assertChildStopsTheBomb(
    "*0\r\n",
    { maxReplyBytes: 64 * 1024 * 1024 },
    512,
    /maxReplyBytes \(67108864 bytes, estimated\)/,
    16 * 1024 * 1024,
  );
});

/** The child: reads the socket into a decoder and reports the error it gets. */
async function child(port: number, limits: DecoderLimits): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new RespDecoder(limits);
  const buffer = new Uint8Array(CHUNK);
  let consumed = 0;
  let report: ChildReport = { name: "none", message: "", consumed: 0, heapUsed: 0 };
  try {
    await conn.write(encoder.encode("*1\r\n$4\r\nPING\r\n"));
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      consumed += n;
      decoder.push(buffer.subarray(0, n));
      while (decoder.read() !== undefined) {
        // Only the bomb's one reply is expected.
      }
    }
  } catch (error) {
    report = {
      name: (error as Error).name,
      message: (error as Error).message,
      consumed,
      heapUsed: Deno.memoryUsage().heapUsed,
    };
  } finally {
    conn.close();
  }
  await Deno.stdout.write(encoder.encode(`${JSON.stringify(report)}\n`));
}

if (import.meta.main) {
  await child(Number(Deno.args[0]), JSON.parse(Deno.args[1]!) as DecoderLimits);
}
