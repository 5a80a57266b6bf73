import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { inspect } from "node:util";
import { Cluster as Ioredis6Cluster, Redis } from "ioredis";
import { Cluster as Ioredis5Cluster } from "ioredis5";
import { Cluster as IovalkeyCluster } from "iovalkey";
import { attachIamAuth, attachIamAuthCluster, type Timers } from "../mod.ts";
import { type IamEvent, observe, TimeoutError } from "@elasticache-iam/connector";
import type { AuthProvider } from "../../../src/auth/types.ts";
import { keySlot } from "../../../src/cluster/slot.ts";
import { FakeTimers } from "../../../tests/_helpers/client_fake_timers.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";
import {
  type IamCluster,
  runWorkload,
  startIamCluster,
} from "../../../tests/_helpers/iam_cluster.ts";
import { sleep } from "../../../tests/_helpers/iam_emulator.ts";

const MINUTE = 60_000;
/** The emulator's connection age cap, shortened from 12 hours. */
const CAP = 1200;
/** Re-authenticate a quarter of the way to the cap. */
const REAUTH_AFTER = 300;

type Cluster = Ioredis6Cluster;
type ClusterOptions = NonNullable<ConstructorParameters<typeof Ioredis6Cluster>[1]>;

/** The clusters users have: ioredis 6 and 5, and iovalkey. */
const LIBRARIES = [
  { name: "ioredis 6", Cluster: Ioredis6Cluster },
  { name: "ioredis 5", Cluster: Ioredis5Cluster as unknown as typeof Ioredis6Cluster },
  { name: "iovalkey", Cluster: IovalkeyCluster as unknown as typeof Ioredis6Cluster },
] as const;

/** A lazy cluster whose first startup node is the emulator's first gateway, over TLS. */
function makeCluster(
  library: (typeof LIBRARIES)[number],
  env: IamCluster,
  options: ClusterOptions = {},
): Cluster {
  const { hostname, port } = env.emu.gateway;
  return new library.Cluster([{ host: hostname, port }], {
    lazyConnect: true,
    ...options,
    redisOptions: { tls: { ca: env.caCertPem }, ...options.redisOptions },
  });
}

/** Retries `fn` until it succeeds or `timeoutMs` passes; returns its value and how long it took. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<[T, number]> {
  const started = performance.now();
  for (;;) {
    try {
      return [await fn(), performance.now() - started];
    } catch (error) {
      if (performance.now() - started > timeoutMs) throw error;
      await sleep(50);
    }
  }
}

/** A key whose slot the given shard serves. */
function keyOn(shard: { slots: readonly (readonly [number, number])[] }, prefix: string): string {
  for (let i = 0;; i++) {
    const slot = keySlot(`${prefix}:${i}`);
    if (shard.slots.some(([a, b]) => slot >= a && slot <= b)) return `${prefix}:${i}`;
  }
}

/** The runtime's timers, counting the live ones. */
class RealTimers implements Timers {
  readonly live = new Set<number>();
  setTimeout(callback: () => void, ms: number): number {
    const handle: number = setTimeout(() => {
      this.live.delete(handle);
      callback();
    }, ms) as unknown as number;
    this.live.add(handle);
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.live.delete(handle as number);
    clearTimeout(handle as number);
  }
  unref(handle: unknown): void {
    Deno.unrefTimer(handle as number);
  }
}

/** An auth source that records the tokens it hands out. */
function recording(auth: AuthProvider): AuthProvider & { passwords: string[] } {
  const passwords: string[] = [];
  const record = async (pending: Promise<{ username?: string | undefined; password: string }>) => {
    const credentials = await pending;
    if (!passwords.includes(credentials.password)) passwords.push(credentials.password);
    return credentials;
  };
  return {
    passwords,
    credentials: () => record(auth.credentials()),
    refresh: () => record(auth.refresh!()),
  };
}

/** Every string the cluster shows when inspected or serialized, deep and with hidden properties. */
function views(cluster: Cluster): string[] {
  return [
    Deno.inspect(cluster, { depth: Infinity }),
    Deno.inspect(cluster, { depth: Infinity, showHidden: true }),
    inspect(cluster, { depth: Infinity }),
    inspect(cluster, { depth: Infinity, showHidden: true }),
    ...cluster.nodes("all").map((node) => JSON.stringify(node.options)),
    JSON.stringify(cluster.options),
  ];
}

