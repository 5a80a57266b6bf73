/**
 * The Deno transport: `Deno.connect`, then `Deno.startTls` for TLS. It
 * imports nothing the client does not load anyway, so loading it costs
 * nothing on other runtimes (it is only called where `Deno` exists). The
 * first TLS connection of a process initialises the TLS library on a worker
 * thread while the token is minted (`warmUpTls` in `../cold_start.ts`).
 *
 * @module
 */

import { warmUpTls } from "../cold_start.ts";
import type { Transport, TransportOptions } from "./types.ts";

/**
 * Opens a TCP or TLS connection with Deno's socket API. With TLS it waits for
 * the handshake, so an untrusted certificate fails here. TLS connections are
 * opened over TCP with `TCP_NODELAY` and upgraded with `Deno.startTls`, which
 * also honours `servername`.
 *
 * @param options Where to connect, and whether to use TLS.
 * @returns The connection, which is itself a {@linkcode Transport}.
 * @throws {Deno.errors.ConnectionRefused} (and the other socket errors) when
 * the connection cannot be opened.
 * @throws {Error} When the TLS handshake fails (for example an untrusted
 * certificate or a name mismatch).
 *
 * @example Connecting to a local server
 * ```ts ignore
 * import { denoTransport } from "./deno.ts";
 *
 * const conn = await denoTransport({ hostname: "127.0.0.1", port: 6379, tls: false });
 * conn.close();
 * ```
 */
export async function denoTransport(options: TransportOptions): Promise<Transport> {
  const { hostname, port, tls, servername, caCerts } = options;
  const certs = caCerts === undefined ? undefined : [...caCerts];
  if (!tls) {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return conn;
  }
  const cryptoReady = warmUpTls();
  // Always TCP first, then TLS: `Deno.connectTls` cannot set TCP_NODELAY, and without it the
  // HELLO AUTH written right after the handshake waits ~40 ms for a delayed ACK.
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname, port });
  } finally {
    // Failed or not: a connect must not return with the key generation still running
    // (Deno's test sanitizers report ops left running).
    await cryptoReady;
  }
  tcp.setNoDelay(true);
  const conn = await Deno.startTls(tcp, {
    hostname: servername ?? hostname,
    ...(certs === undefined ? {} : { caCerts: certs }),
  });
  try {
    await conn.handshake();
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
  return conn;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
