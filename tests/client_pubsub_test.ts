/**
 * RESP3 pub/sub on the client's own connection: messages to listeners,
 * commands still running alongside, unsubscribing, and subscriptions that
 * survive a reconnect.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await tick();
  }
}

Deno.test("messages reach channel and pattern listeners while commands keep running", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  await using publisher = await connect({ host: redis.hostname, port: redis.port });
  const seen: string[] = [];
  await using news = await client.subscribe(
    ["news", "alerts"],
    (message, channel) => seen.push(`${channel}:${message}`),
  );
  await using _patterned = await client.psubscribe(
    "news.*",
    (message, channel, pattern) => seen.push(`${pattern}>${channel}:${message}`),
  );
  assert.deepEqual(news.names, ["news", "alerts"]);
  // The subscribed RESP3 connection still runs ordinary commands.
  assert.equal(await client.set("k", "v"), "OK");
  assert.equal(await publisher.publish("news", "one"), 1);
  assert.equal(await publisher.publish("news.tech", "two"), 1);
  assert.equal(await publisher.publish("alerts", "three"), 1);
  assert.equal(await client.get("k"), "v");
  await until(() => seen.length === 3, "three messages");
  assert.deepEqual(seen, ["news:one", "news.*>news.tech:two", "alerts:three"]);
  await news.unsubscribe();
  assert.equal(await publisher.publish("news", "four"), 0);
  assert.equal(await publisher.publish("news.x", "five"), 1);
  await until(() => seen.length === 4, "the pattern message");
  assert.equal(await client.publish("self", "x"), 0);
});

Deno.test("two listeners on one channel are removed one at a time", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  const a: string[] = [];
  const b: string[] = [];
  const first = await client.subscribe("c", (message) => a.push(message));
  await using _second = await client.subscribe("c", (message) => b.push(message));
  await client.publish("c", "1");
  await until(() => a.length === 1 && b.length === 1, "both listeners");
  await first.unsubscribe();
  await first.unsubscribe(); // harmless twice
  assert.equal(await client.publish("c", "2"), 1); // still subscribed for the second
  await until(() => b.length === 2, "the second listener");
  assert.deepEqual(a, ["1"]);
});

Deno.test("a listener that throws is reported to onError and others still run", async () => {
  await using redis = await startRedisServer();
  const errors: Error[] = [];
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    onError: (error) => errors.push(error),
  });
  const seen: string[] = [];
  await using _bad = await client.subscribe("c", () => {
    throw new Error("listener failed");
  });
  await using _good = await client.subscribe("c", (message) => seen.push(message));
  await client.publish("c", "x");
  await until(() => seen.length === 1, "the message");
  assert.equal(errors[0]?.message, "listener failed");
});

Deno.test("subscriptions are restored after the server restarts", async () => {
  const first = await startRedisServer();
  await using client = await connect({ host: first.hostname, port: first.port });
  const seen: string[] = [];
  await using _sub = await client.subscribe("c", (message) => seen.push(message));
  await first.stop();
  await using second = await startRedisServer({ port: first.port });
  // The client reconnects on its own because a listener depends on it.
  await until(() => client.connected, "the reconnect");
  await using publisher = await connect({ host: second.hostname, port: second.port });
  for (let i = 0; i < 200 && seen.length === 0; i++) {
    await publisher.publish("c", "after restart");
    await tick(10);
  }
  assert.equal(seen[0], "after restart");
});

Deno.test("pub/sub needs RESP3", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port, protocol: 2 });
  await assert.rejects(client.subscribe("c", () => {}), TypeError);
  await assert.rejects(client.subscribe([], () => {}), TypeError);
});
