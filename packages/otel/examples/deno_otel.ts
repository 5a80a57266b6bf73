// deno-lint-ignore-file no-console -- examples print what they do
/**
 * A Deno script whose commands, handshake and token mints are exported
 * through Deno's built-in OpenTelemetry: with `OTEL_DENO=true`, the global
 * providers of `@opentelemetry/api` are Deno's, so `instrument()` needs no
 * SDK and sends everything over OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT`.
 *
 * ```sh
 * deno add jsr:@elasticache-iam/connector jsr:@elasticache-iam/otel
 * OTEL_DENO=true OTEL_SERVICE_NAME=cache-demo \
 * OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
 * ELASTICACHE_URL=rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379 \
 * ELASTICACHE_CACHE_NAME=my-cache ELASTICACHE_USER_ID=my-user AWS_REGION=us-east-1 \
 *   deno run --allow-net --allow-env --allow-read examples/deno_otel.ts
 * ```
 *
 * AWS credentials come from `defaultCredentials()`: `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), or a web identity with
 * `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`. Set
 * `ELASTICACHE_SERVERLESS=true` for a serverless cache, and
 * `ELASTICACHE_CA_FILE` to trust a private CA (or the local emulator's).
 *
 * @module
 */

import { connect, defaultCredentials, IamAuth } from "@elasticache-iam/connector";
import { instrument } from "@elasticache-iam/otel";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

// Before the first client, so that its handshake is recorded too.
using _telemetry = instrument();

const url = new URL(env("ELASTICACHE_URL"));
const cacheName = env("ELASTICACHE_CACHE_NAME");
using auth = new IamAuth({
  ...(Deno.env.get("ELASTICACHE_SERVERLESS") === "true"
    ? { serverlessCacheName: cacheName }
    : { replicationGroupId: cacheName }),
  userId: env("ELASTICACHE_USER_ID"),
  region: env("AWS_REGION"),
  credentials: defaultCredentials(),
});
const caFile = Deno.env.get("ELASTICACHE_CA_FILE");
await using client = await connect({
  host: url.hostname.replace(/^\[|\]$/g, ""),
  port: Number(url.port || 6379),
  tls: url.protocol === "rediss:",
  auth,
  ...(caFile ? { caCerts: await Deno.readTextFile(caFile) } : {}),
});

await client.set("example:otel", "hello from Deno", { ex: 60 });
console.log(`GET example:otel -> ${await client.get("example:otel")}`);
const [runs] = await client.pipeline().incr("example:otel:runs").expire("example:otel:runs", 60)
  .exec();
console.log(`INCR example:otel:runs -> ${runs}`);
