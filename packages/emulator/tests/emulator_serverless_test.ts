/**
 * ElastiCache Serverless as AWS runs it: a cluster-mode cache whose one
 * virtual node owns every slot behind one endpoint, with a reader endpoint
 * on the next port that serves reads after `READONLY`; `SELECT` of another
 * database refused; `CROSSSLOT` for keys of different slots, in `MULTI`
 * blocks and scripts too; TLS 1.3 only for a public endpoint. Exercised with
 * the thin client, the cluster client and node-redis's cluster client.
 */

import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
import { createCluster } from "redis";
import {
  connect,
  type ConnectOptions,
  IamAuth,
  type RedisClient,
} from "@elasticache-iam/connector";
import { createIamCluster } from "@elasticache-iam/node-redis";
import { connectCluster } from "../../../src/cluster.ts";
import { parseClusterShards } from "../../../src/cluster/topology.ts";
import { keySlot } from "../../../src/cluster/slot.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";
import {
  type CacheConfig,
  type CacheEndpoint,
  type Emulator,
  type EmulatorConfig,
  type GatewayAddress,
  type PolicyDocument,
  startEmulator,
} from "../mod.ts";

const CACHE = "serverless-cache-01";
const USER = "iam-user-01";
const KEYS = {
  accessKeyId: "AKIAEMULATORSERVRLSS",
  secretAccessKey: "serverless/test/secret/key/0000000000000",
};
const CONNECT_ANY: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "elasticache:Connect", Resource: "*" }],
};
const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";
const REPLICA_WRITE = "READONLY You can't write against a read only replica.";
/** Keys in different slots (`a`: 15495, `b`: 3300), and two of one slot. */
const [A, B] = ["a", "b"];
const [U1, U2] = ["{u}1", "{u}2"];

/** A running emulator with one serverless cache, and what the tests use with it. */
interface Serverless extends AsyncDisposable {
  readonly emu: Emulator;
  /** The cache's endpoint. */
  readonly endpoint: CacheEndpoint;
  /** Its reader endpoint. */
  readonly reader: GatewayAddress;
  /** Tokens for the cache (`ResourceType=ServerlessCache`), on the emulator's clock. */
  readonly auth: IamAuth;
  /** Every line the emulator logged. */
  readonly log: string[];
  /** Thin client options for an endpoint. */
  options(address: GatewayAddress): ConnectOptions;
  /** A thin client connected to an endpoint. */
  client(address: GatewayAddress): Promise<RedisClient>;
  /** `INFO errorstats` and `commandstats` counters of an endpoint's server (`MOVED`, `cmdstat_get`). */
  stats(address: GatewayAddress): Promise<Counters>;
  /** Log lines of IAM authentications the reader endpoint accepted. */
  readerAuths(): string[];
}

type Counters = (name: string) => number;

async function startServerless(
  options: { cache?: Partial<CacheConfig>; config?: EmulatorConfig } = {},
): Promise<Serverless> {
  const log: string[] = [];
  const emu = await startEmulator({
    caches: [{ serverlessCacheName: CACHE, ...options.cache } as CacheConfig],
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [CONNECT_ANY] }],
    log: (line) => log.push(line),
    ...options.config,
  });
  const endpoint = emu.endpoint(CACHE);
  const auth = new IamAuth({
    serverlessCacheName: CACHE,
    userId: USER,
    region: emu.region,
    credentials: KEYS,
    now: () => emu.clock.now(),
  });
  const optionsOf = (address: GatewayAddress): ConnectOptions => ({
    host: address.hostname,
    port: address.port,
    tls: address.tls,
    ...(address.caCertPem === undefined ? {} : { caCerts: address.caCertPem }),
    auth,
  });
  return {
    emu,
    endpoint,
    reader: endpoint.reader!,
    auth,
    log,
    options: optionsOf,
    client: (address) => connect(optionsOf(address)),
    async stats(address) {
      await using client = await connect(optionsOf(address));
      const text = `${await client.send(["INFO", "errorstats"])}\n${await client.send([
        "INFO",
        "commandstats",
      ])}`;
      return (name) => {
        const key = name.startsWith("cmdstat_") ? name : `errorstat_${name}`;
        const match = new RegExp(`^${key}:(?:calls|count)=(\\d+)`, "m").exec(text);
        return match === null ? 0 : Number(match[1]);
      };
    },
    readerAuths: () =>
      log.filter((line) =>
        line.startsWith(`${CACHE} reader gateway: `) && / AUTH as '.*' .*accepted/.test(line)
      ),
    async [Symbol.asyncDispose]() {
      auth[Symbol.dispose]();
      await emu.close();
    },
  };
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

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("Expected a rejection");
}

