/**
 * A Deno Deploy (or any `Deno.serve`) HTTP handler that counts hits in an
 * ElastiCache Serverless cache through its public endpoint, with IAM
 * authentication over TLS 1.3.
 *
 * The endpoint is one URL, as the console shows it, with the IAM user id as
 * its user name; the cache's name and region are read from its host. AWS
 * credentials come from the environment. It needs only network and
 * environment access:
 *
 * ```sh
 * deno add jsr:@elasticache-iam/connector
 * ELASTICACHE_URL=rediss://iam-user@my-cache-abc123.public.serverless.use1.cache.amazonaws.com:6379 \
 * AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
 *   deno run --allow-net --allow-env examples/deno_deploy.ts
 * ```
 *
 * On Deno Deploy, set the same variables in the app's settings. To use Deno
 * Deploy's OIDC tokens instead of keys (a role that trusts
 * `https://oidc.deno.com`, its ARN in `AWS_ROLE_ARN`), replace
 * `defaultCredentials()` with
 * `fromWebIdentity({ webIdentityToken: () => getIdToken("sts.amazonaws.com") })`,
 * `getIdToken` coming from `jsr:@deno/oidc`.
 *
 * A host whose name says no cache (the local emulator, a DNS alias) also
 * needs `ELASTICACHE_SERVERLESS_CACHE_NAME` and `AWS_REGION`, as
 * `deno task test:live` reads them, and `ELASTICACHE_CA_CERT` holds PEM CA
 * certificates to trust, for a private CA or the emulator only: that is how
 * `tests/examples_test.ts` runs this handler against the emulator's public
 * endpoint. `PORT` picks the local port (default 8000).
 *
 * The token manager and the connection live at module scope: the first
 * request connects, later requests reuse the connection without signing
 * anything, and a connection the server cut reconnects on the next command
 * with a fresh token.
 *
 * @module
 */

import { connect, defaultCredentials, IamAuth, type RedisClient } from "@elasticache-iam/connector";

function required(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

const url = required("ELASTICACHE_URL");
const serverlessCacheName = Deno.env.get("ELASTICACHE_SERVERLESS_CACHE_NAME");
const caCerts = Deno.env.get("ELASTICACHE_CA_CERT");

// For a host that names no region, the region is AWS_REGION's.
const credentials = defaultCredentials();
const auth = new IamAuth(
  serverlessCacheName
    ? { endpoint: url, serverlessCacheName, credentials }
    : { endpoint: url, credentials },
);

let client: Promise<RedisClient> | undefined;

/** The connection, made by the first request and reused by the next ones. */
function redis(): Promise<RedisClient> {
  client ??= connect(url, { auth, ...(caCerts ? { caCerts } : {}) }).catch((error) => {
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
