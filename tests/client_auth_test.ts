/**
 * Authentication against a real `redis-server`: static ACL users and
 * passwords, WRONGPASS handling (a fresh token once, then an error that lists
 * the likely causes), no command under `default` after a failed auth, and
 * re-authentication of the live connection (never inside MULTI/EXEC).
 */

import assert from "node:assert/strict";
import { connect, RedisClient } from "../src/client.ts";
import type { AuthCredentials, AuthProvider } from "../mod.ts";
import { AuthenticationError, ReplyError } from "../src/errors.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";

const ALICE = ["--user", "alice", "on", ">secret", "~*", "&*", "+@all"];

/** A provider that hands out the passwords in `passwords`, one per call, then repeats the last. */
class TestProvider implements AuthProvider {
  credentialsCalls = 0;
  refreshCalls = 0;
  #passwords: string[];
  constructor(passwords: string[], readonly username = "alice") {
    this.#passwords = [...passwords];
  }
  #next(): AuthCredentials {
    const password = this.#passwords.length > 1 ? this.#passwords.shift()! : this.#passwords[0]!;
    return { username: this.username, password };
  }
  credentials(): Promise<AuthCredentials> {
    this.credentialsCalls++;
    return Promise.resolve(this.#next());
  }
  refresh(): Promise<AuthCredentials> {
    this.refreshCalls++;
    return Promise.resolve(this.#next());
  }
  /** Replaces the passwords to hand out from now on. */
  set passwords(passwords: string[]) {
    this.#passwords = [...passwords];
  }
}

for (const protocol of [2, 3] as const) {
  Deno.test(`static ACL credentials authenticate over RESP${protocol}`, async () => {
    await using redis = await startRedisServer({ args: ALICE });
    await using client = await connect({
      host: redis.hostname,
      port: redis.port,
      protocol,
      auth: { username: "alice", password: "secret" },
      clientName: "thin-client",
      db: 2,
    });
    assert.equal(await client.send(["ACL", "WHOAMI"]), "alice");
    assert.equal(await client.send(["CLIENT", "GETNAME"]), "thin-client");
    const info = String(await client.send(["CLIENT", "INFO"]));
    assert.match(info, / db=2 /);
    assert.match(info, new RegExp(` resp=${protocol}\\s*$`));
  });

  Deno.test(`a password alone authenticates the default user over RESP${protocol}`, async () => {
    await using redis = await startRedisServer({ args: ["--requirepass", "pw"] });
    await using client = await connect({
      host: redis.hostname,
      port: redis.port,
      protocol,
      auth: { password: "pw" },
    });
    assert.equal(await client.send(["ACL", "WHOAMI"]), "default");
  });

  Deno.test(`wrong static credentials fail with an AuthenticationError over RESP${protocol}`, async () => {
    await using redis = await startRedisServer({ args: ALICE });
    const error = await connect({
      host: redis.hostname,
      port: redis.port,
      protocol,
      auth: { username: "alice", password: "not-the-password" },
    }).catch((e) => e);
    assert.ok(error instanceof AuthenticationError);
    assert.ok(error.cause instanceof ReplyError && error.cause.code === "WRONGPASS");
    assert.match(error.message, /^Cannot authenticate to '127\.0\.0\.1:\d+' as 'alice': WRONGPASS/);
    assert.ok(!error.message.includes("not-the-password"));
    assert.ok(!String(error.stack).includes("not-the-password"));
  });
}

Deno.test("a server that needs a password and gets none fails with an AuthenticationError", async () => {
  await using redis = await startRedisServer({ args: ["--requirepass", "pw"] });
  await assert.rejects(
    connect({ host: redis.hostname, port: redis.port }),
    (error: unknown) =>
      error instanceof AuthenticationError &&
      /requires authentication; pass 'auth'/.test(error.message),
  );
});

Deno.test("no command runs as the default user after a failed authentication", async () => {
  // `default` is enabled without a password: a command sent behind a failed
  // HELLO AUTH would run as it.
  await using redis = await startRedisServer({ args: ALICE });
  await using client = new RedisClient({
    host: redis.hostname,
    port: redis.port,
    auth: { username: "alice", password: "wrong" },
  });
  const results = await Promise.allSettled([client.set("written", "by default"), client.incr("n")]);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok((result as PromiseRejectedResult).reason instanceof AuthenticationError);
  }
  await using admin = await connect({ host: redis.hostname, port: redis.port });
  assert.equal(await admin.get("written"), null);
  assert.equal(await admin.get("n"), null);
});

Deno.test("WRONGPASS from a provider mints a fresh token once and connects", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const auth = new TestProvider(["stale-token", "secret"]);
  await using client = await connect({ host: redis.hostname, port: redis.port, auth });
  assert.equal(await client.send(["ACL", "WHOAMI"]), "alice");
  assert.equal(auth.credentialsCalls, 1);
  assert.equal(auth.refreshCalls, 1);
});

Deno.test("WRONGPASS after the fresh token fails with the likely causes, without the token", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const auth = new TestProvider(["token-one", "token-two"]);
  const error = await connect({ host: redis.hostname, port: redis.port, auth }).catch((e) => e);
  assert.ok(error instanceof AuthenticationError);
  assert.equal(auth.credentialsCalls, 1);
  assert.equal(auth.refreshCalls, 1);
  for (
    const cause of [
      "expired",
      "clock is skewed",
      "cache name",
      "ResourceType=ServerlessCache",
      "not IAM-enabled",
      "elasticache:Connect",
    ]
  ) {
    assert.ok(error.message.includes(cause), `the message names '${cause}'`);
  }
  for (const token of ["token-one", "token-two"]) {
    assert.ok(!error.message.includes(token));
    assert.ok(!String(error.stack).includes(token));
    assert.ok(!Deno.inspect(error).includes(token));
  }
});