for (const library of LIBRARIES) {
  Deno.test(`${library.name} Cluster through the emulator's per-node IAM gateways`, async (t) => {
    await using env = await startIamCluster();
    // Topology refreshes follow MOVED and failovers (not every 5 s), so that
    // no connection is opening when the test's clock jumps.
    const cluster = makeCluster(library, env, { slotsRefreshInterval: 60_000 });
    const errors: Error[] = [];
    cluster.on("error", (error: Error) => errors.push(error));
    cluster.on("node error", (error: Error) => errors.push(error));
    const timers = new RealTimers();
    const auth = recording(env.auth);
    const iam = await attachIamAuthCluster(cluster, auth, { timers });
    try {
      await t.step(
        "keys spread over all shards read back; each primary authenticated",
        async () => {
          const keys = Array.from({ length: 300 }, (_, i) => `spread:${i}`);
          await Promise.all(keys.map((key, i) => cluster.set(key, `value-${i}`)));
          assert.deepEqual(
            await Promise.all(keys.map((key) => cluster.get(key))),
            keys.map((_, i) => `value-${i}`),
          );
          for (const shard of await env.cluster.shards()) {
            const size = Number(await env.cluster.command(shard.primary, ["DBSIZE"]));
            assert.ok(size > 50, `shard of node #${shard.primary.index} holds ${size} keys`);
            assert.ok(
              env.acceptedOn(shard.primary.index) >= 1,
              "each primary authenticated by IAM",
            );
          }
          for (const node of cluster.nodes("master")) {
            assert.equal(await node.call("ACL", "WHOAMI"), "iam-user-01");
          }
        },
      );

      await t.step("pub/sub: the subscriber connection authenticates too", async () => {
        const received: string[] = [];
        cluster.on("message", (_channel: string, message: string) => received.push(message));
        await cluster.subscribe("news");
        await cluster.publish("news", "hello");
        await eventually(() => Promise.resolve(assert.deepEqual(received, ["hello"])), 5000);
      });

      await t.step(
        "a slot migration mid-run answers through ASK, then MOVED; nothing lost",
        async () => {
          const keys = Array.from({ length: 40 }, (_, i) => `{mig}:k${i}`);
          await Promise.all(keys.map((key, i) => cluster.set(key, `m${i}`)));
          const slot = keySlot("{mig}");
          const from = await env.cluster.primaryOf(slot);
          const to = (await env.cluster.shards()).map((s) => s.primary).find((p) => p !== from)!;
          const counters = new Map<number, number>();
          const workload = runWorkload(4, async (worker) => {
            const key = `{mig}:counter:${worker}`;
            const next = await cluster.incr(key);
            assert.equal(next, (counters.get(worker) ?? 0) + 1, `counter ${worker}`);
            counters.set(worker, next);
            const index = (worker * 7 + next) % keys.length;
            assert.equal(await cluster.get(keys[index]!), `m${index}`);
          });
          await workload.progress(50);
          const migration = await env.cluster.beginSlotMigration(slot, to);
          await migration.moveKeys(20);
          await workload.progress(50);
          assert.deepEqual(
            await Promise.all(keys.map((key) => cluster.get(key))),
            keys.map((_, i) => `m${i}`),
          );
          assert.ok(await env.stat(from.index, "ASK") > 0, "the source answered ASK");
          assert.ok(await env.stat(to.index, "cmdstat_asking") > 0, "the client sent ASKING");
          await migration.finish();
          await workload.progress(50);
          await workload.stop();
          assert.deepEqual(workload.errors, []);
          assert.ok(await env.stat(from.index, "MOVED") > 0, "the old owner answered MOVED");
          for (const [worker, value] of counters) {
            assert.equal(await cluster.get(`{mig}:counter:${worker}`), String(value));
          }
        },
      );

      await t.step("a failover keeps it serving, with no acknowledged write lost", async () => {
        const shard = (await env.cluster.shards())[0]!;
        const acked: string[] = [];
        const workload = runWorkload(4, async (worker, n) => {
          const key = `fo:${worker}:${n}`;
          await cluster.set(key, key);
          acked.push(key);
        });
        await workload.progress(100);
        const started = performance.now();
        const promoted = await env.cluster.failover(shard.replicas[0]!);
        await workload.progress(100);
        const recoveredMs = performance.now() - started;
        await workload.stop();
        assert.ok(recoveredMs < 10_000, `serving again after ${recoveredMs} ms`);
        assert.ok(env.acceptedOn(promoted.index) >= 1, "the new primary authenticated by IAM");
        const values = await Promise.all(acked.map((key) => cluster.get(key)));
        assert.deepEqual(values, acked, "every acknowledged write is readable");
      });

      await t.step(
        "a node restarted after the clock passed 15 minutes gets a fresh token; so does pub/sub",
        async () => {
          const shard = (await env.cluster.shards())[1]!;
          const node = shard.primary;
          const key = keyOn(shard, "restart");
          await cluster.set(key, "before");
          const firstToken = await env.auth.credentials();
          const refusedBefore = env.refused().length;
          const tokensBefore = auth.passwords.length;

          // Every token minted so far expires (the clock moves first: a
          // handshake under way when it jumps would be refused, which only a
          // test's clock does), then the node crashes.
          env.emu.clock.advance(16 * MINUTE);
          await env.cluster.stopNode(node);
          const [value, failoverMs] = await eventually(() => cluster.get(key));
          assert.equal(value, "before");
          assert.ok(failoverMs < 15_000, `served again after ${failoverMs} ms`);
          await cluster.set(key, "during");

          await env.cluster.startNode(node);
          {
            await using probe = await RespTestClient.connect(node.gateway);
            assert.equal(
              await probe.send("AUTH", firstToken.username!, firstToken.password),
              "-WRONGPASS invalid username-password pair or user is disabled.",
            );
          }
          const acceptedBefore = env.acceptedOn(node.index);
          await env.cluster.failover(node);
          const [after] = await eventually(async () => {
            await cluster.set(key, "after");
            return await cluster.get(key);
          });
          assert.equal(after, "after");
          assert.ok(
            env.acceptedOn(node.index) > acceptedBefore,
            "reconnected to the restarted node",
          );
          assert.ok(
            auth.passwords.length > tokensBefore,
            "a token was minted after the clock moved",
          );

          // A subscriber connection opened now authenticates with a token valid now.
          const received: string[] = [];
          cluster.on("message", (channel: string, message: string) => {
            if (channel === "later") received.push(message);
          });
          await cluster.subscribe("later");
          await eventually(async () => {
            await cluster.publish("later", "hello again");
            assert.ok(received.includes("hello again"));
          }, 5000);
          assert.equal(
            env.refused().length - refusedBefore,
            1,
            `only the probe's stale token was refused: ${env.refused().join("\n")}`,
          );
        },
      );

      await t.step("inspecting the cluster shows no token", () => {
        for (const view of views(cluster)) {
          assert.ok(!view.includes("X-Amz-Signature"), view.slice(0, 200));
        }
      });
    } finally {
      await cluster.quit();
    }
    await eventually(() => Promise.resolve(assert.equal(timers.live.size, 0)), 2000);
    assert.equal(Deno.inspect(iam), "IoredisClusterIamAuth { connections: 0, stopped: true }");
    const authErrors = errors.filter((e) => /WRONGPASS|NOAUTH/.test(e.message));
    assert.deepEqual(authErrors, [], "no connection of the cluster was refused");
  });

  Deno.test(`${library.name} Cluster: busy node connections kept across several caps never drop`, async () => {
    await using env = await startIamCluster({
      connectionMaxAgeMs: CAP,
      cluster: { shards: 2, replicasPerShard: 0 },
    });
    const cluster = makeCluster(library, env);
    cluster.on("error", () => {});
    const events: IamEvent[] = [];
    const stop = observe((event) => events.push(event));
    using _iam = await attachIamAuthCluster(cluster, env.auth, { reauthAfter: REAUTH_AFTER });
    try {
      const keys = [
        keyOn((await env.cluster.shards())[0]!, "busy"),
        keyOn((await env.cluster.shards())[1]!, "busy"),
      ];
      await Promise.all(keys.map((key) => cluster.set(key, "0")));
      const ids = await Promise.all(
        cluster.nodes("master").map((node) => node.call("CLIENT", "ID")),
      );
      const until = Date.now() + 3 * CAP + 200;
      let rounds = 0;
      while (Date.now() < until) {
        await Promise.all(keys.map((key) => cluster.incr(key)));
        rounds++;
        await sleep(15);
      }
      assert.deepEqual(
        await Promise.all(cluster.nodes("master").map((node) => node.call("CLIENT", "ID"))),
        ids,
        "still the first connection to each node",
      );
      assert.deepEqual(await Promise.all(keys.map((key) => cluster.get(key))), [
        String(rounds),
        String(rounds),
      ]);
      assert.deepEqual(env.capClosures(), [], "the gateways never cut a connection");
      for (const node of cluster.nodes("master")) {
        const server = `${node.options.host}:${node.options.port}`;
        const done = events.filter((e) => e.type === "reauth:done" && e.server === server);
        assert.ok(done.length >= 3, `${server} re-authenticated ${done.length} times`);
      }
    } finally {
      stop();
      await cluster.quit();
    }
  });
}

