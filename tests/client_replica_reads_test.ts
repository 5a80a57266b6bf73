/**
 * The thin client's `replicaReads` against the emulator's serverless cache:
 * reads go over a second, lazily opened, IAM-authenticated connection to the
 * reader endpoint (the next port, `READONLY` after auth), writes, pipelines,
 * transactions and watched reads to the endpoint; the reader's connection is
 * re-authenticated, reconnected with a fresh token, and closed as the
 * endpoint's is; a reader that is down fails reads with an error that names
 * it. Also: where `replicaReads` finds the reader for each endpoint shape,
 * and a replica without cluster mode (a replication group's reader), which
 * refuses `READONLY` and serves reads anyway.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import type { ConnectOptions } from "../src/client/options.ts";
import { resolveOptions } from "../src/client/options.ts";
import { IamAuth } from "../src/iam_auth.ts";
import { ConnectionClosedError, TimeoutError } from "../src/errors.ts";
import { denoTransport } from "../src/transport/deno.ts";
import {
  type CacheEndpoint,
  type Emulator,
  type EmulatorConfig,
  type GatewayAddress,
  startEmulator,
} from "@elasticache-iam/emulator";
import { freePort } from "./_helpers/client_tls.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { startFakeServer } from "./_helpers/client_fake_server.ts";

const CACHE = "serverless-cache-01";
const KEYS = {
  accessKeyId: "AKIAEMULATORREPLICAS",
  secretAccessKey: "replica/reads/test/secret/key/000000000",
};
/** The emulator's connection cap (emulator time), shortened from 12 hours. */
const CAP = 60_000;

/** A serverless cache whose reader endpoint is on the endpoint's port + 1. */
interface Serverless extends AsyncDisposable {
  readonly emu: Emulator;
  readonly endpoint: CacheEndpoint;
  readonly reader: GatewayAddress;
  readonly auth: IamAuth;
  readonly log: string[];
  /** Thin client options for the endpoint, on the emulator's clock. */
  options(extra?: ConnectOptions): ConnectOptions;
  /** A counter of `INFO commandstats` or `errorstats` at an endpoint (`cmdstat_get`, `errorstat_MOVED`), read over a connection of its own. */
  stats(address: GatewayAddress): Promise<(name: string) => number>;
  /** IAM authentications accepted at the endpoint (`"endpoint"`) or at the reader. */
  auths(at: "endpoint" | "reader"): number;
}

async function startServerless(config: EmulatorConfig = {}, publicEndpoint = false) {
  const log: string[] = [];
  const emu = await startEmulator({
    caches: [{ serverlessCacheName: CACHE, port: freePortPair(), publicEndpoint }],
    iamUsers: [{
      userName: "app",
      accessKeys: [KEYS],
      policies: [{
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "elasticache:Connect", Resource: "*" }],
      }],
    }],
    log: (line) => log.push(line),
    ...config,
  });
  const endpoint = emu.endpoint(CACHE);
  assert.equal(endpoint.reader!.port, endpoint.port + 1);
  const auth = new IamAuth({
    serverlessCacheName: CACHE,
    userId: "iam-user-01",
    region: emu.region,
    credentials: KEYS,
    now: () => emu.clock.now(),
  });
  const addressOptions = (address: GatewayAddress): ConnectOptions => ({
    host: address.hostname,
    port: address.port,
    tls: address.tls,
    ...(address.caCertPem === undefined ? {} : { caCerts: address.caCertPem }),
    auth,
    now: () => emu.clock.now(),
  });
  const env: Serverless = {
    emu,
    endpoint,
    reader: endpoint.reader!,
    auth,
    log,
    options: (extra = {}) => ({ ...addressOptions(endpoint), ...extra }),
    async stats(address) {
      await using client = await connect(addressOptions(address));
      const text = `${await client.send(["INFO", "commandstats"])}\n${await client.send([
        "INFO",
        "errorstats",
      ])}`;
      return (name) =>
        Number(new RegExp(`^${name}:(?:calls|count)=(\\d+)`, "m").exec(text)?.[1] ?? 0);
    },
    auths: (at) =>
      log.filter((line) =>
        line.startsWith(`${CACHE} ${at === "reader" ? "reader " : ""}gateway: `) &&
        / AUTH as 'iam-user-01' .*accepted/.test(line)
      ).length,
    async [Symbol.asyncDispose]() {
      auth[Symbol.dispose]();
      await emu.close();
    },
  };
  return env;
}

/** A loopback port that is free, and so is the next one. */
function freePortPair(): number {
  for (;;) {
    const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = first.addr.port;
    try {
      Deno.listen({ hostname: "127.0.0.1", port: port + 1 }).close();
      return port;
    } catch {
      // The next one is taken: try another.
    } finally {
      first.close();
    }
  }
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await tick();
  }
}

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("Expected a rejection");
}

