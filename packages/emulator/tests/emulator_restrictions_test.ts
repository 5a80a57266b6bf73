/**
 * The emulator refuses what ElastiCache refuses, whatever a user's access
 * string grants: the restricted commands (top level, in `MULTI`, in scripts
 * and functions, in pipelines), `ACL` writes, `CLUSTER` writes, the
 * emulator's internal user from anything but its own `redis-server`s and as a
 * configured user id; it follows a transaction as the backend does, so a
 * `MULTI` the ACL refused does not block a re-auth; and the restricted
 * commands' secret names (each its own) never show in `MONITOR` or `SLOWLOG`,
 * even while the emulator migrates slots.
 */

import assert from "node:assert/strict";
import { type PolicyDocument, SEED_POLICY, startEmulator } from "../mod.ts";
import { peerIsOneOf } from "../src/local_peer.ts";
import { AdminConnection, RedisServerProcess } from "../src/redis_backend.ts";
import { keySlot } from "../../../src/cluster/slot.ts";
import { createAuthToken } from "../../../src/token.ts";
import { type Address, RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

const KEYS = { accessKeyId: "AKIAEMULATORRESTRICT", secretAccessKey: "restrictions-secret" };
const START = Date.UTC(2026, 10, 23, 12, 0, 0);
const CONNECT_ANY: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "elasticache:Connect", Resource: "*" }],
};
const RENAMED = [
  "BGREWRITEAOF",
  "BGSAVE",
  "CONFIG",
  "DEBUG",
  "MIGRATE",
  "REPLICAOF",
  "SAVE",
  "SLAVEOF",
  "SHUTDOWN",
  "MODULE",
];

function token(userId: string, signingDate: Date): Promise<string> {
  return createAuthToken({
    replicationGroupId: "replication-group-01",
    userId,
    region: "us-east-1",
    credentials: KEYS,
    signingDate,
  });
}

/** An emulator whose IAM users may run everything (`+@all`), or everything but MULTI. */
async function emulator(log: string[] = []) {
  const emu = await startEmulator({
    users: [
      { userId: "iam-user-01", accessString: "on ~* &* +@all" },
      { userId: "no-multi", accessString: "on ~* &* +@all -multi" },
    ],
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [CONNECT_ANY] }],
    log: (line) => log.push(line),
  });
  emu.clock.set(START);
  return emu;
}

async function signedIn(emu: Awaited<ReturnType<typeof emulator>>, user = "iam-user-01") {
  const client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", user, await token(user, emu.clock.date())), "OK");
  return client;
}

Deno.test("restricted commands are unknown to every IAM user: at the top level, in MULTI, in scripts, in pipelines", async () => {
  await using emu = await emulator();
  await using client = await signedIn(emu);
  for (const name of RENAMED) {
    const reply = String(await client.send(name, "x"));
    assert.match(
      reply,
      new RegExp(`^-ERR unknown command '${name}', with args beginning with: 'x' $`),
    );
  }
  // In a pipeline, and in lower case, the same.
  const replies = await client.pipeline([["config", "get", "masterauth"], ["PING"]]);
  assert.match(String(replies[0]), /^-ERR unknown command 'config'/);
  assert.equal(replies[1], "PONG");
  // Queued in MULTI: refused at once, and the transaction aborted.
  assert.equal(await client.send("MULTI"), "OK");
  assert.match(
    String(await client.send("CONFIG", "SET", "maxmemory", "1")),
    /^-ERR unknown command/,
  );
  assert.match(String(await client.send("EXEC")), /^-EXECABORT/);
  // Called from a script or a function: unknown there too.
  assert.match(
    String(await client.send("EVAL", "return redis.call('config', 'get', 'masterauth')", "0")),
    /Unknown Redis command called from script/i,
  );
  const library = "#!lua name=probe\n" +
    "redis.register_function('probe', function() return redis.call('shutdown') end)";
  assert.equal(await client.send("FUNCTION", "LOAD", library), "probe");
  assert.match(String(await client.send("FCALL", "probe", "0")), /Unknown Redis command/i);
  // Replication commands: denied by the ACL.
  assert.match(String(await client.send("SYNC")), /^-NOPERM/);
  assert.match(String(await client.send("PSYNC", "?", "-1")), /^-NOPERM/);
  // The server is still up for everyone.
  await using other = await signedIn(emu);
  assert.equal(await other.send("PING"), "PONG");
});

