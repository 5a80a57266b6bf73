/**
 * Cold start, peer (b): node-redis v6 with `@elasticache-iam/node-redis`
 * (`createIamClient` with an `IamAuth`).
 *
 * @module
 */
import { fromEnv, IamAuth } from "../../mod.ts";
import { createClient } from "redis";
import { createIamClient } from "@elasticache-iam/node-redis";
import { env, now, reportAndExit } from "./_runtime.ts";

const start = now();
const auth = new IamAuth({
  replicationGroupId: env("BENCH_CACHE"),
  userId: env("BENCH_USER"),
  region: env("AWS_REGION"),
  credentials: fromEnv(),
});
const client = createIamClient(createClient, {
  socket: { host: env("BENCH_HOST"), port: Number(env("BENCH_PORT")), tls: true },
  caCerts: env("BENCH_CA_PEM"),
  auth,
});
client.on("error", () => {});
await client.connect();
const connected = now();
const reply = await client.get(env("BENCH_KEY"));
reportAndExit({ reply, t: { start, connected, reply: now() } });
