/**
 * Cold-start measures: the workarounds for what a runtime costs the first
 * time something is used in a process, kept in one place. Each measure's doc
 * says what it saves, on which runtime and version, and what makes it
 * unnecessary; when that happens, delete the measure and let its caller make
 * the plain call its doc names.
 *
 * "Saves" is wall time from spawn to first reply of a fresh process
 * (`bench/programs/cold_thin.ts`: import, credentials, token, TLS, auth,
 * `GET`; about 63 ms on Deno and 73 ms on Node.js with every measure), with
 * the measure turned off minus with it on: the median of 3 whole runs of
 * `deno run -A bench/cold_start_measures.ts` (20 alternating fresh processes
 * per copy each), on 2 shared cores. The table is in `bench/README.md`,
 * "Cold-start measures".
 *
 * Code elsewhere in `src/` that swaps a global, warms a library or picks a
 * timer for one runtime version belongs here.
 *
 * @module
 */

// ---------------------------------------------------------------- Headers swap

/**
 * The subset of `Headers` that `AwsV4Signer` uses: names are case-insensitive,
 * `keys()` is sorted, as with `Headers`.
 */
class PresignHeaders {
  readonly #entries = new Map<string, string>();

  constructor(init?: Record<string, string>) {
    for (const [name, value] of Object.entries(init ?? {})) this.set(name, value);
  }

  get(name: string): string | null {
    return this.#entries.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#entries.has(name.toLowerCase());
  }

  set(name: string, value: string): void {
    this.#entries.set(name.toLowerCase(), String(value));
  }

  delete(name: string): void {
    this.#entries.delete(name.toLowerCase());
  }

  keys(): IterableIterator<string> {
    return [...this.#entries.keys()].sort()[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return [...this.#entries].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)[Symbol.iterator]();
  }
}

/**
 * Runs `construct`, synchronously, while `globalThis.Headers` is a minimal
 * header map: for aws4fetch's `AwsV4Signer` of a query-presigned URL, whose
 * constructor always builds a `new Headers(...)`.
 *
 * A presigned token signs no header but `host`, yet a process's first
 * `Headers` is costly: on Node.js it loads undici, on Deno its fetch code.
 * The constructor is synchronous, so no other code can observe the swap;
 * the global is restored before this returns (or throws). Signing itself is
 * still aws4fetch's, on WebCrypto. Where the global cannot be put back
 * exactly (not configurable), the platform's is used.
 *
 * - Saves: Node.js 20.20.2: 15 ms. Deno 2.9.6: nothing measurable (0.6 ms,
 *   within noise).
 * - Can go when: aws4fetch no longer builds a `Headers` for a query-signed
 *   request, or Node's first `Headers` stops loading undici. Deno alone
 *   would not need it. The plain call is `construct()`.
 *
 * @param construct Builds the signer; it must not keep the `Headers` class.
 * @returns What `construct` returned.
 */
export function withPresignHeaders<T>(construct: () => T): T {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "Headers");
  if (descriptor !== undefined && !descriptor.configurable) return construct();
  Object.defineProperty(globalThis, "Headers", {
    value: PresignHeaders,
    configurable: true,
    writable: true,
  });
  try {
    return construct();
  } finally {
    if (descriptor === undefined) delete (globalThis as { Headers?: unknown }).Headers;
    else Object.defineProperty(globalThis, "Headers", descriptor);
  }
}

// ---------------------------------------------------------------- TLS warm-up

let tlsWarmUp: Promise<void> | undefined;

/**
 * Initialises Deno's TLS library off the main thread, with a throwaway key.
 *
 * The first TLS connection of a Deno process runs a one-time initialisation
 * of its crypto library (rustls on aws-lc): about 30 ms of CPU, which the
 * first `Deno.startTls` would spend on the main thread, blocking the event
 * loop. An ECDSA P-256 key generation runs the same initialisation, and Deno
 * runs it on a worker thread (HMAC and AES key generation run it too, but on
 * the calling thread). The Deno transport starts this before its TCP connect
 * and waits for it before `Deno.startTls`, with the event loop free: the TCP
 * connect and the token mint run meanwhile, and `Deno.startTls` then takes
 * about 1 ms. Once per process; the key is discarded; if it fails,
 * `Deno.startTls` initialises the library itself, as it would have.
 *
 * - Saves: Deno 2.9.6: 4.3 ms. (Deno only: the Node transport does not call it.)
 * - Can go when: Deno initialises its TLS library off the main thread, or
 *   cheaply, itself. The plain call is none: `Deno.startTls` directly.
 *
 * @returns Resolves when the library is initialised (or the attempt failed); never rejects.
 */
export function warmUpTls(): Promise<void> {
  tlsWarmUp ??= (async () => {
    try {
      await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    } catch {
      // No WebCrypto, or no P-256: Deno.startTls initialises the library.
    }
  })();
  return tlsWarmUp;
}

