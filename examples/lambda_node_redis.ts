// deno-lint-ignore-file no-console -- examples print what they do
/**
 * An AWS Lambda handler that uses node-redis with ElastiCache IAM
 * authentication.
 *
 * The client lives at module scope: made on a cold start, reused by warm
 * invocations. A connection the server cut while the function was frozen
 * reconnects with a token minted then; a connection that lives past 11 hours
 * is re-authenticated in place. The function's execution role credentials
 * come from the `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
 * `AWS_SESSION_TOKEN` variables Lambda sets; its role needs
 * `elasticache:Connect` on the cache and on the user.
 *
 * Configure with `ELASTICACHE_URL` (`rediss://…:6379`), `ELASTICACHE_CACHE_NAME`,
 * `ELASTICACHE_USER_ID` (and `AWS_REGION`, which Lambda sets). Build a single
 * file for the Node.js runtime with
 * `deno bundle --platform deno -o dist/index.mjs examples/lambda_node_redis.ts`
 * and deploy it with handler `index.handler`. Try it locally with
 * `deno run -A examples/lambda_node_redis.ts`, which invokes it twice.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { defaultCredentials, IamAuth } from "../mod.ts";
import { createClient } from "../src/node_redis.ts";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} in the function's configuration`);
  return value;
}

const auth = new IamAuth({
  replicationGroupId: env("ELASTICACHE_CACHE_NAME"),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const caFile = process.env.ELASTICACHE_CA_FILE; // Only for a private CA or the local emulator.
const client = createClient({
  url: env("ELASTICACHE_URL"),
  auth,
  ...(caFile ? { caCerts: readFileSync(caFile, "utf8") } : {}),
});
client.on("error", (error) => console.error(`redis: ${error.message}`));
let ready: Promise<unknown> | undefined;

/** What API Gateway or a function URL sends, as far as this handler reads it. */
export interface Event {
  /** `?page=…` */
  queryStringParameters?: { page?: string } | null;
}

/**
 * Counts hits per page.
 *
 * @param event The request.
 * @returns The response.
 */
export async function handler(event: Event = {}): Promise<{ statusCode: number; body: string }> {
  ready ??= client.connect().catch((error) => {
    ready = undefined; // The next invocation tries again.
    throw error;
  });
  await ready;
  const page = event.queryStringParameters?.page ?? "home";
  const hits = await client.incr(`hits:${page}`);
  return { statusCode: 200, body: JSON.stringify({ page, hits }) };
}

if (import.meta.main) {
  console.log(JSON.stringify(await handler({ queryStringParameters: { page: "home" } })));
  console.log(JSON.stringify(await handler({ queryStringParameters: { page: "home" } })));
  await client.close();
}
