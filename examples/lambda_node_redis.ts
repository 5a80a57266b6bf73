// deno-lint-ignore-file no-console -- examples print what they do
/**
 * An AWS Lambda handler that uses node-redis with ElastiCache IAM
 * authentication.
 *
 * The client lives at module scope: made on a cold start, reused by warm
 * invocations. A connection the server cut while the function was frozen
 * reconnects with a token minted then; a connection that lives past 11 hours
 * is re-authenticated in place. AWS credentials come from
 * `defaultCredentials()`: the execution role's keys that Lambda puts in
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, or a
 * web identity (`AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`). The role
 * needs `elasticache:Connect` on the cache and on the user.
 *
 * Configure with `ELASTICACHE_URL` (`rediss://…:6379`), `ELASTICACHE_CACHE_NAME`,
 * `ELASTICACHE_USER_ID` (and `AWS_REGION`, which Lambda sets). Build one ES
 * module file for the Node.js 20 runtime with the README's command (the same
 * for every handler; only the file name changes), and deploy it with handler
 * `index.handler`:
 *
 * ```sh
 * npx jsr add @elasticache-iam/connector @elasticache-iam/node-redis
 * npm install redis && npm install --save-dev esbuild
 * npx esbuild lambda_node_redis.ts --bundle --platform=node --target=node20 --format=esm --outfile=dist/index.mjs --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
 * ```
 *
 * The banner gives the bundle a `require`: node-redis and the AWS SDK's web
 * identity provider are CommonJS and load Node.js built-ins with `require()`;
 * without the banner the bundle fails as it loads, with
 * `Dynamic require of "node:crypto" is not supported`.
 * `tests/lambda_examples_test.ts` builds this file with exactly that command
 * and invokes the handler on Node.js as Lambda does. Try it locally with
 * `deno run -A examples/lambda_node_redis.ts`, which invokes it twice.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { defaultCredentials, IamAuth } from "@elasticache-iam/connector";
import { createClient } from "redis";
import { createIamClient } from "@elasticache-iam/node-redis";

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
const client = createIamClient(createClient, {
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