Deno.test("ACL is read-only: WHOAMI, LIST, USERS and CAT answer; the default user cannot be switched on", async () => {
  await using emu = await emulator();
  await using client = await signedIn(emu);
  assert.equal(await client.send("ACL", "WHOAMI"), "iam-user-01");
  assert.ok(Array.isArray(await client.send("ACL", "LIST")));
  assert.ok((await client.send("ACL", "USERS") as string[]).includes("iam-user-01"));
  assert.ok(Array.isArray(await client.send("ACL", "CAT")));
  for (
    const args of [
      ["SETUSER", "default", "on", "nopass", "+@all", "~*"],
      ["DELUSER", "no-multi"],
      ["GETUSER", "default"],
      ["LOG"],
      ["SAVE"],
      ["LOAD"],
      ["GENPASS"],
      ["DRYRUN", "default", "GET", "k"],
    ]
  ) {
    const reply = String(await client.send("ACL", ...args));
    assert.match(reply, /^-NOPERM/, `ACL ${args[0]}`);
  }
  // The backend's default user stayed off: RESET leaves the connection unauthenticated.
  assert.equal(await client.send("RESET"), "RESET");
  assert.match(String(await client.send("GET", "k")), /^-NOAUTH/);
});

Deno.test("a MULTI the ACL refuses opens no transaction: a later re-auth is accepted", async () => {
  const log: string[] = [];
  await using emu = await emulator(log);
  await using client = await signedIn(emu, "no-multi");
  assert.match(String(await client.send("MULTI")), /^-NOPERM/);
  assert.equal(
    await client.send("AUTH", "no-multi", await token("no-multi", emu.clock.date())),
    "OK",
  );
  assert.ok(!log.some((line) => line.includes("inside MULTI refused")));
  // A MULTI with arguments is refused by Redis too, and opens nothing.
  await using other = await signedIn(emu);
  assert.match(String(await other.send("MULTI", "extra")), /^-ERR wrong number of arguments/);
  assert.equal(
    await other.send("AUTH", "iam-user-01", await token("iam-user-01", emu.clock.date())),
    "OK",
  );
});

Deno.test("a MULTI the backend refuses after RESET or in RESP2 subscribed mode opens no transaction; in RESP3 it does", async () => {
  await using emu = await emulator();
  const reauth = async (client: RespTestClient) =>
    await client.send("AUTH", "iam-user-01", await token("iam-user-01", emu.clock.date()));
  {
    await using client = await signedIn(emu);
    assert.equal(await client.send("RESET"), "RESET");
    assert.match(String(await client.send("MULTI")), /^-NOAUTH/);
    // The gateway used to take this MULTI for a transaction and refuse the AUTH.
    assert.equal(await reauth(client), "OK");
    assert.equal(await client.send("PING"), "PONG");
  }
  {
    await using client = await signedIn(emu);
    assert.deepEqual(await client.send("SUBSCRIBE", "c"), ["subscribe", "c", 1]);
    assert.match(String(await client.send("MULTI")), /^-ERR Can't execute 'multi'/);
    assert.deepEqual(await client.send("UNSUBSCRIBE"), ["unsubscribe", "c", 0]);
    assert.equal(await reauth(client), "OK");
    // A real transaction still holds an IAM AUTH back.
    assert.equal(await client.send("MULTI"), "OK");
    assert.match(String(await reauth(client)), /IAM-AUTH-NOT-SUPPORTED-IN-MULTI/);
    assert.match(String(await client.send("EXEC")), /^-EXECABORT/);
  }
  {
    await using client = await signedIn(emu);
    assert.equal((await client.send("HELLO", "3") as Map<string, unknown>).get("proto"), 3);
    await client.send("SUBSCRIBE", "c");
    assert.equal(await client.send("MULTI"), "OK", "RESP3 allows MULTI while subscribed");
    assert.match(String(await reauth(client)), /IAM-AUTH-NOT-SUPPORTED-IN-MULTI/);
    assert.match(String(await client.send("EXEC")), /^-EXECABORT/);
  }
});

Deno.test("the emulator's internal user is refused from any process but its own redis-servers", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({
    cluster: { shards: 1, replicasPerShard: 1 },
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [SEED_POLICY] }],
    log: (line) => log.push(line),
  });
  emu.clock.set(START);
  // The replica's link came through the gateway and was let in: the cluster formed.
  assert.ok(log.some((line) => line.includes("internal link (replication) let through")));
  await using client = await RespTestClient.connect(emu.gateway);
  assert.match(String(await client.send("AUTH", "emulator-admin", "any-password")), /^-WRONGPASS/);
  assert.ok(
    log.some((line) => line.includes("the peer is not one of the emulator's own processes")),
  );
  // Signed in, its password cannot be read: CONFIG is unknown.
  assert.equal(
    await client.send("AUTH", "iam-user-01", await token("iam-user-01", emu.clock.date())),
    "OK",
  );
  assert.match(
    String(await client.send("CONFIG", "GET", "masterauth")),
    /^-ERR unknown command 'CONFIG'/,
  );
});

