/**
 * The few runtime services a benchmark program needs, on Deno and on Node.js
 * (the programs are also bundled for Node 20): environment variables, the
 * clock, printing one JSON line, and exiting.
 *
 * Kept tiny on purpose: every cold-start program imports it, the floor too.
 *
 * @module
 */

interface NodeProcess {
  env: Record<string, string | undefined>;
  exit(code?: number): never;
  stdout: { write(text: string, done?: () => void): boolean };
}

const deno = (globalThis as { Deno?: typeof Deno }).Deno;
// Only where there is no Deno: in Deno, merely reading `globalThis.process`
// loads the Node compatibility layer (about 20 ms).
const nodeProcess = deno ? undefined : (globalThis as { process?: NodeProcess }).process;

/**
 * Reads a required environment variable.
 *
 * @param name The variable.
 * @returns Its value.
 * @throws {Error} When it is not set.
 */
export function env(name: string): string {
  const value = deno ? deno.env.get(name) : nodeProcess?.env[name];
  if (value === undefined) throw new Error(`Benchmark program: ${name} is not set`);
  return value;
}

/**
 * Reads an optional environment variable.
 *
 * @param name The variable.
 * @returns Its value, or undefined.
 */
export function optionalEnv(name: string): string | undefined {
  return deno ? deno.env.get(name) : nodeProcess?.env[name];
}

/**
 * The wall clock in milliseconds since the epoch, with sub-millisecond
 * resolution, comparable across processes on this machine.
 *
 * @returns Milliseconds since the epoch.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Prints one JSON line on stdout, with the process' time origin added
 * (`origin`, ms since the epoch), then exits at once (no graceful close: a
 * serverless invocation that got its reply does not close either).
 *
 * @param result What to report.
 */
export function reportAndExit(result: Record<string, unknown>): never {
  const line = `${JSON.stringify({ ...result, origin: performance.timeOrigin })}\n`;
  if (deno) {
    deno.stdout.writeSync(new TextEncoder().encode(line));
    deno.exit(0);
  }
  nodeProcess!.stdout.write(line, () => nodeProcess!.exit(0));
  // Node flushes stdout asynchronously; keep the event loop from ending first.
  return new Promise<never>(() => {}) as never;
}

/**
 * Prints one JSON line on stdout and waits until it is written.
 *
 * @param result What to report.
 * @returns Resolves when written.
 */
export function report(result: unknown): Promise<void> {
  const line = `${JSON.stringify(result)}\n`;
  if (deno) {
    deno.stdout.writeSync(new TextEncoder().encode(line));
    return Promise.resolve();
  }
  return new Promise((resolve) => nodeProcess!.stdout.write(line, () => resolve()));
}
