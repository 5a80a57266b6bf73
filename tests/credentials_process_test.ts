/**
 * `credential_process` (src/credentials/process.ts), from a temporary HOME:
 * the keys a program prints reach the emulator's gateway, directly and as a
 * role chain's source; `Expiration` caches them; absence falls through;
 * a failing program (exit code, bad JSON, wrong Version, expired, too slow,
 * too talkative) is a CredentialsError that names the profile and program
 * and never shows what it printed on its standard output.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
import { CredentialsError } from "../src/errors.ts";
import { fromProcess, processCredentialsSource } from "../src/credentials/process.ts";
import { fromProfile, profileCredentialsSource } from "../src/credentials/profile.ts";
import {
  assertNoSecret,
  type AwsHome,
  awsHome,
  connectThroughGateway,
} from "./_helpers/aws_home.ts";

const DEVELOPER = { accessKeyId: "AKIAPROCESSDEV000001", secretAccessKey: "process-secret-0001" };
/** The JSON a credential process prints for keys. */
const printed = (
  keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
) => ({
  Version: 1,
  AccessKeyId: keys.accessKeyId,
  SecretAccessKey: keys.secretAccessKey,
  ...(keys.sessionToken ? { SessionToken: keys.sessionToken } : {}),
});
const TEMPORARY = {
  accessKeyId: "ASIAPROCESSTMP000001",
  secretAccessKey: "process-temporary-secret",
  sessionToken: "process-session-token",
};

function startProcessEmulator() {
  return startEmulator({
    iamUsers: [{
      userName: "developer",
      accessKeys: [DEVELOPER],
      policies: [SEED_POLICY],
      temporaryCredentials: [TEMPORARY],
    }],
    roles: [{
      roleName: "from-process",
      trustPolicy: {
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::123456789012:user/developer" },
          Action: "sts:AssumeRole",
        }],
      },
      policies: [SEED_POLICY],
    }],
  });
}

/**
 * Writes a shell script that prints `stdout` (and `stderr`) and exits with
 * `code`, counting its runs in `<script>.runs`; returns its command line.
 */
async function script(
  home: AwsHome,
  name: string,
  options: { stdout?: string; stderr?: string; code?: number; before?: string },
): Promise<string> {
  const quote = (text: string) => `'${text.replaceAll("'", `'"'"'`)}'`;
  const path = await home.write(
    `bin/${name}.sh`,
    [
      `echo run >> ${quote(`${home.home}/bin/${name}.runs`)}`,
      options.before ?? "",
      options.stdout === undefined ? "" : `printf '%s' ${quote(options.stdout)}`,
      options.stderr === undefined ? "" : `printf '%s\\n' ${quote(options.stderr)} >&2`,
      `exit ${options.code ?? 0}`,
    ].join("\n"),
  );
  return `/bin/sh ${path}`;
}

async function runs(home: AwsHome, name: string): Promise<number> {
  try {
    return (await Deno.readTextFile(`${home.home}/bin/${name}.runs`)).trim().split("\n").length;
  } catch {
    return 0;
  }
}

async function rejection(promise: Promise<unknown>): Promise<CredentialsError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof CredentialsError, `a CredentialsError, got ${error}`);
  return error;
}

Deno.test("credential_process: static keys it prints reach the gateway, through fromProcess and fromProfile", async () => {
  await using emu = await startProcessEmulator();
  await using home = await awsHome();
  const command = await script(home, "static", {
    stdout: JSON.stringify(printed(DEVELOPER)),
  });
  await home.write(".aws/config", `[profile tool]\ncredential_process = ${command}\n`);
  const env = home.env({ AWS_PROFILE: "tool" });
  const check = processCredentialsSource({ env });
  assert.deepEqual(check, {
    configured: true,
    lookedFor:
      `the AWS shared files (profile 'tool' (AWS_PROFILE) in ${home.configFile}: credential_process 'sh')`,
  });
  assert.match(profileCredentialsSource({ env }).lookedFor, /: credential_process 'sh'\)$/);
  const credentials = fromProcess({ env });
  assert.deepEqual(await credentials(), DEVELOPER);
  assert.deepEqual(await credentials(), DEVELOPER);
  assert.equal(await runs(home, "static"), 2, "keys without Expiration are asked for at each call");
  await connectThroughGateway(emu, credentials);
  await connectThroughGateway(emu, fromProfile({ env }), "from the profile");
});

