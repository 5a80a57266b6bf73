/**
 * A Deno Deploy (or any `Deno.serve`) HTTP handler that counts hits in
 * ElastiCache with IAM authentication.
 *
 * The token manager and the connection live at module scope: the first
 * request connects, later requests reuse the connection without signing
 * anything, and a connection the server cut reconnects on the next command
 * with a fresh token. It needs only network and environment access:
 *
 * ```sh
 * ELASTICACHE_URL=rediss://my-cache-xxxxxx.serverless.use1.cache.amazonaws.com:6379 \
 * ELASTICACHE_CACHE_NAME=my-cache ELASTICACHE_SERVERLESS=true ELASTICACHE_USER_ID=my-user \
 * AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
 *   deno run --allow-net --allow-env examples/deno_deploy.ts
 * ```
 *
 * On Deno Deploy, set the same variables in the project's settings.
 * `ELASTICACHE_CA_CERT` holds PEM CA certificates to trust, for a private CA
 * or the local emulator only. `PORT` picks the local port (default 8000).
 *
 * @module
 */

import { connect, defaultCredentials, IamAuth, type RedisClient } from "@elasticache-iam/connector";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

const url = new URL(env("ELASTICACHE_URL"));
const cacheName = env("ELASTICACHE_CACHE_NAME");
const auth = new IamAuth({
  ...(Deno.env.get("ELASTICACHE_SERVERLESS") === "true"
    ? { serverlessCacheName: cacheName }
    : { replicationGroupId: cacheName }),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const caCert = Deno.env.get("ELASTICACHE_CA_CERT");

let client: Promise<RedisClient> | undefined;

/** The connection, made by the first request and reused by the next ones. */
function redis(): Promise<RedisClient> {
  client ??= connect({
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port || 6379),
    tls: url.protocol === "rediss:",
    auth,
    ...(caCert ? { caCerts: caCert } : {}),
  }).catch((error) => {
    client = undefined; // The next request tries again.
    throw error;
  });
  return client;
}

/**
 * Counts hits per path.
 *
 * @param request The request.
 * @returns `{ path, hits }` as JSON.
 */
export async function handler(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  try {
    const hits = await (await redis()).incr(`hits:${pathname}`);
    return Response.json({ path: pathname, hits });
  } catch (error) {
    // The message names the failed step and never contains a token or a key.
    return Response.json({ error: (error as Error).message }, { status: 503 });
  }
}

if (import.meta.main) {
  Deno.serve({
    port: Number(Deno.env.get("PORT") ?? 8000),
    onListen: ({ port }) => Deno.stdout.write(new TextEncoder().encode(`listening on ${port}\n`)),
  }, handler);
}
