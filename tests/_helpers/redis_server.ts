/**
 * Starts a throwaway `redis-server` on a free loopback port for a test, and
 * stops it (by its PID) when the test is done:
 *
 * ```ts
 * import { startRedisServer } from "./redis_server.ts";
 *
 * await using redis = await startRedisServer({ args: ["--enable-debug-command", "yes"] });
 * const conn = await Deno.connect({ hostname: redis.hostname, port: redis.port });
 * conn.close();
 * ```
 *
 * @module
 */

import { ReplyError } from "../../src/errors.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";
import { encodeCommand } from "../../src/resp/encoder.ts";
import type { RespValue } from "../../src/resp/types.ts";

/** Options for {@linkcode startRedisServer}. */
export interface RedisServerOptions {
  /**
   * Extra `redis-server` arguments, appended after the helper's own, such as
   * `["--enable-debug-command", "yes"]` or `["--requirepass", "secret"]`.
   *
   * @default {[]}
   */
  args?: string[];
  /**
   * The port to listen on. Without it the helper picks a free one (and picks
   * again if another process takes it first); with it, a taken port fails.
   */
  port?: number;
  /**
   * The `redis-server` executable to run.
   *
   * @default {"redis-server"}
   */
  executable?: string;
  /**
   * How long to wait for the server to answer, in milliseconds.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/** A running `redis-server`. Dispose of it (or call `stop()`) to stop it. */
export interface RedisServer {
  /** The address it listens on: always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** The server process' id. */
  readonly pid: number;
  /**
   * Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its
   * working directory. Safe to call more than once.
   */
  stop(): Promise<void>;
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const HOSTNAME = "127.0.0.1";
/** How many times to try another port when the chosen one was taken meanwhile. */
const PORT_ATTEMPTS = 5;
/** How much of the server's output to keep for error messages, in characters. */
const OUTPUT_LIMIT = 8192;

/**
 * Starts `redis-server --port <free port> --bind 127.0.0.1 --save "" --appendonly no`
 * (plus `options.args`) in a fresh temporary directory and waits until it
 * answers (checking, by process id, that the answer comes from this server
 * and not from another one on the same port). If the port is taken
 * meanwhile, it tries another.
 *
 * @param options Extra arguments, a fixed port, the executable, the start-up timeout.
 * @returns The running server; dispose of it with `await using` or `stop()`.
 * @throws {Error} If `redis-server` is not installed, exits during start-up
 * (the message includes its output), or does not answer in time. Nothing is
 * left running in either case.
 *
 * @example
 * ```ts
 * import { startRedisServer } from "./redis_server.ts";
 *
 * await using redis = await startRedisServer();
 * console.log(redis.port > 0); // true
 * ```
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const executable = options.executable ?? "redis-server";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const args = options.args ?? [];
  if (options.port !== undefined) {
    try {
      return await startOnce(executable, options.port, args, timeoutMs);
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      throw new Error(
        `Cannot start ${executable}: port ${options.port} is already in use`,
        { cause: error },
      );
    }
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnce(executable, freePort(), args, timeoutMs);
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      lastError = error;
    }
  }
  throw new Error(
    `Cannot start ${executable}: no free port after ${PORT_ATTEMPTS} attempts`,
    { cause: lastError },
  );
}

class PortTakenError extends Error {}

async function startOnce(
  executable: string,
  port: number,
  extraArgs: string[],
  timeoutMs: number,
): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "redis-test-" });
  const args = [
    "--port",
    String(port),
    "--bind",
    HOSTNAME,
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    ...extraArgs,
  ];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(executable, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot start ${executable}: it is not installed or not on PATH ` +
          `(install Redis 7, for example with 'apt-get install redis-server')`,
        { cause: error },
      );
    }
    throw new Error(`Cannot start ${executable}: ${(error as Error).message}`, { cause: error });
  }

  let output = "";
  const keep = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output = (output + text).slice(-OUTPUT_LIMIT);
    }
  };
  const drained = Promise.all([keep(child.stdout), keep(child.stderr)]);
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // It exited meanwhile.
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const killed = await Promise.race([
          status.then(() => true),
          new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
        ]);
        clearTimeout(timer);
        if (!killed) {
          try {
            child.kill("SIGKILL");
          } catch {
            // It exited meanwhile.
          }
        }
      }
      await status;
      await drained;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
    return stopping;
  };

  try {
    await waitUntilReady(port, child.pid, timeoutMs, () => exited, () => output);
  } catch (error) {
    await stop();
    if (error instanceof PortTakenError || /address already in use/i.test(output)) {
      throw new PortTakenError(`Port ${port} was taken`);
    }
    const code = exited ? ` (exit code ${(await status).code})` : "";
    throw new Error(
      `Cannot start ${executable} on ${HOSTNAME}:${port}${code}: ${
        (error as Error).message
      }\n--- server output ---\n${output.trim()}`,
      { cause: error },
    );
  }

  return {
    hostname: HOSTNAME,
    port,
    pid: child.pid,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: HOSTNAME, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** What one probe of the port found. */
type Probe = "ready" | "loading" | "foreign" | "unverified";

/**
 * Probes until our own server answers, it exits, or time runs out. Another
 * `redis-server` may answer on the port if ours lost a race for it, so the
 * answer must come from our process id (or, when the server wants a password,
 * our process must still be running a moment after it answered).
 */
async function waitUntilReady(
  port: number,
  pid: number,
  timeoutMs: number,
  exited: () => boolean,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("the server exited during start-up");
    let probe: Probe | undefined;
    try {
      probe = await probeServer(port, pid, Math.max(1, deadline - Date.now()));
    } catch (error) {
      lastError = error;
    }
    if (probe === "ready") return;
    if (probe === "foreign") throw new PortTakenError(`Port ${port} is served by another process`);
    if (probe === "unverified") {
      if (/Ready to accept connections/.test(output())) return;
      await delay(250);
      if (!exited()) return;
      throw new Error("the server exited during start-up");
    }
    await delay(20);
  }
  throw new Error(`no answer within ${timeoutMs} ms`, { cause: lastError });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends `INFO server` and checks who answered. */
async function probeServer(port: number, pid: number, timeoutMs: number): Promise<Probe> {
  const conn = await Deno.connect({ hostname: HOSTNAME, port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(encodeCommand(["INFO", "server"]));
    const decoder = new RespDecoder();
    const buffer = new Uint8Array(16 * 1024);
    let reply: RespValue | undefined;
    while ((reply = decoder.read()) === undefined) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("the connection closed before a reply");
      decoder.push(buffer.subarray(0, n));
    }
    if (typeof reply === "string") {
      const match = /^process_id:(\d+)\r?$/m.exec(reply);
      return match && Number(match[1]) === pid ? "ready" : "foreign";
    }
    if (reply instanceof ReplyError && reply.code === "LOADING") return "loading";
    return "unverified"; // NOAUTH and the like: the server is up, but whose is it?
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}
