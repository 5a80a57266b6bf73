/**
 * The Deno examples, each run as its own process with the permissions its
 * header documents, against the emulator. (The Lambda examples are built with
 * the README's esbuild command and run on Node.js in
 * `tests/lambda_examples_test.ts`, and `examples/lambda_handler.mjs` again in
 * `tests/runtimes/node`; `examples/cloudflare_worker.ts` runs in workerd in
 * `tests/runtimes/workerd`.)
 */

import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
import {
  DEFAULT_ROLE_NAME,
  OWN_PROVIDER_PLACEHOLDER,
  SEED_POLICY,
} from "@elasticache-iam/emulator";
import {
  exampleEnvironment,
  type IamEmulator,
  run,
  startIamEmulator,
} from "./_helpers/iam_emulator.ts";

const LAMBDA_KEYS = {
  accessKeyId: "ASIAEXAMPLEDEPLOY001",
  secretAccessKey: "deployExampleSecretKey00000000000000000",
  sessionToken: "deploy-example-session-token",
};

Deno.test("examples/deno_script.ts connects with web identity credentials from a token file", async () => {
  await using env = await startIamEmulator();
  await using example = await exampleEnvironment(env);
  const result = await run(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "examples/deno_script.ts",
  ], example.vars);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^connected as iam-user-01$/m);
  assert.match(result.stdout, /^GET example:deno -> hello from Deno$/m);
  assert.match(result.stdout, /^INCR example:deno:runs -> 1$/m);
  assert.equal(env.accepted(), 1);
});

const PUBLIC_CACHE = "serverless-cache-01";

/**
 * The emulator serving one serverless cache with a public endpoint (TLS 1.3
 * only), and a role whose sessions' keys are known in advance (environment
 * credentials).
 */
function publicEndpointEmulator(): Promise<IamEmulator> {
  const arn = "arn:aws:elasticache:us-east-1:123456789012";
  return startIamEmulator({
    caches: [{ serverlessCacheName: PUBLIC_CACHE, publicEndpoint: true }],
    roles: [{
      roleName: DEFAULT_ROLE_NAME,
      trustPolicy: {
        Version: "2012-10-17",
        Statement: {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::123456789012:root" },
          Action: "sts:AssumeRole",
        },
      },
      policies: [{
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Action: ["elasticache:Connect"],
          Resource: [`${arn}:serverlesscache:${PUBLIC_CACHE}`, `${arn}:user:iam-user-01`],
        }],
      }],
      temporaryCredentials: [LAMBDA_KEYS],
    }],
  });
}

/** The TLS version a handshake with at most `maxVersion` agrees on, or its error code. */
function handshake(
  endpoint: { hostname: string; port: number },
  caCertPem: string,
  maxVersion: "TLSv1.2" | "TLSv1.3",
): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: endpoint.hostname,
      port: endpoint.port,
      servername: "localhost",
      ca: caCertPem,
      maxVersion,
    });
    socket.on("secureConnect", () => {
      resolve(socket.getProtocol() ?? "none");
      socket.destroy();
    });
    socket.on("error", (error: Error & { code?: string }) => {
      resolve(error.code ?? error.message);
      socket.destroy();
    });
  });
}

Deno.test("examples/deno_deploy.ts serves requests from a public endpoint (TLS 1.3) on one connection, with network and env access only", async () => {
  await using env = await publicEndpointEmulator();
  const endpoint = env.emu.endpoint(PUBLIC_CACHE);
  assert.equal(endpoint.publicEndpoint, true);
  const inherited = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      !name.startsWith("AWS_") && !name.startsWith("ELASTICACHE_")
    ),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "examples/deno_deploy.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    clearEnv: true,
    env: {
      ...inherited,
      PORT: "0",
      // The emulator's loopback host names no cache: its name and region come with it.
      ELASTICACHE_URL: `rediss://iam-user-01@${endpoint.hostname}:${endpoint.port}`,
      ELASTICACHE_SERVERLESS_CACHE_NAME: PUBLIC_CACHE,
      ELASTICACHE_CA_CERT: env.caCertPem,
      AWS_REGION: env.emu.region,
      AWS_ACCESS_KEY_ID: LAMBDA_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LAMBDA_KEYS.secretAccessKey,
      AWS_SESSION_TOKEN: LAMBDA_KEYS.sessionToken,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while (!/listening on \d+\n/.test(printed)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`The server exited: ${await stderr}`);
      printed += value;
    }
    reader.releaseLock();
    const port = Number(/listening on (\d+)/.exec(printed)![1]);
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      return body;
    };
    assert.deepEqual(await get("/a"), { path: "/a", hits: 1 });
    assert.deepEqual(await get("/a"), { path: "/a", hits: 2 });
    assert.deepEqual(await get("/b"), { path: "/b", hits: 1 });
    assert.equal(env.accepted(), 1, "the requests share one connection");
    assert.ok(
      env.log.some((line) =>
        new RegExp(` AUTH as 'iam-user-01' to ${PUBLIC_CACHE} accepted`).test(line)
      ),
      env.log.join("\n"),
    );
    // That connection spoke TLS 1.3: the public endpoint refuses TLS 1.2, and refused nothing before.
    assert.ok(!env.log.some((line) => /TLS handshake refused/.test(line)), env.log.join("\n"));
    assert.equal(
      await handshake(endpoint, env.caCertPem, "TLSv1.2"),
      "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await stderr;
  }
});

