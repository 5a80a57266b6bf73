/**
 * The thin RESP client: one small client for Deno, Node.js, Bun and Workers
 * sockets, with the IAM handshake, re-authentication before the 12-hour cut,
 * lazy reconnection, pipelining, transactions, RESP3 pub/sub and an
 * Upstash-style command API.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./client.ts";
 *
 * await using client = await connect({ host: "127.0.0.1", port: 6379 });
 * await client.set("greeting", "hello", { ex: 60 });
 * console.log(await client.get("greeting")); // "hello"
 * ```
 *
 * @module
 */

import { Commands } from "./client/commands.ts";
import { Transaction } from "./client/multi.ts";
import { Pipeline } from "./client/pipeline.ts";
import { Subscription } from "./client/pubsub.ts";
import type { ConnectOptions } from "./client/options.ts";
import { RedisClient as BaseRedisClient } from "./client/redis_client.ts";
import { defaultTransport } from "./transport/default_transport.ts";
import type { TransportFactory } from "./transport/types.ts";

export type { ConnectOptions, ReconnectOptions } from "./client/options.ts";
export type { AuthCredentials, AuthProvider } from "./auth/types.ts";
export type {
  Chain,
  Dispatch,
  ExpireCondition,
  GetExOptions,
  Key,
  ListSide,
  NoExpiry,
  Reply,
  ScanOptions,
  SendOptions,
  SetCondition,
  SetExpiry,
  SetOptions,
  ZAddOptions,
  ZMember,
  ZRangeOptions,
} from "./client/commands.ts";
export type { ScoreMember } from "./client/replies.ts";
export type { BatchSender, ExecOptions } from "./client/pipeline.ts";
export type { MessageListener, PatternListener } from "./client/pubsub.ts";
export type { Timers } from "./client/timers.ts";
export type { DecoderLimits } from "./resp/decoder.ts";
export type { Parser } from "./client/connection.ts";
export type { Transport, TransportFactory, TransportOptions } from "./transport/types.ts";
export { type CommandArg, Push, type RespValue } from "./resp/types.ts";
export { BaseRedisClient, Commands, Pipeline, Subscription, Transaction };

/**
 * A client for one Redis, Valkey, ElastiCache or MemoryDB endpoint, over one
 * multiplexed connection, using the runtime's own sockets by default (Deno's
 * socket API on Deno, `node:net`/`node:tls` on Node.js and Bun, loaded only
 * there). See {@linkcode BaseRedisClient} for its methods.
 *
 * @example
 * ```ts ignore
 * const client = new RedisClient({ host: "127.0.0.1" });
 * await client.ping(); // connects now
 * await client.close();
 * ```
 *
 * @example Made without connecting
 * ```ts
 * import { RedisClient } from "./client.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1", port: 6379 });
 * console.log(client.connected); // false: it connects on the first command
 * await client.close();
 * ```
 */
export class RedisClient extends BaseRedisClient {
  /** The runtime's own sockets. */
  protected static override defaultTransport: TransportFactory | undefined = defaultTransport;
}

/**
 * Connects to a server and returns a ready client: socket, TLS, then the
 * handshake (`HELLO 3 AUTH …`) in one round trip, before any command of
 * yours is sent. With an auth provider (such as `IamAuth`), a `WRONGPASS`
 * is retried once with a freshly minted token.
 *
 * @param options Where and how to connect; see {@linkcode ConnectOptions}.
 * @returns The connected client; dispose it (or call `close()`) when done.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 * @throws {AuthenticationError} When the server refused the credentials; the
 * message lists the likely causes and never contains the token.
 * @throws {ConnectionClosedError} When the socket could not be opened (refused, TLS error…).
 * @throws {TimeoutError} When connecting took longer than `connectTimeout`.
 *
 * @example With the IAM token manager
 * ```ts ignore
 * import { connect, fromEnv, IamAuth } from "@elasticache-iam/connector";
 *
 * const auth = new IamAuth({ replicationGroupId: "my-group", userId: "my-user", region: "us-east-1", credentials: fromEnv() });
 * await using client = await connect({ host: "master.my-group.xxxxxx.use1.cache.amazonaws.com", auth });
 * await client.set("greeting", "hello", { ex: 60 });
 * ```
 *
 * @example Against the local emulator, with web identity credentials
 * ```ts
 * import { connect } from "./client.ts";
 * import { IamAuth } from "./iam_auth.ts";
 * import { fromWebIdentity } from "./credentials/web_identity.ts";
 * import { startEmulator } from "./emulator/mod.ts";
 *
 * await using emu = await startEmulator();
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: fromWebIdentity({
 *     roleArn: emu.roleArn(),
 *     webIdentityToken: () => emu.oidc.mintToken({ sub: "app", aud: "sts.amazonaws.com" }),
 *     stsEndpoint: emu.sts.endpoint,
 *     region: emu.region,
 *   }),
 * });
 * await using client = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
 * await client.set("greeting", "hello", { ex: 60 });
 * console.log(await client.get("greeting")); // "hello"
 * ```
 */
export async function connect(options: ConnectOptions): Promise<RedisClient> {
  const client = new RedisClient(options);
  await client.open();
  return client;
}
