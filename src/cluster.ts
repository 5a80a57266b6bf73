/**
 * The thin client for Redis Cluster: ElastiCache with cluster mode enabled,
 * ElastiCache Serverless and MemoryDB. {@linkcode connectCluster} takes the
 * options of `connect` plus where to discover the cluster, routes every
 * command to the primary of its keys' slot, follows `MOVED` and `ASK`, and
 * authenticates every node's connection with a token valid at its connect.
 *
 * A separate entry point, so that code which never talks to a cluster does
 * not load the router.
 *
 * @example
 * ```ts ignore
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { connectCluster } from "@elasticache-iam/connector/cluster";
 *
 * const auth = new IamAuth({ replicationGroupId: "my-cluster", userId: "my-user", region: "us-east-1", credentials: fromEnv() });
 * await using cluster = await connectCluster({
 *   host: "clustercfg.my-cluster.xxxxxx.use1.cache.amazonaws.com",
 *   auth,
 * });
 * await cluster.set("{user:1}:name", "Ada");
 * console.log(await cluster.mget("{user:1}:name", "{user:1}:email"));
 * ```
 *
 * @module
 */
export {
  ClusterClient,
  type ClusterNodeAddress,
  type ClusterNodeInfo,
  type ClusterShardInfo,
  connectCluster,
  type ConnectClusterOptions,
} from "./cluster/client.ts";
export { keySlot } from "./cluster/slot.ts";
export { ClusterWatch, type WatchConnection } from "./cluster/watch.ts";