/**
 * Writes entries through the endpoint, then one more key, and waits until
 * the reader's replica has that one: it then has every write made before.
 */
async function writeAndReplicate(env: Serverless, entries: [string, string][]): Promise<void> {
  await using writer = await env.client(env.endpoint);
  for (const [key, value] of [...entries, ["replicated-up-to", String(Date.now())]]) {
    await writer.send(["SET", key!, value!]);
  }
  assert.equal(await writer.send(["WAIT", "1", "5000"]), 1, "the replica acknowledged the writes");
}

Deno.test("a serverless cache is one virtual node owning every slot: CLUSTER SLOTS, SHARDS, NODES, INFO and MYID answer its endpoint, with the reader endpoint (the next port) as its replica", async () => {
  const port = freePortPair();
  await using env = await startServerless({ cache: { port } });
  const { endpoint, reader } = env;
  assert.equal(endpoint.port, port);
  assert.deepEqual(endpoint.reader, {
    hostname: "127.0.0.1",
    port: port + 1,
    tls: false,
    url: `redis://127.0.0.1:${port + 1}`,
  });
  assert.equal(endpoint.publicEndpoint, false);
  await using primary = await env.client(endpoint);
  await using replica = await env.client(reader);
  const id = String(await primary.send(["CLUSTER", "MYID"]));
  const readerId = String(await replica.send(["CLUSTER", "MYID"]));
  assert.match(id, /^[0-9a-f]{40}$/);
  assert.notEqual(readerId, id);

  for (const [client, address] of [[primary, endpoint], [replica, reader]] as const) {
    const slots = await client.send(["CLUSTER", "SLOTS"]) as unknown[][];
    assert.deepEqual(
      slots.map(([start, end, ...nodes]) => [
        start,
        end,
        ...(nodes as unknown[][]).map(([host, port, nodeId]) => [host, port, nodeId]),
      ]),
      [[0, 16383, ["127.0.0.1", port, id], ["127.0.0.1", port + 1, readerId]]],
    );
    const shards = parseClusterShards(
      await client.send(["CLUSTER", "SHARDS"]),
      { host: address.hostname, port: address.port },
      false,
    );
    assert.deepEqual(shards, [{
      slots: [[0, 16383]],
      primary: { host: "127.0.0.1", port, id, online: true },
      replicas: [{ host: "127.0.0.1", port: port + 1, id: readerId, online: true }],
    }]);
    const nodes = String(await client.send(["CLUSTER", "NODES"])).trim().split("\n");
    assert.equal(nodes.length, 2);
    assert.match(
      nodes.find((line) => line.startsWith(id))!,
      new RegExp(`^${id} 127\\.0\\.0\\.1:${port}@\\d+ (myself,)?master\\b.* connected 0-16383$`),
    );
    assert.match(
      nodes.find((line) => line.startsWith(readerId))!,
      new RegExp(`^${readerId} 127\\.0\\.0\\.1:${port + 1}@\\d+ (myself,)?slave\\b.* ${id} `),
    );
    const info = String(await client.send(["CLUSTER", "INFO"]));
    for (const field of ["cluster_state:ok", "cluster_slots_ok:16384", "cluster_size:1"]) {
      assert.ok(info.includes(field), `${field} in ${info}`);
    }
  }
  assert.ok(
    env.log.includes(
      `${CACHE} emulator: serverless cache: one virtual node owning every slot, endpoint port ${port}, reader endpoint port ${
        port + 1
      }`,
    ),
    env.log.join("\n"),
  );
});