Deno.test("credential_process: temporary credentials with an Expiration are cached, and can source a role", async () => {
  await using emu = await startProcessEmulator();
  await using home = await awsHome();
  const expiration = new Date(emu.clock.now() + 3_600_000).toISOString();
  const command = await script(home, "temporary", {
    stdout: JSON.stringify({ ...printed(TEMPORARY), Expiration: expiration }),
  });
  const staticCommand = await script(home, "static", {
    stdout: JSON.stringify(printed(DEVELOPER)),
  });
  await home.write(
    ".aws/config",
    [
      "[default]",
      `credential_process = ${command}`,
      "[profile role]",
      "role_arn = arn:aws:iam::123456789012:role/from-process",
      "source_profile = tool",
      "[profile tool]",
      `credential_process = ${staticCommand}`,
    ].join("\n"),
  );
  const credentials = fromProcess({ env: home.env(), now: () => emu.clock.now() });
  const resolved = await credentials();
  assert.deepEqual(resolved, { ...TEMPORARY, expiration: new Date(expiration) });
  assert.equal(await credentials(), resolved);
  assert.equal(await runs(home, "temporary"), 1, "cached until five minutes before Expiration");
  await connectThroughGateway(emu, credentials);

  const role = fromProfile({
    env: home.env({ AWS_PROFILE: "role", AWS_ENDPOINT_URL_STS: emu.sts.endpoint }),
    now: () => emu.clock.now(),
  });
  assert.match((await role()).accessKeyId, /^ASIA/);
  await connectThroughGateway(emu, role, "assumed");
});

Deno.test("credential_process: absence falls through, saying what was looked for", async () => {
  await using home = await awsHome({ config: "[default]\nregion = us-east-1\n" });
  assert.deepEqual(processCredentialsSource({ env: home.env() }), {
    configured: false,
    lookedFor:
      `the AWS shared files (profile 'default' in ${home.configFile} has no credential_process)`,
  });
  const error = await rejection(fromProcess({ env: home.env() })());
  assert.equal(
    error.message,
    "Cannot use credential_process: profile 'default' has no credential_process setting",
  );
  const missing = await rejection(fromProcess({ env: home.env(), profile: "nope" })());
  assert.match(missing.message, /profile 'nope' \(the 'profile' option\) is in neither/);
});

