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
  EmulatorClock,
  type EmulatorConfig,
  loadEmulatorConfig,
  OWN_PROVIDER_PLACEHOLDER as P,
  startEmulator,
  WRONGPASS,
} from "../mod.ts";
import { resolveConfig } from "../src/config.ts";
import { CredentialStore } from "../src/credential_store.ts";
import { startOidcIssuer } from "../src/oidc_issuer.ts";
import { MAX_REQUEST_BODY_BYTES, startSts, type StsOptions } from "../src/sts_server.ts";
import { createTlsMaterial } from "../src/tls_certificate.ts";
import { createAuthToken } from "../../../src/token.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

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

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/**
 * Starts the STS alone, as `startEmulator` does (with the emulator's own
 * issuer), keeping its log: for the options `startEmulator` does not offer.
 */
async function startStsAlone(emulatorConfig: EmulatorConfig, options: Partial<StsOptions> = {}) {
  const clock = new EmulatorClock();
  const oidc = await startOidcIssuer(clock);
  const resolved = resolveConfig(emulatorConfig, oidc.issuer);
  const log: string[] = [];
  const sts = startSts({
    config: resolved,
    credentials: new CredentialStore(resolved),
    clock,
    ownJwks: oidc.jwks,
    log: (line) => log.push(line),
    ...options,
  });
  return {
    endpoint: sts.endpoint,
    oidc,
    log,
    roleArn: (roleName: string) => `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
    async [Symbol.asyncDispose]() {
      await sts.close();
      await oidc.close();
    },
  };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("STS: a request body over 64 KiB is answered RequestEntityTooLargeException (413), read no further than the limit and one chunk", async () => {
  await using server = await startStsAlone(config);
  const codeOf = async (response: Response) => /<Code>([^<]*)</.exec(await response.text())?.[1];
  const form = "Action=GetCallerIdentity&Version=2011-06-15&Pad=";
  // A body of exactly the limit is read, and refused for what it says.
  const atLimit = await fetch(server.endpoint, {
    method: "POST",
    headers: FORM,
    body: form.padEnd(MAX_REQUEST_BODY_BYTES, "x"),
  });
  assert.equal(await codeOf(atLimit), "MissingAuthenticationToken");
  // One byte more, announced by its Content-Length.
  const over = await fetch(server.endpoint, {
    method: "POST",
    headers: FORM,
    body: form.padEnd(MAX_REQUEST_BODY_BYTES + 1, "x"),
  });
  assert.equal(over.status, 413);
  assert.equal(await codeOf(over), "RequestEntityTooLargeException");

  // A client that streams a body without end (stopped at 64 MiB, so that a server reading it
  // all still answers).
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const endlessEnough = 64 * 1024 * 1024;
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= endlessEnough) return controller.close();
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  const response = await fetch(server.endpoint, { method: "POST", headers: FORM, body });
  const text = await response.text();
  assert.equal(response.status, 413, text);
  assert.match(
    text,
    /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>RequestEntityTooLargeException<\/Code>/,
  );
  assert.equal(response.headers.get("connection"), "close");
  const read = Number(/read (\d+) bytes/.exec(server.log.join("\n"))?.[1]);
  assert.ok(
    read > MAX_REQUEST_BODY_BYTES && read <= MAX_REQUEST_BODY_BYTES + chunk.byteLength,
    `the server read ${read} bytes`,
  );
  // Nor does the server drain the rest of the upload: once the socket buffers are full, the
  // client cannot send more (a cancelled request body is drained at ~1 GB/s by Deno.serve).
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.ok(sent < 32 * 1024 * 1024, `the client could still send ${sent} bytes`);
});

Deno.test("STS: the SigV4 payload hash is the body's, never the x-amz-content-sha256 header's", async () => {
  await using server = await startStsAlone(config);
  const signer = new AwsClient({ ...DEVELOPER, service: "sts", region: "us-east-1" });
  const signedBody = "Action=GetCallerIdentity&Version=2011-06-15";
  const otherBody = new URLSearchParams({
    Action: "AssumeRole",
    Version: "2011-06-15",
    RoleArn: server.roleArn("elasticache-iam-auth-app"),
    RoleSessionName: "swapped-body",
  }).toString();
  for (const declared of [undefined, await sha256Hex(signedBody)]) {
    const what = declared === undefined ? "without the header" : "with the header";
    const signed = await signer.sign(server.endpoint, {
      method: "POST",
      headers: { ...FORM, ...(declared ? { "x-amz-content-sha256": declared } : {}) },
      body: signedBody,
    });
    assert.equal(signed.headers.has("x-amz-content-sha256"), declared !== undefined);
    const send = (body: string) =>
      fetch(signed.url, { method: "POST", headers: signed.headers, body });
    // The signature of one body does not carry another.
    const swapped = await send(otherBody);
    const swappedText = await swapped.text();
    assert.equal(swapped.status, 403, `${what}: ${swappedText}`);
    assert.equal(/<Code>([^<]*)</.exec(swappedText)?.[1], "SignatureDoesNotMatch", what);
    assert.doesNotMatch(swappedText, /AccessKeyId/, what);
    // The body that was signed is accepted.
    const original = await send(signedBody);
    const originalText = await original.text();
    assert.equal(original.status, 200, `${what}: ${originalText}`);
    assert.equal(field(originalText, "Arn"), `arn:aws:iam::${ACCOUNT}:user/developer`);
  }
  // A header that does not hash the body is refused even when the signature ignores it.
  const unsigned = await signer.sign(server.endpoint, {
    method: "POST",
    headers: FORM,
    body: signedBody,
  });
  const headers = new Headers(unsigned.headers);
  headers.set("x-amz-content-sha256", await sha256Hex(otherBody));
  const mismatched = await fetch(unsigned.url, { method: "POST", headers, body: signedBody });
  assert.equal(/<Code>([^<]*)</.exec(await mismatched.text())?.[1], "SignatureDoesNotMatch");
});

Deno.test("STS: a JWT's claims cannot forge a line of the emulator's log", async () => {
  const forged = "x\ngateway: #1 AUTH as 'admin' accepted";
  await using server = await startStsAlone({
    roles: [
      {
        roleName: "anyone",
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${P}` },
            Action: "sts:AssumeRoleWithWebIdentity",
          }],
        },
      },
      {
        roleName: "nobody",
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${P}` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { [`${P}:sub`]: "someone-else" } },
          }],
        },
      },
    ],
  });
  const token = await server.oidc.mintToken({ sub: forged, aud: "sts.amazonaws.com" });
  for (const [roleName, status] of [["anyone", 200], ["nobody", 403]] as const) {
    const reply = await sts(server.endpoint, {
      Action: "AssumeRoleWithWebIdentity",
      RoleArn: server.roleArn(roleName),
      RoleSessionName: "log-forgery",
      WebIdentityToken: token,
    });
    assert.equal(reply.status, status, reply.body);
  }
  assert.ok(server.log.some((entry) => entry.includes(" issued ")), server.log.join("\n"));
  assert.ok(server.log.some((entry) => entry.includes(" refused ")), server.log.join("\n"));
  for (const entry of server.log) {
    assert.doesNotMatch(entry, /[\p{Cc}]/u, `a control character in ${JSON.stringify(entry)}`);
    assert.ok(!entry.includes("AUTH as"), entry);
  }
  const lines = server.log.join("\n").split(/\r\n|\r|\n/);
  assert.deepEqual(lines.filter((line) => !line.startsWith("sts: ")), []);
});

Deno.test("STS: an OIDC provider whose keys cannot be fetched is IDPCommunicationError (400), within the bound", async () => {
  const idpKeys = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(idpKeys.publicKey)), kid: "idp-1", alg: "RS256" };
  let release = () => {};
  const released = new Promise<void>((resolve) => release = resolve);
  // One web server for every provider: each path prefix fails its own way, /ok serves the keys.
  const web = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/ok/jwks":
        return Response.json({ keys: [jwk] });
      case "/discovered/.well-known/openid-configuration":
        return Response.json({ jwks_uri: `${url.origin}/ok/jwks` });
      case "/unavailable/jwks":
        return new Response("unavailable", { status: 503 });
      case "/html/jwks":
        return new Response("<html></html>", { headers: { "content-type": "text/html" } });
      case "/keyless/jwks":
        return Response.json({ issuer: "keyless" });
      case "/hang/jwks":
        await released;
        return new Response(null, { status: 504 });
      default:
        return new Response("Not Found", { status: 404 });
    }
  });
  const origin = `http://127.0.0.1:${web.addr.port}`;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const failing: [what: string, url: string, jwksUri: string | undefined][] = [
    ["a refused connection", `${closed}/idp`, `${closed}/idp/jwks`],
    [
      "a name that does not resolve",
      "https://idp.example.invalid",
      "https://idp.example.invalid/jwks",
    ],
    ["an answer other than 200", `${origin}/unavailable`, `${origin}/unavailable/jwks`],
    ["an answer that is not JSON", `${origin}/html`, `${origin}/html/jwks`],
    ["a JWKS without keys", `${origin}/keyless`, `${origin}/keyless/jwks`],
    ["no discovery document", `${origin}/undiscoverable`, undefined],
    ["no answer", `${origin}/hang`, `${origin}/hang/jwks`],
  ];
  const working = [`${origin}/ok`, `${origin}/discovered`];
  const idpTimeoutMs = 300;
  try {
    await using server = await startStsAlone({
      roles: [{
        roleName: "external",
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: {
              Federated: working.map((url) =>
                `arn:aws:iam::${ACCOUNT}:oidc-provider/${url.replace("http://", "")}`
              ),
            },
            Action: "sts:AssumeRoleWithWebIdentity",
          }],
        },
      }],
      oidcProviders: [
        ...working.map((url) => ({
          url,
          clientIds: ["sts.amazonaws.com"],
          ...(url.endsWith("/ok") ? { jwksUri: `${url}/jwks` } : {}),
        })),
        ...failing.map(([, url, jwksUri]) => ({
          url,
          clientIds: ["sts.amazonaws.com"],
          ...(jwksUri ? { jwksUri } : {}),
        })),
      ],
    }, { idpTimeoutMs });
    const assume = async (issuer: string) => {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
        .setIssuer(issuer)
        .setSubject("repo:acme/app:ref:refs/heads/main")
        .setAudience("sts.amazonaws.com")
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(idpKeys.privateKey);
      return await sts(server.endpoint, {
        Action: "AssumeRoleWithWebIdentity",
        RoleArn: server.roleArn("external"),
        RoleSessionName: "idp",
        WebIdentityToken: token,
      });
    };
    for (const url of working) {
      const reply = await assume(url);
      assert.equal(reply.status, 200, `${url}: ${reply.body}`);
      assert.equal(field(reply.body, "Provider"), url);
    }
    for (const [what, url] of failing) {
      const started = performance.now();
      const reply = await assume(url);
      const elapsed = performance.now() - started;
      assert.equal(reply.code, "IDPCommunicationError", `${what}: ${reply.body}`);
      assert.equal(reply.status, 400, what);
      assert.match(
        field(reply.body, "Message"),
        /^Couldn&#39;t retrieve verification key from your identity provider \(.+\)$/,
        what,
      );
      assert.ok(elapsed < idpTimeoutMs + 1500, `${what}: answered after ${elapsed} ms`);
      if (what === "no answer") {
        assert.ok(elapsed >= idpTimeoutMs - 50, `${what}: answered after ${elapsed} ms`);
      }
    }
    assert.ok(
      server.log.some((line) =>
        line.endsWith(`could not be fetched: no answer within ${idpTimeoutMs} ms`)
      ),
      server.log.join("\n"),
    );
  } finally {
    release();
    await web.shutdown();
  }
});

