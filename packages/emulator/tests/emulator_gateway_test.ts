/**
 * The emulator's RESP gateway over real sockets, in front of a real
 * redis-server: tokens from `createAuthToken` and botocore's golden tokens
 * are accepted, every single alteration is refused with ElastiCache's exact
 * WRONGPASS text, Redis enforces access strings, the connection age cap
 * and its extension by re-auth, AUTH inside MULTI, and TLS.
 */

import assert from "node:assert/strict";
import { AwsV4Signer } from "aws4fetch";
import {
  AUTH_IN_MULTI_COMMAND,
  type EmulatorConfig,
  NOAUTH,
  NOAUTH_HELLO,
  startEmulator,
  WRONGPASS,
} from "../mod.ts";
import { createAuthToken } from "../../../src/token.ts";
import { type Address, RespTestClient } from "../../../tests/_helpers/emulator_resp_client.ts";
import {
  loadVectors,
  vectorConfig,
  vectorEndpoint,
  withParam,
} from "../../../tests/_helpers/emulator_vectors.ts";
import { startRedisServer } from "../../../tests/_helpers/redis_server.ts";

const REFUSED = `-${WRONGPASS}`;

/** Sends one AUTH on a fresh connection and returns the reply. */
async function authReply(gateway: Address, user: string, token: string): Promise<unknown> {
  await using client = await RespTestClient.connect(gateway);
  return await client.send("AUTH", user, token);
}

/** Turns a RESP3 map reply into a plain object. */
function mapToObject(value: unknown): Record<string, unknown> {
  assert.ok(value instanceof Map, `expected a map, got ${JSON.stringify(value)}`);
  return Object.fromEntries(value);
}

Deno.test("golden tokens from botocore authenticate through the gateway at their dates", async (t) => {
  const vectors = loadVectors();
  await using emu = await startEmulator(vectorConfig(vectors));
  for (const v of vectors) {
    await t.step(v.name, async () => {
      emu.clock.set(v.signedAt);
      const endpoint = vectorEndpoint(emu, v);
      await using client = await RespTestClient.connect(endpoint);
      assert.equal(await client.send("AUTH", v.userId, v.expected), "OK");
      assert.equal(await client.send("PING"), "PONG");
      // Parameter order is free, and HELLO 3 AUTH is the other way in.
      const [host, query] = v.expected.split("/?") as [string, string];
      const reordered = `${host}/?${query.split("&").reverse().join("&")}`;
      const hello = mapToObject(await client.send("HELLO", "3", "AUTH", v.userId, reordered));
      assert.equal(hello.proto, 3);
      // The same token with its signature altered is refused, even on a live connection.
      const altered = withParam(v.expected, "X-Amz-Signature", "0".repeat(64));
      assert.equal(await client.send("AUTH", v.userId, altered), REFUSED);
      assert.equal(await authReply(endpoint, v.userId, altered), REFUSED);
      // Past its lifetime the golden token is refused.
      emu.clock.set(v.signedAt + v.expiresIn * 1000 + 1000);
      assert.equal(await authReply(endpoint, v.userId, v.expected), REFUSED);
    });
  }
});

const DEVELOPER = {
  accessKeyId: "AKIAEMULATORDEVELOP1",
  secretAccessKey: "developer/secret/+key=0123456789abcdefghij",
};
const TEMPORARY = {
  accessKeyId: "ASIAEMULATORTEMPORY1",
  secretAccessKey: "temporary/secret/key/0123456789abcdefghij",
  sessionToken: "IQoJb3JpZ2luX2VjEMULATOR/temporary+session/token==",
};
const EXPIRING = {
  accessKeyId: "ASIAEMULATOREXPIRIN1",
  secretAccessKey: "expiring/secret/key/0123456789abcdefghijk",
  sessionToken: "IQoJb3JpZ2luX2VjEMULATOR/expiring+session/token==",
};
const CACHE_ONLY = { accessKeyId: "AKIAEMULATORCACHEONL", secretAccessKey: "cache-only-secret" };
const DENIED = { accessKeyId: "AKIAEMULATORDENIED01", secretAccessKey: "denied-secret" };
const START = Date.UTC(2026, 10, 23, 12, 0, 0);

/** What a test changes in a token. */
interface TokenOverrides {
  replicationGroupId?: string;
  serverlessCacheName?: string;
  memoryDbClusterName?: string;
  userId?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  expiresIn?: number;
  signingDate?: Date;
}

