/**
 * Round trips: programs connect through a loopback proxy that delays every
 * chunk by a fixed time in each direction and records, per connection, when
 * bytes went which way. A round trip is a client flight (bytes toward the
 * server) answered by a server flight; the TCP handshake happens in the
 * kernel, below the proxy, and is counted as one by construction.
 *
 * @module
 */
import type { BenchEmulator, Endpoint } from "./environment.ts";
import { VALUE } from "./environment.ts";
import { denoProgram, nodeProgram, runProgram } from "./process.ts";
import { type Measurement, notMeasured } from "./results.ts";

/** One chunk the proxy relayed. */
interface Chunk {
  /** `up`: client to server; `down`: server to client. */
  direction: "up" | "down";
  /** When it reached the proxy, in ms since the epoch. */
  at: number;
  /** Its first byte (a TLS record type for the first flight). */
  firstByte: number;
}

/** A connection the proxy relayed. */
interface ProxiedConnection {
  openedAt: number;
  chunks: Chunk[];
}

/** A TCP proxy that adds `delayMs` in each direction. */
export class DelayProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #target: Endpoint;
  readonly #delayMs: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  /** Every connection so far, in accept order. */
  readonly connections: ProxiedConnection[] = [];

  /**
   * Starts listening on a free loopback port.
   *
   * @param target Where to relay to.
   * @param delayMs The delay per direction, in ms.
   */
  constructor(target: Endpoint, delayMs: number) {
    this.#target = target;
    this.#delayMs = delayMs;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#track(this.#accept());
  }

  /** Where programs connect. */
  get endpoint(): Endpoint {
    return { hostname: "127.0.0.1", port: (this.#listener.addr as Deno.NetAddr).port };
  }

  /** Forgets the recorded connections. */
  reset(): void {
    this.connections.length = 0;
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return;
      }
      const record: ProxiedConnection = { openedAt: clock(), chunks: [] };
      this.connections.push(record);
      this.#track(this.#relay(client, record));
    }
  }

  async #relay(client: Deno.TcpConn, record: ProxiedConnection): Promise<void> {
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect(this.#target);
    } catch {
      client.close();
      return;
    }
    client.setNoDelay(true);
    server.setNoDelay(true);
    this.#conns.add(client).add(server);
    const pump = async (from: Deno.Conn, to: Deno.Conn, direction: Chunk["direction"]) => {
      let chain = Promise.resolve();
      try {
        for (;;) {
          const buffer = new Uint8Array(64 * 1024);
          const n = await from.read(buffer);
          if (n === null) break;
          const at = clock();
          record.chunks.push({ direction, at, firstByte: buffer[0]!, n } as Chunk);
          const bytes = buffer.subarray(0, n);
          chain = chain.then(async () => {
            const wait = at + this.#delayMs - clock();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            let written = 0;
            while (written < bytes.length) written += await to.write(bytes.subarray(written));
          });
        }
        await chain;
      } catch {
        // Either side closed.
      } finally {
        for (const conn of [from, to]) {
          try {
            conn.close();
          } catch {
            // Already closed.
          }
          this.#conns.delete(conn);
        }
      }
    };
    await Promise.all([pump(client, server, "up"), pump(server, client, "down")]);
  }

  /** Stops listening and closes every relayed connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await Promise.allSettled([...this.#tasks]);
  }
}

function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** The round trips of one connection within a time window. */
export interface RoundTrips {
  /** Round trips in the window (client flight answered by a server flight). */
  total: number;
  /** 1 when the window starts with a TLS handshake (a ClientHello). */
  tls: number;
  /** The round trips before `commandsFrom` (after TLS): the handshake/auth. */
  auth: number;
  /** The round trips from `commandsFrom` on. */
  commands: number;
  /** First client byte to last server byte of the window, in units of the round-trip time. */
  elapsedRtts: number;
  /**
   * Elapsed time not explained by the counted round trips, in ms: the two
   * ends' processing, and stalls such as Nagle's algorithm waiting for a
   * delayed ACK.
   */
  otherMs: number;
}

