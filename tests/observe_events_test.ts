/**
 * Every lifecycle event, made to happen against the emulator and checked as
 * `observe()` and `node:diagnostics_channel` receive it: credentials
 * resolved, a token minted and a mint failed (a stalled credentials source),
 * a connect, auth accepted and refused (once, then for good), re-auth due,
 * done and failed, a connection closed by the client, by the server at the
 * emulator's 12-hour cut (on its clock) and by a kill, reconnects, the
 * cluster's topology; and commands traced with their arguments hidden as the
 * OpenTelemetry Redis rules say. No event carries a token or a key.
 */

import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import "../src/diagnostics_channel.ts";
import { connect, RedisClient } from "../src/client.ts";
import { connectCluster } from "../src/cluster/client.ts";
import { IamAuth } from "../src/iam_auth.ts";
import { AuthenticationError, ConnectionClosedError, CredentialsError } from "../src/errors.ts";
import type { AuthCredentials, AuthProvider, ConnectOptions } from "../mod.ts";
import type { CommandContext, IamEvent } from "../src/observe/events.ts";
import { observe } from "../src/observe/hub.ts";
import { type IamEmulator, startIamEmulator } from "./_helpers/iam_emulator.ts";
import { startIamCluster } from "./_helpers/iam_cluster.ts";

/** The emulator's connection cap (emulator time), shortened from 12 hours. */
const CAP = 60_000;

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await tick();
  }
}

/** Records every event while it is alive. */
function recorder() {
  const events: IamEvent[] = [];
  const stop = observe((event) => events.push(event));
  return {
    events,
    types: () => events.map((event) => event.type),
    of: <T extends IamEvent["type"]>(type: T) =>
      events.filter((event): event is Extract<IamEvent, { type: T }> => event.type === type),
    [Symbol.dispose]: stop,
  };
}

function clientOptions(env: IamEmulator, auth: AuthProvider = env.auth): ConnectOptions {
  const { hostname, port } = env.emu.gateway;
  return {
    host: hostname,
    port,
    tls: true,
    caCerts: env.caCertPem,
    auth,
    now: () => env.emu.clock.now(),
  };
}

/** Checks that no event, however deeply inspected, shows any of `secrets`. */
function assertNoSecret(events: readonly IamEvent[], secrets: readonly string[]): void {
  const shown = events.map((event) =>
    `${JSON.stringify(event)}\n${Deno.inspect(event, { depth: Infinity })}`
  ).join("\n");
  for (const secret of secrets) {
    assert.ok(secret.length > 8 && !shown.includes(secret), "an event shows a secret");
  }
}

Deno.test("events: one connection's life — credentials, token, connect, auth accepted, closed by the client", async () => {
  await using env = await startIamEmulator();
  using seen = recorder();
  const client = await connect(clientOptions(env));
  assert.equal(await client.ping(), "PONG");
  await client.close();
  assert.deepEqual(seen.types(), [
    "connection:connect",
    "credentials:resolved",
    "token:minted",
    "auth:accepted",
    "connection:closed",
  ]);
  const [connectEvent] = seen.of("connection:connect");
  const server = `127.0.0.1:${env.emu.gateway.port}`;
  assert.deepEqual(connectEvent, { type: "connection:connect", server, attempt: 1 });
  const [resolved] = seen.of("credentials:resolved");
  assert.equal(resolved!.source, "web identity");
  assert.ok(resolved!.expiration instanceof Date && resolved!.durationMs >= 0);
  const [minted] = seen.of("token:minted");
  assert.deepEqual(
    { ...minted, durationMs: 0, expiresAt: 0 },
    {
      type: "token:minted",
      cache: "replication-group-01",
      user: "iam-user-01",
      service: "elasticache",
      region: env.emu.region,
      expiresAt: 0,
      durationMs: 0,
    },
  );
  assert.equal(minted!.expiresAt.getTime() - env.emu.clock.now() <= 900_000, true);
  assert.deepEqual(seen.of("auth:accepted"), [
    { type: "auth:accepted", server, user: "iam-user-01" },
  ]);
  assert.deepEqual(seen.of("connection:closed"), [
    { type: "connection:closed", server, reason: "client", error: undefined },
  ]);
  const { password } = await env.auth.credentials();
  assertNoSecret(seen.events, [password, password.split("X-Amz-Signature=")[1]!]);
});

