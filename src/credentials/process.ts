/**
 * Credentials from an external program, the profile's `credential_process`,
 * as the AWS SDK for JavaScript's `fromProcess` and the AWS CLI run it: the
 * command line goes to the system shell (`/bin/sh -c`, `cmd.exe /d /s /c` on
 * Windows, as Node's `child_process.exec` does), and its standard output
 * must be JSON `{"Version": 1, "AccessKeyId", "SecretAccessKey",
 * "SessionToken"?, "Expiration"?}`. The program runs with `Deno.Command` on
 * Deno and `node:child_process` on Node.js and Bun, taken from
 * `process.getBuiltinModule` when it runs (never at import); on Workers
 * there are no programs to run.
 *
 * @module
 */

import {
  describe,
  MAX_TIMER_MS,
  optionalEnv,
  optionalFunction,
  optionsObject,
  timeoutOption,
  timersOption,
} from "../_checks.ts";
import type { Timers } from "../client/timers.ts";
import { CredentialsError } from "../errors.ts";
import { cacheCredentials } from "./cache.ts";
import { messageOf } from "./resolve.ts";
import {
  loadSharedConfig,
  profileLabel,
  profileNameOf,
  profileNotFound,
  programOf,
  sharedFilesCheck,
  type SharedFilesOptions,
} from "./shared_config.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

