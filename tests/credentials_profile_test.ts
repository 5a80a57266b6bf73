/**
 * The shared config and credentials files (src/credentials/shared_config.ts,
 * profile.ts) and the signed STS `AssumeRole` of role chains
 * (sts_assume_role.ts): parsing as the AWS SDKs parse; static keys, a
 * two-hop source_profile chain, credential_source Environment, external_id
 * and web_identity_token_file, each from a temporary HOME through the
 * emulator's STS to a connection through its gateway; absence (falls
 * through, saying what was looked for); failures as CredentialsErrors that
 * name the profile and hold no secret.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  defaultTrustPolicy,
  type Emulator,
  type PolicyDocument,
  SEED_POLICY,
  startEmulator,
} from "@elasticache-iam/emulator";
import { CredentialsError } from "../src/errors.ts";
import { fromProfile, profileCredentialsSource } from "../src/credentials/profile.ts";
import { loadSharedConfig, parseIni, regionFromProfile } from "../src/credentials/shared_config.ts";
import { roleAssumer } from "../src/credentials/sts_assume_role.ts";
import { stsClient, stsEndpointFor } from "../src/credentials/sts_web_identity.ts";
import { assertNoSecret, awsHome, connectThroughGateway } from "./_helpers/aws_home.ts";

const ACCOUNT = "123456789012";
const DEVELOPER = { accessKeyId: "AKIAPROFILEDEV000001", secretAccessKey: "developer-secret-0001" };
const OUTSIDER = { accessKeyId: "AKIAPROFILEOUT000001", secretAccessKey: "outsider-secret-0001" };
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/developer`;
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const trust = (
  principal: string,
  condition?: Record<string, Record<string, string>>,
): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow",
    Principal: { AWS: principal },
    Action: "sts:AssumeRole",
    ...(condition ? { Condition: condition } : {}),
  }],
});

/** An emulator with an IAM user, a two-role chain, a role needing an external id, and the web identity role. */
function startProfileEmulator(log: string[] = []): Promise<Emulator> {
  return startEmulator({
    log: (line) => log.push(line),
    iamUsers: [
      { userName: "developer", accessKeys: [DEVELOPER], policies: [SEED_POLICY] },
      { userName: "outsider", accessKeys: [OUTSIDER] },
    ],
    roles: [
      {
        roleName: "elasticache-iam-auth-app",
        trustPolicy: defaultTrustPolicy(ACCOUNT),
        policies: [SEED_POLICY],
      },
      // The first hop may not connect: only the second, assumed from it, may.
      { roleName: "first-hop", trustPolicy: trust(USER_ARN) },
      {
        roleName: "second-hop",
        trustPolicy: trust(roleArn("first-hop")),
        policies: [SEED_POLICY],
        maxSessionDuration: 7200,
      },
      { roleName: "developer-role", trustPolicy: trust(USER_ARN), policies: [SEED_POLICY] },
      {
        roleName: "partner",
        trustPolicy: trust(USER_ARN, { StringEquals: { "sts:ExternalId": "partner-42" } }),
        policies: [SEED_POLICY],
      },
    ],
  });
}

async function rejection(promise: Promise<unknown>): Promise<CredentialsError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof CredentialsError, `a CredentialsError, got ${error}`);
  return error;
}

// ------------------------------------------------------------------ parsing

Deno.test("parseIni: the SDK's syntax (comments, sub-sections, lowercased names), botocore's continuations", () => {
  const sections = parseIni(
    [
      "# a comment",
      "[profile dev] ; a comment after a header",
      "Region = eu-west-1 # a comment after a value",
      "s3 =",
      "  max_concurrent_requests = 20",
      "  addressing_style = path",
      "output = json",
      "credential_process = /opt/bin/creds",
      "  --profile dev",
      "url = https://example.com/#fragment",
      "",
      "[sso-session corp]",
      "sso_region=us-east-1",
    ].join("\r\n"),
    "config",
  );
  assert.deepEqual({ ...sections.get("profile dev") }, {
    region: "eu-west-1",
    "s3.max_concurrent_requests": "20",
    "s3.addressing_style": "path",
    output: "json",
    credential_process: "/opt/bin/creds\n--profile dev",
    url: "https://example.com/#fragment",
  });
  assert.deepEqual({ ...sections.get("sso-session corp") }, { sso_region: "us-east-1" });
});

