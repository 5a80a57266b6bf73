/**
 * A bare TCP socket for the throughput loops that run without a client
 * (`throughput_raw.ts`, `throughput_codec.ts`): `Deno.connect` on Deno,
 * `node:net` on Node.js, `TCP_NODELAY` on both. Whatever reads the replies
 * sees each chunk as it arrives.
 *
 * @module
 */

/** One connection: writes, and reads until the caller has seen enough. */
export interface RawSocket {
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Hands every chunk that arrives to `onChunk` until it returns `true`.
   * The chunk is only valid during the call. Call it before writing the
   * commands whose replies it reads: on Node.js, bytes that arrive while
   * nothing reads are dropped.
   */
  readUntil(onChunk: (chunk: Uint8Array) => boolean): Promise<void>;
  /** Closes the socket. */
  close(): void;
}

/**
 * Connects to `host:port` with the runtime's own socket API.
 *
 * @param host The server's address.
 * @param port The server's port.
 * @returns The connected socket.
 */
export function openRawSocket(host: string, port: number): Promise<RawSocket> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  return deno ? denoSocket(deno, host, port) : nodeSocket(host, port);
}

async function denoSocket(deno: typeof Deno, host: string, port: number): Promise<RawSocket> {
  const conn = await deno.connect({ hostname: host, port });
  conn.setNoDelay(true);
  const buffer = new Uint8Array(256 * 1024);
  return {
    async write(bytes) {
      let written = 0;
      while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    },
    async readUntil(onChunk) {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("Connection closed");
        if (onChunk(buffer.subarray(0, n))) return;
      }
    },
    close: () => conn.close(),
  };
}

async function nodeSocket(host: string, port: number): Promise<RawSocket> {
  const net = await import("node:net");
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve).once("error", reject);
  });
  let reader: ((chunk: Uint8Array) => boolean) | undefined;
  let done: (() => void) | undefined;
  socket.on("data", (chunk: Uint8Array) => {
    if (reader === undefined || !reader(chunk)) return;
    const resolve = done!;
    reader = undefined;
    done = undefined;
    resolve();
  });
  return {
    write(bytes) {
      socket.write(bytes);
      return Promise.resolve();
    },
    readUntil(onChunk) {
      reader = onChunk;
      return new Promise((resolve) => done = resolve);
    },
    close: () => socket.destroy(),
  };
}
