/**
 * The client on whatever runtime runs this file, with the runtime's default
 * transport, against `redis-server` processes it starts and stops by PID:
 * `deno test` runs it as it is (Deno's sockets), and `tests/runtimes/run.ts`
 * bundles it for Node.js (`node --test`, `node:net` / `node:tls`) and Bun
 * (`bun test`). It uses only `node:test`, `node:assert`, `node:child_process`,
 * `node:net`, `node:os`, `node:path` and `node:fs`, which all three provide; a
 * Worker cannot start processes, so workerd runs the conformance suite only.
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, RedisClient } from "../src/client.ts";
import { ConnectionClosedError, ProtocolError, ReplyError } from "../src/errors.ts";

const HOST = "127.0.0.1";
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `redis-server` child process, stopped by its PID. */
class RedisProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  constructor(readonly port: number, readonly args: string[] = []) {}

  async start(): Promise<void> {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        HOST,
        "--save",
        "",
        "--appendonly",
        "no",
        ...this.args,
      ],
      { stdio: "ignore" },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const probe = await connect({ host: HOST, port: this.port, reconnect: false, protocol: 2 });
        await probe.close();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(20);
      }
    }
  }

  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    this.#child?.kill(signal);
    await this.#exited;
    this.#child = undefined;
  }
}

describe(`thin client on ${runtime}`, () => {
  let redis: RedisProcess;

  before(async () => {
    redis = new RedisProcess(await freePort(), ["--enable-debug-command", "yes"]);
    await redis.start();
  });

  after(async () => {
    await redis.stop();
  });

  it("runs typed commands, pipelines and transactions", async () => {
    await using client = await connect({ host: HOST, port: redis.port });
    assert.equal(await client.ping(), "PONG");
    assert.equal(await client.set("rt:s", "v", { ex: 60 }), "OK");
    assert.equal(await client.get("rt:s"), "v");
    assert.equal(await client.hset("rt:h", { a: 1, b: "two" }), 2);
    assert.deepEqual(await client.hgetall("rt:h"), { a: "1", b: "two" });
    assert.equal(await client.zadd("rt:z", { score: 1.5, member: "m" }), 1);
    assert.deepEqual(await client.zrange("rt:z", 0, -1, { withScores: true }), [{
      member: "m",
      score: 1.5,
    }]);
    const pipeline = client.pipeline();
    for (let i = 0; i < 10_000; i++) pipeline.incr("rt:n");
    const results = await pipeline.exec<number[]>();
    assert.equal(results.length, 10_000);
    assert.equal(results[9_999], 10_000);
    assert.deepEqual(await client.multi().incr("rt:n").get("rt:n").exec(), [10_001, "10001"]);
    await assert.rejects(client.incr("rt:s"), ReplyError);
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await client.set("rt:bin", bytes);
    assert.deepEqual(await client.getBuffer("rt:bin"), bytes);
  });

  it("speaks RESP2 and RESP3", async () => {
    for (const protocol of [2, 3] as const) {
      await using client = await connect({ host: HOST, port: redis.port, protocol });
      assert.equal(
        await client.send(["DEBUG", "PROTOCOL", "bignum"]),
        protocol === 3
          ? 1234567999999999999999999999999999999n
          : "1234567999999999999999999999999999999",
      );
      assert.deepEqual(
        await client.send(["DEBUG", "PROTOCOL", "map"]),
        protocol === 3 ? new Map([[0, false], [1, true], [2, false]]) : [0, 0, 1, 1, 2, 0],
      );
    }
  });

  it("delivers pub/sub messages over RESP3", async () => {
    await using client = await connect({ host: HOST, port: redis.port });
    const seen: string[] = [];
    await using _sub = await client.subscribe(
      "rt:news",
      (message, channel) => seen.push(`${channel}:${message}`),
    );
    assert.equal(await client.publish("rt:news", "hello"), 1);
    for (let i = 0; i < 100 && seen.length === 0; i++) await sleep(5);
    assert.deepEqual(seen, ["rt:news:hello"]);
  });

  it("fails commands in flight when the server dies, then reconnects to the restarted server", async () => {
    const own = new RedisProcess(await freePort(), ["--enable-debug-command", "yes"]);
    await own.start();
    await using client = await connect({ host: HOST, port: own.port });
    const inFlight = client.pipeline().send(["DEBUG", "SLEEP", "0.3"]).incr("k").exec().catch((e) =>
      e
    );
    await sleep(50);
    await own.stop("SIGKILL");
    assert.ok(await inFlight instanceof ConnectionClosedError);
    await own.start();
    assert.equal(await client.incr("k"), 1);
    await client.close();
    await own.stop();
  });

  it("closes the connection on a malformed byte stream and keeps working", async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const server = createServer((socket) => {
      sockets.add(socket);
      const index = connections++;
      socket.on("data", (data) => {
        const text = new TextDecoder().decode(data as Uint8Array);
        if (text.includes("HELLO")) socket.write("%1\r\n+proto\r\n:3\r\n");
        if (text.includes("PING")) socket.write(index === 0 ? "?garbage\r\n" : "+PONG\r\n");
      });
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const { port } = server.address() as { port: number };
    try {
      await using client = await connect({ host: HOST, port });
      await assert.rejects(client.ping(), ProtocolError);
      assert.equal(client.connected, false);
      assert.equal(await client.ping(), "PONG");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("authenticates ACL users and refuses wrong passwords without running commands", async () => {
    const own = new RedisProcess(await freePort(), [
      "--user",
      "alice",
      "on",
      ">secret",
      "~*",
      "&*",
      "+@all",
    ]);
    await own.start();
    try {
      await using client = await connect({
        host: HOST,
        port: own.port,
        auth: { username: "alice", password: "secret" },
      });
      assert.equal(await client.send(["ACL", "WHOAMI"]), "alice");
      await using wrong = new RedisClient({
        host: HOST,
        port: own.port,
        auth: { username: "alice", password: "nope" },
      });
      await assert.rejects(wrong.set("rt:x", "1"), { name: "AuthenticationError" });
      assert.equal(await client.get("rt:x"), null);
    } finally {
      await own.stop();
    }
  });

  it("connects with TLS and a private CA, and fails at connect on an untrusted certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "client-runtime-tls-"));
    const openssl = (args: string[]) => {
      const result = spawnSync("openssl", args, { cwd: dir, stdio: "ignore" });
      assert.equal(result.status, 0, `openssl ${args[0]}`);
    };
    openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Runtime CA",
    ]);
    openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    ]);
    writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl([
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ]);
    const tlsPort = await freePort();
    const own = new RedisProcess(await freePort(), [
      "--tls-port",
      String(tlsPort),
      "--tls-cert-file",
      join(dir, "server.pem"),
      "--tls-key-file",
      join(dir, "server.key"),
      "--tls-ca-cert-file",
      join(dir, "ca.pem"),
      "--tls-auth-clients",
      "no",
    ]);
    await own.start();
    try {
      const caCerts = readFileSync(join(dir, "ca.pem"), "utf8");
      await using client = await connect({ host: HOST, port: tlsPort, tls: true, caCerts });
      assert.equal(await client.echo("over tls"), "over tls");
      await using named = await connect({
        host: HOST,
        port: tlsPort,
        tls: true,
        caCerts,
        servername: "localhost",
      });
      assert.equal(await named.ping(), "PONG");
      await assert.rejects(
        connect({ host: HOST, port: tlsPort, tls: true }),
        ConnectionClosedError,
      );
    } finally {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
