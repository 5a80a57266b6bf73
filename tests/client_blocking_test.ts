/**
 * Blocking commands on connections of their own (`src/client/blocking.ts`):
 * `BLPOP q 2` never delays a `GET` sent meanwhile; several blocking commands
 * are served at once, up to the cap, and past it wait a bounded time;
 * `close()` ends a `BLPOP q 0` at once and leaves no timer or socket; a
 * blocking connection killed mid-wait fails its command and is reopened by
 * the next; the timeout is the command's own plus `commandTimeout`; what
 * stays on the client's connection (transactions, pipelines, `WAIT`); the
 * database, client name and protocol carried over; and, through the
 * emulator, a fresh token at the blocking connection's own connect and its
 * re-authentication while a `BLPOP` waits, on the thin and the cluster client.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import { connectCluster } from "../src/cluster/client.ts";
import { BLOCKING_IDLE_CLOSE, MAX_BLOCKING_CONNECTIONS } from "../src/client/blocking.ts";
import type { Timers } from "../src/client/timers.ts";
import { ConnectionClosedError, ReplyError, TimeoutError } from "../src/errors.ts";
import type { RedisClient } from "../src/client/redis_client.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { startFakeServer, withHandshake } from "./_helpers/client_fake_server.ts";
import { startIamEmulator } from "./_helpers/iam_emulator.ts";
import { startIamCluster } from "./_helpers/iam_cluster.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { keySlot } from "../src/cluster/slot.ts";
import type { EmulatorClusterNode } from "@elasticache-iam/emulator";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (5 s at most) until `condition` holds. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await tick();
  }
}

/** What a promise has come to so far. */
function watch(promise: Promise<unknown>): { outcome: unknown } {
  const state: { outcome: unknown } = { outcome: "pending" };
  promise.then((value) => state.outcome = value, (error) => state.outcome = error);
  return state;
}

/** The server's connections, as `CLIENT LIST` shows them (fields by name). */
async function clientList(client: RedisClient): Promise<Record<string, string>[]> {
  const text = String(await client.send(["CLIENT", "LIST"]));
  return text.trim().split("\n").map((line) =>
    Object.fromEntries(
      line.split(" ").map((field) => {
        const at = field.indexOf("=");
        return [field.slice(0, at), field.slice(at + 1)];
      }),
    )
  );
}

/** How many clients the server has blocked on a key. */
async function blockedClients(client: RedisClient): Promise<number> {
  const info = String(await client.send(["INFO", "clients"]));
  return Number(/^blocked_clients:(\d+)/m.exec(info)![1]);
}

Deno.test("BLPOP q 2 in flight never delays the GETs sent meanwhile", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  await client.set("k", "v");
  const popped = watch(client.send(["BLPOP", "q", "2"]));
  await until(async () => await blockedClients(client) === 1, "the BLPOP to block");
  let slowest = 0;
  for (let i = 0; i < 100; i++) {
    const started = performance.now();
    assert.equal(await client.get("k"), "v");
    slowest = Math.max(slowest, performance.now() - started);
  }
  assert.ok(slowest < 200, `the slowest GET took ${slowest.toFixed(1)} ms`);
  assert.equal(popped.outcome, "pending", "the BLPOP still waits");
  const blocked = (await clientList(client)).filter((c) => c.cmd === "blpop");
  assert.equal(blocked.length, 1, "on a connection of its own");
  assert.equal(await client.rpush("q", "job"), 1);
  await until(() => popped.outcome !== "pending", "the BLPOP");
  assert.deepEqual(popped.outcome, ["q", "job"]);
});

Deno.test("two concurrent BLPOPs are both served, each on its own connection", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  const first = client.send(["BLPOP", "q", "5"]);
  const second = client.send(["BRPOP", "q", "5"]);
  await until(async () => await blockedClients(client) === 2, "both to block");
  await client.rpush("q", "a", "b");
  const replies = await Promise.all([first, second]);
  assert.deepEqual(replies.map((reply) => (reply as string[])[1]).sort(), ["a", "b"]);
  // Done: both connections are free, and the next blocking command takes one of them.
  await client.rpush("q", "c");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "c"]);
  assert.equal((await clientList(client)).length, 3, "the client's, and two blocking ones");
  // An error reply frees its connection too.
  await client.set("text", "v");
  await assert.rejects(client.send(["BLPOP", "text", "1"]), { code: "WRONGTYPE" });
  await client.rpush("q", "d");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "d"]);
  assert.equal((await clientList(client)).length, 3);
});

