import assert from "node:assert/strict";
import { createClient as createRedisClient } from "redis";
import { createIamClient } from "../mod.ts";
import { once, sleep, startIamEmulator } from "../../../tests/_helpers/iam_emulator.ts";

/** The emulator's connection age cap, shortened from 12 hours. */
const CAP = 800;
/** Re-authenticate a third of the way to the cap. */
const REAUTH_AFTER = 200;

Deno.test("a busy connection kept across several connection caps never drops: re-auth extends it", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  const client = createIamClient(createRedisClient, {
    url: env.url,
    auth: env.auth,
    caCerts: env.caCertPem,
    reauthAfter: REAUTH_AFTER,
  });
  const errors: Error[] = [];
  let reconnects = 0;
  client.on("error", (error) => errors.push(error));
  client.on("reconnecting", () => reconnects++);
  await client.connect();
  try {
    const id = await client.clientId();
    const until = Date.now() + 3 * CAP + 100;
    let commands = 0;
    while (Date.now() < until) {
      await client.incr("busy");
      commands++;
      await sleep(15);
    }
    assert.equal(reconnects, 0);
    assert.deepEqual(errors, []);
    assert.equal(await client.clientId(), id, "still the first connection");
    assert.equal(await client.get("busy"), String(commands));
    assert.ok(
      env.accepted() >= 1 + Math.floor(3 * CAP / REAUTH_AFTER) - 2,
      "re-authenticated along the way",
    );
    assert.ok(!env.log.some((line) => line.includes("age cap")), "the gateway never cut it");
  } finally {
    await client.close();
  }
});

Deno.test("with re-auth off, the connection is cut at the cap, then reconnects", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  const client = createIamClient(createRedisClient, {
    url: env.url,
    auth: env.auth,
    caCerts: env.caCertPem,
    reauthAfter: false,
  });
  const errors: Error[] = [];
  client.on("error", (error) => errors.push(error));
  await client.connect();
  try {
    const id = await client.clientId();
    await client.set("kept", "yes");
    const reconnected = once(client, "ready", 5 * CAP);
    await once(client, "reconnecting", 3 * CAP);
    await reconnected;
    assert.ok(env.log.some((line) => line.includes("age cap")), "the gateway cut it");
    assert.ok(errors.some((error) => /closed/i.test(error.message)), "node-redis saw the cut");
    assert.notEqual(await client.clientId(), id, "a new connection");
    assert.equal(await client.get("kept"), "yes");
  } finally {
    await client.close();
  }
});
