/**
 * The Lambda examples as a Lambda user builds and runs them: each is bundled
 * with the esbuild command the README documents (the same line, which the
 * example's header repeats with its own file name), in a project whose
 * `node_modules` holds what `npx jsr add` and `npm install` put there
 * (`tests/runtimes/lambda/`), then imported once by Node.js and its
 * `handler(event, context)` called twice on that module instance, as the
 * Lambda runtime does, with web identity credentials from the emulator
 * (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ENDPOINT_URL_STS`).
 */

import assert from "node:assert/strict";
import { nodeImportMs } from "./_helpers/import_time.ts";
import { npmCi } from "./_helpers/npm_ci.ts";
import { exampleEnvironment, run, startIamEmulator } from "./_helpers/iam_emulator.ts";

const ROOT = new URL("../", import.meta.url);
const PROJECT = new URL("runtimes/lambda/", import.meta.url);

/** The README's build command: its one line that starts with `npx esbuild `. */
async function readmeCommand(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const commands = readme.split("\n").filter((line) => line.startsWith("npx esbuild "));
  assert.equal(commands.length, 1, `the README has one esbuild command, got ${commands.length}`);
  return commands[0]!;
}

/** The build command in an example's header, checked against the README's. */
async function headerCommand(example: string): Promise<string> {
  const source = await Deno.readTextFile(new URL(`examples/${example}`, ROOT));
  const commands = [...source.matchAll(/^ \* (npx esbuild .*)$/gm)].map((match) => match[1]!);
  assert.equal(commands.length, 1, `${example} has one esbuild command`);
  const readme = await readmeCommand();
  const entry = readme.split(" ")[2]!;
  assert.equal(
    commands[0],
    readme.replace(` ${entry} `, ` ${example} `),
    `${example}'s command is the README's, with its file name`,
  );
  return commands[0]!;
}

/**
 * Puts the workspace's packages into the project's `node_modules`, where
 * `npx jsr add` puts them: each package's `deno.json` exports as its
 * `package.json` exports, and its `mod.ts` and `src/`.
 */
async function installWorkspacePackages(): Promise<void> {
  for (const dir of ["", "packages/node-redis/"]) {
    const config = JSON.parse(await Deno.readTextFile(new URL(`${dir}deno.json`, ROOT)));
    const target = new URL(`node_modules/${config.name}/`, PROJECT);
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await Deno.mkdir(target, { recursive: true });
    await Deno.writeTextFile(
      new URL("package.json", target),
      JSON.stringify({
        name: config.name,
        version: config.version,
        type: "module",
        exports: config.exports,
      }),
    );
    const copied = await run("cp", ["-R", `${dir}mod.ts`, `${dir}src`, target.pathname], {});
    assert.equal(copied.code, 0, copied.stderr);
  }
}

let ready: Promise<void> | undefined;

/** The project, installed once per test run. */
function project(): Promise<void> {
  ready ??= (async () => {
    const problem = await npmCi(PROJECT.pathname);
    if (problem !== undefined) throw new Error(problem);
    await installWorkspacePackages();
  })();
  return ready;
}

/** What the Lambda runtime does: import the module once, call `handler` per invocation. */
const LAMBDA_RUNTIME = `
  const { handler } = await import(process.argv[1]);
  const context = {
    functionName: "example",
    awsRequestId: "",
    getRemainingTimeInMillis: () => 3000,
    callbackWaitsForEmptyEventLoop: true,
  };
  for (const id of ["invocation-1", "invocation-2"]) {
    context.awsRequestId = id;
    console.log(JSON.stringify(await handler({ queryStringParameters: { page: "lambda" } }, context)));
  }
  process.exit(0); // Lambda freezes the instance; its connection stays open
`;

/**
 * Builds an example with the command in its header, in a folder of the
 * project, and invokes the bundle twice on one module instance.
 */
