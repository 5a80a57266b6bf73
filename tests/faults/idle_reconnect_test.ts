/**
 * Fault: a connection idle for longer than a token lives (15 minutes) is cut,
 * and the reconnect must not present the token it was opened with (the most
 * reported IAM failure: valkey-glide#5678, spring-data-redis#2769). The
 * emulator's clock stands in for the idle time.
 */

import assert from "node:assert/strict";
import { startFaultEnv, until } from "./_fault_env.ts";

const MINUTE = 60_000;

/** The access key id a token was signed with. */
function signingKey(token: string | undefined): string {
  const credential = new URLSearchParams(token?.split("?")[1]).get("X-Amz-Credential");
  return credential?.split("/")[0] ?? "";
}

for (const idle of [16 * MINUTE, 2 * 60 * MINUTE]) {
  const label = idle < 60 * MINUTE ? "16 minutes" : "2 hours (past the credentials too)";

  Deno.test(`thin client: reconnect after ${label} idle presents a fresh token`, async () => {
    await using env = await startFaultEnv();
    const client = await env.thin();
    await client.set("idle:thin", "before");
    const id = await client.send(["CLIENT", "ID"]);
    env.emu.clock.advance(idle);
    // Idle, but still authenticated: the old connection works without any new token.
    assert.equal(await client.get("idle:thin"), "before");
    assert.equal(await client.send(["CLIENT", "ID"]), id);
    assert.equal(env.tokens.length, 1);

    assert.equal(await env.killConnections(), 1);
    await until(() => !client.connected, "the cut to reach the client");
    assert.equal(await client.get("idle:thin"), "before", "the next command reconnects");
    assert.notEqual(await client.send(["CLIENT", "ID"]), id);

    assert.equal(env.tokens.length, 2);
    assert.notEqual(env.tokens[1], env.tokens[0], "a new token for the new connection");
    assert.deepEqual(env.refusals(), [], "the gateway never saw a stale token");
    assert.equal(env.accepted(), 2);
    assert.equal(env.mints(), 2);
    if (idle > 60 * MINUTE) {
      assert.equal(env.sts.forwarded, 2, "the expired credentials were replaced through STS");
      assert.notEqual(signingKey(env.tokens[1]), signingKey(env.tokens[0]));
    } else {
      assert.equal(env.sts.forwarded, 1, "the credentials were still good: no STS call");
    }
  });

  Deno.test(`node-redis: reconnect after ${label} idle presents a fresh token`, async () => {
    await using env = await startFaultEnv();
    const { client, errors } = env.nodeRedis();
    await client.connect();
    await client.set("idle:node", "before");
    const id = await client.clientId();
    env.emu.clock.advance(idle);
    assert.equal(await client.get("idle:node"), "before");
    assert.equal(env.tokens.length, 1);

    const ready = new Promise((resolve) => client.once("ready", resolve));
    assert.equal(await env.killConnections(), 1);
    await ready; // node-redis reconnects by itself
    assert.equal(await client.get("idle:node"), "before");
    assert.notEqual(await client.clientId(), id);

    assert.equal(env.tokens.length, 2);
    assert.notEqual(env.tokens[1], env.tokens[0]);
    assert.deepEqual(env.refusals(), []);
    assert.equal(env.accepted(), 2);
    assert.equal(env.mints(), 2);
    assert.equal(env.sts.forwarded, idle > 60 * MINUTE ? 2 : 1);
    assert.ok(errors.every((error) => /closed|reset/i.test(error.message)), String(errors));
    await client.close();
  });
}

Deno.test("thin client: idle until 30 s before the token's end (inside the margin) still reconnects with a fresh token", async () => {
  await using env = await startFaultEnv();
  const client = await env.thin();
  await client.ping();
  env.emu.clock.advance(14.5 * MINUTE); // the first token has 30 s left: too little to hand out
  await env.killConnections();
  await until(() => !client.connected, "the cut");
  assert.equal(await client.ping(), "PONG");
  assert.equal(env.mints(), 2);
  // The new token outlives the old one's end: a reconnect a minute later needs no new mint.
  env.emu.clock.advance(MINUTE);
  await env.killConnections();
  await until(() => !client.connected, "the second cut");
  assert.equal(await client.ping(), "PONG");
  assert.equal(env.tokens.length, 3);
  assert.equal(env.tokens[2], env.tokens[1], "the cached token, still valid, was reused");
  assert.equal(env.mints(), 2);
  assert.deepEqual(env.refusals(), []);
});

Deno.test("thin client and node-redis: reconnects every 4 minutes over an hour never present a stale token", async () => {
  await using env = await startFaultEnv();
  const thin = await env.thin();
  const { client: node } = env.nodeRedis();
  await node.connect();
  for (let minute = 0; minute < 60; minute += 4) {
    env.emu.clock.advance(4 * MINUTE);
    const ready = new Promise((resolve) => node.once("ready", resolve));
    await env.killConnections();
    await ready;
    await until(() => !thin.connected, "the thin client's cut");
    assert.equal(await thin.incr("hourly"), minute / 4 + 1);
    assert.equal(await node.get("hourly"), String(minute / 4 + 1));
  }
  assert.deepEqual(env.refusals(), []);
  // One mint per refresh interval (5 minutes) at most, plus the first.
  assert.ok(env.mints() <= 1 + Math.ceil(60 / 5), `minted ${env.mints()} tokens`);
  await node.close();
});
