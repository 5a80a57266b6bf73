import assert from "node:assert/strict";
import { CredentialsError, defaultCredentials, fromWebIdentity, IamAuth } from "../mod.ts";
import { startEmulator } from "@elasticache-iam/emulator";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";

Deno.test("web identity: OIDC JWT → emulator STS → token → AUTH through the gateway", async () => {
  await using emu = await startEmulator();
  let jwtsIssued = 0;
  const credentials = fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: () => {
      jwtsIssued++;
      return emu.oidc.mintToken({
        sub: "repo:acme/app:ref:refs/heads/main",
        aud: "sts.amazonaws.com",
      });
    },
    roleSessionName: "web-identity-test",
    durationSeconds: 900,
    region: emu.region,
    stsEndpoint: emu.sts.endpoint,
  });
  const resolved = await credentials();
  assert.match(resolved.accessKeyId, /^ASIA/);
  assert.ok(resolved.sessionToken);
  const life = resolved.expiration!.getTime() - emu.clock.now();
  assert.ok(life > 890_000 && life <= 900_000, `DurationSeconds honoured, got ${life} ms`);
  assert.equal(await credentials(), resolved, "cached: no second exchange");
  assert.equal(jwtsIssued, 1);

  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials,
  });
  const { username, password } = await auth.credentials();
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", username, password), "OK");
  assert.equal(await client.send("SET", "greeting", "hello"), "OK");
  assert.equal(await client.send("GET", "greeting"), "hello");
});

Deno.test("web identity from EKS-style variables (token file, AWS_ENDPOINT_URL_STS) via the default chain", async () => {
  await using emu = await startEmulator();
  const tokenFile = await Deno.makeTempFile({ prefix: "web-identity-" });
  try {
    await Deno.writeTextFile(
      tokenFile,
      await emu.oidc.mintToken({
        sub: "system:serviceaccount:default:app",
        aud: "sts.amazonaws.com",
      }),
    );
    const provider = defaultCredentials({
      env: {
        AWS_ROLE_ARN: emu.roleArn(),
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_SESSION_NAME: "irsa",
        AWS_REGION: emu.region,
        AWS_ENDPOINT_URL_STS: emu.sts.endpoint,
      },
    });
    const resolved = await provider();
    assert.match(resolved.accessKeyId, /^ASIA/);
    assert.ok(resolved.expiration instanceof Date);
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("a JWT for the wrong audience is refused with STS's reason, as a CredentialsError", async () => {
  await using emu = await startEmulator();
  const credentials = fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: () => emu.oidc.mintToken({ sub: "app", aud: "not-sts" }),
    region: emu.region,
    stsEndpoint: emu.sts.endpoint,
  });
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials,
  });
  await assert.rejects(auth.credentials(), (error: Error) => {
    assert.equal(error.name, "CredentialsError");
    assert.match(
      error.message,
      /^Cannot get an IAM auth token for user 'iam-user-01' on 'replication-group-01': Cannot assume role arn:aws:iam::123456789012:role\/elasticache-iam-auth-app with web identity: /,
    );
    assert.ok(!error.message.includes("eyJ"), "no JWT in the message");
    return true;
  });
});

Deno.test("a webIdentityToken callback that never answers fails the exchange; the next call with a working callback succeeds", async () => {
  await using emu = await startEmulator();
  const timers = new FakeTimers();
  let calls = 0;
  let called!: () => void;
  const firstCall = new Promise<void>((resolve) => called = resolve);
  const credentials = fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: () => {
      calls++;
      if (calls === 1) {
        called();
        return new Promise<never>(() => {}); // an identity provider that never answers
      }
      return emu.oidc.mintToken({ sub: "app", aud: "sts.amazonaws.com" });
    },
    region: emu.region,
    stsEndpoint: emu.sts.endpoint,
    timeout: 2000,
    timers,
  });
  let outcome: unknown;
  const settledWith = () => outcome; // read through a call: the compiler cannot narrow it
  credentials().then(() => outcome = "credentials", (error) => outcome = error);
  await firstCall;
  timers.advance(1999);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settledWith(), undefined, "still waiting just before the bound");
  timers.advance(1);
  // Zero-delay yields (not sleeps) until the failure has gone through the exchange and the cache.
  for (let i = 0; i < 20 && settledWith() === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const error = settledWith();
  assert.ok(error instanceof CredentialsError, `the exchange failed at the bound, got ${error}`);
  assert.equal(
    error.message,
    `Cannot assume role ${emu.roleArn()} with web identity: the 'webIdentityToken' callback ` +
      `did not answer within 2000 ms`,
  );
  assert.equal(timers.pending, 0, "the exchange's bound was released too");

  const resolved = await credentials();
  assert.equal(calls, 2, "the callback was asked again");
  assert.match(resolved.accessKeyId, /^ASIA/);
  assert.ok(resolved.expiration instanceof Date);
});
