/**
 * The small interface every transport implements: a connected byte stream as
 * a pair of Web streams, whatever the runtime's socket API.
 *
 * @module
 */

/**
 * A connected socket, as Web streams. `Deno.Conn` and the Workers `Socket`
 * satisfy it as they are; {@linkcode nodeTransport} wraps `node:net` sockets.
 */
export interface Transport {
  /** The bytes the server sends. It ends when the server closes the connection. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Where the client writes commands. */
  readonly writable: WritableStream<Uint8Array>;
  /** Closes the socket at once. Pending reads end; calling it twice is harmless. */
  close(): void | Promise<void>;
  /**
   * Optional fast path, used instead of `readable` when present (`Deno.Conn`
   * has it): reads into `buffer`, resolving with the byte count, or `null` at
   * the end of the stream.
   */
  read?(buffer: Uint8Array): Promise<number | null>;
  /**
   * Optional fast path, used instead of `readable` and `read` when present
   * (the Node.js transport has it): hands each chunk to `onData` as it
   * arrives, and calls `onEnd` once when the socket has closed, with its
   * error if it failed. `onData` consumes the chunk before it returns.
   */
  listen?(onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void;
  /**
   * Optional fast path, used instead of `writable` when present (`Deno.Conn`
   * has it): writes some of `data`, resolving with how many bytes were written.
   */
  write?(data: Uint8Array): Promise<number>;
}

/** Where and how a transport connects. */
export interface TransportOptions {
  /** The server's host name or IP address. */
  readonly hostname: string;
  /** The server's TCP port. */
  readonly port: number;
  /** Whether to speak TLS. */
  readonly tls: boolean;
  /** The TLS server name (SNI and certificate check), when it differs from `hostname`. */
  readonly servername?: string | undefined;
  /** Extra trusted CA certificates, PEM-encoded, for private CAs and the emulator. */
  readonly caCerts?: readonly string[] | undefined;
}

/**
 * Opens a connection. It resolves once the socket is connected and, with TLS,
 * once the handshake has finished, so that refused connections and certificate
 * errors surface here rather than at the first command.
 */
export type TransportFactory = (options: TransportOptions) => Promise<Transport>;
