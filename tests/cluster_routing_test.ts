import assert from "node:assert/strict";
import { commandRoute } from "../src/cluster/command_keys.ts";
import { isReadOnly } from "../src/client/command_rules.ts";
import { parseRedirect, sameSlot } from "../src/cluster/router.ts";
import { crc16, keySlot, SLOT_COUNT } from "../src/cluster/slot.ts";
import { parseClusterShards, parseClusterSlots, Topology } from "../src/cluster/topology.ts";
import { ReplyError } from "../src/errors.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";

const encoder = new TextEncoder();

Deno.test("crc16 and keySlot match the Redis Cluster specification's examples", () => {
  assert.equal(crc16(encoder.encode("123456789")), 0x31c3);
  assert.equal(keySlot("foo"), 12182);
  assert.equal(keySlot(""), 0);
  assert.equal(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
  assert.equal(keySlot("{user1000}.following"), keySlot("user1000"));
  assert.equal(keySlot("foo{}{bar}"), keySlot("foo{}{bar}"), "an empty tag hashes the whole key");
  assert.notEqual(keySlot("foo{}{bar}"), keySlot("bar"));
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  assert.equal(keySlot("foo{bar}{zap}"), keySlot("bar"));
  assert.equal(keySlot(encoder.encode("{user1000}x")), keySlot("user1000"));
  assert.equal(keySlot("ключ"), keySlot(encoder.encode("ключ")));
});

Deno.test("keySlot agrees with CLUSTER KEYSLOT of a real redis-server", async () => {
  await using redis = await startRedisServer({ args: ["--cluster-enabled", "yes"] });
  await using conn = await RespTestClient.connect({
    hostname: redis.hostname,
    port: redis.port,
    tls: false,
  });
  const keys = [
    ...Array.from({ length: 300 }, (_, i) => `key:${i * 7919}:${"x".repeat(i % 13)}`),
    "{}",
    "{",
    "}{a}",
    "a{b}c{d}",
    "{{}}",
    "é{ü}",
    "🙂",
  ];
  const replies = await conn.pipeline(keys.map((key) => ["CLUSTER", "KEYSLOT", key]));
  assert.deepEqual(keys.map((key) => keySlot(key)), replies);
});

Deno.test("commandRoute finds the keys of the commands it knows, and the first argument otherwise", () => {
  const keys = (args: (string | number)[]) => {
    const route = commandRoute(args);
    return route.kind === "keys" ? route.keys : route.kind;
  };
  assert.deepEqual(keys(["GET", "a"]), ["a"]);
  assert.deepEqual(keys(["set", "a", "1", "EX", 10]), ["a"]);
  assert.deepEqual(keys(["MSET", "a", "1", "b", "2"]), ["a", "b"]);
  assert.deepEqual(keys(["DEL", "a", "b", "c"]), ["a", "b", "c"]);
  assert.deepEqual(keys(["BLPOP", "a", "b", 0]), ["a", "b"]);
  assert.deepEqual(keys(["EVAL", "return 1", 2, "k1", "k2", "arg"]), ["k1", "k2"]);
  assert.equal(keys(["EVALSHA", "abc", 0, "arg"]), "any");
  assert.deepEqual(keys(["ZUNIONSTORE", "dest", 2, "a", "b", "WEIGHTS", 1, 2]), ["dest", "a", "b"]);
  assert.deepEqual(keys(["ZINTER", 2, "a", "b"]), ["a", "b"]);
  assert.deepEqual(keys(["XREAD", "COUNT", 2, "STREAMS", "s1", "s2", "0", "0"]), ["s1", "s2"]);
  assert.deepEqual(keys(["OBJECT", "ENCODING", "a"]), ["a"]);
  assert.equal(keys(["MEMORY", "STATS"]), "any");
  assert.deepEqual(keys(["RENAME", "a", "b"]), ["a", "b"]);
  assert.deepEqual(keys(["JSON.GET", "doc", "$"]), ["doc"]);
  assert.equal(keys(["PING"]), "any");
  assert.equal(keys(["CLUSTER", "SHARDS"]), "any");
  assert.deepEqual(commandRoute(["DBSIZE"]), { kind: "all", aggregate: "sum" });
  assert.deepEqual(commandRoute(["SCRIPT", "LOAD", "return 1"]), {
    kind: "all",
    aggregate: "first",
  });
  for (const name of ["SCAN", "MULTI", "WATCH", "SUBSCRIBE", "SELECT", "ASKING"]) {
    assert.equal(commandRoute([name, "0"]).kind, "unsupported", name);
  }
  assert.ok(
    isReadOnly("GET") && isReadOnly("HGETALL") && !isReadOnly("SET") && !isReadOnly("INCR"),
  );
});

Deno.test("sameSlot refuses keys in different slots with a CROSSSLOT error that says why", () => {
  assert.equal(sameSlot("MGET", ["{u}a", "{u}b", "u"]), keySlot("u"));
  assert.throws(
    () => sameSlot("MGET", ["a", "b"]),
    (error: unknown) =>
      error instanceof ReplyError && error.code === "CROSSSLOT" &&
      error.message.includes("Cannot send MGET") &&
      error.message.includes("'a' in 15495, 'b' in 3300"),
  );
});

Deno.test("parseRedirect reads MOVED and ASK, with an empty host meaning the node asked", () => {
  const from = { host: "10.0.0.1", port: 6379 };
  assert.deepEqual(parseRedirect(new ReplyError("MOVED 3999 127.0.0.1:6381"), from), {
    slot: 3999,
    address: { host: "127.0.0.1", port: 6381 },
    asking: false,
  });
  assert.deepEqual(parseRedirect(new ReplyError("ASK 1 :7000"), from), {
    slot: 1,
    address: { host: "10.0.0.1", port: 7000 },
    asking: true,
  });
  assert.deepEqual(parseRedirect(new ReplyError("MOVED 2 [::1]:7000"), from)?.address, {
    host: "::1",
    port: 7000,
  });
  assert.equal(parseRedirect(new ReplyError("ERR nope"), from), undefined);
});

Deno.test("parseClusterShards reads RESP3 maps and RESP2 lists; parseClusterSlots groups by primary", () => {
  const asked = { host: "seed.example", port: 6379 };
  const node = (fields: Record<string, string | number>) =>
    new Map<string, string | number>(Object.entries(fields));
  const resp3 = [
    new Map<string, unknown>([
      ["slots", [0, 100, 200, 300]],
      ["nodes", [
        node({
          id: "a",
          port: 7000,
          "tls-port": 7100,
          ip: "10.0.0.1",
          endpoint: "a.example",
          role: "master",
          health: "online",
        }),
        node({
          id: "b",
          port: 7001,
          ip: "10.0.0.2",
          endpoint: "",
          role: "replica",
          health: "loading",
        }),
      ]],
    ]),
    new Map<string, unknown>([["slots", []], ["nodes", []]]),
  ];
  const shards = parseClusterShards(resp3 as never, asked, true);
  assert.deepEqual(shards, [{
    slots: [[0, 100], [200, 300]],
    primary: { host: "a.example", port: 7100, id: "a", online: true },
    replicas: [{ host: "seed.example", port: 7001, id: "b", online: false }],
  }]);
  const resp2 = [["slots", [5, 6], "nodes", [[
    "id",
    "c",
    "port",
    7002,
    "ip",
    "10.0.0.3",
    "endpoint",
    "?",
    "role",
    "master",
  ]]]];
  assert.deepEqual(parseClusterShards(resp2, asked, false)[0]!.primary, {
    host: "10.0.0.3",
    port: 7002,
    id: "c",
    online: true,
  });
  const slots = parseClusterSlots([
    [0, 10, ["10.0.0.1", 7000, "a"], ["10.0.0.2", 7001, "b"]],
    [20, 30, ["10.0.0.1", 7000, "a"]],
    [11, 19, ["", 7002, "c"]],
  ], asked);
  assert.equal(slots.length, 2);
  assert.deepEqual(slots[0]!.slots, [[0, 10], [20, 30]]);
  assert.deepEqual(slots[1]!.primary, { host: "seed.example", port: 7002, id: "c", online: true });
  assert.throws(() => parseClusterShards("OK", asked, false), TypeError);
});

Deno.test("Topology maps every slot to its shard and records MOVED", () => {
  const topology = new Topology([
    { slots: [[0, 8191]], primary: { host: "a", port: 1, id: "a", online: true }, replicas: [] },
    {
      slots: [[8192, 16383]],
      primary: { host: "b", port: 2, id: "b", online: true },
      replicas: [],
    },
  ]);
  assert.equal(topology.coveredSlots, SLOT_COUNT);
  assert.equal(topology.shardOf(0)?.primary.host, "a");
  assert.equal(topology.shardOf(16383)?.primary.host, "b");
  topology.move(5, { host: "b", port: 2 });
  assert.equal(topology.shardOf(5)?.primary.host, "b");
  topology.move(6, { host: "c", port: 3 });
  assert.equal(topology.shardOf(6)?.primary.host, "c");
  assert.deepEqual(topology.addresses().map((a) => a.host), ["a", "b", "c"]);
});
