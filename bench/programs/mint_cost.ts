/**
 * The cost of one token mint, in microseconds: the same presigned token made
 * with `aws4fetch` (by hand, as peer (a) does), with `@smithy/signature-v4`
 * (as the AWS toolkit-style peer (c) does), with this module's
 * `createAuthToken` (validation, `aws4fetch`, RFC 3986 serialization), the
 * custom presigner that is not shipped (`_custom_presign.ts`: what signing
 * without `aws4fetch` would cost), and a
 * warm `IamAuth.credentials()` (the cached token: no signing).
 *
 * Each signer runs `BENCH_ITERATIONS` mints per batch, `BENCH_BATCHES` batches,
 * after a warm-up; one JSON line per signer with the per-batch µs per mint.
 *
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { SignatureV4 } from "npm:@smithy/signature-v4@5.7.5";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { HttpRequest } from "npm:@smithy/protocol-http@5.6.2";
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { Sha256 } from "npm:@aws-crypto/sha256-js@5.2.0";
import { createAuthToken, IamAuth } from "../../mod.ts";
import { amzDate, presignToken } from "./_custom_presign.ts";
import { env, report } from "./_runtime.ts";

const credentials = {
  accessKeyId: env("AWS_ACCESS_KEY_ID"),
  secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
};
const region = env("AWS_REGION");
const cache = env("BENCH_CACHE");
const user = env("BENCH_USER");
const iterations = Number(env("BENCH_ITERATIONS"));
const batches = Number(env("BENCH_BATCHES"));

async function aws4fetchMint(): Promise<string> {
  const url = new URL(`https://${cache}/`);
  url.searchParams.set("Action", "connect");
  url.searchParams.set("User", user);
  url.searchParams.set("X-Amz-Expires", "900");
  const signed = await new AwsV4Signer({
    url: url.toString(),
    method: "GET",
    service: "elasticache",
    region,
    ...credentials,
    signQuery: true,
  }).sign();
  return signed.url.toString().replace("https://", "");
}

const smithy = new SignatureV4({ service: "elasticache", region, credentials, sha256: Sha256 });
async function smithyMint(): Promise<string> {
  const presigned = await smithy.presign(
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
  const query = Object.entries(presigned.query ?? {})
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join("&");
  return `${cache}/?${query}`;
}

function ourMint(): Promise<string> {
  return createAuthToken({ replicationGroupId: cache, userId: user, region, credentials });
}

function customMint(): Promise<string> {
  return presignToken({
    cacheName: cache,
    userId: user,
    region,
    service: "elasticache",
    serverless: false,
    ...credentials,
    expiresIn: 900,
    amzDate: amzDate(new Date()),
  });
}

// The custom presigner must produce createAuthToken's exact token (with and without a session token).
for (const sessionToken of [undefined, "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVz+token/with=="]) {
  const signingDate = new Date("2026-11-23T12:00:00Z");
  const keys = { ...credentials, ...(sessionToken ? { sessionToken } : {}) };
  const expected = await createAuthToken({
    replicationGroupId: cache,
    userId: user,
    region,
    credentials: keys,
    signingDate,
  });
  const actual = await presignToken({
    cacheName: cache,
    userId: user,
    region,
    service: "elasticache",
    serverless: false,
    ...keys,
    expiresIn: 900,
    amzDate: amzDate(signingDate),
  });
  if (actual !== expected) {
    throw new Error(`The custom presigner disagrees with createAuthToken:\n${actual}\n${expected}`);
  }
}

const auth = new IamAuth({ replicationGroupId: cache, userId: user, region, credentials });
async function cachedToken(): Promise<string> {
  return (await auth.credentials()).password;
}

const signers: [string, () => Promise<string>][] = [
  ["aws4fetch", aws4fetchMint],
  ["smithy", smithyMint],
  ["createAuthToken", ourMint],
  ["custom presigner", customMint],
  ["IamAuth (cached)", cachedToken],
];
// Warm-up: JIT, the signing-key caches, WebCrypto.
for (const [, mint] of signers) for (let i = 0; i < Math.min(iterations, 200); i++) await mint();
const results = new Map<string, number[]>(signers.map(([name]) => [name, []]));
// Alternate the signers batch by batch.
for (let batch = 0; batch < batches; batch++) {
  for (const [name, mint] of signers) {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) await mint();
    results.get(name)!.push(((performance.now() - started) * 1000) / iterations);
  }
}
for (const [name, usPerMint] of results) await report({ name, usPerMint });