Deno.test("ioredis 6 Cluster: with re-auth off, the node connections are cut at the cap, and the cluster carries on", async () => {
  await using env = await startIamCluster({
    connectionMaxAgeMs: CAP,
    cluster: { shards: 2, replicasPerShard: 0 },
  });
  const cluster = makeCluster(LIBRARIES[0], env);
  cluster.on("error", () => {});
  cluster.on("node error", () => {});
  using _iam = await attachIamAuthCluster(cluster, env.auth, { reauthAfter: false });
  try {
    await cluster.set("kept", "yes");
    await eventually(() => Promise.resolve(assert.ok(env.capClosures().length > 0)), 3 * CAP);
    const [value] = await eventually(() => cluster.get("kept"), 5000);
    assert.equal(value, "yes");
    assert.deepEqual(env.refused(), []);
  } finally {
    await cluster.quit();
  }
});

for (const library of LIBRARIES) {
  Deno.test(`${library.name} Cluster: lifecycle events per node — connect, auth accepted, cut by the server, a new connection, closed by quit()`, async () => {
    await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
    const cluster = makeCluster(library, env, { slotsRefreshInterval: 60_000 });
    cluster.on("error", () => {});
    cluster.on("node error", () => {});
    const events: IamEvent[] = [];
    const stop = observe((event) => events.push(event));
    try {
      using _iam = await attachIamAuthCluster(cluster, env.auth);
      const shards = await env.cluster.shards();
      const keys = shards.map((shard) => keyOn(shard, "life"));
      await Promise.all(keys.map((key) => cluster.set(key, "1")));
      const servers = shards.map((shard) =>
        `${shard.primary.gateway.hostname}:${shard.primary.gateway.port}`
      );
      for (const server of servers) {
        const types = events.filter((e) => "server" in e && e.server === server).map((e) => e.type);
        assert.ok(types.includes("connection:connect"), `${server}: ${types}`);
        assert.ok(types.includes("auth:accepted"), `${server}: ${types}`);
      }
      // The server cuts the first shard's connection: ioredis replaces it.
      const [victim] = cluster.nodes("master").filter((node) =>
        `${node.options.host}:${node.options.port}` === servers[0]
      );
      const mark = events.length;
      await victim!.call("CLIENT", "KILL", "SKIPME", "no", "TYPE", "normal").catch(() => {});
      const [value] = await eventually(() => cluster.get(keys[0]!), 5000);
      assert.equal(value, "1");
      const after = events.slice(mark).filter((e) => "server" in e && e.server === servers[0]);
      const closed = after.find((e) => e.type === "connection:closed");
      assert.equal(closed?.type === "connection:closed" && closed.reason, "server");
      const reopened = after.slice(after.indexOf(closed!));
      assert.ok(reopened.some((e) => e.type === "connection:connect"), "a new connection");
      assert.ok(reopened.some((e) => e.type === "auth:accepted"), "authenticated");
      const quitMark = events.length;
      await cluster.quit();
      await eventually(() => {
        const closes = events.slice(quitMark).filter((e) => e.type === "connection:closed");
        for (const server of servers) {
          assert.ok(
            closes.some((e) =>
              e.type === "connection:closed" && e.server === server && e.reason === "client"
            ),
            `${server} closed by quit()`,
          );
        }
        return Promise.resolve();
      }, 3000);
      assert.ok(!events.some((e) => e.type === "auth:refused"));
    } finally {
      stop();
    }
  });
}

