/**
 * Keeping tokens out of what ioredis shows: its errors (which carry the
 * failed command and its arguments) and its objects' inspect output.
 *
 * @module
 */

/**
 * Takes IAM auth tokens out of the `command` ioredis attaches to an error
 * (`{ name, args }`), in place, and returns the error. A cluster's errors
 * carry the node's error as `lastNodeError`, and errors their `cause`: those
 * are cleaned too.
 *
 * @param error What ioredis threw or emitted.
 * @returns The same value.
 */
export function redacted<T>(error: T): T {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const args = (current as { command?: { args?: unknown } }).command?.args;
    if (Array.isArray(args)) {
      for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        const text = typeof arg === "string" ? arg : arg instanceof Uint8Array ? latin1(arg) : "";
        if (text.includes("X-Amz-")) args[i] = "[IAM auth token]";
      }
    }
    const next = current as { lastNodeError?: unknown; cause?: unknown };
    current = next.lastNodeError ?? next.cause;
  }
  return error;
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/**
 * Turns `target[key]` into an accessor over the same value: ioredis reads and
 * writes it as before, but `console.log`, `Deno.inspect` and `util.inspect`
 * (even with hidden properties) show `[Getter/Setter]`, never the token, and
 * `JSON.stringify` and object spreads leave it out.
 *
 * @param target The object (a client's options, its handshake state).
 * @param key The property.
 */
export function conceal(target: object, key: string): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor?.get !== undefined) return;
  let value = descriptor?.value;
  Object.defineProperty(target, key, {
    configurable: true,
    enumerable: false,
    get: () => value,
    set: (next: unknown) => {
      value = next;
    },
  });
}

/**
 * Wraps `target.emit` so that every `error` event's error is redacted (and
 * seen by `onError`) before any listener gets it.
 *
 * @param target An ioredis client or cluster.
 * @param onError Sees each error emitted, after redaction.
 * @returns Restores the original `emit`.
 */
export function redactEmittedErrors(
  target: { emit?: ((event: string, ...args: unknown[]) => unknown) | undefined },
  onError?: (error: unknown) => void,
): () => void {
  const emit = target.emit;
  if (typeof emit !== "function") return () => {};
  const wrapped = function (this: unknown, event: string, ...args: unknown[]) {
    if (event === "error" || event === "node error") {
      redacted(args[0]);
      onError?.(args[0]);
    }
    return emit.call(this, event, ...args);
  };
  target.emit = wrapped;
  return () => {
    if (target.emit === wrapped) target.emit = emit;
  };
}
