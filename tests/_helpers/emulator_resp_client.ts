/**
 * A bare RESP connection for the emulator's tests: sends commands, reads
 * replies one by one with the module's own codec, and tells when the server
 * closed the connection. Error replies come back as `-TEXT` strings.
 *
 * @module
 */

import { ReplyError } from "../../src/errors.ts";
import { encodeCommand } from "../../src/resp/encoder.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";
import type { RespValue } from "../../src/resp/types.ts";

/** Where to connect: an emulator's `gateway`. */
export interface Address {
  hostname: string;
  port: number;
  tls: boolean;
  caCertPem?: string;
}

/** One connection to the gateway. */
export class RespTestClient implements AsyncDisposable {
  readonly #conn: Deno.Conn;
  readonly #decoder = new RespDecoder();
  readonly #buffer = new Uint8Array(64 * 1024);
  #ended = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects, over TLS (trusting the emulator's CA, host `localhost`) when the gateway uses it. */
  static async connect(address: Address): Promise<RespTestClient> {
    const conn = address.tls
      ? await Deno.connectTls({
        hostname: "localhost",
        port: address.port,
        caCerts: address.caCertPem ? [address.caCertPem] : [],
      })
      : await Deno.connect({ hostname: address.hostname, port: address.port });
    return new RespTestClient(conn);
  }

  /** Sends one command and returns its reply (errors as `-TEXT`). */
  async send(...args: string[]): Promise<RespValue> {
    await this.write(encodeCommand(args));
    return await this.read();
  }

  /** Sends commands in one write and returns their replies. */
  async pipeline(commands: string[][]): Promise<RespValue[]> {
    const parts = commands.map((command) => encodeCommand(command));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    await this.write(bytes);
    const replies: RespValue[] = [];
    for (let i = 0; i < commands.length; i++) replies.push(await this.read());
    return replies;
  }

  /** Writes raw bytes or text. */
  async write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    for (let written = 0; written < bytes.length;) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  /** Reads the next reply; throws if the connection ends first. */
  async read(): Promise<RespValue> {
    for (;;) {
      const value = this.#decoder.read();
      if (value !== undefined) return value instanceof ReplyError ? `-${value.message}` : value;
      const n = await this.#readChunk();
      if (n === null) throw new Error("The gateway closed the connection before replying");
    }
  }

  /** Waits until the server closes the connection (true), or returns false if data arrives. */
  async closedByServer(): Promise<boolean> {
    return (await this.#readChunk()) === null;
  }

  async #readChunk(): Promise<number | null> {
    if (this.#ended) return null;
    let n: number | null;
    try {
      n = await this.#conn.read(this.#buffer);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else throw error;
    }
    if (n === null) {
      this.#ended = true;
      return null;
    }
    this.#decoder.push(this.#buffer.subarray(0, n));
    return n;
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