for (const library of LIBRARIES) {
  Deno.test(`${library.name} Cluster: a node connection made before the clock passed the token's expiry connects with a fresh token`, async () => {
    await using env = await startIamCluster({ cluster: { shards: 3, replicasPerShard: 0 } });
    const cluster = makeCluster(library, env, { slotsRefreshInterval: 60_000 });
    cluster.on("error", () => {});
    const auth = recording(env.auth);
    using _iam = await attachIamAuthCluster(cluster, auth);
    try {
      // ioredis makes a connection per node at discovery, and opens it at the
      // first command for that node.
      const idle = cluster.nodes("master").find((node) => node.status === "wait");
      assert.ok(idle !== undefined, "a node's connection is made, not yet opened");
      const shard = (await env.cluster.shards()).find((shard) =>
        shard.primary.gateway.port === idle.options.port
      )!;
      env.emu.clock.advance(20 * MINUTE); // The token it would have copied has expired.
      const key = keyOn(shard, "late");
      await cluster.set(key, "v");
      assert.equal(await cluster.get(key), "v");
      assert.equal(idle.status, "ready");
      assert.deepEqual(env.refused(), [], "no stale token was tried");
      assert.equal(auth.passwords.length, 2, "a second token was minted for the late connect");
    } finally {
      await cluster.quit();
    }
  });
}