Deno.test("the reader endpoint takes another free port when the next one is taken", async () => {
  const port = freePortPair();
  using _taken = Deno.listen({ hostname: "127.0.0.1", port: port + 1 });
  await using env = await startServerless({ cache: { port } });
  assert.equal(env.endpoint.port, port);
  assert.notEqual(env.reader.port, port + 1);
  await using reader = await env.client(env.reader);
  assert.equal(await reader.send(["PING"]), "PONG");
});

Deno.test("SELECT of another database is refused as Redis Cluster refuses it, on both endpoints; SELECT 0 is accepted", async () => {
  await using env = await startServerless();
  for (const address of [env.endpoint, env.reader]) {
    await using client = await env.client(address);
    const refused = await failure(client.send(["SELECT", "1"]));
    assert.equal(refused.name, "ReplyError");
    assert.equal(refused.message, "ERR SELECT is not allowed in cluster mode");
    assert.equal(await client.send(["SELECT", "0"]), "OK");
  }
});

Deno.test("keys of different slots draw CROSSSLOT: multi-key commands, MULTI blocks, and scripts and functions that declare keys; keys of one slot work", async () => {
  await using env = await startServerless();
  assert.notEqual(keySlot(A), keySlot(B));
  assert.equal(keySlot(U1), keySlot(U2));
  await using client = await env.client(env.endpoint);
  const sha = String(await client.send(["SCRIPT", "LOAD", "return #KEYS"]));
  await client.send([
    "FUNCTION",
    "LOAD",
    "#!lua name=serverless\nredis.register_function('count_keys', function(keys) return #keys end)",
  ]);
  const refused: string[][] = [
    ["MSET", A, "1", B, "2"],
    ["MGET", A, B],
    ["DEL", A, B],
    ["SUNIONSTORE", A, B],
    ["EVAL", "return #KEYS", "2", A, B],
    ["EVALSHA", sha, "2", A, B],
    ["FCALL", "count_keys", "2", A, B],
    ["FCALL_RO", "count_keys", "2", A, B],
  ];
  for (const command of refused) {
    const error = await failure(client.send(command));
    assert.equal(error.message, CROSSSLOT, command.join(" "));
  }
  assert.equal(await client.send(["MSET", U1, "1", U2, "2"]), "OK");
  assert.deepEqual(await client.send(["MGET", U1, U2]), ["1", "2"]);
  assert.equal(await client.send(["EVAL", "return #KEYS", "2", U1, U2]), 2);
  assert.equal(await client.send(["FCALL", "count_keys", "2", U1, U2]), 2);

  // A transaction whose keys span slots runs nothing.
  const transaction = await failure(client.multi().set(A, "x").set(B, "y").exec());
  assert.match(transaction.message, /CROSSSLOT/);
  assert.deepEqual(await client.send(["EXISTS", A]), 0);
  assert.deepEqual(await client.multi().set(U1, "x").set(U2, "y").exec(), ["OK", "OK"]);
  // On the wire: each command is queued, EXEC refuses the whole block.
  await using raw = await RespTestClient.connect(env.endpoint);
  const { username, password } = await env.auth.credentials();
  assert.equal(await raw.send("AUTH", username!, password), "OK");
  assert.deepEqual(
    await raw.pipeline([["MULTI"], ["SET", A, "1"], ["SET", B, "2"], ["EXEC"]]),
    ["OK", "QUEUED", "QUEUED", `-${CROSSSLOT}`],
  );
  assert.deepEqual([await raw.send("EXISTS", A), await raw.send("EXISTS", B)], [0, 0]);
});

