/**
 * What any client must do per command, and nothing else: the bare socket
 * loop of `throughput_raw.ts`, but each batch is encoded from fresh argument
 * arrays by this module's encoder and every reply is decoded into a value by
 * its decoder. No command objects, no queue, no promise per batch beyond the
 * socket's own. The gap from the bare loop is the cost of encoding and
 * decoding; the gap from here to the thin client is the client's own
 * plumbing.
 *
 * @module
 */
import { encodeCommandsView } from "../../src/resp/encoder.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";
import type { RespValue } from "../../src/resp/types.ts";
import { measure, workload } from "./_throughput.ts";
import { openRawSocket } from "./_raw_socket.ts";

const load = workload();
const { key, value } = load;
const socket = await openRawSocket(load.host, load.port);
const decoder = new RespDecoder();

async function run(op: "set" | "get", depth: number): Promise<RespValue[]> {
  const commands: string[][] = [];
  for (let i = 0; i < depth; i++) commands.push(op === "set" ? ["SET", key, value] : ["GET", key]);
  const replies: RespValue[] = new Array(depth);
  let received = 0;
  const waiting = socket.readUntil((chunk) => {
    decoder.push(chunk);
    for (let reply = decoder.read(); reply !== undefined; reply = decoder.read()) {
      replies[received++] = reply;
    }
    return received === depth;
  });
  await socket.write(encodeCommandsView(commands));
  await waiting;
  return replies;
}

await measure({
  set: (depth) => run("set", depth),
  get: (depth) => run("get", depth),
  close: () => Promise.resolve(socket.close()),
}, load);