/** Options of {@linkcode fromProcess}. */
export interface FromProcessOptions extends SharedFilesOptions {
  /**
   * How long the program may run, in milliseconds; it is killed after that,
   * and the call fails. A positive number up to 2147483647.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * The clock that decides whether the credentials have expired, and when
   * cached ones are renewed (five minutes before their `Expiration`).
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound the program's run.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
}

/** The most output read from the program, both streams together: the JSON is a few kilobytes. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * A credentials provider that runs the profile's `credential_process` and
 * reads the credentials it prints, as the AWS SDK's `fromProcess` does. The
 * profile is `options.profile`, else `AWS_PROFILE`, else `default`, in the
 * shared config and credentials files. Credentials with an `Expiration` are
 * cached until five minutes before it; others are asked for again at each
 * call. Failures reject with a `CredentialsError` naming the profile and the
 * program (never its output, which holds the keys); a program that exits
 * with an error has the last line of its standard error quoted. The provider
 * also has a `waitingFor()` method, for progress messages
 * (`profile 'dev': credential_process 'aws-vault'`).
 *
 * @param options Which profile and files, the time bound, the clock.
 * @returns The provider.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `timeout` is out of range.
 *
 * @example
 * ```ts
 * import { fromProcess } from "./process.ts";
 *
 * const credentials = fromProcess({ profile: "dev", env: { HOME: "/nonexistent" } });
 * console.log(await credentials.waitingFor()); // "profile 'dev': credential_process"
 * ```
 */
export function fromProcess(
  options?: FromProcessOptions,
): AwsCredentialsProvider & { waitingFor(): Promise<string> } {
  const action = "Cannot use credential_process";
  const given = optionsObject(action, options);
  optionalEnv(action, given.env);
  optionalFunction(action, "now", given.now);
  const timeout = timeoutOption(action, "timeout", given.timeout, 30_000);
  const timers = timersOption(action, given.timers);
  const now = given.now ?? Date.now;
  let running: string | undefined;
  const resolve = async (): Promise<AwsCredentials> => {
    const config = await loadSharedConfig(given);
    const profile = config.profile;
    if (profile === undefined) {
      throw new CredentialsError(`Cannot use credential_process: ${profileNotFound(config)}`);
    }
    const command = profile["credential_process"];
    if (command === undefined) {
      throw new CredentialsError(
        `Cannot use credential_process: ${profileLabel(config)} has no credential_process setting`,
      );
    }
    running = programOf(command);
    try {
      return await runCredentialProcess(command, config.profileName, { timeout, now, timers });
    } finally {
      running = undefined;
    }
  };
  const provider = cacheCredentials(resolve, {
    timeoutMs: Math.min(timeout + 1000, MAX_TIMER_MS),
    timers,
    now,
  });
  const waitingFor = () =>
    Promise.resolve(
      `profile '${profileNameOf(given)}': credential_process${
        running === undefined ? "" : ` ${running}`
      }`,
    );
  return named(Object.assign(provider, { waitingFor }), "process");
}

/**
 * Whether the profile in use has a `credential_process`: the cheap,
 * synchronous check a credentials chain makes before using
 * {@linkcode fromProcess}. It reads the shared files (a few kilobytes)
 * synchronously; on a runtime without files (Workers) it is never configured.
 * A file that exists but cannot be parsed counts as configured, so that
 * the provider reports it.
 *
 * @param options Which profile and files, and where to read the variables.
 * @returns Whether it is configured, and what was looked for.
 * @throws {CredentialsError} When Deno denies access to the environment.
 *
 * @example
 * ```ts
 * import { processCredentialsSource } from "./process.ts";
 *
 * const check = processCredentialsSource({ env: { HOME: "/nonexistent" } });
 * console.log(check.configured); // false
 * ```
 */
export function processCredentialsSource(options?: SharedFilesOptions): CredentialsSourceCheck {
  return sharedFilesCheck(
    "credential_process",
    options,
    (profile) =>
      profile["credential_process"] === undefined
        ? undefined
        : `credential_process ${programOf(profile["credential_process"])}`,
  );
}

/** How a program's run is bounded and checked. */
export interface ProcessRunSettings {
  /** How long it may run, in ms. */
  timeout: number;
  /** The clock, to refuse expired credentials. */
  now: () => number;
  /** The timers that bound the run. */
  timers: Timers;
}

/**
 * Runs a `credential_process` command line and reads its credentials.
 *
 * @param command The command line.
 * @param profileName The profile it came from, for messages.
 * @param settings The bound, the clock and the timers.
 * @returns The credentials.
 * @throws {CredentialsError} When it cannot run, fails, runs too long, or prints no valid credentials.
 */
export async function runCredentialProcess(
  command: string,
  profileName: string,
  settings: ProcessRunSettings,
): Promise<AwsCredentials> {
  const what = `the credential_process ${programOf(command)} of profile '${profileName}'`;
  const fail = (reason: string, cause?: unknown) =>
    new CredentialsError(
      `Cannot get credentials from ${what}: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  let result: ProcessResult;
  try {
    result = await runShell(command, settings.timeout, settings.timers);
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    if ((error as { name?: unknown })?.name === "NotCapable") {
      throw fail("this Deno process may not run programs (run it with --allow-run)", error);
    }
    throw fail(messageOf(error), error);
  }
  if (result.timedOut) {
    throw fail(`it did not finish within ${settings.timeout} ms, and was killed`);
  }
  if (result.tooLong) throw fail(`it printed more than ${MAX_OUTPUT_BYTES} bytes, and was killed`);
  if (result.code !== 0) {
    const line = result.stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).pop();
    const shown = line === undefined
      ? ""
      : `: ${line.replace(/\p{Cc}/gu, " ").slice(0, 200)}${line.length > 200 ? "…" : ""}`;
    throw fail(
      `it exited with ${
        result.code === undefined ? `signal ${result.signal ?? "?"}` : `code ${result.code}`
      }${shown}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout.trim());
  } catch {
    throw fail("it printed no JSON on its standard output");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw fail("it printed JSON that is not an object");
  }
  const data = parsed as Record<string, unknown>;
  if (data.Version !== 1) {
    throw fail(`it printed Version ${describe(data.Version)}; only Version 1 is supported`);
  }
  for (const key of ["AccessKeyId", "SecretAccessKey"]) {
    if (typeof data[key] !== "string" || data[key] === "") {
      throw fail(`it printed no ${key} string`);
    }
  }
  if (data.SessionToken !== undefined && typeof data.SessionToken !== "string") {
    throw fail("it printed a SessionToken that is not a string");
  }
  let expiration: Date | undefined;
  if (data.Expiration !== undefined && data.Expiration !== null) {
    expiration = typeof data.Expiration === "string" ? new Date(data.Expiration) : undefined;
    if (expiration === undefined || Number.isNaN(expiration.getTime())) {
      throw fail(`it printed an Expiration that is not an ISO 8601 date`);
    }
    if (expiration.getTime() <= settings.now()) {
      throw fail(`it printed credentials that expired at ${expiration.toISOString()}`);
    }
  }
  return {
    accessKeyId: data.AccessKeyId as string,
    secretAccessKey: data.SecretAccessKey as string,
    ...(data.SessionToken ? { sessionToken: data.SessionToken as string } : {}),
    ...(expiration ? { expiration } : {}),
  };
}

/** How a run ended. */
interface ProcessResult {
  code: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  tooLong: boolean;
}

interface DenoCommandApi {
  build: { os: string };
  env: { get(name: string): string | undefined };
  Command: new (program: string, options: {
    args: string[];
    stdin: "null";
    stdout: "piped";
    stderr: "piped";
    windowsRawArguments?: boolean;
  }) => {
    spawn(): {
      stdout: ReadableStream<Uint8Array>;
      stderr: ReadableStream<Uint8Array>;
      status: Promise<{ code: number; signal: string | null }>;
      kill(signal?: string): void;
    };
  };
}

interface NodeReadable {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  destroy(): void;
}

interface NodeChildProcess {
  spawn(program: string, args: string[], options: {
    stdio: ["ignore", "pipe", "pipe"];
    windowsHide: boolean;
    windowsVerbatimArguments: boolean;
  }): {
    stdout: NodeReadable;
    stderr: NodeReadable;
    kill(signal: string): boolean;
    on(event: "close", listener: (code: number | null, signal: string | null) => void): unknown;
    on(event: "error", listener: (error: Error) => void): unknown;
  };
}

