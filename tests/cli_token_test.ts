/**
 * The `token` command as a shell user meets it, run as a real process
 * (`deno run -A src/cli.ts token …`): stdout is the token and a newline only;
 * errors are one `Error: …` line naming the flag typed (or the variable read),
 * with the cache name inside an endpoint suggested; `--expires-in` with units;
 * `--region` from AWS_REGION / AWS_DEFAULT_REGION; `--endpoint` (a host name
 * or `rediss://` URL) in place of the cache's name and region; `--version`; a line on
 * stderr when credentials take over a second (a local STS that delays its
 * answer), and a bounded wait that says what timed out. Exit codes: 0 token
 * printed, 1 could not be made, 2 bad flags.
 */

import assert from "node:assert/strict";
import { createAuthToken } from "../mod.ts";
import { parseAmzDate } from "./_helpers/token_vectors.ts";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const CONFIG = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
) as { name: string; version: string };

async function runCli(args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

const KEYS = {
  AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  AWS_SESSION_TOKEN: "IQoJb3JpZ2luX2VjEXAMPLE",
};
const GROUP = ["token", "--replication-group-id", "my-group", "--user-id", "app-user"];

/** The token's signing time, and the library's token for the same input at that time. */
async function expectedToken(
  stdout: string,
  options: Parameters<typeof createAuthToken>[0],
): Promise<string> {
  const date = /X-Amz-Date=(\d{8}T\d{6}Z)/.exec(stdout)?.[1];
  assert.ok(date, stdout);
  return `${await createAuthToken({ ...options, signingDate: parseAmzDate(date) })}\n`;
}

/** Runs `token` with the arguments and expects exit 1, nothing on stdout and this one line on stderr. */
async function refused(args: string[], env: Record<string, string>, line: string) {
  const { code, stdout, stderr } = await runCli(args, env);
  assert.deepEqual({ code, stdout, stderr }, { code: 1, stdout: "", stderr: `Error: ${line}\n` });
}

Deno.test("token prints only the token and a newline", async () => {
  const before = Date.now();
  const { code, stdout, stderr } = await runCli(
    [
      "token",
      "--serverless-cache-name",
      "My-Cache",
      "--user-id",
      "app-user",
      "--region",
      "eu-west-1",
      "--expires-in=300",
    ],
    KEYS,
  );
  assert.equal(stderr, "");
  assert.equal(code, 0);
  assert.match(
    stdout,
    /^my-cache\/\?Action=connect&User=app-user&ResourceType=ServerlessCache&[^\s]+\n$/,
  );
  assert.match(stdout, /X-Amz-Expires=300&/);
  assert.match(stdout, /X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&/);
  // The same signature as the library's at the token's own signing second.
  const date = /X-Amz-Date=(\d{8}T\d{6}Z)/.exec(stdout)![1]!;
  assert.ok(parseAmzDate(date).getTime() >= before - 1000);
  assert.equal(
    stdout,
    await expectedToken(stdout, {
      serverlessCacheName: "my-cache",
      userId: "app-user",
      region: "eu-west-1",
      expiresIn: 300,
      credentials: {
        accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
        secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
        sessionToken: KEYS.AWS_SESSION_TOKEN,
      },
    }),
  );
});

Deno.test("token --version prints the package's name and version from deno.json", async () => {
  for (const args of [["token", "--version"], [...GROUP, "--version"]]) {
    const { code, stdout, stderr } = await runCli(args, {});
    assert.deepEqual(
      { code, stdout, stderr },
      { code: 0, stdout: `${CONFIG.name} ${CONFIG.version}\n`, stderr: "" },
      args.join(" "),
    );
  }
  assert.match(CONFIG.name, /^@elasticache-iam\/connector$/);
  assert.match(CONFIG.version, /^\d+\.\d+\.\d+/);
});

Deno.test("token --help describes every flag, --version, the region fallback and the wait", async () => {
  const { code, stdout, stderr } = await runCli(["token", "--help"], {});
  assert.deepEqual({ code, stderr }, { code: 0, stderr: "" });
  assert.ok(stdout.startsWith("Usage: elasticache-iam token "), stdout);
  for (
    const word of [
      "--endpoint",
      "rediss://",
      "--replication-group-id",
      "--serverless-cache-name",
      "--memorydb-cluster-name",
      "--user-id",
      "--region",
      "AWS_REGION",
      "AWS_DEFAULT_REGION",
      "--expires-in",
      "15m",
      "--version",
      "Waiting for AWS credentials",
      "5 seconds",
    ]
  ) {
    assert.ok(stdout.includes(word), word);
  }
});

Deno.test("token errors name the flag typed, never the option name, and exit 1", async () => {
  const cases: [string[], Record<string, string>, string][] = [
    [
      [
        "token",
        "--replication-group-id",
        "rg.example.com",
        "--user-id",
        "u",
        "--region",
        "us-east-1",
      ],
      KEYS,
      "Cannot sign token: '--replication-group-id' must be a cache name (letters, digits and " +
      "single hyphens, starting with a letter; not an endpoint host name), got 'rg.example.com'",
    ],
    [
      ["token", "--memorydb-cluster-name", "my_cluster", "--user-id", "u", "--region", "us-east-1"],
      KEYS,
      "Cannot sign token: '--memorydb-cluster-name' must be a cache name (letters, digits and " +
      "single hyphens, starting with a letter; not an endpoint host name), got 'my_cluster'",
    ],
    [
      ["token", "--serverless-cache-name=", "--user-id", "u", "--region", "us-east-1"],
      KEYS,
      "Cannot sign token: '--serverless-cache-name' must be a non-empty string, got ''",
    ],
    [
      [...GROUP.slice(0, 3), "--user-id", "App_User", "--region", "us-east-1"],
      KEYS,
      "Cannot sign token: '--user-id' must be an ElastiCache user id (a letter, then letters, " +
      "digits or hyphens, optionally prefixed with 'default.'), got 'App_User'",
    ],
    [
      [...GROUP, "--region", "us-east"],
      KEYS,
      "Cannot sign token: '--region' must be an AWS region such as 'us-east-1', got 'us-east'",
    ],
  ];
  for (const [args, env, line] of cases) await refused(args, env, line);
});

Deno.test("token --expires-in takes 1 to 900 seconds, with an optional s or m suffix", async () => {
  for (
    const [given, seconds] of [["15m", 900], ["900s", 900], ["900", 900], ["1", 1], ["2m", 120]]
  ) {
    const { code, stdout, stderr } = await runCli(
      [...GROUP, "--region", "us-east-1", "--expires-in", String(given)],
      KEYS,
    );
    assert.deepEqual({ code, stderr }, { code: 0, stderr: "" }, String(given));
    assert.match(stdout, new RegExp(`&X-Amz-Expires=${seconds}&`), String(given));
  }
  const accepted = "must be 1 to 900 seconds, as a whole number with an optional s or m " +
    "suffix (such as 900, 900s or 15m), got";
  for (
    const [given, got] of [
      ["abc", "'abc'"],
      ["0", "'0'"],
      ["901", "'901'"],
      ["0m", "'0m' (0 seconds)"],
      ["16m", "'16m' (960 seconds)"],
      ["15min", "'15min'"],
      ["1.5", "'1.5'"],
      ["-5", "'-5'"],
      ["", "''"],
    ]
  ) {
    await refused(
      [...GROUP, "--region", "us-east-1", `--expires-in=${given}`],
      KEYS,
      `Cannot sign token: '--expires-in' ${accepted} ${got}`,
    );
  }
});

Deno.test("token --region falls back to AWS_REGION, then AWS_DEFAULT_REGION, and says when neither is set", async () => {
  const regionOf = (stdout: string) =>
    /X-Amz-Credential=[^%]+%2F\d{8}%2F([^%]+)%2F/.exec(stdout)?.[1];
  for (
    const [args, env, region] of [
      [
        ["--region", "eu-west-1"],
        { AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "ap-south-1" },
        "eu-west-1",
      ],
      [[], { AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "ap-south-1" }, "us-west-2"],
      [[], { AWS_DEFAULT_REGION: "ap-south-1" }, "ap-south-1"],
      [[], { AWS_REGION: "", AWS_DEFAULT_REGION: "cn-north-1" }, "cn-north-1"],
    ] as const
  ) {
    const { code, stdout, stderr } = await runCli([...GROUP, ...args], { ...KEYS, ...env });
    assert.deepEqual({ code, stderr }, { code: 0, stderr: "" });
    assert.equal(regionOf(stdout), region, JSON.stringify(env));
  }
  // A bad region read from the environment is named by its variable.
  await refused(
    GROUP,
    { ...KEYS, AWS_REGION: "nowhere", AWS_DEFAULT_REGION: "us-east-1" },
    "Cannot sign token: AWS_REGION must be an AWS region such as 'us-east-1', got 'nowhere'",
  );
  await refused(
    GROUP,
    { ...KEYS, AWS_DEFAULT_REGION: "US-EAST-1" },
    "Cannot sign token: AWS_DEFAULT_REGION must be an AWS region such as 'us-east-1', got " +
      "'US-EAST-1'",
  );
  const { code, stdout, stderr } = await runCli(GROUP, KEYS);
  assert.deepEqual({ code, stdout }, { code: 2, stdout: "" });
  assert.ok(
    stderr.startsWith(
      "Error: flag '--region' is required when neither AWS_REGION nor AWS_DEFAULT_REGION is " +
        "set, nor a region in the AWS profile\n\nUsage: elasticache-iam <command>",
    ),
    stderr,
  );
});

Deno.test("token suggests the cache name inside an endpoint host name, host:port or URL", async () => {
  const refusedName = (flag: string, got: string) =>
    `Cannot sign token: '${flag}' must be a cache name (letters, digits and single hyphens, ` +
    `starting with a letter; not an endpoint host name), got ${got}; it looks like an endpoint of `;
  const cases: [flag: string, value: string, got: string, suggestion: string][] = [
    [
      "--replication-group-id",
      "master.my-group.abc123.use1.cache.amazonaws.com",
      "'master.my-gr…' (47 characters)",
      "the replication group 'my-group': give --replication-group-id my-group",
    ],
    [
      "--replication-group-id",
      "rediss://master.my-group.abc123.use1.cache.amazonaws.com:6379",
      "'rediss://mas…' (61 characters)",
      "the replication group 'my-group': give --replication-group-id my-group",
    ],
    [
      "--replication-group-id",
      "Replica.My-Group.abc123.use1.cache.amazonaws.com:6380",
      "'Replica.My-G…' (53 characters)",
      "the replication group 'my-group': give --replication-group-id my-group",
    ],
    [
      "--replication-group-id",
      "clustercfg.orders.x1y2z3.apse2.cache.amazonaws.com",
      "'clustercfg.o…' (50 characters)",
      "the replication group 'orders': give --replication-group-id orders",
    ],
    [
      "--replication-group-id",
      "orders-0002-001.orders.x1y2z3.cnn1.cache.amazonaws.com.cn",
      "'orders-0002-…' (57 characters)",
      "the replication group 'orders': give --replication-group-id orders",
    ],
    [
      "--replication-group-id",
      "my-cache-abc123.serverless.use1.cache.amazonaws.com",
      "'my-cache-abc…' (51 characters)",
      "the serverless cache 'my-cache': give --serverless-cache-name my-cache",
    ],
    [
      "--serverless-cache-name",
      "valkeys://my-cache-abc123.serverless.use1.cache.amazonaws.com:6379",
      "'valkeys://my…' (66 characters)",
      "the serverless cache 'my-cache': give --serverless-cache-name my-cache",
    ],
    [
      "--replication-group-id",
      "clustercfg.my-cluster.abc123.memorydb.us-east-1.amazonaws.com",
      "'clustercfg.m…' (61 characters)",
      "the MemoryDB cluster 'my-cluster': give --memorydb-cluster-name my-cluster",
    ],
    [
      "--memorydb-cluster-name",
      "my-cluster-0001-001.my-cluster.abc123.memorydb.us-east-1.amazonaws.com",
      "'my-cluster-0…' (70 characters)",
      "the MemoryDB cluster 'my-cluster': give --memorydb-cluster-name my-cluster",
    ],
    // A URL with a password is shown by its length only; the suggestion is the name alone.
    [
      "--replication-group-id",
      "rediss://app:s3cr3t-pa55@master.my-group.abc123.use1.cache.amazonaws.com:6379",
      "a string of 77 characters (not shown: it may hold credentials)",
      "the replication group 'my-group': give --replication-group-id my-group",
    ],
  ];
  for (const [flag, value, got, suggestion] of cases) {
    await refused(
      ["token", flag, value, "--user-id", "app-user", "--region", "us-east-1"],
      KEYS,
      `${refusedName(flag, got)}${suggestion}`,
    );
  }
  // Host names that are not AWS endpoints of a known shape get no guess.
  for (
    const value of [
      "redis.example.com",
      "my-group.abc123.clustercfg.use1.cache.amazonaws.com",
      "other.my-group.abc123.use1.cache.amazonaws.com",
    ]
  ) {
    const { stderr } = await runCli(
      ["token", "--replication-group-id", value, "--user-id", "u", "--region", "us-east-1"],
      KEYS,
    );
    assert.ok(!stderr.includes("it looks like"), stderr);
  }
});

Deno.test("token --endpoint prints the same token as the cache's name and region", async () => {
  const credentials = {
    accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
    secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
    sessionToken: KEYS.AWS_SESSION_TOKEN,
  };
  const cases: [args: string[], env: Record<string, string>, same: Record<string, string>][] = [
    // The example: the primary endpoint instead of --replication-group-id and --region.
    [
      ["--endpoint", "master.my-group.abc123.use1.cache.amazonaws.com", "--user-id", "u"],
      {},
      { replicationGroupId: "my-group", region: "us-east-1", userId: "u" },
    ],
    // A URL names the user; a serverless public endpoint names a serverless cache.
    [
      ["--endpoint=rediss://app-user@my-cache-x2e9hv.public.serverless.euw1.cache.amazonaws.com:6379"],
      {},
      { serverlessCacheName: "my-cache", region: "eu-west-1", userId: "app-user" },
    ],
    // The endpoint's region wins over the environment's.
    [
      ["--endpoint", "clustercfg.my-cluster.abc123.memorydb.ap-southeast-2.amazonaws.com:6379"]
        .concat(["--user-id", "u"]),
      { AWS_REGION: "us-east-1" },
      { memoryDbClusterName: "my-cluster", region: "ap-southeast-2", userId: "u" },
    ],
    [
      ["--endpoint", "rg1-0001-001.rg1.abc123.cnw1.cache.amazonaws.com.cn", "--user-id", "u"],
      {},
      { replicationGroupId: "rg1", region: "cn-northwest-1", userId: "u" },
    ],
    // Flags given win over the endpoint.
    [
      ["--endpoint", "rediss://url-user@master.my-group.abc123.use1.cache.amazonaws.com"]
        .concat(["--region", "eu-west-1", "--user-id", "Flag-User"]),
      {},
      { replicationGroupId: "my-group", region: "eu-west-1", userId: "flag-user" },
    ],
    // A host that names no cache, with the cache's name; the region from AWS_DEFAULT_REGION.
    [
      ["--endpoint", "127.0.0.1:6379", "--serverless-cache-name", "my-cache", "--user-id", "u"],
      { AWS_DEFAULT_REGION: "ap-south-1" },
      { serverlessCacheName: "my-cache", region: "ap-south-1", userId: "u" },
    ],
  ];
  for (const [args, env, same] of cases) {
    const { code, stdout, stderr } = await runCli(["token", ...args], { ...KEYS, ...env });
    assert.deepEqual({ code, stderr }, { code: 0, stderr: "" }, args.join(" "));
    assert.equal(
      stdout,
      await expectedToken(
        stdout,
        { ...same, credentials } as Parameters<typeof createAuthToken>[0],
      ),
      args.join(" "),
    );
  }
});

Deno.test("token --endpoint says which flags a host that names no cache needs, and hides secrets", async () => {
  const flags = "'--replication-group-id', '--serverless-cache-name' or '--memorydb-cluster-name'";
  const secret = "s3cr3t-Pa55w0rd";
  const withPassword = `rediss://app:${secret}@master.rg.abc123.use1.cache.amazonaws.com:6379`;
  const cases: [args: string[], env: Record<string, string>, line: string][] = [
    [
      ["--endpoint", "redis.internal.example:6379", "--user-id", "u"],
      KEYS,
      "Cannot sign token: the '--endpoint' host 'redis.internal.example' is not an ElastiCache or " +
      `MemoryDB endpoint host name, so give the cache's name as ${flags}, and '--region' (or set ` +
      "AWS_REGION)",
    ],
    [
      ["--endpoint", "redis.internal.example:6379", "--user-id", "u"],
      { ...KEYS, AWS_REGION: "us-east-1" },
      "Cannot sign token: the '--endpoint' host 'redis.internal.example' is not an ElastiCache or " +
      `MemoryDB endpoint host name, so give the cache's name as ${flags}`,
    ],
    [
      ["--endpoint", "vpce-0123-abcd.elasticache.us-east-1.vpce.amazonaws.com"]
        .concat(["--replication-group-id", "rg", "--user-id", "u"]),
      KEYS,
      "Cannot sign token: '--region' is required when the '--endpoint' host " +
      "'vpce-0123-ab…' (55 characters) does not name it and neither AWS_REGION nor " +
      "AWS_DEFAULT_REGION is set, nor a region in the AWS profile",
    ],
    [
      ["--endpoint", "rediss://master.rg.abc123.use1.cache.amazonaws.com:6379"],
      KEYS,
      "Cannot sign token: '--user-id' is required when the '--endpoint' URL has no user name " +
      "(rediss://<userId>@<host>)",
    ],
    [
      ["--endpoint", withPassword],
      KEYS,
      "Cannot sign token: '--endpoint' must not hold a password (the IAM auth token is the " +
      `password), got a string of ${withPassword.length} characters (not shown: it may hold ` +
      "credentials)",
    ],
    [
      ["--endpoint", "https://cache.example.com", "--user-id", "u"],
      KEYS,
      "Cannot sign token: '--endpoint' must be a host name or a redis:// or rediss:// URL " +
      "(redis, rediss, valkey or valkeys), got 'https://cach…' (25 characters)",
    ],
  ];
  for (const [args, env, line] of cases) await refused(["token", ...args], env, line);
});

Deno.test("token explains missing credentials and exits 1", async () => {
  const { code, stdout, stderr } = await runCli(
    ["token", "--memorydb-cluster-name", "c", "--user-id", "u", "--region", "us-east-1"],
    { AWS_EC2_METADATA_DISABLED: "true" },
  );
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /^Error: Cannot find AWS credentials: looked at the environment .*\n$/);
  assert.equal(stderr.split("\n").length, 2, "one line");
});

