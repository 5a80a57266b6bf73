/**
 * Throughput of node-redis v6 on one connection: `GET`/`SET`, sequential
 * (depth 1) and pipelined (depth N commands issued in one tick, which
 * node-redis writes as one batch: its documented auto-pipelining).
 *
 * @module
 */
import { createClient } from "redis";
import { measure, workload } from "./_throughput.ts";

const load = workload();
const client = createClient({ socket: { host: load.host, port: load.port } });
client.on("error", () => {});
await client.connect();
const { key, value } = load;

await measure({
  set(depth) {
    if (depth === 1) return client.set(key, value);
    const replies = new Array<Promise<unknown>>(depth);
    for (let i = 0; i < depth; i++) replies[i] = client.set(key, value);
    return Promise.all(replies);
  },
  get(depth) {
    if (depth === 1) return client.get(key);
    const replies = new Array<Promise<unknown>>(depth);
    for (let i = 0; i < depth; i++) replies[i] = client.get(key);
    return Promise.all(replies);
  },
  close: () => client.close(),
}, load);
