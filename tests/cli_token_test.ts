import assert from "node:assert/strict";
import { createAuthToken } from "../mod.ts";
import { parseAmzDate } from "./_helpers/token_vectors.ts";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;

async function runCli(args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "--allow-read", "--allow-net", CLI, ...args],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
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
  const signingDate = parseAmzDate(date);
  assert.ok(signingDate.getTime() >= before - 1000);
  const expected = await createAuthToken({
    serverlessCacheName: "my-cache",
    userId: "app-user",
    region: "eu-west-1",
    expiresIn: 300,
    signingDate,
    credentials: {
      accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
      secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
      sessionToken: KEYS.AWS_SESSION_TOKEN,
    },
  });
  assert.equal(stdout, `${expected}\n`);
});

Deno.test("token reports bad input on one stderr line and exits 1, without secrets", async () => {
  const { code, stdout, stderr } = await runCli(
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
  );
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    "Error: Cannot sign token: 'replicationGroupId' must be a cache name (letters, digits and single " +
      "hyphens, starting with a letter; not an endpoint host name), got 'rg.example.com'\n",
  );
});

Deno.test("token explains missing credentials and exits 1", async () => {
  const { code, stdout, stderr } = await runCli(
    ["token", "--memorydb-cluster-name", "c", "--user-id", "u", "--region", "us-east-1"],
    {},
  );
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /^Error: Cannot find AWS credentials: tried the environment .*\n$/);
  assert.equal(stderr.split("\n").length, 2, "one line");
});

Deno.test("bad flags print the usage and exit 2", async () => {
  for (
    const [args, problem] of [
      [["token", "--cluster", "x"], "Error: unknown flag '--cluster'"],
      [["token", "--user-id"], "Error: flag '--user-id' needs a value"],
      [
        ["token", "--replication-group-id", "rg", "--user-id", "u"],
        "Error: flag '--region' is required",
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
