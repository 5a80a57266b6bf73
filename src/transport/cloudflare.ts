/**
 * The Workers transport: `connect()` from `cloudflare:sockets`, for Cloudflare
 * Workers and other workerd-based runtimes. It is reached only through the
 * `./cloudflare` subpath export; `mod.ts` never imports it.
 *
 * @module
 */

import { describe } from "../_checks.ts";
import type { Transport, TransportFactory, TransportOptions } from "./types.ts";

export type { Transport, TransportFactory, TransportOptions } from "./types.ts";

/** The part of a Workers `Socket` the transport uses. */
export interface CloudflareSocket extends Transport {
  /** Resolves once the connection (and TLS handshake) is established. */
  readonly opened: Promise<unknown>;
}

/** The shape of `connect` from `cloudflare:sockets`. */
export type CloudflareConnect = (
  address: { hostname: string; port: number },
  options?: { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean },
) => CloudflareSocket;

/** Options of {@linkcode createCloudflareTransport}. */
export interface CloudflareTransportOptions {
  /**
   * `connect` from `cloudflare:sockets`. Pass it when your bundler cannot
   * leave the dynamic `import("cloudflare:sockets")` as it is.
   *
   * @default {undefined} imported from `cloudflare:sockets` on first use
   */
  connect?: CloudflareConnect;
}

/**
 * Creates a transport over `cloudflare:sockets`. Workers trust the public CA
 * list only and derive the TLS server name from the host, so `caCerts` and a
 * `servername` that differs from the host are refused.
 *
 * @param options `connect`, when it should not be imported lazily.
 * @returns A {@linkcode TransportFactory} to pass as the client's `transport`.
 *
 * @example In a Worker
 * ```ts ignore
 * import { connect as socketConnect } from "cloudflare:sockets";
 * import { connect, createCloudflareTransport } from "@elasticache-iam/connector/cloudflare";
 *
 * const transport = createCloudflareTransport({ connect: socketConnect });
 *
 * export default {
 *   async fetch(): Promise<Response> {
 *     // A Worker's sockets belong to the request that opened them: connect per request.
 *     await using client = await connect({ host: "my-cache.serverless.use1.cache.amazonaws.com", transport });
 *     return new Response(String(await client.incr("hits")));
 *   },
 * };
 * ```
 *
 * @example What it asks of `connect`, with a stand-in outside workerd
 * ```ts
 * import { type CloudflareConnect, createCloudflareTransport } from "./cloudflare.ts";
 *
 * const calls: Parameters<CloudflareConnect>[] = [];
 * const transport = createCloudflareTransport({
 *   connect: (address, options) => {
 *     calls.push([address, options]);
 *     const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
 *     return { readable, writable, opened: Promise.resolve(), close() {} };
 *   },
 * });
 * await transport({ hostname: "my-cache.serverless.use1.cache.amazonaws.com", port: 6379, tls: true });
 * console.log(calls[0]?.[1]); // { secureTransport: "on", allowHalfOpen: false }
 * ```
 */
export function createCloudflareTransport(
  options: CloudflareTransportOptions = {},
): TransportFactory {
  let connectFn = options.connect;
  return async (target: TransportOptions): Promise<Transport> => {
    if (target.caCerts !== undefined && target.caCerts.length > 0) {
      throw new TypeError(
        `Cannot connect to '${target.hostname}:${target.port}': 'caCerts' is not supported by cloudflare:sockets`,
      );
    }
    if (target.servername !== undefined && target.servername !== target.hostname) {
      throw new TypeError(
        `Cannot connect to '${target.hostname}:${target.port}': a 'servername' other than the host is not supported by cloudflare:sockets, got ${
          describe(target.servername)
        }`,
      );
    }
    connectFn ??= ((await import("cloudflare:sockets")) as { connect: CloudflareConnect })
      .connect;
    const socket = connectFn(
      { hostname: target.hostname, port: target.port },
      { secureTransport: target.tls ? "on" : "off", allowHalfOpen: false },
    );
    try {
      await socket.opened;
    } catch (error) {
      try {
        await socket.close();
      } catch {
        // Already closed.
      }
      throw error;
    }
    return socket;
  };
}

/**
 * The transport over `cloudflare:sockets`, importing it on first use.
 *
 * @param options Where to connect, and whether to use TLS.
 * @returns The connected Workers socket.
 * @throws {TypeError} If `caCerts` or a different `servername` is given.
 * @throws {Error} When the socket cannot be opened.
 *
 * @example In a Worker
 * ```ts ignore
 * import { cloudflareTransport, connect } from "@elasticache-iam/connector/cloudflare";
 *
 * export default {
 *   async fetch(): Promise<Response> {
 *     await using client = await connect({ host: "cache.example.com", transport: cloudflareTransport });
 *     return new Response(String(await client.incr("hits")));
 *   },
 * };
 * ```
 *
 * @example Refused before any socket is opened
 * ```ts
 * import { cloudflareTransport } from "./cloudflare.ts";
 *
 * const error = await cloudflareTransport({
 *   hostname: "cache.example.com",
 *   port: 6379,
 *   tls: true,
 *   caCerts: ["-----BEGIN CERTIFICATE-----\n…"],
 * }).catch((error) => error);
 * console.log(error instanceof TypeError); // true: Workers trust the public CA list only
 * ```
 */
export const cloudflareTransport: TransportFactory = createCloudflareTransport();
