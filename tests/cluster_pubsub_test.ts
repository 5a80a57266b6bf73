import assert from "node:assert/strict";
import { ClusterClient, connectCluster } from "../src/cluster/client.ts";
import { keySlot } from "../src/cluster/slot.ts";
import { ConnectionClosedError, TimeoutError } from "../src/errors.ts";
import type { EmulatorClusterNode } from "@elasticache-iam/emulator";
import { type IamCluster, startIamCluster } from "./_helpers/iam_cluster.ts";
import { sleep } from "./_helpers/iam_emulator.ts";
import {
  type FakeConnection,
  type FakeServer,
  startFakeServer,
  withHandshake,
} from "./_helpers/client_fake_server.ts";

/** Polls `check` every 20 ms until it holds, failing after `ms`. */
async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 15_000) {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    }
    await sleep(20);
  }
}

/** How many subscribers a node has locally for a channel (`PUBSUB NUMSUB` / `SHARDNUMSUB`). */
async function subscribersOn(
  env: IamCluster,
  node: EmulatorClusterNode,
  channel: string,
  sharded: boolean,
): Promise<number> {
  const reply = await env.cluster.command(node, [
    "PUBSUB",
    sharded ? "SHARDNUMSUB" : "NUMSUB",
    channel,
  ]) as unknown[];
  return Number(reply[1]);
}

/** A shard channel whose slot the node serves. */
async function channelOn(env: IamCluster, node: EmulatorClusterNode, prefix: string) {
  const shard = (await env.cluster.shards()).find((s) => s.primary.id === node.id)!;
  for (let i = 0;; i++) {
    const channel = `{${prefix}${i}}:ticks`;
    const slot = keySlot(channel);
    if (shard.slots.some(([start, end]) => slot >= start && slot <= end)) return channel;
  }
}

/**
 * Publishes numbered messages in a loop (about every 5 ms) until stopped,
 * keeping which were acknowledged; failures (a node failing over) are skipped.
 */
