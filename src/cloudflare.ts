/**
 * The thin client for Cloudflare Workers and other workerd-based runtimes,
 * over `cloudflare:sockets`. This is the `./cloudflare` export; the main
 * entry point never loads it, so `cloudflare:*` stays out of other runtimes.
 *
 * Its {@linkcode connect} is the main one with `transport` defaulting to
 * {@linkcode cloudflareTransport}; the client is the same `RedisClient` (made
 * with `new`, give it `transport: cloudflareTransport`). Workers trust the public CA list only, so
 * this suits ElastiCache and MemoryDB endpoints (which use public
 * certificates); `caCerts` is refused.
 *
 * @example In a Worker
 * ```ts ignore
 * import { fromEnv, IamAuth } from "@elasticache-iam/connector";
 * import { connect } from "@elasticache-iam/connector/cloudflare";
 *
 * // Made once per isolate: its tokens serve every request.
 * let auth: IamAuth | undefined;
 *
 * export default {
 *   async fetch(_request: Request, env: Record<string, string>): Promise<Response> {
 *     auth ??= new IamAuth({
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
import { RedisClient } from "./client/redis_client.ts";
import { connectArguments } from "./client/url_options.ts";
import { cloudflareTransport } from "./transport/cloudflare.ts";

export { RedisClient };
export {
  type CloudflareConnect,
  type CloudflareSocket,
  cloudflareTransport,
  type CloudflareTransportOptions,
  createCloudflareTransport,
} from "./transport/cloudflare.ts";

/**
 * Connects over `cloudflare:sockets` (unless `options.transport` says
 * otherwise) and returns a ready client.
 *
 * @param target The endpoint URL (`rediss://USER@HOST:PORT`), or all the options.
 * @param options After a URL, the other options; see {@linkcode ConnectOptions}.
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
 * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
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
export async function connect(
  target: string | ConnectOptions,
  options?: Omit<ConnectOptions, "url">,
): Promise<RedisClient> {
  const all = connectArguments("Cannot connect", target, options);
  const client = new RedisClient(
    all !== null && typeof all === "object"
      ? { ...all, transport: all.transport ?? cloudflareTransport }
      : all,
  );
  await client.open();
  return client;
}
