/**
 * Fault: TLS set up wrong. The gateway's certificate is checked against
 * another CA, against the wrong host name, and a plaintext client talks to
 * the TLS port. Each must end in a clear error at connect, quickly, and
 * never in a hang or a silent retry loop.
 */

import assert from "node:assert/strict";
import { connect } from "../../src/client.ts";
import { ConnectionClosedError } from "../../src/errors.ts";
import { createTestCertificates } from "../_helpers/client_tls.ts";
import { startRedisServer } from "../_helpers/redis_server.ts";
import { type FaultEnv, sleep, startFaultEnv } from "./_fault_env.ts";

/** How fast a broken TLS setup must fail, in ms (the connect timeout is 10 s). */
const QUICK = 2000;

interface Case {
  readonly name: string;
  /** Thin client options for the case. */
  readonly thin: (env: FaultEnv, otherCa: string) => Record<string, unknown>;
  /** node-redis options for the case. */
  readonly node: (env: FaultEnv, otherCa: string) => Record<string, unknown>;
  /** What a clear message says. */
  readonly clear: RegExp;
  /** What node-redis's rejected `connect()` says. */
  readonly rejection: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: "a CA that did not sign the server's certificate",
    thin: (_env, otherCa) => ({ caCerts: otherCa }),
    node: (_env, otherCa) => ({ caCerts: otherCa }),
    clear: /certificate|issuer/i,
    rejection: /TLS certificate was rejected \(SELF_SIGNED_CERT_IN_CHAIN: .*'caCerts'/,
  },
  {
    name: "a host name the certificate does not name",
    thin: () => ({ servername: "wrong-cache.example.com" }),
    node: () => ({ socket: { servername: "wrong-cache.example.com" } }),
    clear: /not valid for name|does not match|altnames/i,
    rejection: /TLS certificate was rejected \(ERR_TLS_CERT_ALTNAME_INVALID: .*altnames/,
  },
  {
    name: "plaintext to the TLS port",
    thin: () => ({ tls: false }),
    node: (env) => ({ url: env.url.replace("rediss://", "redis://") }),
    clear:
      /the server speaks TLS, but this connection is plaintext; pass 'tls: true'|Unknown RESP type 2[12]/,
    rejection: /the server speaks TLS, .*plaintext; use rediss:\/\//,
  },
];

Deno.test("thin client: each broken TLS setup fails at connect, at once, with a clear error", async (t) => {
  await using env = await startFaultEnv();
  await using other = await createTestCertificates();
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const t0 = performance.now();
      const error = await connect(env.thinOptions(c.thin(env, other.caPem))).catch((e) => e);
      const elapsed = performance.now() - t0;
      assert.ok(error instanceof Error, "the connect failed");
      assert.ok(elapsed < QUICK, `failed in ${Math.round(elapsed)} ms`);
      assert.match(error.message, /^Cannot (connect|decode)|closed/);
      assert.match(error.message, c.clear);
      for (const token of env.tokens) assert.ok(!error.message.includes(token));
    });
  }
  assert.equal(env.accepted(), 0, "nothing was authenticated");
});

Deno.test("node-redis: each broken TLS setup is reported at once as an error event, never ready", async (t) => {
  await using env = await startFaultEnv();
  await using other = await createTestCertificates();
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const { client, errors } = env.nodeRedis(c.node(env, other.caPem));
      const connecting = client.connect().catch((e) => e);
      await sleep(600);
      assert.equal(client.isReady, false);
      assert.ok(errors.length >= 1, "an error event at once");
      assert.ok(errors.length <= 12, `backed off: ${errors.length} attempts in 600 ms`);
      assert.match(errors[0]!.message, c.clear);
      client.destroy();
      await connecting;
    });
  }
  assert.equal(env.accepted(), 0);
});

Deno.test("thin client: TLS to a plaintext port is bounded by connectTimeout", async () => {
  await using redis = await startRedisServer();
  const t0 = performance.now();
  const error = await connect({
    host: redis.hostname,
    port: redis.port,
    tls: true,
    connectTimeout: 500,
  }).catch((e) => e);
  assert.match(
    String(error),
    /TimeoutError: Cannot connect to 127\.0\.0\.1:\d+: no ready connection after 500 ms/,
  );
  assert.ok(performance.now() - t0 < QUICK);
});

Deno.test("thin client: plaintext to a TLS port says that the server speaks TLS", async () => {
  await using env = await startFaultEnv();
  const error = await connect(env.thinOptions({ tls: false })).catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(
    error.message,
    /^Cannot connect to 127\.0\.0\.1:\d+: the server speaks TLS, but this connection is plaintext; pass 'tls: true'$/,
  );
});

Deno.test("node-redis: connect() rejects on a broken TLS setup, at once, with a clear error", async (t) => {
  await using env = await startFaultEnv();
  await using other = await createTestCertificates();
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const { client } = env.nodeRedis(c.node(env, other.caPem));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        client.connect().then(() => "connected", (error: Error) => error),
        new Promise((resolve) => timer = setTimeout(() => resolve("still retrying"), 3000)),
      ]);
      clearTimeout(timer);
      if (client.isOpen) client.destroy();
      assert.ok(outcome instanceof Error, `connect() after 3 s: ${String(outcome)}`);
      assert.match(outcome.message, c.rejection);
      assert.match(outcome.message, /^Cannot connect to 127\.0\.0\.1:\d+: /);
      for (const token of env.tokens) assert.ok(!outcome.message.includes(token));
    });
  }
  assert.equal(env.accepted(), 0);
});
