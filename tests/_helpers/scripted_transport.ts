/**
 * An in-memory transport whose peer is a script: for client tests that need
 * a peer to misbehave at an exact moment (a FIN in the same read as the
 * handshake reply, a frame nobody asked for, silence), which a real socket
 * cannot order deterministically. Commands the client writes are decoded and
 * handed to the script; the script's replies reach the client at once,
 * through the transport's `listen` fast path.
 *
 * @module
 */

import type { Transport, TransportFactory } from "../../src/transport/types.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";

const encoder = new TextEncoder();

/** One connection, as the script sees it. */
export class ScriptedPeer {
  /** Every command the client wrote on this connection, decoded. */
  readonly commands: string[][] = [];
  #onData: ((chunk: Uint8Array) => void) | undefined;
  #onEnd: ((error?: Error) => void) | undefined;
  #ended = false;

  /** @param index 0 for the first connection, then 1, 2… */
  constructor(readonly index: number) {}

  /** Whether the connection has ended (either side). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Delivers bytes to the client now.
   *
   * @param data The bytes (a string is sent as UTF-8).
   */
  reply(data: string | Uint8Array): void {
    if (this.#ended) return;
    this.#onData?.(typeof data === "string" ? encoder.encode(data) : data);
  }

  /**
   * Ends the stream now, as a FIN (or a reset with `error`).
   *
   * @param error The socket error, for a reset.
   */
  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd?.(error);
  }

  /** @internal */
  listen(onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void {
    this.#onData = onData;
    this.#onEnd = onEnd;
  }
}

/** What the script does with each command; `peer.reply()` answers it. */
export type Script = (command: string[], peer: ScriptedPeer) => void;

/** The standard success replies to a handshake command, or `undefined` for another command. */
export function handshakeReply(command: string[]): string | undefined {
  const name = command[0]!.toUpperCase();
  if (name === "HELLO") return "%2\r\n+server\r\n+scripted\r\n+proto\r\n:3\r\n";
  if (name === "AUTH" || name === "SELECT" || name === "CLIENT") return "+OK\r\n";
  return undefined;
}

/**
 * A transport factory whose connections are driven by `script`.
 *
 * @param script Called with each command the client writes.
 * @returns The factory, and the peers of the connections it opened.
 */
export function scriptedTransport(
  script: Script,
): TransportFactory & { readonly peers: ScriptedPeer[] } {
  const peers: ScriptedPeer[] = [];
  const factory = (): Promise<Transport> => {
    const peer = new ScriptedPeer(peers.length);
    peers.push(peer);
    const decoder = new RespDecoder();
    const transport: Transport = {
      readable: new ReadableStream(),
      writable: new WritableStream(),
      close: () => peer.end(),
      listen: (onData, onEnd) => peer.listen(onData, onEnd),
      write(data) {
        if (peer.ended) return Promise.reject(new Error("Broken pipe"));
        decoder.push(data);
        for (;;) {
          const value = decoder.read();
          if (value === undefined) break;
          const command = (value as unknown[]).map(String);
          peer.commands.push(command);
          script(command, peer);
        }
        return Promise.resolve(data.length);
      },
    };
    return Promise.resolve(transport);
  };
  return Object.assign(factory, { peers });
}
