/**
 * What the container-credentials and EC2 instance-metadata sources share:
 * one bounded HTTP request to a metadata endpoint (through `_http.ts`,
 * aborted at its bound, body capped), the credentials JSON both endpoints answer, and
 * reading a file with the runtime's own API (no `node:*` import).
 *
 * Internal: not exported from the package.
 *
 * @module
 */
import { describe, MAX_TIMER_MS } from "../_checks.ts";
import { type Timers, withTimeout } from "../client/timers.ts";
import { AnswerTooLargeError, type HttpSend } from "./_http.ts";
import type { AwsCredentials } from "./types.ts";

/** The largest answer read from a metadata endpoint; real ones are under 2 KiB. */
export const MAX_METADATA_BYTES = 64 * 1024;

/** An endpoint's answer: its status and body text. */
export interface MetadataAnswer {
  /** The HTTP status. */
  readonly status: number;
  /** The body, decoded as UTF-8. */
  readonly text: string;
}

/** How {@linkcode requestMetadata} sends one request. */
export interface MetadataRequest {
  /** `GET`, or `PUT` for the IMDSv2 token. */
  readonly method: "GET" | "PUT";
  /** The request headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** How to send it. */
  readonly send: HttpSend;
  /** The bound on the whole exchange (connect, headers and body), in ms. */
  readonly timeout: number;
  /** The timers that bound it. */
  readonly timers: Timers;
}

/**
 * A request that got no usable answer: no connection, no answer in time, or
 * an answer over {@linkcode MAX_METADATA_BYTES}. The message names neither
 * the URL's path nor a header (the path of an ECS relative URI is a capability).
 */
export class MetadataRequestError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened, in words safe for a message.
   * @param options The underlying failure.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MetadataRequestError";
  }
}

/**
 * Sends one request and reads its answer, within `timeout`:
 * past it the request is aborted and the call rejects. Redirects are not
 * followed (an `Authorization` header never leaves for another place).
 *
 * @param url Where to send it.
 * @param request The method, headers, sender, bound and timers.
 * @returns The status and body.
 * @throws {MetadataRequestError} When no connection is made, no whole answer comes in time, or it is too large.
 */
export async function requestMetadata(url: URL, request: MetadataRequest): Promise<MetadataAnswer> {
  const controller = new AbortController();
  const work = (async (): Promise<MetadataAnswer> => {
    try {
      const answer = await request.send(url, {
        method: request.method,
        headers: request.headers,
        signal: controller.signal,
        maxBytes: MAX_METADATA_BYTES,
      });
      return { status: answer.status, text: answer.text };
    } catch (error) {
      if (error instanceof AnswerTooLargeError) {
        throw new MetadataRequestError(`its answer is larger than ${MAX_METADATA_BYTES} bytes`);
      }
      throw new MetadataRequestError("cannot connect", { cause: error });
    }
  })();
  try {
    return await withTimeout(
      work,
      request.timeout,
      request.timers,
      () => new MetadataRequestError(`no answer within ${request.timeout} ms`),
    );
  } catch (error) {
    controller.abort();
    throw error;
  }
}

const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Reads the credentials JSON that ECS, EKS Pod Identity and EC2 instance
 * metadata answer (`AccessKeyId`, `SecretAccessKey`, `Token` and
 * `Expiration` as strings, the last in RFC 3339), as the AWS SDKs check it.
 *
 * @param text The answer's body.
 * @returns The credentials, with their expiration.
 * @throws {SyntaxError} When it is not such JSON; the message names what is
 * wrong and never shows a value but the expiration's.
 */
export function parseCredentialsJson(text: string): AwsCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SyntaxError("its answer is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new SyntaxError("its answer is not a JSON object");
  }
  const fields = parsed as Record<string, unknown>;
  const missing = ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"].filter((name) =>
    typeof fields[name] !== "string" || fields[name] === ""
  );
  if (missing.length > 0) {
    throw new SyntaxError(
      `its answer lacks ${
        missing.join(", ")
      } (expected AccessKeyId, SecretAccessKey, Token and Expiration strings)`,
    );
  }
  const expirationText = fields.Expiration as string;
  const expiration = new Date(expirationText);
  if (!RFC_3339.test(expirationText) || Number.isNaN(expiration.getTime())) {
    throw new SyntaxError(
      `its answer's Expiration ${describe(expirationText)} is not an RFC 3339 date`,
    );
  }
  return {
    accessKeyId: fields.AccessKeyId as string,
    secretAccessKey: fields.SecretAccessKey as string,
    sessionToken: fields.Token as string,
    expiration,
  };
}

/**
 * The `Code` and `Message` of an error answer (`{"Code": …, "Message": …}`,
 * any case), for a message: control characters dropped, at most 200
 * characters, and `hide` (the request's own secret) never shown.
 *
 * @param text The answer's body.
 * @param hide A secret the request carried, which an endpoint could echo.
 * @returns `: Code: Message`, or an empty string when the body has neither.
 */
export function errorDetail(text: string, hide?: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "";
  }
  if (parsed === null || typeof parsed !== "object") return "";
  const fields = parsed as Record<string, unknown>;
  const pick = (name: string) => {
    const value = fields[name] ?? fields[name.toLowerCase()];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const detail = [pick("Code"), pick("Message")].filter(Boolean).join(": ");
  if (detail === "") return "";
  let shown = detail.replace(/\p{Cc}+/gu, " ");
  if (hide) shown = shown.replaceAll(hide, "(the request's token)");
  return `: ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`;
}

/**
 * Parses a URL (Node.js 20 has no `URL.parse`).
 *
 * @param text The URL.
 * @returns It, or `undefined` when malformed.
 */
export function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * Checks a request bound: a positive number of ms up to the longest timer
 * (a metadata request is never unbounded).
 *
 * @param action What the caller was doing.
 * @param value The `timeout` option.
 * @param fallback The default.
 * @returns The bound.
 * @throws {TypeError} When it is given and not a number.
 * @throws {RangeError} When it is out of range.
 */
export function requestTimeoutOption(action: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0 && value <= MAX_TIMER_MS)) {
    const Failure = typeof value === "number" ? RangeError : TypeError;
    throw new Failure(
      `${action}: 'timeout' must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${
        describe(value)
      }`,
    );
  }
  return value;
}