Deno.test("bad flags print the usage and exit 2", async () => {
  for (
    const [args, problem] of [
      [["token", "--cluster", "x"], "Error: unknown flag '--cluster'"],
      [["token", "--user-id"], "Error: flag '--user-id' needs a value"],
      [["token", "--user-id", "--region", "x"], "Error: flag '--user-id' needs a value"],
      [[...GROUP, "--user-id", "b"], "Error: flag '--user-id' is given twice"],
      [
        ["token", "--user-id", "u", "--region", "us-east-1"],
        "Error: give '--endpoint', or one of the flags '--replication-group-id', " +
        "'--serverless-cache-name' or '--memorydb-cluster-name'",
      ],
      [
        [...GROUP, "--serverless-cache-name", "c", "--region", "us-east-1"],
        "Error: flags '--replication-group-id' and '--serverless-cache-name' cannot be given " +
        "together: give one cache",
      ],
      [
        ["token", "--replication-group-id", "rg", "--region", "us-east-1"],
        "Error: flag '--user-id' is required",
      ],
      [[], "Error: no command given"],
      [["tokens"], "Error: unknown command 'tokens'"],
    ] as const
  ) {
    const { code, stdout, stderr } = await runCli([...args], KEYS);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.ok(stderr.startsWith(`${problem}\n\nUsage: elasticache-iam <command>`), stderr);
  }
});

