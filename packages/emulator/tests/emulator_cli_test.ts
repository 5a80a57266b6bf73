/**
 * The `emulator` and `demo` commands as real processes: the JSON line of
 * addresses, redis-cli authenticating with a token from the `token` command,
 * TLS with the printed CA file, and a clean stop on SIGTERM / SIGINT that
 * leaves no redis-server behind; `--help` on every command, `--port`,
 * `--cluster`, `--print-env` and the README's walk-through, a taken port,
 * and unknown configuration keys.
 */

import assert from "node:assert/strict";
import { startEmulator } from "../mod.ts";
import type { EmulatorConfig } from "../mod.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

/** The emulator package's command line (`emulator`, `demo`). */
const CLI = new URL("../cli.ts", import.meta.url).pathname;
/** The core's command line (`token`). */
const TOKEN_CLI = new URL("../../../src/cli.ts", import.meta.url).pathname;
const README = new URL("../README.md", import.meta.url).pathname;
const SEED_CONFIG = new URL("./fixtures/emulator_seed_config.json", import.meta.url).pathname;
const DEVELOPER = {
  AWS_ACCESS_KEY_ID: "AKIAEMULATORDEVELOPR",
  AWS_SECRET_ACCESS_KEY: "emulator/developer/secret/key/0000000000",
};

interface Addresses {
  gateway: { hostname: string; port: number; tls: boolean; caFile?: string };
  caches: {
    name: string;
    kind: string;
    region: string;
    hostname: string;
    port: number;
    url: string;
  }[];
  sts: string;
  oidcIssuer: string;
  region: string;
  accountId: string;
  roleArn: string;
  iamUser: { userName: string; accessKeyId: string; secretAccessKey: string };
}

/** An `emulator` process: what it printed when ready, its stderr, and a way to stop it. */
class EmulatorProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Promise<string>;
  readonly #rest: Promise<string>;
  #status: Promise<Deno.CommandStatus> | undefined;

  private constructor(
    child: Deno.ChildProcess,
    readonly output: string,
    rest: Promise<string>,
  ) {
    this.#child = child;
    this.#stderr = new Response(child.stderr).text();
    this.#rest = rest;
  }

  /** The JSON line. */
  get addresses(): Addresses {
    return JSON.parse(this.output.slice(0, this.output.indexOf("\n")));
  }

  /** Starts `emulator` with the flags; resolves once it printed a line (`--print-env`: every line). */
  static async start(args: string[]): Promise<EmulatorProcess> {
    const ready = (text: string) =>
      args.includes("--print-env")
        ? /^export ELASTICACHE_URL=.*\n/m.test(text)
        : text.includes("\n");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "emulator", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!ready(text)) {
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
    if (!ready(text)) {
      const stderr = await new Response(child.stderr).text();
      await child.status;
      await rest;
      throw new Error(`The emulator did not start: ${stderr}`);
    }
    return new EmulatorProcess(child, text, rest);
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

async function tokenFromCli(keys: Record<string, string> = DEVELOPER): Promise<string> {
  const result = await output(Deno.execPath(), [
    "run",
    "-A",
    TOKEN_CLI,
    "token",
    "--replication-group-id",
    "replication-group-01",
    "--user-id",
    "iam-user-01",
    "--region",
    "us-east-1",
  ], keys);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/** The `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` of the JSON line's IAM user. */
function keysOf({ iamUser }: Addresses): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: iamUser.accessKeyId,
    AWS_SECRET_ACCESS_KEY: iamUser.secretAccessKey,
  };
}

