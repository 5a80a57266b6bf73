import assert from "node:assert/strict";
import { createCluster as createRedisCluster } from "redis";
import { connectCluster } from "../src/cluster/client.ts";
import { createIamCluster } from "@elasticache-iam/node-redis";
import { runWorkload, startIamCluster } from "./_helpers/iam_cluster.ts";
import { sleep } from "./_helpers/iam_emulator.ts";

// The 12-hour cap, shortened to 2.5 s on every gateway: both clients must
// re-authenticate every node connection in time, or the gateways cut them.
const CAP_MS = 2500;
const REAUTH_MS = 800;
const RUN_MS = 4500;

Deno.test("the connection age cap on every node is survived by re-auth (thin client and node-redis)", async () => {
  await using env = await startIamCluster({
    connectionMaxAgeMs: CAP_MS,
    cluster: { shards: 3, replicasPerShard: 0 },
  });
  await using thin = await connectCluster({ ...env.thinOptions(), reauthAfter: REAUTH_MS });
  const nodeRedis = createIamCluster(createRedisCluster, {
    ...env.nodeRedisOptions(),
    reauthAfter: REAUTH_MS,
  });
  const errors: Error[] = [];
  nodeRedis.on("error", (error: Error) => errors.push(error));
  await nodeRedis.connect();
  try {
    const received: string[] = [];
    await nodeRedis.subscribe("ticks", (message) => received.push(message));
    const primaries = (await env.cluster.shards()).map((s) => s.primary);
    const before = primaries.map((node) => env.acceptedOn(node.index));
    const workload = runWorkload(2, async (worker, n) => {
      const key = `cap:${worker}:${n % 50}`;
      if (worker === 0) {
        await thin.set(key, String(n));
        assert.equal(await thin.get(key), String(n));
      } else {
        await nodeRedis.set(key, String(n));
        assert.equal(await nodeRedis.get(key), String(n));
        if (n % 20 === 0) await nodeRedis.publish("ticks", String(n));
      }
      await sleep(5);
    });
    await sleep(RUN_MS);
    await workload.stop();
    assert.deepEqual(workload.errors, []);
    assert.deepEqual(env.capClosures(), [], "no connection reached the age cap");
    primaries.forEach((node, i) => {
      const reauths = env.acceptedOn(node.index) - before[i]!;
      // Two clients' connections, each re-authenticated about every 800 ms.
      assert.ok(reauths >= 6, `node #${node.index} accepted ${reauths} re-authentications`);
    });
    assert.ok(received.length > 0, "the pub/sub connection kept receiving");
    assert.deepEqual(env.refused(), []);
  } finally {
    await nodeRedis.close();
  }
  assert.deepEqual(errors, []);
});
