import assert from "node:assert/strict";
import { createIamClient, type Timers } from "../mod.ts";
import { type IamEvent, observe } from "@elasticache-iam/connector";
import { createClient as createRedis6Client } from "redis";
import { createClient as createRedis5Client } from "redis5";
import { iamCredentialsProvider } from "../src/credentials_provider.ts";
import { FakeTimers } from "../../../tests/_helpers/client_fake_timers.ts";
import { once, startIamEmulator } from "../../../tests/_helpers/iam_emulator.ts";

const MINUTE = 60_000;

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

/** Kills the client's own connection server-side, as a network failure would. */
async function killOwnConnection(client: {
  sendCommand(args: string[]): Promise<unknown>;
}): Promise<void> {
  const id = String(await client.sendCommand(["CLIENT", "ID"]));
  await client.sendCommand(["CLIENT", "KILL", "ID", id, "SKIPME", "no"]).catch(() => {});
}

/** Lets the provider's awaits and node-redis's queued writes run. */
async function settle(ms = 20): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** node-redis 6 and 5: the integration takes whichever the application installed. */
const NODE_REDIS = [
  ["node-redis 6", createRedis6Client],
  ["node-redis 5", createRedis5Client as unknown as typeof createRedis6Client],
] as const;

for (const [version, createRedisClient] of NODE_REDIS) {
  Deno.test(`${version}: createClient connects through web identity (OIDC → STS → token) and runs commands`, async () => {
    await using env = await startIamEmulator();
    const client = createIamClient(createRedisClient, {
      url: env.url,
      auth: env.auth,
      caCerts: env.caCertPem,
    });
    client.on("error", () => {});
    await client.connect();
    try {
      assert.equal(await client.sendCommand(["ACL", "WHOAMI"]), "iam-user-01");
      assert.equal(await client.set("greeting", "hello"), "OK");
      assert.equal(await client.get("greeting"), "hello");
      assert.equal(await client.incrBy("counter", 2), 2);
      const hello = await client.hello() as unknown as { proto: number };
      assert.equal(hello.proto, 3, "RESP3 by default");
      assert.equal(env.accepted(), 1);
    } finally {
      await client.close();
    }
  });

  Deno.test(`${version}: a reconnect after the emulator's clock passed the first token's expiry uses a fresh token`, async () => {
    await using env = await startIamEmulator();
    const passwords: string[] = [];
    const auth = {
      credentials: async () => {
        const credentials = await env.auth.credentials();
        passwords.push(credentials.password);
        return credentials;
      },
      refresh: () => env.auth.refresh(),
    };
    const client = createIamClient(createRedisClient, {
      url: env.url,
      auth,
      caCerts: env.caCertPem,
    });
    client.on("error", () => {});
    await client.connect();
    try {
      await client.set("before", "1");
      env.emu.clock.advance(20 * MINUTE); // The first token (15 minutes) has expired.
      const ready = once(client, "ready");
      await killOwnConnection(client);
      await ready;
      assert.equal(await client.get("before"), "1");
      assert.equal(passwords.length, 2);
      assert.notEqual(passwords[1], passwords[0], "the reconnect minted a new token");
      assert.equal(env.accepted(), 2);
    } finally {
      await client.close();
    }
  });

  Deno.test(`${version}: lifecycle events — connect, auth accepted, a killed connection, reconnect, closed by close()`, async () => {
    await using env = await startIamEmulator();
    const events: IamEvent[] = [];
    const stop = observe((event) => events.push(event));
    const client = createIamClient(createRedisClient, {
      url: env.url,
      auth: env.auth,
      caCerts: env.caCertPem,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      const ready = once(client, "ready");
      await killOwnConnection(client);
      await ready;
      assert.equal(await client.ping(), "PONG");
      await client.close();
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
      const server = `${env.emu.gateway.hostname}:${env.emu.gateway.port}`;
      assert.ok(lifecycle.every((event) => !("server" in event) || event.server === server));
      const closes = lifecycle.filter((event) => event.type === "connection:closed");
      assert.deepEqual(closes.map((event) => event.reason), ["error", "client"]);
      const [scheduled] = lifecycle.filter((event) => event.type === "reconnect:scheduled");
      assert.equal(scheduled!.attempt, 1);
      assert.ok(scheduled!.delayMs >= 0 && scheduled!.delayMs <= 100);
    } finally {
      stop();
    }
  });

  Deno.test(`${version}: 50 reconnects leave exactly one live subscription, and close() leaves none`, async () => {
    await using env = await startIamEmulator();
    const timers = new FakeTimers();
    const client = createIamClient(createRedisClient, {
      url: env.url,
      auth: env.auth,
      caCerts: env.caCertPem,
      reauthAfter: 1000,
      timers,
    });
    let reconnects = 0;
    client.on("error", () => {});
    client.on("reconnecting", () => reconnects++);
    await client.connect();
    for (let i = 0; i < 50; i++) {
      const ready = once(client, "ready");
      await killOwnConnection(client);
      await ready;
    }
    assert.equal(reconnects, 50);
    assert.equal(timers.pending, 1, "one re-auth timer: the live connection's");
    assert.equal(env.accepted(), 51);
    timers.advance(1000);
    await settle();
    assert.equal(await client.ping(), "PONG");
    assert.equal(env.accepted(), 52, "exactly one AUTH for the re-auth, not one per reconnect");
    assert.equal(client.listenerCount("error"), 2, "the test's and createClient's own, no more");
    await client.close();
    assert.equal(timers.pending, 0);
  });

  Deno.test(`${version}: close() and destroy() leave no timer behind`, async () => {
    await using env = await startIamEmulator();
    for (const end of ["close", "destroy"] as const) {
      const timers = new RealTimers();
      const client = createIamClient(createRedisClient, {
        url: env.url,
        auth: env.auth,
        caCerts: env.caCertPem,
        timers,
      });
      client.on("error", () => {});
      await client.connect();
      await client.ping();
      assert.equal(timers.live.size, 1, "the re-auth timer, 11 hours ahead");
      if (end === "close") await client.close();
      else client.destroy();
      assert.equal(timers.live.size, 0, `${end}() cleared it`);
    }
  });

  Deno.test(`${version}: multi() across a re-auth keeps the transaction intact`, async () => {
    await using env = await startIamEmulator();
    const timers = new FakeTimers();
    const client = createIamClient(createRedisClient, {
      url: env.url,
      auth: env.auth,
      caCerts: env.caCertPem,
      reauthAfter: 1000,
      timers,
    });
    client.on("error", () => {});
    await client.connect();
    try {
      for (let round = 0; round < 5; round++) {
        const transaction = client.multi();
        for (let i = 0; i < 50; i++) transaction.incr(`tx:${round}`);
        const pending = transaction.exec();
        timers.advance(1000); // The re-auth fires while the transaction is queued.
        const results = await pending;
        assert.equal(results.length, 50);
        assert.equal(results.at(-1), 50);
        await settle(); // The AUTH goes out after EXEC.
      }
      assert.equal(env.accepted(), 6, "five re-auths, none refused inside MULTI");
      assert.ok(!env.log.some((line) => line.includes("inside MULTI refused")));
    } finally {
      await client.close();
    }
  });

  Deno.test(`${version}: a hand-built MULTI is not protected: a re-auth inside it aborts the transaction (README note)`, async () => {
    await using env = await startIamEmulator();
    const timers = new FakeTimers();
    const client = createRedisClient({
      url: env.url,
      socket: { tls: true, ca: env.caCertPem },
      credentialsProvider: iamCredentialsProvider(env.auth, { reauthAfter: 1000, timers }),
    });
    client.on("error", () => {});
    await client.connect();
    try {
      await client.sendCommand(["MULTI"]);
      timers.advance(1000);
      await settle();
      await client.sendCommand(["SET", "k", "v"]);
      await assert.rejects(client.sendCommand(["EXEC"]), /EXECABORT/);
      assert.ok(env.log.some((line) => line.includes("inside MULTI refused")));
    } finally {
      await client.close();
    }
  });
}

Deno.test("createClient refuses static credentials and plaintext to a remote host", () => {
  const auth = { credentials: () => Promise.resolve({ username: "u", password: "p" }) };
  assert.throws(
    () =>
      createIamClient(createRedis6Client, {
        url: "rediss://user:secret@cache.example.com:6379",
        auth,
      }),
    /carries a password/,
  );
  assert.throws(
    () => createIamClient(createRedis6Client, { url: "redis://cache.example.com:6379", auth }),
    /needs TLS/,
  );
  assert.throws(
    () =>
      createIamClient(createRedis6Client, {
        socket: { host: "cache.example.com", tls: false },
        auth,
      }),
    /needs TLS/,
  );
  assert.throws(
    () =>
      createIamClient(
        createRedis6Client,
        { url: "rediss://cache.example.com", auth, password: "x" } as never,
      ),
    /'password'/,
  );
  assert.throws(
    () => createIamClient(createRedis6Client, { url: "rediss://cache.example.com" } as never),
    /'auth'/,
  );
  // Loopback plaintext (a local test server) and explicit opt-outs are allowed; nothing connects yet.
  createIamClient(createRedis6Client, { url: "redis://127.0.0.1:6379", auth }).destroy();
  createIamClient(createRedis6Client, {
    url: "redis://cache.example.com",
    auth,
    allowPlaintext: true,
  }).destroy();
});

Deno.test("createIamClient({ url }) signs for the IAM user, cache and region the URL names", async () => {
  const keys = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example-secret" };
  const client = createIamClient(createRedis6Client, {
    url: "rediss://app-user@my-cache-abc123.serverless.euw1.cache.amazonaws.com:6379",
    credentials: keys,
  });
  const options = client.options as {
    url?: string;
    credentialsProvider?: {
      subscribe(listener: unknown): Promise<[{ password: string }, { dispose(): void }]>;
    };
  };
  assert.equal(options.url, "rediss://my-cache-abc123.serverless.euw1.cache.amazonaws.com:6379");
  const [credentials, subscription] = await options.credentialsProvider!.subscribe({
    onNext() {},
    onError() {},
  });
  subscription.dispose();
  assert.match(
    credentials.password,
    /^my-cache\/\?Action=connect&User=app-user&ResourceType=ServerlessCache&/,
  );
  assert.match(credentials.password, /%2Feu-west-1%2Felasticache%2Faws4_request/);
  assert.throws(
    () => createIamClient(createRedis6Client, { url: "rediss://cache.example.com:6379" }),
    /give 'auth' \(such as an IamAuth\), or a 'url' that names the IAM user/,
  );
  assert.throws(
    () =>
      createIamClient(createRedis6Client, {
        url: "rediss://app-user:hunter2@my-cache-abc123.serverless.euw1.cache.amazonaws.com",
      }),
    (error: Error) =>
      /password \(not shown\)/.test(error.message) && !error.message.includes("hunter2"),
  );
});
