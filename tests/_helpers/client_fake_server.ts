/**
 * A scripted RESP server on a loopback port, for client tests that need a
 * server to misbehave: answer with broken bytes, never answer, or answer one
 * byte at a time.
 *
 * @module
 */

import { RespDecoder } from "../../src/resp/decoder.ts";

/** How the fake server answers one command. */
export type FakeHandler = (
  command: string[],
  connection: FakeConnection,
) => void | Promise<void>;

/** One client connection to the fake server. */
export interface FakeConnection {
  /** 0 for the first connection, then 1, 2… */
  readonly index: number;
  /** Writes raw bytes (a string is sent as UTF-8). */
  write(data: string | Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** A running fake server. */
export interface FakeServer extends AsyncDisposable {
  readonly hostname: string;
  readonly port: number;
  /** Every command received, in order, per connection index. */
  readonly commands: string[][][];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts a fake server whose answers `handler` writes.
 *
 * @param handler Called for each command received.
 * @returns The running server.
 */
export function startFakeServer(handler: FakeHandler): FakeServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const commands: string[][][] = [];
  let closed = false;

  const serve = async (conn: Deno.Conn, index: number) => {
    const decoder = new RespDecoder();
    const buffer = new Uint8Array(64 * 1024);
    commands[index] = [];
    const connection: FakeConnection = {
      index,
      async write(data) {
        let bytes = typeof data === "string" ? encoder.encode(data) : data;
        while (bytes.length > 0) {
          const n = await conn.write(bytes);
          bytes = bytes.subarray(n);
        }
      },
      close() {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
        conns.delete(conn);
      },
    };
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        decoder.push(buffer.subarray(0, n));
        for (;;) {
          const value = decoder.read();
          if (value === undefined) break;
          const command = (value as unknown[]).map(String);
          commands[index]!.push(command);
          await handler(command, connection);
        }
      }
    } catch {
      // The connection was closed.
    } finally {
      connection.close();
    }
  };

  const accepting = (async () => {
    let index = 0;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (closed) {
        conn.close();
        return;
      }
      conns.add(conn);
      const task = serve(conn, index++);
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();

  const close = async () => {
    if (closed) return;
    closed = true;
    listener.close();
    await accepting;
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await Promise.all([...tasks]);
  };

  return {
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    commands,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A handler that answers the handshake (`HELLO` with a RESP3 map, `AUTH`,
 * `SELECT`, `CLIENT` with OK) and hands every other command to `next`.
 *
 * @param next What to do with the other commands.
 * @returns The handler.
 */
export function withHandshake(next: FakeHandler): FakeHandler {
  return async (command, connection) => {
    const name = command[0]!.toUpperCase();
    if (name === "HELLO") {
      await connection.write("%2\r\n+server\r\n+fake\r\n+proto\r\n:3\r\n");
    } else if (name === "AUTH" || name === "SELECT" || name === "CLIENT") {
      await connection.write("+OK\r\n");
    } else {
      await next(command, connection);
    }
  };
}
