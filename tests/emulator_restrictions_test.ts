/**
 * The emulator refuses what ElastiCache refuses, whatever a user's access
 * string grants: the restricted commands (top level, in `MULTI`, in scripts
 * and functions, in pipelines), `ACL` writes, the emulator's internal user
 * from anything but its own `redis-server`s; and it follows a transaction as
 * the backend does, so a `MULTI` the ACL refused does not block a re-auth.
 */

import assert from "node:assert/strict";
import { type PolicyDocument, SEED_POLICY, startEmulator } from "../src/emulator/mod.ts";
import { peerIsOneOf } from "../src/emulator/local_peer.ts";
import { createAuthToken } from "../src/token.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";

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