Deno.test("peerIsOneOf tells this process's own loopback connections from another's", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using conn = await listener.accept();
  assert.equal(await peerIsOneOf(conn, [Deno.pid]), true);
  assert.equal(await peerIsOneOf(conn, [1]), false);
  client.close();
});

/** What a restricted command's secret name looks like in a reply or a log: `CONFIG-<hex>`. */
const SECRET_NAME = new RegExp(`\\b(${RENAMED.join("|")})-[0-9a-f]{16,}`, "i");

/** An emulator in cluster mode, 2 shards with 1 replica each, and its IAM user `+@all`. */
async function clusterEmulator() {
  const emu = await startEmulator({
    cluster: { shards: 2, replicasPerShard: 1 },
    users: [{ userId: "iam-user-01", accessString: "on ~* &* +@all" }],
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [CONNECT_ANY] }],
  });
  emu.clock.set(START);
  return emu;
}

async function signedInAt(emu: Awaited<ReturnType<typeof clusterEmulator>>, at: Address) {
  const client = await RespTestClient.connect(at);
  assert.equal(
    await client.send("AUTH", "iam-user-01", await token("iam-user-01", emu.clock.date())),
    "OK",
  );
  return client;
}

/** The first key (`k<n>`) in a slot. */
function keyInSlot(slot: number): string {
  for (let i = 0;; i++) if (keySlot(`k${i}`) === slot) return `k${i}`;
}

/** The `CLUSTER` subcommands that change the cluster, with arguments Redis accepts the arity of. */
const CLUSTER_WRITES: string[][] = [
  ["ADDSLOTS", "0"],
  ["ADDSLOTSRANGE", "0", "1"],
  ["BUMPEPOCH"],
  ["DELSLOTS", "0"],
  ["DELSLOTSRANGE", "0", "1"],
  ["FAILOVER"],
  ["FLUSHSLOTS"],
  ["FORGET", "0".repeat(40)],
  ["MEET", "127.0.0.1", "1"],
  ["REPLICATE", "0".repeat(40)],
  ["RESET"],
  ["SAVECONFIG"],
  ["SET-CONFIG-EPOCH", "1000"],
  ["SETSLOT", "0", "STABLE"],
];
/** The ones that only read (MYSHARDID: Redis 7.2). */
const CLUSTER_READS = [
  "COUNT-FAILURE-REPORTS",
  "COUNTKEYSINSLOT",
  "GETKEYSINSLOT",
  "HELP",
  "INFO",
  "KEYSLOT",
  "LINKS",
  "MYID",
  "MYSHARDID",
  "NODES",
  "REPLICAS",
  "SHARDS",
  "SLAVES",
  "SLOTS",
];

