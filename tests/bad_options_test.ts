/**
 * Bad options to every public function and constructor of `mod.ts` and
 * `src/emulator/mod.ts`: each is refused with a `TypeError` or `RangeError`
 * whose message names the option, before any I/O. For each row the test
 * checks that
 *
 * - the call throws (or rejects with) the expected class, and the message
 *   names the option (as a word) and shows none of the secrets in the
 *   options around it;
 * - nothing was attempted: every socket, server, process, fetch and file
 *   entry point is stubbed out while the call runs (`fuzz/_io_probe.ts`),
 *   the credentials provider and web-identity token callback in the options
 *   count their calls, and the loopback listener whose port the options give
 *   counts connections: all stay at zero.
 *
 * Adding a function is one `subject(...)` line; adding a case is one row of
 * `CASES` (see the commented rows for the thin client and the integrations).
 *
 * Rows tagged with a bug id document a missing check (reported to the
 * lead); they fail until it is fixed. `SKIP_KNOWN_BUGS=1` skips them.
 */

import assert from "node:assert/strict";
import {
  cacheCredentials,
  createAuthToken,
  defaultCredentials,
  fromEnv,
  fromWebIdentity,
  IamAuth,
  ReplyError,
} from "../mod.ts";
import {
  defaultTrustPolicy,
  type Emulator,
  EmulatorClock,
  loadEmulatorConfig,
  startEmulator,
} from "@elasticache-iam/emulator";
import { RecordingListener, withoutIo } from "./fuzz/_io_probe.ts";

const SECRET = "badOptionsSECRETaccessKEY/0123456789+abcd";
const SESSION = "badOptionsSESSIONtoken/0123456789+abcdefghijklmnop==";
const JWT =
  "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiYWQtb3B0aW9ucyJ9.badOptionsJwtSignaturePart0123456789";

/** What a row can hand to the call: counted seams and a port that records connections. */
class Probe {
  providerCalls = 0;
  tokenCalls = 0;
  constructor(readonly port: number) {}

  /** A credentials provider that counts its calls. */
  readonly provider = () => {
    this.providerCalls++;
    return Promise.resolve({
      accessKeyId: "AKIABADOPTIONS000001",
      secretAccessKey: SECRET,
      sessionToken: SESSION,
    });
  };

  /** A web-identity token callback that counts its calls. */
  readonly token = () => {
    this.tokenCalls++;
    return Promise.resolve(JWT);
  };
}

type Options = Record<string, unknown>;
/** Marks an option as left out. */
const ABSENT = Symbol("absent");

/** A public function with valid arguments, and how to call it with options. */
interface Subject {
  name: string;
  valid: (probe: Probe) => Options;
  call: (options: Options, probe: Probe) => unknown;
}

function subject(
  name: string,
  valid: (probe: Probe) => Options,
  call: (options: Options, probe: Probe) => unknown,
): Subject {
  return { name, valid, call };
}

// ---------------------------------------------------------------- the functions

const target = {
  replicationGroupId: "replication-group-01",
  userId: "iam-user-01",
  region: "us-east-1",
};

let emulator: Emulator | undefined;
/** One emulator for the rows that test its methods, started on first use. */
async function runningEmulator(): Promise<Emulator> {
  emulator ??= await startEmulator();
  return emulator;
}

