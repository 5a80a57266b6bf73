/**
 * How the credentials sources send their few HTTP requests (STS, SSO,
 * container credentials, instance metadata): one request, its answer read
 * whole up to a byte limit, redirects never followed. `fetch` everywhere
 * except on Node.js, whose first `fetch` (or `Response`) loads undici: about
 * 30 ms of cold start, and more to exit, measured against `node:http` (see
 * `bench/README.md`, "Cold start per credentials source"). There `node:http`
 * and `node:https` are used, taken from `process.getBuiltinModule`, so that
 * nothing imports a Node built-in.
 *
 * Internal: not exported from the package.
 *
 * @module
 */

import { nodeBuiltin } from "../_node_builtin.ts";

/** One request. */
export interface HttpRequest {
  /** The method. */
  readonly method: "GET" | "PUT" | "POST";
  /** The request headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, if any. */
  readonly body?: string | undefined;
  /** Aborts the request, or the reading of its answer. */
  readonly signal: AbortSignal;
  /** The most bytes of body read; past it the request rejects with {@linkcode AnswerTooLargeError}. */
  readonly maxBytes: number;
}

/** An answer, read whole. */
export interface HttpAnswer {
  /** The HTTP status. */
  readonly status: number;
  /** The body, decoded as UTF-8. */
  readonly text: string;
  /**
   * A header's value.
   *
   * @param name Its name, lower case.
   * @returns Its value, or `null` when it is absent.
   */
  header(name: string): string | null;
}

/** Sends one request; rejects when it cannot be sent, is aborted, or its answer is too large. */
export type HttpSend = (url: URL, request: HttpRequest) => Promise<HttpAnswer>;

/** An answer whose body is longer than the request's `maxBytes`; the rest was never read. */
export class AnswerTooLargeError extends Error {
  /** The answer's HTTP status. */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @param status The answer's HTTP status.
   * @param maxBytes The limit it passed.
   */
  constructor(status: number, maxBytes: number) {
    super(`its answer (HTTP ${status}) is larger than ${maxBytes} bytes`);
    this.name = "AnswerTooLargeError";
    this.status = status;
  }
}

/**
 * Sends requests with a `fetch` function: the runtime's (looked up at each
 * call, so a replaced global is used), or one a test or a proxy passes.
 *
 * @param fetcher The `fetch` to call.
 * @returns The sender.
 *
 * @example
 * ```ts
 * import { fetchSend } from "./_http.ts";
 *
 * const send = fetchSend(() => Promise.resolve(new Response("ok", { status: 200 })));
 * const answer = await send(new URL("http://127.0.0.1/"), {
 *   method: "GET",
 *   headers: {},
 *   signal: new AbortController().signal,
 *   maxBytes: 1024,
 * });
 * console.log(answer.status, answer.text); // 200 "ok"
 * ```
 */
export function fetchSend(
  fetcher: FetchFunction = (input, init) => fetch(input, init),
): HttpSend {
  return async (url, request) => {
    const response = await fetcher(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: "manual",
      signal: request.signal,
    });
    const text = await readBoundedBody(response, request.maxBytes);
    if (text === undefined) throw new AnswerTooLargeError(response.status, request.maxBytes);
    return { status: response.status, text, header: (name) => response.headers.get(name) };
  };
}

/**
 * Reads a response's body as UTF-8, stopping as soon as it passes `limit`
 * bytes: the rest is cancelled, never read.
 *
 * @param response The response.
 * @param limit The most bytes to read.
 * @returns The text, or `undefined` when the body is longer than `limit`.
 */
async function readBoundedBody(response: Response, limit: number): Promise<string | undefined> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return decode(chunks, size);
}