Deno.test("credential_process failures: a CredentialsError naming the profile and program, never the output", async (t) => {
  await using home = await awsHome();
  const secretOutput = JSON.stringify(printed(DEVELOPER));
  const fails = async (
    name: string,
    options: Parameters<typeof script>[2],
    pattern: RegExp,
    extra: { timeout?: number } = {},
  ) => {
    const command = await script(home, name, options);
    const configFile = await home.write(
      `configs/${name}`,
      `[profile ${name}]\ncredential_process = ${command}\n`,
    );
    const error = await rejection(
      fromProcess({ env: home.env(), profile: name, configFile, ...extra })(),
    );
    assert.ok(
      error.message.startsWith(
        `Cannot get credentials from the credential_process 'sh' of profile '${name}': `,
      ),
      error.message,
    );
    assert.match(error.message, pattern);
    assertNoSecret(error.message, [DEVELOPER.secretAccessKey, DEVELOPER.accessKeyId]);
    // The same through the profile source.
    const viaProfile = await rejection(
      fromProfile({
        env: home.env(),
        profile: name,
        configFile,
        ...(extra.timeout ? { processTimeout: extra.timeout } : {}),
      })(),
    );
    assert.equal(viaProfile.message, error.message);
  };
  await t.step("a non-zero exit: its code and the last line of its standard error", async () => {
    await fails(
      "exits",
      { stdout: secretOutput, stderr: "first line\nToken expired: run tool login", code: 3 },
      /it exited with code 3: Token expired: run tool login$/,
    );
  });
  await t.step("output that is not JSON, not Version 1, without a secret, or expired", async () => {
    await fails("garbage", { stdout: `not json ${DEVELOPER.secretAccessKey}` }, /printed no JSON/);
    await fails("array", { stdout: "[1]" }, /printed JSON that is not an object$/);
    await fails(
      "version",
      { stdout: JSON.stringify({ ...printed(DEVELOPER), Version: 2 }) },
      /printed Version 2; only Version 1 is supported$/,
    );
    await fails(
      "no-secret",
      { stdout: JSON.stringify({ Version: 1, AccessKeyId: DEVELOPER.accessKeyId }) },
      /printed no SecretAccessKey string$/,
    );
    await fails(
      "expired",
      { stdout: JSON.stringify({ ...printed(DEVELOPER), Expiration: "2020-01-01T00:00:00Z" }) },
      /printed credentials that expired at 2020-01-01T00:00:00.000Z$/,
    );
    await fails(
      "bad-date",
      { stdout: JSON.stringify({ ...printed(DEVELOPER), Expiration: "tomorrow" }) },
      /printed an Expiration that is not an ISO 8601 date$/,
    );
  });
  await t.step("a program that runs too long is killed", async () => {
    const started = performance.now();
    await fails(
      "slow",
      { before: "sleep 5", stdout: secretOutput },
      /it did not finish within 300 ms, and was killed$/,
      { timeout: 300 },
    );
    assert.ok(performance.now() - started < 4000, "killed, not waited for");
  });
  await t.step("a program that prints too much is killed", async () => {
    await fails(
      "talkative",
      { before: "head -c 200000 /dev/zero | tr '\\0' 'x'" },
      /it printed more than 65536 bytes, and was killed$/,
    );
  });
  await t.step("a command that is not found", async () => {
    const configFile = await home.write(
      "configs/missing",
      "[profile missing]\ncredential_process = /nonexistent/bin/creds --secret s3cr3t\n",
    );
    const error = await rejection(
      fromProcess({ env: home.env(), profile: "missing", configFile })(),
    );
    assert.match(
      error.message,
      /^Cannot get credentials from the credential_process 'creds' of profile 'missing': it exited with code 127: /,
    );
    assert.ok(!error.message.includes("--secret"), "arguments are not shown");
  });
});

Deno.test("credential_process on node:child_process (Node.js, Bun): the same answers", async () => {
  await using home = await awsHome();
  const ok = await script(home, "node-ok", {
    stdout: JSON.stringify(printed(DEVELOPER)),
  });
  const bad = await script(home, "node-bad", { stderr: "no session", code: 4 });
  const slow = await script(home, "node-slow", { before: "sleep 5" });
  await home.write(
    ".aws/config",
    `[profile ok]\ncredential_process = ${ok}\n[profile bad]\ncredential_process = ${bad}\n` +
      `[profile slow]\ncredential_process = ${slow}\n`,
  );
  const saved = Deno.Command;
  Object.defineProperty(Deno, "Command", { value: undefined, configurable: true, writable: true });
  try {
    assert.deepEqual(await fromProcess({ env: home.env(), profile: "ok" })(), DEVELOPER);
    const error = await rejection(fromProcess({ env: home.env(), profile: "bad" })());
    assert.match(error.message, /it exited with code 4: no session$/);
    const slowError = await rejection(
      fromProcess({ env: home.env(), profile: "slow", timeout: 300 })(),
    );
    assert.match(slowError.message, /it did not finish within 300 ms, and was killed$/);
  } finally {
    Object.defineProperty(Deno, "Command", { value: saved, configurable: true, writable: true });
  }
});