Deno.test("the reader endpoint accepts READONLY, then serves reads from the cache's replica; writes get what a cluster replica answers", async () => {
  await using env = await startServerless();
  const { endpoint, reader } = env;
  await writeAndReplicate(env, [["greeting", "hello"], [U1, "one"]]);
  await using client = await env.client(reader);
  const slot = keySlot("greeting");
  const unready = await failure(client.send(["GET", "greeting"]));
  assert.equal(unready.message, `MOVED ${slot} 127.0.0.1:${endpoint.port}`, "before READONLY");
  assert.equal(await client.send(["READONLY"]), "OK");
  assert.equal(await client.send(["GET", "greeting"]), "hello");
  assert.deepEqual(await client.send(["MGET", U1, U2]), ["one", null]);
  assert.match(String(await client.send(["INFO", "replication"])), /^role:slave\r?$/m);
  const write = await failure(client.send(["SET", "greeting", "bye"]));
  assert.equal(write.message, `MOVED ${slot} 127.0.0.1:${endpoint.port}`);
  const keyless = await failure(client.send(["FLUSHALL"]));
  assert.equal(keyless.message, REPLICA_WRITE);
  const scripted = await failure(
    client.send(["EVAL", "return redis.call('SET', KEYS[1], 'bye')", "1", "greeting"]),
  );
  assert.ok(scripted.message.startsWith(REPLICA_WRITE), scripted.message);
  assert.equal(await client.send(["GET", "greeting"]), "hello");
  assert.equal(env.readerAuths().length, 1);

  // The reader endpoint keeps the serverless limit of 3,999 arguments.
  await using raw = await RespTestClient.connect(reader);
  const { username, password } = await env.auth.credentials();
  assert.equal(await raw.send("AUTH", username!, password), "OK");
  assert.equal(await raw.send("READONLY"), "OK");
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `{u}${i}`);
  assert.equal((await raw.send("MGET", ...keys(3998)) as unknown[]).length, 3998);
  assert.equal(
    await raw.send("MGET", ...keys(3999)),
    "-ERR Protocol error: invalid multibulk length",
  );
  assert.ok(await raw.closedByServer());
});