/** The shell and its arguments for a command line, as Node's `child_process.exec` runs it. */
function shellFor(command: string, windows: boolean, comSpec: string | undefined) {
  return windows
    ? { program: comSpec ?? "cmd.exe", args: ["/d", "/s", "/c", `"${command}"`] }
    : { program: "/bin/sh", args: ["-c", command] };
}

/**
 * Collects a run's output, bounded in bytes and time: past either bound the
 * program is killed and its pipes are closed on this side, so a program it
 * left behind holding them (`sleep` under `sh -c`) cannot hold the call.
 */
class Run {
  timedOut = false;
  tooLong = false;
  readonly #decoders = [new TextDecoder(), new TextDecoder()];
  readonly #text = ["", ""];
  #size = 0;
  readonly #stop: () => void;
  readonly #timer: unknown;
  readonly #timers: Timers;

  constructor(timeout: number, timers: Timers, stop: () => void) {
    this.#stop = stop;
    this.#timers = timers;
    this.#timer = timers.setTimeout(() => {
      this.timedOut = true;
      stop();
    }, Math.min(timeout, MAX_TIMER_MS));
  }

  /** Takes a chunk of standard output (0) or standard error (1). */
  take(stream: 0 | 1, chunk: Uint8Array): void {
    if (this.tooLong) return;
    this.#size += chunk.byteLength;
    if (this.#size > MAX_OUTPUT_BYTES) {
      this.tooLong = true;
      this.#stop();
      return;
    }
    this.#text[stream] += this.#decoders[stream]!.decode(chunk, { stream: true });
  }

  /** Ends the run with the program's exit. */
  end(code: number | undefined, signal: string | undefined): ProcessResult {
    this.#timers.clearTimeout(this.#timer);
    return {
      code,
      signal,
      stdout: this.#text[0]! + this.#decoders[0]!.decode(),
      stderr: this.#text[1]! + this.#decoders[1]!.decode(),
      timedOut: this.timedOut,
      tooLong: this.tooLong,
    };
  }
}

/** Runs a command line with the system shell, bounded in time and output. */
async function runShell(command: string, timeout: number, timers: Timers): Promise<ProcessResult> {
  const deno = (globalThis as { Deno?: DenoCommandApi }).Deno;
  if (deno?.Command !== undefined) return await runWithDeno(deno, command, timeout, timers);
  const process = (globalThis as {
    process?: {
      platform?: string;
      env?: Record<string, string | undefined>;
      getBuiltinModule?: (name: string) => unknown;
    };
  }).process;
  const childProcess = typeof process?.getBuiltinModule === "function"
    ? process.getBuiltinModule("node:child_process") as NodeChildProcess | undefined
    : undefined;
  if (childProcess === undefined) {
    throw new CredentialsError(
      "Cannot run credential_process: this runtime cannot run programs (it has no Deno.Command or node:child_process)",
    );
  }
  const windows = process?.platform === "win32";
  const { program, args } = shellFor(command, windows, process?.env?.["ComSpec"]);
  return await new Promise<ProcessResult>((resolve, reject) => {
    const child = childProcess.spawn(program, args, {
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
      windowsVerbatimArguments: windows,
    });
    const run = new Run(timeout, timers, () => {
      child.kill("SIGKILL");
      child.stdout.destroy();
      child.stderr.destroy();
    });
    child.stdout.on("data", (chunk) => run.take(0, chunk));
    child.stderr.on("data", (chunk) => run.take(1, chunk));
    child.on("error", (error) => {
      run.end(undefined, undefined);
      reject(error);
    });
    child.on("close", (code, signal) => resolve(run.end(code ?? undefined, signal ?? undefined)));
  });
}

async function runWithDeno(
  deno: DenoCommandApi,
  command: string,
  timeout: number,
  timers: Timers,
): Promise<ProcessResult> {
  const windows = deno.build.os === "windows";
  const { program, args } = shellFor(command, windows, deno.env.get("ComSpec"));
  const child = new deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(windows ? { windowsRawArguments: true } : {}),
  }).spawn();
  const readers = [child.stdout.getReader(), child.stderr.getReader()] as const;
  const run = new Run(timeout, timers, () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    for (const reader of readers) reader.cancel().catch(() => {});
  });
  const read = async (stream: 0 | 1) => {
    try {
      for (;;) {
        const { done, value } = await readers[stream].read();
        if (done) return;
        run.take(stream, value);
      }
    } catch {
      // Cancelled after a kill.
    }
  };
  const [status] = await Promise.all([child.status, read(0), read(1)]);
  return run.end(
    status.signal === null ? status.code : undefined,
    status.signal ?? undefined,
  );
}