Deno.test("replicaReads: true on a serverless public endpoint (TLS 1.3) reads at the reader endpoint (port + 1), opened on the first read with IAM and READONLY; writes, PING, pipelines, transactions and watched reads stay at the endpoint", async () => {
  await using env = await startServerless({}, true);
  const { endpoint, reader } = env;
  const readerBefore = await env.stats(reader);
  const endpointBefore = await env.stats(endpoint);
  const readerAuths = env.auths("reader");

  await using client = await connect(env.options({ replicaReads: true }));
  assert.match(
    Deno.inspect(client),
    new RegExp(`127\\.0\\.0\\.1:${endpoint.port}, reads from 127\\.0\\.0\\.1:${reader.port},`),
  );
  await client.set("{user:1}:name", "Ada");
  await client.hset("{user:1}:profile", { lang: "en" });
  assert.equal(await client.send(["WAIT", "1", "5000"]), 1, "the reader's replica has the writes");
  assert.equal(await client.ping(), "PONG");
  assert.equal(env.auths("reader"), readerAuths, "no reader connection before the first read");

  assert.equal(await client.get("{user:1}:name"), "Ada");
  assert.deepEqual(await client.mget("{user:1}:name", "{user:1}:none"), ["Ada", null]);
  assert.deepEqual(await client.hgetall("{user:1}:profile"), { lang: "en" });
  assert.equal(await client.send(["GET", "{user:1}:name"]), "Ada", "send() is routed the same");
  assert.equal(env.auths("reader"), readerAuths + 1, "one IAM-authenticated reader connection");

  // Not to the reader: a pipeline, a transaction, and reads between WATCH and EXEC.
  assert.deepEqual(await client.pipeline().get("{user:1}:name").exec(), ["Ada"]);
  await client.send(["WATCH", "{user:1}:name"]);
  assert.equal(await client.get("{user:1}:name"), "Ada");
  assert.deepEqual(await client.multi().set("{user:1}:name", "Grace").exec(), ["OK"]);
  await client.send(["WAIT", "1", "5000"]);
  assert.equal(await client.get("{user:1}:name"), "Grace", "after EXEC, reads go to the reader");
  await client.send(["MULTI"]);
  assert.equal(await client.send(["GET", "{user:1}:name"]), "QUEUED", "queued in the transaction");
  assert.deepEqual(await client.send(["EXEC"]), ["Grace"]);

  const readerAfter = await env.stats(reader);
  const endpointAfter = await env.stats(endpoint);
  const delta =
    (after: (name: string) => number, before: (name: string) => number) => (name: string) =>
      after(name) - before(name);
  const atReader = delta(readerAfter, readerBefore);
  const atEndpoint = delta(endpointAfter, endpointBefore);
  assert.equal(atReader("cmdstat_get"), 3, "GET, send(GET), GET after EXEC");
  assert.equal(atReader("cmdstat_mget"), 1);
  assert.equal(atReader("cmdstat_hgetall"), 1);
  assert.equal(atReader("cmdstat_readonly"), 1, "READONLY once, in the reader's handshake");
  // The reader's replica runs the writes it replicates, never one sent to it (MOVED, READONLY).
  assert.equal(atReader("errorstat_MOVED") + atReader("errorstat_READONLY"), 0);
  assert.equal(atEndpoint("cmdstat_ping"), 1, "PING is about the endpoint");
  assert.equal(atEndpoint("cmdstat_get"), 3, "pipeline, watched, in MULTI");
  assert.equal(atEndpoint("cmdstat_set"), 2);
  assert.equal(atEndpoint("cmdstat_hset"), 1);
  assert.equal(atEndpoint("cmdstat_mget") + atEndpoint("cmdstat_hgetall"), 0);
  assert.equal(atEndpoint("cmdstat_readonly"), 0);
});