for (const library of LIBRARIES.slice(0, 2)) {
  Deno.test(`${library.name} Cluster with shardedSubscribers: each shard's subscriber authenticates`, async () => {
    await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
    const cluster = makeCluster(library, env, { shardedSubscribers: true } as ClusterOptions);
    cluster.on("error", () => {});
    const timers = new RealTimers();
    using _iam = await attachIamAuthCluster(cluster, env.auth, { timers });
    try {
      const shards = await env.cluster.shards();
      const channels = shards.map((shard) => keyOn(shard, "sharded"));
      const received: string[] = [];
      cluster.on("smessage", (_channel: string, message: string) => received.push(message));
      for (const channel of channels) await cluster.ssubscribe(channel);
      await eventually(async () => {
        await Promise.all(channels.map((channel) => cluster.spublish(channel, channel)));
        assert.deepEqual([...new Set(received)].sort(), [...channels].sort());
      }, 5000);
      assert.deepEqual(env.refused(), []);
    } finally {
      await cluster.quit();
    }
    await eventually(() => Promise.resolve(assert.equal(timers.live.size, 0)), 2000);
  });
}

for (const library of LIBRARIES) {
  Deno.test(`${library.name} Cluster: quit() while commands are in flight settles every one and leaves no timer`, async () => {
    await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
    const cluster = makeCluster(library, env);
    cluster.on("error", () => {});
    const timers = new RealTimers();
    await attachIamAuthCluster(cluster, env.auth, { timers, reauthAfter: 50 });
    await sleep(60); // Re-authentications are under way or due.
    const pending = Array.from({ length: 300 }, (_, i) => cluster.incr(`inflight:${i % 20}`));
    const quitting = cluster.quit();
    const settled = await Promise.race([
      Promise.allSettled([...pending, quitting]),
      sleep(5000).then(() => "timed out" as const),
    ]);
    assert.notEqual(settled, "timed out", "every command settled");
    await eventually(() => Promise.resolve(assert.equal(timers.live.size, 0)), 2000);
    assert.equal(cluster.status, "end");
  });
}

Deno.test("attachIamAuthCluster: closing the cluster while its first token is minted ends the attach; nothing connects", async () => {
  await using env = await startIamCluster({ cluster: { shards: 2, replicasPerShard: 0 } });
  const cluster = makeCluster(LIBRARIES[0], env);
  cluster.on("error", () => {});
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const slow = {
    credentials: async () => {
      await gate;
      return env.auth.credentials();
    },
  };
  const timers = new RealTimers();
  const attaching = attachIamAuthCluster(cluster, slow, { timers });
  await sleep(20);
  cluster.disconnect();
  release();
  await assert.rejects(attaching, {
    name: "Error",
    message: "Cannot set up IAM auth: the cluster was closed before its first token came",
  });
  assert.equal(cluster.status, "end");
  assert.equal(env.accepted(), 0, "no connection was opened");
  assert.equal(timers.live.size, 0);
});

