import assert from "node:assert/strict";
import { DEFAULT_ROLE_NAME, defaultTrustPolicy, SEED_POLICY } from "@elasticache-iam/emulator";
import { exampleEnvironment, run, startIamEmulator } from "../../../tests/_helpers/iam_emulator.ts";

Deno.test("examples/node_redis.ts runs against the emulator (web identity credentials)", async () => {
  await using env = await startIamEmulator();
  await using example = await exampleEnvironment(env);
  const result = await run(Deno.execPath(), ["run", "-A", "examples/node_redis.ts"], example.vars);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /GET example:node-redis -> hello from Deno/);
  assert.match(result.stdout, /INCR example:node-redis:runs -> 1/);
  assert.match(result.stdout, /MULTI SET\/INCR -> 2/);
  assert.equal(env.accepted(), 1);
});

/** Lambda-style credentials: the execution role's temporary keys in the environment. */
const LAMBDA_KEYS = {
  accessKeyId: "ASIAEXAMPLELAMBDA001",
  secretAccessKey: "lambdaExampleSecretKey0000000000000000000",
  sessionToken: "lambda-example-session-token",
};

async function lambdaEmulator() {
  return await startIamEmulator({
    roles: [{
      roleName: DEFAULT_ROLE_NAME,
      trustPolicy: defaultTrustPolicy("123456789012"),
      policies: [SEED_POLICY],
      temporaryCredentials: [LAMBDA_KEYS],
    }],
  });
}

function lambdaVars(vars: Record<string, string>): Record<string, string> {
  return {
    ELASTICACHE_URL: vars.ELASTICACHE_URL!,
    ELASTICACHE_CACHE_NAME: vars.ELASTICACHE_CACHE_NAME!,
    ELASTICACHE_USER_ID: vars.ELASTICACHE_USER_ID!,
    ELASTICACHE_CA_FILE: vars.ELASTICACHE_CA_FILE!,
    AWS_REGION: vars.AWS_REGION!,
    AWS_ACCESS_KEY_ID: LAMBDA_KEYS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAMBDA_KEYS.secretAccessKey,
    AWS_SESSION_TOKEN: LAMBDA_KEYS.sessionToken,
  };
}

Deno.test("examples/lambda_node_redis.ts: the handler serves two invocations on one connection", async () => {
  await using env = await lambdaEmulator();
  await using example = await exampleEnvironment(env);
  const result = await run(
    Deno.execPath(),
    ["run", "-A", "examples/lambda_node_redis.ts"],
    lambdaVars(example.vars),
  );
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((line) => JSON.parse(line.body).hits), [1, 2]);
  assert.equal(env.accepted(), 1, "the warm invocation reused the connection");
});

// Built with the README's esbuild command and run on Node.js as a Lambda handler:
// tests/lambda_examples_test.ts.
