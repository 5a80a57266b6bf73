/**
 * Cold start with the AWS SDK's default credentials chain: this module's thin
 * client with `fromNodeProviderChain()` from `@aws-sdk/credential-providers`
 * as its credentials, in whatever environment the runner gives it; what a
 * user who needs more than environment keys used before `defaultCredentials()`
 * read profiles, containers and instance metadata.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { fromNodeProviderChain } from "npm:@aws-sdk/credential-providers@3.1178.0";
import { connect, IamAuth } from "../../mod.ts";
import { env, now, reportAndExit } from "./_runtime.ts";

const start = now();
const auth = new IamAuth({
  replicationGroupId: env("BENCH_CACHE"),
  userId: env("BENCH_USER"),
  region: env("AWS_REGION"),
  credentials: fromNodeProviderChain(),
});
const client = await connect({
  host: env("BENCH_HOST"),
  port: Number(env("BENCH_PORT")),
  tls: true,
  caCerts: env("BENCH_CA_PEM"),
  auth,
});
const connected = now();
const reply = await client.get(env("BENCH_KEY"));
reportAndExit({ reply, t: { start, connected, reply: now() } });