Deno.test("parseIni refuses what botocore refuses, naming the file and line but never the line's text", () => {
  for (
    const [text, line, what] of [
      ["aws_access_key_id = AKIAOUTSIDE\n[default]\n", 1, /before any \[section\]/],
      ["[default]\nwJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n", 2, /neither a \[section\]/],
      ["[default\nregion = us-east-1\n", 1, /does not close/],
      ["[default]\n= value\n", 2, /without a name/],
    ] as const
  ) {
    assert.throws(
      () => parseIni(text, "/home/me/.aws/credentials"),
      (error: Error) => {
        assert.ok(error instanceof CredentialsError);
        assert.match(error.message, new RegExp(`/home/me/\\.aws/credentials: line ${line} `));
        assert.match(error.message, what);
        assertNoSecret(error.message, ["AKIAOUTSIDE", "wJalrXUtnFEMI"]);
        return true;
      },
    );
  }
});

Deno.test("the two files: [profile x] in config, [x] in credentials, credentials winning key by key", async () => {
  await using home = await awsHome({
    config: [
      "[default]",
      "region = us-west-2",
      "[profile default]",
      "region = eu-west-1",
      "[dev]", // not a profile in the config file
      "region = ap-south-1",
      "[profile dev]",
      "region = eu-central-1",
      "aws_access_key_id = AKIAFROMCONFIG",
      "aws_secret_access_key = from-config",
      "[sso-session corp]",
      "sso_region = us-east-1",
      "[services local]",
      "sts =",
      "  endpoint_url = http://127.0.0.1:1",
    ].join("\n"),
    credentials: "[dev]\naws_access_key_id = AKIAFROMCREDENTIALS\n",
  });
  const config = await loadSharedConfig({ env: home.env({ AWS_PROFILE: "dev" }) });
  assert.equal(config.profileName, "dev");
  assert.equal(config.profileFrom, "AWS_PROFILE");
  assert.deepEqual({ ...config.profile }, {
    region: "eu-central-1",
    aws_access_key_id: "AKIAFROMCREDENTIALS",
    aws_secret_access_key: "from-config",
  });
  assert.deepEqual(config.profileFiles.get("dev"), [home.configFile, home.credentialsFile]);
  assert.equal(config.profiles.get("default")?.["region"], "eu-west-1", "[profile default] wins");
  assert.deepEqual([...config.ssoSessions.keys()], ["corp"]);
  assert.equal(config.services.get("local")?.["sts.endpoint_url"], "http://127.0.0.1:1");
});

Deno.test("regionFromProfile: the profile in use's region, for the region fallback", async () => {
  await using home = await awsHome({
    config: "[default]\nregion = eu-west-3\n[profile dev]\nregion = ap-southeast-2\n",
  });
  assert.equal(regionFromProfile({ env: home.env() }), "eu-west-3");
  assert.equal(regionFromProfile({ env: home.env({ AWS_PROFILE: "dev" }) }), "ap-southeast-2");
  assert.equal(regionFromProfile({ env: home.env(), profile: "missing" }), undefined);
  // `~/` in AWS_CONFIG_FILE is the home directory.
  assert.equal(
    regionFromProfile({ env: { HOME: home.home, AWS_CONFIG_FILE: "~/.aws/config" } }),
    "eu-west-3",
  );
  assert.equal(regionFromProfile({ env: { HOME: `${home.home}/nowhere` } }), undefined);
});