async function buildAndInvoke(example: string) {
  await project();
  const command = await headerCommand(example);
  const dir = new URL(`build/${crypto.randomUUID()}/`, PROJECT);
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.copyFile(new URL(`examples/${example}`, ROOT), new URL(example, dir));
    const built = await new Deno.Command("sh", {
      args: ["-c", command],
      cwd: dir.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
    await using env = await startIamEmulator();
    await using vars = await exampleEnvironment(env);
    const result = await run(
      "node",
      ["--input-type=module", "-e", LAMBDA_RUNTIME, new URL("dist/index.mjs", dir).pathname],
      vars.vars,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const responses = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(responses.map((response) => response.statusCode), [200, 200]);
    assert.deepEqual(responses.map((response) => JSON.parse(response.body)), [
      { page: "lambda", hits: 1 },
      { page: "lambda", hits: 2 },
    ]);
    assert.equal(env.accepted(), 1, "the warm invocation reused the connection");
    assert.equal(
      env.log.filter((line) => /AssumeRoleWithWebIdentity issued/.test(line)).length,
      1,
      "the credentials came from the web identity token file",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("examples/lambda_handler.mjs: built with the README's esbuild command, runs on Node.js as a Lambda handler with web identity", async () => {
  await buildAndInvoke("lambda_handler.mjs");
});

Deno.test("examples/lambda_node_redis.ts: built with the README's esbuild command, runs on Node.js as a Lambda handler with web identity", async () => {
  await buildAndInvoke("lambda_node_redis.ts");
});

/** Two handlers that differ only in where their AWS credentials come from. */
const HANDLERS = {
  fromEnv: "fromEnv()",
  defaultCredentials: "defaultCredentials()",
} as const;

function handlerSource(credentials: string): string {
  const name = credentials.replace("()", "");
  return `import { connect, ${name}, IamAuth } from "@elasticache-iam/connector";

const auth = new IamAuth({
  replicationGroupId: "replication-group-01",
  userId: "iam-user-01",
  region: "us-east-1",
  credentials: ${credentials},
});

export const handler = async () => {
  const client = await connect({ host: process.env.CACHE_HOST, auth });
  return await client.ping();
};
`;
}

Deno.test("weight: a handler using defaultCredentials() bundles to at most 1.3× the fromEnv() one and imports at most 3 ms slower", async () => {
  await project();
  const command = await readmeCommand();
  const entry = command.split(" ")[2]!;
  const dir = new URL(`build/${crypto.randomUUID()}/`, PROJECT);
  await Deno.mkdir(dir, { recursive: true });
  try {
    const built: Record<string, { bytes: number; importMs: number }> = {};
    for (const [name, credentials] of Object.entries(HANDLERS)) {
      await Deno.writeTextFile(new URL(`${name}.mjs`, dir), handlerSource(credentials));
      const line = command.replace(` ${entry} `, ` ${name}.mjs `)
        .replace("--outfile=dist/index.mjs", `--outfile=dist/${name}.mjs`);
      const output = await new Deno.Command("sh", {
        args: ["-c", line],
        cwd: dir.pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const bundle = new URL(`dist/${name}.mjs`, dir).pathname;
      built[name] = { bytes: (await Deno.stat(bundle)).size, importMs: await nodeImportMs(bundle) };
    }
    const ratio = built.defaultCredentials!.bytes / built.fromEnv!.bytes;
    const slower = built.defaultCredentials!.importMs - built.fromEnv!.importMs;
    // The figures, for a failure's message (the bench reports; this test asserts).
    const figures =
      `fromEnv ${built.fromEnv!.bytes} B, ${built.fromEnv!.importMs.toFixed(1)} ms; ` +
      `defaultCredentials ${built.defaultCredentials!.bytes} B, ` +
      `${built.defaultCredentials!.importMs.toFixed(1)} ms`;
    assert.ok(ratio <= 1.3, `${ratio.toFixed(2)}× the fromEnv() bundle (${figures})`);
    assert.ok(slower <= 3, `${slower.toFixed(1)} ms slower to import (${figures})`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
