/**
 * The emulator's container credentials endpoint (ECS / EKS Pod Identity) and
 * EC2 instance metadata endpoint (IMDSv2) over real HTTP: what they answer
 * and refuse, that the STS credentials they hand out authenticate at the
 * gateway until they expire, their rotation on the emulator clock, their
 * configuration, and the emulator command's JSON line.
 */

import assert from "node:assert/strict";
import {
  type EmulatorConfig,
  type InstanceMetadataConfig,
  SEED_POLICY,
  startEmulator,
  WRONGPASS,
} from "../mod.ts";
import { createAuthToken } from "../../../src/token.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/";

async function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  const response = await fetch(url, { method, headers });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function imdsToken(endpoint: string, ttl = "21600"): Promise<string> {
  const answer = await get(
    `${endpoint}/latest/api/token`,
    { "x-aws-ec2-metadata-token-ttl-seconds": ttl },
    "PUT",
  );
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.headers.get("x-aws-ec2-metadata-token-ttl-seconds"), ttl);
  return answer.text;
}

/** Signs a token with `keys` and tries `AUTH` with it at the gateway. */
async function authWith(
  emu: Awaited<ReturnType<typeof startEmulator>>,
  keys: { AccessKeyId: string; SecretAccessKey: string; Token: string },
): Promise<unknown> {
  const token = await createAuthToken({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: {
      accessKeyId: keys.AccessKeyId,
      secretAccessKey: keys.SecretAccessKey,
      sessionToken: keys.Token,
    },
    signingDate: emu.clock.date(),
  });
  await using client = await RespTestClient.connect(emu.gateway);
  return await client.send("AUTH", "iam-user-01", token);
}

Deno.test("container endpoint: EKS Pod Identity's path needs the token it issued; ECS's path is a capability", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({ log: (line) => log.push(line) });
  const { fullUri, origin, relativeUri, authorizationToken, roleArn } = emu.containerCredentials;
  assert.match(origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(fullUri, `${origin}/v1/credentials`);
  assert.match(relativeUri, /^\/v2\/credentials\/[0-9a-f-]{36}$/);
  assert.equal(roleArn, emu.roleArn());

  for (
    const [headers, message] of [
      [{}, "The Authorization header is missing"],
      [
        { authorization: "not-the-token" },
        "The Authorization header is not the token this endpoint issued",
      ],
    ] as const
  ) {
    const refused = await get(fullUri, headers);
    assert.equal(refused.status, 401);
    assert.deepEqual(JSON.parse(refused.text), { Code: "AccessDenied", Message: message });
  }
  const answer = await get(fullUri, { authorization: authorizationToken });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("content-type"), "application/json");
  const body = JSON.parse(answer.text);
  assert.deepEqual(Object.keys(body).sort(), [
    "AccessKeyId",
    "AccountId",
    "Expiration",
    "RoleArn",
    "SecretAccessKey",
    "Token",
  ]);
  assert.equal(body.RoleArn, emu.roleArn());
  assert.equal(body.AccountId, emu.accountId);
  assert.match(body.AccessKeyId, /^ASIA/);
  assert.match(body.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const life = Date.parse(body.Expiration) - emu.clock.now();
  assert.ok(life > 6 * 3600_000 - 5000 && life <= 6 * 3600_000, `6 hours, got ${life} ms`);

  const viaEcs = JSON.parse((await get(`${origin}${relativeUri}`)).text);
  assert.equal(viaEcs.AccessKeyId, body.AccessKeyId, "the same credentials until rotation");
  assert.equal((await get(`${origin}/v2/credentials/${crypto.randomUUID()}`)).status, 404);
  assert.equal((await get(`${origin}/`)).status, 404);
  assert.equal((await get(fullUri, { authorization: authorizationToken }, "POST")).status, 405);

  assert.equal(await authWith(emu, body), "OK", "the gateway accepts them");
  emu.clock.advance(6 * 3600_000 + 1000);
  assert.equal(await authWith(emu, body), `-${WRONGPASS}`, "but not once they expired");

  const text = log.join("\n");
  assert.ok(text.includes(`container: issued ${body.AccessKeyId} for ${emu.roleArn()}`), text);
  assert.ok(text.includes("container: GET refused (HTTP 401): no Authorization header"), text);
  for (const secret of [authorizationToken, body.SecretAccessKey, body.Token, relativeUri]) {
    assert.ok(!text.includes(secret), "no secret and no capability path in the log");
  }
});