// ------------------------------------------------- slow credentials: a local STS that delays

const STS_KEYS = {
  accessKeyId: "ASIASLOWSTSEXAMPLE01",
  secretAccessKey: "slow/sts/secret/access/key/EXAMPLE000000",
  sessionToken: "IQoJslowStsSessionTokenEXAMPLE",
};
const ROLE_ARN = "arn:aws:iam::123456789012:role/cli-app";

/** An STS on 127.0.0.1 that answers AssumeRoleWithWebIdentity with STS_KEYS after `delayMs`. */
function startSlowSts(delayMs: number) {
  const requests: URLSearchParams[] = [];
  const pending = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const form = new URLSearchParams(await request.text());
      requests.push(form);
      // Wait, unless the server stops first.
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          pending.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, delayMs);
        pending.add(wake);
      });
      const expiration = new Date(Date.now() + 3_600_000).toISOString();
      return new Response(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>${STS_KEYS.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${STS_KEYS.secretAccessKey}</SecretAccessKey>
      <SessionToken>${STS_KEYS.sessionToken}</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/cli-app/cli</Arn>
      <AssumedRoleId>AROAEXAMPLE:cli</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>`,
        { headers: { "content-type": "text/xml" } },
      );
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      for (const wake of [...pending]) wake();
      await server.shutdown();
    },
  };
}

/** The environment of a web identity (EKS IRSA style) whose STS is `endpoint`. */
async function webIdentityEnv(endpoint: string, dir: string): Promise<Record<string, string>> {
  const jwtFile = `${dir}/jwt`;
  await Deno.writeTextFile(jwtFile, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGkifQ.c2lnbmF0dXJl");
  return {
    AWS_ROLE_ARN: ROLE_ARN,
    AWS_WEB_IDENTITY_TOKEN_FILE: jwtFile,
    AWS_ENDPOINT_URL_STS: endpoint,
  };
}

Deno.test("token says on stderr what it waits for when STS takes over a second; stdout stays the token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-token-" });
  try {
    for (const [delayMs, notice] of [[0, false], [1800, true]] as const) {
      await using sts = startSlowSts(delayMs);
      const env = await webIdentityEnv(sts.endpoint, dir);
      const { code, stdout, stderr } = await runCli([...GROUP, "--region", "us-east-1"], env);
      assert.equal(code, 0, stderr);
      assert.equal(
        stderr,
        notice ? `Waiting for AWS credentials (web identity: STS at ${sts.endpoint})…\n` : "",
      );
      assert.equal(
        stdout,
        await expectedToken(stdout, {
          replicationGroupId: "my-group",
          userId: "app-user",
          region: "us-east-1",
          credentials: STS_KEYS,
        }),
      );
      assert.equal(sts.requests.length, 1);
      assert.equal(sts.requests[0]!.get("Action"), "AssumeRoleWithWebIdentity");
      assert.equal(sts.requests[0]!.get("RoleArn"), ROLE_ARN);
      for (const secret of [STS_KEYS.secretAccessKey, STS_KEYS.sessionToken, "eyJ"]) {
        assert.ok(!stderr.includes(secret), "no secret on stderr");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("token gives up on an STS that does not answer, saying what it waited for, and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-token-" });
  try {
    await using sts = startSlowSts(60_000);
    const env = await webIdentityEnv(sts.endpoint, dir);
    const started = performance.now();
    const { code, stdout, stderr } = await runCli([...GROUP, "--region", "us-east-1"], env);
    const elapsed = performance.now() - started;
    assert.deepEqual({ code, stdout }, { code: 1, stdout: "" });
    assert.equal(
      stderr,
      `Waiting for AWS credentials (web identity: STS at ${sts.endpoint})…\n` +
        "Error: Cannot resolve AWS credentials: gave up after 5 seconds waiting for web " +
        `identity: STS at ${sts.endpoint}\n`,
    );
    assert.ok(elapsed >= 5000 && elapsed < 15_000, `${elapsed} ms`);
    assert.ok(sts.requests.length >= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
