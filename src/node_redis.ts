/**
 * node-redis (`npm:redis` v6) integration: a streaming credentials provider
 * backed by the IAM token manager, and `createClient` / `createCluster`
 * preconfigured for ElastiCache and MemoryDB with IAM authentication.
 *
 * - Every connect and reconnect, cluster topology refreshes included, gets a
 *   token valid now.
 * - Each live connection is re-authenticated before the server's 12-hour cut
 *   (by default 11 hours after its own connect or last re-authentication),
 *   never on a mere token refresh; node-redis writes `MULTI` blocks as one
 *   unit, so a re-authentication never lands inside one.
 * - Reconnects pile up neither subscriptions nor timers; `close()` and
 *   `destroy()` leave none behind.
 *
 * This entry point loads node-redis; the module's main entry point does not.
 *
 * @example
 * ```ts ignore
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { createClient } from "@elasticache-iam/connector/node-redis";
 *
 * const auth = new IamAuth({
 *   replicationGroupId: "my-cache",
 *   userId: "my-user",
 *   region: "us-east-1",
 *   credentials: fromEnv(),
 * });
 * const client = createClient({ url: "rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379", auth });
 * client.on("error", (error) => console.error(error));
 * await client.connect();
 * console.log(await client.ping()); // "PONG"
 * ```
 *
 * @module
 */

export {
  type NodeRedisBasicAuth,
  nodeRedisCredentials,
  type NodeRedisCredentialsListener,
  type NodeRedisCredentialsOptions,
  NodeRedisCredentialsProvider,
  type NodeRedisDisposable,
  type NodeRedisStreamingCredentialsProvider,
} from "./node_redis/credentials_provider.ts";
export {
  type ClusterClientDefaults,
  createClient,
  type CreateClientOptions,
  createCluster,
  type CreateClusterOptions,
  type IamConnectionOptions,
  iamReconnectStrategy,
} from "./node_redis/client.ts";
export type { AuthCredentials, AuthProvider } from "./auth/types.ts";
export type { Timers } from "./client/timers.ts";