Deno.test("cluster mode: IAM users cannot change the cluster (CLUSTER MEET, SETSLOT, …: NOPERM); they still read it, and the emulator still fails over and migrates", async () => {
  await using emu = await clusterEmulator();
  const { cluster } = emu;
  await using client = await signedInAt(emu, cluster.nodes[0]!.gateway);
  // Every subcommand Redis has is one or the other.
  const docs = await client.send("COMMAND", "DOCS", "CLUSTER") as unknown[];
  const subcommands = docs[1] as unknown[];
  const names = (subcommands[subcommands.indexOf("subcommands") + 1] as unknown[])
    .filter((_, i) => i % 2 === 0)
    .map((name) => String(name).replace(/^cluster\|/, "").toUpperCase());
  assert.ok(names.includes("MEET") && names.includes("SHARDS"), String(names));
  for (const name of names) {
    assert.ok(
      CLUSTER_WRITES.some(([write]) => write === name) || CLUSTER_READS.includes(name),
      `CLUSTER ${name} is neither a read nor a write here`,
    );
  }
  for (const args of CLUSTER_WRITES) {
    assert.match(
      String(await client.send("CLUSTER", ...args)),
      new RegExp(`^-NOPERM .*'cluster\\|${args[0]!.toLowerCase()}'`),
      `CLUSTER ${args[0]}`,
    );
  }
  const id = cluster.nodes[0]!.id;
  assert.equal(await client.send("CLUSTER", "MYID"), id);
  assert.match(String(await client.send("CLUSTER", "INFO")), /cluster_state:ok/);
  assert.ok(String(await client.send("CLUSTER", "NODES")).includes(id));
  for (const args of [["SHARDS"], ["SLOTS"], ["LINKS"], ["REPLICAS", id], ["SLAVES", id]]) {
    assert.ok(Array.isArray(await client.send("CLUSTER", ...args)), `CLUSTER ${args[0]}`);
  }
  assert.equal(await client.send("CLUSTER", "KEYSLOT", "foo"), 12182);
  assert.equal(await client.send("CLUSTER", "COUNTKEYSINSLOT", "0"), 0);
  assert.deepEqual(await client.send("CLUSTER", "GETKEYSINSLOT", "0", "1"), []);
  assert.equal(await client.send("CLUSTER", "COUNT-FAILURE-REPORTS", id), 0);
  assert.equal(await client.send("READONLY"), "OK");
  assert.equal(await client.send("READWRITE"), "OK");
  // The emulator's own user keeps them: the cluster formed, and still fails over and migrates.
  const promoted = await cluster.failover(0);
  assert.notEqual(promoted.index, 0);
  const slot = 100;
  const key = keyInSlot(slot);
  const from = await cluster.primaryOf(slot);
  assert.equal(await cluster.command(from, ["SET", key, "moved"]), "OK");
  const to = (await cluster.shards()).map((shard) => shard.primary).find((p) => p !== from)!;
  await cluster.migrateSlot(slot, to);
  assert.equal((await cluster.primaryOf(slot)).index, to.index);
  assert.equal(await cluster.command(to, ["GET", key]), "moved");
  await cluster.waitUntilHealthy();
});