function publishing(publish: (message: string) => Promise<number>) {
  let running = true;
  let next = 0;
  const acked: number[] = [];
  const loop = (async () => {
    while (running) {
      const n = next++;
      try {
        await publish(String(n));
        acked.push(n);
      } catch {
        // Not acknowledged: it may or may not have been published.
      }
      await sleep(5);
    }
  })();
  return {
    /** The number the next message will carry. */
    get next() {
      return next;
    },
    acked,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Checks that every message acknowledged from `from` on was received. */
function assertNoLoss(received: readonly string[], acked: readonly number[], from: number) {
  const got = new Set(received.map(Number));
  const lost = acked.filter((n) => n >= from && !got.has(n));
  assert.deepEqual(lost, [], `messages acknowledged after the resubscription and lost`);
  assert.ok(acked.filter((n) => n >= from).length >= 20, "enough messages after it");
}

Deno.test("cluster pub/sub, sharded pub/sub: delivery, failover, migration, reconnects", async (t) => {
  await using env = await startIamCluster();
  const errors: Error[] = [];
  await using cluster = await connectCluster({
    ...env.thinOptions(),
    onError: (error) => errors.push(error),
  });
  await using publisher = await connectCluster(env.thinOptions());

  await t.step("classic channels and patterns hear a PUBLISH made on any node", async () => {
    const heard: string[] = [];
    await using _news = await cluster.subscribe("news", (m, c) => heard.push(`${c} ${m}`));
    await using _all = await cluster.psubscribe(
      ["news.*", "alerts.*"],
      (m, c, p) => heard.push(`${p} ${c} ${m}`),
    );
    // PUBLISH straight to each node's backend: in a cluster it reaches every node.
    for (const node of env.cluster.nodes) {
      await env.cluster.command(node, ["PUBLISH", "news", `from #${node.index}`]);
    }
    // (PUBLISH counts the receivers on the node it ran on only.)
    await publisher.publish("news.eu", "hi");
    await waitFor("7 messages", () => heard.length === 7);
    // Each in the order published on its node; across nodes, as the cluster bus relays them.
    assert.deepEqual(heard.sort(), [
      ...env.cluster.nodes.map((node) => `news from #${node.index}`),
      "news.* news.eu hi",
    ]);
  });

  await t.step("shard channels are subscribed on their slots' primaries", async () => {
    const primaries = (await env.cluster.shards()).map((s) => s.primary);
    const channels = await Promise.all(primaries.map((p, i) => channelOn(env, p, `s${i}-`)));
    const heard: string[] = [];
    const sub = await cluster.ssubscribe(channels, (m, c) => heard.push(`${c} ${m}`));
    assert.deepEqual(sub.names, channels);
    for (const [i, channel] of channels.entries()) {
      assert.equal(await subscribersOn(env, primaries[i]!, channel, true), 1);
      assert.equal(await publisher.spublish(channel, `m${i}`), 1, "one subscriber received it");
    }
    await waitFor("3 shard messages", () => heard.length === 3);
    assert.deepEqual(heard, channels.map((c, i) => `${c} m${i}`));
    // Two listeners on one channel; leaving one keeps the other subscribed.
    const other: string[] = [];
    const second = await cluster.ssubscribe(channels[0]!, (m) => other.push(m));
    await sub.unsubscribe();
    assert.equal(await subscribersOn(env, primaries[0]!, channels[0]!, true), 1);
    assert.equal(await subscribersOn(env, primaries[1]!, channels[1]!, true), 0);
    assert.equal(await publisher.spublish(channels[0]!, "still"), 1);
    assert.equal(await publisher.spublish(channels[1]!, "gone"), 0);
    await waitFor("the second listener's message", () => other.length === 1);
    await second.unsubscribe();
    assert.equal(await publisher.spublish(channels[0]!, "nobody"), 0);
    assert.deepEqual(heard.length, 3);
  });

  await t.step("a listener that throws goes to onError; the others still hear", async () => {
    const heard: string[] = [];
    await using _bad = await cluster.subscribe("oops", () => {
      throw new Error("listener failed");
    });
    await using _good = await cluster.subscribe("oops", (m) => heard.push(m));
    await publisher.publish("oops", "1");
    await waitFor("the message", () => heard.length === 1);
    assert.ok(errors.some((e) => e.message === "listener failed"));
    errors.length = 0;
  });

  await t.step(
    "a failover: shard channels follow the slot; nothing published after the resubscription is lost",
    async () => {
      const shard = (await env.cluster.shards())[0]!;
      const channel = await channelOn(env, shard.primary, "fo");
      const heard: string[] = [];
      await using _sub = await cluster.ssubscribe(channel, (m) => heard.push(m));
      const pub = publishing((m) => publisher.spublish(channel, m));
      await waitFor("messages before", () => heard.length >= 20);
      const promoted = await env.cluster.failover(shard.replicas[0]!);
      await waitFor(
        "the subscription on the new primary",
        async () => await subscribersOn(env, promoted, channel, true) === 1,
      );
      const from = pub.next;
      await waitFor("messages after", () => pub.acked.filter((n) => n >= from).length >= 30);
      await pub.stop();
      await waitFor("the last message", () => heard.includes(String(pub.acked.at(-1))), 5000);
      assertNoLoss(heard, pub.acked, from);
      assert.equal(await subscribersOn(env, shard.primary, channel, true), 0, "none left behind");
    },
  );

  await t.step(
    "a slot migration moves the shard channel's subscription; nothing lost after",
    async () => {
      const shards = await env.cluster.shards();
      const from = shards[1]!.primary;
      const to = shards[2]!.primary;
      const channel = await channelOn(env, from, "mig");
      const heard: string[] = [];
      await using _sub = await cluster.ssubscribe(channel, (m) => heard.push(m));
      const pub = publishing((m) => publisher.spublish(channel, m));
      await waitFor("messages before", () => heard.length >= 20);
      await env.cluster.migrateSlot(keySlot(channel), to);
      await waitFor(
        "the subscription on the slot's new primary",
        async () => await subscribersOn(env, to, channel, true) === 1,
      );
      const mark = pub.next;
      await waitFor("messages after", () => pub.acked.filter((n) => n >= mark).length >= 30);
      await pub.stop();
      await waitFor("the last message", () => heard.includes(String(pub.acked.at(-1))), 5000);
      assertNoLoss(heard, pub.acked, mark);
      assert.equal(await subscribersOn(env, from, channel, true), 0);
    },
  );

  await t.step(
    "a SSUBSCRIBE answered with MOVED (a client that has not seen the slot move) is followed",
    async () => {
      await using stale = await connectCluster(env.thinOptions());
      const shards = await env.cluster.shards();
      const from = shards[0]!.primary;
      const to = shards[1]!.primary;
      const channel = await channelOn(env, from, "moved");
      await env.cluster.migrateSlot(keySlot(channel), to);
      const movedBefore = await env.stat(from.index, "MOVED");
      const heard: string[] = [];
      await using _sub = await stale.ssubscribe(channel, (m) => heard.push(m));
      assert.ok(await env.stat(from.index, "MOVED") > movedBefore, "the old owner said MOVED");
      assert.equal(await subscribersOn(env, to, channel, true), 1);
      assert.equal(await publisher.spublish(channel, "here"), 1);
      await waitFor("the message", () => heard.length === 1);
    },
  );

  await t.step(
    "killed subscriber connections, 16 minutes on: back with a fresh token, resubscribed",
    async () => {
      const primaries = (await env.cluster.shards()).map((s) => s.primary);
      const channel = await channelOn(env, primaries[2]!, "kill");
      const heard: string[] = [];
      const classic: string[] = [];
      await using _s = await cluster.ssubscribe(channel, (m) => heard.push(m));
      await using _c = await cluster.subscribe("kill-news", (m) => classic.push(m));
      const home = await findClassicHome(env, "kill-news");
      const accepted = [primaries[2]!, home].map((node) => env.acceptedOn(node.index));
      const refused = env.refused().length;
      // Every token minted so far has expired: a reconnect must sign a new one.
      env.emu.clock.advance(16 * 60 * 1000);
      for (const node of new Set([primaries[2]!, home])) {
        await env.cluster.command(node, ["CLIENT", "KILL", "TYPE", "pubsub"]);
      }
      await waitFor(
        "both subscriptions back",
        async () =>
          await subscribersOn(env, primaries[2]!, channel, true) === 1 &&
          (await findClassicHome(env, "kill-news").catch(() => undefined)) !== undefined,
      );
      assert.ok(env.acceptedOn(primaries[2]!.index) > accepted[0]!, "a fresh AUTH");
      assert.ok(env.acceptedOn(home.index) > accepted[1]!, "a fresh AUTH");
      assert.equal(env.refused().length, refused, "no expired token was offered");
      assert.equal(await publisher.spublish(channel, "back"), 1);
      await publisher.publish("kill-news", "back");
      await waitFor("both messages", () => heard.length === 1 && classic.length === 1);
    },
  );

  await t.step(
    "a crashed node: classic channels move to another node, shard channels follow the promoted replica",
    async () => {
      const heard: string[] = [];
      await using _c = await cluster.subscribe("crash-news", (m) => heard.push(m));
      const home = await findClassicHome(env, "crash-news");
      const shard = (await env.cluster.shards()).find((s) => s.primary.id === home.id) ??
        (await env.cluster.shards())[0]!;
      const channel = await channelOn(env, shard.primary, "crash");
      const sharded: string[] = [];
      await using _s = await cluster.ssubscribe(channel, (m) => sharded.push(m));
      const classicPub = publishing((m) => publisher.publish("crash-news", m));
      const shardPub = publishing((m) => publisher.spublish(channel, m));
      await waitFor("messages before", () => heard.length >= 10 && sharded.length >= 10);

      await env.cluster.stopNode(shard.primary);
      let newHome: EmulatorClusterNode | undefined;
      await waitFor("the classic subscription on another node", async () => {
        newHome = await findClassicHome(env, "crash-news").catch(() => undefined);
        return newHome !== undefined && newHome.id !== home.id;
      }, 20_000);
      const classicFrom = classicPub.next;
      let promoted: EmulatorClusterNode | undefined;
      await waitFor("the shard subscription on the promoted replica", async () => {
        promoted = (await env.cluster.shards()).find((s) =>
          s.slots.some(([a, b]) => keySlot(channel) >= a && keySlot(channel) <= b)
        )?.primary;
        return promoted !== undefined && promoted.id !== shard.primary.id &&
          await subscribersOn(env, promoted, channel, true) === 1;
      }, 30_000);
      const shardFrom = shardPub.next;
      await waitFor(
        "messages after",
        () =>
          classicPub.acked.filter((n) => n >= classicFrom).length >= 30 &&
          shardPub.acked.filter((n) => n >= shardFrom).length >= 30,
      );
      await Promise.all([classicPub.stop(), shardPub.stop()]);
      await waitFor(
        "the last messages",
        () =>
          heard.includes(String(classicPub.acked.at(-1))) &&
          sharded.includes(String(shardPub.acked.at(-1))),
        5000,
      );
      assertNoLoss(heard, classicPub.acked, classicFrom);
      assertNoLoss(sharded, shardPub.acked, shardFrom);
      await env.cluster.startNode(shard.primary);
    },
  );

  await t.step("close() while a subscription waits for a node that is down", async () => {
    const client = await connectCluster({ ...env.thinOptions(), retryTimeout: 60_000 });
    const shard = (await env.cluster.shards())[2]!;
    const channel = await channelOn(env, shard.primary, "down");
    await env.cluster.stopNode(shard.primary);
    try {
      const pending = client.ssubscribe(channel, () => {});
      pending.catch(() => {});
      await sleep(300);
      const started = performance.now();
      await client.close();
      await assert.rejects(pending, ConnectionClosedError);
      assert.ok(performance.now() - started < 2000, "close() ends the wait at once");
      await assert.rejects(() => client.subscribe("x", () => {}), /the cluster client is closed/);
    } finally {
      await client.close();
      await env.cluster.startNode(shard.primary);
    }
  });

  assert.deepEqual(errors.filter((e) => !(e instanceof ConnectionClosedError)), []);
  // Only the crashed nodes' and the killed connections dropped: no gateway failed on a command.
  assert.deepEqual(env.log.filter((line) => / connection error/.test(line)), []);
});

/** The node where the client's classic subscription to `channel` is. */
async function findClassicHome(env: IamCluster, channel: string): Promise<EmulatorClusterNode> {
  for (const node of env.cluster.nodes) {
    if (!node.running) continue;
    if (await subscribersOn(env, node, channel, false) > 0) return node;
  }
  throw new Error(`no node has a subscriber of ${channel}`);
}

Deno.test("subscriber connections are re-authenticated before the connection age cap", async () => {
  // The 12-hour cap, shortened to 2.5 s on every gateway.
  await using env = await startIamCluster({
    connectionMaxAgeMs: 2500,
    cluster: { shards: 3, replicasPerShard: 0 },
  });
  const errors: Error[] = [];
  await using cluster = await connectCluster({
    ...env.thinOptions(),
    reauthAfter: 800,
    onError: (error) => errors.push(error),
  });
  await using publisher = await connectCluster({ ...env.thinOptions(), reauthAfter: 800 });
  const shards = await env.cluster.shards();
  const channel = await channelOn(env, shards[1]!.primary, "cap");
  const heard: string[] = [];
  const sharded: string[] = [];
  await using _c = await cluster.subscribe("cap-news", (m) => heard.push(m));
  await using _s = await cluster.ssubscribe(channel, (m) => sharded.push(m));
  const before = env.cluster.nodes.map((node) => env.acceptedOn(node.index));
  const classicPub = publishing((m) => publisher.publish("cap-news", m));
  const shardPub = publishing((m) => publisher.spublish(channel, m));
  await sleep(4500);
  await Promise.all([classicPub.stop(), shardPub.stop()]);
  await waitFor(
    "the last messages",
    () =>
      heard.includes(String(classicPub.acked.at(-1))) &&
      sharded.includes(String(shardPub.acked.at(-1))),
    5000,
  );
  assert.deepEqual(env.capClosures(), [], "no connection reached the age cap");
  assertNoLoss(heard, classicPub.acked, 0);
  assertNoLoss(sharded, shardPub.acked, 0);
  assert.equal(classicPub.acked.length, classicPub.next, "every publish acknowledged");
  // The subscriber connections' re-authentications, on top of the command connections'.
  const home = await findClassicHome(env, "cap-news");
  const grew = (node: EmulatorClusterNode) => env.acceptedOn(node.index) - before[node.index]!;
  assert.ok(grew(shards[1]!.primary) >= 8, `shard node: ${grew(shards[1]!.primary)} AUTHs`);
  assert.ok(grew(home) >= 8, `classic node: ${grew(home)} AUTHs`);
  assert.deepEqual(env.refused(), []);
  assert.deepEqual(errors, []);
});

Deno.test("cluster pub/sub refuses bad input before connecting", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using cluster = new ClusterClient({ host: "127.0.0.1", port, connectTimeout: 500 });
  await assert.rejects(
    () => cluster.subscribe([], () => {}),
    new TypeError("Cannot subscribe: give one or more channel names as non-empty strings"),
  );
  await assert.rejects(
    () => cluster.ssubscribe(["a", 1 as never], () => {}),
    new TypeError("Cannot ssubscribe: give one or more shard channel names as non-empty strings"),
  );
  await assert.rejects(
    () => cluster.psubscribe("a*", "listener" as never),
    new TypeError("Cannot psubscribe: the listener must be a function"),
  );
  await using resp2 = new ClusterClient({ host: "127.0.0.1", port, protocol: 2 });
  await assert.rejects(
    () => resp2.ssubscribe("a", () => {}),
    new TypeError("Cannot ssubscribe: pub/sub on the cluster client needs protocol: 3 (RESP3)"),
  );
  // Nothing was discovered: no connection was attempted.
  assert.deepEqual(cluster.shards(), []);
  await assert.rejects(() => cluster.send(["SSUBSCRIBE", "a"]), /use client\.subscribe\(\)/);
});

/** RESP3 bulk strings. */
function bulk(...items: string[]): string {
  return items.map((item) => `$${new TextEncoder().encode(item).length}\r\n${item}\r\n`).join("");
}

/** A push frame: `>3 kind channel count` or `>3 smessage channel message`. */
function push(kind: string, channel: string, last: string | number): string {
  return `>3\r\n${bulk(kind, channel)}${typeof last === "number" ? `:${last}\r\n` : bulk(last)}`;
}

/**
 * A one-node "cluster" on a fake server: it owns every slot, confirms
 * `SSUBSCRIBE` and `SUNSUBSCRIBE`, and hands `SSUBSCRIBE` to `onSubscribe`
 * first, which may answer it otherwise.
 */
function fakeClusterNode(
  onSubscribe?: (
    channels: string[],
    connection: FakeConnection,
  ) => Promise<boolean> | boolean,
): FakeServer {
  const server: FakeServer = startFakeServer(withHandshake(async (command, connection) => {
    const name = command[0]!.toUpperCase();
    if (name === "CLUSTER") {
      const node = `%4\r\n${
        bulk("id", "f".repeat(40), "ip", "127.0.0.1", "port")
      }:${server.port}\r\n${bulk("role", "master")}`;
      await connection.write(
        `*1\r\n%2\r\n${bulk("slots")}*2\r\n:0\r\n:16383\r\n${bulk("nodes")}*1\r\n${node}`,
      );
    } else if (name === "SSUBSCRIBE" || name === "SUNSUBSCRIBE") {
      const channels = command.slice(1);
      if (name === "SSUBSCRIBE" && await onSubscribe?.(channels, connection) === true) return;
      await connection.write(
        channels.map((channel, i) => push(name.toLowerCase(), channel, i + 1)).join(""),
      );
    } else {
      await connection.write("+OK\r\n");
    }
  }));
  return server;
}

/** The channels each `SSUBSCRIBE` the server received named, in order. */
function ssubscribes(server: FakeServer): string[][] {
  return server.commands.flat().filter((c) => c[0] === "SSUBSCRIBE").map((c) => c.slice(1));
}

Deno.test("a node's own sunsubscribe taken for a confirmation: every shard channel is subscribed again", async () => {
  let node: FakeConnection | undefined;
  await using server = fakeClusterNode(async (channels, connection) => {
    node = connection;
    if (channels[0] !== "{b}x") return false;
    // The slot of {a}x leaves the node just as {b}x is subscribed: the node's
    // sunsubscribe arrives first and answers the client's SSUBSCRIBE in its stead.
    await connection.write(push("sunsubscribe", "{a}x", 0) + push("ssubscribe", "{b}x", 1));
    return true;
  });
  await using cluster = await connectCluster({ host: "127.0.0.1", port: server.port });
  const heard: string[] = [];
  await using _a = await cluster.ssubscribe("{a}x", (m, c) => heard.push(`${c} ${m}`));
  await using _b = await cluster.ssubscribe("{b}x", (m, c) => heard.push(`${c} ${m}`));
  await waitFor("{a}x subscribed again", () => ssubscribes(server).length >= 3, 5000);
  assert.deepEqual(ssubscribes(server).slice(0, 2), [["{a}x"], ["{b}x"]]);
  assert.ok(ssubscribes(server).slice(2).some((channels) => channels.includes("{a}x")));
  await node!.write(push("smessage", "{a}x", "1") + push("smessage", "{b}x", "2"));
  await waitFor("both messages", () => heard.length === 2, 5000);
  assert.deepEqual(heard, ["{a}x 1", "{b}x 2"]);
});

Deno.test("a node that never confirms SSUBSCRIBE: the call fails after retryTimeout", async () => {
  await using server = fakeClusterNode(() => true);
  await using cluster = await connectCluster({
    host: "127.0.0.1",
    port: server.port,
    commandTimeout: 200,
    retryTimeout: 600,
  });
  const started = performance.now();
  await assert.rejects(
    () => cluster.ssubscribe("{a}x", () => {}),
    (error: unknown) =>
      error instanceof TimeoutError && /timed out after 200 ms/.test(error.message),
  );
  const ms = performance.now() - started;
  assert.ok(ms >= 600 && ms < 3000, `failed after ${ms} ms`);
  assert.ok(ssubscribes(server).length >= 2, "tried again on a new connection");
});

Deno.test("a node that hangs up on SSUBSCRIBE: subscribed on the next connection", async () => {
  let first = true;
  let node: FakeConnection | undefined;
  await using server = fakeClusterNode((_channels, connection) => {
    node = connection;
    if (!first) return false;
    first = false;
    connection.close();
    return true;
  });
  await using cluster = await connectCluster({ host: "127.0.0.1", port: server.port });
  const heard: string[] = [];
  await using _sub = await cluster.ssubscribe("{a}x", (m) => heard.push(m));
  assert.equal(ssubscribes(server).length, 2);
  await node!.write(push("smessage", "{a}x", "hello"));
  await waitFor("the message", () => heard.length === 1, 5000);
});

Deno.test("close() during a SSUBSCRIBE the node never confirms", async () => {
  await using server = fakeClusterNode(() => true);
  const cluster = await connectCluster({ host: "127.0.0.1", port: server.port });
  const pending = cluster.ssubscribe("{a}x", () => {});
  pending.catch(() => {});
  await waitFor("the SSUBSCRIBE sent", () => ssubscribes(server).length === 1, 5000);
  const started = performance.now();
  await cluster.close();
  await assert.rejects(pending, ConnectionClosedError);
  const ms = performance.now() - started;
  // close() waits up to a second for the replies of commands already sent.
  assert.ok(ms < 2500, `closed after ${ms} ms`);
});
