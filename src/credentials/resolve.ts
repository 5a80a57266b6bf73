/**
 * Resolving a {@linkcode CredentialsInput} to checked keys.
 *
 * @module
 */
import { systemTimers, type Timers, withTimeout } from "../client/timers.ts";
import { CredentialsError } from "../errors.ts";
import type { AwsCredentials, CredentialsInput } from "./types.ts";

/** How long a credentials provider may take to answer by default, in milliseconds. */
export const DEFAULT_CREDENTIALS_TIMEOUT = 5000;

/** How a {@linkcode resolveCredentials} call waits for a provider. */
export interface ResolveCredentialsOptions {
  /**
   * How long the provider may take to answer, in milliseconds; `Infinity` waits as long as it takes.
   *
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * The timers that bound the wait.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
}

/**
 * Resolves credentials given as keys or as a provider, and checks their shape.
 * A provider that throws, or returns keys instead of a promise, is handled
 * like one that rejects or resolves.
 *
 * @param input Keys, or a provider function.
 * @param options How long to wait for the provider.
 * @returns The keys.
 * @throws {TypeError} When `input` is neither, or the keys are malformed (the message never shows a secret).
 * @throws {CredentialsError} When the provider fails: its own `CredentialsError`, or one whose
 * `cause` is its error; or when it does not answer within `timeout`.
 *
 * @example
 * ```ts
 * import { resolveCredentials } from "./resolve.ts";
 *
 * const keys = await resolveCredentials(
 *   () => Promise.resolve({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" }),
 *   { timeout: 5000 },
 * );
 * console.log(keys.accessKeyId); // "AKIDEXAMPLE"
 * ```
 */
export async function resolveCredentials(
  input: CredentialsInput,
  options?: ResolveCredentialsOptions,
): Promise<AwsCredentials> {
  let credentials: unknown = input;
  if (typeof input === "function") {
    const timeout = options?.timeout ?? Infinity;
    try {
      credentials = await answerWithin(
        input,
        timeout,
        options?.timers ?? systemTimers,
        () => noAnswer(timeout),
      );
    } catch (error) {
      if (error instanceof CredentialsError) throw error;
      throw new CredentialsError(
        `Cannot resolve AWS credentials: the credentials provider failed: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }
  return checkCredentials(credentials, typeof input === "function");
}

/**
 * Checks that a value is usable AWS keys.
 *
 * @param value The value to check.
 * @param fromProvider Whether a provider returned it (for the message).
 * @returns The keys.
 * @throws {TypeError} When it is not.
 */
export function checkCredentials(value: unknown, fromProvider = false): AwsCredentials {
  const where = fromProvider ? "the credentials provider returned" : "'credentials' is";
  if (value === null || typeof value !== "object") {
    throw new TypeError(
      `Cannot sign token: ${where} not an object with 'accessKeyId' and 'secretAccessKey' ` +
        `(pass keys or a provider function such as fromEnv())`,
    );
  }
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = value as Record<
    string,
    unknown
  >;
  if (typeof accessKeyId !== "string" || accessKeyId === "") {
    throw new TypeError(`Cannot sign token: ${where} no 'accessKeyId' string`);
  }
  if (typeof secretAccessKey !== "string" || secretAccessKey === "") {
    throw new TypeError(`Cannot sign token: ${where} no 'secretAccessKey' string`);
  }
  if (sessionToken !== undefined && sessionToken !== null && typeof sessionToken !== "string") {
    throw new TypeError(`Cannot sign token: ${where} a 'sessionToken' that is not a string`);
  }
  if (
    expiration !== undefined && expiration !== null &&
    !(expiration instanceof Date && !Number.isNaN(expiration.getTime()))
  ) {
    throw new TypeError(`Cannot sign token: ${where} an 'expiration' that is not a valid Date`);
  }
  return value as AwsCredentials;
}

/**
 * The message of an unknown thrown value, for wrapping it in a sentence.
 *
 * @param error What was thrown.
 * @returns Its message.
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error of a credentials provider that did not answer in time.
 *
 * @param ms The bound it missed.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { noAnswer } from "./resolve.ts";
 *
 * console.log(noAnswer(5000).message);
 * // "Cannot resolve AWS credentials: the credentials provider did not answer within 5000 ms"
 * ```
 */
export function noAnswer(ms: number): CredentialsError {
  return new CredentialsError(
    `Cannot resolve AWS credentials: the credentials provider did not answer within ${ms} ms`,
  );
}

/**
 * Calls `call` (a credentials provider, a token callback: code the module does
 * not control) and waits for its answer at most `ms` milliseconds, through
 * {@linkcode withTimeout}. A call that throws becomes a rejection, and one
 * that returns a plain value a resolution.
 *
 * @param call What to call.
 * @param ms The bound; `Infinity` arms no timer.
 * @param timers The timers to use.
 * @param timeout Makes the error to reject with when time runs out.
 * @returns What `call` answers.
 *
 * @example
 * ```ts
 * import { answerWithin } from "./resolve.ts";
 * import { systemTimers } from "../client/timers.ts";
 *
 * const answer = await answerWithin(() => "a token", 1000, systemTimers, () => new Error("too slow"));
 * console.log(answer); // "a token"
 * ```
 */
export function answerWithin<T>(
  call: () => T | PromiseLike<T>,
  ms: number,
  timers: Timers,
  timeout: () => Error,
): Promise<T> {
  let work: Promise<T>;
  try {
    work = Promise.resolve(call());
  } catch (error) {
    work = Promise.reject(error);
  }
  return withTimeout(work, ms, timers, timeout);
}
