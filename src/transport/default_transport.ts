/**
 * Picks the transport for the runtime the code runs on: Deno's socket API
 * where `Deno` exists, `node:net` on Node.js and Bun (imported only then).
 * Workers-style runtimes have no default: pass the `./cloudflare` transport.
 *
 * @module
 */

import { denoTransport } from "./deno.ts";
import type { Transport, TransportFactory, TransportOptions } from "./types.ts";

let nodeFactory: Promise<TransportFactory> | undefined;

/**
 * Opens a connection with the runtime's own socket API.
 *
 * @param options Where to connect, and whether to use TLS.
 * @returns The connected transport.
 * @throws {TypeError} On a runtime with neither `Deno.connect` nor Node's
 * `node:net` (such as Cloudflare Workers): pass a `transport` instead.
 *
 * @example
 * ```ts ignore
 * import { defaultTransport } from "./default_transport.ts";
 *
 * const transport = await defaultTransport({ hostname: "127.0.0.1", port: 6379, tls: false });
 * await transport.close();
 * ```
 */
export function defaultTransport(options: TransportOptions): Promise<Transport> {
  const deno = (globalThis as { Deno?: { connect?: unknown } }).Deno;
  if (typeof deno?.connect === "function") return denoTransport(options);
  const runtime = globalThis as { process?: { versions?: { node?: string } }; Bun?: unknown };
  if (runtime.Bun !== undefined || typeof runtime.process?.versions?.node === "string") {
    nodeFactory ??= import("./node.ts").then((module) => module.nodeTransport);
    return nodeFactory.then((factory) => factory(options));
  }
  return Promise.reject(
    new TypeError(
      `Cannot connect to '${options.hostname}:${options.port}': this runtime has no default transport; pass 'transport' (for Workers, cloudflareTransport from the './cloudflare' export)`,
    ),
  );
}
