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
import { measure, workload } from "./_throughput.ts";
import { openRawSocket } from "./_raw_socket.ts";

const load = workload();
const encoder = new TextEncoder();

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

const socket = await openRawSocket(load.host, load.port);

/** The last byte read, for a CRLF split between two chunks. */
let lastByte = 0;

/** Resolves when `count` more CRLFs have arrived. */
function lines(count: number): Promise<void> {
  let seen = 0;
  return socket.readUntil((chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 10 && (i > 0 ? chunk[i - 1] : lastByte) === 13) seen++;
    }
    lastByte = chunk[chunk.length - 1]!;
    return seen >= count;
  });
}

async function run(op: "set" | "get", depth: number): Promise<void> {
  const waiting = lines(depth * LINES[op]);
  await socket.write(batches.get(`${op}${depth}`)!);
  await waiting;
}

await measure({
  set: (depth) => run("set", depth),
  get: (depth) => run("get", depth),
  close: () => Promise.resolve(socket.close()),
}, load);