Deno.test("close() ends BLPOP q 0 at once with a ConnectionClosedError, leaving no timer or socket", async () => {
  await using redis = await startRedisServer();
  const client = await connect({ host: redis.hostname, port: redis.port });
  const forever = client.send(["BLPOP", "q", "0"]).catch((error) => error);
  await until(async () => await blockedClients(client) === 1, "the BLPOP to block");
  const started = performance.now();
  await client.close();
  const error = await forever;
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, /blocking connection\) closed by the client/);
  assert.ok(performance.now() - started < 500, "no wait for a reply that comes only when served");
  await assert.rejects(client.send(["BLPOP", "q", "1"]), /the client is closed/);
  // Deno's sanitizers check that no timer or socket is left.
});

Deno.test("a blocking connection killed mid-wait fails its command; the next one reconnects", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  const waiting = client.send(["BLPOP", "q", "0"]).catch((error) => error);
  await until(async () => await blockedClients(client) === 1, "the BLPOP to block");
  const victim = (await clientList(client)).find((c) => c.cmd === "blpop")!;
  assert.equal(await client.send(["CLIENT", "KILL", "ID", victim.id!]), 1);
  const error = await waiting;
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(
    error.message,
    /^Connection to 127\.0\.0\.1:\d+ \(blocking connection\) closed by the server$/,
  );
  assert.equal(await client.get("k"), null, "the client's own connection is untouched");
  const next = client.send(["BLPOP", "q", "5"]);
  await until(async () => await blockedClients(client) === 1, "the next BLPOP to block");
  const reopened = (await clientList(client)).find((c) => c.cmd === "blpop")!;
  assert.notEqual(reopened.id, victim.id, "on a new connection");
  await client.rpush("q", "job");
  assert.deepEqual(await next, ["q", "job"]);
});

Deno.test("a blocking command times out after its own timeout plus commandTimeout, not before", async () => {
  await using redis = await startRedisServer();
  const timers = new FakeTimers();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    commandTimeout: 1000,
    now: timers.now,
    timers,
  });
  // The server blocks for 10 s of real time; the client's clock is moved by hand.
  const popped = watch(client.send(["BLPOP", "q", "10"]));
  await until(async () => await blockedClients(client) === 1, "the BLPOP to block");
  timers.advance(10_999);
  await tick(20);
  assert.equal(popped.outcome, "pending", "within 10 s + the 1 s margin");
  assert.equal(await client.ping(), "PONG", "the client's connection serves meanwhile");
  timers.advance(1);
  await until(() => popped.outcome !== "pending", "the timeout");
  const timedOut = popped.outcome as unknown; // moved on since it was checked as pending
  assert.ok(timedOut instanceof TimeoutError, String(timedOut));
  assert.match(timedOut.message, /blocking connection\) timed out after 11000 ms/);
  // The timed-out connection was closed; the server unblocked it, and the next one opens anew.
  await until(async () => await blockedClients(client) === 0, "the server to drop it");
  await client.rpush("q", "job");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "job"]);
});

