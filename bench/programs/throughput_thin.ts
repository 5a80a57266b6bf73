/**
 * Throughput of this module's thin client on one connection: `GET`/`SET`,
 * sequential (depth 1) and pipelined (`client.pipeline()`, depth N).
 *
 * @module
 */
import { connect } from "../../mod.ts";
import { measure, workload } from "./_throughput.ts";

const load = workload();
const client = await connect({ host: load.host, port: load.port, tls: false });
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
  close: () => client.close(),
}, load);
