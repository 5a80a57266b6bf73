/**
 * The thin client for Cloudflare Workers and other workerd-based runtimes,
 * over `cloudflare:sockets`. This is the `./cloudflare` export; the main
 * entry point never loads it, so `cloudflare:*` stays out of other runtimes.
 *
 * Its {@linkcode connect} is the main one with `transport` defaulting to
 * {@linkcode cloudflareTransport}. Workers trust the public CA list only, so
 * this suits ElastiCache and MemoryDB endpoints (which use public
 * certificates); `caCerts` is refused.
 *
 * @example In a Worker
 * ```ts ignore
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { connect } from "@elasticache-iam/connector/cloudflare";
 *
 * export default {
 *   async fetch(_request: Request, env: Record<string, string>): Promise<Response> {
 *     const auth = new IamAuth({
 *       replicationGroupId: env.CACHE_NAME,
 *       userId: env.CACHE_USER,
 *       region: env.AWS_REGION,
 *       credentials: fromEnv({ env }),
 *     });
 *     await using client = await connect({ host: env.CACHE_HOST, auth });
 *     return new Response(String(await client.incr("hits")));
 *   },
 * };
 * ```
 *
 * @module
 */

import type { ConnectOptions } from "./client/options.ts";
import { RedisClient as BaseRedisClient } from "./client/redis_client.ts";
import { cloudflareTransport } from "./transport/cloudflare.ts";
import type { TransportFactory } from "./transport/types.ts";

export type {
  AuthCredentials,
  AuthProvider,
  BatchSender,
  Chain,
  CommandArg,
  ConnectOptions,
  Dispatch,
  ExecOptions,
  ExpireCondition,
  GetExOptions,
  Key,
  ListSide,
  MessageListener,
  NoExpiry,
  Parser,
  PatternListener,
  ReconnectOptions,
  Reply,
  RespValue,
  ScanOptions,
  ScoreMember,
  SendOptions,
  SetCondition,
  SetExpiry,
  SetOptions,
  Timers,
  Transport,
  TransportFactory,
  TransportOptions,
  ZAddOptions,
  ZMember,
  ZRangeOptions,
} from "./client.ts";
export { Commands } from "./client/commands.ts";
export { Transaction } from "./client/multi.ts";
export { Pipeline } from "./client/pipeline.ts";
export { Subscription } from "./client/pubsub.ts";
export { Push } from "./resp/types.ts";
export { BaseRedisClient };
export * from "./errors.ts";
export {
  type CloudflareConnect,
  type CloudflareSocket,
  cloudflareTransport,
  type CloudflareTransportOptions,
  createCloudflareTransport,
} from "./transport/cloudflare.ts";

/**
 * The client of {@linkcode BaseRedisClient} over `cloudflare:sockets` by default.
 *
 * @example Made without connecting
 * ```ts
 * import { RedisClient } from "./cloudflare.ts";
 *
 * const client = new RedisClient({ host: "my-cache-xxxxxx.serverless.use1.cache.amazonaws.com" });
 * console.log(client.connected); // false: it connects on the first command
 * await client.close();
 * ```
 */
export class RedisClient extends BaseRedisClient {
  /** `cloudflare:sockets`. */
  protected static override defaultTransport: TransportFactory | undefined = cloudflareTransport;
}

/**
 * Connects over `cloudflare:sockets` (unless `options.transport` says
 * otherwise) and returns a ready client.
 *
 * @param options Where and how to connect; see {@linkcode ConnectOptions}.
 * @returns The connected client.
 * @throws {TypeError} When an option is wrong, or `caCerts` is given.
 * @throws {AuthenticationError} When the server refused the credentials.
 * @throws {ConnectionClosedError} When the socket could not be opened.
 * @throws {TimeoutError} When connecting took longer than `connectTimeout`.
 *
 * @example Against the local emulator, with Deno's socket standing in for `cloudflare:sockets`
 * ```ts
 * import { connect } from "./cloudflare.ts";
 * import { IamAuth } from "./iam_auth.ts";
 * import { SEED_POLICY, startEmulator } from "./emulator/mod.ts";
 *
 * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
 * await using emu = await startEmulator({
 *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
 * });
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: keys,
 * });
 * await using client = await connect({
 *   host: emu.gateway.hostname,
 *   port: emu.gateway.port,
 *   auth,
 *   // In a Worker, leave `transport` out: it is cloudflare:sockets.
 *   transport: ({ hostname, port }) => Deno.connect({ hostname, port }),
 * });
 * console.log(await client.ping()); // "PONG"
 * ```
 */
export async function connect(options: ConnectOptions): Promise<RedisClient> {
  const client = new RedisClient(options);
  await client.open();
  return client;
}
