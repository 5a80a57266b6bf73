/**
 * The emulator's IAM Identity Center (src/sso_server.ts): `sso.login()`
 * writes the token cache `aws sso login` writes; the portal's
 * `GetRoleCredentials` answers the SSO JSON shape with STS credentials the
 * gateway accepts, and refuses missing, unknown or expired tokens (401) and
 * roles it does not offer (403); SSO OIDC's `CreateToken` refreshes with a
 * refresh token it issued, once; the `sso` section is checked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Emulator, startEmulator } from "../mod.ts";
import { createAuthToken } from "../../../src/token.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function getRoleCredentials(
  emu: Emulator,
  token: string | undefined,
  roleName = "elasticache-iam-auth-app",
  accountId = emu.accountId,
) {
  const url = new URL("/federation/credentials", emu.sso.endpoint);
  url.searchParams.set("role_name", roleName);
  url.searchParams.set("account_id", accountId);
  return fetch(url, { headers: token === undefined ? {} : { "x-amz-sso_bearer_token": token } });
}

async function errorOf(response: Response): Promise<[number, string | null, string]> {
  const body = await response.json();
  return [response.status, response.headers.get("x-amzn-errortype"), body.message ?? body.error];
}

Deno.test("sso.login writes the token cache; GetRoleCredentials answers role credentials the gateway accepts", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({ log: (line) => log.push(line) });
  const home = await Deno.makeTempDir({ prefix: "sso-home-" });
  try {
    const login = await emu.sso.login({ home, ssoSession: "corp" });
    assert.equal(login.path, `${home}/.aws/sso/cache/${await sha1("corp")}.json`);
    const cache = JSON.parse(await Deno.readTextFile(login.path));
    assert.deepEqual(Object.keys(cache).sort(), [
      "accessToken",
      "clientId",
      "clientSecret",
      "expiresAt",
      "refreshToken",
      "region",
      "registrationExpiresAt",
      "startUrl",
    ]);
    assert.equal(cache.accessToken, login.accessToken);
    assert.equal(cache.startUrl, emu.sso.startUrl);
    assert.equal(Date.parse(cache.expiresAt), login.expiresAt.getTime());
    assert.equal((await Deno.stat(login.path)).mode! & 0o777, 0o600);
    const legacy = await emu.sso.login({ home });
    assert.equal(legacy.path, `${home}/.aws/sso/cache/${await sha1(emu.sso.startUrl)}.json`);
    assert.equal(JSON.parse(await Deno.readTextFile(legacy.path)).refreshToken, undefined);

    const response = await getRoleCredentials(emu, login.accessToken);
    assert.equal(response.status, 200);
    const { roleCredentials } = await response.json();
    assert.match(roleCredentials.accessKeyId, /^ASIA/);
    assert.equal(typeof roleCredentials.expiration, "number");
    assert.equal(roleCredentials.expiration - emu.clock.now() <= 3600_000, true);
    const token = await createAuthToken({
      replicationGroupId: "replication-group-01",
      userId: "iam-user-01",
      region: emu.region,
      credentials: {
        accessKeyId: roleCredentials.accessKeyId,
        secretAccessKey: roleCredentials.secretAccessKey,
        sessionToken: roleCredentials.sessionToken,
      },
    });
    await using client = await RespTestClient.connect(emu.gateway);
    assert.equal(await client.send("AUTH", "iam-user-01", token), "OK");
    assert.ok(
      log.some((line) =>
        /^sso: GetRoleCredentials issued ASIA\w+ for arn:aws:iam::123456789012:role\/elasticache-iam-auth-app$/
          .test(line)
      ),
    );
    assert.ok(!log.join("\n").includes(login.accessToken), "no access token in the log");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("GetRoleCredentials refuses: no token, an unknown or expired one (401), a role or account not offered (403)", async () => {
  await using emu = await startEmulator({
    roles: [
      { roleName: "offered", trustPolicy: { Version: "2012-10-17", Statement: [] } },
      { roleName: "hidden", trustPolicy: { Version: "2012-10-17", Statement: [] } },
    ],
    sso: { roleNames: ["offered"] },
  });
  assert.deepEqual(emu.sso.roleNames, ["offered"]);
  const home = await Deno.makeTempDir({ prefix: "sso-home-" });
  try {
    const { accessToken } = await emu.sso.login({ home, expiresInSeconds: 60 });
    const unauthorized = [401, "UnauthorizedException", "Session token not found or invalid"];
    assert.deepEqual(
      await errorOf(await getRoleCredentials(emu, undefined, "offered")),
      unauthorized,
    );
    assert.deepEqual(
      await errorOf(await getRoleCredentials(emu, "made-up", "offered")),
      unauthorized,
    );
    assert.deepEqual(
      await errorOf(await getRoleCredentials(emu, accessToken, "hidden")),
      [403, "ForbiddenException", "No access"],
    );
    assert.deepEqual(
      await errorOf(await getRoleCredentials(emu, accessToken, "offered", "210987654321")),
      [403, "ForbiddenException", "No access"],
    );
    assert.equal((await getRoleCredentials(emu, accessToken, "offered")).status, 200);
    emu.clock.advance(61_000);
    assert.deepEqual(
      await errorOf(await getRoleCredentials(emu, accessToken, "offered")),
      unauthorized,
    );
    const missing = await fetch(new URL("/federation/credentials", emu.sso.endpoint), {
      headers: { "x-amz-sso_bearer_token": accessToken },
    });
    assert.equal((await errorOf(missing))[1], "InvalidRequestException");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("CreateToken refreshes with the refresh token it issued, once; others get InvalidGrantException", async () => {
  await using emu = await startEmulator();
  const home = await Deno.makeTempDir({ prefix: "sso-home-" });
  try {
    const login = await emu.sso.login({ home, ssoSession: "corp" });
    const cache = JSON.parse(await Deno.readTextFile(login.path));
    const createToken = (body: Record<string, unknown>) =>
      fetch(new URL("/token", emu.sso.endpoint), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const grant = {
      clientId: cache.clientId,
      clientSecret: cache.clientSecret,
      grantType: "refresh_token",
      refreshToken: cache.refreshToken,
    };
    const refreshed = await createToken(grant);
    assert.equal(refreshed.status, 200);
    const created = await refreshed.json();
    assert.equal(created.expiresIn, 3600);
    assert.equal(created.tokenType, "Bearer");
    assert.notEqual(created.refreshToken, cache.refreshToken);
    assert.equal((await getRoleCredentials(emu, created.accessToken)).status, 200);
    // A refresh token is used once; a wrong client secret or grant type is refused.
    assert.deepEqual(await errorOf(await createToken(grant)), [
      400,
      "InvalidGrantException",
      "invalid_grant",
    ]);
    assert.deepEqual(
      await errorOf(
        await createToken({ ...grant, refreshToken: created.refreshToken, clientSecret: "x" }),
      ),
      [400, "InvalidGrantException", "invalid_grant"],
    );
    assert.deepEqual(
      await errorOf(await createToken({ ...grant, grantType: "authorization_code" })),
      [400, "UnsupportedGrantTypeException", "unsupported_grant_type"],
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the sso section is checked: unknown role names and keys are refused by name", async () => {
  await assert.rejects(
    startEmulator({ sso: { roleNames: ["nobody"] } }),
    /'sso.roleNames' has 'nobody', which is not a configured role \('elasticache-iam-auth-app'\)/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    startEmulator({ sso: { roles: [] } as any }),
    /unknown key 'roles' in 'sso'/,
  );
  await assert.rejects(startEmulator({ sso: { port: 70000 } }), /'sso.port' must be an integer/);
});