/** GitHub's token endpoint, as far as the example uses it. */
function fakeGitHubOidc(env: IamEmulator, sub: string, requestToken: string) {
  const audiences: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      if (request.headers.get("authorization") !== `bearer ${requestToken}`) {
        return new Response("bad credentials", { status: 401 });
      }
      const audience = url.searchParams.get("audience") ?? "";
      audiences.push(audience);
      return Response.json({
        count: 1,
        value: await env.emu.oidc.mintToken({ sub, aud: audience }),
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/_apis/distributedtask/token?api-version=2.0`,
    audiences,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A role that trusts only `repo:octo-org/octo-repo` branches, as a GitHub role's trust policy does. */
function gitHubRoleEmulator(): Promise<IamEmulator> {
  return startIamEmulator({
    roles: [{
      roleName: DEFAULT_ROLE_NAME,
      trustPolicy: {
        Version: "2012-10-17",
        Statement: {
          Effect: "Allow",
          Principal: {
            Federated: `arn:aws:iam::123456789012:oidc-provider/${OWN_PROVIDER_PLACEHOLDER}`,
          },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: { [`${OWN_PROVIDER_PLACEHOLDER}:aud`]: "sts.amazonaws.com" },
            StringLike: { [`${OWN_PROVIDER_PLACEHOLDER}:sub`]: "repo:octo-org/octo-repo:*" },
          },
        },
      },
      policies: [SEED_POLICY],
    }],
  });
}

async function runGitHubExample(env: IamEmulator, sub: string) {
  const requestToken = "github-request-token";
  await using github = fakeGitHubOidc(env, sub, requestToken);
  await using example = await exampleEnvironment(env);
  const { AWS_WEB_IDENTITY_TOKEN_FILE: _file, ...vars } = example.vars;
  const result = await run(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "examples/github_actions_oidc.ts",
  ], {
    ...vars,
    ACTIONS_ID_TOKEN_REQUEST_URL: github.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    GITHUB_RUN_ID: "4242",
  });
  return { ...result, audiences: [...github.audiences] };
}

Deno.test("examples/github_actions_oidc.ts exchanges the job's OIDC token for role credentials", async () => {
  await using env = await gitHubRoleEmulator();
  const result = await runGitHubExample(env, "repo:octo-org/octo-repo:ref:refs/heads/main");
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.audiences, ["sts.amazonaws.com"]);
  assert.match(result.stdout, /^connected as iam-user-01$/m);
  assert.match(result.stdout, /^INCR example:ci:runs -> 1$/m);
  assert.ok(
    env.log.some((line) => /assumed-role\/elasticache-iam-auth-app\/github-4242/.test(line)),
  );
});

Deno.test("examples/github_actions_oidc.ts fails clearly for a repository the role does not trust", async () => {
  await using env = await gitHubRoleEmulator();
  const result = await runGitHubExample(env, "repo:someone-else/fork:ref:refs/heads/main");
  assert.notEqual(result.code, 0);
  assert.match(
    result.stderr,
    /CredentialsError: .*Cannot assume role arn:aws:iam::123456789012:role\/elasticache-iam-auth-app with web identity/,
  );
  assert.equal(env.accepted(), 0);
});