/** A free loopback port (closed again). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

const hasRedisCli = (await output("sh", ["-c", "command -v redis-cli"]).catch(() => undefined))
  ?.code === 0;

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
    assert.deepEqual(emu.addresses.caches, [{
      name: "replication-group-01",
      kind: "replication-group",
      region: "us-east-1",
      hostname: "127.0.0.1",
      port: gateway.port,
      url: `redis://127.0.0.1:${gateway.port}`,
    }]);
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
  for (
    const [args, problem] of [
      [["--bogus"], "unknown flag '--bogus'"],
      [["--port", "0"], "flag '--port' must be a port from 1 to 65535, got '0'"],
      [["--port=http"], "flag '--port' must be a port from 1 to 65535, got 'http'"],
      [["--port"], "flag '--port' needs a value"],
      [
        ["--cluster", "3"],
        "flag '--cluster' must be SHARDSxREPLICAS with 1 to 16 shards and 0 to 5 replicas per shard, such as '3x1', got '3'",
      ],
      [
        ["--cluster", "17x1"],
        "flag '--cluster' must be SHARDSxREPLICAS with 1 to 16 shards and 0 to 5 replicas per shard, such as '3x1', got '17x1'",
      ],
      [
        ["--cluster", "3x1", "--port", "7000"],
        "flags '--port' and '--cluster' cannot be combined: in cluster mode every node's gateway gets a free port",
      ],
      [["--tls=yes"], "flag '--tls' takes no value"],
    ] as const
  ) {
    const flag = await output(Deno.execPath(), ["run", "-A", CLI, "emulator", ...args]);
    assert.equal(flag.code, 2, args.join(" "));
    assert.equal(flag.stdout, "");
    assert.ok(
      flag.stderr.startsWith(`Error: ${problem}\n\nUsage: elasticache-iam-emulator`),
      flag.stderr,
    );
  }
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
    await Deno.writeTextFile(`${dir}/typo.json`, JSON.stringify({ cachez: [] }));
    const typo = await output(Deno.execPath(), [
      "run",
      "-A",
      CLI,
      "emulator",
      "--config",
      `${dir}/typo.json`,
    ]);
    assert.equal(typo.code, 1);
    assert.equal(typo.stdout, "");
    assert.match(
      typo.stderr,
      /^Error: Cannot start the emulator: unknown key 'cachez' in the configuration; did you mean 'caches'\?$/m,
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

Deno.test("CLI --help and -h: every command prints its usage on stdout and exits 0", async () => {
  for (
    const [cli, command, usage, mentions] of [
      [TOKEN_CLI, [], "Usage: elasticache-iam <command>", ["token", "@elasticache-iam/emulator"]],
      [TOKEN_CLI, ["token"], "Usage: elasticache-iam token", ["--replication-group-id"]],
      [CLI, [], "Usage: elasticache-iam-emulator <command>", ["emulator", "demo", "token"]],
      [CLI, ["emulator"], "Usage: elasticache-iam-emulator emulator", ["--port", "--print-env"]],
      [CLI, ["demo"], "Usage: elasticache-iam-emulator demo", ["--tls"]],
    ] as const
  ) {
    for (const help of ["--help", "-h"]) {
      const result = await output(Deno.execPath(), ["run", "-A", cli, ...command, help]);
      const what = [...command, help].join(" ");
      assert.deepEqual([result.code, result.stderr], [0, ""], what);
      assert.ok(result.stdout.startsWith(usage), `${what}: ${result.stdout}`);
      for (const word of mentions) assert.ok(result.stdout.includes(word), `${what}: ${word}`);
    }
  }
});

Deno.test("emulator configuration: an unknown key is refused by name, at the top and in every section", async () => {
  const refused = async (config: Record<string, unknown>, message: string) => {
    let started;
    try {
      started = await startEmulator(config as EmulatorConfig);
    } catch (error) {
      assert.ok(error instanceof TypeError, String(error));
      assert.equal(error.message, `Cannot start the emulator: ${message}`);
      return;
    }
    await started.close();
    assert.fail(`started with ${JSON.stringify(config)}`);
  };
  const policy = { Version: "2012-10-17", Statement: [] };
  const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret" };
  const temporary = { ...keys, sessionToken: "token" };
  await refused(
    { cachez: [] },
    "unknown key 'cachez' in the configuration; did you mean 'caches'?",
  );
  await refused(
    { colour: "blue" },
    "unknown key 'colour' in the configuration; the keys are 'region', 'accountId', 'caches', " +
      "'users', 'roles', 'iamUsers', 'oidcProviders', 'oidc', 'sts', 'gateway', 'tls', 'backend', " +
      "'cluster', 'connectionMaxAgeMs', 'maxClockSkewSeconds', 'log', 'containerCredentials', " +
      "'instanceMetadata', 'sso'",
  );
  await refused(
    { caches: [{ replicationGroupId: "rg", userIdz: [] }] },
    "unknown key 'userIdz' in 'caches[0]'; did you mean 'userIds'?",
  );
  await refused(
    { users: [{ userId: "u", accessString: "on", acl: "x" }] },
    "unknown key 'acl' in 'users[0]'; the keys are 'userId', 'userName', 'accessString'",
  );
  await refused(
    { roles: [{ roleName: "r", trustPolicy: policy, policy }] },
    "unknown key 'policy' in 'roles[0]'; did you mean 'policies'?",
  );
  await refused(
    {
      roles: [{
        roleName: "r",
        trustPolicy: policy,
        temporaryCredentials: [{ ...temporary, expires: 1 }],
      }],
    },
    "unknown key 'expires' in 'roles[0].temporaryCredentials[0]'; the keys are 'accessKeyId', " +
      "'secretAccessKey', 'sessionToken', 'expiration'",
  );
  await refused(
    { iamUsers: [{ userName: "app", accessKeys: [{ ...keys, sessionToken: "t" }] }] },
    "unknown key 'sessionToken' in 'iamUsers[0].accessKeys[0]'; the keys are 'accessKeyId', " +
      "'secretAccessKey'",
  );
  await refused(
    { oidcProviders: [{ url: "https://issuer.example", clientIds: ["a"], jwks_uri: "x" }] },
    "unknown key 'jwks_uri' in 'oidcProviders[0]'; did you mean 'jwksUri'?",
  );
  await refused(
    { oidc: { clientId: [] } },
    "unknown key 'clientId' in 'oidc'; did you mean 'clientIds'?",
  );
  await refused({ sts: { prot: 1 } }, "unknown key 'prot' in 'sts'; did you mean 'port'?");
  await refused(
    { gateway: { host: "x" } },
    "unknown key 'host' in 'gateway'; the keys are 'port', 'maxUnauthenticated', 'authTimeoutMs'",
  );
  await refused(
    { backend: { host: "x", port: 6379 } },
    "unknown key 'host' in 'backend'; did you mean 'hostname'?",
  );
  await refused(
    { backend: { db: 1, port: 6379 } },
    "unknown key 'db' in 'backend'; the keys are 'redisServer', 'hostname', 'port', 'username', 'password'",
  );
  await refused(
    { cluster: { shard: 2 } },
    "unknown key 'shard' in 'cluster'; did you mean 'shards'?",
  );
});

Deno.test("emulator CLI --port: the gateway listens there, and a second emulator says the port is in use", async () => {
  const port = freePort();
  await using emu = await EmulatorProcess.start(["--port", String(port), "--quiet"]);
  assert.equal(emu.addresses.gateway.port, port);
  await using conn = await RespTestClient.connect(emu.addresses.gateway);
  assert.equal(await conn.send("PING"), "-NOAUTH Authentication required.");
  const taken = await output(Deno.execPath(), ["run", "-A", CLI, "emulator", "--port=" + port]);
  assert.equal(taken.code, 1);
  assert.equal(taken.stdout, "");
  assert.match(
    taken.stderr,
    new RegExp(
      `^Error: Cannot start the emulator: the gateway's port ${port} on 127\\.0\\.0\\.1 is in use; ` +
        `stop what listens there, or choose another port with 'gateway\\.port' \\(the emulator ` +
        `command's --port\\) or leave it out for a free one$`,
      "m",
    ),
  );
  const pid = Number(/started redis-server \(pid (\d+)\)/.exec(taken.stderr)?.[1]);
  assert.ok(pid > 0 && processGone(pid), "the second emulator's redis-server is gone");
  for (const [section, what] of [["sts", "STS"], ["oidc", "OIDC issuer"]] as const) {
    await assert.rejects(
      () => startEmulator({ [section]: { port } }),
      new RegExp(
        `^Error: Cannot start the emulator: the ${what}'s port ${port} .* is in use; .* with '${section}\\.port'`,
      ),
    );
  }
});

Deno.test("emulator CLI --cluster 2x0: the JSON line's keys authenticate at a gateway of a 2-shard cluster; SIGTERM stops every node", async () => {
  const emu = await EmulatorProcess.start(["--cluster", "2x0"]);
  let stopped;
  try {
    const { gateway } = emu.addresses;
    assert.equal(emu.addresses.iamUser.userName, "emulator-cli");
    assert.match(emu.addresses.iamUser.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    const token = await tokenFromCli(keysOf(emu.addresses));
    await using conn = await RespTestClient.connect(gateway);
    assert.equal(await conn.send("AUTH", "iam-user-01", token), "OK");
    const shards = await conn.send("CLUSTER", "SHARDS");
    assert.ok(Array.isArray(shards) && shards.length === 2, JSON.stringify(shards));
  } finally {
    stopped = await emu.stop("SIGTERM");
  }
  assert.equal(stopped.code, 0, stopped.stderr);
  const pids = [...stopped.stderr.matchAll(/cluster node #\d+ started redis-server \(pid (\d+)\)/g)]
    .map((m) => Number(m[1]));
  assert.equal(pids.length, 2, stopped.stderr);
  assert.ok(pids.every(processGone), "every node's redis-server is gone");
});

Deno.test("emulator CLI --print-env: its credentials sign a token the gateway accepts", async () => {
  const emu = await EmulatorProcess.start(["--print-env", "--quiet"]);
  let stopped;
  try {
    const vars = Object.fromEntries(
      [...emu.output.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    assert.ok(emu.output.startsWith("unset AWS_SESSION_TOKEN\n"), emu.output);
    assert.deepEqual(Object.keys(vars), [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_REGION",
      "AWS_ENDPOINT_URL_STS",
      "ELASTICACHE_HOST",
      "ELASTICACHE_PORT",
      "ELASTICACHE_URL",
    ]);
    assert.equal(vars.AWS_REGION, "us-east-1");
    assert.equal(vars.ELASTICACHE_URL, `redis://127.0.0.1:${vars.ELASTICACHE_PORT}`);
    const token = await tokenFromCli({
      AWS_ACCESS_KEY_ID: vars.AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: vars.AWS_SECRET_ACCESS_KEY!,
    });
    await using conn = await RespTestClient.connect({
      hostname: vars.ELASTICACHE_HOST!,
      port: Number(vars.ELASTICACHE_PORT),
      tls: false,
    });
    assert.equal(await conn.send("AUTH", "iam-user-01", token), "OK");
    assert.equal(await conn.send("SET", "env", "works"), "OK");
    assert.equal(await conn.send("GET", "env"), "works");
  } finally {
    stopped = await emu.stop("SIGTERM");
  }
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout, "", "nothing more on stdout");
});

Deno.test({
  name: "README: the emulator's redis-cli walk-through runs as written",
  ignore: !hasRedisCli,
  async fn() {
    const readme = await Deno.readTextFile(README);
    const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)
      .find((text) => text.includes("emulator --print-env"));
    assert.ok(block !== undefined, "the README has the walk-through");
    // This checkout's CLI instead of the published one; the emulator stopped whatever happens.
    const script = block.replaceAll("jsr:@elasticache-iam/emulator/cli", CLI)
      .replaceAll("jsr:@elasticache-iam/connector/cli", TOKEN_CLI);
    const dir = await Deno.makeTempDir({ prefix: "readme-walk-through-" });
    try {
      const deno = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
      const result = await new Deno.Command("sh", {
        args: ["-c", `trap 'kill "$EMULATOR" 2>/dev/null || true' EXIT\nset -e\n${script}`],
        cwd: dir,
        env: { PATH: `${deno}:${Deno.env.get("PATH")}`, NO_COLOR: "1" },
        stdin: "null",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const stdout = new TextDecoder().decode(result.stdout);
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr);
      assert.equal(stdout, "OK\nhello\n", stderr);
      assert.match(stderr, /emulator: stopped/);
      const pid = Number(/started redis-server \(pid (\d+)\)/.exec(stderr)?.[1]);
      assert.ok(pid > 0 && processGone(pid), "the backend redis-server is gone");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
