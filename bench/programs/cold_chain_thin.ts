/**
 * Cold start with the default credentials chain: this module's thin client
 * with `defaultCredentials()`, in whatever environment the runner gives it
 * (environment keys, a profile, container credentials or instance
 * metadata): import, credentials, one token, TLS connect, `HELLO 3 AUTH`,
 * `GET`, exit.
 *
 * @module
 */
import { connect, defaultCredentials, IamAuth } from "../../mod.ts";
import { env, now, reportAndExit } from "./_runtime.ts";

const start = now();
const auth = new IamAuth({
  replicationGroupId: env("BENCH_CACHE"),
  userId: env("BENCH_USER"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
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
