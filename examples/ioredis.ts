// deno-lint-ignore-file no-console -- examples print what they do
/**
 * ioredis (or iovalkey) with ElastiCache IAM authentication, from Deno.
 * Neither has an async password hook: `attachIamAuth` keeps
 * `client.options.password` set to a valid token for every reconnect and
 * re-authenticates the live connection with `client.auth()` before the
 * 12-hour cut.
 *
 * ```sh
 * ELASTICACHE_URL=rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379 \
 * ELASTICACHE_CACHE_NAME=my-cache ELASTICACHE_USER_ID=my-user AWS_REGION=us-east-1 \
 *   deno run -A examples/ioredis.ts
 * ```
 *
 * Credentials and `ELASTICACHE_CA_FILE` work as in `examples/node_redis.ts`.
 * For iovalkey, import `{ Redis }` from `iovalkey` instead: the rest is the same.
 *
 * @module
 */

import { Redis } from "ioredis";
import { defaultCredentials, IamAuth } from "../mod.ts";
import { attachIamAuth } from "@elasticache-iam/ioredis";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

using auth = new IamAuth({
  replicationGroupId: env("ELASTICACHE_CACHE_NAME"),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const url = new URL(env("ELASTICACHE_URL"));
const caFile = Deno.env.get("ELASTICACHE_CA_FILE");
const client = new Redis({
  host: url.hostname,
  port: Number(url.port || 6379),
  tls: caFile ? { ca: await Deno.readTextFile(caFile) } : {},
  lazyConnect: true, // The first connect must already carry a token.
});
client.on("error", (error) => console.error(`ioredis: ${error.message}`));

using _iam = await attachIamAuth(client, auth, {
  onReAuthenticationError: (error) => console.error(error.message),
});
try {
  await client.set("example:ioredis", "hello from ioredis");
  console.log(`GET example:ioredis -> ${await client.get("example:ioredis")}`);
  const results = await client.multi().set("example:tx", "1").incr("example:tx").exec();
  console.log(`MULTI SET/INCR -> ${results?.[1]?.[1]}`);
} finally {
  await client.quit();
}
