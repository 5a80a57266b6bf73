/**
 * The emulator's STS and OIDC issuer over real HTTP: the AWS SDK's web
 * identity provider works against it unchanged, bad JWTs are refused with
 * AWS's error codes, the seed's trust-policy.json works for SigV4-signed
 * AssumeRole, and the credentials it issues authenticate at the gateway.
 */

import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { fromWebToken } from "@aws-sdk/credential-provider-web-identity";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  type EmulatorConfig,
  loadEmulatorConfig,
  OWN_PROVIDER_PLACEHOLDER as P,
  startEmulator,
  WRONGPASS,
} from "../src/emulator/mod.ts";
import { createAuthToken } from "../src/token.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";

const ACCOUNT = "123456789012";
const DEVELOPER = {
  accessKeyId: "AKIAEMULATORDEVELOPR",
  secretAccessKey: "emulator/developer/secret/key/0000000000",
};
const OUTSIDER = { accessKeyId: "AKIAEMULATOROUTSIDER", secretAccessKey: "outsider-secret" };
const GITHUB = "https://token.actions.githubusercontent.com";
const githubKeys = await generateKeyPair("RS256", { extractable: true });

const seed = await loadEmulatorConfig(
  new URL("./fixtures/emulator_seed_config.json", import.meta.url).pathname,
);
const config: EmulatorConfig = {
  ...seed,
  roles: [
    ...seed.roles!,
    {
      roleName: "ci-deployer",
      maxSessionDuration: 7200,
      trustPolicy: {
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${P}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: { [`${P}:aud`]: "sts.amazonaws.com" },
            StringLike: { [`${P}:sub`]: "repo:acme/app:*" },
          },
        }, {
          Effect: "Allow",
          Principal: {
            Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
          },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
            StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/*" },
          },
        }],
      },
      policies: [JSON.stringify(seed.roles![0]!.policies![0])],
    },
  ],
  iamUsers: [
    ...seed.iamUsers!,
    { userName: "outsider", accessKeys: [OUTSIDER], policies: [] },
  ],
  oidc: { clientIds: ["sts.amazonaws.com", "other-client"] },
  oidcProviders: [{
    url: GITHUB,
    clientIds: ["sts.amazonaws.com"],
    jwks: { keys: [{ ...(await exportJWK(githubKeys.publicKey)), kid: "gh-1", alg: "RS256" }] },
  }],
};

/** Posts an STS query-protocol form and returns the status, error code and body. */
async function sts(
  endpoint: string,
  params: Record<string, string>,
): Promise<{ status: number; code: string | undefined; body: string }> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ Version: "2011-06-15", ...params }),
  });
  const body = await response.text();
  return { status: response.status, code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1], body };
}

function field(xml: string, name: string): string {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  assert.ok(match, `no <${name}> in ${xml}`);
  return match[1]!;
}

