// deno-lint-ignore-file no-console -- examples print what they do
/**
 * Cluster mode on one machine: the emulator starts a Redis Cluster of three
 * shards (a primary and a replica each), one IAM gateway per node, and the
 * thin cluster client routes keys by hash slot, each node connection
 * authenticated with its own fresh IAM token. A failover midway shows the
 * client following the new primary. Against ElastiCache, drop the emulator
 * and pass your cluster's configuration endpoint, name and user.
 *
 * ```sh
 * deno run -A examples/cluster.ts
 * ```
 *
 * @module
 */

import { fromWebIdentity, IamAuth } from "../mod.ts";
import { connectCluster } from "../src/cluster.ts";
import { startEmulator } from "@elasticache-iam/emulator";

await using emu = await startEmulator({ tls: true, cluster: { shards: 3, replicasPerShard: 1 } });
using auth = new IamAuth({
  replicationGroupId: "replication-group-01",
  userId: "iam-user-01",
  region: emu.region,
  credentials: fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: () => emu.oidc.mintToken({ sub: "example", aud: "sts.amazonaws.com" }),
    stsEndpoint: emu.sts.endpoint,
    region: emu.region,
  }),
});
const { hostname, port, caCertPem } = emu.gateway; // one node: the discovery seed
await using cluster = await connectCluster({
  host: hostname,
  port,
  tls: true,
  caCerts: caCertPem!,
  auth,
});
console.log(
  `shards: ${cluster.shards().map((s) => s.slots.map(([a, b]) => `${a}-${b}`)).join(" ")}`,
);

// Keys land on all three shards; keys sharing a {hash tag} share a slot.
await cluster.mset({ "{user:1}:name": "Ada", "{user:1}:email": "ada@example.com" });
const [name, email] = await cluster.mget("{user:1}:name", "{user:1}:email");
const counts = await cluster.pipeline().incr("visits:home").incr("visits:about").exec();
console.log(`user 1: ${name} <${email}>, visits: ${counts.join(", ")}`);

// A shard fails over to its replica: the client follows MOVED to the new primary.
await emu.cluster.failover(await emu.cluster.primaryOf("{user:1}:name"));
console.log(
  `after failover: ${await cluster.get("{user:1}:name")}, keys: ${await cluster.dbsize()}`,
);