Deno.test("a public endpoint speaks TLS 1.3 only: TLS 1.2 handshakes are refused at both endpoints; TLS 1.3 clients are served; other caches' TLS still takes 1.2", async () => {
  await using env = await startServerless({
    config: {
      caches: [{ serverlessCacheName: CACHE, publicEndpoint: true }, {
        replicationGroupId: "replication-group-01",
      }],
      tls: true,
    },
  });
  const { endpoint, reader } = env;
  assert.equal(endpoint.publicEndpoint, true);
  assert.equal(endpoint.url, `rediss://127.0.0.1:${endpoint.port}`);
  assert.equal(reader.tls, true);
  const handshake = (address: GatewayAddress, maxVersion: "TLSv1.2" | "TLSv1.3") =>
    new Promise<string>((resolve) => {
      const socket = tlsConnect({
        host: address.hostname,
        port: address.port,
        servername: "localhost",
        ca: address.caCertPem!,
        maxVersion,
      });
      socket.on("secureConnect", () => {
        resolve(socket.getProtocol() ?? "none");
        socket.destroy();
      });
      socket.on("error", (error: Error & { code?: string }) => {
        resolve(error.code ?? error.message);
        socket.destroy();
      });
    });
  for (const [address, label] of [[endpoint, "gateway"], [reader, "reader gateway"]] as const) {
    assert.equal(await handshake(address, "TLSv1.2"), "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
    assert.equal(await handshake(address, "TLSv1.3"), "TLSv1.3");
    assert.ok(
      env.log.some((line) =>
        line.startsWith(
          `${CACHE} ${label}: TLS handshake refused (this endpoint accepts TLS 1.3 only): `,
        )
      ),
      env.log.join("\n"),
    );
  }
  const group = env.emu.endpoint("replication-group-01");
  assert.equal(group.publicEndpoint, false);
  assert.equal(await handshake(group, "TLSv1.2"), "TLSv1.2");

  // The thin client (Deno's TLS: 1.3) is served; the replica replicates through the TLS 1.3 endpoint.
  await writeAndReplicate(env, [["over-tls-1.3", "yes"]]);
  await using client = await env.client(reader);
  assert.equal(await client.send(["READONLY"]), "OK");
  assert.equal(await client.send(["GET", "over-tls-1.3"]), "yes");
});

Deno.test("connectCluster discovers the one virtual node and never needs a redirect; with replicaReads, read-only commands go to the reader endpoint", async () => {
  await using env = await startServerless();
  const { endpoint, reader } = env;
  const keys = Array.from({ length: 64 }, (_, i) => `key:${i}`);
  {
    await using cluster = await connectCluster(env.options(endpoint));
    assert.deepEqual(
      cluster.shards().map(({ slots, primary, replicas }) => ({
        slots,
        primary: primary.port,
        replicas: replicas.map((replica) => replica.port),
      })),
      [{ slots: [[0, 16383]], primary: endpoint.port, replicas: [reader.port] }],
    );
    await Promise.all(keys.map((key) => cluster.set(key, `value of ${key}`)));
    assert.deepEqual(
      await Promise.all(keys.map((key) => cluster.get(key))),
      keys.map((key) => `value of ${key}`),
    );
    assert.equal(await cluster.mset({ [U1]: "1", [U2]: "2" }), "OK");
    assert.deepEqual(await cluster.mget(U1, U2), ["1", "2"]);
    assert.deepEqual(await cluster.multi().incr(U1).incr(U2).exec(), [2, 3]);
    assert.deepEqual(await cluster.pipeline().get(keys[0]!).get(keys[1]!).exec(), [
      `value of ${keys[0]}`,
      `value of ${keys[1]}`,
    ]);
    assert.deepEqual(env.readerAuths(), [], "without replicaReads, nothing goes to the reader");
  }
  await writeAndReplicate(env, []);
  const before = await env.stats(reader);
  const primaryBefore = await env.stats(endpoint);
  {
    await using cluster = await connectCluster({ ...env.options(endpoint), replicaReads: true });
    assert.deepEqual(
      await Promise.all(keys.map((key) => cluster.get(key))),
      keys.map((key) => `value of ${key}`),
    );
    assert.equal(await cluster.set("written", "through the endpoint"), "OK");
  }
  const after = await env.stats(reader);
  const primaryAfter = await env.stats(endpoint);
  assert.ok(env.readerAuths().length >= 1, "the cluster client authenticated at the reader");
  assert.equal(
    after("cmdstat_get") - before("cmdstat_get"),
    keys.length,
    "reads went to the reader",
  );
  assert.ok(after("cmdstat_readonly") > before("cmdstat_readonly"), "after READONLY");
  assert.equal(primaryAfter("cmdstat_get"), primaryBefore("cmdstat_get"), "no read at the primary");
  assert.equal(primaryAfter("cmdstat_set") - primaryBefore("cmdstat_set"), 1, "writes stay there");
  for (const stats of [after, primaryAfter]) {
    assert.equal(stats("MOVED"), 0);
    assert.equal(stats("ASK"), 0);
  }
});

Deno.test("node-redis createIamCluster over a public endpoint (TLS 1.3): discovers the virtual node, needs no redirect, reads from the reader endpoint with useReplicas, and gets the cache's CROSSSLOT", async () => {
  await using env = await startServerless({ cache: { publicEndpoint: true } });
  const { endpoint, reader } = env;
  const cluster = createIamCluster(createCluster, {
    rootNodes: [{ url: endpoint.url }],
    auth: env.auth,
    caCerts: endpoint.caCertPem!,
    useReplicas: true,
  });
  const errors: Error[] = [];
  cluster.on("error", (error: Error) => errors.push(error));
  await cluster.connect();
  try {
    assert.deepEqual(cluster.masters.map((node) => node.port), [endpoint.port]);
    assert.deepEqual(cluster.replicas.map((node) => node.port), [reader.port]);
    const keys = Array.from({ length: 40 }, (_, i) => `node-redis:${i}`);
    for (const key of keys) await cluster.set(key, key.toUpperCase());
    await writeAndReplicate(env, []);
    const before = await env.stats(reader);
    assert.deepEqual(
      await Promise.all(keys.map((key) => cluster.get(key))),
      keys.map((key) => key.toUpperCase()),
    );
    const after = await env.stats(reader);
    assert.ok(after("cmdstat_get") > before("cmdstat_get"), "useReplicas read at the reader");
    assert.ok(env.readerAuths().length >= 1);
    // node-redis 6 splits MGET and MSET by slot itself (their request policy); RENAME it sends whole.
    const crossSlot = await failure(cluster.rename(A, B));
    assert.equal(crossSlot.message, CROSSSLOT);
    assert.deepEqual(await cluster.mGet([U1, U2]), [null, null]);
    for (const address of [endpoint, reader]) {
      const stats = await env.stats(address);
      assert.equal(stats("MOVED"), 0);
      assert.equal(stats("ASK"), 0);
    }
  } finally {
    await cluster.close();
  }
  assert.deepEqual(errors, []);
});

Deno.test("the emulator command's JSON line lists a serverless cache's reader endpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serverless-cli-" });
  try {
    const configFile = `${dir}/config.json`;
    await Deno.writeTextFile(
      configFile,
      JSON.stringify({ caches: [{ serverlessCacheName: CACHE, publicEndpoint: true }] }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli.ts", import.meta.url).pathname,
        "emulator",
        "--config",
        configFile,
        "--quiet",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGTERM");
    while (!(await reader.read()).done) {
      // Drain until the process ends.
    }
    assert.equal((await child.status).code, 0);
    const { caches, gateway } = JSON.parse(text);
    const [cache] = caches;
    assert.deepEqual(cache.reader, {
      hostname: "127.0.0.1",
      port: cache.reader.port,
      url: `rediss://127.0.0.1:${cache.reader.port}`,
    });
    assert.notEqual(cache.reader.port, cache.port);
    assert.equal(cache.publicEndpoint, true);
    assert.equal(cache.tls, true);
    assert.match(gateway.caFile, /ca\.pem$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a serverless cache refuses 'cluster' and a 'backend' address, and only serverless caches take 'publicEndpoint', before anything starts", async () => {
  const refused = async (config: EmulatorConfig, message: string) => {
    await assert.rejects(startEmulator(config), { name: "TypeError", message });
  };
  await refused(
    { caches: [{ serverlessCacheName: CACHE }], cluster: { shards: 2 } },
    "Cannot start the emulator: a serverless cache is always one virtual node owning every slot; leave 'cluster' out (it shapes replication groups)",
  );
  await refused(
    { caches: [{ serverlessCacheName: CACHE }], backend: { port: 6379 } },
    "Cannot start the emulator: a serverless cache runs on redis-servers the emulator starts (a primary and the reader's replica, in cluster mode); leave 'backend.port' out",
  );
  await refused(
    { caches: [{ replicationGroupId: "group", publicEndpoint: true }] },
    "Cannot start the emulator: cache 'group' cannot have a public endpoint: ElastiCache offers public endpoints for serverless caches only ('serverlessCacheName')",
  );
  await refused(
    { caches: [{ serverlessCacheName: CACHE, publicEndpoint: "yes" as unknown as boolean }] },
    `Cannot start the emulator: cache '${CACHE}' 'publicEndpoint' must be a boolean, got 'yes'`,
  );
});
