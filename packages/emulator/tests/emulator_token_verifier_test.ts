/**
 * The emulator's token check, on its own: botocore's golden tokens are
 * accepted at their dates whatever the parameter order, and every single
 * alteration is refused for the right reason (the gateway tests check the
 * same over a socket, with ElastiCache's exact reply).
 */

import assert from "node:assert/strict";
import { verifyAuthToken } from "../src/auth_token_verifier.ts";
import { resolveConfig } from "../src/config.ts";
import { CredentialStore } from "../src/credential_store.ts";
import type { EmulatorConfig } from "../mod.ts";
import {
  loadVectors,
  paramOf,
  userArn,
  type Vector,
  vectorConfig,
  withParam,
} from "../../../tests/_helpers/emulator_vectors.ts";

const vectors = loadVectors();
const byName = (name: string) => vectors.find((v) => v.name === name)!;
const longTerm = byName("replication group, long-term keys");
const session = byName("replication group, session token");
const serverless = byName("serverless cache");
const memorydb = byName("memorydb cluster");

function checker(config: EmulatorConfig = vectorConfig(vectors)) {
  const resolved = resolveConfig(config, "http://127.0.0.1:1");
  const credentials = new CredentialStore(resolved);
  return async (user: string, token: string, now: number) =>
    await verifyAuthToken(user, token, { config: resolved, credentials, now });
}

const check = checker();

async function refused(
  v: Vector,
  token: string,
  reason: RegExp,
  options: { user?: string; now?: number; check?: ReturnType<typeof checker> } = {},
) {
  const verdict = await (options.check ?? check)(
    options.user ?? v.userId,
    token,
    options.now ?? v.signedAt,
  );
  assert.equal(verdict.ok, false, `expected a refusal matching ${reason}`);
  if (!verdict.ok) assert.match(verdict.reason, reason);
}

Deno.test("every golden token is accepted at its signing date and until it expires", async () => {
  for (const v of vectors) {
    for (const now of [v.signedAt, v.signedAt + v.expiresIn * 1000]) {
      const verdict = await check(v.userId, v.expected, now);
      assert.ok(verdict.ok, `${v.name}: ${verdict.ok ? "" : verdict.reason}`);
      assert.equal(verdict.cache.name, v.cacheName);
      assert.equal(verdict.user.userId, v.userId);
    }
  }
});

Deno.test("golden tokens are accepted whatever the order of their parameters", async () => {
  for (const v of vectors) {
    const [host, query] = v.expected.split("/?") as [string, string];
    const pairs = query.split("&");
    for (const order of [pairs.slice().reverse(), [...pairs.slice(3), ...pairs.slice(0, 3)]]) {
      const verdict = await check(v.userId, `${host}/?${order.join("&")}`, v.signedAt);
      assert.ok(verdict.ok, `${v.name}: ${verdict.ok ? "" : verdict.reason}`);
    }
  }
});

Deno.test("percent-encoding is compared in canonical form (lowercase hex is the same byte)", async () => {
  const token = session.expected.replaceAll("%2F", "%2f");
  assert.notEqual(token, session.expected);
  assert.ok((await check(session.userId, token, session.signedAt)).ok);
});

Deno.test("an altered signature is refused", async () => {
  const signature = paramOf(longTerm.expected, "X-Amz-Signature")!;
  const flipped = signature.slice(0, -1) + (signature.endsWith("0") ? "1" : "0");
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Signature", flipped),
    /signature mismatch/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Signature", signature.toUpperCase()),
    /signature mismatch/,
  );
});

Deno.test("the AUTH user name must be the token's User", async () => {
  await refused(longTerm, longTerm.expected, /differs from the AUTH user name 'app-user'/, {
    user: "app-user",
  });
  await refused(longTerm, longTerm.expected, /differs from the AUTH user name/, {
    user: "IAM-USER-01",
  });
  // Both changed together: the signature no longer matches.
  await refused(
    longTerm,
    withParam(longTerm.expected, "User", "app-user"),
    /not in the user group|signature mismatch/,
    {
      user: "app-user",
    },
  );
});