Deno.test("container endpoint: the same credentials until 15 minutes before they expire, then new ones", async () => {
  await using emu = await startEmulator();
  const { fullUri, authorizationToken } = emu.containerCredentials;
  const ask = async () =>
    JSON.parse((await get(fullUri, { authorization: authorizationToken })).text);
  const first = await ask();
  emu.clock.advance(Date.parse(first.Expiration) - emu.clock.now() - 15 * 60_000 - 5000);
  assert.equal((await ask()).AccessKeyId, first.AccessKeyId);
  emu.clock.advance(10_000);
  const second = await ask();
  assert.notEqual(second.AccessKeyId, first.AccessKeyId);
  assert.ok(Date.parse(second.Expiration) > Date.parse(first.Expiration));
  assert.equal(await authWith(emu, first), "OK", "the old ones still work until they expire");
  assert.equal(await authWith(emu, second), "OK");
});

Deno.test("IMDSv2: token PUT with a TTL, then the role name and its credentials, as EC2 answers", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({ log: (line) => log.push(line) });
  const { endpoint, roleName, roleArn } = emu.instanceMetadata;
  assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(roleName, "elasticache-iam-auth-app");
  assert.equal(roleArn, emu.roleArn());

  const token = await imdsToken(endpoint);
  assert.ok(token.length >= 40);
  const role = await get(`${endpoint}${CREDENTIALS_PATH}`, { "x-aws-ec2-metadata-token": token });
  assert.equal(role.status, 200);
  assert.equal(role.text, roleName);
  const answer = await get(`${endpoint}${CREDENTIALS_PATH}${roleName}`, {
    "x-aws-ec2-metadata-token": token,
  });
  assert.equal(answer.status, 200);
  const body = JSON.parse(answer.text);
  assert.deepEqual(Object.keys(body), [
    "Code",
    "LastUpdated",
    "Type",
    "AccessKeyId",
    "SecretAccessKey",
    "Token",
    "Expiration",
  ]);
  assert.equal(body.Code, "Success");
  assert.equal(body.Type, "AWS-HMAC");
  assert.equal(Date.parse(body.Expiration) - Date.parse(body.LastUpdated), 6 * 3600_000);
  assert.equal(await authWith(emu, body), "OK", "the gateway accepts them");

  const text = log.join("\n");
  assert.ok(text.includes(`imds: issued ${body.AccessKeyId} for ${emu.roleArn()}`), text);
  for (const secret of [token, body.SecretAccessKey, body.Token]) {
    assert.ok(!text.includes(secret), "no secret in the log");
  }
});

Deno.test("IMDSv2: 401 without a token, with an unknown one and with an expired one (emulator clock); bad token requests refused", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({ log: (line) => log.push(line) });
  const { endpoint, roleName } = emu.instanceMetadata;
  const roleUrl = `${endpoint}${CREDENTIALS_PATH}`;
  assert.equal((await get(roleUrl)).status, 401, "IMDSv1 (no token) is refused");
  assert.equal((await get(roleUrl, { "x-aws-ec2-metadata-token": "made-up" })).status, 401);

  const token = await imdsToken(endpoint, "60");
  assert.equal((await get(roleUrl, { "x-aws-ec2-metadata-token": token })).status, 200);
  emu.clock.advance(59_000);
  assert.equal((await get(roleUrl, { "x-aws-ec2-metadata-token": token })).status, 200);
  emu.clock.advance(1000);
  const expired = await get(roleUrl, { "x-aws-ec2-metadata-token": token });
  assert.equal(expired.status, 401);
  assert.equal(expired.text, "Unauthorized");

  for (const ttl of [undefined, "0", "21601", "ten"]) {
    const answer = await get(
      `${endpoint}/latest/api/token`,
      ttl === undefined ? {} : { "x-aws-ec2-metadata-token-ttl-seconds": ttl },
      "PUT",
    );
    assert.equal(answer.status, 400, `TTL ${ttl}`);
  }
  const forwarded = await get(
    `${endpoint}/latest/api/token`,
    { "x-aws-ec2-metadata-token-ttl-seconds": "60", "x-forwarded-for": "10.0.0.1" },
    "PUT",
  );
  assert.equal(forwarded.status, 403, "a token request through a proxy is refused, as on EC2");
  assert.equal(
    (await get(`${endpoint}/latest/api/token`)).status,
    405,
    "a token is asked with PUT",
  );

  const fresh = await imdsToken(endpoint);
  const withToken = { "x-aws-ec2-metadata-token": fresh };
  assert.equal((await get(`${roleUrl}another-role`, withToken)).status, 404);
  assert.equal((await get(`${endpoint}/latest/meta-data/instance-id`, withToken)).status, 404);
  assert.equal((await get(`${roleUrl}${roleName}`, withToken)).status, 200);

  const text = log.join("\n");
  assert.ok(text.includes("imds: GET refused (HTTP 401): an expired metadata token"), text);
  assert.ok(text.includes("imds: GET refused (HTTP 401): no X-aws-ec2-metadata-token"), text);
  assert.ok(!text.includes(fresh) && !text.includes(token), "no metadata token in the log");
});

