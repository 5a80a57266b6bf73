import assert from "node:assert/strict";
import { run } from "./_helpers/iam_emulator.ts";

Deno.test("examples/cluster.ts runs: three shards, hash tags, a pipeline, a failover", async () => {
  const result = await run(Deno.execPath(), ["run", "-A", "examples/cluster.ts"], {});
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    [
      "shards: 0-5460 5461-10921 10922-16383",
      "user 1: Ada <ada@example.com>, visits: 1, 1",
      "after failover: Ada, keys: 4",
      "",
    ].join("\n"),
  );
});
