/**
 * Evidence that a call did no I/O: while {@linkcode withoutIo} runs a call,
 * every way this runtime opens a socket, starts a server, spawns a process,
 * fetches or reads a file is replaced by a stub that records the attempt and
 * throws instead of doing it (so a call that would start a `redis-server`
 * before checking its options leaves nothing behind). The real functions are
 * put back afterwards, whatever happened.
 *
 * Deno runs the tests of one file one after another, so the stubs never see
 * another test's I/O.
 *
 * @module
 */

/** What the call did and what it attempted. */
export interface ProbeOutcome {
  /** The call's result or error (async results are awaited). */
  readonly outcome: PromiseSettledResult<unknown>;
  /** One entry per attempted I/O, such as `Deno.connect 127.0.0.1:6379`. */
  readonly attempts: readonly string[];
}

/** The stubbed I/O entry points: plain functions on `Deno` and `globalThis`. */
const DENO_FUNCTIONS = [
  "connect",
  "connectTls",
  "listen",
  "listenTls",
  "listenDatagram",
  "startTls",
  "open",
  "readFile",
  "readTextFile",
  "readFileSync",
  "readTextFileSync",
  "makeTempDir",
  "writeFile",
  "writeTextFile",
] as const;
/** Entry points that Deno defines as getters. */
const DENO_GETTERS = ["serve", "Command"] as const;

/**
 * Runs `call` with every I/O entry point stubbed out and reports what it tried.
 *
 * @param call The call to run; a returned promise is awaited.
 * @returns Its outcome and the attempted I/O.
 */
export async function withoutIo(call: () => unknown): Promise<ProbeOutcome> {
  const attempts: string[] = [];
  const denoRecord = Deno as unknown as Record<string, unknown>;
  const saved = new Map<string, PropertyDescriptor>();
  const refuse = (what: string, detail: unknown) => {
    attempts.push(`${what} ${describe(detail)}`);
    return new Error(`I/O probe: ${what} was called while checking options`);
  };
  for (const name of [...DENO_FUNCTIONS, ...DENO_GETTERS]) {
    const descriptor = Object.getOwnPropertyDescriptor(Deno, name);
    if (descriptor === undefined) continue;
    saved.set(name, descriptor);
    const stub = name === "Command"
      ? class {
        constructor(program: unknown) {
          throw refuse("Deno.Command", program);
        }
      }
      : (first?: unknown) => {
        throw refuse(`Deno.${name}`, first);
      };
    Object.defineProperty(denoRecord, name, {
      configurable: true,
      writable: true,
      value: stub,
    });
  }
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input: RequestInfo | URL) => Promise.reject(refuse("fetch", String(input)));
  let outcome: PromiseSettledResult<unknown>;
  try {
    outcome = { status: "fulfilled", value: await call() };
  } catch (reason) {
    outcome = { status: "rejected", reason };
  } finally {
    globalThis.fetch = realFetch;
    for (const [name, descriptor] of saved) Object.defineProperty(denoRecord, name, descriptor);
  }
  return { outcome, attempts };
}

function describe(detail: unknown): string {
  if (detail === null || typeof detail !== "object") return String(detail);
  const { hostname, port, path } = detail as Record<string, unknown>;
  if (port !== undefined) return `${hostname ?? ""}:${port}`;
  if (path !== undefined) return String(path);
  return Object.prototype.toString.call(detail);
}

/**
 * A loopback listener that counts the connections it gets: give its port to
 * a call whose options are bad, and check that nobody connected.
 */
export class RecordingListener implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #accepting: Promise<void>;
  #connections = 0;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** The port to hand out. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** How many connections were accepted so far. */
  get connections(): number {
    return this.#connections;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.#connections++;
      conn.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
  }
}