/**
 * Counts round trips on a connection's chunks between `from` and `to`.
 * Flights are maximal runs of chunks in one direction.
 *
 * @param chunks The connection's chunks.
 * @param window `from`/`to`: the window (ms since the epoch); `commandsFrom`: when the program started sending commands.
 * @param delayMs The proxy's delay per direction.
 * @returns The counts.
 */
export function countRoundTrips(
  chunks: readonly Chunk[],
  window: { from: number; to: number; commandsFrom: number },
  delayMs: number,
): RoundTrips {
  const inWindow = chunks.filter((c) => c.at >= window.from && c.at <= window.to);
  const flights: { direction: Chunk["direction"]; at: number; end: number; firstByte: number }[] =
    [];
  for (const chunk of inWindow) {
    const last = flights[flights.length - 1];
    if (last && last.direction === chunk.direction) last.end = chunk.at;
    else {
      flights.push({
        direction: chunk.direction,
        at: chunk.at,
        end: chunk.at,
        firstByte: chunk.firstByte,
      });
    }
  }
  let total = 0;
  let tls = 0;
  let auth = 0;
  let commands = 0;
  for (let i = 0; i + 1 < flights.length; i++) {
    const flight = flights[i]!;
    if (flight.direction !== "up" || flights[i + 1]!.direction !== "down") continue;
    total++;
    if (total === 1 && flight.firstByte === 0x16) tls++;
    // The program stamps `commandsFrom` when it has the handshake's reply,
    // which left the proxy `delayMs` earlier; its first command reaches the
    // proxy just after the stamp. Half the delay of slack absorbs the two
    // processes' clock rounding.
    else if (flight.at >= window.commandsFrom - delayMs / 2) commands++;
    else auth++;
  }
  const first = flights.find((f) => f.direction === "up");
  const lastDown = [...flights].reverse().find((f) => f.direction === "down");
  // The proxy sees the client's first byte as it is sent, and hands the
  // server's last byte to the client `delayMs` after it saw it.
  const elapsedMs = first && lastDown ? lastDown.end + delayMs - first.at : 0;
  return {
    total,
    tls,
    auth,
    commands,
    elapsedRtts: Math.round((elapsedMs / (2 * delayMs)) * 10) / 10,
    otherMs: Math.round(Math.max(0, elapsedMs - total * 2 * delayMs) * 10) / 10,
  };
}

interface ColdLine {
  reply: string;
  t: { start: number; connected: number; reply: number };
}

interface WarmPhase {
  name: string;
  start: number;
  connected?: number;
  end: number;
  reply: string;
  signatures: number;
  resolutions: number;
}

const COLD_PROGRAMS = [
  { key: "thin", label: "thin client (this module)", runtime: "deno", file: "cold_thin.ts" },
  { key: "thin", label: "thin client (this module)", runtime: "node", file: "cold_thin.ts" },
  {
    key: "a",
    label: "(a) node-redis + aws4fetch",
    runtime: "deno",
    file: "cold_node_redis_aws4fetch.ts",
  },
  {
    key: "b",
    label: "(b) node-redis + ./node-redis provider",
    runtime: "deno",
    file: "cold_node_redis_provider.ts",
  },
  {
    key: "c",
    label: "(c) node-redis + @smithy/signature-v4",
    runtime: "deno",
    file: "cold_node_redis_smithy.ts",
  },
  {
    key: "floor",
    label: "(d) floor: bare socket, static password",
    runtime: "deno",
    file: "cold_floor_deno.ts",
  },
] as const;

function rttMeasurement(
  id: string,
  name: string,
  runtime: "deno" | "node",
  counts: RoundTrips,
  extra: Record<string, unknown> = {},
): Measurement {
  // TCP's handshake is below the proxy: one round trip by construction.
  const total = counts.total + 1;
  return {
    id,
    section: "round-trips",
    name,
    runtime,
    unit: "round trips",
    median: total,
    min: total,
    max: total,
    n: 1,
    detail: {
      tcp: 1,
      tls: counts.tls,
      auth: counts.auth,
      commands: counts.commands,
      elapsedRtts: counts.elapsedRtts,
      otherMs: counts.otherMs,
      ...extra,
    },
  };
}

