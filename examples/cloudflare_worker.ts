/**
 * A Cloudflare Worker that counts hits in ElastiCache with IAM
 * authentication, over `cloudflare:sockets`. No `nodejs_compat` flag is
 * needed: the token is signed with WebCrypto.
 *
 * AWS keys come from the Worker's secrets, through its bindings:
 *
 * ```sh
 * npx jsr add @elasticache-iam/connector
 * npx wrangler secret put AWS_ACCESS_KEY_ID
 * npx wrangler secret put AWS_SECRET_ACCESS_KEY
 * ```
 *
 * and `ELASTICACHE_HOST` (the endpoint), `ELASTICACHE_CACHE_NAME`,
 * `ELASTICACHE_USER_ID` and `AWS_REGION` as `vars` in `wrangler.toml`
 * (`ELASTICACHE_PORT` defaults to 6379; `ELASTICACHE_SERVERLESS = "true"` for
 * a serverless cache). The endpoint must be reachable from Cloudflare (a
 * public endpoint, or through a tunnel) and uses TLS with its public certificate.
 *
 * A Worker's sockets belong to the request that opened them, so each request
 * connects; the token manager lives at module scope, so requests share
 * tokens and sign only when one runs out. `tests/runtimes/workerd` runs this
 * Worker in workerd against the emulator.
 *
 * @module
 */

import { fromEnv, IamAuth } from "@elasticache-iam/connector";
import { connect } from "@elasticache-iam/connector/cloudflare";

/** The Worker's bindings. */
export interface Env {
  /** The cache endpoint's host name. */
  ELASTICACHE_HOST: string;
  /** Its port. @default {"6379"} */
  ELASTICACHE_PORT?: string;
  /** The replication group id, or with `ELASTICACHE_SERVERLESS` the serverless cache name. */
  ELASTICACHE_CACHE_NAME: string;
  /** `"true"` for a serverless cache. */
  ELASTICACHE_SERVERLESS?: string;
  /** The IAM-enabled user. */
  ELASTICACHE_USER_ID: string;
  /** The cache's region. */
  AWS_REGION: string;
  /** A secret. */
  AWS_ACCESS_KEY_ID: string;
  /** A secret. */
  AWS_SECRET_ACCESS_KEY: string;
  /** A secret, with temporary credentials. */
  AWS_SESSION_TOKEN?: string;
}

let auth: IamAuth | undefined;

function tokenManager(env: Env): IamAuth {
  auth ??= new IamAuth({
    ...(env.ELASTICACHE_SERVERLESS === "true"
      ? { serverlessCacheName: env.ELASTICACHE_CACHE_NAME }
      : { replicationGroupId: env.ELASTICACHE_CACHE_NAME }),
    userId: env.ELASTICACHE_USER_ID,
    region: env.AWS_REGION,
    credentials: fromEnv({ env: { ...env } }),
  });
  return auth;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    try {
      await using client = await connect({
        host: env.ELASTICACHE_HOST,
        port: Number(env.ELASTICACHE_PORT ?? 6379),
        tls: true,
        auth: tokenManager(env),
      });
      const hits = await client.incr(`hits:${pathname}`);
      return Response.json({ path: pathname, hits });
    } catch (error) {
      // The message names the failed step and never contains a token or a key.
      return Response.json({ error: (error as Error).message }, { status: 503 });
    }
  },
};
