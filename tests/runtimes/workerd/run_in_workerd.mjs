// Bundles worker.ts (the thin client over cloudflare:sockets) and runs it in
// workerd through Miniflare against a redis-server this test starts and stops by PID.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

// Loaded with require() so that `deno check tests/` does not resolve this folder's node_modules.
const require = createRequire(import.meta.url);
const { build } = require("esbuild");
const { Miniflare } = require("miniflare");

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let redis;
let port;

before(async () => {
  port = await freePort();
  redis = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--user",
    "alice",
    "on",
    ">secret",
    "~*",
    "&*",
    "+@all",
  ], { stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await build({
    entryPoints: [here("./worker.ts")],
    outfile: here("./dist/worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:sockets"],
    logLevel: "warning",
  });
});

after(async () => {
  redis.kill("SIGTERM");
  await new Promise((resolve) => redis.once("exit", resolve));
});

test("the thin client runs in workerd with the ./cloudflare transport", async () => {
  const mf = new Miniflare({
    modules: true,
    scriptPath: here("./dist/worker.mjs"),
    compatibilityDate: "2025-09-01",
    bindings: { REDIS_PORT: String(port) },
  });
  try {
    const response = await mf.dispatchFetch("http://localhost/");
    const body = await response.json();
    assert.equal(body.ok, true, body.error);
    assert.deepEqual(body.seen, {
      whoami: "alice",
      set: "OK",
      get: "from workerd",
      hgetall: { a: "1" },
      pipelineLast: 1000,
      multi: [1001, "1001"],
      replyError: "ERR",
      messages: ["hello"],
      wrongPassword: "AuthenticationError",
    });
  } finally {
    await mf.dispose();
  }
});