// ---------------------------------------------------------------- timers

/**
 * The longest single `AbortSignal.timeout` a {@linkcode SignalTimer} waits
 * on: a cancelled timer's signal lingers in the runtime until it fires, so
 * long delays run as a chain of steps this long.
 */
const SIGNAL_STEP_MS = 60_000;

/**
 * A timer on `AbortSignal.timeout`, which runs on Deno's own timers: the
 * client's I/O timers (connect and command timeouts, the re-authentication
 * timer) on Deno. In Deno 2.9 the global `setTimeout` is Node's, and its
 * first call loads `node:timers`. Cancelling removes the listener (the
 * signal then no longer keeps the process alive, and no longer holds the
 * callback); the signal itself is dropped when its step ends.
 *
 * - Saves: Deno 2.9.6: 5.8 ms. (Deno only: undefined elsewhere.)
 * - Can go when: Deno's global `setTimeout` no longer loads `node:timers` on
 *   its first call. The plain call is an unref'd `setTimeout`, as on the
 *   other runtimes.
 */
export class SignalTimer {
  #callback: (() => void) | undefined;
  #signal: AbortSignal | undefined;
  #remaining = 0;

  /**
   * Arms the timer.
   *
   * @param callback What to run.
   * @param ms The delay.
   */
  constructor(callback: () => void, ms: number) {
    this.#callback = callback;
    this.#arm(Math.max(0, ms));
  }

  /** Cancels the timer; cancelling a fired or cancelled timer does nothing. */
  cancel(): void {
    this.#callback = undefined;
    this.#signal?.removeEventListener("abort", this.#fire);
    this.#signal = undefined;
  }

  #arm(ms: number): void {
    const step = Math.min(ms, SIGNAL_STEP_MS);
    this.#remaining = ms - step;
    this.#signal = AbortSignal.timeout(step);
    this.#signal.addEventListener("abort", this.#fire, { once: true });
  }

  #fire = (): void => {
    this.#signal = undefined;
    if (this.#callback === undefined) return;
    if (this.#remaining > 0) {
      this.#arm(this.#remaining);
      return;
    }
    const callback = this.#callback;
    this.#callback = undefined;
    callback();
  };
}

const onDeno = typeof (globalThis as { Deno?: { version?: { deno?: unknown } } }).Deno?.version
      ?.deno === "string" && typeof AbortSignal.timeout === "function";

/**
 * Starts a {@linkcode SignalTimer} on Deno; undefined on other runtimes,
 * whose callers use an unref'd `setTimeout`.
 */
export const signalTimeout: ((callback: () => void, ms: number) => SignalTimer) | undefined = onDeno
  ? (callback, ms) => new SignalTimer(callback, ms)
  : undefined;

// ---------------------------------------------------------------- decoder warm-up

/**
 * Frames shaped like the replies a new connection reads first: a `HELLO 3`
 * map (bulk strings, integers, an empty array), a bulk string, a null and a
 * simple string.
 */
export const WARM_UP_FRAMES =
  "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n" +
  "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n" +
  "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" +
  "$5\r\nvalue\r\n_\r\n+OK\r\n";

let decoderWarmed = false;

/** The part of the RESP decoder that {@linkcode warmUpDecoder} runs. */
export interface WarmUpDecoder {
  /** Appends bytes. */
  push(bytes: Uint8Array): void;
  /** Reads the next complete frame, or undefined. */
  read(): unknown;
}

/**
 * Decodes {@linkcode WARM_UP_FRAMES} once per process with a decoder from
 * `create` (later calls do nothing), so that V8 compiles the decoder's
 * common paths now.
 *
 * V8 compiles a function the first time it runs: decoding a process's first
 * `HELLO` reply costs about 1 ms of compilation, more than the decoding
 * itself, and it comes after the network wait, on the path to the first
 * reply. A new connection calls this while its socket is still opening,
 * when the process waits anyway, so the real reply finds the code compiled.
 *
 * - Saves: Deno 2.9.6: 1.3 ms. Node.js 20.20.2: nothing measurable (-0.2
 *   ms, within noise).
 * - Can go when: the bench shows no gain on Deno either, as on Node.js 20
 *   already (a runtime that caches or defers this compilation). The plain
 *   call is none.
 *
 * @param create Makes a fresh decoder (the client's `RespDecoder`).
 */
export function warmUpDecoder(create: () => WarmUpDecoder): void {
  if (decoderWarmed) return;
  decoderWarmed = true;
  const bytes = new Uint8Array(WARM_UP_FRAMES.length);
  for (let i = 0; i < WARM_UP_FRAMES.length; i++) bytes[i] = WARM_UP_FRAMES.charCodeAt(i);
  const decoder = create();
  decoder.push(bytes);
  while (decoder.read() !== undefined) {
    // Each frame decoded is code compiled.
  }
}
