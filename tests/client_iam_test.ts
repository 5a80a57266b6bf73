/**
 * The client with IAM authentication through the emulator (plain and TLS):
 * the token manager and web identity credentials, WRONGPASS then a fresh
 * token, the connection cap survived by re-authentication (deferred past an
 * open MULTI), and reconnection with a fresh token after a cut.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import type { ConnectOptions } from "../mod.ts";
import type { AuthCredentials, AuthProvider } from "../mod.ts";
import { AuthenticationError } from "../src/errors.ts";
import { type IamEmulator, startIamEmulator } from "./_helpers/iam_emulator.ts";

/** The emulator's connection cap (emulator time), shortened from 12 hours. */
const CAP = 60_000;

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await tick();
  }
}

function clientOptions(env: IamEmulator, auth: AuthProvider = env.auth): ConnectOptions {
  const { hostname, port, tls } = env.emu.gateway;
  return {
    host: hostname,
    port,
    tls,
    ...(tls ? { caCerts: env.caCertPem } : {}),
    auth,
    now: () => env.emu.clock.now(),
  };
}

function refused(env: IamEmulator): number {
  return env.log.filter((line) => / AUTH as '.*' refused/.test(line)).length;
}

for (const tls of [true, false]) {
  Deno.test(`IamAuth with web identity credentials connects through the emulator (${tls ? "TLS" : "plain"})`, async () => {
    await using env = await startIamEmulator({ tls });
    await using client = await connect(clientOptions(env));
    assert.equal(await client.set("greeting", "hello", { ex: 60 }), "OK");
    assert.equal(await client.get("greeting"), "hello");
    assert.equal(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
    assert.equal(env.accepted(), 1, "one HELLO AUTH for the connection");
    assert.ok(!Deno.inspect(client).includes("X-Amz"));
  });
}

Deno.test("WRONGPASS on connect mints a fresh token once and retries", async () => {
  await using env = await startIamEmulator();
  let refreshes = 0;
  const staleFirst: AuthProvider = {
    async credentials(): Promise<AuthCredentials> {
      const { username, password } = await env.auth.credentials();
      // A token the server refuses, as a cached token signed by revoked credentials would be.
      return {
        username,
        password: password.replace(
          /X-Amz-Signature=[0-9a-f]+/,
          `X-Amz-Signature=${"0".repeat(64)}`,
        ),
      };
    },
    refresh(): Promise<AuthCredentials> {
      refreshes++;
      return env.auth.refresh();
    },
  };
  await using client = await connect(clientOptions(env, staleFirst));
  assert.equal(await client.ping(), "PONG");
  assert.equal(refreshes, 1);
  assert.equal(refused(env), 1);
  assert.equal(env.accepted(), 1);
});

Deno.test("a token the server keeps refusing fails with the likely causes and no token", async () => {
  // Tokens for a cache name the emulator does not know: refused whatever their age.
  await using env = await startIamEmulator({}, { replicationGroupId: "replication-group-99" });
  const tokens: string[] = [];
  const recording: AuthProvider = {
    credentials: () => env.auth.credentials().then((c) => (tokens.push(c.password), c)),
    refresh: () => env.auth.refresh().then((c) => (tokens.push(c.password), c)),
  };
  const error = await connect(clientOptions(env, recording)).catch((e) => e);
  assert.ok(error instanceof AuthenticationError);
  assert.match(error.message, /^Cannot authenticate to '127\.0\.0\.1:\d+' as 'iam-user-01': /);
  assert.match(error.message, /WRONGPASS invalid username-password pair or user is disabled/);
  assert.match(error.message, /Likely causes: .*cache name/);
  assert.equal(tokens.length, 2, "one token, then one fresh token");
  assert.equal(refused(env), 2);
  for (const token of tokens) {
    assert.ok(!error.message.includes(token));
    assert.ok(!String(error.stack).includes(token));
    assert.ok(!Deno.inspect(error).includes(token));
  }
});

Deno.test("the connection outlives the connection cap by re-authenticating", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  const errors: Error[] = [];
  await using client = await connect({
    ...clientOptions(env),
    reauthAfter: CAP / 2,
    onError: (error) => errors.push(error),
  });
  const id = await client.send(["CLIENT", "ID"]);
  env.emu.clock.advance(CAP / 2 + 1_000);
  assert.equal(await client.incr("n"), 1); // due: this command starts the re-auth
  await until(() => env.accepted() === 2, "the re-auth");
  env.emu.clock.advance(CAP / 2 + 10_000); // past the first cap, within the extended one
  await tick(20);
  assert.equal(client.connected, true);
  assert.equal(await client.incr("n"), 2);
  assert.equal(await client.send(["CLIENT", "ID"]), id, "still the first connection");
  assert.ok(!env.log.some((line) => line.includes("age cap")));
  assert.deepEqual(errors, []);
});

Deno.test("a re-auth due inside MULTI is sent after EXEC, and the connection survives the cap", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  const errors: Error[] = [];
  await using client = await connect({
    ...clientOptions(env),
    reauthAfter: CAP / 2,
    onError: (error) => errors.push(error),
  });
  const id = await client.send(["CLIENT", "ID"]);
  assert.equal(await client.send(["MULTI"]), "OK");
  env.emu.clock.advance(CAP / 2 + 1_000);
  assert.equal(await client.send(["INCR", "n"]), "QUEUED"); // starts the re-auth, which waits
  await tick(50);
  assert.equal(env.accepted(), 1, "no AUTH inside the transaction");
  assert.deepEqual(await client.send(["EXEC"]), [1]);
  await until(() => env.accepted() === 2, "the re-auth after EXEC");
  assert.ok(!env.log.some((line) => line.includes("inside MULTI refused")));
  env.emu.clock.advance(CAP / 2 + 10_000);
  await tick(20);
  assert.equal(await client.send(["CLIENT", "ID"]), id);
  assert.deepEqual(errors, []);
});

Deno.test("without re-auth the cap cuts the connection; the next command reconnects with a valid token", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  await using client = await connect(clientOptions(env));
  const id = await client.send(["CLIENT", "ID"]);
  await client.set("kept", "yes");
  env.emu.clock.advance(CAP + 1);
  await until(() => !client.connected, "the cut");
  assert.ok(env.log.some((line) => line.includes("age cap")));
  // 14 minutes later the first token would be near its end: the reconnect uses one valid now.
  env.emu.clock.advance(14 * 60_000);
  assert.equal(await client.get("kept"), "yes");
  assert.notEqual(await client.send(["CLIENT", "ID"]), id);
  assert.equal(env.accepted(), 2);
});