Deno.test("cluster mode: MONITOR and SLOWLOG never show a restricted command's secret name or the admin password, while the emulator migrates slots", async () => {
  await using emu = await clusterEmulator();
  const { cluster } = emu;
  // From now on every command lands in SLOWLOG, this CONFIG SET (a restricted command) included.
  for (const node of cluster.nodes) {
    assert.equal(
      await cluster.command(node, ["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
      "OK",
    );
  }
  const monitors = await Promise.all(cluster.nodes.map(async (node) => {
    const client = await signedInAt(emu, node.gateway);
    assert.equal(await client.send("MONITOR"), "OK");
    const lines: string[] = [];
    const reading = (async () => {
      try {
        for (;;) lines.push(String(await client.read()));
      } catch {
        // Closed.
      }
    })();
    return { node, client, lines, reading };
  }));
  // A slot moved in one go, another step by step (ASK in between), keys in both.
  const shards = await cluster.shards();
  const [slotA, slotB] = [shards[0]!.slots[0]![0] + 7, shards[1]!.slots[0]![0] + 7];
  for (const [slot, count] of [[slotA, 3], [slotB, 2]] as const) {
    const owner = await cluster.primaryOf(slot);
    for (let i = 0; i < count; i++) {
      const key = `{${keyInSlot(slot)}}:${i}`;
      assert.equal(await cluster.command(owner, ["SET", key, `value-${i}`, "PX", "600000"]), "OK");
    }
  }
  await cluster.migrateSlot(slotA, shards[1]!.primary);
  const migration = await cluster.beginSlotMigration(slotB, shards[0]!.primary);
  assert.equal(await migration.moveKeys(1), 1);
  await migration.finish();
  assert.equal(Number(await cluster.command(shards[1]!.primary, ["DBSIZE"])), 3);
  assert.equal(Number(await cluster.command(shards[0]!.primary, ["DBSIZE"])), 2);
  const ttl = Number(
    await cluster.command(shards[1]!.primary, ["PTTL", `{${keyInSlot(slotA)}}:0`]),
  );
  assert.ok(ttl > 500_000 && ttl <= 600_000, `the TTL moved with the key: ${ttl}`);
  // The emulator's own admin work through a secret name.
  const [, adminPassword] = await cluster.command(0, ["CONFIG", "GET", "masterauth"]) as string[];
  assert.match(adminPassword!, /^[0-9a-f]{48}$/);
  // Restricted commands MONITOR would show (not flagged admin) the emulator refuses to run.
  for (const args of [["MIGRATE", "127.0.0.1", "1", "k", "0", "10"], ["CONFIG", "HELP"]]) {
    await assert.rejects(cluster.command(0, args), {
      name: "TypeError",
      message: `Cannot run ${
        args.slice(0, args[0] === "CONFIG" ? 2 : 1).join(" ")
      } as the emulator: MONITOR would show its secret name to every client`,
    });
  }
  // Wait until every monitor has seen everything up to a marker.
  for (const monitor of monitors) {
    await using marker = await signedInAt(emu, monitor.node.gateway);
    assert.equal(await marker.send("ECHO", "end-of-test"), "end-of-test");
    while (!monitor.lines.some((line) => line.includes('"end-of-test"'))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    monitor.client.close();
    await monitor.reading;
  }
  const lines = monitors.flatMap((monitor) => monitor.lines);
  assert.ok(lines.some((line) => line.includes('"AUTH" "(redacted)" "(redacted)"')));
  for (const line of lines) {
    assert.doesNotMatch(line, SECRET_NAME);
    assert.ok(!line.includes(adminPassword!), line);
  }
  for (const node of cluster.nodes) {
    await using client = await signedInAt(emu, node.gateway);
    const slowlog = JSON.stringify(await client.send("SLOWLOG", "GET", "-1"));
    assert.doesNotMatch(slowlog, SECRET_NAME);
    assert.ok(!slowlog.includes(adminPassword!));
  }
  assert.ok(lines.some((line) => /"RESTORE"/.test(line)), "the monitors saw the keys move");
});

Deno.test("each restricted command has its own secret name: knowing one gives away no other", async () => {
  const server = await RedisServerProcess.start("redis-server");
  try {
    const names = RENAMED.map((name) => server.renamed.get(name)!);
    const suffixes = names.map((name, i) => name.slice(RENAMED[i]!.length + 1));
    assert.ok(suffixes.every((suffix) => /^[0-9a-f]{32,}$/.test(suffix)), String(names));
    assert.equal(new Set(suffixes).size, RENAMED.length);
    const admin = await AdminConnection.open("127.0.0.1", server.port);
    try {
      // The server knows CONFIG by its own name only, not by MIGRATE's suffix.
      const config = server.renamed.get("CONFIG")!;
      assert.deepEqual(await admin.run([[config, "GET", "port"]]), [["port", String(server.port)]]);
      await assert.rejects(
        admin.run([[`CONFIG-${suffixes[RENAMED.indexOf("MIGRATE")]}`, "GET", "port"]]),
        /unknown command/,
      );
    } finally {
      admin.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("user id 'emulator-admin' is the emulator's own: refused before anything starts", async () => {
  for (const cluster of [undefined, { shards: 1, replicasPerShard: 0 }]) {
    await assert.rejects(
      startEmulator({
        users: [{ userId: "emulator-admin", accessString: "on ~* +@all" }],
        ...(cluster ? { cluster } : {}),
      }),
      {
        name: "TypeError",
        message:
          "Cannot start the emulator: user id 'emulator-admin' is reserved for the emulator's own backend user; choose another",
      },
    );
  }
});
