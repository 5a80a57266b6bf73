/**
 * How the credentials sources send HTTP requests (`src/credentials/_http.ts`):
 * both senders, `fetch` and Node's `node:http` (the one Node.js uses, to spare
 * loading undici), against a real server on loopback: the request as sent,
 * the answer as read, the byte limit, aborting, and redirects left alone.
 */

import assert from "node:assert/strict";
import * as nodeHttp from "node:http";
import * as nodeHttps from "node:https";
import {
  AnswerTooLargeError,
  fetchSend,
  type HttpSend,
  type NodeHttp,
  nodeSend,
} from "../src/credentials/_http.ts";

const SENDERS: [string, HttpSend][] = [
  ["fetch", fetchSend()],
  ["node:http", nodeSend(nodeHttp as unknown as NodeHttp, nodeHttps as unknown as NodeHttp)],
];

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

/** A server on loopback that records each request and answers with `answer`. */
function serve(answer: (request: Request) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      path: url.pathname + url.search,
      headers: request.headers,
      body: await request.text(),
    });
    return answer(request);
  });
  return {
    url: (path: string) => new URL(path, `http://127.0.0.1:${server.addr.port}`),
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const base = () => ({ signal: new AbortController().signal, maxBytes: 1024 });

for (const [name, send] of SENDERS) {
  Deno.test(`${name}: sends the method, headers and body, and reads status, body and headers`, async () => {
    await using server = serve(() =>
      new Response("é answer", { status: 201, headers: { "x-amzn-errortype": "Kind" } })
    );
    const answer = await send(server.url("/path?q=1"), {
      ...base(),
      method: "PUT",
      headers: { "x-token": "abc", "content-type": "text/plain" },
      body: "ünïcode body",
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.text, "é answer");
    assert.equal(answer.header("x-amzn-errortype"), "Kind");
    assert.equal(answer.header("absent"), null);
    const [request] = server.seen;
    assert.equal(request!.method, "PUT");
    assert.equal(request!.path, "/path?q=1");
    assert.equal(request!.headers.get("x-token"), "abc");
    assert.equal(request!.body, "ünïcode body");
  });

  Deno.test(`${name}: a GET sends no body; an empty answer reads as ""`, async () => {
    await using server = serve(() => new Response(null, { status: 404 }));
    const answer = await send(server.url("/"), { ...base(), method: "GET", headers: {} });
    assert.equal(answer.status, 404);
    assert.equal(answer.text, "");
    assert.equal(server.seen[0]!.body, "");
  });

  Deno.test(`${name}: an answer longer than maxBytes rejects with AnswerTooLargeError`, async () => {
    await using server = serve(() => new Response("x".repeat(5000)));
    await assert.rejects(
      send(server.url("/"), { ...base(), method: "GET", headers: {} }),
      (error: Error) => {
        assert.ok(error instanceof AnswerTooLargeError);
        assert.equal(error.message, "its answer (HTTP 200) is larger than 1024 bytes");
        return true;
      },
    );
  });

  Deno.test(`${name}: a redirect is answered as it is, not followed`, async () => {
    await using server = serve((request) =>
      new URL(request.url).pathname === "/elsewhere"
        ? new Response("followed")
        : new Response(null, { status: 307, headers: { location: "/elsewhere" } })
    );
    const answer = await send(server.url("/"), {
      ...base(),
      method: "GET",
      headers: { authorization: "secret" },
    });
    assert.equal(answer.status, 307);
    assert.equal(server.seen.length, 1, "the Authorization header went nowhere else");
  });

  Deno.test(`${name}: aborting the signal rejects a request that gets no answer`, async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    await using server = serve(async () => {
      await held;
      return new Response("late");
    });
    const controller = new AbortController();
    const pending = send(server.url("/"), {
      method: "GET",
      headers: {},
      signal: controller.signal,
      maxBytes: 1024,
    });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending);
    release();
  });

  Deno.test(`${name}: a refused connection rejects`, async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    await assert.rejects(
      send(new URL(`http://127.0.0.1:${port}/`), { ...base(), method: "GET", headers: {} }),
    );
  });
}