Deno.test(`past ${MAX_BLOCKING_CONNECTIONS} blocking commands, the next waits for a free connection, at most connectTimeout`, async () => {
  await using redis = await startRedisServer();
  const timers = new FakeTimers();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    connectTimeout: 2000,
    now: timers.now,
    timers,
  });
  const busy = Array.from(
    { length: MAX_BLOCKING_CONNECTIONS },
    (_, i) => client.send(["BLPOP", `q${i}`, "0"]),
  );
  const outcomes = busy.map(watch);
  await until(
    async () => await blockedClients(client) === MAX_BLOCKING_CONNECTIONS,
    "every connection to block",
  );
  // One more waits for a connection; when one comes free it takes it.
  const queued = watch(client.send(["BLPOP", "extra", "0"]));
  await tick(20);
  assert.equal(queued.outcome, "pending");
  assert.equal(await blockedClients(client), MAX_BLOCKING_CONNECTIONS, "not sent yet");
  await client.rpush("q0", "a");
  assert.deepEqual(await busy[0], ["q0", "a"]);
  await until(
    async () => await blockedClients(client) === MAX_BLOCKING_CONNECTIONS,
    "extra to block",
  );
  assert.equal(
    (await clientList(client)).length,
    MAX_BLOCKING_CONNECTIONS + 1,
    "no new connection",
  );
  // With every connection busy, a waiting one fails after connectTimeout.
  const late = watch(client.send(["BZPOPMIN", "z", "0"]));
  await tick(20);
  timers.advance(1999);
  await tick(20);
  assert.equal(late.outcome, "pending");
  timers.advance(1);
  await until(() => late.outcome !== "pending", "the wait to end");
  const waited = late.outcome as unknown;
  assert.ok(waited instanceof TimeoutError);
  assert.equal(
    waited.message,
    `Cannot send BZPOPMIN to 127.0.0.1:${redis.port}: all ${MAX_BLOCKING_CONNECTIONS} blocking connections stayed busy for 2000 ms (connectTimeout); each blocking command holds one until the server serves it: run fewer at once, or give them shorter timeouts`,
  );
  // close() fails one still waiting, and every one in flight, at once.
  const waiting = client.send(["BLPOP", "last", "0"]).catch((error) => error);
  await client.close();
  assert.ok(await waiting instanceof ConnectionClosedError);
  for (const blocked of outcomes.slice(1)) {
    assert.ok(blocked.outcome instanceof ConnectionClosedError, String(blocked.outcome));
  }
  await assert.rejects(client.send(["BLPOP", "x", "0"]), ConnectionClosedError);
  assert.ok(queued.outcome as unknown instanceof ConnectionClosedError);
});

Deno.test("an idle blocking connection is closed after a while; the next blocking command opens one", async () => {
  await using redis = await startRedisServer();
  const timers = new FakeTimers();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    now: timers.now,
    timers,
  });
  await client.rpush("q", "a", "b");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "a"]);
  assert.equal((await clientList(client)).length, 2);
  timers.advance(BLOCKING_IDLE_CLOSE - 1);
  await tick(20);
  assert.equal((await clientList(client)).length, 2, "kept while it may be used again");
  timers.advance(1);
  await until(async () => (await clientList(client)).length === 1, "the idle one to close");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "b"]);
  assert.equal((await clientList(client)).length, 2);
});

Deno.test("what stays on the client's connection: MULTI, pipelines, WAIT, a non-blocking XREAD", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  // A transaction's BLPOP does not block: EXEC runs it at once.
  assert.deepEqual(await client.multi().send(["BLPOP", "q", "5"]).exec(), [null]);
  // A MULTI sent by hand, not yet answered, holds the BLPOP in the transaction too.
  const opened = client.send(["MULTI"]);
  const queued = client.send(["BLPOP", "q", "5"]);
  assert.equal(await opened, "OK");
  assert.equal(await queued, "QUEUED");
  assert.deepEqual(await client.send(["EXEC"]), [null]);
  // WAIT waits for this connection's writes: it must run where they went.
  await client.set("k", "v");
  assert.equal(await client.send(["WAIT", "0", "100"]), 0);
  // XREAD without BLOCK does not block.
  await client.send(["XADD", "s", "*", "f", "v"]);
  assert.ok(await client.send(["XREAD", "STREAMS", "s", "0"]) instanceof Map);
  // A pipeline's BLPOP on a list with an element answers at once.
  await client.rpush("q", "a");
  assert.deepEqual(await client.pipeline().send(["BLPOP", "q", "1"]).exec(), [["q", "a"]]);
  assert.equal((await clientList(client)).length, 1, "no blocking connection was opened");
  // A refused MULTI opens no transaction: the BLPOP after it goes to its own connection.
  await assert.rejects(client.send(["MULTI", "extra"]), ReplyError);
  const popped = client.send(["BLPOP", "q", "5"]);
  await until(async () => await blockedClients(client) === 1, "the BLPOP to block");
  await client.rpush("q", "b");
  assert.deepEqual(await popped, ["q", "b"]);
});

