/**
 * The Deno transport: `Deno.connect`, then `Deno.startTls` for TLS. It needs
 * no import, so loading it costs nothing on other runtimes (it is only called
 * where `Deno` exists). The first TLS connection of a process initialises the
 * TLS library on a worker thread while the token is minted (see
 * `initTlsCrypto`).
 *
 * @module
 */

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
  const cryptoReady = initTlsCrypto();
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

let cryptoInit: Promise<void> | undefined;

/**
 * The first TLS connection of a Deno process runs a one-time initialisation
 * of its crypto library (rustls on aws-lc): about 30 ms of CPU, which the
 * first `Deno.startTls` would spend on the main thread, blocking the event
 * loop. An ECDSA P-256 key generation runs the same initialisation, and Deno
 * runs it on a worker thread (HMAC and AES key generation run it too, but on
 * the calling thread). The first TLS connection starts one and waits for it
 * before `Deno.startTls`, with the event loop free: the TCP connect and the
 * token mint run meanwhile, and `Deno.startTls` then takes about 1 ms.
 * Once per process; the key is discarded; if it fails, `Deno.startTls`
 * initialises the library itself, as it would have.
 *
 * @returns Resolves when the library is initialised (or the attempt failed).
 */
function initTlsCrypto(): Promise<void> {
  cryptoInit ??= (async () => {
    try {
      await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    } catch {
      // No WebCrypto, or no P-256: Deno.startTls initialises the library.
    }
  })();
  return cryptoInit;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