Deno.test("the host must be a configured cache in the token's region and service", async () => {
  const [, query] = longTerm.expected.split("/?");
  await refused(longTerm, `unknown-cache/?${query}`, /not a configured cache name/);
  await refused(longTerm, `Replication-Group-01/?${query}`, /not a configured cache name/);
  await refused(
    longTerm,
    `my-cache/?${query}`,
    /region 'us-east-1' is not the region of cache 'my-cache'/,
  );
  await refused(
    longTerm,
    `replication-group-01.abc123.use1.cache.amazonaws.com/?${query}`,
    /not a configured cache name/,
  );
  await refused(longTerm, `https://${longTerm.expected}`, /scheme/);
});

Deno.test("the credential scope must name the cache's region and service", async () => {
  const credential = paramOf(longTerm.expected, "X-Amz-Credential")!;
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Credential", credential.replace("us-east-1", "eu-west-1")),
    /region 'eu-west-1' is not the region/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Credential", credential.replace("elasticache", "memorydb")),
    /service 'memorydb' is not the service/,
  );
  const mdbCredential = paramOf(memorydb.expected, "X-Amz-Credential")!;
  await refused(
    memorydb,
    withParam(
      memorydb.expected,
      "X-Amz-Credential",
      mdbCredential.replace("memorydb", "elasticache"),
    ),
    /service 'elasticache' is not the service/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Credential", credential.replace("aws4_request", "aws4")),
    /aws4_request/,
  );
});

Deno.test("the date must match the scope and the token must be neither expired nor from the future", async () => {
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Date", "20261124T120000Z"),
    /scope date/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Date", "20261123T120001Z"),
    /signature mismatch/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Date", "20261123 120000"),
    /malformed/,
  );
  await refused(longTerm, longTerm.expected, /expired at 2026-11-23T12:15:00.000Z/, {
    now: longTerm.signedAt + 900_001,
  });
  const short = byName("shorter expiry");
  await refused(short, short.expected, /expired at 2026-11-23T12:05:00.000Z/, {
    now: short.signedAt + 300_001,
  });
  // Up to five minutes of forward skew are tolerated, not more.
  assert.ok((await check(longTerm.userId, longTerm.expected, longTerm.signedAt - 300_000)).ok);
  await refused(longTerm, longTerm.expected, /in the future/, { now: longTerm.signedAt - 300_001 });
});

Deno.test("X-Amz-Expires must be 1 to 900 seconds", async () => {
  for (const value of ["901", "0", "-1", "abc", "3600"]) {
    await refused(longTerm, withParam(longTerm.expected, "X-Amz-Expires", value), /X-Amz-Expires/);
  }
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Expires", "899"),
    /signature mismatch/,
  );
});

Deno.test("ResourceType=ServerlessCache is required for serverless caches and refused for others", async () => {
  await refused(
    serverless,
    withParam(serverless.expected, "ResourceType", undefined),
    /no ResourceType/,
  );
  await refused(
    serverless,
    withParam(serverless.expected, "ResourceType", "Cache"),
    /ResourceType 'Cache'/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "ResourceType", "ServerlessCache"),
    /is not serverless/,
  );
  await refused(
    memorydb,
    withParam(memorydb.expected, "ResourceType", "ServerlessCache"),
    /is not serverless/,
  );
});

Deno.test("the session token must belong to the access key", async () => {
  await refused(
    session,
    withParam(session.expected, "X-Amz-Security-Token", session.sessionToken + "x"),
    /session token does not belong/,
  );
  await refused(
    session,
    withParam(session.expected, "X-Amz-Security-Token", undefined),
    /no session token/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Security-Token", "IQoJexample"),
    /long-term key/,
  );
});

