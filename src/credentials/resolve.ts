/**
 * Resolving a {@linkcode CredentialsInput} to checked keys.
 *
 * @module
 */
import { CredentialsError } from "../errors.ts";
import type { AwsCredentials, CredentialsInput } from "./types.ts";

/**
 * Resolves credentials given as keys or as a provider, and checks their shape.
 *
 * @param input Keys, or a provider function.
 * @returns The keys.
 * @throws {TypeError} When `input` is neither, or the keys are malformed (the message never shows a secret).
 * @throws {CredentialsError} When the provider fails: its own `CredentialsError`, or one whose `cause` is its error.
 */
export async function resolveCredentials(input: CredentialsInput): Promise<AwsCredentials> {
  let credentials: unknown = input;
  if (typeof input === "function") {
    try {
      credentials = await input();
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