Deno.test("events: a stalled credentials source → token:failed naming the bound, then connect fails", async () => {
  await using env = await startIamEmulator();
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: env.emu.region,
    credentials: () => new Promise(() => {}), // never answers
    credentialsTimeout: 100,
  });
  using seen = recorder();
  const error = await connect({ ...clientOptions(env), auth }).catch((e) => e);
  assert.ok(error instanceof CredentialsError, String(error));
  const [failed] = seen.of("token:failed");
  assert.equal(failed!.cache, "replication-group-01");
  assert.equal(failed!.user, "iam-user-01");
  assert.equal(failed!.attempts, 1);
  assert.ok(failed!.durationMs >= 90, `${failed!.durationMs} ms`);
  assert.ok(failed!.error instanceof CredentialsError);
  assert.match(failed!.error.message, /did not answer within 100 ms/);
  assert.deepEqual(seen.of("token:minted"), []);
  assert.deepEqual(seen.of("auth:accepted"), []);
});

Deno.test("events: a refused token → auth:refused (retrying), a fresh token → auth:accepted", async () => {
  await using env = await startIamEmulator();
  const staleFirst: AuthProvider = {
    async credentials(): Promise<AuthCredentials> {
      const { username, password } = await env.auth.credentials();
      return {
        username,
        password: password.replace(
          /X-Amz-Signature=[0-9a-f]+/,
          `X-Amz-Signature=${"0".repeat(64)}`,
        ),
      };
    },
    refresh: () => env.auth.refresh(),
  };
  using seen = recorder();
  await using client = await connect(clientOptions(env, staleFirst));
  assert.equal(await client.ping(), "PONG");
  const server = `127.0.0.1:${env.emu.gateway.port}`;
  assert.deepEqual(seen.of("auth:refused"), [
    {
      type: "auth:refused",
      server,
      user: "iam-user-01",
      code: "WRONGPASS",
      retrying: true,
      error: undefined,
    },
  ]);
  assert.equal(seen.of("auth:accepted").length, 1);
  assert.ok(seen.types().indexOf("auth:refused") < seen.types().indexOf("auth:accepted"));
});

Deno.test("events: a token refused again → a final auth:refused with the likely causes", async () => {
  await using env = await startIamEmulator({}, { replicationGroupId: "replication-group-99" });
  using seen = recorder();
  const error = await connect(clientOptions(env)).catch((e) => e);
  assert.ok(error instanceof AuthenticationError);
  const refused = seen.of("auth:refused");
  assert.deepEqual(refused.map((event) => [event.code, event.retrying]), [
    ["WRONGPASS", true],
    ["WRONGPASS", false],
  ]);
  assert.equal(refused[1]!.error, error);
  assert.match(refused[1]!.error!.message, /Likely causes/);
  const { password } = await env.auth.credentials();
  assertNoSecret(seen.events, [password]);
});

Deno.test("events: re-auth due and done before the emulator's cut; then due and failed when the provider fails", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  let failing = false;
  const provider: AuthProvider = {
    credentials: () =>
      failing
        ? Promise.reject(new CredentialsError("Cannot get credentials: the vault is sealed"))
        : env.auth.credentials(),
  };
  await using client = await connect({
    ...clientOptions(env, provider),
    reauthAfter: CAP / 2,
    onError: () => {},
  });
  using seen = recorder();
  env.emu.clock.advance(CAP / 2 + 1_000);
  assert.equal(await client.incr("n"), 1); // due: this command starts the re-auth
  await until(() => seen.of("reauth:done").length === 1, "the re-auth");
  const server = `127.0.0.1:${env.emu.gateway.port}`;
  const [due] = seen.of("reauth:due");
  assert.equal(due!.server, server);
  assert.equal(due!.user, "iam-user-01");
  assert.equal(due!.retry, false);
  assert.ok(due!.cutAt instanceof Date);
  assert.equal(seen.of("reauth:done")[0]!.server, server);

  failing = true;
  env.emu.clock.advance(CAP / 2 + 1_000);
  assert.equal(await client.incr("n"), 2);
  await until(() => seen.of("reauth:failed").length === 1, "the failed re-auth");
  const [failed] = seen.of("reauth:failed");
  assert.equal(failed!.failures, 1);
  assert.ok(failed!.retryInMs > 0);
  assert.match(failed!.error.message, /the vault is sealed/);
  assert.deepEqual(seen.of("reauth:due").map((event) => event.retry), [false, false]);
});

