/**
 * Fault: AWS credentials that run out before the token they signed would
 * (an STS session of 15 minutes signs tokens minted late in it; a source that
 * hands out credentials about to expire). A token dies with its credentials,
 * so no token may be handed out past `credentials.expiration − expiryMargin`.
 * Checked against the emulator, which refuses tokens of expired credentials.
 */

import assert from "node:assert/strict";
import { IamAuth } from "../../src/iam_auth.ts";
import type { AwsCredentials } from "../../src/credentials/types.ts";
import { CredentialsError } from "../../src/errors.ts";
import { connect } from "../../src/client.ts";
import type { PolicyDocument } from "@elasticache-iam/emulator";
import { RespTestClient } from "../_helpers/emulator_resp_client.ts";
import { type FaultEnv, startFaultEnv, until } from "./_fault_env.ts";

const MINUTE = 60_000;
/** The token manager's default `expiryMargin`. */
const MARGIN = MINUTE;

/** A bare connection to the gateway that checks tokens with `AUTH` (re-auth after the first). */
class TokenOracle implements AsyncDisposable {
  #conn: Promise<RespTestClient> | undefined;
  constructor(readonly env: FaultEnv) {}

  /**
   * Whether the gateway accepts `token` `ms` from now (emulator time); the
   * clock is put back. The connection is opened again if it was killed.
   */
  async acceptsIn(token: string, ms: number): Promise<boolean> {
    this.env.emu.clock.advance(ms);
    try {
      for (let attempt = 0;; attempt++) {
        this.#conn ??= RespTestClient.connect(this.env.emu.gateway);
        const conn = await this.#conn;
        try {
          return await conn.send("AUTH", "iam-user-01", token) === "OK";
        } catch (error) {
          conn.close();
          this.#conn = undefined;
          if (attempt > 0 || !/closed the connection/.test(String(error))) throw error;
        }
      }
    } finally {
      this.env.emu.clock.advance(-ms);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    (await this.#conn)?.close();
  }
}

Deno.test("15-minute STS sessions: over 45 minutes every token handed out outlives the margin, and both clients reconnect without a refusal", async () => {
  await using env = await startFaultEnv({ durationSeconds: 900 });
  const thin = await env.thin();
  const { client: node } = env.nodeRedis();
  await node.connect();
  await using oracle = new TokenOracle(env);
  const start = env.emu.clock.now();
  let reconnects = 0;
  for (let minute = 1; minute <= 45; minute++) {
    env.emu.clock.set(start + minute * MINUTE);
    const { password } = await env.auth.credentials();
    assert.ok(
      await oracle.acceptsIn(password, MARGIN - 1000),
      `the token handed out at minute ${minute} is still good when its margin begins`,
    );
    if (minute % 3 !== 0) continue;
    reconnects++;
    const ready = new Promise((resolve) => node.once("ready", resolve));
    await env.killConnections();
    await ready;
    await until(() => !thin.connected, "the thin client's cut");
    assert.equal(await thin.incr("expiry"), 2 * reconnects - 1);
    assert.equal(await node.incr("expiry"), 2 * reconnects);
  }
  assert.deepEqual(env.refusals(), [], "no reconnect presented a token of expired credentials");
  // Sessions last 15 minutes and are renewed 5 minutes before their end: about one every 10.
  assert.ok(env.sts.forwarded >= 4 && env.sts.forwarded <= 6, `${env.sts.forwarded} STS calls`);
  await node.close();
});

Deno.test("credentials expiring 3 minutes after signing: the token is dropped with them, never served past them", async () => {
  const base = Math.floor(Date.now() / 1000) * 1000;
  const policy: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "elasticache:Connect", Resource: "*" }],
  };
  const keys = (n: number, expiresIn: number) => ({
    accessKeyId: `ASIAFAULTSHORT${n}`,
    secretAccessKey: `fault-suite-secret-${n}-${crypto.randomUUID()}`,
    sessionToken: `fault-suite-session-${n}-${crypto.randomUUID()}`,
    expiration: new Date(base + expiresIn),
  });
  const short = keys(1, 3 * MINUTE);
  const renewed = keys(2, 60 * MINUTE);
  await using env = await startFaultEnv({
    emulator: {
      iamUsers: [{
        userName: "short-lived",
        policies: [policy],
        temporaryCredentials: [short, renewed],
      }],
    },
  });
  env.emu.clock.set(base);
  const now = () => env.emu.clock.now();
  let current: AwsCredentials = short;
  let resolutions = 0;
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: env.emu.region,
    credentials: () => {
      resolutions++;
      return Promise.resolve(current);
    },
    now,
  });
  const options = {
    host: env.emu.gateway.hostname,
    port: env.emu.gateway.port,
    tls: true,
    caCerts: env.caCertPem,
    auth,
    now,
  };

  const first = (await auth.credentials()).password;
  await (await connect(options)).close();
  env.emu.clock.advance(MINUTE + 30_000); // 1.5 minutes left: still served
  assert.equal((await auth.credentials()).password, first);
  assert.equal(resolutions, 1);

  env.emu.clock.advance(30_000); // 60 s left: inside the margin
  const error = await auth.credentials().catch((e) => e);
  assert.ok(error instanceof CredentialsError, String(error));
  assert.match(error.message, /credentials expire at .*within the 60000 ms safety margin/);
  assert.ok(
    !error.message.includes(short.secretAccessKey) && !error.message.includes(short.sessionToken),
  );
  const refused = await connect(options).catch((e) => e);
  assert.ok(refused instanceof CredentialsError, "the thin client fails at once, with the cause");

  // The danger was real: the server refuses the old token once its credentials are gone.
  await using oracle = new TokenOracle(env);
  assert.equal(await oracle.acceptsIn(first, MINUTE + 1000), false);
  assert.ok(env.log.some((line) => /credentials 'ASIAFAULTSHORT1' expired/.test(line)));

  current = renewed; // the source rotates its credentials
  env.emu.clock.advance(1000); // past the retry backoff (1 s at most after the first failure)
  const next = (await auth.credentials()).password;
  assert.notEqual(next, first);
  assert.match(next, /X-Amz-Credential=ASIAFAULTSHORT2/);
  await using client = await connect(options);
  assert.equal(await client.ping(), "PONG");
});

Deno.test("node-redis: a reconnect while only nearly-expired credentials exist keeps retrying, then recovers by itself", async () => {
  await using env = await startFaultEnv({ durationSeconds: 900 });
  const { client, errors } = env.nodeRedis();
  await client.connect();
  await client.set("kept", "1");
  // The STS goes away; the 15-minute session runs out; the connection drops.
  await env.sts.set({ mode: "refuse" });
  env.emu.clock.advance(14.5 * MINUTE);
  const failures = errors.length;
  await env.killConnections();
  await until(
    () => errors.slice(failures).some((e) => e.name === "CredentialsError"),
    "a credentials error",
  );
  assert.ok(!client.isReady);
  assert.deepEqual(env.refusals(), [], "no token of dying credentials was sent");
  const ready = new Promise((resolve) => client.once("ready", resolve));
  await env.sts.set({ mode: "pass" });
  env.emu.clock.advance(60_000); // past the token manager's backoff
  await ready;
  assert.equal(await client.get("kept"), "1");
  assert.deepEqual(env.refusals(), []);
  await client.close();
});