// ------------------------------------------------------------------ success, end to end

Deno.test("static keys from the credentials file: IamAuth connects through the gateway", async () => {
  await using emu = await startProfileEmulator();
  await using home = await awsHome({
    config: "[profile dev]\nregion = us-east-1\n",
    credentials: [
      "[default]",
      `aws_access_key_id = ${OUTSIDER.accessKeyId}`,
      `aws_secret_access_key = ${OUTSIDER.secretAccessKey}`,
      "[dev]",
      `aws_access_key_id = ${DEVELOPER.accessKeyId}`,
      `aws_secret_access_key = ${DEVELOPER.secretAccessKey}`,
    ].join("\n"),
  });
  const env = home.env({ AWS_PROFILE: "dev" });
  const check = profileCredentialsSource({ env });
  assert.equal(check.configured, true);
  assert.equal(
    check.lookedFor,
    `the AWS shared files (profile 'dev' (AWS_PROFILE) in ${home.configFile} and ${home.credentialsFile}: static keys)`,
  );
  const credentials = fromProfile({ env });
  assert.deepEqual(await credentials(), DEVELOPER);
  await connectThroughGateway(emu, credentials);
});

Deno.test("static keys with a session token, from the config file", async () => {
  await using emu = await startEmulator({
    iamUsers: [{
      userName: "temporary",
      policies: [SEED_POLICY],
      temporaryCredentials: [{
        accessKeyId: "ASIAPROFILETEMP00001",
        secretAccessKey: "temporary-secret",
        sessionToken: "temporary-session-token",
      }],
    }],
  });
  await using home = await awsHome({
    config: [
      "[profile temp]",
      "aws_access_key_id = ASIAPROFILETEMP00001",
      "aws_secret_access_key = temporary-secret",
      "aws_session_token = temporary-session-token",
    ].join("\n"),
  });
  const credentials = fromProfile({ profile: "temp", env: home.env() });
  assert.equal((await credentials()).sessionToken, "temporary-session-token");
  await connectThroughGateway(emu, credentials);
});

Deno.test("a source_profile chain of two roles: static keys → first-hop → second-hop, each AssumeRole signed by the last", async () => {
  const log: string[] = [];
  await using emu = await startProfileEmulator(log);
  await using home = await awsHome({
    config: [
      "[profile app]",
      `role_arn = ${roleArn("second-hop")}`,
      "source_profile = first",
      "role_session_name = app-session",
      "duration_seconds = 3600",
      "[profile first]",
      `role_arn = ${roleArn("first-hop")}`,
      "source_profile = base",
      "role_session_name = first-session",
    ].join("\n"),
    credentials: [
      "[base]",
      `aws_access_key_id = ${DEVELOPER.accessKeyId}`,
      `aws_secret_access_key = ${DEVELOPER.secretAccessKey}`,
    ].join("\n"),
  });
  const env = home.env({ AWS_PROFILE: "app", AWS_ENDPOINT_URL_STS: emu.sts.endpoint });
  assert.match(profileCredentialsSource({ env }).lookedFor, /role_arn with source_profile 'first'/);
  const credentials = fromProfile({ env, now: () => emu.clock.now() });
  const resolved = await credentials();
  assert.match(resolved.accessKeyId, /^ASIA/);
  assert.ok(resolved.sessionToken);
  const life = resolved.expiration!.getTime() - emu.clock.now();
  assert.ok(life > 3500_000 && life <= 3600_000, `duration_seconds honoured, got ${life} ms`);
  const issued = log.filter((line) => line.includes("AssumeRole issued"));
  assert.equal(issued.length, 2);
  assert.match(issued[0]!, /role\/first-hop session 'first-session'/);
  assert.match(issued[1]!, /role\/second-hop session 'app-session'/);
  assert.equal(await credentials(), resolved, "cached until shortly before they expire");
  await connectThroughGateway(emu, credentials);
});

