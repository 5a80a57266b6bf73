// Runs the conformance suite in workerd: bundles worker.ts as Wrangler would
// (wrangler_bundle.mjs), then loads it in workerd through Miniflare without
// nodejs_compat and runs each case in its own request. Then does the same with
// examples/cloudflare_worker.ts, its "@elasticache-iam/connector" imports
// resolved to this repository, pointed at the emulator's serverless cache with
// a public endpoint (TLS 1.3 only).
//
// Needs CONFORMANCE_CONTROL_URL (the Deno host of tests/runtimes/run.ts) and
// NODE_EXTRA_CA_CERTS (the emulator's CA, which workerd trusts for TLS sockets).
import { after, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { assertWorkerSafe, bundleWorker } from "./wrangler_bundle.mjs";

// Loaded with require() so that `deno check tests/` does not resolve this folder's node_modules.
const require = createRequire(import.meta.url);
const { Miniflare } = require("miniflare");

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const controlUrl = process.env.CONFORMANCE_CONTROL_URL;
if (!controlUrl) {
  throw new Error("Set CONFORMANCE_CONTROL_URL: run this through tests/runtimes/run.ts");
}

const info = await (await fetch(`${controlUrl}/info`)).json();
const suite = await bundleWorker(here("./worker.ts"), here("./dist/worker.mjs"));
const example = await bundleWorker(
  here("../../../examples/cloudflare_worker.ts"),
  here("./dist/cloudflare_worker.mjs"),
);

const mf = new Miniflare({
  modules: true,
  scriptPath: here("./dist/worker.mjs"),
  compatibilityDate: "2025-09-01",
  compatibilityFlags: [],
  bindings: { CONFORMANCE_CONTROL_URL: controlUrl },
});
const exampleWorker = new Miniflare({
  modules: true,
  scriptPath: here("./dist/cloudflare_worker.mjs"),
  compatibilityDate: "2025-09-01",
  compatibilityFlags: [],
  bindings: {
    // The emulator's loopback host names no cache: its name and region come with it.
    ELASTICACHE_URL:
      `rediss://${info.userId}@${info.publicEndpoint.hostname}:${info.publicEndpoint.port}`,
    ELASTICACHE_SERVERLESS_CACHE_NAME: info.publicEndpoint.cacheName,
    ...info.lambdaEnv, // the keys, as secrets; AWS_REGION
  },
});
// Everything asynchronous happens before the first test is registered: node:test
// starts running tests (and the root's after hook) as soon as they are.
const cases = await (await mf.dispatchFetch("http://worker/cases")).json();
after(() => Promise.all([mf.dispose(), exampleWorker.dispose()]));

test("package: the Worker bundles reach no Node built-in (only cloudflare:sockets is external)", () => {
  assertWorkerSafe(suite);
  assertWorkerSafe(example);
});

/** The TLS version a handshake with at most `maxVersion` agrees on, or its error code. */
function handshake({ hostname, port }, maxVersion) {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: hostname,
      port,
      servername: "localhost",
      ca: info.tls.caCertPem,
      maxVersion,
    });
    socket.on("secureConnect", () => {
      resolve(socket.getProtocol() ?? "none");
      socket.destroy();
    });
    socket.on("error", (error) => {
      resolve(error.code ?? error.message);
      socket.destroy();
    });
  });
}

test("examples/cloudflare_worker.ts: a public endpoint by URL over TLS 1.3, secrets from bindings, a socket per request, tokens shared", async () => {
  const stats = async () => (await (await fetch(`${controlUrl}/stats`)).json()).accepted;
  // The example signs with workerd's own clock: put the emulators' clocks back to real time.
  await fetch(`${controlUrl}/clock/reset`, { method: "POST" });
  const before = await stats();
  const path = `/worker-${Math.random().toString(36).slice(2)}`;
  for (const hits of [1, 2]) {
    const response = await exampleWorker.dispatchFetch(`http://worker${path}`);
    const body = await response.json();
    if (response.status !== 200 || body.hits !== hits) {
      throw new Error(`expected ${hits} hits, got ${response.status} ${JSON.stringify(body)}`);
    }
  }
  const accepted = await stats() - before;
  if (accepted !== 2) throw new Error(`expected one AUTH per request, got ${accepted}`);
  // The endpoint the Worker used speaks TLS 1.3 only, as AWS's public endpoints do.
  const refused = await handshake(info.publicEndpoint, "TLSv1.2");
  if (refused !== "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION") {
    throw new Error(`expected a TLS 1.2 handshake to be refused, got ${refused}`);
  }
});

for (const { name, skip } of cases) {
  test(name, skip ? { skip } : {}, async () => {
    const response = await mf.dispatchFetch(`http://worker/run?case=${encodeURIComponent(name)}`);
    const body = await response.json();
    if (!body.ok) throw new Error(body.error);
  });
}
