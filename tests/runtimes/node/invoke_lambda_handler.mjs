// Invokes examples/lambda_handler.mjs (bundled by build.mjs) the way the
// Lambda Node.js runtime does: import the module once per function instance,
// call `handler` per invocation, with the function's configuration in
// process.env. The emulators run in Deno (tests/runtimes/run.ts); this
// process's clock follows theirs, as an instance thawed hours later sees time pass.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const controlUrl = process.env.CONFORMANCE_CONTROL_URL;
if (!controlUrl) {
  throw new Error("Set CONFORMANCE_CONTROL_URL: run this through tests/runtimes/run.ts");
}
const HOUR = 60 * 60 * 1000;

async function call(path, body) {
  const response = await fetch(`${controlUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return await response.json();
}

const info = await call("/info");
const realNow = Date.now;
let offset = (await call("/clock")).now - realNow();
Date.now = () => realNow() + offset;
const dir = mkdtempSync(join(tmpdir(), "lambda-handler-"));
const caFile = join(dir, "ca.pem");
writeFileSync(caFile, info.tls.caCertPem);
after(() => rmSync(dir, { recursive: true, force: true }));

async function advanceClock(ms) {
  offset = (await call("/clock/advance", { ms })).now - realNow();
}

const accepted = async () => (await call("/stats")).accepted;

/** A function instance: its environment set, the module imported afresh. */
async function instance(name, env) {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) {
    if (key.startsWith("AWS_") || key.startsWith("ELASTICACHE_")) delete process.env[key];
  }
  Object.assign(process.env, env);
  const module = await import(new URL(`dist/lambda_handler.mjs?instance=${name}`, import.meta.url));
  return {
    invoke: async (page) => {
      const response = await module.handler({ queryStringParameters: { page } });
      assert.equal(response.statusCode, 200);
      return JSON.parse(response.body).hits;
    },
    restore: () => {
      for (const key of Object.keys(process.env)) delete process.env[key];
      Object.assign(process.env, saved);
    },
  };
}

test("examples/lambda_handler.mjs: execution role keys; warm invocations reuse the connection; a thawed instance reconnects with a fresh token", async () => {
  const fn = await instance("keys", {
    ...info.lambdaEnv,
    ELASTICACHE_URL: `rediss://${info.tls.hostname}:${info.tls.port}`,
    ELASTICACHE_CACHE_NAME: info.caches.replicationGroupId,
    ELASTICACHE_USER_ID: info.userId,
    ELASTICACHE_CA_FILE: caFile,
  });
  try {
    const page = `lambda-keys-${Math.random().toString(36).slice(2)}`;
    const before = await accepted();
    assert.equal(await fn.invoke(page), 1);
    assert.equal(await fn.invoke(page), 2);
    assert.equal(await accepted() - before, 1, "the warm invocation reused the connection");
    // Frozen for 12 hours: the server cut the connection, the token expired long ago.
    await advanceClock(12 * HOUR + 60_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await fn.invoke(page), 3);
    assert.equal(await accepted() - before, 2, "one new connection with a token valid now");
  } finally {
    fn.restore();
  }
});

test("examples/lambda_handler.mjs: web identity credentials from a token file, renewed after the token file rotates", async () => {
  const tokenFile = join(dir, "web-identity-token");
  writeFileSync(tokenFile, (await call("/oidc-token", {})).token);
  const fn = await instance("web-identity", {
    AWS_REGION: info.region,
    AWS_ROLE_ARN: info.roleArn,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ENDPOINT_URL_STS: info.stsEndpoint,
    // The plaintext emulator's STS issues the credentials: its gateways know them. The
    // serverless cache has its own endpoint, which refuses tokens for other caches.
    ELASTICACHE_URL:
      `redis://${info.endpoints.serverlessCacheName.plain.hostname}:${info.endpoints.serverlessCacheName.plain.port}`,
    ELASTICACHE_CACHE_NAME: info.caches.serverlessCacheName,
    ELASTICACHE_SERVERLESS: "true",
    ELASTICACHE_USER_ID: info.userId,
  });
  try {
    const page = `lambda-web-identity-${Math.random().toString(36).slice(2)}`;
    const before = await accepted();
    assert.equal(await fn.invoke(page), 1);
    assert.equal(await fn.invoke(page), 2);
    assert.equal(await accepted() - before, 1);
    await advanceClock(12 * HOUR + 60_000);
    writeFileSync(tokenFile, (await call("/oidc-token", {})).token); // as EKS or Lambda rotate it
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await fn.invoke(page), 3);
    assert.equal(await accepted() - before, 2);
  } finally {
    fn.restore();
  }
});