const S = {
  createAuthToken: subject(
    "createAuthToken",
    (p) => ({ ...target, credentials: p.provider }),
    (o) => createAuthToken(o as never),
  ),
  IamAuth: subject(
    "new IamAuth",
    (p) => ({ ...target, credentials: p.provider }),
    (o) => new IamAuth(o as never),
  ),
  fromEnv: subject(
    "fromEnv",
    () => ({ env: { AWS_ACCESS_KEY_ID: "AKIABADOPTIONS000001", AWS_SECRET_ACCESS_KEY: SECRET } }),
    (o) => fromEnv(o as never),
  ),
  fromWebIdentity: subject(
    "fromWebIdentity",
    (p) => ({
      roleArn: "arn:aws:iam::123456789012:role/app",
      webIdentityToken: p.token,
      region: "us-east-1",
      stsEndpoint: `http://127.0.0.1:${p.port}`,
      env: {},
    }),
    (o) => fromWebIdentity(o as never),
  ),
  defaultCredentials: subject(
    "defaultCredentials",
    () => ({ env: { AWS_ACCESS_KEY_ID: "AKIABADOPTIONS000001", AWS_SECRET_ACCESS_KEY: SECRET } }),
    (o) => defaultCredentials(o as never),
  ),
  cacheCredentials: subject(
    "cacheCredentials",
    (p) => ({ provider: p.provider, options: {} }),
    (o) => cacheCredentials(o.provider as never, o.options as never),
  ),
  startEmulator: subject(
    "startEmulator",
    () => ({ config: {} }),
    (o) => startEmulator(o.config as never),
  ),
  loadEmulatorConfig: subject(
    "loadEmulatorConfig",
    () => ({ path: "/nonexistent/emulator.json" }),
    (o) => loadEmulatorConfig(o.path as never),
  ),
  EmulatorClock: subject(
    "new EmulatorClock",
    () => ({ realNow: Date.now }),
    (o) => new EmulatorClock(o.realNow as never),
  ),
  advance: subject(
    "EmulatorClock#advance",
    () => ({ ms: 1000 }),
    (o) => new EmulatorClock().advance(o.ms as never),
  ),
  set: subject(
    "EmulatorClock#set",
    () => ({ date: new Date() }),
    (o) => new EmulatorClock().set(o.date as never),
  ),
  defaultTrustPolicy: subject(
    "defaultTrustPolicy",
    () => ({ accountId: "123456789012", partition: "aws" }),
    (o) => defaultTrustPolicy(o.accountId as never, o.partition as never),
  ),
  roleArn: subject(
    "Emulator#roleArn",
    () => ({ roleName: "elasticache-iam-auth-app" }),
    async (o) => (await runningEmulator()).roleArn(o.roleName as never),
  ),
  mintToken: subject(
    "Emulator#oidc.mintToken",
    () => ({ options: { sub: "bad-options", aud: "sts.amazonaws.com" } }),
    async (o) => await (await runningEmulator()).oidc.mintToken(o.options as never),
  ),
  ReplyError: subject(
    "new ReplyError",
    () => ({ reply: "ERR x" }),
    (o) => new ReplyError(o.reply as never),
  ),
  // The thin client, node-redis and ioredis helpers: their owners add a subject here, e.g.
  // connect: subject("connect", (p) => ({ host: "127.0.0.1", port: p.port, auth: … }), (o) => connect(o as never)),
};
// The error classes CredentialsError, AuthenticationError, ConnectionClosedError, ProtocolError
// and TimeoutError take any message and `ErrorOptions`, like `Error`: they have no bad options.

// ---------------------------------------------------------------- the rows

type ErrorClass = typeof TypeError | typeof RangeError;
/** Either class is acceptable (a number of the wrong type, say). */
const EITHER = [TypeError, RangeError] as const;

interface Case {
  subject: Subject;
  /** The option's path in the subject's options (`retry.initialDelay`), or `""` for the whole. */
  path: string;
  value: unknown;
  error: ErrorClass | typeof EITHER;
  /** The word the message must contain; by default the path's last segment. */
  names?: string;
  /** The bug report that documents a missing check. */
  bug?: string;
}

function bad(
  subject: Subject,
  path: string,
  value: unknown,
  error: ErrorClass | typeof EITHER,
  extra: { names?: string; bug?: string } = {},
): Case {
  return { subject, path, value, error, ...extra };
}