Deno.test("attachIamAuthCluster wants a lazy Cluster, no static password and valid options, before any network work", async () => {
  const auth = { credentials: () => Promise.resolve({ username: "u", password: "p" }) };
  const lazy = () => new Ioredis6Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
  const cluster = lazy();
  await assert.rejects(attachIamAuthCluster(cluster, {} as never), {
    name: "TypeError",
    message:
      "Cannot set up IAM auth: 'auth' must be an IamAuth (or an object with a credentials() method)",
  });
  await assert.rejects(
    attachIamAuthCluster(cluster, auth, { reauthAfter: 12 * 60 * MINUTE }),
    RangeError,
  );
  await assert.rejects(attachIamAuthCluster(cluster, auth, { refreshInterval: 0 }), {
    name: "RangeError",
    message:
      "Cannot set up IAM auth: 'refreshInterval' must be a positive number of milliseconds, got 0",
  });
  assert.equal(cluster.status, "wait", "nothing was started");
  const withPassword = new Ioredis6Cluster([{ host: "127.0.0.1", port: 1 }], {
    lazyConnect: true,
    redisOptions: { password: "static-secret" },
  });
  await assert.rejects(attachIamAuthCluster(withPassword, auth), (error: Error) => {
    assert.equal(error.name, "TypeError");
    assert.match(error.message, /'redisOptions.password' is set/);
    assert.ok(!error.message.includes("static-secret"));
    return true;
  });
  const client = new Redis({ port: 1, lazyConnect: true });
  await assert.rejects(attachIamAuthCluster(client as never, auth), {
    name: "TypeError",
    message:
      "Cannot set up IAM auth: 'cluster' is a Redis client, not a Cluster; use attachIamAuth(client, auth)",
  });
  await assert.rejects(attachIamAuth(cluster as never, auth), {
    name: "TypeError",
    message:
      "Cannot set up IAM auth: 'client' is an ioredis Cluster; use attachIamAuthCluster(cluster, auth)",
  });
  await assert.rejects(
    attachIamAuthCluster(
      new Ioredis6Cluster(["rediss://clustercfg.my-group.abc123.use1.cache.amazonaws.com:6379"], {
        lazyConnect: true,
      }),
    ),
    /give 'auth' \(such as an IamAuth\), or make the cluster from a URL that names the IAM user/,
  );
  // Not lazy: it is already connecting (to nothing) without a token.
  const eager = new Ioredis6Cluster([{ host: "127.0.0.1", port: 1 }], {
    clusterRetryStrategy: () => null,
  });
  eager.on("error", () => {});
  await assert.rejects(attachIamAuthCluster(eager, auth), /lazyConnect: true/);
  eager.disconnect();
  client.disconnect();
});

Deno.test("attachIamAuthCluster(cluster) signs for the user and cache of its first startup node's URL", async () => {
  const keys = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example-secret" };
  const events: IamEvent[] = [];
  const stop = observe((event) => events.push(event));
  // The host is AWS's: its name is never looked up here (the lookup fails at
  // once), but the first token is minted before the cluster connects.
  const cluster = new Ioredis6Cluster(
    ["rediss://app-user@clustercfg.my-group.abc123.apse2.cache.amazonaws.com:6379"],
    {
      lazyConnect: true,
      clusterRetryStrategy: () => null,
      dnsLookup: (_address, callback) => callback(new Error("no DNS in this test"), ""),
    },
  );
  cluster.on("error", () => {});
  try {
    await assert.rejects(attachIamAuthCluster(cluster, undefined, { credentials: keys }));
    const minted = events.find((event) => event.type === "token:minted");
    assert.ok(minted?.type === "token:minted");
    assert.deepEqual(
      { cache: minted.cache, user: minted.user, region: minted.region },
      { cache: "my-group", user: "app-user", region: "ap-southeast-2" },
    );
  } finally {
    stop();
    cluster.disconnect();
  }
});

