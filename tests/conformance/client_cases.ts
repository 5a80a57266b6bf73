/**
 * Conformance: the thin client against the emulator's IAM gateways, on the
 * runtime's own sockets (Deno's, `node:net`/`node:tls`, or `cloudflare:sockets`
 * in a Worker): connect, IAM auth, commands, pipelines, transactions,
 * pub/sub, refused tokens, re-auth before the 12-hour cut, reconnect, and
 * web identity credentials through the emulator's STS.
 *
 * @module
 */

import {
  type AuthCredentials,
  type AuthProvider,
  type CacheTarget,
  type ConnectOptions,
  type CredentialsInput,
  fromEnv,
  fromWebIdentity,
  IamAuth,
  ReplyError,
} from "../../mod.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import type { ConformanceContext } from "./_context.ts";
import type { ConformanceCase } from "./cases.ts";

const HOUR = 60 * 60 * 1000;

/** A token manager for the emulator's replication group with Lambda-style environment keys. */
function lambdaAuth(
  ctx: ConformanceContext,
  cache: CacheTarget = { replicationGroupId: ctx.info.caches.replicationGroupId },
  credentials: CredentialsInput = fromEnv({ env: ctx.info.lambdaEnv }),
): IamAuth {
  return new IamAuth({
    ...cache,
    userId: ctx.info.userId,
    region: ctx.info.region,
    credentials,
    now: ctx.now,
  });
}

function tlsOptions(ctx: ConformanceContext, auth: AuthProvider): ConnectOptions {
  return { ...ctx.tlsTarget(), auth, now: ctx.now };
}

/** Real-time polling, for what the server does in the background. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A unique key prefix per case run, so runtimes can share the emulators. */
function keyPrefix(ctx: ConformanceContext): string {
  return `conformance:${ctx.runtime}:${Math.random().toString(36).slice(2, 10)}`;
}

