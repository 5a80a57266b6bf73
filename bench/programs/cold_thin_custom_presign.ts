/**
 * Cold start, this module's thin client as shipped except for one thing: the
 * token is presigned without `aws4fetch` (`_custom_presign.ts`), through the
 * client's `auth` seam. NOT SHIPPED: the module signs through `aws4fetch` by
 * design; this variant measures what that choice costs (on Node.js 20 the
 * signer's `Headers` loads undici).
 *
 * @module
 */
// The module's entry point, as an application imports it (its import cost counts).
import { connect } from "../../mod.ts";
import { amzDate, presignToken } from "./_custom_presign.ts";
import { env, now, optionalEnv, reportAndExit } from "./_runtime.ts";

const start = now();
const userId = env("BENCH_USER");
const auth = {
  async credentials() {
    const password = await presignToken({
      cacheName: env("BENCH_CACHE"),
      userId,
      region: env("AWS_REGION"),
      service: "elasticache",
      serverless: false,
      accessKeyId: env("AWS_ACCESS_KEY_ID"),
      secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
      sessionToken: optionalEnv("AWS_SESSION_TOKEN"),
      expiresIn: 900,
      amzDate: amzDate(new Date()),
    });
    return { username: userId, password };
  },
};
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
