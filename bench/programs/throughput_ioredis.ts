/**
 * Throughput of ioredis on one connection: `GET`/`SET`, sequential (depth 1)
 * and pipelined (`client.pipeline()`, depth N).
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { Redis } from "npm:ioredis@6.0.0";
import { measure, workload } from "./_throughput.ts";

const load = workload();
const client = new Redis({ host: load.host, port: load.port, lazyConnect: true });
client.on("error", () => {});
await client.connect();
const { key, value } = load;

await measure({
  set(depth) {
    if (depth === 1) return client.set(key, value);
    const pipeline = client.pipeline();
    for (let i = 0; i < depth; i++) pipeline.set(key, value);
    return pipeline.exec();
  },
  get(depth) {
    if (depth === 1) return client.get(key);
    const pipeline = client.pipeline();
    for (let i = 0; i < depth; i++) pipeline.get(key);
    return pipeline.exec();
  },
  close: () => client.quit(),
}, load);