Deno.test("the blocking connection carries the database, client name and protocol the client's has", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    db: 2,
    clientName: "worker",
    protocol: 2,
  });
  await client.rpush("q", "in-2");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "in-2"]);
  const opened = await clientList(client);
  assert.deepEqual(
    opened.map(({ db, name, resp }) => ({ db, name, resp })),
    [{ db: "2", name: "worker", resp: "2" }, { db: "2", name: "worker", resp: "2" }],
  );
  // A SELECT and a CLIENT SETNAME that succeeded carry to the (open, idle) blocking connection.
  assert.equal(await client.send(["SELECT", "5"]), "OK");
  assert.equal(await client.send(["CLIENT", "SETNAME", "renamed"]), "OK");
  await client.rpush("q", "in-5");
  const encoder = new TextEncoder();
  assert.deepEqual(await client.send(["BLPOP", "q", "1"], { bytes: true }), [
    encoder.encode("q"),
    encoder.encode("in-5"),
  ]);
  const after = await clientList(client);
  assert.deepEqual(after.map(({ db, name }) => ({ db, name })), [
    { db: "5", name: "renamed" },
    { db: "5", name: "renamed" },
  ]);
  // The client's own connection, reopened, selects it again too.
  const own = after.find((c) => c.cmd === "client|list")!;
  await client.send(["CLIENT", "KILL", "ID", own.id!, "SKIPME", "no"]).catch(() => {});
  await until(() => !client.connected, "the client's connection to drop");
  assert.equal(await client.llen("q"), 0);
  await client.rpush("q", "again");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "again"]);
  const reopened = (await clientList(client)).find((c) => c.cmd === "client|list")!;
  assert.deepEqual([reopened.db, reopened.name], ["5", "renamed"]);
  // In a transaction, SELECT applies when EXEC runs it; in a pipeline, when it runs.
  assert.deepEqual(await client.multi().send(["SELECT", "7"]).exec(), ["OK"]);
  await client.rpush("q", "in-7");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "in-7"]);
  assert.deepEqual(await client.pipeline().send(["SELECT", "8"]).rpush("q", "in-8").exec(), [
    "OK",
    1,
  ]);
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "in-8"]);
  // One that failed changes nothing.
  await assert.rejects(client.send(["SELECT", "100000"]), ReplyError);
  await client.rpush("q", "still-8");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "still-8"]);
  assert.deepEqual((await clientList(client)).map(({ db }) => db), ["8", "8"]);
});

Deno.test("a blocking connection whose peer never answers the handshake: bounded by connectTimeout, ended by close()", async () => {
  const timers = new FakeTimers();
  // The client's connection (0) is served; the blocking ones (1, 2) never hear back.
  const served = withHandshake((_command, connection) => connection.write("$-1\r\n"));
  await using server = startFakeServer((command, connection) =>
    connection.index === 0 ? served(command, connection) : undefined
  );
  const client = await connect({
    host: server.hostname,
    port: server.port,
    connectTimeout: 1000,
    reconnect: false,
    now: timers.now,
    timers,
  });
  assert.equal(await client.get("k"), null);
  const stalled = watch(client.send(["BLPOP", "q", "0"]));
  await until(() => server.commands.length === 2, "the blocking connection's handshake");
  timers.advance(1000);
  await until(() => stalled.outcome !== "pending", "connectTimeout");
  assert.ok(stalled.outcome instanceof TimeoutError, String(stalled.outcome));
  assert.match(stalled.outcome.message, /blocking connection\): no ready connection after 1000 ms/);
  const again = watch(client.send(["BLPOP", "q", "0"]));
  await until(() => server.commands.length === 3, "another handshake");
  await client.close();
  await until(() => again.outcome !== "pending", "close()");
  assert.ok(again.outcome instanceof ConnectionClosedError, String(again.outcome));
  assert.equal(await client.get("k").catch((error) => error.name), "ConnectionClosedError");
});

