/**
 * The Node.js and Bun transport: `node:net` and `node:tls` sockets, read
 * straight from their `data` events by the client (and offered as Web streams
 * to anyone else). It imports no `node:*` module: it asks the runtime for
 * `node:net` and `node:tls` with `process.getBuiltinModule` when it connects,
 * so bundlers that follow the main entry point's dynamic `import()` of this
 * file (esbuild and Wrangler for Workers) find no Node built-in to resolve.
 *
 * @module
 */

import type * as Net from "node:net";
import type * as Tls from "node:tls";
import type { Transport, TransportOptions } from "./types.ts";

interface NodeBuiltins {
  net: typeof Net;
  tls: typeof Tls;
}

type GetBuiltinModule = (id: string) => unknown;

/** `node:net` and `node:tls` from the running runtime (Node.js 20.16+, Bun, Deno). */
function nodeBuiltins(target: string): NodeBuiltins {
  const process = (globalThis as { process?: { getBuiltinModule?: GetBuiltinModule } }).process;
  const getBuiltinModule = process?.getBuiltinModule;
  if (typeof getBuiltinModule !== "function") {
    throw new TypeError(
      `Cannot connect to '${target}': this runtime has no process.getBuiltinModule (Node.js 20.16 or later, Bun 1.1 or later); pass 'transport'`,
    );
  }
  return {
    net: getBuiltinModule.call(process, "node:net") as typeof Net,
    tls: getBuiltinModule.call(process, "node:tls") as typeof Tls,
  };
}

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
  let net: typeof Net;
  let tls: typeof Tls;
  try {
    ({ net, tls } = nodeBuiltins(`${hostname}:${port}`));
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const socket: Net.Socket = options.tls
      ? tls.connect({
        host: hostname,
        port,
        servername: servername ?? (net.isIP(hostname) === 0 ? hostname : undefined),
        ...(caCerts === undefined ? {} : { ca: [...caCerts] }),
      } as Tls.ConnectionOptions)
      : net.connect({ host: hostname, port });
    // Before the handshake, so that no flight of it waits for a delayed ACK.
    socket.setNoDelay(true);
    const onError = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", onError);
    socket.once(options.tls ? "secureConnect" : "connect", () => {
      socket.off("error", onError);
      resolve(new NodeSocketTransport(socket));
    });
  });
}

/** A connected `node:net` socket as a {@linkcode Transport}. */
class NodeSocketTransport implements Transport {
  readonly #socket: Net.Socket;
  /** The socket's error, once it failed. */
  #failure: Error | undefined;
  /** Whether the socket has closed. */
  #closed = false;
  /** Who reads the socket: nobody yet, `listen`, or the `readable` stream. */
  #reader: "listen" | "stream" | undefined;
  /** Called when the socket closes, once a reader is attached. */
  #onClose: (() => void) | undefined;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(socket: Net.Socket) {
    this.#socket = socket;
    socket.on("error", (error) => {
      this.#failure = error;
    });
    socket.once("close", () => {
      this.#closed = true;
      this.#onClose?.();
    });
  }

  /**
   * The read fast path, used by the client instead of `readable`: each chunk
   * goes to `onData` straight from the socket's `data` event, without a Web
   * stream in between (on Node.js, a `ReadableStream` costs more per chunk
   * than decoding a batch of replies). `onData` consumes the chunk before it
   * returns, so nothing queues up and no backpressure is needed.
   *
   * @param onData Receives each chunk as it arrives.
   * @param onEnd Called once when the socket has closed: with its error, or
   * with nothing when the peer closed it or {@linkcode close} was called.
   * @throws {TypeError} When the socket is already being read.
   */
  listen(onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void {
    this.#claim("listen");
    const socket = this.#socket;
    const end = () => {
      socket.off("data", onData);
      onEnd(this.#failure);
    };
    if (this.#closed) {
      queueMicrotask(end);
      return;
    }
    this.#onClose = end;
    socket.on("data", onData);
  }

  /** The bytes the server sends, as a Web stream (made on first use). */
  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable !== undefined) return this.#readable;
    this.#claim("stream");
    const socket = this.#socket;
    this.#readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const end = () => {
          try {
            if (this.#failure === undefined) controller.close();
            else controller.error(this.#failure);
          } catch {
            // The stream was cancelled.
          }
        };
        if (this.#closed) {
          end();
          return;
        }
        this.#onClose = end;
        socket.on("data", (data: Uint8Array) => {
          controller.enqueue(data);
          if ((controller.desiredSize ?? 1) <= 0) socket.pause();
        });
      },
      pull() {
        socket.resume();
      },
      cancel() {
        socket.destroy();
      },
    }, { highWaterMark: 4 });
    return this.#readable;
  }

  /** Where commands are written, as a Web stream (made on first use). */
  get writable(): WritableStream<Uint8Array> {
    if (this.#writable !== undefined) return this.#writable;
    const socket = this.#socket;
    const failure = () => this.#failure;
    this.#writable = new WritableStream<Uint8Array>({
      write(chunk) {
        if (socket.destroyed) {
          return Promise.reject(failure() ?? new Error("Cannot write: the socket is closed"));
        }
        if (socket.write(chunk)) return;
        return new Promise<void>((resolve, reject) => {
          const done = () => {
            socket.off("drain", done);
            socket.off("close", done);
            if (socket.destroyed) reject(failure() ?? new Error("Cannot write: the socket closed"));
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
    return this.#writable;
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

  #claim(reader: "listen" | "stream"): void {
    if (this.#reader !== undefined) {
      throw new TypeError(
        `Cannot read the socket ${
          reader === "listen" ? "with listen()" : "as a stream"
        }: it is already read ${this.#reader === "listen" ? "with listen()" : "as a stream"}`,
      );
    }
    this.#reader = reader;
  }
}
