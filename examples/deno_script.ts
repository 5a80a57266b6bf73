// deno-lint-ignore-file no-console -- examples print what they do
/**
 * A Deno script that connects to ElastiCache (or MemoryDB) with IAM
 * authentication through the module's thin client, runs a few commands and exits.
 *
 * ```sh
 * deno add jsr:@elasticache-iam/connector
 * ELASTICACHE_URL=rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379 \
 * ELASTICACHE_CACHE_NAME=my-cache ELASTICACHE_USER_ID=my-user AWS_REGION=us-east-1 \
 *   deno run --allow-net --allow-env --allow-read examples/deno_script.ts
 * ```
 *
 * AWS credentials come from `defaultCredentials()`: `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), or a web identity with
 * `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`. Set
 * `ELASTICACHE_SERVERLESS=true` for a serverless cache, and
 * `ELASTICACHE_CA_FILE` to trust a private CA (or the local emulator's).
 *
 * @module
 */

import { connect, defaultCredentials, IamAuth } from "@elasticache-iam/connector";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

const url = new URL(env("ELASTICACHE_URL"));
const cacheName = env("ELASTICACHE_CACHE_NAME");
using auth = new IamAuth({
  ...(Deno.env.get("ELASTICACHE_SERVERLESS") === "true"
    ? { serverlessCacheName: cacheName }
    : { replicationGroupId: cacheName }),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const caFile = Deno.env.get("ELASTICACHE_CA_FILE");
await using client = await connect({
  host: url.hostname.replace(/^\[|\]$/g, ""),
  port: Number(url.port || 6379),
  tls: url.protocol === "rediss:",
  auth,
  ...(caFile ? { caCerts: await Deno.readTextFile(caFile) } : {}),
});

console.log(`connected as ${await client.send(["ACL", "WHOAMI"])}`);
await client.set("example:deno", "hello from Deno", { ex: 60 });
console.log(`GET example:deno -> ${await client.get("example:deno")}`);
const [runs] = await client.multi().incr("example:deno:runs").expire("example:deno:runs", 60)
  .exec();
console.log(`INCR example:deno:runs -> ${runs}`);