/** Timers that run on real time, and fire at once when the emulator's clock is moved past them. */
function emulatorTimers(clock: { now(): number; onChange(listener: () => void): () => void }) {
  const pending = new Map<
    number,
    { at: number; callback: () => void; real: ReturnType<typeof setTimeout> }
  >();
  let next = 1;
  const fire = () => {
    for (const [id, timer] of pending) {
      if (timer.at > clock.now()) continue;
      pending.delete(id);
      clearTimeout(timer.real);
      timer.callback();
    }
  };
  const off = clock.onChange(fire);
  const timers: Timers & Disposable = {
    setTimeout(callback, ms) {
      const id = next++;
      const real = setTimeout(() => {
        pending.delete(id);
        callback();
      }, ms);
      pending.set(id, { at: clock.now() + ms, callback, real });
      return id;
    },
    clearTimeout(handle) {
      const timer = pending.get(handle as number);
      if (timer === undefined) return;
      clearTimeout(timer.real);
      pending.delete(handle as number);
    },
    [Symbol.dispose]() {
      off();
      for (const timer of pending.values()) clearTimeout(timer.real);
      pending.clear();
    },
  };
  return timers;
}

Deno.test("through the emulator: the blocking connection authenticates with a token valid at its own connect", async () => {
  await using env = await startIamEmulator();
  const { hostname, port } = env.emu.gateway;
  await using client = await connect({
    host: hostname,
    port,
    tls: true,
    caCerts: env.caCertPem,
    auth: env.auth,
    now: () => env.emu.clock.now(),
  });
  assert.equal(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
  assert.equal(env.accepted(), 1);
  // 20 minutes on, the first token has expired: the blocking connection needs a new one.
  env.emu.clock.advance(20 * 60_000);
  await client.rpush("q", "job");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "job"]);
  assert.equal(env.accepted(), 2, "one more IAM AUTH, for the blocking connection");
  assert.deepEqual(env.log.filter((line) => / AUTH as '.*' refused/.test(line)), []);
});

Deno.test("through the emulator: the blocking connection is re-authenticated while a BLPOP waits, and outlives the cap", async () => {
  const CAP = 60_000;
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  using timers = emulatorTimers(env.emu.clock);
  const errors: Error[] = [];
  const { hostname, port } = env.emu.gateway;
  await using client = await connect({
    host: hostname,
    port,
    tls: true,
    caCerts: env.caCertPem,
    auth: env.auth,
    reauthAfter: CAP / 2,
    now: () => env.emu.clock.now(),
    timers,
    onError: (error) => errors.push(error),
  });
  const popped = watch(client.send(["BLPOP", "q", "0"]));
  await until(async () => await blockedClients(client) === 1, "the BLPOP to block");
  assert.equal(env.accepted(), 2, "the blocking connection authenticated");
  env.emu.clock.advance(CAP / 2 + 1_000);
  // Both connections re-authenticate; the blocking one's AUTH waits behind its BLPOP on the
  // server, but the gateway has taken the fresh token.
  await until(() => env.accepted() === 4, "both re-authentications");
  env.emu.clock.advance(CAP / 2 + 10_000); // past the first cap, within the extended one
  await tick(50);
  assert.equal(popped.outcome, "pending", "the BLPOP still waits: its connection was not cut");
  assert.ok(!env.log.some((line) => line.includes("age cap")));
  await client.rpush("q", "job");
  await until(() => popped.outcome !== "pending", "the BLPOP");
  assert.deepEqual(popped.outcome, ["q", "job"]);
  await client.rpush("q", "next");
  assert.deepEqual(await client.send(["BLPOP", "q", "1"]), ["q", "next"]);
  const connections = new Set(
    env.log.filter((line) => / AUTH as '.*' .*accepted/.test(line)).map((line) =>
      /#(\d+) AUTH/.exec(line)![1]
    ),
  );
  assert.equal(connections.size, 2, "the client's connection and one blocking one, never cut");
  assert.deepEqual(errors, []);
});