Deno.test("credential_source = Environment, with external_id, and a profile naming itself as source_profile", async () => {
  const log: string[] = [];
  await using emu = await startProfileEmulator(log);
  await using home = await awsHome({
    config: [
      "[profile from-env]",
      `role_arn = ${roleArn("partner")}`,
      "credential_source = Environment",
      "external_id = partner-42",
      "[profile self]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = self",
      `aws_access_key_id = ${DEVELOPER.accessKeyId}`,
      `aws_secret_access_key = ${DEVELOPER.secretAccessKey}`,
      "[profile wrong-id]",
      `role_arn = ${roleArn("partner")}`,
      "credential_source = Environment",
      "external_id = partner-43",
    ].join("\n"),
  });
  const env = home.env({
    AWS_ENDPOINT_URL_STS: emu.sts.endpoint,
    AWS_ACCESS_KEY_ID: DEVELOPER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEVELOPER.secretAccessKey,
  });
  const fromEnvironment = fromProfile({ profile: "from-env", env });
  await connectThroughGateway(emu, fromEnvironment);
  assert.ok(log.some((line) => /AssumeRole issued .*:role\/partner /.test(line)));

  await connectThroughGateway(emu, fromProfile({ profile: "self", env }), "self");

  const error = await rejection(fromProfile({ profile: "wrong-id", env })());
  assert.match(
    error.message,
    /^Cannot get AWS credentials from profile 'wrong-id' \(the 'profile' option\): cannot assume role arn:aws:iam::123456789012:role\/partner: STS answered AccessDenied \(HTTP 403\)/,
  );
  assertNoSecret(error.message, [DEVELOPER.secretAccessKey]);
});

Deno.test("web_identity_token_file and role_arn in a profile: STS AssumeRoleWithWebIdentity", async () => {
  await using emu = await startProfileEmulator();
  await using home = await awsHome();
  const tokenFile = await home.write(
    "token",
    await emu.oidc.mintToken({ sub: "profile-test", aud: "sts.amazonaws.com" }),
  );
  await home.write(
    ".aws/config",
    `[default]\nrole_arn = ${emu.roleArn()}\nweb_identity_token_file = ${tokenFile}\n` +
      `role_session_name = from-profile\nregion = ${emu.region}\n`,
  );
  const env = home.env({ AWS_ENDPOINT_URL_STS: emu.sts.endpoint });
  assert.match(profileCredentialsSource({ env }).lookedFor, /: web_identity_token_file\)$/);
  const credentials = fromProfile({ env, now: () => emu.clock.now() });
  assert.match((await credentials()).accessKeyId, /^ASIA/);
  await connectThroughGateway(emu, credentials);
});

// ------------------------------------------------------------------ absence

Deno.test("absence: no files, no such profile, a profile without credentials → not configured, saying what was looked for", async () => {
  await using home = await awsHome();
  let check = profileCredentialsSource({ env: home.env() });
  assert.deepEqual(check, {
    configured: false,
    lookedFor:
      `the AWS shared files (profile 'default' is in neither ${home.configFile} (no such file) nor ${home.credentialsFile} (no such file))`,
  });
  await home.write(
    ".aws/config",
    "[default]\nregion = us-east-1\n[profile sso-token-only]\nsso_session = corp\n",
  );
  check = profileCredentialsSource({ env: home.env({ AWS_PROFILE: "dev" }) });
  assert.equal(check.configured, false);
  assert.match(
    check.lookedFor,
    /profile 'dev' \(AWS_PROFILE\) is in neither .*config nor .*credentials \(no such file\)/,
  );
  check = profileCredentialsSource({ env: home.env() });
  assert.equal(check.configured, false);
  assert.equal(
    check.lookedFor,
    `the AWS shared files (profile 'default' in ${home.configFile} has no credentials settings)`,
  );
  // A profile with an sso_session but no account or role: botocore's SSO provider passes it by.
  assert.equal(
    profileCredentialsSource({ env: home.env(), profile: "sso-token-only" }).configured,
    false,
  );
  // Called anyway, the provider says the same.
  const error = await rejection(fromProfile({ env: home.env({ AWS_PROFILE: "dev" }) })());
  assert.match(
    error.message,
    /^Cannot get AWS credentials from the shared files: profile 'dev' \(AWS_PROFILE\) is in neither /,
  );
  const none = await rejection(fromProfile({ env: home.env() })());
  assert.match(
    none.message,
    /profile 'default': has no credentials: no aws_access_key_id, role_arn/,
  );
});

