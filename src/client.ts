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

import type { ConnectOptions } from "./client/options.ts";
import { RedisClient } from "./client/redis_client.ts";
import { connectArguments } from "./client/url_options.ts";

export { RedisClient };

/**
 * Connects to a server and returns a ready client: socket, TLS, then the
 * handshake (`HELLO 3 AUTH …`) in one round trip, before any command of
 * yours is sent. With an auth provider (such as `IamAuth`), a `WRONGPASS`
 * is retried once with a freshly minted token.
 *
 * @param target The endpoint URL as the AWS console shows it
 *   (`rediss://USER@HOST:PORT`: the user is the IAM user id, and the cache's
 *   name and region are read from the host), or all the options.
 * @param options After a URL, the other options (`credentials`, `region`, …);
 *   see {@linkcode ConnectOptions}.
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
 * import { startEmulator } from "@elasticache-iam/emulator";
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
export async function connect(
  target: string | ConnectOptions,
  options?: Omit<ConnectOptions, "url">,
): Promise<RedisClient> {
  const client = new RedisClient(connectArguments("Cannot connect", target, options));
  await client.open();
  return client;
}