/** A node connection of a fake cluster, driven by the test. */
class FakeNode extends EventEmitter {
  status = "wait";
  options: { host: string; port: number; username?: string; password?: string | null };
  condition: { auth?: unknown } | undefined;
  auths: [string, string][] = [];
  /** When set, `auth()` never answers. */
  silent = false;
  /** Opens the socket: here, at once. */
  connector = { connect: () => Promise.resolve({}) };
  constructor(port: number) {
    super();
    this.options = { host: "10.0.0.1", port };
  }
  /** As ioredis: the handshake's credentials are read from the options, then the socket opens. */
  async connect(): Promise<void> {
    this.status = "connecting";
    this.condition = { auth: [this.options.username, this.options.password] };
    queueMicrotask(() => this.emit("connecting"));
    await this.connector.connect();
  }
  ready(): void {
    this.status = "ready";
    this.emit("ready");
  }
  auth(username: string, password: string): Promise<unknown> {
    this.auths.push([username, password]);
    return this.silent ? new Promise(() => {}) : Promise.resolve("OK");
  }
  end(): void {
    this.status = "end";
    this.emit("close");
    this.emit("end");
  }
}

/** A cluster that makes the nodes the test asks for. */
class FakeCluster extends EventEmitter {
  readonly isCluster = true;
  status = "wait";
  options: { redisOptions?: { username?: string; password?: string } } = {};
  readonly pool: FakeNode[] = [];
  nodes(): FakeNode[] {
    return this.pool.filter((node) => node.status !== "end");
  }
  connect(): Promise<void> {
    this.status = "ready";
    return Promise.resolve();
  }
  add(port: number): FakeNode {
    const node = new FakeNode(port);
    this.pool.push(node);
    this.emit("+node", node);
    return node;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

Deno.test("attachIamAuthCluster: one re-authentication schedule per node connection; a node that never answers fails after 30 s; a closed node's schedule ends", async () => {
  let minted = 0;
  const auth = {
    credentials: () => Promise.resolve({ username: "iam-user-01", password: `token-${minted}` }),
  };
  const cluster = new FakeCluster();
  const timers = new FakeTimers();
  const reported: Error[] = [];
  const iam = await attachIamAuthCluster(cluster, auth, {
    timers,
    now: timers.now,
    reauthAfter: 1000,
    onReAuthenticationError: (error) => reported.push(error),
  });
  assert.equal(timers.pending, 1, "the refresh timer only");
  const a = cluster.add(7001);
  const b = cluster.add(7002);
  assert.equal(a.options.password, "token-0", "a node reads the stored token");
  assert.equal(JSON.stringify(a.options), '{"host":"10.0.0.1","port":7001}');
  minted++; // The token manager hands out another token now: the stored one is old.
  await a.connect();
  assert.deepEqual(
    a.condition!.auth,
    ["iam-user-01", "token-1"],
    "the handshake sends the token current when the socket opened",
  );
  assert.equal(b.options.password, "token-1", "which every connection reads from now on");
  a.ready();
  timers.advance(500);
  await b.connect();
  b.ready();
  assert.equal(timers.pending, 3, "one schedule per ready node, and the refresh");
  timers.advance(500);
  await settle();
  assert.deepEqual(a.auths, [["iam-user-01", "token-1"]], "a re-authenticated on its schedule");
  assert.deepEqual(b.auths, [], "b not yet");
  b.silent = true;
  timers.advance(500);
  await settle();
  assert.equal(b.auths.length, 1, "b's re-authentication sent");
  timers.advance(30_000);
  await settle();
  assert.equal(reported.length, 1);
  assert.ok(reported[0] instanceof TimeoutError, String(reported[0]));
  assert.match(reported[0]!.message, /10\.0\.0\.1:7002: no answer within 30000 ms/);
  assert.equal(iam.failure, reported[0], "kept as the helper's failure");
  // b closes while a re-authentication of a waits for its answer.
  a.silent = true;
  timers.advance(1000);
  await settle();
  a.end();
  b.end();
  timers.advance(60_000);
  await settle();
  assert.equal(reported.length, 1, "nothing reported for connections that closed");
  assert.equal(timers.pending, 1, "only the refresh timer is left");
  cluster.status = "end";
  cluster.emit("end");
  assert.equal(timers.pending, 0);
  assert.equal(cluster.listenerCount("+node") + cluster.listenerCount("end"), 0);
});
