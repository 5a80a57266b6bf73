/**
 * Fault: the client's clock is off by ten minutes (the emulator's clock is
 * the server's truth; the token manager and clients read a skewed one).
 *
 * - Ahead by 10 minutes, every token is signed "in the future" and refused,
 *   even a fresh one: the error must tell the user to check the clock.
 * - Behind by 10 minutes, a 15-minute token has 5 minutes left when it is
 *   born: connections still work, a token the server already finds expired
 *   is replaced by a fresh one; with shorter tokens nothing works, and the
 *   error says to check the clock.
 */

import assert from "node:assert/strict";
import { connect } from "../../src/client.ts";
import { AuthenticationError } from "../../src/errors.ts";
import { sleep, startFaultEnv, until } from "./_fault_env.ts";

const MINUTE = 60_000;

Deno.test("clock 10 minutes ahead: the thin client's connect fails with an error that says to check the clock", async () => {
  await using env = await startFaultEnv({ skewMs: 10 * MINUTE });
  const t0 = performance.now();
  const error = await connect(env.thinOptions()).catch((e) => e);
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.match(error.message, /clock/i);
  assert.match(error.message, /also after minting a fresh one/);
  assert.ok(performance.now() - t0 < 2000, "no hang");
  assert.equal(env.tokens.length, 2, "the cached token, then one fresh token");
  assert.equal(env.refusals().length, 2);
  assert.ok(env.refusals().every((line) => /in the future/.test(line)));
  for (const token of env.tokens) assert.ok(!error.message.includes(token));
});

Deno.test("clock 10 minutes ahead after connecting: node-redis reports the refused re-auth with the clock among the causes, and keeps the connection", async () => {
  await using env = await startFaultEnv();
  const { client, errors } = env.nodeRedis({ reauthAfter: 300 });
  await client.connect();
  const id = await client.clientId();
  env.setSkew(10 * MINUTE);
  env.emu.clock.advance(6 * MINUTE); // the cached token is due for a refresh: new ones are skewed
  await until(
    () => errors.some((e) => e instanceof AuthenticationError),
    "the re-auth failure",
    5000,
  );
  const failure = errors.find((e) => e instanceof AuthenticationError)!;
  assert.match(failure.message, /clock/i);
  for (const token of env.tokens) assert.ok(!failure.message.includes(token));
  assert.equal(
    await client.clientId(),
    id,
    "the connection keeps its identity until the server cuts it",
  );
  await client.close();
});

Deno.test("clock 10 minutes ahead after connecting: the thin client reports the refused re-auth to onError, with the clock among the causes", async () => {
  await using env = await startFaultEnv();
  const errors: Error[] = [];
  const client = await env.thin({ reauthAfter: 300, onError: (e) => errors.push(e) });
  const id = await client.send(["CLIENT", "ID"]);
  env.setSkew(10 * MINUTE);
  env.emu.clock.advance(6 * MINUTE);
  await sleep(350);
  assert.equal(await client.send(["CLIENT", "ID"]), id); // due: starts the re-auth
  await until(() => errors.length > 0, "the re-auth failure");
  assert.ok(errors[0] instanceof AuthenticationError, String(errors[0]));
  assert.match(errors[0].message, /clock/i);
  assert.equal(await client.send(["CLIENT", "ID"]), id, "still connected");
});

Deno.test("clock 10 minutes behind: connections still work; a token the server finds expired is replaced once by a fresh one", async () => {
  await using env = await startFaultEnv({ skewMs: -10 * MINUTE });
  const thin = await env.thin();
  const { client: node } = env.nodeRedis();
  await node.connect();
  assert.equal(await thin.set("skew", "behind"), "OK");
  assert.equal(env.refusals().length, 0, "a fresh token still has 5 minutes on the server");
  // Six minutes later the cached token looks 6 minutes old to the client, 16 to the server.
  env.emu.clock.advance(6 * MINUTE);
  const ready = new Promise((resolve) => node.once("ready", resolve));
  await env.killConnections();
  await until(() => !thin.connected, "the cut");
  assert.equal(await thin.get("skew"), "behind", "the thin client reconnected");
  await ready;
  assert.equal(await node.get("skew"), "behind", "node-redis reconnected");
  const refused = env.refusals();
  assert.ok(refused.length >= 1 && refused.length <= 2, refused.join("\n"));
  assert.ok(refused.every((line) => /expired/.test(line)));
  await node.close();
});

Deno.test("clock 10 minutes behind with 5-minute tokens: the error says to check the clock", async () => {
  await using env = await startFaultEnv({
    skewMs: -10 * MINUTE,
    auth: { expiresIn: 300, refreshAfter: 60_000 },
  });
  const error = await connect(env.thinOptions()).catch((e) => e);
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.match(error.message, /clock/i);
  assert.ok(env.refusals().every((line) => /expired/.test(line)));
});

Deno.test("clock 10 minutes ahead: node-redis connect() rejects once a fresh token is refused too, saying to check the clock", async () => {
  await using env = await startFaultEnv({ skewMs: 10 * MINUTE });
  const { client, errors } = env.nodeRedis();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    client.connect().then(() => "connected", (error: Error) => error),
    new Promise((resolve) => timer = setTimeout(() => resolve("still retrying"), 4000)),
  ]);
  clearTimeout(timer);
  if (client.isOpen) client.destroy();
  assert.ok(outcome instanceof Error, `connect() after 4 s: ${String(outcome)}`);
  assert.match(outcome.message, /clock/i);
  assert.match(outcome.message, /also after minting a fresh one/);
  const failure = errors.find((e) => e instanceof AuthenticationError);
  assert.ok(failure, "an error event with the likely causes");
  assert.match(failure.message, /clock/i);
  assert.equal(env.refusals().length, 2, "the cached token, then one fresh token");
  for (const token of env.tokens) {
    assert.ok(!outcome.message.includes(token) && !failure.message.includes(token));
  }
});
