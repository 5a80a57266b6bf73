/**
 * A TLS listener that completes TLS 1.3 handshakes only, as the public
 * endpoints of ElastiCache Serverless do ("All public endpoint connections
 * require IAM authentication and TLS 1.3").
 *
 * Why node:tls: `Deno.listenTls` (Deno 2.9) has no option for the protocol
 * version and accepts TLS 1.2 and 1.3. Deno's `node:tls` server passes
 * `minVersion: "TLSv1.3"` to its TLS stack (rustls), which answers a client
 * that offers only TLS 1.2 with a `protocol_version` alert. This module puts
 * that server behind the small part of `Deno.Conn` the gateway uses
 * ({@linkcode ClientConn}), so the gateway serves both kinds of connection
 * alike. It can go once `Deno.listenTls` takes a minimum version.
 *
 * @module
 */

import { createServer, type Server, type TLSSocket } from "node:tls";

/** The part of a connection the gateway uses: `Deno.Conn` has it, and so do TLS 1.3-only connections. */
export type ClientConn = Pick<Deno.Conn, "read" | "write" | "close" | "localAddr" | "remoteAddr">;

/** What the gateway accepts connections from: `Deno.Listener` is one. */
export interface ClientListener {
  /** The address it listens on. */
  readonly addr: Deno.Addr;
  /** The next connection; rejects with `Deno.errors.BadResource` once closed. */
  accept(): Promise<ClientConn>;
  /** Stops listening; a promise, when there is one, settles once every socket is closed. */
  close(): void | Promise<void>;
}

/** Where {@linkcode listenTls13} listens, its certificate, and where refused handshakes are told. */
export interface Tls13ListenOptions {
  /** The host to bind. */
  hostname: string;
  /** The port, or 0 for a free one. */
  port: number;
  /** The certificate chain (PEM). */
  cert: string;
  /** The private key (PEM). */
  key: string;
  /**
   * How long a client may take to complete its handshake, in ms.
   *
   * @default {10000}
   */
  handshakeTimeoutMs?: number;
  /** Receives each refused or failed handshake (a client that offers TLS 1.2 only, …). */
  onHandshakeError?: (error: Error) => void;
}

/** Above this many unread bytes a connection stops reading from its socket until the gateway catches up. */
const HIGH_WATER = 256 * 1024;

/**
 * Listens for TLS 1.3 connections only.
 *
 * @param options Where to listen, the certificate and key, and the handshake error hook.
 * @returns The listener, bound.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Error} If the certificate or key is unusable, or binding fails otherwise.
 *
 * @example A TLS 1.3 client is served
 * ```ts
 * import { createTlsMaterial } from "./tls_certificate.ts";
 * import { listenTls13 } from "./tls13_listener.ts";
 *
 * const { cert, key, caCertPem } = await createTlsMaterial();
 * const listener = await listenTls13({ hostname: "127.0.0.1", port: 0, cert, key });
 * const { port } = listener.addr as Deno.NetAddr;
 * const client = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caCertPem] });
 * await client.write(new TextEncoder().encode("PING"));
 * const conn = await listener.accept(); // once the TLS 1.3 handshake is done
 * console.log(await conn.read(new Uint8Array(16))); // 4
 * conn.close();
 * client.close();
 * await listener.close();
 * ```
 */
export async function listenTls13(options: Tls13ListenOptions): Promise<ClientListener> {
  const server = createServer({
    cert: options.cert,
    key: options.key,
    minVersion: "TLSv1.3",
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
  });
  const listener = new Tls13Listener(server, options.onHandshakeError);
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error & { code?: string }) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Deno.errors.AddrInUse(`Address already in use (os error 98)`, { cause: error })
          : error,
      );
    };
    server.once("error", failed);
    server.listen(options.port, options.hostname, () => {
      server.off("error", failed);
      resolve();
    });
  });
  listener.bound();
  return listener;
}

/** node:tls's server, as a {@linkcode ClientListener}. */
class Tls13Listener implements ClientListener {
  readonly #server: Server;
  readonly #ready: Tls13Conn[] = [];
  readonly #waiting: { resolve(conn: Tls13Conn): void; reject(error: Error): void }[] = [];
  readonly #sockets = new Set<TLSSocket>();
  #addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
  #closing: Promise<void> | undefined;

  constructor(server: Server, onHandshakeError: ((error: Error) => void) | undefined) {
    this.#server = server;
    server.on("connection", (socket: TLSSocket) => {
      // Every socket, handshaken or not, is known: closing the listener ends them all.
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    server.on("secureConnection", (socket: TLSSocket) => {
      const conn = new Tls13Conn(socket);
      if (this.#closing !== undefined) {
        conn.close();
        return;
      }
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) waiter.resolve(conn);
      else this.#ready.push(conn);
    });
    server.on("tlsClientError", (error: Error, socket: TLSSocket) => {
      socket.destroy();
      try {
        onHandshakeError?.(error);
      } catch {
        // The hook failed; the connection is refused all the same.
      }
    });
    server.on("error", () => {
      // After listening, errors belong to sockets, each handled where it is.
    });
  }

  /** Reads the bound address, once listening. */
  bound(): void {
    const address = this.#server.address();
    if (address !== null && typeof address === "object") {
      this.#addr = { transport: "tcp", hostname: address.address, port: address.port };
    }
  }

  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  accept(): Promise<ClientConn> {
    if (this.#closing !== undefined) {
      return Promise.reject(new Deno.errors.BadResource("Listener has been closed"));
    }
    const conn = this.#ready.shift();
    if (conn !== undefined) return Promise.resolve(conn);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  close(): Promise<void> {
    this.#closing ??= (() => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const waiter of this.#waiting.splice(0)) {
        waiter.reject(new Deno.errors.BadResource("Listener has been closed"));
      }
      for (const conn of this.#ready.splice(0)) conn.close();
      // Sockets still handshaking end now; accepted ones close with their sessions.
      for (const socket of this.#sockets) if (!accepted.has(socket)) socket.destroy();
      return closed;
    })();
    return this.#closing;
  }
}

/** Sockets handed to the gateway (see {@linkcode Tls13Conn}). */
const accepted = new WeakSet<TLSSocket>();

/** A node:tls socket as a {@linkcode ClientConn}: reads from a queue that pauses the socket when full. */
class Tls13Conn implements ClientConn {
  readonly #socket: TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;

  constructor(socket: TLSSocket) {
    this.#socket = socket;
    accepted.add(socket);
    this.localAddr = {
      transport: "tcp",
      hostname: socket.localAddress ?? "127.0.0.1",
      port: socket.localPort ?? 0,
    };
    this.remoteAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "127.0.0.1",
      port: socket.remotePort ?? 0,
    };
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued > HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify();
    });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("The connection is closed");
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, buffer.length - n);
      buffer.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("The connection is closed"));
    }
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error?: Error | null) => {
        if (error) reject(new Deno.errors.BrokenPipe(error.message, { cause: error }));
        else resolve(bytes.length);
      });
    });
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("The connection is closed");
    this.#closed = true;
    this.#socket.destroy();
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
