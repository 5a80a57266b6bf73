/**
 * Throughput of valkey-glide (`@valkey/valkey-glide`) on one connection:
 * `GET`/`SET`, sequential (depth 1) and pipelined (a non-atomic `Batch`,
 * depth N). Node.js only: glide is a native binding.
 *
 * Loaded with `require()` from `bench/peers/node_modules` at run time, so
 * that neither `deno check` nor the bundler fetch or inline its native
 * packages; the few members used are typed here.
 *
 * @module
 */
import { createRequire } from "node:module";
import { measure, workload } from "./_throughput.ts";

interface GlideBatch {
  set(key: string, value: string): GlideBatch;
  get(key: string): GlideBatch;
}
interface GlideClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  exec(batch: GlideBatch, raiseOnError: boolean): Promise<unknown>;
  close(): void;
}
interface Glide {
  GlideClient: {
    createClient(options: { addresses: { host: string; port: number }[] }): Promise<GlideClient>;
  };
  Batch: new (isAtomic: boolean) => GlideBatch;
}

const glide = createRequire(import.meta.url)("@valkey/valkey-glide") as Glide;
const load = workload();
const client = await glide.GlideClient.createClient({
  addresses: [{ host: load.host, port: load.port }],
});
const { key, value } = load;

await measure({
  set(depth) {
    if (depth === 1) return client.set(key, value);
    const batch = new glide.Batch(false);
    for (let i = 0; i < depth; i++) batch.set(key, value);
    return client.exec(batch, true);
  },
  get(depth) {
    if (depth === 1) return client.get(key);
    const batch = new glide.Batch(false);
    for (let i = 0; i < depth; i++) batch.get(key);
    return client.exec(batch, true);
  },
  close: () => Promise.resolve(client.close()),
}, load);
