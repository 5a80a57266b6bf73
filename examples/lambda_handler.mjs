// @ts-check
/**
 * An AWS Lambda handler for the Node.js 20 (or later) runtime, on the
 * module's thin client, with ElastiCache IAM authentication.
 *
 * - AWS credentials come from `defaultCredentials()`: the execution role's
 *   keys that Lambda puts in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
 *   `AWS_SESSION_TOKEN`, or a web identity (`AWS_ROLE_ARN` and
 *   `AWS_WEB_IDENTITY_TOKEN_FILE`). Either way they are read again for every
 *   new token. The role needs `elasticache:Connect` on the cache and the user.
 * - The token manager and the connection live at module scope: a cold start
 *   connects (TLS and one `HELLO 3 AUTH` round trip), warm invocations reuse
 *   the connection without signing anything.
 * - Tokens are refreshed by the token manager; a connection that lives 11
 *   hours is re-authenticated in place, and one the server cut while the
 *   function was frozen reconnects on the next command with a token minted then.
 *
 * Configure `ELASTICACHE_URL` (`rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379`),
 * `ELASTICACHE_CACHE_NAME` (the replication group id; with
 * `ELASTICACHE_SERVERLESS=true`, the serverless cache name) and
 * `ELASTICACHE_USER_ID`; Lambda sets `AWS_REGION`. `ELASTICACHE_CA_FILE`
 * names a PEM file of CA certificates to trust, for a private CA or the
 * local emulator only.
 *
 * Build one ES module file for the Node.js 20 runtime with the README's
 * command (the same for every handler; only the file name changes):
 *
 * ```sh
 * npx jsr add @elasticache-iam/connector
 * npm install --save-dev esbuild
 * npx esbuild lambda_handler.mjs --bundle --platform=node --target=node20 --format=esm --outfile=dist/index.mjs --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
 * # deploy dist/index.mjs with the handler "index.handler"
 * ```
 *
 * The banner gives the bundle a `require`: the AWS SDK's web identity
 * provider, which `defaultCredentials()` loads for web identity, is CommonJS
 * and loads `node:fs` with `require()`; without the banner the bundle fails at
 * run time with `Dynamic require of "node:fs" is not supported`.
 *
 * `tests/lambda_examples_test.ts` builds this file with exactly that command
 * and invokes the handler on Node.js as Lambda does, with web identity
 * credentials from the emulator; `tests/runtimes/node` runs it through a
 * 12-hour freeze with both kinds of credentials.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { connect, defaultCredentials, IamAuth } from "@elasticache-iam/connector";

/**
 * @param {string} name
 * @returns {string}
 */
function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} in the function's configuration`);
  return value;
}

const url = new URL(env("ELASTICACHE_URL"));
const cacheName = env("ELASTICACHE_CACHE_NAME");
const auth = new IamAuth({
  ...(process.env.ELASTICACHE_SERVERLESS === "true"
    ? { serverlessCacheName: cacheName }
    : { replicationGroupId: cacheName }),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const caFile = process.env.ELASTICACHE_CA_FILE;
/** @type {import("@elasticache-iam/connector").ConnectOptions} */
const options = {
  host: url.hostname.replace(/^\[|\]$/g, ""),
  port: Number(url.port || 6379),
  tls: url.protocol === "rediss:",
  auth,
  ...(caFile ? { caCerts: readFileSync(caFile, "utf8") } : {}),
};

/** @type {Promise<import("@elasticache-iam/connector").RedisClient> | undefined} */
let client;

/** The connection, made on the first invocation and reused by the next ones. */
function redis() {
  client ??= connect(options).catch((error) => {
    client = undefined; // The next invocation tries again.
    throw error;
  });
  return client;
}

/**
 * Counts hits per page. The event is what API Gateway or a function URL sends.
 *
 * @param {{ queryStringParameters?: { page?: string } | null }} [event]
 * @returns {Promise<{ statusCode: number, headers: Record<string, string>, body: string }>}
 */
export async function handler(event = {}) {
  const page = event.queryStringParameters?.page ?? "home";
  const hits = await (await redis()).incr(`hits:${page}`);
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ page, hits }),
  };
}