Deno.test("the reader's connection is re-authenticated before the cap as the endpoint's is, and after a cut reconnects with a fresh token", async () => {
  await using env = await startServerless({ connectionMaxAgeMs: CAP });
  const errors: Error[] = [];
  {
    await using client = await connect(
      env.options({ replicaReads: true, reauthAfter: CAP / 2, onError: (e) => errors.push(e) }),
    );
    await client.set("n", "1");
    await client.send(["WAIT", "1", "5000"]);
    assert.equal(await client.get("n"), "1");
    const [endpointAuths, readerAuths] = [env.auths("endpoint"), env.auths("reader")];
    env.emu.clock.advance(CAP / 2 + 1_000);
    assert.equal(await client.get("n"), "1"); // due: this read starts the reader's re-auth
    assert.equal(await client.incr("n"), 2); // and this write the endpoint's
    await until(
      () => env.auths("reader") === readerAuths + 1 && env.auths("endpoint") === endpointAuths + 1,
      "both re-authentications",
    );
    env.emu.clock.advance(CAP / 2 + 10_000); // past the first cap, within the extended one
    await tick(20);
    assert.equal(await client.send(["WAIT", "1", "5000"]), 1);
    assert.equal(await client.get("n"), "2");
    assert.ok(!env.log.some((line) => line.includes("age cap")), "no connection was cut");
    const readerConnections = new Set(
      env.log.filter((line) => line.startsWith(`${CACHE} reader gateway: `))
        .map((line) => / #(\d+) AUTH as 'iam-user-01' .*accepted/.exec(line)?.[1])
        .filter((id) => id !== undefined),
    );
    assert.equal(readerConnections.size, 1, "one reader connection, re-authenticated");
  }
  {
    await using client = await connect(env.options({ replicaReads: true, reauthAfter: false }));
    assert.equal(await client.get("n"), "2");
    const readerAuths = env.auths("reader");
    env.emu.clock.advance(CAP + 1);
    await until(() => !client.connected, "the cut");
    await until(
      () => env.log.filter((line) => / gateway: #\d+ disconnected/.test(line)).length >= 4,
      "the cut of the reader's connection",
    );
    await tick(20);
    // 14 minutes later the first token would be near its end: the reconnect uses one valid now.
    env.emu.clock.advance(14 * 60_000);
    assert.equal(await client.get("n"), "2");
    assert.equal(env.auths("reader"), readerAuths + 1, "a new reader connection, a fresh token");
  }
  assert.deepEqual(errors, []);
});

Deno.test("close() closes the reader's connection too; later reads fail", async () => {
  await using env = await startServerless();
  const client = await connect(env.options({ replicaReads: true, clientName: "replica-reads" }));
  assert.equal(await client.get("k"), null);
  await using admin = await connect({
    ...env.options(),
    host: env.reader.hostname,
    port: env.reader.port,
  });
  const named = async () =>
    String(await admin.send(["CLIENT", "LIST"])).split("\n").filter((line) =>
      line.includes(" name=replica-reads ")
    ).length;
  assert.equal(await named(), 1, "the reader connection, named as the endpoint's");
  await client.close();
  await until(
    () => env.log.filter((line) => / gateway: #\d+ disconnected/.test(line)).length >= 2,
    "both gateways to see their connection close",
  );
  assert.equal(await named(), 0);
  const error = await failure(client.get("k"));
  assert.ok(error instanceof ConnectionClosedError);
  assert.match(error.message, /\(reader endpoint\): the client is closed/);
});

Deno.test("a reader endpoint that is down fails reads with an error that names it; writes go on, and reads never fall back to the endpoint", async () => {
  await using env = await startServerless();
  const down = freePort();
  const endpointBefore = await env.stats(env.endpoint);
  await using client = await connect(
    env.options({
      replicaReads: true,
      readerEndpoint: `127.0.0.1:${down}`,
      reconnect: { attempts: 2, minDelay: 1 },
    }),
  );
  assert.equal(await client.set("k", "v"), "OK");
  const error = await failure(client.get("k"));
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(
    error.message,
    new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${down} \\(reader endpoint\\): `),
  );
  assert.equal(await client.incr("n"), 1, "the endpoint's connection is unaffected");
  assert.equal((await env.stats(env.endpoint))("cmdstat_get"), endpointBefore("cmdstat_get"));
});

Deno.test("the reader's connection has the endpoint's timeouts: a reader that stops answering fails the read with a TimeoutError that names it", async () => {
  await using primary = await startRedisServer();
  await using reader = startFakeServer(async (command, connection) => {
    if (command[0] === "HELLO") await connection.write("%1\r\n+proto\r\n:3\r\n");
    if (command[0] === "READONLY") await connection.write("+OK\r\n");
    // Anything else is never answered.
  });
  await using client = await connect({
    host: "127.0.0.1",
    port: primary.port,
    replicaReads: true,
    readerEndpoint: `127.0.0.1:${reader.port}`,
    commandTimeout: 100,
  });
  const error = await failure(client.get("k"));
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(
    error.message,
    `Command to 127.0.0.1:${reader.port} (reader endpoint) timed out after 100 ms; the connection was closed`,
  );
  assert.deepEqual(reader.commands[0], [["HELLO", "3"], ["READONLY"], ["GET", "k"]]);
  assert.equal(await client.set("k", "v"), "OK", "the endpoint's connection is unaffected");
});

Deno.test("a replica without cluster mode (a replication group's reader) refuses READONLY and serves the reads anyway", async () => {
  await using primary = await startRedisServer({ args: ["--repl-diskless-sync-delay", "0"] });
  await using replica = await startRedisServer({
    args: ["--replicaof", "127.0.0.1", String(primary.port)],
  });
  await using client = await connect({
    host: "127.0.0.1",
    port: primary.port,
    replicaReads: true,
    readerEndpoint: `127.0.0.1:${replica.port}`,
  });
  await client.set("k", "v");
  assert.equal(await client.send(["WAIT", "1", "5000"]), 1);
  assert.equal(await client.get("k"), "v");
  await using direct = await connect({ host: "127.0.0.1", port: replica.port });
  const stats = String(await direct.send(["INFO", "commandstats"]));
  assert.match(stats, /^cmdstat_get:calls=1,/m);
  assert.match(stats, /^cmdstat_readonly:calls=1,.*failed_calls=1\r?$/m);
});

Deno.test("replicaReads finds the reader: the next port for a serverless cache or any other host, replica.… for a group's primary endpoint, or readerEndpoint; refuses cluster endpoints; checks its values", () => {
  const reader = (options: ConnectOptions) =>
    resolveOptions({ transport: denoTransport, ...options }).reader;
  const serverless = "my-cache-abc123.serverless.use1.cache.amazonaws.com";
  const pub = "my-cache-abc123.public.serverless.use1.cache.amazonaws.com";
  const group = "my-group.abc123.use1.cache.amazonaws.com";
  assert.equal(reader({ host: serverless }), undefined, "off by default");
  assert.equal(reader({ host: serverless, replicaReads: false }), undefined);
  assert.deepEqual(reader({ host: serverless, replicaReads: true }), {
    hostname: serverless,
    port: 6380,
    servername: undefined,
  });
  assert.deepEqual(reader({ host: pub, port: 7000, replicaReads: true }), {
    hostname: pub,
    port: 7001,
    servername: undefined,
  });
  assert.deepEqual(
    reader({ url: `rediss://${serverless}:6379`, auth: { password: "p" }, replicaReads: true }),
    { hostname: serverless, port: 6380, servername: undefined },
  );
  assert.deepEqual(
    reader({ host: "127.0.0.1", port: 7000, servername: serverless, replicaReads: true }),
    { hostname: "127.0.0.1", port: 7001, servername: serverless },
    "through a tunnel: the same TLS name",
  );
  for (const prefix of ["master", "primary"]) {
    assert.deepEqual(reader({ host: `${prefix}.${group}`, replicaReads: true }), {
      hostname: `replica.${group}`,
      port: 6379,
      servername: undefined,
    });
  }
  // As the console shows it, a host alone, a URL; a host alone on the endpoint's host is the next port.
  for (
    const [readerEndpoint, hostname, port] of [
      [`${serverless}:6380`, serverless, 6380],
      [`replica.${group}:6379`, `replica.${group}`, 6379],
      [`replica.${group}`, `replica.${group}`, 6379],
      [`rediss://replica.${group}:6390`, `replica.${group}`, 6390],
      ["10.0.0.1", "10.0.0.1", 6380],
      ["[::1]:6390", "::1", 6390],
    ] as const
  ) {
    assert.deepEqual(reader({ host: "10.0.0.1", replicaReads: true, readerEndpoint }), {
      hostname,
      port,
      servername: undefined,
    }, readerEndpoint);
  }
  for (
    const [host, words] of [
      [`clustercfg.${group}`, /a configuration endpoint: for a cluster, use connectCluster/],
      [`replica.${group}`, /a reader endpoint: connect to the primary endpoint/],
      [`my-group-0001-001.${group}`, /a node endpoint/],
    ] as const
  ) {
    assert.throws(
      () => reader({ host, replicaReads: true }),
      (error: unknown) =>
        error instanceof TypeError && error.message.startsWith("Cannot connect: 'replicaReads'") &&
        words.test(error.message),
    );
  }
  assert.throws(
    () => reader({ host: "h", replicaReads: "yes" as never }),
    /^TypeError: Cannot connect: 'replicaReads' must be a boolean, got 'yes'$/,
  );
  assert.throws(
    () => reader({ host: "h", readerEndpoint: "h:6380" }),
    /'readerEndpoint' applies to replica reads; add 'replicaReads: true'/,
  );
  assert.throws(
    () => reader({ host: "h", replicaReads: true, readerEndpoint: "" }),
    /^TypeError: Cannot connect: 'readerEndpoint' must be/,
  );
  assert.throws(
    () => reader({ host: "h", port: 65535, replicaReads: true }),
    /^RangeError: .*'port' is 65535; give 'readerEndpoint' with its port/,
  );
});
