/**
 * Single flight: many concurrent `credentials()` calls on an empty token
 * cache, with web-identity credentials from the emulator's STS. Counts the
 * STS calls (through a counting proxy in front of the STS) and the
 * signatures (at `aws4fetch`'s signer); both must be 1.
 *
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
import { fromWebIdentity, IamAuth } from "../../mod.ts";
import { env, reportAndExit } from "./_runtime.ts";

let signatures = 0;
const sign = AwsV4Signer.prototype.sign;
AwsV4Signer.prototype.sign = function (this: AwsV4Signer) {
  signatures++;
  return sign.call(this);
};

const sts = new URL(env("BENCH_STS_ENDPOINT"));
let stsCalls = 0;
const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  stsCalls++;
  const url = new URL(request.url);
  url.protocol = sts.protocol;
  url.host = sts.host;
  const headers = new Headers(request.headers);
  headers.delete("host");
  const upstream = await fetch(url, {
    method: request.method,
    headers,
    body: request.body === null ? null : await request.arrayBuffer(),
  });
  return new Response(await upstream.arrayBuffer(), {
    status: upstream.status,
    headers: upstream.headers,
  });
});

const auth = new IamAuth({
  replicationGroupId: env("BENCH_CACHE"),
  userId: env("BENCH_USER"),
  region: env("AWS_REGION"),
  credentials: fromWebIdentity({
    roleArn: env("BENCH_ROLE_ARN"),
    webIdentityToken: env("BENCH_WEB_IDENTITY_TOKEN"),
    roleSessionName: "bench-single-flight",
    region: env("AWS_REGION"),
    stsEndpoint: `http://${proxy.addr.hostname}:${proxy.addr.port}`,
  }),
});
const concurrency = Number(env("BENCH_CONCURRENCY"));
const started = performance.now();
const all = await Promise.all(Array.from({ length: concurrency }, () => auth.credentials()));
const ms = performance.now() - started;
const distinct = new Set(all.map((credentials) => credentials.password)).size;

// The token must work: AUTH with it through the TLS endpoint.
const conn = await Deno.connectTls({
  hostname: env("BENCH_HOST"),
  port: Number(env("BENCH_PORT")),
  caCerts: [env("BENCH_CA_PEM")],
});
const encoder = new TextEncoder();
const { username, password } = all[0]!;
const frame = [`AUTH`, username, password].map((a) => `$${encoder.encode(a).length}\r\n${a}\r\n`);
await conn.write(encoder.encode(`*3\r\n${frame.join("")}`));
const buffer = new Uint8Array(512);
const n = await conn.read(buffer);
const accepted = new TextDecoder().decode(buffer.subarray(0, n ?? 0)) === "+OK\r\n";
conn.close();
await proxy.shutdown();
reportAndExit({ concurrency, stsCalls, signatures, distinctPasswords: distinct, ms, accepted });