Deno.test("STS: given TLS material it serves HTTPS with the emulator's CA, and no plain HTTP", async () => {
  const tls = await createTlsMaterial();
  await using server = await startStsAlone({}, { tls });
  assert.match(server.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  const request = async () => ({
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: server.roleArn("elasticache-iam-auth-app"),
      RoleSessionName: "https",
      WebIdentityToken: await server.oidc.mintToken({ sub: "tls", aud: "sts.amazonaws.com" }),
    }),
  });
  using client = Deno.createHttpClient({ caCerts: [tls.caCertPem] });
  const response = await fetch(server.endpoint, { ...await request(), client });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  assert.match(body, /^<AssumeRoleWithWebIdentityResponse /);
  assert.match(field(body, "AccessKeyId"), /^ASIA/);
  // Plain HTTP on the same port gets no answer, nor does a client that does not trust the CA.
  await assert.rejects(fetch(server.endpoint.replace(/^https:/, "http:"), await request()));
  await assert.rejects(fetch(server.endpoint, await request()));
});

Deno.test("startEmulator({ sts: { tls: true } }) serves STS over HTTPS with the CA it hands out; the gateway stays as configured", async () => {
  await using emu = await startEmulator({ sts: { tls: true } });
  assert.match(emu.sts.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(emu.sts.caCertPem ?? "", /^-----BEGIN CERTIFICATE-----/);
  assert.equal(emu.gateway.tls, false, "only the STS was asked for TLS");
  using client = Deno.createHttpClient({ caCerts: [emu.sts.caCertPem!] });
  const jwt = await emu.oidc.mintToken({ sub: "https-check", aud: "sts.amazonaws.com" });
  const response = await fetch(emu.sts.endpoint, {
    method: "POST",
    client,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: emu.roleArn(),
      RoleSessionName: "https-check",
      WebIdentityToken: jwt,
    }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(await response.text(), /<AccessKeyId>ASIA/);
});
