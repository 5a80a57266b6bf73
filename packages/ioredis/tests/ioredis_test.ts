import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { inspect } from "node:util";
import { Redis as Ioredis } from "ioredis";
import { Redis as Ioredis5 } from "ioredis5";
import { Redis as Iovalkey } from "iovalkey";
import { attachIamAuth, type Timers } from "../mod.ts";
import { type IamEvent, observe } from "@elasticache-iam/connector";
import type { AuthProvider } from "../../../src/auth/types.ts";
import { AuthenticationError } from "../../../src/errors.ts";
import { FakeTimers } from "../../../tests/_helpers/client_fake_timers.ts";
import {
  exampleEnvironment,
  once,
  run,
  sleep,
  startIamEmulator,
} from "../../../tests/_helpers/iam_emulator.ts";
import { startRedisServer } from "../../../tests/_helpers/redis_server.ts";

const MINUTE = 60_000;
/** The emulator's connection age cap, shortened from 12 hours. */
const CAP = 800;
/** Re-authenticate a third of the way to the cap. */
const REAUTH_AFTER = 200;

/** What the tests need of either client. */
interface TestClient {
  readonly status: string;
  call(...args: string[]): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  incr(key: string): Promise<number>;
  quit(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/** The clients users have: ioredis 6 and 5, and iovalkey. */
const libraries = [
  {
    name: "ioredis",
    create: (host: string, port: number, ca: string) =>
      new Ioredis({ host, port, tls: { ca }, lazyConnect: true }),
  },
  {
    name: "ioredis 5",
    create: (host: string, port: number, ca: string) =>
      new Ioredis5({ host, port, tls: { ca }, lazyConnect: true }),
  },
  {
    name: "iovalkey",
    create: (host: string, port: number, ca: string) =>
      new Iovalkey({ host, port, tls: { ca }, lazyConnect: true }),
  },
];

/** The runtime's timers, counting the live ones. */
class RealTimers implements Timers {
  readonly live = new Set<number>();
  setTimeout(callback: () => void, ms: number): number {
    const handle: number = setTimeout(() => {
      this.live.delete(handle);
      callback();
    }, ms) as unknown as number;
    this.live.add(handle);
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.live.delete(handle as number);
    clearTimeout(handle as number);
  }
  unref(handle: unknown): void {
    Deno.unrefTimer(handle as number);
  }
}

/** An auth source that records the tokens it hands out. */
function recording(auth: AuthProvider): AuthProvider & { passwords: string[] } {
  const passwords: string[] = [];
  const record = async (pending: Promise<{ username?: string | undefined; password: string }>) => {
    const credentials = await pending;
    if (passwords.at(-1) !== credentials.password) passwords.push(credentials.password);
    return credentials;
  };
  return {
    passwords,
    credentials: () => record(auth.credentials()),
    refresh: () => record(auth.refresh!()),
  };
}

for (const library of libraries) {
  Deno.test(`${library.name}: connects through web identity and runs commands; quit() leaves no timer`, async () => {
    await using env = await startIamEmulator();
    const client: TestClient = library.create(
      env.emu.gateway.hostname,
      env.emu.gateway.port,
      env.caCertPem,
    );
    const timers = new RealTimers();
    await attachIamAuth(client as never, env.auth, { timers });
    assert.equal(client.status, "ready");
    assert.equal(await client.call("ACL", "WHOAMI"), "iam-user-01");
    assert.equal(await client.set("greeting", "hello"), "OK");
    assert.equal(await client.get("greeting"), "hello");
    assert.equal(timers.live.size, 2, "one re-auth timer and one password refresh timer");
    await client.quit();
    await sleep(10);
    assert.equal(timers.live.size, 0);
  });

  Deno.test(`${library.name}: a reconnect after the clock passed the first token's expiry uses a fresh token`, async () => {
    await using env = await startIamEmulator();
    const client: TestClient = library.create(
      env.emu.gateway.hostname,
      env.emu.gateway.port,
      env.caCertPem,
    );
    client.on("error", () => {});
    const auth = recording(env.auth);
    using _iam = await attachIamAuth(client as never, auth);
    try {
      await client.set("before", "1");
      env.emu.clock.advance(20 * MINUTE); // The first token (15 minutes) has expired.
      const id = String(await client.call("CLIENT", "ID"));
      const ready = once(client, "ready");
      await client.call("CLIENT", "KILL", "ID", id, "SKIPME", "no").catch(() => {});
      await ready;
      assert.equal(await client.get("before"), "1");
      assert.notEqual(String(await client.call("CLIENT", "ID")), id);
      assert.equal(auth.passwords.length, 2, "a second token was minted for the reconnect");
      assert.equal(env.accepted(), 2);
      assert.ok(!env.log.some((line) => line.includes("refused")), "no stale token was tried");
    } finally {
      await client.quit();
    }
  });

  Deno.test(`${library.name}: a busy connection kept across several caps never drops`, async () => {
    await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
    const client: TestClient = library.create(
      env.emu.gateway.hostname,
      env.emu.gateway.port,
      env.caCertPem,
    );
    const errors: unknown[] = [];
    let closes = 0;
    client.on("error", (error) => errors.push(error));
    client.on("close", () => closes++);
    using _iam = await attachIamAuth(client as never, env.auth, { reauthAfter: REAUTH_AFTER });
    try {
      const id = String(await client.call("CLIENT", "ID"));
      const until = Date.now() + 3 * CAP + 100;
      let commands = 0;
      while (Date.now() < until) {
        await client.incr("busy");
        commands++;
        await sleep(15);
      }
      assert.equal(closes, 0);
      assert.deepEqual(errors, []);
      assert.equal(String(await client.call("CLIENT", "ID")), id, "still the first connection");
      assert.equal(await client.get("busy"), String(commands));
      assert.ok(!env.log.some((line) => line.includes("age cap")), "the gateway never cut it");
    } finally {
      await client.quit();
    }
  });

  Deno.test(`${library.name}: with re-auth off, the connection is cut at the cap, then reconnects`, async () => {
    await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
    const client: TestClient = library.create(
      env.emu.gateway.hostname,
      env.emu.gateway.port,
      env.caCertPem,
    );
    client.on("error", () => {});
    using _iam = await attachIamAuth(client as never, env.auth, { reauthAfter: false });
    try {
      const id = String(await client.call("CLIENT", "ID"));
      await client.set("kept", "yes");
      const closed = once(client, "close", 3 * CAP);
      const reconnected = (async () => {
        await closed;
        await once(client, "ready", 5 * CAP);
      })();
      await reconnected;
      assert.ok(env.log.some((line) => line.includes("age cap")), "the gateway cut it");
      assert.notEqual(String(await client.call("CLIENT", "ID")), id, "a new connection");
      assert.equal(await client.get("kept"), "yes");
    } finally {
      await client.quit();
    }
  });
}

for (const library of libraries) {
  Deno.test(`${library.name}: lifecycle events — connect, auth accepted, cut by the server, reconnect, closed by quit()`, async () => {
    await using env = await startIamEmulator({ connectionMaxAgeMs: CAP });
    const events: IamEvent[] = [];
    const stop = observe((event) => events.push(event));
    const client: TestClient = library.create(
      env.emu.gateway.hostname,
      env.emu.gateway.port,
      env.caCertPem,
    );
    client.on("error", () => {});
    try {
      using _iam = await attachIamAuth(client as never, env.auth, { reauthAfter: false });
      await client.set("kept", "yes");
      const closed = once(client, "close", 3 * CAP);
      await closed;
      await once(client, "ready", 5 * CAP);
      assert.equal(await client.get("kept"), "yes");
      const ended = once(client, "end", 3 * CAP);
      await client.quit();
      await ended;
      const server = `${env.emu.gateway.hostname}:${env.emu.gateway.port}`;
      const lifecycle = events.filter((event) =>
        event.type !== "credentials:resolved" && event.type !== "token:minted"
      );
      assert.deepEqual(lifecycle.map((event) => event.type), [
        "connection:connect",
        "auth:accepted",
        "connection:closed",
        "reconnect:scheduled",
        "connection:connect",
        "auth:accepted",
        "reconnect:succeeded",
        "connection:closed",
      ]);
      assert.ok(lifecycle.every((event) => !("server" in event) || event.server === server));
      const closes = lifecycle.filter((event) => event.type === "connection:closed");
      assert.deepEqual(closes.map((event) => event.reason), ["server", "client"]);
      assert.equal(events.filter((event) => event.type === "token:minted").length >= 1, true);
    } finally {
      stop();
    }
  });
}

Deno.test("attachIamAuth wants a lazy client and a token source", async () => {
  const auth = { credentials: () => Promise.resolve({ username: "u", password: "p" }) };
  const client = new Ioredis({ lazyConnect: true });
  await assert.rejects(attachIamAuth(client, {} as never), TypeError);
  await assert.rejects(attachIamAuth(client, auth, { reauthAfter: 12 * 60 * MINUTE }), RangeError);
  const eager = Object.create(client, { status: { value: "connecting" } });
  await assert.rejects(attachIamAuth(eager, auth), /lazyConnect: true/);
  client.disconnect();
});

Deno.test("attachIamAuth(client) signs for the user and cache of the URL the client was made from", async () => {
  const keys = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example-secret" };
  // The host is AWS's, so the connect fails here (no such name, no retry): the
  // token is in the options by then, as it would be for the real connect.
  const client = new Ioredis(
    "rediss://app-user@master.my-group.abc123.use1.cache.amazonaws.com:6379",
    { lazyConnect: true, connectTimeout: 2000, retryStrategy: () => null },
  );
  client.on("error", () => {});
  try {
    await assert.rejects(attachIamAuth(client, undefined, { credentials: keys }));
    assert.equal(client.options.username, "app-user");
    assert.match(
      String(client.options.password),
      /^my-group\/\?Action=connect&User=app-user&X-Amz-Algorithm=.*%2Fus-east-1%2Felasticache%2F/,
    );
  } finally {
    client.disconnect();
  }
  const anonymous = new Ioredis("rediss://master.my-group.abc123.use1.cache.amazonaws.com", {
    lazyConnect: true,
  });
  await assert.rejects(
    attachIamAuth(anonymous),
    /give 'auth' \(such as an IamAuth\), or make the client from a URL that names the IAM user/,
  );
  anonymous.disconnect();
});

Deno.test("examples/ioredis.ts runs against the emulator", async () => {
  await using env = await startIamEmulator();
  await using example = await exampleEnvironment(env);
  const result = await run(Deno.execPath(), ["run", "-A", "examples/ioredis.ts"], example.vars);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /GET example:ioredis -> hello from ioredis/);
  assert.match(result.stdout, /MULTI SET\/INCR -> 2/);
});

/** An ioredis-like client that records AUTH calls, driven by the test. */
class FakeIoredis extends EventEmitter {
  status = "wait";
  options: { username?: string | undefined; password?: string | null | undefined } = {};
  auths: [string, string][] = [];
  refuse = 0;
  connect(): Promise<void> {
    this.status = "ready";
    this.emit("ready");
    return Promise.resolve();
  }
  auth(username: string, password: string): Promise<unknown> {
    this.auths.push([username, password]);
    if (this.refuse > 0) {
      this.refuse--;
      return Promise.reject(
        new Error("WRONGPASS invalid username-password pair or user is disabled."),
      );
    }
    return Promise.resolve("OK");
  }
  drop(): void {
    this.status = "reconnecting";
    this.emit("close");
  }
}

/** Mints `token-1`, `token-2`, … on refresh. */
function counterAuth() {
  let minted = 1;
  return {
    refreshes: 0,
    credentials() {
      return Promise.resolve({ username: "iam-user-01", password: `token-${minted}` });
    },
    refresh() {
      this.refreshes++;
      minted++;
      return this.credentials();
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

Deno.test("attachIamAuth re-authenticates after reauthAfter and retries a refused token once, fresh", async () => {
  const client = new FakeIoredis();
  const auth = counterAuth();
  const timers = new FakeTimers();
  const reported: Error[] = [];
  using _iam = await attachIamAuth(client, auth, {
    timers,
    now: timers.now,
    reauthAfter: 1000,
    onReAuthenticationError: (error) => reported.push(error),
  });
  assert.equal(client.options.password, "token-1");
  assert.equal(client.options.username, "iam-user-01");
  timers.advance(1000);
  await settle();
  assert.deepEqual(client.auths, [["iam-user-01", "token-1"]]);
  client.refuse = 1;
  timers.advance(1000);
  await settle();
  assert.equal(auth.refreshes, 1);
  assert.deepEqual(client.auths.slice(1), [["iam-user-01", "token-1"], ["iam-user-01", "token-2"]]);
  assert.equal(client.options.password, "token-2");
  assert.equal(reported.length, 0);
  client.refuse = 2;
  timers.advance(1000);
  await settle();
  assert.equal(reported.length, 1);
  assert.ok(reported[0] instanceof AuthenticationError);
  assert.match(reported[0]!.message, /Likely causes/);
  timers.advance(1000);
  await settle();
  assert.equal(client.auths.length, 6, "tried again after the backoff");
});

Deno.test("attachIamAuth refreshes the stored password on close, minting anew if the connection never got ready", async () => {
  const client = new FakeIoredis();
  const auth = counterAuth();
  const timers = new FakeTimers();
  using _iam = await attachIamAuth(client, auth, { timers, now: timers.now, reauthAfter: 1000 });
  assert.equal(timers.pending, 2);
  client.drop(); // A ready connection closed: the current token is fine.
  await settle();
  assert.equal(auth.refreshes, 0);
  assert.equal(timers.pending, 1, "no re-auth while disconnected");
  client.drop(); // Closed again before it was ready (a refused token, say): mint anew.
  await settle();
  assert.equal(auth.refreshes, 1);
  assert.equal(client.options.password, "token-2");
  await client.connect();
  assert.equal(timers.pending, 2);
});

Deno.test("attachIamAuth stops when the client ends", async () => {
  const client = new FakeIoredis();
  const timers = new FakeTimers();
  await attachIamAuth(client, counterAuth(), { timers, now: timers.now });
  assert.equal(timers.pending, 2);
  client.status = "end";
  client.emit("end");
  assert.equal(timers.pending, 0);
  assert.equal(client.listenerCount("ready") + client.listenerCount("close"), 0);
});

for (const library of libraries) {
  Deno.test(`${library.name}: inspecting a client wired by attachIamAuth shows no token, before or after a reconnect`, async () => {
    await using env = await startIamEmulator();
    const client: TestClient = library.create(
      env.emu.gateway.hostname,
      env.emu.gateway.port,
      env.caCertPem,
    );
    client.on("error", () => {});
    using _iam = await attachIamAuth(client as never, env.auth);
    const { inspect } = await import("node:util");
    const token = (client as unknown as { options: { password: string } }).options.password;
    assert.match(
      token,
      /^replication-group-01\/\?Action=connect/,
      "the client still has its token",
    );
    const views = () => [
      Deno.inspect(client, { depth: Infinity }),
      Deno.inspect(client, { depth: Infinity, showHidden: true }),
      inspect(client, { depth: Infinity }),
      inspect(client, { depth: Infinity, showHidden: true }),
      JSON.stringify((client as unknown as { options: object }).options),
    ];
    try {
      for (const view of views()) assert.ok(!view.includes("X-Amz-Signature"), view.slice(0, 200));
      const reconnected = once(client, "ready", 5000);
      await client.call("CLIENT", "KILL", "SKIPME", "no", "TYPE", "normal");
      await reconnected;
      assert.equal(await client.get("missing"), null);
      for (const view of views()) assert.ok(!view.includes("X-Amz-Signature"), view.slice(0, 200));
    } finally {
      await client.quit();
    }
  });
}

for (
  const library of [
    { name: "ioredis", create: (port: number) => new Ioredis({ port, lazyConnect: true }) },
    { name: "iovalkey", create: (port: number) => new Iovalkey({ port, lazyConnect: true }) },
  ]
) {
  Deno.test(`${library.name}: a refused re-authentication is reported and kept as an error that carries no token, causes included`, async () => {
    await using redis = await startRedisServer({
      args: ["--user", "iam", "on", "nopass", "~*", "&*", "+@all"],
    });
    const signature = "5ecre7".repeat(10) + "abcd";
    let minted = 0;
    const auth = {
      credentials: () =>
        Promise.resolve({
          username: "iam",
          password:
            `replication-group-01/?Action=connect&User=iam&X-Amz-Signature=${signature}${++minted}`,
        }),
    };
    const client = library.create(redis.port);
    const events: unknown[] = [];
    client.on("error", (error) => events.push(error));
    const timers = new FakeTimers();
    const reported: Error[] = [];
    using helper = await attachIamAuth(client as never, auth, {
      timers,
      now: timers.now,
      reauthAfter: 60_000,
      onReAuthenticationError: (error) => reported.push(error),
    });
    try {
      // The user's password changes: re-authentications are refused (WRONGPASS), fresh tokens too.
      await client.call("ACL", "SETUSER", "iam", "resetpass", ">other-password");
      timers.advance(60_000);
      for (let i = 0; i < 200 && reported.length === 0; i++) await sleep(5);
      assert.equal(reported.length, 1, "the refusal was reported");
      assert.ok(reported[0] instanceof AuthenticationError, String(reported[0]));
      assert.equal(helper.failure, reported[0], "and kept as the helper's failure");
      const shown: string[] = [];
      const commands: unknown[] = [];
      for (let error: unknown = reported[0]; error !== undefined; error = (error as Error).cause) {
        commands.push((error as { command?: { name?: unknown } }).command?.name);
        shown.push(
          Deno.inspect(error, { depth: Infinity, showHidden: true }),
          inspect(error, { depth: Infinity, showHidden: true }),
        );
      }
      assert.ok(commands.includes("auth"), "the cause chain keeps the library's own AUTH error");
      for (const event of events) shown.push(Deno.inspect(event, { depth: Infinity }));
      for (const view of shown) {
        const at = view.indexOf(signature);
        assert.equal(at, -1, `token shown: …${view.slice(Math.max(0, at - 300), at + 20)}…`);
      }
    } finally {
      client.disconnect();
    }
  });
}