Deno.test("through the emulator's cluster: a node's BLPOP never stalls that node's GETs; a failover ends it clearly", async () => {
  await using env = await startIamCluster();
  await using cluster = await connectCluster(env.thinOptions());
  const slot = keySlot("{q}:list");
  const shard = (await env.cluster.shards()).find((s) =>
    s.slots.some(([start, end]) => slot >= start && slot <= end)
  )!;
  const blockedOn = async (node: EmulatorClusterNode) =>
    Number(
      /blocked_clients:(\d+)/.exec(
        String(await env.cluster.command(node, ["INFO", "clients"])),
      )![1],
    );
  await cluster.set("{q}:k", "v");
  const popped = watch(cluster.send(["BLPOP", "{q}:list", "5"]));
  await until(async () => await blockedOn(shard.primary) === 1, "the BLPOP to block");
  let slowest = 0;
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    assert.equal(await cluster.get("{q}:k"), "v");
    slowest = Math.max(slowest, performance.now() - started);
  }
  assert.ok(slowest < 200, `the slowest GET took ${slowest.toFixed(1)} ms`);
  assert.equal(popped.outcome, "pending");
  await cluster.rpush("{q}:list", "job");
  await until(() => popped.outcome !== "pending", "the BLPOP");
  assert.deepEqual(popped.outcome, ["{q}:list", "job"]);

  // The primary turns replica while a BLPOP waits on it: the server ends the wait (nothing
  // was popped), and the next BLPOP follows the slot to the new primary.
  const waiting = watch(cluster.send(["BLPOP", "{q}:list", "0"]));
  await until(async () => await blockedOn(shard.primary) === 1, "the BLPOP to block");
  const promoted = await env.cluster.failover(shard.replicas[0]!);
  await until(() => waiting.outcome !== "pending", "the failover to end the wait");
  const ended = waiting.outcome as unknown;
  assert.ok(ended instanceof ReplyError, String(ended));
  assert.equal(ended.code, "UNBLOCKED");
  const next = watch(cluster.send(["BLPOP", "{q}:list", "5"]));
  await until(async () => await blockedOn(promoted) === 1, "the BLPOP on the new primary");
  await cluster.rpush("{q}:list", "after");
  await until(() => next.outcome !== "pending", "the BLPOP");
  assert.deepEqual(next.outcome, ["{q}:list", "after"]);
  assert.deepEqual(env.refused(), []);
});

Deno.test("typed blocking pops: blpop, brpop, blmove, bzpopmin, bzpopmax — values, null after the timeout, bad timeouts refused before sending", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: "127.0.0.1", port: redis.port });
  await client.rpush("q", "a", "b", "c");
  assert.deepEqual(await client.blpop(["empty", "q"], 1), ["q", "a"]);
  assert.deepEqual(await client.brpop("q", 1), ["q", "c"]);
  assert.equal(await client.blmove("q", "done", "LEFT", "RIGHT", 1), "b");
  assert.deepEqual(await client.lrange("done", 0, -1), ["b"]);
  assert.equal(await client.blpop("q", 0.05), null);
  assert.equal(await client.blmove("q", "done", "LEFT", "RIGHT", 0.05), null);
  await client.zadd("z", { member: "low", score: 1 }, { member: "high", score: 9 });
  assert.deepEqual(await client.bzpopmin("z", 1), { key: "z", member: "low", score: 1 });
  assert.deepEqual(await client.bzpopmax(["none", "z"], 1), { key: "z", member: "high", score: 9 });
  assert.equal(await client.bzpopmin("z", 0.05), null);
  // In a transaction the server does not wait: an empty list answers null at once.
  const started = performance.now();
  assert.deepEqual(await client.multi().blpop("q", 5).exec(), [null]);
  assert.ok(performance.now() - started < 1000);
  for (const bad of [-1, Number.NaN, Infinity]) {
    assert.throws(() => client.blpop("q", bad), {
      name: "RangeError",
      message:
        `Cannot pop from a list: 'timeoutSeconds' must be a number of seconds from 0 (0 waits without end), got ${
          bad === -1 ? "-1" : String(bad)
        }`,
    });
  }
  assert.throws(() => client.bzpopmin([], 1), {
    name: "TypeError",
    message: "Cannot pop from a sorted set: give at least one key",
  });
});