const CASES: Case[] = [
  // createAuthToken
  bad(S.createAuthToken, "", null, TypeError, { names: "options" }),
  bad(S.createAuthToken, "", "replication-group-01", TypeError, { names: "options" }),
  bad(S.createAuthToken, "replicationGroupId", ABSENT, TypeError),
  bad(S.createAuthToken, "serverlessCacheName", "my-serverless", TypeError),
  bad(S.createAuthToken, "replicationGroupId", 42, TypeError),
  bad(S.createAuthToken, "replicationGroupId", "", TypeError),
  bad(
    S.createAuthToken,
    "replicationGroupId",
    "master.rg.abc123.use1.cache.amazonaws.com",
    TypeError,
  ),
  bad(S.createAuthToken, "replicationGroupId", "group_01", TypeError),
  bad(S.createAuthToken, "userId", ABSENT, TypeError),
  bad(S.createAuthToken, "userId", 7, TypeError),
  bad(S.createAuthToken, "userId", "1user", TypeError),
  bad(S.createAuthToken, "userId", "iam user", TypeError),
  bad(S.createAuthToken, "region", ABSENT, TypeError),
  bad(S.createAuthToken, "region", "useast1", TypeError),
  bad(S.createAuthToken, "region", 1, TypeError),
  bad(S.createAuthToken, "expiresIn", 0, RangeError),
  bad(S.createAuthToken, "expiresIn", 901, RangeError),
  bad(S.createAuthToken, "expiresIn", 1.5, RangeError),
  bad(S.createAuthToken, "expiresIn", Number.NaN, RangeError),
  bad(S.createAuthToken, "expiresIn", "900", EITHER),
  bad(S.createAuthToken, "signingDate", new Date("nope"), RangeError),
  bad(S.createAuthToken, "signingDate", "2026-11-23T12:00:00Z", EITHER),
  bad(S.createAuthToken, "credentials", ABSENT, TypeError),
  bad(S.createAuthToken, "credentials", "AKIA…", TypeError),
  bad(S.createAuthToken, "credentials", { secretAccessKey: SECRET }, TypeError, {
    names: "accessKeyId",
  }),
  bad(S.createAuthToken, "credentials", { accessKeyId: "AKIA1", secretAccessKey: "" }, TypeError, {
    names: "secretAccessKey",
  }),
  bad(
    S.createAuthToken,
    "credentials",
    { accessKeyId: "AKIA1", secretAccessKey: SECRET, sessionToken: 5 },
    TypeError,
    {
      names: "sessionToken",
    },
  ),
  bad(
    S.createAuthToken,
    "credentials",
    {
      accessKeyId: "AKIA1",
      secretAccessKey: SECRET,
      sessionToken: SESSION,
      expiration: "tomorrow",
    },
    TypeError,
    { names: "expiration" },
  ),

  // new IamAuth
  bad(S.IamAuth, "", undefined, TypeError, { names: "options" }),
  bad(S.IamAuth, "memoryDbClusterName", "my-cluster", TypeError),
  bad(S.IamAuth, "userId", "", TypeError),
  bad(S.IamAuth, "region", "us-east", TypeError),
  bad(S.IamAuth, "credentials", 5, TypeError),
  bad(
    S.IamAuth,
    "credentials",
    { accessKeyId: "AKIA1", secretAccessKey: SECRET, sessionToken: [] },
    TypeError,
    {
      names: "sessionToken",
    },
  ),
  bad(S.IamAuth, "expiresIn", 1000, RangeError),
  bad(S.IamAuth, "refreshAfter", 0, RangeError),
  bad(S.IamAuth, "refreshAfter", 900_000, RangeError),
  bad(S.IamAuth, "refreshAfter", Number.POSITIVE_INFINITY, RangeError),
  bad(S.IamAuth, "refreshAfter", "5000", EITHER),
  bad(S.IamAuth, "expiryMargin", -1, RangeError),
  bad(S.IamAuth, "expiryMargin", 900_000, RangeError),
  bad(S.IamAuth, "retry.initialDelay", 0, RangeError),
  bad(S.IamAuth, "retry.maxDelay", Number.NaN, RangeError),
  bad(S.IamAuth, "now", 1_700_000_000_000, TypeError, { bug: "B1" }),
  bad(S.IamAuth, "random", 0.5, TypeError, { bug: "B1" }),
  bad(S.IamAuth, "retry", 1000, TypeError, { bug: "B1" }),

  // fromEnv, defaultCredentials
  bad(S.fromEnv, "", null, TypeError, { names: "options", bug: "B2" }),
  bad(S.fromEnv, "env", "AWS_ACCESS_KEY_ID=x", TypeError, { bug: "B2" }),
  bad(S.fromEnv, "env", 5, TypeError, { bug: "B2" }),
  bad(S.defaultCredentials, "", null, TypeError, { names: "options", bug: "B2" }),
  bad(S.defaultCredentials, "env", [], TypeError, { bug: "B2" }),

  // fromWebIdentity
  bad(S.fromWebIdentity, "roleArn", ABSENT, TypeError),
  bad(S.fromWebIdentity, "roleArn", "arn:aws:iam::123:role/app", TypeError),
  bad(S.fromWebIdentity, "roleArn", 123456789012, TypeError),
  bad(S.fromWebIdentity, "webIdentityToken", ABSENT, TypeError),
  bad(S.fromWebIdentity, "webIdentityToken", 42, TypeError),
  bad(S.fromWebIdentity, "durationSeconds", 899, RangeError),
  bad(S.fromWebIdentity, "durationSeconds", 43_201, RangeError),
  bad(S.fromWebIdentity, "durationSeconds", "3600", EITHER),
  bad(S.fromWebIdentity, "", null, TypeError, { names: "options", bug: "B3" }),
  bad(S.fromWebIdentity, "webIdentityToken", "", TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "tokenFile", 5, TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "roleSessionName", "x", TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "roleSessionName", "my session!", TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "region", "us east 1", TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "stsEndpoint", "sts.local:443", TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "now", "2026-11-23", TypeError, { bug: "B3" }),
  bad(S.fromWebIdentity, "env", "AWS_ROLE_ARN=x", TypeError, { bug: "B3" }),

  // cacheCredentials
  bad(
    S.cacheCredentials,
    "provider",
    { accessKeyId: "AKIA1", secretAccessKey: SECRET },
    TypeError,
    { bug: "B4" },
  ),
  bad(S.cacheCredentials, "options", null, TypeError, { bug: "B4" }),
  bad(S.cacheCredentials, "options.expiryMarginMs", -1, RangeError, { bug: "B4" }),
  bad(S.cacheCredentials, "options.expiryMarginMs", Number.NaN, RangeError, { bug: "B4" }),
  bad(S.cacheCredentials, "options.now", 0, TypeError, { bug: "B4" }),

  // startEmulator
  bad(S.startEmulator, "config.region", "US-EAST-1", TypeError),
  bad(S.startEmulator, "config.accountId", "1234", TypeError),
  bad(S.startEmulator, "config.caches", [{ replicationGroupId: "Group_01" }], TypeError, {
    names: "replicationGroupId",
  }),
  bad(S.startEmulator, "config.caches", [{}], TypeError, { names: "replicationGroupId" }),
  bad(S.startEmulator, "config.users", [{ userId: "u1" }], TypeError, { names: "accessString" }),
  bad(
    S.startEmulator,
    "config.users",
    [{ userId: "U 1", accessString: "on ~* +@all" }],
    TypeError,
    {
      names: "user",
    },
  ),
  bad(S.startEmulator, "config.roles", [{ roleName: "r" }], TypeError, { names: "trustPolicy" }),
  bad(
    S.startEmulator,
    "config.iamUsers",
    [{ userName: "u", accessKeys: [{ accessKeyId: "AKIA1", secretAccessKey: 5 }] }],
    TypeError,
    {
      names: "secretAccessKey",
    },
  ),
  bad(
    S.startEmulator,
    "config.oidcProviders",
    [{ url: "ftp://idp", clientIds: ["x"] }],
    TypeError,
    {
      names: "url",
    },
  ),
  bad(S.startEmulator, "config.connectionMaxAgeMs", 0, RangeError),
  bad(S.startEmulator, "config.maxClockSkewSeconds", -1, RangeError),
  bad(S.startEmulator, "config", null, TypeError, { names: "configuration" }),
  bad(S.startEmulator, "config.users", 5, TypeError),
  bad(S.startEmulator, "config.roles", {}, TypeError),
  bad(S.startEmulator, "config.log", "stderr", TypeError),
  bad(S.startEmulator, "config.tls", "yes", TypeError),
  bad(S.startEmulator, "config.gateway.port", -1, RangeError, { names: "port" }),
  bad(S.startEmulator, "config.gateway.port", 70_000, RangeError, { names: "port" }),
  bad(S.startEmulator, "config.sts.port", "6379", EITHER, { names: "port" }),
  bad(S.startEmulator, "config.oidc.port", 1.5, RangeError, { names: "port" }),
  bad(S.startEmulator, "config.oidc.clientIds", "sts.amazonaws.com", TypeError),
  bad(S.startEmulator, "config.backend", { port: "6379" }, EITHER, { names: "port" }),
  bad(S.startEmulator, "config.backend", { redisServer: 5 }, TypeError, { names: "redisServer" }),

  // the emulator's other functions and methods
  bad(S.loadEmulatorConfig, "path", 5, TypeError),
  bad(S.EmulatorClock, "realNow", 0, TypeError),
  bad(S.advance, "ms", Number.POSITIVE_INFINITY, RangeError),
  bad(S.advance, "ms", "1000", RangeError),
  bad(S.set, "date", "tomorrow", RangeError),
  bad(S.set, "date", new Date(Number.NaN), RangeError),
  bad(S.defaultTrustPolicy, "accountId", "12345", TypeError),
  bad(S.defaultTrustPolicy, "partition", "aws cn", TypeError),
  bad(S.roleArn, "roleName", "no-such-role", TypeError, { names: "role" }),
  bad(S.mintToken, "options", null, TypeError),
  bad(S.mintToken, "options.sub", "", TypeError),
  bad(S.mintToken, "options.aud", [], TypeError),
  bad(S.mintToken, "options.aud", ["sts.amazonaws.com", 5], TypeError),
  bad(S.mintToken, "options.expiresIn", Number.NaN, RangeError),
  bad(S.ReplyError, "reply", 42, TypeError),
  // The thin client and the integrations add rows here, for example:
  // bad(S.connect, "port", 70_000, RangeError),
  // bad(S.connect, "tls", "yes", TypeError),
];

