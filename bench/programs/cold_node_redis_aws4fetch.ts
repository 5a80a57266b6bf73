/**
 * Cold start, peer (a): node-redis v6 with an IAM token signed by `aws4fetch`,
 * wired by hand the way its users do it (token as a static password).
 *
 * @module
 */
import { createClient } from "redis";
import { AwsV4Signer } from "aws4fetch";
import { env, now, optionalEnv, reportAndExit } from "./_runtime.ts";

const start = now();
const cache = env("BENCH_CACHE");
const user = env("BENCH_USER");
const url = new URL(`https://${cache}/`);
url.searchParams.set("Action", "connect");
url.searchParams.set("User", user);
url.searchParams.set("X-Amz-Expires", "900");
const sessionToken = optionalEnv("AWS_SESSION_TOKEN");
const signed = await new AwsV4Signer({
  url: url.toString(),
  method: "GET",
  service: "elasticache",
  region: env("AWS_REGION"),
  accessKeyId: env("AWS_ACCESS_KEY_ID"),
  secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  ...(sessionToken ? { sessionToken } : {}),
  signQuery: true,
}).sign();
const token = signed.url.toString().replace("https://", "");
const client = createClient({
  socket: {
    host: env("BENCH_HOST"),
    port: Number(env("BENCH_PORT")),
    tls: true,
    ca: env("BENCH_CA_PEM"),
  },
  username: user,
  password: token,
});
client.on("error", () => {});
await client.connect();
const connected = now();
const reply = await client.get(env("BENCH_KEY"));
reportAndExit({ reply, t: { start, connected, reply: now() } });