const config: EmulatorConfig = {
  caches: [
    { replicationGroupId: "replication-group-01" },
    { serverlessCacheName: "my-serverless" },
    { memoryDbClusterName: "my-cluster" },
  ],
  users: [
    { userId: "iam-user-01", userName: "iam-user-01", accessString: "on ~* +@all" },
    { userId: "app-user", accessString: "on ~* +@all" },
    { userId: "reader", accessString: "on ~app:* -@all +get +ping" },
  ],
  iamUsers: [
    {
      userName: "developer",
      accessKeys: [DEVELOPER],
      temporaryCredentials: [
        TEMPORARY,
        { ...EXPIRING, expiration: new Date(START + 10 * 60_000).toISOString() },
      ],
      policies: [{
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Action: ["elasticache:Connect", "memorydb:Connect"],
          Resource: "*",
        }],
      }],
    },
    {
      userName: "cache-only",
      accessKeys: [CACHE_ONLY],
      policies: [{
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Action: "elasticache:Connect",
          Resource:
            "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:replication-group-01",
        }],
      }],
    },
    {
      userName: "denied",
      accessKeys: [DENIED],
      policies: [{
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "*", Resource: "*" },
          {
            Effect: "Deny",
            Action: "elasticache:Connect",
            Resource: "arn:aws:elasticache:us-east-1:123456789012:user:iam-user-01",
          },
        ],
      }],
    },
  ],
  connectionMaxAgeMs: 60_000,
};