/**
 * Counts the round trips of every cold-start program (a new connection to
 * the first reply), and of the thin client's warm invocations.
 *
 * @param bench The emulator.
 * @param delayMs The delay per direction.
 * @param log Progress lines.
 * @returns One measurement per program and phase.
 */
export async function measureRoundTrips(
  bench: BenchEmulator,
  delayMs: number,
  log: (line: string) => void,
): Promise<Measurement[]> {
  log(`Round trips: through a proxy adding ${delayMs} ms each way…`);
  await using proxy = new DelayProxy(bench.tls, delayMs);
  const env = await bench.programEnv(proxy.endpoint);
  const measurements: Measurement[] = [];
  for (const program of COLD_PROGRAMS) {
    const id = `round-trips.${program.runtime}.${program.key}.new-connection`;
    const name = `${program.label}: new connection → first reply`;
    proxy.reset();
    try {
      const argv = program.runtime === "deno"
        ? denoProgram(program.file)
        : nodeProgram(program.file);
      const run = await runProgram(argv, env, { timeoutMs: 60_000 });
      const line = run.lines[0] as unknown as ColdLine;
      if (line.reply !== VALUE) throw new Error(`unexpected reply ${JSON.stringify(line.reply)}`);
      if (proxy.connections.length !== 1) {
        throw new Error(`expected one connection, saw ${proxy.connections.length}`);
      }
      const counts = countRoundTrips(proxy.connections[0]!.chunks, {
        from: 0,
        to: Infinity,
        commandsFrom: line.t.connected,
      }, delayMs);
      measurements.push(rttMeasurement(id, name, program.runtime, counts));
    } catch (error) {
      measurements.push(notMeasured(
        { id, section: "round-trips", name, runtime: program.runtime, unit: "round trips" },
        (error as Error).message.split("\n")[0]!.slice(0, 200),
      ));
    }
  }

  proxy.reset();
  const phases = ["new", "warm", "cached-token"] as const;
  const names = {
    "new": "thin client, invocation 1: credentials, token, new connection, GET",
    "warm": "thin client, warm invocation: GET on the open connection",
    "cached-token": "thin client, reconnect on the cached token: new connection, GET",
  };
  try {
    const run = await runProgram(denoProgram("warm_thin.ts"), env, { timeoutMs: 60_000 });
    const reported = (run.lines[0] as { phases: WarmPhase[] }).phases;
    if (proxy.connections.length !== 2) {
      throw new Error(`expected two connections, saw ${proxy.connections.length}`);
    }
    for (const phase of phases) {
      const p = reported.find((r) => r.name === phase)!;
      if (p.reply !== VALUE) throw new Error(`unexpected reply in phase ${phase}`);
      const conn = proxy.connections[phase === "cached-token" ? 1 : 0]!;
      const counts = countRoundTrips(conn.chunks, {
        from: p.start,
        to: p.end + delayMs,
        commandsFrom: p.connected ?? p.start,
      }, delayMs);
      const m = rttMeasurement(`round-trips.deno.thin.${phase}`, names[phase], "deno", counts, {
        signatures: p.signatures,
        credentialResolutions: p.resolutions,
      });
      if (phase === "warm") {
        // No new connection: no TCP handshake either.
        m.median = m.min = m.max = counts.total;
        m.detail!.tcp = 0;
      }
      measurements.push(m);
    }
  } catch (error) {
    for (const phase of phases) {
      measurements.push(notMeasured({
        id: `round-trips.deno.thin.${phase}`,
        section: "round-trips",
        name: names[phase],
        runtime: "deno",
        unit: "round trips",
      }, (error as Error).message.split("\n")[0]!.slice(0, 200)));
    }
  }
  return measurements;
}