Deno.test("a provider without refresh() is asked again after WRONGPASS", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const passwords = ["stale", "secret"];
  let calls = 0;
  const auth: AuthProvider = {
    credentials: () => Promise.resolve({ username: "alice", password: passwords[calls++]! }),
  };
  await using client = await connect({ host: redis.hostname, port: redis.port, auth });
  assert.equal(calls, 2);
  assert.equal(await client.ping(), "PONG");
});

/** Watches a server's MONITOR feed and collects command names. */
async function monitor(port: number): Promise<{ names(): string[]; close(): void }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("MONITOR\r\n"));
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) return;
        text += decoder.decode(buffer.subarray(0, n));
      }
    } catch {
      // Closed.
    }
  })();
  // Wait for MONITOR's +OK so later commands are seen.
  while (!text.startsWith("+OK")) await new Promise((resolve) => setTimeout(resolve, 5));
  return {
    names: () =>
      [...text.matchAll(/^\+[\d.]+ \[\d+ [^\]]+\] "([^"]+)"/gm)].map((match) => match[1]!),
    close: () => {
      conn.close();
      void reading;
    },
  };
}

Deno.test("the connection is re-authenticated with fresh credentials when reauthAfter elapses", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const timers = new FakeTimers();
  const errors: Error[] = [];
  const auth = new TestProvider(["secret"]);
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    auth,
    reauthAfter: 60_000,
    now: timers.now,
    timers,
    onError: (error) => errors.push(error),
  });
  const id = await client.send(["CLIENT", "ID"]);
  // The password changes on the server; the live connection keeps working.
  await client.send(["ACL", "SETUSER", "alice", "resetpass", ">rotated"]);
  auth.passwords = ["rotated"];
  const watch = await monitor(redis.port);
  try {
    timers.advance(59_999);
    assert.equal(auth.credentialsCalls, 1);
    timers.advance(1); // The idle timer fires.
    assert.equal(auth.credentialsCalls, 2);
    await client.ping();
    while (!watch.names().includes("AUTH")) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(errors, []);
    assert.equal(await client.send(["CLIENT", "ID"]), id);
    // The next re-auth is planned from the last one.
    timers.advance(59_999);
    assert.equal(auth.credentialsCalls, 2);
  } finally {
    watch.close();
  }
});

Deno.test("a re-auth that is due is started by the next command even if no timer fired", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const timers = new FakeTimers();
  let now = timers.now();
  const auth = new TestProvider(["secret"]);
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    auth,
    reauthAfter: 60_000,
    now: () => now, // moves on its own, as after a frozen Lambda thaws
    timers,
  });
  now += 61_000;
  assert.equal(await client.incr("n"), 1);
  assert.equal(auth.credentialsCalls, 2);
  assert.equal(await client.incr("n"), 2);
  assert.equal(auth.credentialsCalls, 2);
});

Deno.test("a refused re-auth tries a fresh token, then reports the error and keeps the connection", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const timers = new FakeTimers();
  const errors: Error[] = [];
  const auth = new TestProvider(["secret"]);
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    auth,
    reauthAfter: 60_000,
    now: timers.now,
    timers,
    onError: (error) => errors.push(error),
  });
  await client.send(["ACL", "SETUSER", "alice", "resetpass", ">rotated"]);
  auth.passwords = ["old-1", "old-2"];
  timers.advance(60_000);
  while (errors.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(auth.refreshCalls, 1);
  assert.ok(errors[0] instanceof AuthenticationError);
  assert.ok(!errors[0].message.includes("old-"));
  assert.equal(await client.ping(), "PONG");
  // Retried after the backoff (REAUTH_RETRY: the first retry within 0.5 to 1 s).
  auth.passwords = ["rotated"];
  timers.advance(1000);
  assert.equal(auth.credentialsCalls, 3);
  await client.ping();
  assert.equal(errors.length, 1);
});

Deno.test("a due re-auth waits for an open MULTI to end", async () => {
  await using redis = await startRedisServer({ args: ALICE });
  const timers = new FakeTimers();
  const errors: Error[] = [];
  const auth = new TestProvider(["secret"]);
  await using client = await connect({
    host: redis.hostname,
    port: redis.port,
    auth,
    reauthAfter: 60_000,
    now: timers.now,
    timers,
    onError: (error) => errors.push(error),
  });
  const watch = await monitor(redis.port);
  try {
    assert.equal(await client.send(["MULTI"]), "OK");
    timers.advance(60_000); // due: the re-auth starts, and must wait
    assert.equal(await client.send(["INCR", "n"]), "QUEUED");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(await client.send(["EXEC"]), [1]);
    await client.ping();
    while (!watch.names().includes("AUTH")) await new Promise((r) => setTimeout(r, 5));
    const names = watch.names();
    assert.deepEqual(names.slice(names.indexOf("MULTI")), [
      "MULTI",
      "INCR",
      "EXEC",
      "AUTH",
      "PING",
    ]);
    // A transaction from multi() is written as one unit: nothing lands inside it.
    timers.advance(60_000);
    assert.deepEqual(await client.multi().incr("n").incr("n").exec(), [2, 3]);
    await client.ping();
    assert.deepEqual(errors, []);
  } finally {
    watch.close();
  }
});