Deno.test("absence: a Deno process that may not read the files falls through", async () => {
  await using home = await awsHome({ config: "[default]\nregion = us-east-1\n" });
  const script = await home.write(
    "probe.ts",
    `import { profileCredentialsSource } from ${
      JSON.stringify(new URL("../src/credentials/profile.ts", import.meta.url).href)
    };
console.log(JSON.stringify(profileCredentialsSource({ env: { HOME: ${
      JSON.stringify(home.home)
    } } })));`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const answer = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual(answer, {
    configured: false,
    lookedFor:
      "the AWS shared files (this Deno process may not read them: run it with --allow-read)",
  });
});

// ------------------------------------------------------------------ failures

Deno.test("failures name the profile and chain, never a secret", async (t) => {
  const log: string[] = [];
  await using emu = await startProfileEmulator(log);
  await using home = await awsHome({
    config: [
      "[profile missing-source]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = nowhere",
      "[profile cycle-a]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = cycle-b",
      "[profile cycle-b]",
      `role_arn = ${roleArn("first-hop")}`,
      "source_profile = cycle-a",
      "[profile both]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = base",
      "credential_source = Environment",
      "[profile neither]",
      `role_arn = ${roleArn("developer-role")}`,
      "[profile unknown-source]",
      `role_arn = ${roleArn("developer-role")}`,
      "credential_source = Laptop",
      "[profile half]",
      `aws_access_key_id = ${DEVELOPER.accessKeyId}`,
      "[profile refused]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = outsider",
      "[profile long-chain]",
      `role_arn = ${roleArn("second-hop")}`,
      "source_profile = first",
      "duration_seconds = 7200",
      "[profile first]",
      `role_arn = ${roleArn("first-hop")}`,
      "source_profile = base",
      "[profile bad-duration]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = base",
      "duration_seconds = an hour",
      "[profile mfa]",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = base",
      "mfa_serial = arn:aws:iam::123456789012:mfa/developer",
    ].join("\n"),
    credentials: [
      "[base]",
      `aws_access_key_id = ${DEVELOPER.accessKeyId}`,
      `aws_secret_access_key = ${DEVELOPER.secretAccessKey}`,
      "[outsider]",
      `aws_access_key_id = ${OUTSIDER.accessKeyId}`,
      `aws_secret_access_key = ${OUTSIDER.secretAccessKey}`,
    ].join("\n"),
  });
  const env = home.env({ AWS_ENDPOINT_URL_STS: emu.sts.endpoint });
  const fails = async (profile: string, pattern: RegExp) => {
    assert.equal(profileCredentialsSource({ env, profile }).configured, true, profile);
    const error = await rejection(fromProfile({ env, profile, now: () => emu.clock.now() })());
    assert.match(error.message, pattern);
    assert.ok(
      error.message.startsWith(`Cannot get AWS credentials from profile '${profile}'`),
      error.message,
    );
    assertNoSecret(error.message, [DEVELOPER.secretAccessKey, OUTSIDER.secretAccessKey]);
    return error;
  };
  await t.step("a missing source_profile", async () => {
    await fails(
      "missing-source",
      /names source_profile 'nowhere', which is in neither .*config nor .*credentials$/,
    );
  });
  await t.step("a cycle", async () => {
    await fails(
      "cycle-a",
      /its source_profile 'cycle-b' \(cycle-a → cycle-b\) makes a source_profile cycle: cycle-a → cycle-b → cycle-a$/,
    );
  });
  await t.step(
    "both or neither of source_profile and credential_source, an unknown credential_source",
    async () => {
      await fails("both", /has both source_profile and credential_source; keep one$/);
      await fails("neither", /has role_arn without source_profile or credential_source$/);
      await fails(
        "unknown-source",
        /has credential_source 'Laptop'; it must be one of Environment, Ec2InstanceMetadata, EcsContainer$/,
      );
    },
  );
  await t.step("an access key id without its secret", async () => {
    await fails("half", /has aws_access_key_id without aws_secret_access_key$/);
  });
  await t.step("credential_source Environment with no keys in the environment", async () => {
    const configFile = await home.write(
      "env-only",
      `[profile x]\nrole_arn = ${roleArn("partner")}\ncredential_source = Environment\n`,
    );
    const error = await rejection(fromProfile({ profile: "x", env: home.env(), configFile })());
    assert.match(
      error.message,
      /^Cannot get AWS credentials from profile 'x' \(the 'profile' option\): credential_source Environment: Cannot read AWS credentials from the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is not set$/,
    );
  });
  await t.step("STS refuses: AccessDenied, with STS's message", async () => {
    await fails(
      "refused",
      /cannot assume role arn:aws:iam::123456789012:role\/developer-role: STS answered AccessDenied \(HTTP 403\): User: arn:aws:iam::123456789012:user\/outsider is not authorized/,
    );
  });
  await t.step("STS refuses more than an hour for a role chain", async () => {
    await fails(
      "long-chain",
      /STS answered ValidationError \(HTTP 400\): The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining/,
    );
  });
  await t.step("a malformed duration_seconds, an MFA profile without a code provider", async () => {
    await fails("bad-duration", /has duration_seconds 'an hour'; it must be a whole number/);
    await fails(
      "mfa",
      /needs an MFA code \(mfa_serial\), and no 'mfaCodeProvider' option was given$/,
    );
  });
  await t.step(
    "a file that cannot be parsed counts as configured, and its error is reported",
    async () => {
      await using broken = await awsHome({ credentials: "[default]\nthis is not a setting\n" });
      const check = profileCredentialsSource({ env: broken.env() });
      assert.equal(check.configured, true);
      assert.match(
        check.lookedFor,
        /line 2 is neither a \[section\] header nor a 'name = value' setting/,
      );
      const error = await rejection(fromProfile({ env: broken.env() })());
      assert.equal(
        error.message,
        `Cannot read the AWS shared file ${broken.credentialsFile}: line 2 is neither a [section] header nor a 'name = value' setting`,
      );
    },
  );
  assert.ok(!log.join("\n").includes(DEVELOPER.secretAccessKey));
});

// ------------------------------------------------------------------ STS AssumeRole, unit

Deno.test("roleAssumer: the form and SigV4 headers it posts, at the global endpoint when asked", async () => {
  const sent: { url: string; headers: Record<string, string>; body: string }[] = [];
  const assume = roleAssumer({
    region: "eu-west-1",
    useGlobalEndpoint: true,
    now: () => Date.parse("2026-11-23T12:00:00Z"),
    send: (url, request) => {
      sent.push({ url: url.href, headers: { ...request.headers }, body: request.body ?? "" });
      return Promise.resolve({
        status: 200,
        header: () => null,
        text: "<AssumeRoleResponse><AssumeRoleResult><Credentials>" +
          "<AccessKeyId>ASIAASSUMED</AccessKeyId><SecretAccessKey>s</SecretAccessKey>" +
          "<SessionToken>t</SessionToken><Expiration>2026-11-23T13:00:00Z</Expiration>" +
          "</Credentials><AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/r/s</Arn>" +
          "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>",
      });
    },
  });
  const credentials = await assume(
    { accessKeyId: "ASIASOURCE", secretAccessKey: "source-secret", sessionToken: "source-token" },
    { RoleArn: roleArn("r"), RoleSessionName: "s", ExternalId: "x-1", DurationSeconds: 900 },
  );
  assert.deepEqual(credentials, {
    accessKeyId: "ASIAASSUMED",
    secretAccessKey: "s",
    sessionToken: "t",
    expiration: new Date("2026-11-23T13:00:00Z"),
    accountId: "210987654321",
  });
  const [request] = sent;
  assert.equal(request!.url, "https://sts.amazonaws.com/");
  assert.equal(
    request!.body,
    "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s&DurationSeconds=900&ExternalId=x-1",
  );
  assert.equal(request!.headers["x-amz-date"], "20261123T120000Z");
  assert.equal(request!.headers["x-amz-security-token"], "source-token");
  assert.match(
    request!.headers["authorization"]!,
    /^AWS4-HMAC-SHA256 Credential=ASIASOURCE\/20261123\/us-east-1\/sts\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
  );
  assert.match(request!.headers["user-agent"]!, /^elasticache-iam-connector sts-assume-role/);
});

Deno.test("STS endpoints: regional by default, global only for legacy regions with sts_regional_endpoints = legacy", () => {
  assert.equal(stsEndpointFor("eu-west-1"), "https://sts.eu-west-1.amazonaws.com");
  assert.equal(
    stsEndpointFor("eu-west-1", { useGlobalEndpoint: true }),
    "https://sts.amazonaws.com",
  );
  assert.equal(
    stsEndpointFor("eu-south-1", { useGlobalEndpoint: true }),
    "https://sts.eu-south-1.amazonaws.com",
  );
  assert.equal(
    stsEndpointFor("us-east-1", { useGlobalEndpoint: true, useFipsEndpoint: true }),
    "https://sts-fips.us-east-1.amazonaws.com",
  );
  assert.equal(stsClient({ region: "eu-west-1" }, "test").signingRegion, "eu-west-1");
  assert.equal(
    stsClient({ region: "eu-west-1", useGlobalEndpoint: true }, "test").signingRegion,
    "us-east-1",
  );
});

Deno.test("fromProfile's STS: the profile's services section, sts_regional_endpoints, and waitingFor()", async () => {
  await using home = await awsHome({
    config: [
      "[default]",
      "region = eu-west-1",
      "sts_regional_endpoints = legacy",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = base",
      "[profile local]",
      "services = local-sts",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = base",
      "[services local-sts]",
      "sts =",
      "  endpoint_url = http://127.0.0.1:9",
      "[profile bad-regional]",
      "sts_regional_endpoints = sometimes",
      `role_arn = ${roleArn("developer-role")}`,
      "source_profile = base",
    ].join("\n"),
    credentials: "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n",
  });
  // Waiting at the STS: the provider says where.
  const hang = (profile: string) => {
    const provider = fromProfile({ env: home.env(), profile, timeout: 200 });
    return provider;
  };
  const cases: [string, string][] = [
    ["default", "https://sts.amazonaws.com"],
    ["local", "http://127.0.0.1:9"],
  ];
  for (const [profile, origin] of cases) {
    const provider = hang(profile);
    const call = provider().catch((error) => error);
    let waiting = await provider.waitingFor();
    for (let i = 0; i < 200 && !waiting.includes("STS"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      waiting = await provider.waitingFor();
    }
    assert.equal(waiting, `profile '${profile}': STS at ${origin}`);
    const error = await call;
    assert.ok(error instanceof CredentialsError);
  }
  const error = await rejection(fromProfile({ env: home.env(), profile: "bad-regional" })());
  assert.match(
    error.message,
    /sts_regional_endpoints \(or AWS_STS_REGIONAL_ENDPOINTS\) must be 'legacy' or 'regional', got 'sometimes'/,
  );
});