Deno.test("unknown keys and malformed tokens are refused", async () => {
  const credential = paramOf(longTerm.expected, "X-Amz-Credential")!;
  await refused(
    longTerm,
    withParam(
      longTerm.expected,
      "X-Amz-Credential",
      credential.replace("AKIDEXAMPLE", "AKIDOTHER"),
    ),
    /access key 'AKIDOTHER' is not known/,
  );
  await refused(longTerm, `${longTerm.expected}&Extra=1`, /unexpected parameter 'Extra'/);
  await refused(longTerm, `${longTerm.expected}&User=iam-user-01`, /repeats the parameter 'User'/);
  await refused(longTerm, withParam(longTerm.expected, "Action", "Connect"), /Action is 'Connect'/);
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Algorithm", "AWS4-HMAC-SHA1"),
    /algorithm/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-SignedHeaders", "host;x-amz-date"),
    /signed headers/,
  );
  await refused(
    longTerm,
    withParam(longTerm.expected, "X-Amz-Signature", undefined),
    /no 'X-Amz-Signature'/,
  );
  await refused(longTerm, longTerm.expected.replace("%2F", "%zz"), /percent-encoding/);
  for (const garbage of ["", "token", "replication-group-01/", "replication-group-01/?"]) {
    await refused(longTerm, garbage, /presigned URL|malformed/);
  }
});

Deno.test("temporary credentials that expired are refused", async () => {
  const expiring = checker(
    vectorConfig(vectors, { expiration: new Date(session.signedAt + 60_000) }),
  );
  const ok = await expiring(session.userId, session.expected, session.signedAt + 59_999);
  assert.ok(ok.ok);
  await refused(
    session,
    session.expected,
    /credentials 'ASIAEXAMPLE' expired at 2026-11-23T12:01:00.000Z/,
    {
      now: session.signedAt + 60_000,
      check: expiring,
    },
  );
});

Deno.test("the caller's policies must allow Connect on both the cache ARN and the user ARN", async () => {
  const cacheOnly = checker(vectorConfig(vectors, {
    policies: [{
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Action: "elasticache:Connect",
        Resource: "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:*",
      }],
    }],
  }));
  await refused(
    longTerm,
    longTerm.expected,
    new RegExp(`not allowed elasticache:Connect on ${userArn(longTerm)} \\(implicit-deny\\)`),
    {
      check: cacheOnly,
    },
  );

  const denied = checker(vectorConfig(vectors, {
    policies: [{
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "*", Resource: "*" },
        {
          Effect: "Deny",
          Action: "elasticache:Conn*",
          Resource: "arn:aws:elasticache:*:*:replicationgroup:replication-group-0?",
        },
      ],
    }],
  }));
  await refused(longTerm, longTerm.expected, /\(explicit-deny\)/, { check: denied });
  // The Deny names replication groups only: the serverless cache is still allowed.
  assert.ok((await denied(serverless.userId, serverless.expected, serverless.signedAt)).ok);

  const wildcards = checker(vectorConfig(vectors, {
    policies: [{
      Statement: {
        Effect: "Allow",
        Action: "ElastiCache:*",
        Resource: ["arn:aws:elasticache:us-east-?:123456789012:*"],
      },
    }],
  }));
  assert.ok((await wildcards(longTerm.userId, longTerm.expected, longTerm.signedAt)).ok);
  await refused(memorydb, memorydb.expected, /memorydb:Connect/, { check: wildcards });
});

Deno.test("a user outside the cache's user group, or disabled, is refused", async () => {
  const base = vectorConfig(vectors);
  const outside = checker({
    ...base,
    caches: base.caches!.map((c) =>
      c.replicationGroupId === "replication-group-01" && c.region === "us-east-1"
        ? { ...c, userIds: ["default", "app-user"] }
        : c
    ),
  });
  await refused(longTerm, longTerm.expected, /not in the user group/, { check: outside });
  const disabled = checker({
    ...base,
    users: base.users!.map((u) =>
      u.userId === "iam-user-01" ? { ...u, accessString: "off ~* +@all" } : u
    ),
  });
  await refused(longTerm, longTerm.expected, /disabled/, { check: disabled });
});