Deno.test("the gateway authenticates like ElastiCache", async (t) => {
  const logged: string[] = [];
  await using emu = await startEmulator({ ...config, log: (line) => logged.push(line) });
  const gateway = emu.gateway;
  const serverless = emu.endpoint("my-serverless");
  const memorydb = emu.endpoint("my-cluster");
  emu.clock.set(START);
  const token = (options: TokenOverrides = {}) => {
    const { replicationGroupId, serverlessCacheName, memoryDbClusterName, ...rest } = options;
    const target = serverlessCacheName !== undefined
      ? { serverlessCacheName }
      : memoryDbClusterName !== undefined
      ? { memoryDbClusterName }
      : { replicationGroupId: replicationGroupId ?? "replication-group-01" };
    return createAuthToken({
      userId: "iam-user-01",
      region: "us-east-1",
      credentials: DEVELOPER,
      signingDate: emu.clock.date(),
      ...rest,
      ...target,
    });
  };

  await t.step("tokens from createAuthToken are accepted, for every kind of cache", async () => {
    assert.equal(await authReply(gateway, "iam-user-01", await token()), "OK");
    assert.equal(
      await authReply(gateway, "iam-user-01", await token({ credentials: TEMPORARY })),
      "OK",
    );
    assert.equal(
      await authReply(gateway, "app-user", await token({ userId: "app-user", expiresIn: 60 })),
      "OK",
    );
    assert.equal(
      await authReply(
        serverless,
        "iam-user-01",
        await token({ serverlessCacheName: "my-serverless" }),
      ),
      "OK",
    );
    assert.equal(
      await authReply(
        memorydb,
        "iam-user-01",
        await token({ memoryDbClusterName: "my-cluster" }),
      ),
      "OK",
    );
  });

  await t.step("every single alteration is refused with the exact WRONGPASS text", async () => {
    const good = await token();
    const cases: [string, string, string, Address?][] = [
      ["signature", "iam-user-01", good.replace(/.$/, (c) => (c === "0" ? "1" : "0"))],
      ["user (token for another user)", "iam-user-01", await token({ userId: "app-user" })],
      ["user (AUTH as another user)", "app-user", good],
      ["host", "iam-user-01", await token({ replicationGroupId: "other-group" }), serverless],
      [
        "another configured cache's token",
        "iam-user-01",
        await token({ serverlessCacheName: "my-serverless" }),
      ],
      ["region", "iam-user-01", await token({ region: "us-west-2" })],
      [
        "service",
        "iam-user-01",
        await token({ memoryDbClusterName: "replication-group-01" }),
      ],
      [
        "date (expired)",
        "iam-user-01",
        await token({ signingDate: new Date(emu.clock.now() - 901_000) }),
      ],
      [
        "date (future)",
        "iam-user-01",
        await token({ signingDate: new Date(emu.clock.now() + 600_000) }),
      ],
      ["expiry above 900 s", "iam-user-01", await presign({ "X-Amz-Expires": "901" })],
      [
        "missing ResourceType",
        "iam-user-01",
        await token({ replicationGroupId: "my-serverless" }),
        serverless,
      ],
      [
        "extra ResourceType",
        "iam-user-01",
        await token({ serverlessCacheName: "replication-group-01" }),
      ],
      [
        "wrong session token",
        "iam-user-01",
        await token({ credentials: { ...TEMPORARY, sessionToken: "IQoJwrong" } }),
      ],
      [
        "session token missing",
        "iam-user-01",
        await token({ credentials: { ...TEMPORARY, sessionToken: undefined } }),
      ],
      ["policy without the user ARN", "iam-user-01", await token({ credentials: CACHE_ONLY })],
      ["explicit Deny", "iam-user-01", await token({ credentials: DENIED })],
      [
        "unknown access key",
        "iam-user-01",
        await token({ credentials: { ...DEVELOPER, accessKeyId: "AKIAUNKNOWN000000000" } }),
      ],
      ["user not configured", "nobody", await token({ userId: "nobody" })],
    ];
    for (const [what, user, bad, endpoint] of cases) {
      assert.equal(await authReply(endpoint ?? gateway, user, bad), REFUSED, what);
    }
    // The reasons go to the emulator's log, never to the client, and never a secret.
    const log = logged.join("\n");
    for (
      const reason of [
        "signature mismatch",
        "differs from the AUTH user name",
        "token is for cache 'other-group', but this endpoint serves cache 'my-serverless'",
        "token is for cache 'my-serverless', but this endpoint serves cache 'replication-group-01'",
        "region 'us-west-2'",
        "service 'memorydb'",
        "expired at",
        "in the future",
        "X-Amz-Expires '901'",
        "no ResourceType=ServerlessCache",
        "is not serverless",
        "session token does not belong",
        "has no session token",
        "(implicit-deny)",
        "(explicit-deny)",
        "is not known",
        "'nobody' is not a configured IAM user",
      ]
    ) {
      assert.ok(log.includes(reason), `log lacks '${reason}'`);
    }
    for (const secret of [DEVELOPER.secretAccessKey, TEMPORARY.sessionToken, good]) {
      assert.ok(!log.includes(secret), "the log must not contain secrets or tokens");
    }
  });

  await t.step("expired temporary credentials are refused", async () => {
    const signed = await token({ credentials: EXPIRING });
    assert.equal(await authReply(gateway, "iam-user-01", signed), "OK");
    emu.clock.set(START + 10 * 60_000);
    const late = await token({ credentials: EXPIRING });
    assert.equal(await authReply(gateway, "iam-user-01", late), REFUSED);
    emu.clock.set(START);
  });

  await t.step("a token expires on the emulator's clock", async () => {
    const short = await token({ expiresIn: 60 });
    emu.clock.advance(59_000); // Real time flows too: leave a second of slack each side.
    assert.equal(await authReply(gateway, "iam-user-01", short), "OK");
    emu.clock.advance(2_000);
    assert.equal(await authReply(gateway, "iam-user-01", short), REFUSED);
    emu.clock.set(START);
  });

  await t.step("before AUTH only AUTH, HELLO and QUIT are served", async () => {
    await using client = await RespTestClient.connect(gateway);
    assert.equal(await client.send("PING"), `-${NOAUTH}`);
    assert.equal(await client.send("GET", "key"), `-${NOAUTH}`);
    await client.write("PING\r\n"); // An inline command.
    assert.equal(await client.read(), `-${NOAUTH}`);
    assert.equal(await client.send("HELLO"), `-${NOAUTH_HELLO}`);
    assert.equal(await client.send("HELLO", "3"), `-${NOAUTH_HELLO}`);
    assert.equal(await client.send("HELLO", "4"), "-NOPROTO unsupported protocol version");
    assert.equal(await client.send("AUTH"), "-ERR wrong number of arguments for 'auth' command");
    assert.equal(await client.send("AUTH", await token()), REFUSED);
    assert.equal(await client.send("AUTH", "iam-user-01", "not-a-token"), REFUSED);
    const hello = mapToObject(
      await client.send("HELLO", "3", "AUTH", "iam-user-01", await token(), "SETNAME", "t1"),
    );
    assert.equal(hello.proto, 3);
    assert.equal(hello.server, "redis");
    assert.equal(await client.send("CLIENT", "GETNAME"), "t1");
    assert.equal(await client.send("ACL", "WHOAMI"), "iam-user-01");
  });

  await t.step("QUIT before AUTH answers OK and closes", async () => {
    await using client = await RespTestClient.connect(gateway);
    assert.equal(await client.send("QUIT"), "OK");
    assert.ok(await client.closedByServer());
  });

  await t.step(
    "a refused re-auth on a live connection keeps the connection as it was",
    async () => {
      await using client = await RespTestClient.connect(gateway);
      const replies = await client.pipeline([
        ["AUTH", "iam-user-01", await token()],
        ["SET", "k", "v"],
        ["AUTH", "app-user", await token()],
        ["AUTH", "iam-user-01", "garbage"],
        ["AUTH", "just-a-password"],
        ["GET", "k"],
        ["ACL", "WHOAMI"],
        ["HELLO", "4", "AUTH", "iam-user-01", await token()],
        ["HELLO", "3", "AUTH", "iam-user-01", await token(), "BADOPTION"],
        ["AUTH", "app-user", await token({ userId: "app-user" })],
        ["ACL", "WHOAMI"],
      ]);
      assert.deepEqual(replies, [
        "OK",
        "OK",
        REFUSED,
        REFUSED,
        REFUSED,
        "v",
        "iam-user-01",
        // Malformed HELLOs are refused by Redis itself, without the token reaching it.
        "-NOPROTO unsupported protocol version",
        REFUSED,
        "OK",
        "app-user",
      ]);
    },
  );

  await t.step("an access string narrower than +@all is enforced by Redis", async () => {
    await using client = await RespTestClient.connect(gateway);
    assert.equal(await client.send("AUTH", "reader", await token({ userId: "reader" })), "OK");
    assert.equal(await client.send("PING"), "PONG");
    assert.equal(await client.send("GET", "app:greeting"), null);
    assert.match(String(await client.send("SET", "app:greeting", "hi")), /^-NOPERM .*'set'/);
    assert.match(String(await client.send("GET", "other:key")), /^-NOPERM .*keys/);
  });

  await t.step("IAM AUTH inside MULTI is refused and the transaction aborted", async () => {
    await using client = await RespTestClient.connect(gateway);
    const fresh = await token();
    const replies = await client.pipeline([
      ["AUTH", "iam-user-01", fresh],
      ["MULTI"],
      ["SET", "multi:key", "1"],
      ["AUTH", "iam-user-01", fresh],
      ["EXEC"],
      ["GET", "multi:key"],
      ["MULTI"],
      ["HELLO", "3", "AUTH", "iam-user-01", fresh],
      ["DISCARD"],
      ["MULTI"],
      ["DISCARD"],
      ["AUTH", "iam-user-01", fresh],
    ]);
    assert.equal(replies[0], "OK");
    assert.equal(replies[1], "OK");
    assert.equal(replies[2], "QUEUED");
    assert.match(
      String(replies[3]),
      new RegExp(`^-ERR unknown command '${AUTH_IN_MULTI_COMMAND}'`),
    );
    assert.equal(replies[4], "-EXECABORT Transaction discarded because of previous errors.");
    assert.equal(replies[5], null);
    assert.match(String(replies[7]), new RegExp(AUTH_IN_MULTI_COMMAND));
    assert.deepEqual(replies.slice(8), ["OK", "OK", "OK", "OK"]);
  });

  await t.step(
    "after AUTH, a 200 MiB value streams through the gateway: no copy in its memory, and it arrives whole",
    async () => {
      emu.clock.set(START);
      await using client = await RespTestClient.connect(gateway);
      await using bystander = await RespTestClient.connect(gateway);
      assert.equal(await client.send("AUTH", "iam-user-01", await token()), "OK");
      assert.equal(await bystander.send("AUTH", "iam-user-01", await token()), "OK");
      const size = 200 * 1024 * 1024;
      const chunk = new Uint8Array(1024 * 1024).fill(0x61);
      const before = Deno.memoryUsage().rss;
      let peak = before;
      await client.write(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${size}\r\n`);
      for (let sent = 0; sent < size; sent += chunk.length) {
        await client.write(chunk);
        if (sent % (16 * chunk.length) === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
      }
      await client.write("\r\n");
      assert.equal(await client.read(), "OK");
      peak = Math.max(peak, Deno.memoryUsage().rss);
      // The gateway used to decode the value and encode it again: two copies, 400 MiB more.
      assert.ok(
        peak - before < 64 * 1024 * 1024,
        `the process grew by ${Math.round((peak - before) / 2 ** 20)} MiB while the value passed`,
      );
      assert.equal(await client.send("STRLEN", "big"), size);
      assert.equal(await client.send("DEL", "big"), 1);
      assert.equal(await bystander.send("PING"), "PONG");
    },
  );

  await t.step(
    "after AUTH, a nested array or an oversized bulk string is Redis' protocol error, after the replies owed",
    async () => {
      emu.clock.set(START);
      await using client = await RespTestClient.connect(gateway);
      assert.equal(await client.send("AUTH", "iam-user-01", await token()), "OK");
      // SET, then a command with an array as an argument, in one write.
      await client.write("*3\r\n$3\r\nSET\r\n$6\r\nnested\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n*0\r\n");
      assert.equal(await client.read(), "OK");
      assert.equal(await client.read(), "-ERR Protocol error: expected '$', got '*'");
      assert.ok(await client.closedByServer());
      // A bulk string longer than Redis' 512 MiB: refused at its header.
      await using big = await RespTestClient.connect(gateway);
      assert.equal(await big.send("AUTH", "iam-user-01", await token()), "OK");
      await big.write("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$536870913\r\n");
      assert.equal(await big.read(), "PONG");
      assert.equal(await big.read(), "-ERR Protocol error: invalid bulk length");
      assert.ok(await big.closedByServer());
    },
  );

  await t.step(
    "a malformed frame behind a blocking command is answered after it, however long it blocks",
    async () => {
      emu.clock.set(START);
      await using client = await RespTestClient.connect(gateway);
      assert.equal(await client.send("AUTH", "iam-user-01", await token()), "OK");
      // BLPOP blocks 5.5 s; the gateway used to give the backend 5 s, then close.
      await client.write(
        "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n" +
          "*3\r\n$5\r\nBLPOP\r\n$5\r\nempty\r\n$3\r\n5.5\r\n" +
          "*1\r\n*0\r\n",
      );
      assert.equal(await client.read(), "OK");
      assert.equal(await client.read(), null);
      assert.equal(await client.read(), "-ERR Protocol error: expected '$', got '*'");
      assert.ok(await client.closedByServer());
    },
  );

  await t.step(
    "a serverless cache refuses a request of more than 3,999 arguments; other caches do not",
    async () => {
      emu.clock.set(START);
      // One hash tag: a serverless cache refuses keys of different slots (CROSSSLOT).
      const args = (n: number) => ["DEL", ...Array.from({ length: n - 1 }, (_, i) => `{t}k${i}`)];
      await using cache = await RespTestClient.connect(serverless);
      assert.equal(
        await cache.send(
          "AUTH",
          "iam-user-01",
          await token({ serverlessCacheName: "my-serverless" }),
        ),
        "OK",
      );
      assert.equal(await cache.send(...args(3999)), 0);
      assert.equal(
        await cache.send(...args(4000)),
        "-ERR Protocol error: invalid multibulk length",
      );
      assert.ok(await cache.closedByServer());
      assert.ok(
        logged.some((line) =>
          /my-serverless gateway: #\d+ protocol error, answered by the backend: 4000 arguments in one request; serverless allows 3999/
            .test(line)
        ),
      );
      await using group = await RespTestClient.connect(gateway);
      assert.equal(await group.send("AUTH", "iam-user-01", await token()), "OK");
      assert.equal(await group.send(...args(10_000)), 0);
    },
  );

  await t.step("the age cap closes a connection unless a re-auth extended it", async () => {
    emu.clock.set(START);
    await using kept = await RespTestClient.connect(gateway);
    await using dropped = await RespTestClient.connect(gateway);
    await using idle = await RespTestClient.connect(gateway);
    assert.equal(await kept.send("AUTH", "iam-user-01", await token()), "OK");
    assert.equal(await dropped.send("AUTH", "iam-user-01", await token()), "OK");
    emu.clock.advance(30_000);
    assert.equal(await kept.send("AUTH", "iam-user-01", await token()), "OK");
    assert.equal(await kept.send("AUTH", "iam-user-01", "refused"), REFUSED); // Does not extend.
    emu.clock.advance(30_000);
    assert.ok(await dropped.closedByServer(), "60 s after its only AUTH the connection is closed");
    assert.equal(await kept.send("PING"), "PONG");
    assert.equal(await idle.send("PING"), `-${NOAUTH}`); // Never authenticated: no cap.
    emu.clock.advance(29_000); // Real time flows too: leave a second of slack each side.
    assert.equal(await kept.send("PING"), "PONG");
    emu.clock.advance(1_000);
    assert.ok(await kept.closedByServer(), "60 s after its re-auth the connection is closed");
    assert.ok(logged.some((line) => line.includes("connection age cap of 60000 ms reached")));
  });
});

Deno.test("TLS gateway: a certificate for localhost and 127.0.0.1, its CA handed out, and a real-time cap", async () => {
  await using emu = await startEmulator({
    tls: true,
    connectionMaxAgeMs: 200,
    iamUsers: [{
      userName: "developer",
      accessKeys: [DEVELOPER],
      policies: [{ Statement: { Effect: "Allow", Action: "elasticache:Connect", Resource: "*" } }],
    }],
  });
  assert.equal(emu.gateway.tls, true);
  assert.match(emu.gateway.caCertPem ?? "", /^-----BEGIN CERTIFICATE-----/);
  const token = await createAuthToken({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: "us-east-1",
    credentials: DEVELOPER,
  });
  // By IP address, as well as by name (the helper connects to "localhost").
  const byIp = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: emu.gateway.port,
    caCerts: [emu.gateway.caCertPem!],
  });
  await byIp.handshake();
  byIp.close();
  const untrusting = await Deno.connectTls({ hostname: "localhost", port: emu.gateway.port });
  await assert.rejects(untrusting.handshake(), /certificate/i, "an unknown CA is refused");
  untrusting.close();
  await using client = await RespTestClient.connect(emu.gateway);
  const hello = mapToObject(await client.send("HELLO", "3", "AUTH", "iam-user-01", token));
  assert.equal(hello.proto, 3);
  assert.equal(await client.send("SET", "tls", "yes"), "OK");
  assert.equal(await client.send("GET", "tls"), "yes");
  const closedAt = performance.now();
  assert.ok(await client.closedByServer(), "closed by the 200 ms cap");
  assert.ok(performance.now() - closedAt < 5_000);
});

/** Presigns a token with aws4fetch directly, for shapes `createAuthToken` refuses to make. */
async function presign(overrides: Record<string, string>): Promise<string> {
  const url = new URL("https://replication-group-01/");
  url.searchParams.set("Action", "connect");
  url.searchParams.set("User", "iam-user-01");
  url.searchParams.set("X-Amz-Expires", "900");
  for (const [name, value] of Object.entries(overrides)) url.searchParams.set(name, value);
  const signer = new AwsV4Signer({
    url: url.toString(),
    method: "GET",
    service: "elasticache",
    region: "us-east-1",
    accessKeyId: DEVELOPER.accessKeyId,
    secretAccessKey: DEVELOPER.secretAccessKey,
    datetime: new Date(START).toISOString().replace(/[-:]|\.\d{3}/g, ""),
    signQuery: true,
  });
  const signed = await signer.sign();
  return `replication-group-01/?${signed.url.searchParams.toString()}`;
}

Deno.test("an existing Redis as backend: users created, default user disabled, both undone on close", async () => {
  await using redis = await startRedisServer();
  const direct = async (...command: string[]) => {
    await using client = await RespTestClient.connect({
      hostname: redis.hostname,
      port: redis.port,
      tls: false,
    });
    return await client.send(...command);
  };
  assert.equal(await direct("PING"), "PONG");
  {
    await using emu = await startEmulator({
      backend: { port: redis.port },
      iamUsers: [{
        userName: "developer",
        accessKeys: [DEVELOPER],
        policies: [{
          Statement: { Effect: "Allow", Action: "elasticache:Connect", Resource: "*" },
        }],
      }],
    });
    assert.equal(await direct("PING"), `-${NOAUTH}`, "the default user is disabled");
    await using client = await RespTestClient.connect(emu.gateway);
    const token = await createAuthToken({
      replicationGroupId: "replication-group-01",
      userId: "iam-user-01",
      region: "us-east-1",
      credentials: DEVELOPER,
    });
    assert.equal(await client.send("AUTH", "iam-user-01", token), "OK");
    assert.equal(await client.send("ACL", "WHOAMI"), "iam-user-01");
  }
  assert.equal(await direct("PING"), "PONG", "the default user is enabled again");
  assert.deepEqual(await direct("ACL", "USERS"), ["default"]);
});
