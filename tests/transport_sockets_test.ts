/**
 * The transports against a real `redis-server` listening with TLS: Deno's
 * and Node's (`node:tls`, run here through Deno's Node compatibility; the
 * Node run of `client_runtime_test.ts` covers it natively), and the Workers
 * transport with a stand-in for `cloudflare:sockets`.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import { ConnectionClosedError } from "../src/errors.ts";
import { type CloudflareConnect, createCloudflareTransport } from "../src/transport/cloudflare.ts";
import { defaultTransport } from "../src/transport/default_transport.ts";
import { denoTransport } from "../src/transport/deno.ts";
import { nodeTransport } from "../src/transport/node.ts";
import type { TransportFactory } from "../src/transport/types.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { createTestCertificates, freePort } from "./_helpers/client_tls.ts";

const transports: [string, TransportFactory][] = [
  ["deno", denoTransport],
  ["node", nodeTransport],
];

for (const [name, transport] of transports) {
  Deno.test(`${name} transport: TLS with a private CA, servername, and certificate errors at connect`, async () => {
    await using certs = await createTestCertificates();
    const tlsPort = freePort();
    await using redis = await startRedisServer({ args: certs.redisArgs(tlsPort) });
    const base = { host: "127.0.0.1", port: tlsPort, transport } as const;

    await using client = await connect({ ...base, tls: true, caCerts: certs.caPem });
    assert.equal(await client.ping(), "PONG");
    assert.match(String(await client.send(["CLIENT", "INFO"])), /laddr=127\.0\.0\.1:\d+/);

    await using named = await connect({
      ...base,
      tls: true,
      servername: "localhost",
      caCerts: [certs.caPem],
    });
    assert.equal(await named.echo("sni"), "sni");

    await assert.rejects(
      connect({ ...base, tls: true }),
      (error: unknown) =>
        error instanceof ConnectionClosedError &&
        error.message.startsWith(`Cannot connect to 127.0.0.1:${tlsPort}: `),
      "an untrusted certificate fails at connect",
    );
    await assert.rejects(
      connect({ ...base, tls: true, caCerts: certs.caPem, servername: "wrong.example" }),
      ConnectionClosedError,
      "a name mismatch fails at connect",
    );
    // The plaintext port answers plaintext.
    await using plain = await connect({ host: "127.0.0.1", port: redis.port, transport });
    assert.equal(await plain.ping(), "PONG");
  });
}

Deno.test("node transport: refused connections and server closes surface as errors", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    transport: nodeTransport,
  });
  assert.equal(await client.set("k", "v".repeat(1_000_000)), "OK");
  assert.equal((await client.get("k"))?.length, 1_000_000);
  const pipeline = client.pipeline();
  for (let i = 0; i < 5000; i++) pipeline.incr("n");
  assert.equal((await pipeline.exec()).at(-1), 5000);
  await client.send(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]).catch(() => {});
  while (client.connected) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(await client.get("n"), "5000");
  const port = freePort();
  await assert.rejects(
    connect({ host: "127.0.0.1", port, transport: nodeTransport }),
    ConnectionClosedError,
  );
});

Deno.test("the default transport on Deno is Deno's socket API", async () => {
  await using redis = await startRedisServer();
  const transport = await defaultTransport({
    hostname: redis.hostname,
    port: redis.port,
    tls: false,
  });
  assert.equal(typeof (transport as Deno.TcpConn).setNoDelay, "function");
  await transport.close();
});

Deno.test("deno transport: a refused first TLS connection rejects and leaves no operation running", async () => {
  // The first TLS connection of a process starts the TLS library's initialisation on a
  // worker thread; it must be settled even when the TCP connect fails. A fresh process,
  // with `deno test`'s sanitizers, which fail a test that leaves an operation running.
  const dir = await Deno.makeTempDir({ prefix: "first-tls-" });
  try {
    const file = `${dir}/first_tls_test.ts`;
    await Deno.writeTextFile(
      file,
      `import assert from "node:assert/strict";
import { denoTransport } from ${
        JSON.stringify(new URL("../src/transport/deno.ts", import.meta.url).href)
      };
Deno.test("refused twice", async () => {
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      denoTransport({ hostname: "127.0.0.1", port: ${freePort()}, tls: true }),
      Deno.errors.ConnectionRefused,
    );
  }
});
`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-net", "--no-check", file],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, text);
    assert.match(text, /refused twice \.\.\. ok/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A stand-in for `connect` from `cloudflare:sockets`, over Deno's sockets. */
function fakeCloudflareConnect(calls: unknown[]): CloudflareConnect {
  return (address, options) => {
    calls.push({ address, options });
    const toServer = new TransformStream<Uint8Array, Uint8Array>();
    const fromServer = new TransformStream<Uint8Array, Uint8Array>();
    let conn: Deno.Conn | undefined;
    const opened = Deno.connect({ hostname: address.hostname, port: address.port }).then((c) => {
      conn = c;
      toServer.readable.pipeTo(c.writable).catch(() => {});
      c.readable.pipeTo(fromServer.writable).catch(() => {});
      return { remoteAddress: `${address.hostname}:${address.port}` };
    });
    return {
      opened,
      readable: fromServer.readable,
      writable: toServer.writable,
      close() {
        try {
          conn?.close();
        } catch {
          // Already closed.
        }
      },
    };
  };
}

Deno.test("cloudflare transport: connects through cloudflare:sockets' connect()", async () => {
  await using redis = await startRedisServer();
  const calls: unknown[] = [];
  const transport = createCloudflareTransport({ connect: fakeCloudflareConnect(calls) });
  await using client = await connect({ host: redis.hostname, port: redis.port, transport });
  assert.deepEqual(await client.pipeline().set("k", "v").get("k").exec(), ["OK", "v"]);
  assert.deepEqual(calls, [{
    address: { hostname: "127.0.0.1", port: redis.port },
    options: { secureTransport: "off", allowHalfOpen: false },
  }]);
  await assert.rejects(
    connect({
      host: redis.hostname,
      port: redis.port,
      transport,
      caCerts: "-----BEGIN CERTIFICATE-----",
    }),
    (error: unknown) => error instanceof TypeError && /caCerts/.test(error.message),
  );
  await assert.rejects(
    connect({ host: "cache.example.com", tls: true, servername: "other.example.com", transport }),
    (error: unknown) => error instanceof TypeError && /servername/.test(error.message),
  );
});

Deno.test("cloudflare transport: a socket that fails to open fails connect", async () => {
  const transport = createCloudflareTransport({
    connect: () => ({
      opened: Promise.reject(new Error("proxy refused")),
      readable: new ReadableStream(),
      writable: new WritableStream(),
      close() {},
    }),
  });
  await assert.rejects(
    connect({ host: "cache.example.com", transport }),
    (error: unknown) =>
      error instanceof ConnectionClosedError &&
      error.message === "Cannot connect to cache.example.com:6379: proxy refused",
  );
});
