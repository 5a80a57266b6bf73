/**
 * `deno task test:live` proven here: run against the emulator's serverless
 * cache by URL, as it runs against a real cache, and its skip line without one.
 */

import assert from "node:assert/strict";
import { type PolicyDocument, startEmulator } from "@elasticache-iam/emulator";

const LIVE = new URL("./live/run.ts", import.meta.url).pathname;
const KEYS = { accessKeyId: "AKIALIVEHARNESS00001", secretAccessKey: "live-harness-secret" };
const CONNECT_ANYWHERE: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["elasticache:Connect"], Resource: ["*"] }],
};

async function live(env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", LIVE],
    env: {
      NO_COLOR: "1",
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("test:live passes against the emulator's serverless cache named by URL", async () => {
  await using emu = await startEmulator({
    tls: true,
    caches: [{ serverlessCacheName: "live-cache" }],
    iamUsers: [{ userName: "ci", accessKeys: [KEYS], policies: [CONNECT_ANYWHERE] }],
    log: () => {},
  });
  const dir = await Deno.makeTempDir({ prefix: "live-" });
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, emu.gateway.caCertPem!);
    const result = await live({
      ELASTICACHE_URL: `rediss://iam-user-01@${emu.gateway.hostname}:${emu.gateway.port}`,
      ELASTICACHE_SERVERLESS_CACHE_NAME: "live-cache",
      ELASTICACHE_CA_FILE: `${dir}/ca.pem`,
      AWS_REGION: emu.region,
      AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^live: 5 passed, 0 failed$/m);
    assert.doesNotMatch(result.stdout + result.stderr, /live-harness-secret|X-Amz-Signature/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test:live without ELASTICACHE_URL says so in one line and exits 0", async () => {
  const result = await live({});
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    "test:live: skipped: ELASTICACHE_URL is not set (rediss://USER@HOST:PORT of the cache to " +
      "test, with AWS credentials in the environment)\n",
  );
});