// ---------------------------------------------------------------- running the rows

/** The options with `value` at `path` (`ABSENT` removes it); `""` replaces them all. */
function withOption(options: Options, path: string, value: unknown): unknown {
  if (path === "") return value;
  const [head, ...rest] = path.split(".") as [string, ...string[]];
  const copy: Options = { ...options };
  if (rest.length > 0) {
    const inner = copy[head];
    copy[head] = withOption(
      inner !== null && typeof inner === "object" ? inner as Options : {},
      rest.join("."),
      value,
    );
  } else if (value === ABSENT) {
    delete copy[head];
  } else {
    copy[head] = value;
  }
  return copy;
}

function label(c: Case): string {
  const shown = c.value === ABSENT
    ? "left out"
    : typeof c.value === "string"
    ? JSON.stringify(c.value.length > 30 ? `${c.value.slice(0, 30)}…` : c.value)
    : c.value instanceof Date
    ? "an invalid Date"
    : Deno.inspect(c.value, { breakLength: Infinity, depth: 2 }).slice(0, 60);
  const classes = Array.isArray(c.error) ? "TypeError or RangeError" : (c.error as ErrorClass).name;
  return `bad options: ${c.subject.name}(${c.path || "options"}: ${shown}) → ${classes} naming ` +
    `'${c.names ?? c.path.split(".").pop()}'${c.bug ? ` [bug ${c.bug}]` : ""}`;
}

