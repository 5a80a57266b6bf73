import assert from "node:assert/strict";
import { exampleEnvironment, run, startIamEmulator } from "./_helpers/iam_emulator.ts";

Deno.test("examples/valkey_glide.ts runs against the emulator: token from the token manager, live re-auth", async () => {
  await using env = await startIamEmulator();
  await using example = await exampleEnvironment(env);
  const result = await run(
    Deno.execPath(),
    ["run", "-A", "examples/valkey_glide.ts"],
    example.vars,
    120_000,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /GET example:glide -> hello from valkey-glide/);
  assert.match(result.stdout, /re-auth -> OK/);
  assert.match(result.stdout, /PING -> PONG/);
  assert.equal(env.accepted(), 2, "the connect and the immediate re-auth");
  assert.ok(!env.log.some((line) => line.includes("refused")));
});
