/**
 * IAM Identity Center (SSO) profiles (src/credentials/sso.ts) against the
 * emulator's SSO portal and OIDC: `sso_session` and legacy profiles from a
 * temporary HOME whose token cache the emulator's `sso.login()` writes, as
 * `aws sso login` does, through to a connection through the gateway; the
 * refresh of a token near its expiry; absence; failures (no login, expired,
 * refused token, role not offered, incomplete settings) as CredentialsErrors
 * that say to run `aws sso login` and hold no token or key.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  defaultTrustPolicy,
  type Emulator,
  SEED_POLICY,
  startEmulator,
} from "@elasticache-iam/emulator";
import { CredentialsError } from "../src/errors.ts";
import { fromProfile, profileCredentialsSource } from "../src/credentials/profile.ts";
import { fromSso, ssoCredentialsSource } from "../src/credentials/sso.ts";
import {
  assertNoSecret,
  type AwsHome,
  awsHome,
  connectThroughGateway,
} from "./_helpers/aws_home.ts";

const ACCOUNT = "123456789012";

function startSsoEmulator(log: string[] = []): Promise<Emulator> {
  return startEmulator({
    log: (line) => log.push(line),
    roles: [
      {
        roleName: "elasticache-iam-auth-app",
        trustPolicy: defaultTrustPolicy(ACCOUNT),
        policies: [SEED_POLICY],
      },
      {
        roleName: "after-sso",
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/elasticache-iam-auth-app` },
            Action: "sts:AssumeRole",
          }],
        },
        policies: [SEED_POLICY],
      },
      { roleName: "not-offered", trustPolicy: defaultTrustPolicy(ACCOUNT) },
    ],
    sso: { roleNames: ["elasticache-iam-auth-app"] },
  });
}

/** A home whose config has an `sso_session` profile, a legacy one, and broken ones. */
async function ssoHome(emu: Emulator): Promise<AwsHome> {
  const account = `sso_account_id = ${emu.sso.accountId}`;
  return await awsHome({
    config: [
      "[profile dev]",
      "sso_session = corp",
      account,
      "sso_role_name = elasticache-iam-auth-app",
      `region = ${emu.region}`,
      "[sso-session corp]",
      `sso_start_url = ${emu.sso.startUrl}`,
      `sso_region = ${emu.sso.region}`,
      "sso_registration_scopes = sso:account:access",
      "[profile legacy]",
      `sso_start_url = ${emu.sso.startUrl}`,
      `sso_region = ${emu.sso.region}`,
      account,
      "sso_role_name = elasticache-iam-auth-app",
      "[profile chained]",
      `role_arn = arn:aws:iam::${ACCOUNT}:role/after-sso`,
      "source_profile = dev",
      "[profile forbidden]",
      "sso_session = corp",
      account,
      "sso_role_name = not-offered",
      "[profile no-session]",
      "sso_session = gone",
      account,
      "sso_role_name = elasticache-iam-auth-app",
      "[profile no-role]",
      "sso_session = corp",
      account,
      "[profile conflict]",
      "sso_session = corp",
      "sso_region = eu-west-1",
      account,
      "sso_role_name = elasticache-iam-auth-app",
    ].join("\n"),
  });
}