const skipBugs = (() => {
  try {
    return Deno.env.get("SKIP_KNOWN_BUGS") === "1";
  } catch {
    return false;
  }
})();

for (const c of CASES) {
  // The rows on the emulator's methods share one emulator, which outlives each of them.
  const shared = c.subject === S.roleArn || c.subject === S.mintToken;
  Deno.test({
    name: label(c),
    ignore: skipBugs && c.bug !== undefined,
    sanitizeOps: !shared,
    sanitizeResources: !shared,
  }, async () => {
    await using listener = new RecordingListener();
    const probe = new Probe(listener.port);
    const options = withOption(c.subject.valid(probe), c.path, c.value) as Options;
    if (shared) await runningEmulator();
    const { outcome, attempts } = await withoutIo(() => c.subject.call(options, probe));
    // A region left out is looked up in the AWS profile, as the SDKs do: reading the shared
    // files is how that option is checked, not work done before it.
    const readsProfile = (attempt: string) =>
      c.path === "region" &&
      /^Deno\.readTextFileSync .*\/\.aws\/(config|credentials)$/.test(attempt);
    assert.deepEqual(
      attempts.filter((attempt) => !readsProfile(attempt)),
      [],
      "I/O was attempted before the options were checked",
    );
    assert.equal(probe.providerCalls, 0, "the credentials provider was called");
    assert.equal(probe.tokenCalls, 0, "the web identity token callback was called");
    assert.equal(listener.connections, 0, "a connection was opened");
    assert.equal(outcome.status, "rejected", "the call accepted the bad option");
    const error = (outcome as PromiseRejectedResult).reason;
    const classes = (Array.isArray(c.error) ? c.error : [c.error]) as ErrorClass[];
    assert.ok(
      classes.some((cls) => error instanceof cls && error.constructor === cls),
      `expected ${classes.map((cls) => cls.name).join(" or ")}, got ${Deno.inspect(error)}`,
    );
    const word = c.names ?? c.path.split(".").pop()!;
    assert.match(
      error.message,
      new RegExp(
        `(^|[^A-Za-z0-9_])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([^A-Za-z0-9_]|$)`,
      ),
      "the message does not name the option",
    );
    for (const secret of [SECRET, SESSION, JWT]) {
      assert.ok(!String(error.stack).includes(secret), "the error shows a secret");
    }
  });
}

Deno.test("bad options: the probe sees I/O, counts provider calls and connections", async () => {
  await using listener = new RecordingListener();
  const probe = new Probe(listener.port);
  // Valid options go ahead: the provider is called, the emulator starts a process.
  const token = await withoutIo(() =>
    S.createAuthToken.call(S.createAuthToken.valid(probe), probe)
  );
  assert.equal(token.outcome.status, "fulfilled");
  assert.equal(probe.providerCalls, 1);
  const started = await withoutIo(() => startEmulator({}));
  assert.equal(started.outcome.status, "rejected");
  assert.ok(started.attempts.length > 0, "starting the emulator attempted no I/O?");
  const provider = fromWebIdentity(S.fromWebIdentity.valid(probe) as never);
  await assert.rejects(provider());
  assert.equal(probe.tokenCalls, 1);
  assert.ok(listener.connections >= 1, "the STS request reached the recording listener");
});

Deno.test({
  name: "bad options: stop the emulator the method rows used",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await emulator?.close();
  emulator = undefined;
});