/** The client cases. */
export const clientCases: ConformanceCase[] = [
  {
    name: "client: IAM auth over TLS with Lambda environment credentials, then typed commands",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      const before = await ctx.stats();
      await using client = await ctx.connect(tlsOptions(ctx, auth));
      const k = keyPrefix(ctx);
      assertEquals(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
      assertEquals(await client.set(`${k}:s`, "hello", { ex: 60 }), "OK");
      assertEquals(await client.get(`${k}:s`), "hello");
      assert((await client.ttl(`${k}:s`)) > 0, "SET EX sets a TTL");
      assertEquals(await client.hset(`${k}:h`, { a: 1, b: "two" }), 2);
      assertEquals(await client.hgetall(`${k}:h`), { a: "1", b: "two" });
      assertEquals(await client.incr(`${k}:n`), 1);
      assertEquals(await client.incrby(`${k}:n`, 41), 42);
      assertEquals(await client.rpush(`${k}:l`, "x", "y"), 2);
      assertEquals(await client.lrange(`${k}:l`, 0, -1), ["x", "y"]);
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await client.set(`${k}:bin`, bytes);
      assertEquals(await client.getBuffer(`${k}:bin`), bytes);
      const error = await assertRejects(client.incr(`${k}:s`), "ReplyError");
      assert(error instanceof ReplyError, "an instance of the exported ReplyError");
      assertEquals(error.code, "ERR");
      assertEquals(await client.del(`${k}:s`, `${k}:h`, `${k}:n`, `${k}:l`, `${k}:bin`), 5);
      assertEquals((await ctx.stats()).accepted - before.accepted, 1, "one HELLO AUTH");
    },
  },
  {
    name: "client: plaintext RESP2 (AUTH) on loopback",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      await using client = await ctx.connect({
        ...ctx.plainTarget(),
        auth,
        protocol: 2,
        now: ctx.now,
      });
      assertEquals(await client.ping(), "PONG");
      assertEquals(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
      assertEquals(await client.send(["HELLO"]).then((r) => (r as unknown[])[5]), 2);
    },
  },
  {
    name:
      "client: serverless (ResourceType) and MemoryDB (service memorydb) tokens are accepted at their own endpoints",
    async run(ctx) {
      for (const kind of ["serverlessCacheName", "memoryDbClusterName"] as const) {
        const target = { [kind]: ctx.info.caches[kind] } as CacheTarget;
        using auth = lambdaAuth(ctx, target);
        const { password } = await auth.credentials();
        if (kind === "serverlessCacheName") assertMatch(password, /ResourceType=ServerlessCache/);
        else assertMatch(password, /%2Fmemorydb%2Faws4_request/);
        // Each cache has its own endpoint, which refuses a token for another cache.
        await using client = await ctx.connect({ ...ctx.tlsTarget(kind), auth, now: ctx.now });
        assertEquals(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
        using other = lambdaAuth(ctx);
        await assertRejects(
          ctx.connect({ ...ctx.tlsTarget(kind), auth: other, now: ctx.now }),
          "AuthenticationError",
        );
      }
    },
  },
  {
    name: "client: a pipeline of 1,000 commands and a MULTI/EXEC transaction",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      await using client = await ctx.connect(tlsOptions(ctx, auth));
      const k = keyPrefix(ctx);
      const pipeline = client.pipeline();
      for (let i = 0; i < 1000; i++) pipeline.incr(`${k}:n`);
      const results = await pipeline.exec<number[]>();
      assertEquals(results.length, 1000);
      assertEquals(results[999], 1000);
      assertEquals(await client.multi().incr(`${k}:n`).get(`${k}:n`).exec(), [1001, "1001"]);
      await client.del(`${k}:n`);
    },
  },
  {
    name: "client: RESP3 pub/sub on the shared connection",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      await using client = await ctx.connect(tlsOptions(ctx, auth));
      const channel = `${keyPrefix(ctx)}:news`;
      const seen: string[] = [];
      await using _subscription = await client.subscribe(
        channel,
        (message, from) => seen.push(`${from}:${message}`),
      );
      assertEquals(await client.publish(channel, "hello"), 1);
      await until(() => seen.length > 0, "the message");
      assertEquals(seen, [`${channel}:hello`]);
    },
  },
  {
    name: "client: a stale token is refused (WRONGPASS), one fresh token is minted and accepted",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      let refreshes = 0;
      const staleFirst: AuthProvider = {
        async credentials(): Promise<AuthCredentials> {
          const { username, password } = await auth.credentials();
          return {
            username,
            password: password.replace(
              /X-Amz-Signature=[0-9a-f]+/,
              `X-Amz-Signature=${"0".repeat(64)}`,
            ),
          };
        },
        refresh() {
          refreshes++;
          return auth.refresh();
        },
      };
      const before = await ctx.stats();
      await using client = await ctx.connect(tlsOptions(ctx, staleFirst));
      assertEquals(await client.ping(), "PONG");
      const after = await ctx.stats();
      assertEquals(refreshes, 1);
      assertEquals(after.refused - before.refused, 1);
      assertEquals(after.accepted - before.accepted, 1);
    },
  },
  {
    name: "client: a token the server keeps refusing fails with the likely causes and no secret",
    async run(ctx) {
      const tokens: string[] = [];
      using auth = lambdaAuth(ctx, { replicationGroupId: "replication-group-99" });
      const recording: AuthProvider = {
        credentials: () => auth.credentials().then((c) => (tokens.push(c.password), c)),
        refresh: () => auth.refresh().then((c) => (tokens.push(c.password), c)),
      };
      const error = await assertRejects(
        ctx.connect(tlsOptions(ctx, recording)),
        "AuthenticationError",
        /WRONGPASS invalid username-password pair or user is disabled/,
      );
      assertMatch(error.message, /as 'iam-user-01'/);
      assertMatch(error.message, /Likely causes: .*cache name/);
      assertEquals(tokens.length, 2, "one token, then one fresh token");
      for (const token of tokens) {
        assert(!error.message.includes(token), "the token is in the message");
        assert(!String(error.stack).includes(token), "the token is in the stack");
      }
      assert(!error.message.includes(ctx.info.lambdaEnv.AWS_SECRET_ACCESS_KEY!), "secret key");
    },
  },
  {
    name: "client: re-authenticates before the 12-hour cut and keeps its connection",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      const errors: Error[] = [];
      await using client = await ctx.connect({
        ...tlsOptions(ctx, auth),
        onError: (error) => errors.push(error),
      });
      const id = await client.send(["CLIENT", "ID"]);
      const accepted = (await ctx.stats()).accepted;
      await ctx.advanceClock(11 * HOUR + 60_000); // past reauthAfter (11 h), before the cut
      assertEquals(await client.ping(), "PONG"); // due: this command starts the re-auth
      await until(async () => (await ctx.stats()).accepted === accepted + 1, "the re-auth");
      await ctx.advanceClock(2 * HOUR); // 13 h after the first AUTH, 2 h after the second
      await new Promise((resolve) => setTimeout(resolve, 20));
      assertEquals(client.connected, true, "the connection survived the first cap");
      assertEquals(await client.send(["CLIENT", "ID"]), id, "still the first connection");
      assertEquals(errors.map((e) => e.message), []);
    },
  },
  {
    name:
      "client: after the server cuts the connection, the next command reconnects with a fresh token",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      await using client = await ctx.connect({
        ...tlsOptions(ctx, auth),
        reauthAfter: false, // no re-auth: let the 12-hour cap cut the connection
      });
      const k = keyPrefix(ctx);
      const id = await client.send(["CLIENT", "ID"]);
      assertEquals(await client.incr(`${k}:n`), 1);
      const accepted = (await ctx.stats()).accepted;
      await ctx.advanceClock(12 * HOUR + 60_000); // the first token expired long ago
      await until(() => !client.connected, "the cut");
      assertEquals(await client.incr(`${k}:n`), 2);
      assert((await client.send(["CLIENT", "ID"])) !== id, "a new connection");
      assertEquals((await ctx.stats()).accepted, accepted + 1, "one AUTH with a fresh token");
      await client.del(`${k}:n`);
    },
  },
  {
    name:
      "client: a command in flight fails with ConnectionClosedError when the connection is killed",
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      await using client = await ctx.connect(tlsOptions(ctx, auth));
      await using killer = await ctx.connect(tlsOptions(ctx, auth));
      const mainId = String(await client.send(["CLIENT", "ID"]));
      const blocked = client.send(["BLPOP", `${keyPrefix(ctx)}:never`, "5"]).catch((e) => e);
      // The BLPOP waits on a connection of its own (the client's first one stays free).
      let id: string | undefined;
      await until(async () => {
        const lines = String(await killer.send(["CLIENT", "LIST"])).split("\n");
        id = lines.map((line) => /^id=(\d+) .*\bcmd=blpop\b/.exec(line)?.[1]).find(Boolean);
        return id !== undefined;
      }, "the BLPOP");
      assert(id !== mainId, "the BLPOP is not on the client's first connection");
      await killer.send(["CLIENT", "KILL", "ID", id!]);
      const error = await blocked;
      assertEquals((error as Error)?.name, "ConnectionClosedError");
      assertEquals(await client.ping(), "PONG", "the next command reconnects");
    },
  },
  {
    name: "client: TLS refuses a certificate from an untrusted CA at connect",
    skip: {
      workerd:
        "a Worker cannot pass caCerts; workerd trusts the emulator's CA process-wide (NODE_EXTRA_CA_CERTS)",
    },
    async run(ctx) {
      using auth = lambdaAuth(ctx);
      const { caCerts: _trusted, ...untrusted } = ctx.tlsTarget();
      await assertRejects(
        ctx.connect({ ...untrusted, auth, now: ctx.now, reconnect: false }),
        "ConnectionClosedError",
      );
    },
  },
  {
    name:
      "credentials: web identity (OIDC token callback → STS AssumeRoleWithWebIdentity) signs an accepted token",
    async run(ctx) {
      let tokensAsked = 0;
      const credentials = fromWebIdentity({
        roleArn: ctx.info.roleArn,
        webIdentityToken: () => (tokensAsked++, ctx.webIdentityToken()),
        stsEndpoint: ctx.info.stsEndpoint,
        region: ctx.info.region,
        now: ctx.now,
      });
      using auth = lambdaAuth(ctx, undefined, credentials);
      // The plaintext emulator's STS issued the credentials: its gateway knows them.
      await using client = await ctx.connect({ ...ctx.plainTarget(), auth, now: ctx.now });
      assertEquals(await client.send(["ACL", "WHOAMI"]), "iam-user-01");
      assertEquals(tokensAsked, 1);
    },
  },
  {
    name:
      "credentials: web identity refused by STS (AccessDenied) is a CredentialsError naming STS's code, without the JWT",
    async run(ctx) {
      const jwt = await ctx.webIdentityToken();
      const untrusted = ctx.info.roleArn.replace(/role\/.*$/, "role/not-configured");
      const credentials = fromWebIdentity({
        roleArn: untrusted,
        webIdentityToken: jwt,
        stsEndpoint: ctx.info.stsEndpoint,
        region: ctx.info.region,
        now: ctx.now,
      });
      const error = await assertRejects(
        credentials(),
        "CredentialsError",
        /^Cannot assume role arn:aws:iam::\d{12}:role\/not-configured with web identity: STS answered AccessDenied \(HTTP 403\): Not authorized to perform sts:AssumeRoleWithWebIdentity/,
      );
      assert(!String(error.stack).includes(jwt), "the JWT is not in the error");
      assertEquals((error.cause as { code?: unknown }).code, "AccessDenied");
    },
  },
];
