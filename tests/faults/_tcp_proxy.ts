/**
 * A byte-level TCP proxy in front of the emulator's gateway, for the fault
 * suite: it can cut every connection at once and refuse new ones for a while
 * (as a failover or a network partition does), and it records when each
 * connection arrived. TLS passes through it end to end.
 *
 * @module
 */

/** A running proxy. Dispose it to stop it and close every connection. */
export interface TcpProxy extends AsyncDisposable {
  /** `127.0.0.1`. */
  readonly hostname: string;
  /** The port clients connect to. */
  readonly port: number;
  /** `performance.now()` of every accepted connection, in order. */
  readonly acceptedAt: readonly number[];
  /** Connections open right now. */
  readonly open: number;
  /** Closes every open connection (both sides) at once. */
  cutAll(): void;
  /**
   * Stops listening (new connections are refused) or starts again on the same port.
   *
   * @param refusing Whether to refuse.
   */
  refuse(refusing: boolean): void;
  /** Stops listening, closes every connection and waits for the relays. */
  close(): Promise<void>;
}

interface Pair {
  readonly client: Deno.Conn;
  upstream: Deno.Conn | undefined;
}

/**
 * Starts the proxy on a free loopback port.
 *
 * @param upstream Where to forward, such as the gateway's address.
 * @returns The running proxy.
 */
export function startTcpProxy(upstream: { hostname: string; port: number }): TcpProxy {
  const pairs = new Set<Pair>();
  const tasks = new Set<Promise<void>>();
  const acceptedAt: number[] = [];
  let listener: Deno.Listener | undefined;
  let port = 0;
  let closed = false;

  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };

  const closePair = (pair: Pair) => {
    for (const conn of [pair.client, pair.upstream]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
    pairs.delete(pair);
  };

  const pipe = async (from: Deno.Conn, to: Deno.Conn, pair: Pair) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        for (let written = 0; written < n;) {
          written += await to.write(buffer.subarray(written, n));
        }
      }
    } catch {
      // Either side closed.
    } finally {
      closePair(pair);
    }
  };

  const serve = async (client: Deno.Conn) => {
    const pair: Pair = { client, upstream: undefined };
    pairs.add(pair);
    try {
      pair.upstream = await Deno.connect(upstream);
    } catch {
      closePair(pair);
      return;
    }
    if (!pairs.has(pair)) {
      closePair(pair);
      return;
    }
    await Promise.all([pipe(client, pair.upstream, pair), pipe(pair.upstream, client, pair)]);
  };

  const accept = async (current: Deno.Listener) => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await current.accept();
      } catch {
        return; // The listener was closed.
      }
      acceptedAt.push(performance.now());
      track(serve(conn));
    }
  };

  const listen = () => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    port = (listener.addr as Deno.NetAddr).port;
    track(accept(listener));
  };

  const unlisten = () => {
    try {
      listener?.close();
    } catch {
      // Already closed.
    }
    listener = undefined;
  };

  listen();

  const cutAll = () => {
    for (const pair of [...pairs]) closePair(pair);
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    unlisten();
    cutAll();
    while (tasks.size > 0) await Promise.all([...tasks]);
  };

  return {
    hostname: "127.0.0.1",
    get port() {
      return port;
    },
    acceptedAt,
    get open() {
      return pairs.size;
    },
    cutAll,
    refuse(refusing: boolean) {
      if (closed) return;
      if (refusing) unlisten();
      else if (listener === undefined) listen();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
