// deno-lint-ignore-file no-console -- examples print what they do
/**
 * node-redis with ElastiCache IAM authentication, from Deno.
 *
 * ```sh
 * ELASTICACHE_URL=rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379 \
 * ELASTICACHE_CACHE_NAME=my-cache ELASTICACHE_USER_ID=my-user AWS_REGION=us-east-1 \
 *   deno run -A examples/node_redis.ts
 * ```
 *
 * AWS credentials come from the environment: `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), or a web identity with
 * `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (plus `AWS_ENDPOINT_URL_STS`
 * for the local emulator). `ELASTICACHE_CA_FILE` names a PEM file of CA
 * certificates to trust (the emulator's, or a private CA).
 *
 * @module
 */

import { defaultCredentials, IamAuth } from "../mod.ts";
import { createClient } from "redis";
import { createIamClient } from "@elasticache-iam/node-redis";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

using auth = new IamAuth({
  replicationGroupId: env("ELASTICACHE_CACHE_NAME"), // serverless: serverlessCacheName
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const caFile = Deno.env.get("ELASTICACHE_CA_FILE");
const client = createIamClient(createClient, {
  url: env("ELASTICACHE_URL"),
  auth,
  ...(caFile ? { caCerts: await Deno.readTextFile(caFile) } : {}),
});
client.on("error", (error) => console.error(`redis: ${error.message}`));

await client.connect();
try {
  await client.set("example:node-redis", "hello from Deno");
  console.log(`GET example:node-redis -> ${await client.get("example:node-redis")}`);
  console.log(`INCR example:node-redis:runs -> ${await client.incr("example:node-redis:runs")}`);
  const [, count] = await client.multi().set("example:tx", "1").incr("example:tx").exec();
  console.log(`MULTI SET/INCR -> ${count}`);
} finally {
  await client.close();
}
