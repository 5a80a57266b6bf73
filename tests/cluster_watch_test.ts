import assert from "node:assert/strict";
import { ClusterClient, connectCluster } from "../src/cluster/client.ts";
import { keySlot } from "../src/cluster/slot.ts";
import { ConnectionClosedError, ReplyError } from "../src/errors.ts";
import { type IamCluster, startIamCluster } from "./_helpers/iam_cluster.ts";

/** How many WATCH commands the primaries ran so far. */
async function watches(env: IamCluster): Promise<number> {
  let total = 0;
  for (const shard of await env.cluster.shards()) {
    total += await env.stat(shard.primary.index, "cmdstat_watch");
  }
  return total;
}

function aborted(error: unknown): boolean {
  return error instanceof ReplyError && error.code === "EXECABORT";
}

Deno.test("cluster WATCH: optimistic transactions on the slot's node", async (t) => {
  await using env = await startIamCluster();
  await using cluster = await connectCluster(env.thinOptions());
  await using other = await connectCluster(env.thinOptions());

  await t.step("no concurrent write: the transaction runs", async () => {
    await cluster.set("{acct:1}:balance", "100");
    await using watch = await cluster.watch("{acct:1}:balance", "{acct:1}:log");
    assert.equal(watch.slot, keySlot("{acct:1}"));
    const balance = Number(await watch.get("{acct:1}:balance"));
    const [left, logged] = await watch.multi()
      .decrby("{acct:1}:balance", 30)
      .rpush("{acct:1}:log", `withdrew 30 of ${balance}`)
      .exec();
    assert.deepEqual([left, logged], [70, 1]);
    assert.equal(watch.active, false, "exec() ended the watch");
    assert.equal(await cluster.get("{acct:1}:balance"), "70");
  });

  await t.step("a write by another client between WATCH and EXEC aborts it", async () => {
    await using watch = await cluster.watch("{acct:1}:balance");
    const balance = Number(await watch.get("{acct:1}:balance"));
    await other.set("{acct:1}:balance", "500");
    await assert.rejects(
      () => watch.multi().set("{acct:1}:balance", String(balance - 30)).exec(),
      (error: unknown) => aborted(error) && /a watched key changed/.test(String(error)),
    );
    assert.equal(await cluster.get("{acct:1}:balance"), "500", "nothing of it ran");
  });

  await t.step(
    "the cluster client's own transactions on that node meanwhile do not end the watch",
    async () => {
      // On the node's shared connection, this EXEC would unwatch every key of
      // the connection, and the write below would go unnoticed.
      const neighbour = Array.from({ length: 100 }, (_, i) => `{acct:1}:n${i}`)[7]!;
      await using watch = await cluster.watch("{acct:1}:balance");
      await cluster.multi().incr(neighbour).exec();
      await other.set("{acct:1}:balance", "600");
      await assert.rejects(
        () => watch.multi().set("{acct:1}:balance", "0").exec(),
        aborted,
      );
      assert.equal(await cluster.get("{acct:1}:balance"), "600");
    },
  );

  await t.step("keys in different slots are refused before anything is sent", async () => {
    const before = await watches(env);
    await assert.rejects(
      () => cluster.watch("{a}:x", "{b}:y"),
      new TypeError(
        `Cannot watch keys in different hash slots ('{a}:x' in ${keySlot("a")}, '{b}:y' in ${
          keySlot("b")
        }): a watch and its transaction run on one node; give keys that belong together a hash tag, such as {user:1}:a and {user:1}:b`,
      ),
    );
    await assert.rejects(() => cluster.watch(), /give one or more keys/);
    await using watch = await cluster.watch("{a}:x");
    await assert.rejects(() => watch.get("{b}:y"), /'\{b\}:y' is in hash slot \d+, the watched/);
    await assert.rejects(
      () => watch.multi().set("{a}:x", "1").set("{b}:y", "2").exec(),
      /in a watched transaction: '\{b\}:y' is in hash slot/,
    );
    assert.equal(watch.active, true, "a refused transaction sent nothing: still watching");
    await assert.rejects(() => watch.send(["WATCH", "{a}:z"]), /watch every key in cluster\.watch/);
    await assert.rejects(() => watch.dbsize(), /runs on every primary/);
    await assert.rejects(() => cluster.send(["WATCH", "{a}:x"]), /client\.watch\(\.\.\.keys\)/);
    assert.equal(await watches(env), before + 1, "only the one-slot WATCH reached a node");
  });

  await t.step("unwatch ends it; its connection serves the next watch, no new AUTH", async () => {
    const node = await env.cluster.primaryOf("{acct:1}");
    const first = await cluster.watch("{acct:1}:balance");
    const id = await first.send(["CLIENT", "ID"]);
    await first.unwatch();
    await other.set("{acct:1}:balance", "700");
    await assert.rejects(() => first.get("{acct:1}:balance"), /it ended/);
    const accepted = env.acceptedOn(node.index);
    await using second = await cluster.watch("{acct:1}:balance");
    assert.equal(await second.send(["CLIENT", "ID"]), id, "the same connection");
    assert.equal(env.acceptedOn(node.index), accepted);
    const [n] = await second.multi().incrby("{acct:1}:balance", 1).exec();
    assert.equal(n, 701, "UNWATCH cleared the earlier watch");
  });

  await t.step(
    "a dropped connection between WATCH and EXEC: exec() fails, nothing runs unwatched",
    async () => {
      const node = await env.cluster.primaryOf("{acct:1}");
      await using watch = await cluster.watch("{acct:1}:balance");
      const id = await watch.send(["CLIENT", "ID"]);
      await env.cluster.command(node, ["CLIENT", "KILL", "ID", String(id)]);
      await other.set("{acct:1}:balance", "800");
      await assert.rejects(
        () => watch.multi().set("{acct:1}:balance", "0").exec(),
        ConnectionClosedError,
      );
      assert.equal(await cluster.get("{acct:1}:balance"), "800");
      // The next watch opens a new connection, with a fresh AUTH.
      const accepted = env.acceptedOn(node.index);
      await using again = await cluster.watch("{acct:1}:balance");
      await again.multi().set("{acct:1}:balance", "801").exec();
      assert.equal(env.acceptedOn(node.index), accepted + 1);
      assert.equal(await cluster.get("{acct:1}:balance"), "801");
    },
  );

  await t.step(
    "the slot moves between WATCH and EXEC: aborted; the next watch follows it",
    async () => {
      const slot = keySlot("{acct:1}");
      const from = await env.cluster.primaryOf(slot);
      const to = (await env.cluster.shards()).map((s) => s.primary).find((p) => p.id !== from.id)!;
      const watch = await cluster.watch("{acct:1}:balance");
      await env.cluster.migrateSlot(slot, to);
      await assert.rejects(() => watch.multi().set("{acct:1}:balance", "0").exec(), aborted);
      assert.equal(watch.active, false);
      assert.equal(await other.get("{acct:1}:balance"), "801");
      await using moved = await cluster.watch("{acct:1}:balance");
      assert.deepEqual(await moved.multi().incr("{acct:1}:balance").exec(), [802]);
      assert.equal((await env.cluster.primaryOf(slot)).id, to.id);
    },
  );

  await t.step(
    "a WATCH sent where the slot was (a client that has not seen it move) follows MOVED",
    async () => {
      await using stale = await connectCluster(env.thinOptions());
      const slot = keySlot("{acct:1}");
      const from = await env.cluster.primaryOf(slot);
      const to = (await env.cluster.shards()).map((s) => s.primary).find((p) => p.id !== from.id)!;
      await env.cluster.migrateSlot(slot, to);
      const moved = await env.stat(from.index, "MOVED");
      await using watch = await stale.watch("{acct:1}:balance");
      assert.ok(await env.stat(from.index, "MOVED") > moved);
      assert.deepEqual(await watch.multi().incr("{acct:1}:balance").exec(), [803]);
    },
  );

  await t.step("a failover between WATCH and EXEC: aborted, never run on a replica", async () => {
    const primary = await env.cluster.primaryOf("{acct:1}");
    const watch = await cluster.watch("{acct:1}:balance");
    await env.cluster.failover(primary);
    await assert.rejects(
      () => watch.multi().set("{acct:1}:balance", "0").exec(),
      (error: unknown) => aborted(error) || error instanceof ConnectionClosedError,
    );
    await using again = await cluster.watch("{acct:1}:balance");
    assert.deepEqual(await again.multi().incr("{acct:1}:balance").exec(), [804]);
  });

  await t.step("close() ends open watches: their transactions fail", async () => {
    const client = await connectCluster(env.thinOptions());
    const watch = await client.watch("{acct:1}:balance");
    await client.close();
    await assert.rejects(
      () => watch.multi().incr("{acct:1}:balance").exec(),
      ConnectionClosedError,
    );
    await assert.rejects(() => client.watch("{acct:1}:balance"), /the cluster client is closed/);
    assert.equal(await cluster.get("{acct:1}:balance"), "804");
  });
});

Deno.test("cluster WATCH refuses bad keys before connecting", async () => {
  await using cluster = new ClusterClient({ host: "127.0.0.1", port: 1 });
  await assert.rejects(() => cluster.watch(), TypeError);
  await assert.rejects(() => cluster.watch(5 as never), TypeError);
  await assert.rejects(() => cluster.watch("a", "b"), /different hash slots/);
  assert.deepEqual(cluster.shards(), []);
});
