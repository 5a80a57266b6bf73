/**
 * The gateway keeps the auth state as the server keeps it, and stays bounded
 * under abuse: a half-refused `HELLO … AUTH … AUTH` does not extend a
 * connection's life, unauthenticated connections are capped in number and in
 * time, and a slow trickle of unauthenticated bytes costs each read only its
 * new bytes.
 */

import assert from "node:assert/strict";
import { SEED_POLICY, startEmulator, WRONGPASS } from "../mod.ts";
import { createAuthToken } from "../../../src/token.ts";
import { RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";

const KEYS = { accessKeyId: "AKIAEMULATORLIMITS01", secretAccessKey: "limits-secret-key" };
const START = Date.UTC(2026, 10, 23, 12, 0, 0);

function token(signingDate: Date): Promise<string> {
  return createAuthToken({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: "us-east-1",
    credentials: KEYS,
    signingDate,
  });
}

Deno.test("a HELLO whose second AUTH is refused does not extend the connection's life", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [SEED_POLICY] }],
    connectionMaxAgeMs: 60_000,
    log: (line) => log.push(line),
  });
  emu.clock.set(START);
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", "iam-user-01", await token(emu.clock.date())), "OK");
  emu.clock.advance(30_000);
  const good = await token(emu.clock.date());
  assert.equal(
    await client.send("HELLO", "3", "AUTH", "iam-user-01", good, "AUTH", "iam-user-01", "bad"),
    `-${WRONGPASS}`,
  );
  emu.clock.advance(30_000);
  assert.ok(await client.closedByServer(), "60 s after its only accepted AUTH");
  assert.equal(log.filter((line) => / accepted for /.test(line)).length, 1);
});

Deno.test("a slow trickle of unauthenticated bytes costs each read its new bytes only", async () => {
  // The emulator runs as its own process, so that only the gateway's CPU time is counted.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli.ts", import.meta.url).pathname, "emulator", "--quiet"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the emulator did not start");
      line += value;
    }
    reader.releaseLock();
    const { gateway } = JSON.parse(line.slice(0, line.indexOf("\n"))) as {
      gateway: { hostname: string; port: number };
    };
    /** The emulator process' CPU time, in clock ticks (user + system, every thread). */
    const cpuTicks = async () => {
      const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return Number(fields[11]) + Number(fields[12]);
    };
    const encoder = new TextEncoder();
    /** Gateway CPU ticks while 500 connections holding `pending` each trickle 40 more bytes, one at a time. */
    const trickleCost = async (pending: Uint8Array) => {
      const conns: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 500; i++) {
          const conn = await Deno.connect(gateway);
          for (let at = 0; at < pending.length;) at += await conn.write(pending.subarray(at));
          conns.push(conn);
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
        const byte = encoder.encode("a");
        const before = await cpuTicks();
        for (let round = 0; round < 40; round++) {
          await Promise.all(conns.map((conn) => conn.write(byte)));
          await new Promise((resolve) => setTimeout(resolve, 20)); // the gateway reads them
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        return await cpuTicks() - before;
      } finally {
        for (const conn of conns) conn.close();
      }
    };
    // 500 × 40 one-byte reads behind 60 bytes, then behind 60 KB of an unfinished inline
    // command (Redis allows 64 KiB). The gateway used to copy what it held on every read.
    const small = await trickleCost(encoder.encode(`AUTH ${"a".repeat(55)}`));
    const large = await trickleCost(encoder.encode(`AUTH ${"a".repeat(60_000)}`));
    assert.ok(
      large < small * 1.5 + 5,
      `${large} CPU ticks behind 60 KB against ${small} behind 60 bytes`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});

Deno.test("unauthenticated connections are capped in number, and closed when they wait too long", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({
    iamUsers: [{ userName: "app", accessKeys: [KEYS], policies: [SEED_POLICY] }],
    gateway: { maxUnauthenticated: 3, authTimeoutMs: 300 },
    log: (line) => log.push(line),
  });
  emu.clock.set(START);
  const waiting = await Promise.all([0, 1, 2].map(() => RespTestClient.connect(emu.gateway)));
  try {
    // A fourth unauthenticated connection is refused as Redis refuses one past maxclients.
    await using fourth = await RespTestClient.connect(emu.gateway);
    assert.equal(await fourth.read(), "-ERR max number of clients reached");
    assert.ok(await fourth.closedByServer());
    // One that authenticates frees its place; the others are closed after authTimeoutMs.
    assert.equal(
      await waiting[0]!.send("AUTH", "iam-user-01", await token(emu.clock.date())),
      "OK",
    );
    await using fifth = await RespTestClient.connect(emu.gateway);
    assert.equal(await fifth.send("PING"), "-NOAUTH Authentication required.");
    assert.ok(await waiting[1]!.closedByServer(), "closed after 300 ms without AUTH");
    assert.ok(await waiting[2]!.closedByServer());
    assert.equal(await waiting[0]!.send("PING"), "PONG", "the authenticated one stays");
    assert.ok(log.some((line) => /closed: not authenticated within 300 ms/.test(line)));
  } finally {
    for (const client of waiting) await client[Symbol.asyncDispose]();
  }
});

Deno.test("gateway limits are checked by name", async () => {
  await assert.rejects(startEmulator({ gateway: { maxUnauthenticated: 0 } }), {
    name: "RangeError",
    message:
      "Cannot start the emulator: 'gateway.maxUnauthenticated' must be a positive integer, got 0",
  });
});

Deno.test("a gateway out of file descriptors keeps accepting once they are free again", async () => {
  // The emulator as its own process, allowed 256 descriptors: 400 idle connections exhaust them.
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -Sn 256 && ulimit -Hn 256 && exec "$0" run -A "$1" emulator`,
      Deno.execPath(),
      new URL("../cli.ts", import.meta.url).pathname,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the emulator did not start: ${await stderr}`);
      line += value;
    }
    reader.releaseLock();
    const { gateway } = JSON.parse(line.slice(0, line.indexOf("\n"))) as {
      gateway: { hostname: string; port: number };
    };
    const flood: Deno.Conn[] = [];
    for (let i = 0; i < 400; i++) flood.push(await Deno.connect(gateway));
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const conn of flood) conn.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The gateway used to stop accepting for good at the first failed accept().
    await using client = await RespTestClient.connect({ ...gateway, tls: false });
    const reply = await Promise.race([
      client.send("PING"),
      new Promise((resolve) => setTimeout(() => resolve("(no answer within 5 s)"), 5_000)),
    ]);
    assert.equal(reply, "-NOAUTH Authentication required.");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
  assert.match(await stderr, /accept failed \(.*\); retrying/);
});
