/**
 * The runtime's own ceiling for the throughput measurement: a bare socket
 * loop with no client library. Each batch of `depth` commands is encoded
 * once up front, written in one write, and the replies are only counted (by
 * their line ends), not parsed. No client can beat this on the same runtime;
 * the gap between it and `redis-benchmark` is the runtime's I/O, not a
 * client's.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { measure, workload } from "./_throughput.ts";

const load = workload();
const encoder = new TextEncoder();
const deno = (globalThis as { Deno?: typeof Deno }).Deno;

function frame(args: string[]): string {
  return `*${args.length}\r\n${
    args.map((a) => `$${encoder.encode(a).length}\r\n${a}\r\n`).join("")
  }`;
}

/** Pre-encoded batches by operation and depth. */
const batches = new Map<string, Uint8Array>();
for (const depth of load.depths) {
  batches.set(`set${depth}`, encoder.encode(frame(["SET", load.key, load.value]).repeat(depth)));
  batches.set(`get${depth}`, encoder.encode(frame(["GET", load.key]).repeat(depth)));
}
/** Line ends per reply: `+OK\r\n` has one, `$16\r\n<value>\r\n` two. */
const LINES = { set: 1, get: 2 } as const;

interface RawSocket {
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves when `lines` more CRLFs have arrived. */
  lines(count: number): Promise<void>;
  close(): void;
}

async function denoSocket(): Promise<RawSocket> {
  const conn = await deno!.connect({ hostname: load.host, port: load.port });
  conn.setNoDelay(true);
  const buffer = new Uint8Array(256 * 1024);
  let lastByte = 0;
  return {
    async write(bytes) {
      let written = 0;
      while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    },
    async lines(count) {
      let seen = 0;
      while (seen < count) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("Connection closed");
        for (let i = 0; i < n; i++) {
          if (buffer[i] === 10 && (i > 0 ? buffer[i - 1] : lastByte) === 13) seen++;
        }
        lastByte = buffer[n - 1]!;
      }
    },
    close: () => conn.close(),
  };
}

async function nodeSocket(): Promise<RawSocket> {
  const net = await import("node:net");
  const socket = net.connect({ host: load.host, port: load.port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve).once("error", reject);
  });
  let seen = 0;
  let wanted = 0;
  let lastByte = 0;
  let done: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 10 && (i > 0 ? chunk[i - 1] : lastByte) === 13) seen++;
    }
    lastByte = chunk[chunk.length - 1]!;
    if (seen >= wanted && done) {
      const resolve = done;
      done = undefined;
      resolve();
    }
  });
  return {
    write(bytes) {
      socket.write(bytes);
      return Promise.resolve();
    },
    lines(count) {
      seen = 0;
      wanted = count;
      return new Promise((resolve) => done = resolve);
    },
    close: () => socket.destroy(),
  };
}

const socket = deno ? await denoSocket() : await nodeSocket();

async function run(op: "set" | "get", depth: number): Promise<void> {
  const waiting = socket.lines(depth * LINES[op]);
  await socket.write(batches.get(`${op}${depth}`)!);
  await waiting;
}

await measure({
  set: (depth) => run("set", depth),
  get: (depth) => run("get", depth),
  close: () => Promise.resolve(socket.close()),
}, load);
