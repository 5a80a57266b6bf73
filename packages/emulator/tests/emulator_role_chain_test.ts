/**
 * The emulator's STS `AssumeRole` from temporary credentials: role chains
 * (an IAM user's keys → a role → another role, each signed with the last
 * session's keys and token), the one-hour cap AWS puts on chained sessions,
 * `sts:ExternalId` in trust policies, and expired sessions refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { type PolicyDocument, SEED_POLICY, startEmulator } from "../mod.ts";
import { createAuthToken } from "../../../src/token.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

const ACCOUNT = "123456789012";
const DEVELOPER = {
  accessKeyId: "AKIACHAINDEV00000001",
  secretAccessKey: "chain-developer-secret",
};
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

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Posts a signed `AssumeRole`; answers the status, the error code or the credentials. */
async function assumeRole(
  endpoint: string,
  keys: Keys,
  params: Record<string, string>,
  datetime?: string,
): Promise<
  {
    status: number;
    code?: string;
    message?: string;
    keys?: Keys;
    arn?: string;
    expiration?: string;
  }
> {
  const response = await new AwsClient({ ...keys, service: "sts", region: "us-east-1" }).fetch(
    endpoint,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ Action: "AssumeRole", Version: "2011-06-15", ...params })
        .toString(),
      ...(datetime ? { aws: { datetime } } : {}),
    },
  );
  const body = await response.text();
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
  if (response.status !== 200) {
    return { status: response.status, code: field("Code")!, message: field("Message")! };
  }
  return {
    status: 200,
    keys: {
      accessKeyId: field("AccessKeyId")!,
      secretAccessKey: field("SecretAccessKey")!,
      sessionToken: field("SessionToken")!,
    },
    arn: field("Arn")!,
    expiration: field("Expiration")!,
  };
}

function startChainEmulator() {
  return startEmulator({
    iamUsers: [{ userName: "developer", accessKeys: [DEVELOPER] }],
    roles: [
      { roleName: "first", trustPolicy: trust(`arn:aws:iam::${ACCOUNT}:user/developer`) },
      {
        roleName: "second",
        trustPolicy: trust(`arn:aws:iam::${ACCOUNT}:role/first`),
        policies: [SEED_POLICY],
        maxSessionDuration: 7200,
      },
      {
        roleName: "partner",
        trustPolicy: trust(`arn:aws:iam::${ACCOUNT}:user/developer`, {
          StringEquals: { "sts:ExternalId": "partner-42" },
        }),
        policies: [SEED_POLICY],
      },
    ],
  });
}

Deno.test("AssumeRole chain of two: user keys → role 'first' → role 'second', whose session connects", async () => {
  await using emu = await startChainEmulator();
  const first = await assumeRole(emu.sts.endpoint, DEVELOPER, {
    RoleArn: emu.roleArn("first"),
    RoleSessionName: "hop-1",
  });
  assert.equal(first.status, 200, first.message);
  assert.equal(first.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/first/hop-1`);
  // The first role may not connect: it has no policy.
  const denied = await createAuthToken({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: first.keys!,
  });
  await using refused = await RespTestClient.connect(emu.gateway);
  assert.match(String(await refused.send("AUTH", "iam-user-01", denied)), /^-WRONGPASS /);

  const second = await assumeRole(emu.sts.endpoint, first.keys!, {
    RoleArn: emu.roleArn("second"),
    RoleSessionName: "hop-2",
    DurationSeconds: "3600",
  });
  assert.equal(second.status, 200, second.message);
  assert.equal(second.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/second/hop-2`);
  const token = await createAuthToken({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: second.keys!,
  });
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", "iam-user-01", token), "OK");

  // The second role does not trust the user's keys directly.
  const direct = await assumeRole(emu.sts.endpoint, DEVELOPER, {
    RoleArn: emu.roleArn("second"),
    RoleSessionName: "direct",
  });
  assert.equal(direct.code, "AccessDenied");
});

Deno.test("AssumeRole from a role session: at most one hour (AWS's role-chaining cap)", async () => {
  await using emu = await startChainEmulator();
  const first = await assumeRole(emu.sts.endpoint, DEVELOPER, {
    RoleArn: emu.roleArn("first"),
    RoleSessionName: "hop-1",
  });
  const long = await assumeRole(emu.sts.endpoint, first.keys!, {
    RoleArn: emu.roleArn("second"),
    RoleSessionName: "hop-2",
    DurationSeconds: "7200",
  });
  assert.equal(long.status, 400);
  assert.equal(long.code, "ValidationError");
  assert.equal(
    long.message,
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
  );
});

Deno.test("AssumeRole: a trust policy's sts:ExternalId condition, and a malformed ExternalId", async () => {
  await using emu = await startChainEmulator();
  const assume = (extra: Record<string, string>) =>
    assumeRole(emu.sts.endpoint, DEVELOPER, {
      RoleArn: emu.roleArn("partner"),
      RoleSessionName: "partner",
      ...extra,
    });
  assert.equal((await assume({ ExternalId: "partner-42" })).status, 200);
  assert.equal((await assume({ ExternalId: "partner-43" })).code, "AccessDenied");
  assert.equal((await assume({})).code, "AccessDenied");
  const malformed = await assume({ ExternalId: "x" });
  assert.equal(malformed.code, "ValidationError");
});

Deno.test("AssumeRole with an expired role session is refused ExpiredToken", async () => {
  await using emu = await startChainEmulator();
  const first = await assumeRole(emu.sts.endpoint, DEVELOPER, {
    RoleArn: emu.roleArn("first"),
    RoleSessionName: "hop-1",
    DurationSeconds: "900",
  });
  emu.clock.advance(901_000);
  const datetime = emu.clock.date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const late = await assumeRole(emu.sts.endpoint, first.keys!, {
    RoleArn: emu.roleArn("second"),
    RoleSessionName: "hop-2",
  }, datetime);
  assert.equal(late.status, 403);
  assert.equal(late.code, "ExpiredToken");
});