function ssoEnv(home: AwsHome, emu: Emulator, extra: Record<string, string> = {}) {
  return home.env({
    AWS_ENDPOINT_URL_SSO: emu.sso.endpoint,
    AWS_ENDPOINT_URL_SSO_OIDC: emu.sso.endpoint,
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<CredentialsError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof CredentialsError, `a CredentialsError, got ${error}`);
  return error;
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("sso_session profile: the cached login → GetRoleCredentials → IamAuth → the gateway", async () => {
  const log: string[] = [];
  await using emu = await startSsoEmulator(log);
  await using home = await ssoHome(emu);
  const login = await emu.sso.login({ home: home.home, ssoSession: "corp" });
  assert.equal(login.path, `${home.home}/.aws/sso/cache/${await sha1("corp")}.json`);
  const env = ssoEnv(home, emu, { AWS_PROFILE: "dev" });
  assert.deepEqual(ssoCredentialsSource({ env }), {
    configured: true,
    lookedFor:
      `the AWS shared files (profile 'dev' (AWS_PROFILE) in ${home.configFile}: SSO with sso_session 'corp')`,
  });
  assert.equal(profileCredentialsSource({ env }).configured, true);
  const credentials = fromSso({ env, now: () => emu.clock.now() });
  const resolved = await credentials();
  assert.match(resolved.accessKeyId, /^ASIA/);
  assert.ok(resolved.sessionToken);
  assert.ok(resolved.expiration!.getTime() > emu.clock.now());
  assert.equal(await credentials(), resolved, "cached until shortly before they expire");
  assert.equal(log.filter((line) => line.includes("GetRoleCredentials issued")).length, 1);
  await connectThroughGateway(emu, credentials);
  // The same profile through the profile source, and as a role chain's source.
  await connectThroughGateway(emu, fromProfile({ env, now: () => emu.clock.now() }), "profile");
  const chained = fromProfile({
    env: ssoEnv(home, emu, { AWS_PROFILE: "chained", AWS_ENDPOINT_URL_STS: emu.sts.endpoint }),
    now: () => emu.clock.now(),
  });
  await connectThroughGateway(emu, chained, "chained");
  assert.ok(log.some((line) => /AssumeRole issued .*:role\/after-sso /.test(line)));
});

Deno.test("legacy sso_start_url profile: the login cached under the start URL's SHA-1", async () => {
  await using emu = await startSsoEmulator();
  await using home = await ssoHome(emu);
  const login = await emu.sso.login({ home: home.home });
  assert.equal(login.path, `${home.home}/.aws/sso/cache/${await sha1(emu.sso.startUrl)}.json`);
  const env = ssoEnv(home, emu, { AWS_PROFILE: "legacy" });
  assert.match(ssoCredentialsSource({ env }).lookedFor, /: legacy SSO \(sso_start_url\)\)$/);
  const credentials = fromSso({ env, now: () => emu.clock.now() });
  await connectThroughGateway(emu, credentials);
});

Deno.test("a token within five minutes of its expiry is refreshed with SSO OIDC CreateToken, and the cache rewritten", async () => {
  const log: string[] = [];
  await using emu = await startSsoEmulator(log);
  await using home = await ssoHome(emu);
  const login = await emu.sso.login({ home: home.home, ssoSession: "corp", expiresInSeconds: 60 });
  const before = JSON.parse(await Deno.readTextFile(login.path));
  const credentials = fromSso({
    env: ssoEnv(home, emu, { AWS_PROFILE: "dev" }),
    now: () => emu.clock.now(),
  });
  await connectThroughGateway(emu, credentials);
  assert.ok(log.some((line) => line.includes("CreateToken refreshed")));
  const after = JSON.parse(await Deno.readTextFile(login.path));
  assert.notEqual(after.accessToken, before.accessToken);
  assert.notEqual(after.refreshToken, before.refreshToken);
  assert.equal(after.clientId, before.clientId, "the registration is kept");
  assert.ok(Date.parse(after.expiresAt) - emu.clock.now() > 3000_000, "an hour's token");
  assert.equal(after.startUrl, emu.sso.startUrl);
});

Deno.test("an expired sso_session token is refreshed when it can be; a legacy one says to log in again", async () => {
  await using emu = await startSsoEmulator();
  await using home = await ssoHome(emu);
  await emu.sso.login({ home: home.home, ssoSession: "corp", expiresInSeconds: -60 });
  await connectThroughGateway(
    emu,
    fromSso({ env: ssoEnv(home, emu, { AWS_PROFILE: "dev" }), now: () => emu.clock.now() }),
  );
  const legacy = await emu.sso.login({ home: home.home, expiresInSeconds: -60 });
  const error = await rejection(
    fromSso({ env: ssoEnv(home, emu, { AWS_PROFILE: "legacy" }), now: () => emu.clock.now() })(),
  );
  assert.match(
    error.message,
    /^Cannot get SSO credentials for profile 'legacy': the SSO session of the start URL https:\/\/emulator\.awsapps\.com\/start expired at \S+Z; run 'aws sso login --profile legacy'$/,
  );
  assertNoSecret(error.message, [legacy.accessToken]);
});

Deno.test("SSO failures: a CredentialsError naming the profile, saying to log in, holding no token", async (t) => {
  await using emu = await startSsoEmulator();
  await using home = await ssoHome(emu);
  const env = ssoEnv(home, emu);
  const fails = async (profile: string, pattern: RegExp, secrets: string[] = []) => {
    const error = await rejection(fromSso({ env, profile, now: () => emu.clock.now() })());
    assert.match(error.message, pattern);
    assert.ok(error.message.startsWith(`Cannot get SSO credentials for profile '${profile}': `));
    assertNoSecret(error.message, secrets);
    // fromProfile reports the same.
    const viaProfile = await rejection(fromProfile({ env, profile, now: () => emu.clock.now() })());
    assert.equal(viaProfile.message, error.message);
    return error;
  };
  await t.step("no login yet", async () => {
    await fails(
      "dev",
      new RegExp(
        `there is no SSO login for sso-session 'corp' \\(${home.home}/\\.aws/sso/cache/${await sha1(
          "corp",
        )}\\.json\\); run 'aws sso login --profile dev'$`,
      ),
    );
  });
  await t.step("an expired token that cannot be refreshed", async () => {
    await home.write(
      `.aws/sso/cache/${await sha1("corp")}.json`,
      JSON.stringify({
        startUrl: emu.sso.startUrl,
        region: emu.sso.region,
        accessToken: "an-old-access-token",
        expiresAt: "2020-01-01T00:00:00UTC",
        clientId: "client",
        clientSecret: "client-secret",
        refreshToken: "a-refresh-token-never-issued",
      }),
    );
    await fails(
      "dev",
      /the SSO session of sso-session 'corp' expired at 2020-01-01T00:00:00.000Z; run 'aws sso login --profile dev'$/,
      ["an-old-access-token", "client-secret", "a-refresh-token-never-issued"],
    );
  });
  await t.step("a token the portal refuses (401)", async () => {
    await home.write(
      `.aws/sso/cache/${await sha1("corp")}.json`,
      JSON.stringify({
        accessToken: "a-token-the-portal-never-issued",
        expiresAt: new Date(emu.clock.now() + 3600_000).toISOString(),
      }),
    );
    await fails(
      "dev",
      /SSO at http:\/\/127\.0\.0\.1:\d+ answered UnauthorizedException \(HTTP 401\): Session token not found or invalid for role 'elasticache-iam-auth-app' of account 123456789012; run 'aws sso login --profile dev'$/,
      ["a-token-the-portal-never-issued"],
    );
  });
  await t.step("a token cache that is not JSON", async () => {
    await home.write(`.aws/sso/cache/${await sha1("corp")}.json`, "{ not json");
    await fails("dev", /the SSO token cache .* is not JSON; run 'aws sso login --profile dev'$/);
  });
  await t.step("a role the portal does not offer (403)", async () => {
    const login = await emu.sso.login({ home: home.home, ssoSession: "corp" });
    await fails(
      "forbidden",
      /answered ForbiddenException \(HTTP 403\): No access for role 'not-offered' of account 123456789012$/,
      [login.accessToken],
    );
  });
  await t.step("incomplete or inconsistent settings", async () => {
    await fails(
      "no-session",
      /its sso_session 'gone' has no \[sso-session gone\] section in .*config$/,
    );
    await fails(
      "conflict",
      /its sso_region differs from the one of sso-session 'corp'$/,
    );
    const error = await rejection(fromSso({ env, profile: "no-role" })());
    assert.match(
      error.message,
      /it is set up for SSO but lacks sso_role_name \(with its sso-session 'corp'\)$/,
    );
  });
});

Deno.test("SSO absence: a profile without sso_account_id or sso_role_name falls through", async () => {
  await using home = await awsHome({
    config: "[default]\nregion = us-east-1\n[profile token-only]\nsso_session = corp\n",
  });
  assert.deepEqual(ssoCredentialsSource({ env: home.env() }), {
    configured: false,
    lookedFor: `the AWS shared files (profile 'default' in ${home.configFile} has no SSO settings)`,
  });
  assert.equal(ssoCredentialsSource({ env: home.env(), profile: "token-only" }).configured, false);
  assert.equal(
    ssoCredentialsSource({ env: { HOME: `${home.home}/nobody` } }).lookedFor,
    `the AWS shared files (profile 'default' is in neither ${home.home}/nobody/.aws/config (no such file) nor ${home.home}/nobody/.aws/credentials (no such file))`,
  );
});

Deno.test("SSO endpoints: the region's portal and OIDC by default, in waitingFor()", async () => {
  await using home = await awsHome({
    config: [
      "[default]",
      "sso_start_url = https://example.awsapps.com/start",
      "sso_region = eu-west-1",
      "sso_account_id = 123456789012",
      "sso_role_name = dev",
    ].join("\n"),
  });
  const token = await home.write(
    `.aws/sso/cache/${await sha1("https://example.awsapps.com/start")}.json`,
    JSON.stringify({
      accessToken: "cached-token",
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }),
  );
  const urls: string[] = [];
  const credentials = fromSso({
    env: home.env(),
    fetch: (url, init) => {
      urls.push(url.href);
      assert.equal(new Headers(init.headers).get("x-amz-sso_bearer_token"), "cached-token");
      return Promise.resolve(
        Response.json({
          roleCredentials: {
            accessKeyId: "ASIASSO",
            secretAccessKey: "sso-secret",
            sessionToken: "sso-session",
            expiration: Date.now() + 3600_000,
          },
        }),
      );
    },
  });
  assert.equal(await credentials.waitingFor(), "profile 'default': SSO");
  assert.equal((await credentials()).accessKeyId, "ASIASSO");
  assert.deepEqual(urls, [
    "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials?role_name=dev&account_id=123456789012",
  ]);
  assert.ok(token);
});
