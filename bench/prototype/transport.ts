/**
 * PROTOTYPE of a proposed change to `src/transport/deno.ts`, kept here so
 * the benchmark can show its effect: open TLS connections as TCP with
 * `TCP_NODELAY`, then `Deno.startTls`. `Deno.connectTls` gives no way to set
 * `TCP_NODELAY`, so the first command after the handshake (`HELLO … AUTH`)
 * waits behind the handshake's last flight for the server's delayed ACK
 * (about 40 ms on Linux) — on every new connection.
 *
 * On Node.js the module's transport already sets `noDelay`; this prototype
 * falls back to the module's default transport there.
 *
 * @module
 */
import { defaultTransport } from "../../src/transport/default_transport.ts";
import type { Transport, TransportOptions } from "../../src/transport/types.ts";

/**
 * Opens a connection; on Deno with TLS, as TCP + `TCP_NODELAY` + `Deno.startTls`.
 *
 * @param options Where to connect, and whether to use TLS.
 * @returns The connection.
 */
export async function noDelayTransport(options: TransportOptions): Promise<Transport> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined || !options.tls) return await defaultTransport(options);
  const tcp = await deno.connect({ hostname: options.hostname, port: options.port });
  tcp.setNoDelay(true);
  const conn = await deno.startTls(tcp, {
    hostname: options.servername ?? options.hostname,
    ...(options.caCerts === undefined ? {} : { caCerts: [...options.caCerts] }),
  });
  try {
    await conn.handshake();
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}
