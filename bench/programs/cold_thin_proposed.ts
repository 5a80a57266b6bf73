/**
 * Cold start, this module's thin client with the fixes proposed in
 * bench/README.md ("Profiling") applied through the client's seams — a
 * projection, not the shipped code:
 *
 * 1. the token presigned without `aws4fetch` (`bench/prototype/presign.ts`);
 * 2. TLS with `TCP_NODELAY` on Deno (`bench/prototype/transport.ts`);
 * 3. credentials read from `Deno.env` without touching `globalThis.process`
 *    (in Deno that getter loads the Node compatibility layer, ~20 ms);
 * 4. the connect timeout on Deno's own timers (`bench/prototype/timers.ts`):
 *    Deno's global `setTimeout` is Node's, and its first call loads
 *    `node:timers` (~7 ms).
 *
 * @module
 */
// The module's entry point, as an application imports it (its import cost counts).
import "../../mod.ts";
import { connect } from "../../mod.ts";
import { amzDate, presignToken } from "../prototype/presign.ts";
import { cheapTimers } from "../prototype/timers.ts";
import { noDelayTransport } from "../prototype/transport.ts";
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
  transport: noDelayTransport,
  timers: cheapTimers,
});
const connected = now();
const reply = await client.get(env("BENCH_KEY"));
reportAndExit({ reply, t: { start, connected, reply: now() } });
