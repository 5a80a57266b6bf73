// deno-lint-ignore-file no-console -- examples print what they do
/**
 * valkey-glide with ElastiCache IAM authentication, using this module's token
 * manager to supply the credentials.
 *
 * Glide keeps the password it was created with for its own reconnects, and
 * `updateConnectionPassword(token, immediateAuth)` replaces it: with `false`
 * only for future reconnects, with `true` also re-authenticating the live
 * connections. The helper below does the first every minute (so a reconnect
 * always finds a token valid now) and the second every 11 hours (before the
 * server's 12-hour cut), never on every token refresh.
 *
 * Glide also has IAM built in (`credentials: { username, iamConfig: {
 * clusterName, service, region } }`), signed in its Rust core from the
 * default AWS credential chain; it has no `ResourceType=ServerlessCache`
 * setting, so serverless caches refuse its tokens, and it cannot take a
 * credentials callback (a web identity from Vercel, GitHub Actions or Deno
 * Deploy). This example works for both.
 *
 * ```sh
 * ELASTICACHE_URL=rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379 \
 * ELASTICACHE_CACHE_NAME=my-cache ELASTICACHE_USER_ID=my-user AWS_REGION=us-east-1 \
 *   deno run -A examples/valkey_glide.ts
 * ```
 *
 * Credentials and `ELASTICACHE_CA_FILE` work as in `examples/node_redis.ts`.
 *
 * @module
 */

import { GlideClient } from "@valkey/valkey-glide";
import { defaultCredentials, IamAuth } from "../mod.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

/**
 * Keeps a glide client's password current and its connections
 * re-authenticated; dispose of the result to stop.
 *
 * @param client The glide client.
 * @param auth The token manager.
 * @param options How often to refresh the stored token and to re-authenticate, in ms.
 * @returns A handle that stops both timers.
 */
function keepGlideAuthenticated(
  client: Pick<GlideClient, "updateConnectionPassword">,
  auth: IamAuth,
  { refreshInterval = 60_000, reauthAfter = 11 * 60 * 60 * 1000 } = {},
): Disposable {
  const update = async (immediateAuth: boolean) => {
    try {
      const { password } = await auth.credentials();
      await client.updateConnectionPassword(password, immediateAuth);
    } catch (error) {
      console.error(`Cannot update the glide password: ${(error as Error).message}`);
    }
  };
  const refresh = setInterval(() => update(false), refreshInterval);
  const reauth = setInterval(() => update(true), reauthAfter);
  Deno.unrefTimer(refresh);
  Deno.unrefTimer(reauth);
  return {
    [Symbol.dispose]() {
      clearInterval(refresh);
      clearInterval(reauth);
    },
  };
}

using auth = new IamAuth({
  replicationGroupId: env("ELASTICACHE_CACHE_NAME"),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const url = new URL(env("ELASTICACHE_URL"));
const caFile = Deno.env.get("ELASTICACHE_CA_FILE");
const { username, password } = await auth.credentials();
const client = await GlideClient.createClient({
  addresses: [{ host: url.hostname, port: Number(url.port || 6379) }],
  useTLS: true,
  credentials: { username: username!, password },
  ...(caFile
    ? {
      advancedConfiguration: {
        tlsAdvancedConfiguration: { rootCertificates: await Deno.readTextFile(caFile) },
      },
    }
    : {}),
});
try {
  using _keep = keepGlideAuthenticated(client, auth);
  await client.set("example:glide", "hello from valkey-glide");
  console.log(`GET example:glide -> ${await client.get("example:glide")}`);
  // What the 11-hour timer does: re-authenticate the live connection with a current token.
  const { password: current } = await auth.credentials();
  console.log(`re-auth -> ${await client.updateConnectionPassword(current, true)}`);
  console.log(`PING -> ${await client.ping()}`);
} finally {
  client.close();
}