Deno.test("events: the emulator's cut closes the connection (server); the next command reconnects", async () => {
  await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
  await using client = await connect(clientOptions(env));
  await client.set("kept", "yes");
  using seen = recorder();
  env.emu.clock.advance(CAP + 1);
  await until(() => !client.connected, "the cut");
  const server = `127.0.0.1:${env.emu.gateway.port}`;
  const [closed] = seen.of("connection:closed");
  assert.equal(closed!.reason, "server");
  assert.equal(closed!.server, server);
  assert.ok(closed!.error !== undefined);
  assert.equal(await client.get("kept"), "yes");
  // The token is still valid (a minute passed): the reconnect mints none.
  assert.deepEqual(seen.types(), [
    "connection:closed",
    "reconnect:scheduled",
    "connection:connect",
    "auth:accepted",
    "reconnect:succeeded",
  ]);
  const [scheduled] = seen.of("reconnect:scheduled");
  assert.equal(scheduled!.attempt, 1);
  assert.equal(scheduled!.delayMs, 0);
  assert.equal(scheduled!.reason, closed!.error);
  assert.deepEqual(seen.of("reconnect:succeeded"), [
    { type: "reconnect:succeeded", server, attempts: 1 },
  ]);
});

Deno.test("events: the client's own 12-hour cut (re-auth off) → connection:closed (cut), and the command reconnects", async () => {
  // The emulator cuts later than ElastiCache, so that the client's own cut comes first.
  await using env = await startIamEmulator({ connectionMaxAgeMs: 13 * 60 * 60_000 });
  await using client = await connect({ ...clientOptions(env), reauthAfter: false });
  await client.set("kept", "yes");
  using seen = recorder();
  env.emu.clock.advance(12 * 60 * 60_000 + 1);
  assert.equal(await client.get("kept"), "yes");
  const [closed] = seen.of("connection:closed");
  assert.equal(closed!.reason, "cut");
  assert.match(closed!.error!.message, /reached the server's 12-hour limit/);
  assert.equal(seen.of("reconnect:succeeded").length, 1);
});

Deno.test("events: a killed connection → connection:closed (server), then a reconnect", async () => {
  await using env = await startIamEmulator();
  await using client = await connect({
    ...clientOptions(env),
    reconnect: { attempts: 3, minDelay: 10, maxDelay: 20 },
  });
  await using killer = await connect(clientOptions(env));
  using seen = recorder();
  const id = await client.send(["CLIENT", "ID"]);
  assert.equal(await killer.send(["CLIENT", "KILL", "ID", String(id)]), 1);
  await until(() => seen.of("connection:closed").length === 1, "the kill");
  assert.equal(seen.of("connection:closed")[0]!.reason, "server");
  assert.equal(await client.ping(), "PONG");
  assert.deepEqual(seen.of("reconnect:succeeded").map((event) => event.attempts), [1]);
});

Deno.test("events: reconnects to a server that is gone are scheduled with a growing backoff, then give up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  using seen = recorder();
  await using client = new RedisClient({
    host: "127.0.0.1",
    port,
    reconnect: { attempts: 3, minDelay: 20, maxDelay: 200 },
  });
  const error = await client.ping().catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  const server = `127.0.0.1:${port}`;
  assert.deepEqual(seen.types(), [
    "connection:connect",
    "reconnect:scheduled",
    "connection:connect",
    "reconnect:scheduled",
    "connection:connect",
  ]);
  const scheduled = seen.of("reconnect:scheduled");
  assert.deepEqual(scheduled.map((event) => [event.server, event.attempt]), [
    [server, 2],
    [server, 3],
  ]);
  // Jittered between half and all of 20 ms, then of 40 ms.
  assert.ok(scheduled[0]!.delayMs >= 10 && scheduled[0]!.delayMs <= 20, `${scheduled[0]!.delayMs}`);
  assert.ok(scheduled[1]!.delayMs >= 20 && scheduled[1]!.delayMs <= 40, `${scheduled[1]!.delayMs}`);
  assert.ok(scheduled[0]!.reason instanceof ConnectionClosedError);
});

