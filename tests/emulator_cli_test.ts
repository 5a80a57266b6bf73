/**
 * The `emulator` and `demo` commands as real processes: the JSON line of
 * addresses, redis-cli authenticating with a token from the `token` command,
 * TLS with the printed CA file, and a clean stop on SIGTERM / SIGINT that
 * leaves no redis-server behind.
 */

import assert from "node:assert/strict";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const SEED_CONFIG = new URL("./fixtures/emulator_seed_config.json", import.meta.url).pathname;
const DEVELOPER = {
  AWS_ACCESS_KEY_ID: "AKIAEMULATORDEVELOPR",
  AWS_SECRET_ACCESS_KEY: "emulator/developer/secret/key/0000000000",
};

interface Addresses {
  gateway: { hostname: string; port: number; tls: boolean; caFile?: string };
  sts: string;
  oidcIssuer: string;
  region: string;
  accountId: string;
  roleArn: string;
}

/** An `emulator` process: its first stdout line, its stderr, and a way to stop it. */
class EmulatorProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Promise<string>;
  readonly #rest: Promise<string>;
  #status: Promise<Deno.CommandStatus> | undefined;

  private constructor(
    child: Deno.ChildProcess,
    readonly addresses: Addresses,
    rest: Promise<string>,
  ) {
    this.#child = child;
    this.#stderr = new Response(child.stderr).text();
    this.#rest = rest;
  }

  static async start(args: string[]): Promise<EmulatorProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "emulator", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const rest = (async () => {
      let more = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return more;
        more += value;
      }
    })();
    if (!text.includes("\n")) {
      const stderr = await new Response(child.stderr).text();
      await child.status;
      await rest;
      throw new Error(`The emulator did not start: ${stderr}`);
    }
    return new EmulatorProcess(child, JSON.parse(text.slice(0, text.indexOf("\n"))), rest);
  }

  /** Sends a signal and waits for the exit; returns the code, stderr and any further stdout. */
  async stop(signal: Deno.Signal = "SIGTERM") {
    if (this.#status === undefined) {
      this.#child.kill(signal);
      this.#status = this.#child.status;
    }
    const status = await this.#status;
    return { code: status.code, stderr: await this.#stderr, stdout: await this.#rest };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

async function output(command: string, args: string[], env: Record<string, string> = {}) {
  const result = await new Deno.Command(command, { args, env, stdin: "null" }).output();
  return {
    code: result.code,
    stdout: new TextDecoder().decode(result.stdout).trim(),
    stderr: new TextDecoder().decode(result.stderr).trim(),
  };
}

async function tokenFromCli(): Promise<string> {
  const result = await output(Deno.execPath(), [
    "run",
    "-A",
    CLI,
    "token",
    "--replication-group-id",
    "replication-group-01",
    "--user-id",
    "iam-user-01",
    "--region",
    "us-east-1",
  ], DEVELOPER);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

function processGone(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

Deno.test("emulator CLI: redis-cli authenticates with a token from the token command, then SIGTERM stops everything", async () => {
  const emu = await EmulatorProcess.start(["--config", SEED_CONFIG]);
  let stopped;
  try {
    const { gateway } = emu.addresses;
    assert.equal(gateway.hostname, "127.0.0.1");
    assert.equal(gateway.tls, false);
    assert.match(emu.addresses.sts, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(emu.addresses.roleArn, "arn:aws:iam::123456789012:role/elasticache-iam-auth-app");

    const token = await tokenFromCli();
    const cli = (auth: string, ...command: string[]) =>
      output("redis-cli", [
        "-h",
        gateway.hostname,
        "-p",
        String(gateway.port),
        "--user",
        "iam-user-01",
        ...command,
      ], { REDISCLI_AUTH: auth });
    assert.deepEqual(await cli(token, "SET", "cli", "works"), {
      code: 0,
      stdout: "OK",
      stderr: "",
    });
    assert.equal((await cli(token, "GET", "cli")).stdout, "works");
    const refused = await cli(token.replace(/.$/, (c) => (c === "0" ? "1" : "0")), "GET", "cli");
    assert.match(
      refused.stdout + refused.stderr,
      /AUTH failed: WRONGPASS invalid username-password pair or user is disabled\./,
    );
    assert.doesNotMatch(refused.stdout + refused.stderr, /works/);
  } finally {
    stopped = await emu.stop("SIGTERM");
  }
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout, "", "one JSON line only on stdout");
  const pid = Number(/started redis-server \(pid (\d+)\)/.exec(stopped.stderr)?.[1]);
  assert.ok(pid > 0, stopped.stderr);
  assert.ok(processGone(pid), "the backend redis-server is gone");
  assert.match(stopped.stderr, /refused: signature mismatch/);
  assert.match(stopped.stderr, /emulator: stopped/);
  assert.ok(!stopped.stderr.includes(DEVELOPER.AWS_SECRET_ACCESS_KEY), "no secret in the log");
  assert.ok(!stopped.stderr.includes("X-Amz-Signature"), "no token in the log");
});

Deno.test("emulator CLI --tls: prints the CA file, redis-cli verifies the certificate, SIGINT stops and removes it", async () => {
  await using emu = await EmulatorProcess.start(["--config", SEED_CONFIG, "--tls"]);
  const { gateway } = emu.addresses;
  assert.equal(gateway.tls, true);
  const caFile = gateway.caFile!;
  assert.match(await Deno.readTextFile(caFile), /^-----BEGIN CERTIFICATE-----/);
  const token = await tokenFromCli();
  const base = ["--tls", "--cacert", caFile, "-p", String(gateway.port), "--user", "iam-user-01"];
  for (const host of ["localhost", "127.0.0.1"]) {
    const ping = await output("redis-cli", ["-h", host, ...base, "PING"], { REDISCLI_AUTH: token });
    assert.equal(ping.stdout, "PONG", ping.stderr);
  }
  const stopped = await emu.stop("SIGINT");
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(processGone(Number(/pid (\d+)\)/.exec(stopped.stderr)?.[1])));
  await assert.rejects(Deno.stat(caFile), Deno.errors.NotFound);
});

Deno.test("emulator CLI: bad flags and bad configuration files", async () => {
  const flag = await output(Deno.execPath(), ["run", "-A", CLI, "emulator", "--port", "1"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unknown flag '--port'/);
  const missing = await output(Deno.execPath(), [
    "run",
    "-A",
    CLI,
    "emulator",
    "--config",
    "/nonexistent.json",
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nonexistent\.json/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.json`,
      JSON.stringify({ users: [{ userId: "Bad User", accessString: "on" }] }),
    );
    const bad = await output(Deno.execPath(), [
      "run",
      "-A",
      CLI,
      "emulator",
      "--config",
      `${dir}/bad.json`,
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /Cannot start the emulator: user id "Bad User" is not a lowercase ElastiCache user id/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task demo: every step in plain words with its timing, and no secret", async () => {
  const demo = await output(Deno.execPath(), ["run", "-A", CLI, "demo"]);
  assert.equal(demo.code, 0, demo.stderr);
  const lines = demo.stdout.split("\n");
  for (
    const step of [
      /Started the emulator/,
      /Minted a web-identity JWT/,
      /STS AssumeRoleWithWebIdentity gave temporary credentials ASIA…\w{4} /,
      /Signed an IAM auth token/,
      /authenticated as 'iam-user-01'/,
      /SET demo:greeting → OK; GET demo:greeting → "hello from the IAM demo/,
      /refused, as ElastiCache does: WRONGPASS/,
      /Stopped the emulator/,
    ]
  ) {
    assert.ok(lines.some((line) => step.test(line) && /\(\d+ ms\)$/.test(line)), `missing ${step}`);
  }
  assert.doesNotMatch(
    demo.stdout,
    /IQoJ|X-Amz-Signature|eyJ/,
    "no session token, auth token or JWT",
  );
});