function decode(chunks: readonly Uint8Array[], size: number): string {
  let bytes = chunks[0] ?? new Uint8Array(0);
  if (chunks.length > 1) {
    bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Sends requests with Node's `node:http` and `node:https`.
 *
 * @param http The `node:http` module.
 * @param https The `node:https` module.
 * @returns The sender.
 *
 * @example
 * ```ts
 * import * as http from "node:http";
 * import * as https from "node:https";
 * import { type NodeHttp, nodeSend } from "./_http.ts";
 *
 * const send = nodeSend(http as unknown as NodeHttp, https as unknown as NodeHttp);
 * console.log(typeof send); // "function"
 * ```
 */
export function nodeSend(http: NodeHttp, https: NodeHttp): HttpSend {
  return (url, request) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const headers = { ...request.headers };
      if (request.body !== undefined) {
        headers["content-length"] = String(new TextEncoder().encode(request.body).length);
      }
      const sent = (url.protocol === "https:" ? https : http).request(url, {
        method: request.method,
        headers,
        signal: request.signal,
      }, (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Uint8Array[] = [];
        let size = 0;
        response.on("data", (chunk: Uint8Array) => {
          size += chunk.length;
          if (size > request.maxBytes) {
            response.destroy();
            reject(new AnswerTooLargeError(status, request.maxBytes));
          } else {
            chunks.push(chunk);
          }
        });
        response.on("error", reject);
        response.on("end", () => {
          const text = decode(chunks, size);
          resolve({
            status,
            text,
            header: (name) => {
              const value = response.headers[name];
              return typeof value === "string" ? value : value?.join(", ") ?? null;
            },
          });
        });
      });
      sent.on("error", reject);
      sent.end(request.body);
    });
}

/** The part of `node:http` / `node:https` used here, declared structurally. */
export interface NodeHttp {
  /** Starts a request; `onResponse` gets the answer's head. */
  request(
    url: URL,
    options: { method: string; headers: Record<string, string>; signal: AbortSignal },
    onResponse: (response: NodeIncomingMessage) => void,
  ): NodeClientRequest;
}

/** The part of Node's `ClientRequest` used here. */
export interface NodeClientRequest {
  /** Listens for a failed request (refused, reset, aborted). */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Sends the body, if any, and ends the request. */
  end(body?: string): unknown;
}

/** The part of Node's `IncomingMessage` used here. */
export interface NodeIncomingMessage {
  /** The HTTP status. */
  statusCode?: number;
  /** The headers, lower-cased. */
  headers: Record<string, string | string[] | undefined>;
  /** Listens for a body chunk. */
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  /** Listens for the end of the body. */
  on(event: "end", listener: () => void): unknown;
  /** Listens for a failure while reading the body. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Stops reading and closes the connection. */
  destroy(): void;
}

/** A `fetch` a test (or a proxy) passes to a source instead of the runtime's way. */
export type FetchFunction = (input: URL, init: RequestInit) => Promise<Response>;

/**
 * How a source sends its requests: through the `fetch` it was given, else the
 * runtime's way ({@linkcode runtimeSend}).
 *
 * @param fetcher The source's `fetch` option.
 * @returns The sender.
 *
 * @example
 * ```ts
 * import { senderFor } from "./_http.ts";
 *
 * console.log(typeof senderFor(undefined)); // "function"
 * ```
 */
export function senderFor(fetcher: FetchFunction | undefined): HttpSend {
  return fetcher === undefined ? runtimeSend() : fetchSend(fetcher);
}

let chosen: HttpSend | undefined;

/**
 * The runtime's sender: `node:http(s)` on Node.js, else `fetch` (chosen once).
 *
 * @returns The sender.
 *
 * @example
 * ```ts
 * import { runtimeSend } from "./_http.ts";
 *
 * console.log(typeof runtimeSend()); // "function"
 * ```
 */
export function runtimeSend(): HttpSend {
  chosen ??= chooseSend();
  return chosen;
}

function chooseSend(): HttpSend {
  const runtime = globalThis as { Bun?: unknown; navigator?: { userAgent?: unknown } };
  // Bun's and Workers' own fetch are the fast path there; Deno gets no Node built-in.
  if (runtime.Bun !== undefined || runtime.navigator?.userAgent === "Cloudflare-Workers") {
    return fetchSend();
  }
  const http = nodeBuiltin<NodeHttp>("node:http");
  const https = nodeBuiltin<NodeHttp>("node:https");
  return http && https ? nodeSend(http, https) : fetchSend();
}
