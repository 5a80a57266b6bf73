/**
 * A Cloudflare Worker that counts hits in an ElastiCache Serverless cache
 * through its public endpoint, with IAM authentication over TLS 1.3 on
 * `cloudflare:sockets`. No `nodejs_compat` flag is needed: the token is
 * signed with WebCrypto.
 *
 * The endpoint is one URL, as the console shows it, with the IAM user id as
 * its user name; the cache's name and region are read from its host. Put it in
 * `wrangler.toml`, and the AWS keys in the Worker's secrets:
 *
 * ```toml
 * [vars]
 * ELASTICACHE_URL = "rediss://iam-user@my-cache-abc123.public.serverless.use1.cache.amazonaws.com:6379"
 * ```
 *
 * ```sh
 * npx jsr add @elasticache-iam/connector
 * npx wrangler secret put AWS_ACCESS_KEY_ID
 * npx wrangler secret put AWS_SECRET_ACCESS_KEY
 * npx wrangler deploy
 * ```
 *
 * (`AWS_SESSION_TOKEN` too, with temporary keys.) Any ElastiCache or MemoryDB
 * endpoint URL works the same way, if Cloudflare can reach it; a public
 * endpoint can be reached from anywhere, and requires IAM and TLS 1.3, which
 * Workers speak. A host whose name says no cache (the local emulator, a DNS
 * alias) also needs `ELASTICACHE_SERVERLESS_CACHE_NAME` and `AWS_REGION`, as
 * `deno task test:live` reads them: that is how `tests/runtimes/workerd` runs
 * this Worker in workerd against the emulator's public endpoint.
 *
 * A Worker's sockets belong to the request that opened them, so each request
 * connects; the token manager lives at module scope, so requests share
 * tokens and sign only when one runs out.
 *
 * @module
 */

import { fromEnv, IamAuth } from "@elasticache-iam/connector";
import { connect } from "@elasticache-iam/connector/cloudflare";

/** The Worker's bindings. */
export interface Env {
  /** The endpoint: `rediss://USER@HOST:PORT`, the user being the IAM-enabled user's id. */
  ELASTICACHE_URL: string;
  /** Only for a host that names no cache: the serverless cache's name. */
  ELASTICACHE_SERVERLESS_CACHE_NAME?: string;
  /** Only for a host that names no cache: the cache's region. */
  AWS_REGION?: string;
  /** A secret. */
  AWS_ACCESS_KEY_ID: string;
  /** A secret. */
  AWS_SECRET_ACCESS_KEY: string;
  /** A secret, with temporary credentials. */
  AWS_SESSION_TOKEN?: string;
}

// Made by the first request (bindings arrive with requests), then shared by every request.
let auth: IamAuth | undefined;

function tokenManager(env: Env): IamAuth {
  if (auth !== undefined) return auth;
  const endpoint = env.ELASTICACHE_URL;
  const credentials = fromEnv({ env: { ...env } });
  const cacheName = env.ELASTICACHE_SERVERLESS_CACHE_NAME;
  auth = new IamAuth(
    cacheName
      ? {
        endpoint,
        serverlessCacheName: cacheName,
        ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
        credentials,
      }
      : { endpoint, credentials },
  );
  return auth;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    try {
      await using client = await connect(env.ELASTICACHE_URL, { auth: tokenManager(env) });
      const hits = await client.incr(`hits:${pathname}`);
      return Response.json({ path: pathname, hits });
    } catch (error) {
      // The message names the failed step and never contains a token or a key.
      return Response.json({ error: (error as Error).message }, { status: 503 });
    }
  },
};
