import assert from "node:assert/strict";
import {
  cacheCredentials,
  createAuthToken,
  CredentialsError,
  defaultCredentials,
  fromEnv,
  fromWebIdentity,
} from "../mod.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { ManualClock } from "./_helpers/manual_clock.ts";

Deno.test("fromEnv reads the Lambda variables at each call", async () => {
  const env: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "session",
  };
  const provider = fromEnv({ env });
  assert.deepEqual(await provider(), {
    accessKeyId: "ASIAEXAMPLE",
    secretAccessKey: "secret",
    sessionToken: "session",
  });
  env.AWS_ACCESS_KEY_ID = "ASIAROTATED";
  delete env.AWS_SESSION_TOKEN;
  assert.deepEqual(await provider(), { accessKeyId: "ASIAROTATED", secretAccessKey: "secret" });
});

Deno.test("fromEnv reads the runtime's environment by default", async () => {
  const saved = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].map((
    name,
  ) => [name, Deno.env.get(name)] as const);
  try {
    Deno.env.set("AWS_ACCESS_KEY_ID", "AKIDFROMDENO");
    Deno.env.set("AWS_SECRET_ACCESS_KEY", "secret");
    Deno.env.delete("AWS_SESSION_TOKEN");
    assert.deepEqual(await fromEnv()(), { accessKeyId: "AKIDFROMDENO", secretAccessKey: "secret" });
  } finally {
    for (const [name, value] of saved) {
      value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
    }
  }
});