Deno.test("STS and OIDC issuer", async (t) => {
  await using emu = await startEmulator(config);
  const ciRole = emu.roleArn("ci-deployer");
  const webIdentity = (token: string, extra: Record<string, string> = {}) =>
    sts(emu.sts.endpoint, {
      Action: "AssumeRoleWithWebIdentity",
      RoleArn: ciRole,
      RoleSessionName: "test-session",
      WebIdentityToken: token,
      ...extra,
    });
  const good = () =>
    emu.oidc.mintToken({ sub: "repo:acme/app:ref:refs/heads/main", aud: "sts.amazonaws.com" });

  await t.step("the issuer serves its discovery document and JWKS", async () => {
    const discovery = await (await fetch(`${emu.oidc.issuer}/.well-known/openid-configuration`))
      .json();
    assert.equal(discovery.issuer, emu.oidc.issuer);
    assert.equal(discovery.jwks_uri, emu.oidc.jwksUri);
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kty, "RSA");
    assert.equal(jwks.keys[0].d, undefined, "no private part");
    const [header, payload] = (await good()).split(".").slice(0, 2).map((part) =>
      JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")))
    );
    assert.equal(header.alg, "RS256");
    assert.equal(header.kid, jwks.keys[0].kid);
    assert.equal(payload.iss, emu.oidc.issuer);
    assert.equal(payload.exp - payload.iat, 3600);
  });

  await t.step("AssumeRoleWithWebIdentity answers AWS's XML with working credentials", async () => {
    const before = emu.clock.now();
    const { status, body } = await webIdentity(await good(), { DurationSeconds: "1800" });
    assert.equal(status, 200, body);
    assert.match(
      body,
      /^<AssumeRoleWithWebIdentityResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">/,
    );
    assert.match(field(body, "AccessKeyId"), /^ASIA[A-Z2-7]{16}$/);
    assert.equal(field(body, "SecretAccessKey").length, 40);
    assert.ok(field(body, "SessionToken").length > 100);
    const expiration = field(body, "Expiration");
    assert.match(expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const lifetime = Date.parse(expiration) - before;
    assert.ok(lifetime > 1798_000 && lifetime <= 1801_000, `DurationSeconds honoured: ${lifetime}`);
    assert.equal(
      field(body, "Arn"),
      `arn:aws:sts::${ACCOUNT}:assumed-role/ci-deployer/test-session`,
    );
    assert.match(field(body, "AssumedRoleId"), /^AROA[A-Z0-9]+:test-session$/);
    assert.equal(field(body, "SubjectFromWebIdentityToken"), "repo:acme/app:ref:refs/heads/main");
    assert.equal(field(body, "Provider"), emu.oidc.issuer);
    assert.equal(field(body, "Audience"), "sts.amazonaws.com");
    assert.match(field(body, "RequestId"), /^[0-9a-f-]{36}$/);
  });

  await t.step(
    "@aws-sdk/credential-provider-web-identity works unchanged, and its credentials connect",
    async () => {
      const credentials = await fromWebToken({
        roleArn: ciRole,
        webIdentityToken: await good(),
        roleSessionName: "sdk",
        durationSeconds: 900,
        clientConfig: { endpoint: emu.sts.endpoint, region: emu.region },
      })();
      assert.match(credentials.accessKeyId, /^ASIA/);
      assert.ok(credentials.sessionToken);
      const lifetime = credentials.expiration!.getTime() - emu.clock.now();
      assert.ok(lifetime > 898_000 && lifetime <= 900_000, `expires in 900 s, got ${lifetime}`);
      const token = await createAuthToken({
        replicationGroupId: "replication-group-01",
        userId: "iam-user-01",
        region: emu.region,
        credentials,
      });
      await using client = await RespTestClient.connect(emu.gateway);
      assert.equal(await client.send("AUTH", "iam-user-01", token), "OK");
      assert.equal(await client.send("SET", "sts", "ok"), "OK");
      // The same credentials are refused once they expire.
      emu.clock.advance(901_000);
      const late = await createAuthToken({
        replicationGroupId: "replication-group-01",
        userId: "iam-user-01",
        region: emu.region,
        credentials,
        signingDate: emu.clock.date(),
      });
      assert.equal(await client.send("AUTH", "iam-user-01", late), `-${WRONGPASS}`);
      emu.clock.advance(-901_000);
    },
  );

  await t.step("the SDK surfaces STS's error code", async () => {
    const provider = fromWebToken({
      roleArn: ciRole,
      webIdentityToken: await emu.oidc.mintToken({ sub: "repo:acme/app:x", aud: "nobody" }),
      roleSessionName: "sdk",
      clientConfig: { endpoint: emu.sts.endpoint, region: emu.region },
    });
    // The SDK maps the wire code InvalidIdentityToken to its modeled exception class.
    await assert.rejects(provider(), (error: Error) => {
      assert.equal(error.name, "InvalidIdentityTokenException");
      assert.equal(error.message, "Incorrect token audience");
      return true;
    });
    const expired = fromWebToken({
      roleArn: ciRole,
      webIdentityToken: await emu.oidc.mintToken({
        sub: "repo:acme/app:x",
        aud: "sts.amazonaws.com",
        expiresIn: -1,
      }),
      roleSessionName: "sdk",
      clientConfig: { endpoint: emu.sts.endpoint, region: emu.region },
    });
    await assert.rejects(expired(), { name: "ExpiredTokenException" });
  });

  await t.step("bad web identity tokens are refused with AWS's error codes", async () => {
    const expect = async (
      token: string,
      status: number,
      code: string,
      extra: Record<string, string> = {},
    ) => {
      const reply = await webIdentity(token, extra);
      assert.equal(reply.code, code, reply.body);
      assert.equal(reply.status, status);
      assert.match(
        reply.body,
        /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type>/,
      );
    };
    const sub = "repo:acme/app:ref:refs/heads/main";
    // An audience that is not one of the provider's client ids.
    await expect(await emu.oidc.mintToken({ sub, aud: "nobody" }), 400, "InvalidIdentityToken");
    // A client id the provider accepts but the trust policy does not.
    await expect(await emu.oidc.mintToken({ sub, aud: "other-client" }), 403, "AccessDenied");
    // A subject the trust policy does not match.
    await expect(
      await emu.oidc.mintToken({
        sub: "repo:evil/app:ref:refs/heads/main",
        aud: "sts.amazonaws.com",
      }),
      403,
      "AccessDenied",
    );
    // An expired token, on the emulator's clock.
    const shortLived = await emu.oidc.mintToken({ sub, aud: "sts.amazonaws.com", expiresIn: 60 });
    emu.clock.advance(61_000);
    await expect(shortLived, 400, "ExpiredTokenException");
    emu.clock.advance(-61_000);
    // Signed by another key that claims the issuer's key id.
    const header = JSON.parse(
      atob((await good()).split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/")),
    );
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: header.kid })
      .setIssuer(emu.oidc.issuer)
      .setSubject(sub)
      .setAudience("sts.amazonaws.com")
      .setIssuedAt(Math.floor(emu.clock.now() / 1000))
      .setExpirationTime(Math.floor(emu.clock.now() / 1000) + 600)
      .sign(githubKeys.privateKey);
    await expect(forged, 400, "InvalidIdentityToken");
    // An issuer the account has no provider for.
    const stranger = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "gh-1" })
      .setIssuer("https://accounts.example.com")
      .setSubject(sub)
      .setAudience("sts.amazonaws.com")
      .setExpirationTime("10m")
      .sign(githubKeys.privateKey);
    await expect(stranger, 400, "InvalidIdentityToken");
    await expect("not.a.jwt", 400, "InvalidIdentityToken");
    // Requests the role cannot grant.
    await expect(await good(), 400, "ValidationError", { DurationSeconds: "7201" });
    await expect(await good(), 400, "ValidationError", { DurationSeconds: "899" });
    await expect(await good(), 400, "ValidationError", { RoleSessionName: "x" });
    await expect(await good(), 403, "AccessDenied", {
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/no-such-role`,
    });
    // The default trust policy of the seed role is AWS-account only: no web identity.
    await expect(await good(), 403, "AccessDenied", {
      RoleArn: emu.roleArn("elasticache-iam-auth-app"),
    });
  });

  await t.step("a configured external OIDC provider is trusted through its own keys", async () => {
    const token = (sub: string) =>
      new SignJWT({ repository: "acme/app" })
        .setProtectedHeader({ alg: "RS256", kid: "gh-1" })
        .setIssuer(GITHUB)
        .setSubject(sub)
        .setAudience("sts.amazonaws.com")
        .setIssuedAt(Math.floor(emu.clock.now() / 1000))
        .setExpirationTime(Math.floor(emu.clock.now() / 1000) + 300)
        .sign(githubKeys.privateKey);
    const ok = await webIdentity(await token("repo:acme/app:ref:refs/heads/main"));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(field(ok.body, "Provider"), GITHUB);
    const denied = await webIdentity(await token("repo:other/app:ref:refs/heads/main"));
    assert.equal(denied.code, "AccessDenied");
  });

  await t.step(
    "the seed's trust-policy.json: SigV4-signed AssumeRole by an account's IAM user",
    async () => {
      const assume = (
        keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
      ) =>
        new AwsClient({ ...keys, service: "sts", region: "us-east-1" }).fetch(emu.sts.endpoint, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            Action: "AssumeRole",
            Version: "2011-06-15",
            RoleArn: emu.roleArn("elasticache-iam-auth-app"),
            RoleSessionName: "seed",
          }).toString(),
        });
      const response = await assume(DEVELOPER);
      const body = await response.text();
      assert.equal(response.status, 200, body);
      assert.match(body, /^<AssumeRoleResponse /);
      assert.equal(
        field(body, "Arn"),
        `arn:aws:sts::${ACCOUNT}:assumed-role/elasticache-iam-auth-app/seed`,
      );
      const credentials = {
        accessKeyId: field(body, "AccessKeyId"),
        secretAccessKey: field(body, "SecretAccessKey"),
        sessionToken: field(body, "SessionToken"),
      };
      // The role's policy.json lets it connect to replication-group-01 as iam-user-01.
      const token = await createAuthToken({
        replicationGroupId: "replication-group-01",
        userId: "iam-user-01",
        region: "us-east-1",
        credentials,
      });
      await using client = await RespTestClient.connect(emu.gateway);
      assert.equal(await client.send("AUTH", "iam-user-01", token), "OK");

      // The role's own session may not assume it again: policy.json grants no sts:AssumeRole.
      const chained = await assume(credentials);
      assert.equal(chained.status, 403);
      assert.equal(/<Code>([^<]*)</.exec(await chained.text())?.[1], "AccessDenied");
      // A user of the account without sts:AssumeRole in its own policies is refused.
      const outsider = await assume(OUTSIDER);
      assert.equal(/<Code>([^<]*)</.exec(await outsider.text())?.[1], "AccessDenied");
      // A wrong secret, an unknown key, and no signature at all.
      const wrong = await assume({ ...DEVELOPER, secretAccessKey: "wrong" });
      assert.equal(/<Code>([^<]*)</.exec(await wrong.text())?.[1], "SignatureDoesNotMatch");
      const unknown = await assume({ ...DEVELOPER, accessKeyId: "AKIAUNKNOWNUNKNOWN00" });
      assert.equal(/<Code>([^<]*)</.exec(await unknown.text())?.[1], "InvalidClientTokenId");
      const unsigned = await sts(emu.sts.endpoint, {
        Action: "AssumeRole",
        RoleArn: emu.roleArn("elasticache-iam-auth-app"),
        RoleSessionName: "seed",
      });
      assert.equal(unsigned.code, "MissingAuthenticationToken");
    },
  );

  await t.step("GetCallerIdentity names the signer", async () => {
    const response = await new AwsClient({ ...DEVELOPER, service: "sts", region: "us-east-1" })
      .fetch(emu.sts.endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "Action=GetCallerIdentity&Version=2011-06-15",
      });
    const body = await response.text();
    assert.equal(field(body, "Arn"), `arn:aws:iam::${ACCOUNT}:user/developer`);
    assert.equal(field(body, "Account"), ACCOUNT);
  });
});

Deno.test("startEmulator() with no argument: the seed's setup, trusting its own issuer", async () => {
  await using emu = await startEmulator();
  assert.equal(emu.region, "us-east-1");
  assert.equal(emu.accountId, ACCOUNT);
  assert.equal(emu.roleArn(), `arn:aws:iam::${ACCOUNT}:role/elasticache-iam-auth-app`);
  assert.equal(emu.gateway.tls, false);
  const credentials = await fromWebToken({
    roleArn: emu.roleArn(),
    webIdentityToken: await emu.oidc.mintToken({ sub: "anyone", aud: "sts.amazonaws.com" }),
    roleSessionName: "default",
    clientConfig: { endpoint: emu.sts.endpoint, region: emu.region },
  })();
  const token = (userId: string) =>
    createAuthToken({
      replicationGroupId: "replication-group-01",
      userId,
      region: "us-east-1",
      credentials,
    });
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", "iam-user-01", await token("iam-user-01")), "OK");
  assert.equal(await client.send("INCR", "counter"), 1);
  const wrongAudience = await sts(emu.sts.endpoint, {
    Action: "AssumeRoleWithWebIdentity",
    RoleArn: emu.roleArn(),
    RoleSessionName: "default",
    WebIdentityToken: await emu.oidc.mintToken({ sub: "anyone", aud: "other" }),
  });
  assert.equal(wrongAudience.code, "InvalidIdentityToken");
});
