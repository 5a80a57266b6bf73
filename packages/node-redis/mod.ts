/**
 * node-redis (`npm:redis` 5 or 6) integration: a streaming credentials provider
 * backed by the IAM token manager, and `createIamClient` / `createIamCluster`,
 * which call your node-redis's `createClient` / `createCluster` preconfigured
 * for ElastiCache and MemoryDB with IAM authentication.
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
 * The package never loads node-redis and depends on no version of it: you pass
 * the `createClient` or `createCluster` of the `redis` package your application
 * installed (node-redis 5 and 6 are tested), so there is one copy of node-redis
 * and the client is typed as that version types it.
 *
 * @example
 * ```ts ignore
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { createClient } from "redis";
 * import { createIamClient } from "@elasticache-iam/node-redis";
 *
 * const auth = new IamAuth({
 *   replicationGroupId: "my-cache",
 *   userId: "my-user",
 *   region: "us-east-1",
 *   credentials: fromEnv(),
 * });
 * const client = createIamClient(createClient, { url: "rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379", auth });
 * client.on("error", (error) => console.error(error));
 * await client.connect();
 * console.log(await client.ping()); // "PONG"
 * ```
 *
 * @module
 */

export {
  type IamCredentialsProvider,
  iamCredentialsProvider,
  type IamCredentialsProviderOptions,
  type NodeRedisBasicAuth,
  type NodeRedisCredentialsListener,
  type NodeRedisDisposable,
  type NodeRedisStreamingCredentialsProvider,
} from "./src/credentials_provider.ts";
export {
  createIamClient,
  type CreateIamClientOptions,
  createIamCluster,
  type CreateIamClusterOptions,
  type IamConnectionOptions,
  iamReconnectStrategy,
  type NodeRedisCreateClient,
  type NodeRedisCreateCluster,
  type NodeRedisEvents,
} from "./src/client.ts";
export type {
  AuthCredentials,
  AuthenticationError,
  AuthProvider,
  AwsCredentials,
  AwsCredentialsProvider,
  CredentialsInput,
  Timers,
} from "@elasticache-iam/connector";