Deno.test("events: a cluster's topology refreshed: primaries and nodes, unchanged, then changed by a failover", async () => {
  await using env = await startIamCluster();
  using seen = recorder();
  await using cluster = await connectCluster(env.thinOptions());
  await cluster.set("k", "v");
  const [refreshed] = seen.of("topology:refreshed");
  assert.equal(refreshed!.primaries, 3);
  assert.equal(refreshed!.nodes, 6);
  assert.equal(refreshed!.changed, false);
  assert.match(refreshed!.server, /^127\.0\.0\.1:\d+$/);
  // A failover moves a shard's slots to its replica: the next refresh says so.
  const shard = (await env.cluster.shards())[0]!;
  await env.cluster.failover(shard.replicas[0]!);
  await cluster.refreshTopology();
  const last = seen.of("topology:refreshed").at(-1)!;
  assert.equal(last.changed, true);
  assert.equal(last.primaries, 3);
});

Deno.test("commands: observers see each command, pipeline and transaction, with values hidden and errors", async () => {
  await using env = await startIamEmulator();
  await using client = await connect(clientOptions(env));
  const seen: { context: CommandContext; error: Error | undefined }[] = [];
  const stop = observe({
    commandStart: (context) => ({ context }),
    commandEnd: (state, error) => seen.push({ ...(state as { context: CommandContext }), error }),
  });
  try {
    await client.set("user:1", "a secret value");
    await client.get("user:1");
    await client.pipeline().incr("a").incr("b").exec();
    await client.multi().incr("a").exec();
    await client.send(["LPUSH", "user:1", "x"]).catch(() => {});
  } finally {
    stop();
  }
  const server = { serverAddress: "127.0.0.1", serverPort: env.emu.gateway.port };
  assert.deepEqual(
    seen.map(({ context }) => ({
      command: context.command,
      args: context.args,
      batchSize: context.batchSize,
      serverAddress: context.serverAddress,
      serverPort: context.serverPort,
    })),
    [
      { command: "SET", args: ["SET", "user:1", "?"], batchSize: undefined, ...server },
      { command: "GET", args: ["GET", "user:1"], batchSize: undefined, ...server },
      { command: "PIPELINE", args: [], batchSize: 2, ...server },
      { command: "MULTI", args: [], batchSize: 1, ...server },
      { command: "LPUSH", args: ["LPUSH", "user:1", "?"], batchSize: undefined, ...server },
    ],
  );
  assert.deepEqual(seen.slice(0, 4).map(({ error }) => error), [
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
  assert.match(String(seen[4]!.error), /WRONGTYPE/);
  // Stopped: nothing more is seen.
  await client.get("user:1");
  assert.equal(seen.length, 5);
});

Deno.test("diagnostics_channel: lifecycle channels and the command tracing channel, on Deno with the entry imported", async () => {
  await using env = await startIamEmulator();
  const minted: unknown[] = [];
  const onMinted = (message: unknown) => minted.push(message);
  diagnostics.subscribe("elasticache-iam:token:minted", onMinted);
  const traced: { phase: string; command: string }[] = [];
  const channel = diagnostics.tracingChannel("elasticache-iam:command");
  const handlers = {
    start: (context: unknown) =>
      traced.push({ phase: "start", command: (context as CommandContext).command }),
    end: () => {},
    asyncStart: () => {},
    asyncEnd: (context: unknown) =>
      traced.push({ phase: "asyncEnd", command: (context as CommandContext).command }),
    error: (context: unknown) =>
      traced.push({ phase: "error", command: (context as CommandContext).command }),
  };
  channel.subscribe(handlers);
  try {
    await using client = await connect(clientOptions(env));
    await client.get("absent");
    await client.send(["INCR", "not-a-number-key"]);
    await client.set("s", "x");
    await client.send(["INCR", "s"]).catch(() => {});
  } finally {
    channel.unsubscribe(handlers);
    diagnostics.unsubscribe("elasticache-iam:token:minted", onMinted);
  }
  assert.equal(minted.length, 1);
  assert.equal((minted[0] as IamEvent).type, "token:minted");
  assert.deepEqual(traced, [
    { phase: "start", command: "GET" },
    { phase: "asyncEnd", command: "GET" },
    { phase: "start", command: "INCR" },
    { phase: "asyncEnd", command: "INCR" },
    { phase: "start", command: "SET" },
    { phase: "asyncEnd", command: "SET" },
    { phase: "start", command: "INCR" },
    { phase: "error", command: "INCR" },
    { phase: "asyncEnd", command: "INCR" },
  ]);
});
