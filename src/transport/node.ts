/**
 * The Node.js and Bun transport: `node:net` and `node:tls` sockets wrapped as
 * Web streams. It is loaded with a dynamic `import()` only when the client
 * runs on Node or Bun, so `mod.ts` never pulls a `node:*` module.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import type { Transport, TransportOptions } from "./types.ts";

/**
 * Opens a TCP or TLS connection with `node:net` / `node:tls`. With TLS it
 * waits for `secureConnect`, so an untrusted certificate fails here; `caCerts`
 * replaces the default CA list as `tls.connect`'s `ca` does.
 *
 * @param options Where to connect, and whether to use TLS.
 * @returns The socket as a {@linkcode Transport}.
 * @throws {Error} The socket's error (`ECONNREFUSED`, a certificate error…)
 * when the connection cannot be opened.
 *
 * @example Connecting to a local server
 * ```ts ignore
 * import { nodeTransport } from "./node.ts";
 *
 * const socket = await nodeTransport({ hostname: "127.0.0.1", port: 6379, tls: false });
 * socket.close();
 * ```
 */
export function nodeTransport(options: TransportOptions): Promise<Transport> {
  const { hostname, port, servername, caCerts } = options;
  return new Promise((resolve, reject) => {
    const socket: net.Socket = options.tls
      ? tls.connect({
        host: hostname,
        port,
        servername: servername ?? (net.isIP(hostname) === 0 ? hostname : undefined),
        ...(caCerts === undefined ? {} : { ca: [...caCerts] }),
      } as tls.ConnectionOptions)
      : net.connect({ host: hostname, port });
    const onError = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", onError);
    socket.once(options.tls ? "secureConnect" : "connect", () => {
      socket.off("error", onError);
      socket.setNoDelay(true);
      resolve(new NodeSocketTransport(socket));
    });
  });
}

/** A connected `node:net` socket as a {@linkcode Transport}. */
class NodeSocketTransport implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #socket: net.Socket;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    let failure: Error | undefined;
    socket.on("error", (error) => {
      failure = error;
    });
    this.readable = new ReadableStream<Uint8Array>({
      start(controller) {
        socket.on("data", (data: Uint8Array) => {
          controller.enqueue(data);
          if ((controller.desiredSize ?? 1) <= 0) socket.pause();
        });
        socket.once("close", () => {
          try {
            if (failure === undefined) controller.close();
            else controller.error(failure);
          } catch {
            // The stream was cancelled.
          }
        });
      },
      pull() {
        socket.resume();
      },
      cancel() {
        socket.destroy();
      },
    }, { highWaterMark: 4 });
    this.writable = new WritableStream<Uint8Array>({
      write(chunk) {
        if (socket.destroyed) {
          return Promise.reject(failure ?? new Error("Cannot write: the socket is closed"));
        }
        if (socket.write(chunk)) return;
        return new Promise<void>((resolve, reject) => {
          const done = () => {
            socket.off("drain", done);
            socket.off("close", done);
            if (socket.destroyed) reject(failure ?? new Error("Cannot write: the socket closed"));
            else resolve();
          };
          socket.on("drain", done);
          socket.on("close", done);
        });
      },
      close() {
        socket.end();
      },
      abort() {
        socket.destroy();
      },
    });
  }

  /**
   * The write fast path: hands `data` to the socket at once, waiting only
   * when its buffer is full.
   *
   * @param data The bytes.
   * @returns How many bytes were taken (all of them).
   */
  write(data: Uint8Array): Promise<number> {
    const socket = this.#socket;
    if (socket.destroyed) {
      return Promise.reject(new Error("Cannot write: the socket is closed"));
    }
    if (socket.write(data)) return Promise.resolve(data.length);
    return new Promise((resolve, reject) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        if (socket.destroyed) reject(new Error("Cannot write: the socket closed"));
        else resolve(data.length);
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