Deno.test("configuration: each endpoint's role and port; unknown roles and keys, clashing ports refused by name", async () => {
  const roles: EmulatorConfig["roles"] = [
    {
      roleName: "web",
      trustPolicy: { Version: "2012-10-17", Statement: [] },
      policies: [SEED_POLICY],
    },
    {
      roleName: "worker",
      trustPolicy: { Version: "2012-10-17", Statement: [] },
      policies: [SEED_POLICY],
    },
  ];
  {
    await using emu = await startEmulator({
      roles,
      containerCredentials: { roleName: "worker" },
      instanceMetadata: { roleName: "web" },
    });
    assert.equal(emu.containerCredentials.roleArn, "arn:aws:iam::123456789012:role/worker");
    assert.equal(emu.instanceMetadata.roleName, "web");
    const { fullUri, authorizationToken } = emu.containerCredentials;
    const body = JSON.parse((await get(fullUri, { authorization: authorizationToken })).text);
    assert.equal(body.RoleArn, "arn:aws:iam::123456789012:role/worker");
    assert.equal(await authWith(emu, body), "OK");
  }
  await assert.rejects(
    startEmulator({ roles, containerCredentials: { roleName: "nobody" } }),
    {
      name: "TypeError",
      message:
        "Cannot start the emulator: 'containerCredentials.roleName' is 'nobody', which is not a configured role ('web', 'worker')",
    },
  );
  await assert.rejects(
    startEmulator({
      instanceMetadata: { prot: 1 } as unknown as InstanceMetadataConfig,
    }),
    {
      name: "TypeError",
      message:
        "Cannot start the emulator: unknown key 'prot' in 'instanceMetadata'; did you mean 'port'?",
    },
  );
  await assert.rejects(
    startEmulator({ sts: { port: 41_234 }, instanceMetadata: { port: 41_234 } }),
    {
      name: "TypeError",
      message:
        "Cannot start the emulator: 'sts.port' and 'instanceMetadata.port' both ask for port 41234; every endpoint needs its own port",
    },
  );
  await assert.rejects(
    startEmulator({ containerCredentials: { port: 70_000 } }),
    RangeError,
  );
  // A taken port is named with the option that asked for it.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(startEmulator({ containerCredentials: { port } }), {
      message:
        `Cannot start the emulator: the container credentials endpoint's port ${port} on 127.0.0.1 is in use; stop what listens there, or choose another port with 'containerCredentials.port' or leave it out for a free one`,
    });
  } finally {
    taken.close();
  }
  // With no role at all, both endpoints say so.
  await using bare = await startEmulator({ roles: [] });
  assert.equal(bare.containerCredentials.roleArn, undefined);
  const { fullUri, authorizationToken } = bare.containerCredentials;
  const noRole = await get(fullUri, { authorization: authorizationToken });
  assert.equal(noRole.status, 404);
  assert.equal(JSON.parse(noRole.text).Code, "NoRole");
  const token = await imdsToken(bare.instanceMetadata.endpoint);
  const noProfile = await get(`${bare.instanceMetadata.endpoint}${CREDENTIALS_PATH}`, {
    "x-aws-ec2-metadata-token": token,
  });
  assert.equal(noProfile.status, 404, "as EC2 answers an instance without an instance profile");
});

Deno.test("the emulator command's JSON line has both endpoints, and they work", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli.ts", import.meta.url).pathname, "emulator", "--quiet"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    const line = JSON.parse(text.slice(0, text.indexOf("\n")));
    const { containerCredentials, instanceMetadata } = line;
    assert.deepEqual(Object.keys(containerCredentials), [
      "fullUri",
      "authorizationToken",
      "relativeUri",
    ]);
    const body = JSON.parse(
      (await get(containerCredentials.fullUri, {
        authorization: containerCredentials.authorizationToken,
      })).text,
    );
    assert.match(body.AccessKeyId, /^ASIA/);
    const token = await imdsToken(instanceMetadata.endpoint);
    const role = await get(`${instanceMetadata.endpoint}${CREDENTIALS_PATH}`, {
      "x-aws-ec2-metadata-token": token,
    });
    assert.equal(role.text, "elasticache-iam-auth-app");
  } finally {
    child.kill("SIGTERM");
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
});
