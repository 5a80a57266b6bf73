/**
 * The module's error classes. Input mistakes are reported with the built-in
 * `TypeError` and `RangeError`; the classes here cover failures a caller may
 * want to tell apart at run time. Every class sets `name` and keeps `cause`,
 * and no message ever contains a token, a secret key or a session token.
 *
 * @module
 */

/**
 * Credentials could not be resolved, or an IAM auth token could not be made
 * from them.
 *
 * @example Telling a credentials failure apart
 * ```ts
 * import { CredentialsError } from "./errors.ts";
 *
 * const error = new CredentialsError("Cannot resolve AWS credentials: no source is configured");
 * console.log(error instanceof CredentialsError, error.name); // true "CredentialsError"
 * ```
 */
export class CredentialsError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed, in a sentence.
   * @param options `cause`: the underlying failure.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CredentialsError";
  }
}

/**
 * The server refused to authenticate the connection (`WRONGPASS` or
 * `NOAUTH`), even with a freshly minted token. The message lists the likely
 * causes; `cause` holds the server's reply.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "./errors.ts";
 *
 * const error = new AuthenticationError("Cannot authenticate as 'iam-user-01'");
 * console.log(error.name); // "AuthenticationError"
 * ```
 */
export class AuthenticationError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed and the likely causes.
   * @param options `cause`: the server's reply.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthenticationError";
  }
}

/**
 * An error reply from the server (`-ERR …`, `-WRONGTYPE …`, `-MOVED …`).
 * `code` is the first word of the reply, `message` the whole reply text.
 *
 * @example
 * ```ts
 * import { ReplyError } from "./errors.ts";
 *
 * const error = new ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value");
 * console.log(error.code); // "WRONGTYPE"
 * ```
 */
export class ReplyError extends Error {
  /** The error's code: the first word of the reply, such as `ERR` or `WRONGPASS`. */
  readonly code: string;

  /**
   * Creates the error from the reply's text, without the leading `-`.
   *
   * @param reply The error reply's text, such as `ERR unknown command`.
   * @param options `cause`, if any.
   */
  constructor(reply: string, options?: ErrorOptions) {
    super(reply, options);
    this.name = "ReplyError";
    const space = reply.indexOf(" ");
    this.code = space === -1 ? reply : reply.slice(0, space);
  }
}

/**
 * The byte stream broke the RESP protocol or one of the decoder's limits
 * (bulk length, nesting depth, buffered bytes). The connection it came from
 * is closed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 *
 * const error = new ProtocolError("Cannot decode reply: unknown type byte 0x3f");
 * console.log(error.name); // "ProtocolError"
 * ```
 */
export class ProtocolError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was wrong with the stream.
   * @param options `cause`, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/**
 * The connection closed (or could not be opened) before the command got its
 * reply. The command may or may not have run on the server; it was not resent.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "./errors.ts";
 *
 * const error = new ConnectionClosedError("Connection to 127.0.0.1:6379 closed");
 * console.log(error.name); // "ConnectionClosedError"
 * ```
 */
export class ConnectionClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param message Which connection closed, and why when known.
   * @param options `cause`: the socket error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionClosedError";
  }
}

/**
 * A command or a connection attempt took longer than its configured timeout.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 *
 * const error = new TimeoutError("Connect to 127.0.0.1:6379 timed out after 10000 ms");
 * console.log(error.name); // "TimeoutError"
 * ```
 */
export class TimeoutError extends Error {
  /**
   * Creates the error.
   *
   * @param message What timed out, and after how long.
   * @param options `cause`, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * Hands an error to the runtime's uncaught-error path (`reportError`, or a
 * throw from a microtask where there is none), without throwing into the
 * caller: how the module surfaces a background failure that has no hook to
 * go to, as the platform does for an exception thrown by an event listener.
 * The library itself never logs.
 *
 * @param error The failure.
 *
 * @example
 * ```ts
 * import { raiseUncaught } from "./errors.ts";
 *
 * globalThis.addEventListener("error", (event) => event.preventDefault(), { once: true });
 * raiseUncaught(new Error("a subscription listener threw"));
 * ```
 */
export function raiseUncaught(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === "function") {
    report(error);
  } else {
    queueMicrotask(() => {
      throw error;
    });
  }
}
