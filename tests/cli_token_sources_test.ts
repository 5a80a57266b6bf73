/**
 * The `token` command where workloads run: with a profile (`AWS_PROFILE`), an
 * `aws sso login` cache, container credentials (EKS Pod Identity) and EC2
 * instance metadata, each served by the emulator; each printed token
 * authenticates at the emulator's gateway.
 */

import assert from "node:assert/strict";
import {
  defaultTrustPolicy,
  type Emulator,
  SEED_POLICY,
  startEmulator,
} from "@elasticache-iam/emulator";
import { awsHome } from "./_helpers/aws_home.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const ACCOUNT = "123456789012";
const KEYS = { accessKeyId: "AKIAPROFILEKEY000001", secretAccessKey: "profile-secret-key" };

function start(): Promise<Emulator> {
  return startEmulator({
    log: () => {},
    iamUsers: [{ userName: "laptop", accessKeys: [KEYS], policies: [SEED_POLICY] }],
    roles: [{
      roleName: "elasticache-iam-auth-app",
      trustPolicy: defaultTrustPolicy(ACCOUNT),
      policies: [SEED_POLICY],
    }],
    sso: { roleNames: ["elasticache-iam-auth-app"] },
  });
}

/** Deno's cache, which would move with a temporary HOME. */
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;

/** Runs `token` for the seed cache with only `env` (no HOME, no keys unless given). */
async function token(env: Record<string, string>, region: string[] = ["--region", "us-east-1"]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "token",
      "--replication-group-id",
      "replication-group-01",
      "--user-id",
      "iam-user-01",
      ...region,
    ],
    env: { NO_COLOR: "1", DENO_DIR, AWS_EC2_METADATA_DISABLED: "true", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return new TextDecoder().decode(output.stdout).trim();
}

async function accepted(emu: Emulator, password: string): Promise<void> {
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", "iam-user-01", password), "OK");
}

Deno.test("token with AWS_PROFILE: static keys from the credentials file", async () => {
  await using emu = await start();
  await using home = await awsHome({
    credentials: `[laptop]\naws_access_key_id = ${KEYS.accessKeyId}\n` +
      `aws_secret_access_key = ${KEYS.secretAccessKey}\n`,
  });
  const printed = await token(home.env({ AWS_PROFILE: "laptop" }));
  assert.match(printed, new RegExp(`X-Amz-Credential=${KEYS.accessKeyId}%2F`));
  await accepted(emu, printed);
});

Deno.test("token without --region takes the profile's region, after AWS_REGION and AWS_DEFAULT_REGION", async () => {
  await using emu = await start();
  await using home = await awsHome({
    config: "[profile laptop]\nregion = us-east-1\n",
    credentials: `[laptop]\naws_access_key_id = ${KEYS.accessKeyId}\n` +
      `aws_secret_access_key = ${KEYS.secretAccessKey}\n`,
  });
  const printed = await token(home.env({ AWS_PROFILE: "laptop" }), []);
  assert.match(printed, /%2Fus-east-1%2Felasticache%2Faws4_request/);
  await accepted(emu, printed);
  const overridden = await token(home.env({ AWS_PROFILE: "laptop", AWS_REGION: "eu-west-1" }), []);
  assert.match(overridden, /%2Feu-west-1%2Felasticache%2Faws4_request/);
});

Deno.test("token with an aws sso login cache: GetRoleCredentials, then the token", async () => {
  await using emu = await start();
  await using home = await awsHome({
    config: [
      "[profile dev]",
      "sso_session = corp",
      `sso_account_id = ${emu.sso.accountId}`,
      "sso_role_name = elasticache-iam-auth-app",
      "[sso-session corp]",
      `sso_start_url = ${emu.sso.startUrl}`,
      `sso_region = ${emu.sso.region}`,
    ].join("\n"),
  });
  await emu.sso.login({ home: home.home, ssoSession: "corp" });
  const printed = await token(home.env({
    AWS_PROFILE: "dev",
    AWS_ENDPOINT_URL_SSO: emu.sso.endpoint,
    AWS_ENDPOINT_URL_SSO_OIDC: emu.sso.endpoint,
  }));
  assert.match(printed, /X-Amz-Security-Token=/);
  await accepted(emu, printed);
});

Deno.test("token in a container (EKS Pod Identity: full URI and token file)", async () => {
  await using emu = await start();
  await using home = await awsHome();
  const tokenFile = await home.write(
    "pod-identity-token",
    `${emu.containerCredentials.authorizationToken}\n`,
  );
  const printed = await token({
    AWS_CONTAINER_CREDENTIALS_FULL_URI: emu.containerCredentials.fullUri,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
  });
  await accepted(emu, printed);
});

Deno.test("token on an EC2 instance (IMDSv2)", async () => {
  await using emu = await start();
  const printed = await token({
    AWS_EC2_METADATA_DISABLED: "false",
    AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.instanceMetadata.endpoint,
  });
  await accepted(emu, printed);
});
