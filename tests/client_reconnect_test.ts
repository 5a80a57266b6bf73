/**
 * Dropped connections: commands in flight fail (never resent, never lost
 * silently), the next command reconnects with fresh credentials, reconnect
 * attempts back off with jitter, and an idle client does not reconnect.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import type { AuthCredentials, AuthProvider } from "../mod.ts";
import { ConnectionClosedError } from "../src/errors.ts";
import { denoTransport } from "../src/transport/deno.ts";
import type { TransportFactory } from "../src/transport/types.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";

const ALICE = ["--user", "alice", "on", ">secret", "~*", "&*", "+@all"];
const DEBUG = ["--enable-debug-command", "yes"];

class CountingProvider implements AuthProvider {
  calls = 0;
  credentials(): Promise<AuthCredentials> {
    this.calls++;
    return Promise.resolve({ username: "alice", password: "secret" });
  }
}

function countingTransport(): TransportFactory & { opened: number } {
  const factory = ((options) => {
    factory.opened++;
    return denoTransport(options);
  }) as TransportFactory & { opened: number };
  factory.opened = 0;
  return factory;
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a server killed mid-pipeline fails the commands in flight, then the next command reconnects with a new token", async () => {
  const first = await startRedisServer({ args: [...ALICE, ...DEBUG] });
  const auth = new CountingProvider();
  await using client = await connect({ host: first.hostname, port: first.port, auth });
  assert.equal(auth.calls, 1);
  const pipeline = client.pipeline().send(["DEBUG", "SLEEP", "0.5"]);
  for (let i = 0; i < 1000; i++) pipeline.incr("n");
  const pipelined = pipeline.exec().catch((error) => error);
  const single = client.incr("n").catch((error) => error);
  await tick(100);
  Deno.kill(first.pid, "SIGKILL");
  const [pipelineError, singleError] = await Promise.all([pipelined, single]);
  assert.ok(pipelineError instanceof ConnectionClosedError);
  assert.ok(singleError instanceof ConnectionClosedError);
  assert.match(pipelineError.message, /^Connection to 127\.0\.0\.1:\d+ closed/);
  await first.stop();
  assert.equal(client.connected, false);

  await using _second = await startRedisServer({ port: first.port, args: ALICE });
  assert.equal(await client.incr("n"), 1); // nothing was resent
  assert.equal(auth.calls, 2);
  assert.equal(await client.send(["ACL", "WHOAMI"]), "alice");
});

Deno.test("after redis-server restarts, the idle client reconnects lazily on its next command", async () => {
  const transport = countingTransport();
  const first = await startRedisServer();
  await using client = await connect({ host: first.hostname, port: first.port, transport });
  await client.set("k", "before");
  await first.stop();
  while (client.connected) await tick();
  await tick(50);
  assert.equal(transport.opened, 1); // no reconnect while idle
  await using _second = await startRedisServer({ port: first.port });
  assert.equal(await client.get("k"), null); // a new, empty server
  assert.equal(transport.opened, 2);
  assert.equal(client.connected, true);
});

Deno.test("reconnect attempts back off with jitter and give up after `attempts`", async () => {
  const timers = new FakeTimers();
  const transport = countingTransport();
  const redis = await startRedisServer();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    transport,
    timers,
    now: timers.now,
    reconnect: { attempts: 3, minDelay: 100, maxDelay: 1000 },
  });
  await redis.stop();
  while (client.connected) await tick();
  const failed = client.ping().catch((error) => error);
  const delays: number[] = [];
  while (transport.opened < 4) {
    await tick();
    if (timers.pending > 0) {
      const before = timers.now();
      timers.advance(1000);
      delays.push(timers.now() - before);
    }
  }
  const error = await failed;
  assert.ok(error instanceof ConnectionClosedError);
  assert.match(error.message, /^Cannot connect to 127\.0\.0\.1:\d+: /);
  assert.equal(transport.opened, 4); // the first connection, then 3 attempts
  assert.equal(delays.length, 2); // a backoff between attempts, none after the last
});

Deno.test("a reconnect that succeeds during the backoff serves the waiting commands", async () => {
  const timers = new FakeTimers();
  const transport = countingTransport();
  const first = await startRedisServer();
  await using client = await connect({
    host: first.hostname,
    port: first.port,
    transport,
    timers,
    now: timers.now,
    reconnect: { attempts: 5, minDelay: 100, maxDelay: 1000 },
  });
  await first.stop();
  while (client.connected) await tick();
  const waiting = Promise.all([client.set("a", "1"), client.get("a")]);
  while (timers.pending === 0) await tick();
  await using _second = await startRedisServer({ port: first.port });
  timers.advance(1000);
  assert.deepEqual(await waiting, ["OK", "1"]);
});

Deno.test("with reconnect: false, commands after a drop fail", async () => {
  const redis = await startRedisServer();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    reconnect: false,
  });
  await redis.stop();
  while (client.connected) await tick();
  await assert.rejects(
    client.ping(),
    (error: unknown) =>
      error instanceof ConnectionClosedError && /reconnect is off/.test(error.message),
  );
});

Deno.test("closing the client during a reconnect backoff stops it and clears its timer", async () => {
  const timers = new FakeTimers();
  const redis = await startRedisServer();
  const client = await connect({
    host: redis.hostname,
    port: redis.port,
    timers,
    now: timers.now,
  });
  await redis.stop();
  while (client.connected) await tick();
  const failed = client.ping().catch((error) => error);
  while (timers.pending === 0) await tick();
  await client.close();
  assert.ok(await failed instanceof ConnectionClosedError);
  assert.equal(timers.pending, 0);
});