Deno.test("fromEnv names the missing variables", async () => {
  await assert.rejects(fromEnv({ env: { AWS_SECRET_ACCESS_KEY: "secret" } })(), {
    name: "CredentialsError",
    message: "Cannot read AWS credentials from the environment: AWS_ACCESS_KEY_ID is not set",
  });
  await assert.rejects(fromEnv({ env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" } })(), {
    message:
      "Cannot read AWS credentials from the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is not set",
  });
});

Deno.test("defaultCredentials prefers keys, then web identity, then explains what it tried", async () => {
  const keys = defaultCredentials({
    env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_ROLE_ARN: "x" },
  });
  assert.equal((await keys()).accessKeyId, "AKIDEXAMPLE");

  const nothing = defaultCredentials({ env: { AWS_EC2_METADATA_DISABLED: "true" } });
  await assert.rejects(nothing(), (error: Error) => {
    assert.ok(error instanceof CredentialsError);
    assert.match(error.message, /^Cannot find AWS credentials: looked at the environment/);
    assert.match(error.message, /AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE not both set/);
    assert.match(error.message, /the AWS shared files \(no home directory, HOME is not set\)/);
    assert.match(
      error.message,
      /container credentials \(neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/,
    );
    assert.match(error.message, /AWS_EC2_METADATA_DISABLED/);
    return true;
  });

  const missingFile = defaultCredentials({
    env: {
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/app",
      AWS_WEB_IDENTITY_TOKEN_FILE: "/nonexistent/token",
      AWS_ENDPOINT_URL_STS: "http://127.0.0.1:9",
      AWS_REGION: "us-east-1",
    },
  });
  await assert.rejects(missingFile(), (error: Error) => {
    assert.ok(error instanceof CredentialsError);
    assert.match(
      error.message,
      /^Cannot assume role arn:aws:iam::123456789012:role\/app with web identity: .*\/nonexistent\/token/,
    );
    return true;
  });
});

Deno.test("fromWebIdentity checks its options before any network work", () => {
  assert.throws(() => fromWebIdentity({ env: {}, webIdentityToken: "jwt" }), {
    name: "TypeError",
    message:
      "Cannot use web identity: 'roleArn' (or AWS_ROLE_ARN) must be a role ARN such as 'arn:aws:iam::123456789012:role/name', got nothing",
  });
  assert.throws(
    () => fromWebIdentity({ env: {}, roleArn: "arn:aws:iam::123456789012:role/app" }),
    /give 'webIdentityToken' or 'tokenFile'/,
  );
  assert.throws(
    () =>
      fromWebIdentity({
        env: {},
        roleArn: "arn:aws:iam::123456789012:role/app",
        webIdentityToken: "jwt",
        durationSeconds: 60,
      }),
    {
      name: "RangeError",
      message: /'durationSeconds' must be a whole number from 900 to 43200, got 60/,
    },
  );
});

Deno.test("cacheCredentials reuses credentials until shortly before they expire", async () => {
  const clock = new ManualClock();
  let calls = 0;
  const provider = cacheCredentials(() => {
    calls++;
    return Promise.resolve({
      accessKeyId: `ASIA${calls}`,
      secretAccessKey: "s",
      expiration: new Date(clock.now() + 3_600_000),
    });
  }, { now: clock.now, expiryMarginMs: 300_000 });
  const [a, b] = await Promise.all([provider(), provider()]);
  assert.equal(calls, 1, "concurrent callers share one resolution");
  assert.equal(a, b);
  clock.advance(3_300_000 - 1);
  assert.equal((await provider()).accessKeyId, "ASIA1");
  clock.advance(1);
  assert.equal((await provider()).accessKeyId, "ASIA2");
});

Deno.test("cacheCredentials does not cache failures or credentials without an expiration", async () => {
  let calls = 0;
  const provider = cacheCredentials(() => {
    calls++;
    return calls === 1
      ? Promise.reject(new Error("throttled"))
      : Promise.resolve({ accessKeyId: "AKID", secretAccessKey: "s" });
  });
  await assert.rejects(provider(), /throttled/);
  await provider();
  await provider();
  assert.equal(calls, 3);
});

Deno.test("cacheCredentials over a provider that never answers rejects after timeoutMs and calls it again next time", async () => {
  const timers = new FakeTimers();
  let calls = 0;
  const provider = cacheCredentials(() => {
    calls++;
    return calls === 1
      ? new Promise<never>(() => {})
      : Promise.resolve({ accessKeyId: "ASIA2", secretAccessKey: "s" });
  }, { timers });
  const first = provider();
  const joined = provider();
  assert.equal(calls, 1, "concurrent callers share the hung call");
  timers.advance(9999);
  let settled = false;
  first.catch(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settled, false);
  timers.advance(1);
  for (const call of [first, joined]) {
    await assert.rejects(call, {
      name: "CredentialsError",
      message:
        "Cannot resolve AWS credentials: the credentials provider did not answer within 10000 ms",
    });
  }
  assert.equal((await provider()).accessKeyId, "ASIA2");
  assert.equal(calls, 2, "the provider was called again");
  assert.equal(timers.pending, 0);
});

Deno.test("cacheCredentials turns a provider that throws or returns a non-promise into a promise", async () => {
  const throwing = cacheCredentials(() => {
    throw new Error("no profile");
  });
  await assert.rejects(throwing(), /no profile/);
  const plain = cacheCredentials(
    (() => ({ accessKeyId: "AKID", secretAccessKey: "s" })) as never,
    { timers: new FakeTimers() },
  );
  assert.equal((await plain()).accessKeyId, "AKID");
});

Deno.test("cacheCredentials checks timeoutMs and timers", () => {
  const provider = () => Promise.resolve({ accessKeyId: "AKID", secretAccessKey: "s" });
  for (const bad of [0, -5, Number.NaN, 2 ** 31]) {
    assert.throws(() => cacheCredentials(provider, { timeoutMs: bad }), {
      name: "RangeError",
      message: `Cannot cache credentials: 'timeoutMs' must be a positive number of milliseconds ` +
        `up to 2147483647, or Infinity for no bound, got ${bad}`,
    });
  }
  assert.throws(() => cacheCredentials(provider, { timeoutMs: "1" as never }), {
    name: "TypeError",
    message: /^Cannot cache credentials: 'timeoutMs' must be a positive number/,
  });
  assert.throws(() => cacheCredentials(provider, { timers: 5 as never }), {
    name: "TypeError",
    message:
      "Cannot cache credentials: 'timers' must be an object with setTimeout and clearTimeout functions, got 5",
  });
  assert.equal(typeof cacheCredentials(provider, { timeoutMs: Infinity }), "function");
});

Deno.test("createAuthToken bounds the credentials provider with credentialsTimeout", async () => {
  const timers = new FakeTimers();
  const options = {
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: "us-east-1",
    timers,
  };
  const token = createAuthToken({ ...options, credentials: () => new Promise<never>(() => {}) });
  timers.advance(5000);
  await assert.rejects(token, {
    name: "CredentialsError",
    message:
      "Cannot resolve AWS credentials: the credentials provider did not answer within 5000 ms",
  });
  const quick = createAuthToken({
    ...options,
    credentialsTimeout: 100,
    credentials: () => Promise.resolve({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s" }),
  });
  assert.ok((await quick).startsWith("replication-group-01/?Action=connect&User=iam-user-01&"));
  assert.equal(timers.pending, 0);
  await assert.rejects(
    createAuthToken({
      ...options,
      credentialsTimeout: -1,
      credentials: () => new Promise(() => {}),
    }),
    {
      name: "RangeError",
      message:
        "Cannot sign token: 'credentialsTimeout' must be a positive number of milliseconds " +
        "up to 2147483647, or Infinity for no bound, got -1",
    },
  );
});

Deno.test("fromWebIdentity checks timers", () => {
  assert.throws(
    () =>
      fromWebIdentity({
        env: {},
        roleArn: "arn:aws:iam::123456789012:role/app",
        webIdentityToken: "jwt",
        timers: { setTimeout: () => 1 } as never,
      }),
    {
      name: "TypeError",
      message:
        "Cannot use web identity: 'timers' must be an object with setTimeout and clearTimeout functions, got an object",
    },
  );
});
