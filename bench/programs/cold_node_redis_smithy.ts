/**
 * Cold start, peer (c): the AWS toolkit-style path. `@smithy/signature-v4`
 * presigns the token (SHA-256 from `@aws-crypto/sha256-js`, credentials from
 * `@aws-sdk/credential-provider-env`), node-redis v6 connects with it.
 *
 * @module
 */
import { createClient } from "redis";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { SignatureV4 } from "npm:@smithy/signature-v4@5.7.5";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { HttpRequest } from "npm:@smithy/protocol-http@5.6.2";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { Sha256 } from "npm:@aws-crypto/sha256-js@5.2.0";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { fromEnv } from "npm:@aws-sdk/credential-provider-env@3.972.84";
import { env, now, reportAndExit } from "./_runtime.ts";

const start = now();
const cache = env("BENCH_CACHE");
const user = env("BENCH_USER");
const signer = new SignatureV4({
  service: "elasticache",
  region: env("AWS_REGION"),
  credentials: fromEnv(),
  sha256: Sha256,
});
const presigned = await signer.presign(
  new HttpRequest({
    method: "GET",
    protocol: "https:",
    hostname: cache,
    path: "/",
    query: { Action: "connect", User: user },
    headers: { host: cache },
  }),
  { expiresIn: 900 },
);
const escape = (value: string) =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const query = Object.entries(presigned.query ?? {})
  .map(([name, value]) => `${escape(name)}=${escape(String(value))}`)
  .join("&");
const token = `${cache}/?${query}`;
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
