/**
 * A fault-injecting HTTP proxy in front of the emulator's STS, for the fault
 * suite: point `fromWebIdentity({ stsEndpoint })` at it, then switch it
 * between passing requests through, refusing connections, answering late,
 * never answering, and answering AWS's `Throttling` error.
 *
 * @module
 */

/** What the proxy does with the next requests. */
export type StsFault =
  /** Forward every request to the emulator's STS. */
  | { readonly mode: "pass" }
  /** Stop listening: connections are refused (`ECONNREFUSED`), as when STS is unreachable. */
  | { readonly mode: "refuse" }
  /** Forward after `ms` milliseconds, as a slow STS does. */
  | { readonly mode: "delay"; readonly ms: number }
  /** Never answer; hung requests stay hung until the proxy closes, whatever the mode becomes. */
  | { readonly mode: "hang" }
  /** Answer `400 Throttling` in AWS's `ErrorResponse` XML shape. */
  | { readonly mode: "throttle" };

/** A running proxy. Dispose it to stop it and release hung requests. */
export interface StsFaultProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the `stsEndpoint` to use. */
  readonly endpoint: string;
  /** Requests received so far, in any mode but `refuse`. */
  readonly requests: number;
  /** Requests forwarded to the emulator's STS and answered by it. */
  readonly forwarded: number;
  /** Requests waiting in `hang` or `delay` mode right now. */
  readonly waiting: number;
  /** The current fault. */
  readonly fault: StsFault;
  /**
   * Switches the fault; resolves once the listener is stopped or started as needed.
   *
   * @param fault What to do with the next requests.
   */
  set(fault: StsFault): Promise<void>;
  /** Stops listening and answers every waiting request with `503`. */
  close(): Promise<void>;
}

/** AWS's answer when a caller exceeds the STS request rate. */
export const THROTTLING_RESPONSE =
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n` +
  `  <Error>\n    <Type>Sender</Type>\n    <Code>Throttling</Code>\n` +
  `    <Message>Rate exceeded</Message>\n  </Error>\n` +
  `  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n`;

const UNAVAILABLE_RESPONSE = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n` +
  `  <Error>\n    <Type>Receiver</Type>\n    <Code>ServiceUnavailable</Code>\n` +
  `    <Message>The proxy was closed</Message>\n  </Error>\n</ErrorResponse>\n`;

/**
 * Starts the proxy on a free loopback port, in `pass` mode.
 *
 * @param upstream The emulator's STS endpoint, such as `emu.sts.endpoint`.
 * @returns The running proxy.
 */
export function startStsFaultProxy(upstream: string): StsFaultProxy {
  let fault: StsFault = { mode: "pass" };
  let requests = 0;
  let forwarded = 0;
  let closed = false;
  /** Releases a waiting request with a 503; each removes itself once settled. */
  const waiting = new Set<() => void>();

  const xml = (status: number, body: string) =>
    new Response(body, { status, headers: { "content-type": "text/xml" } });

  const forward = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.method === "GET" || request.method === "HEAD"
        ? null
        : await request.arrayBuffer(),
    });
    const body = await answer.arrayBuffer();
    forwarded++;
    return new Response(body, {
      status: answer.status,
      headers: { "content-type": answer.headers.get("content-type") ?? "text/xml" },
    });
  };

  /** Waits `ms` (or forever), unless the proxy closes first; returns false when released. */
  const wait = (ms: number | undefined): Promise<boolean> =>
    new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const release = () => {
        clearTimeout(timer);
        waiting.delete(release);
        resolve(false);
      };
      waiting.add(release);
      if (ms !== undefined) {
        timer = setTimeout(() => {
          waiting.delete(release);
          resolve(true);
        }, ms);
      }
    });

  const handler = async (request: Request): Promise<Response> => {
    requests++;
    const current = fault;
    if (current.mode === "throttle") {
      await request.arrayBuffer();
      return xml(400, THROTTLING_RESPONSE);
    }
    if (current.mode === "hang" || current.mode === "delay") {
      const body = await request.arrayBuffer();
      const released = !await wait(current.mode === "delay" ? current.ms : undefined);
      if (released || closed) return xml(503, UNAVAILABLE_RESPONSE);
      return await forward(
        new Request(request.url, { method: "POST", headers: request.headers, body }),
      );
    }
    return await forward(request);
  };

  let port = 0;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  const listen = () => {
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler);
    port = server.addr.port;
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (running === undefined) return;
    for (const release of [...waiting]) release();
    await running.shutdown();
  };
  listen();

  const close = async () => {
    closed = true;
    await stop();
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get forwarded() {
      return forwarded;
    },
    get waiting() {
      return waiting.size;
    },
    get fault() {
      return fault;
    },
    async set(next: StsFault) {
      if (closed) throw new Error("Cannot set a fault: the STS fault proxy is closed");
      fault = next;
      if (next.mode === "refuse") await stop();
      else if (server === undefined) listen();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
