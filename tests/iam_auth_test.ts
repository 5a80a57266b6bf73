import assert from "node:assert/strict";
import { type AwsCredentials, CredentialsError, IamAuth, type IamAuthOptions } from "../mod.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { ManualClock } from "./_helpers/manual_clock.ts";

const KEYS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const MINUTE = 60_000;

/** A credentials provider that counts its calls and can be told to fail or to expire. */
class CountingProvider {
  calls = 0;
  failWith: Error | undefined;
  expiration: Date | undefined;
  provide = (): Promise<AwsCredentials> => {
    this.calls++;
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve({
      ...KEYS,
      sessionToken: `session-${this.calls}`,
      expiration: this.expiration,
    });
  };
}

function makeAuth(
  clock: ManualClock,
  provider: CountingProvider,
  extra: Partial<IamAuthOptions> = {},
) {
  return new IamAuth({
    replicationGroupId: "Replication-Group-01",
    userId: "IAM-User-01",
    region: "us-east-1",
    credentials: provider.provide,
    now: clock.now,
    random: () => 0.5,
    ...extra,
  } as IamAuthOptions);
}

/** Waits (polling, at most 2 s) until a background mint has landed: WebCrypto completes off the microtask queue. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("The background refresh did not land within 2 s");
}

/** Counts SigV4 signatures made with WebCrypto: HMACs over a string to sign ("AWS4-HMAC-SHA256\n…"). */
async function countSignatures<T>(
  run: () => Promise<T>,
): Promise<{ result: T; signatures: number }> {
  const subtle = crypto.subtle;
  const original = subtle.sign;
  const prefix = new TextEncoder().encode("AWS4-HMAC-SHA256\n");
  let signatures = 0;
  subtle.sign = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto["sign"]>) {
    const data = args[2];
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer);
    if (prefix.every((byte, i) => bytes[i] === byte)) signatures++;
    return original.apply(this, args);
  } as SubtleCrypto["sign"];
  try {
    return { result: await run(), signatures };
  } finally {
    subtle.sign = original;
  }
}

Deno.test("1,000 concurrent callers on an empty cache cause one resolution and one signature", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  using auth = makeAuth(clock, provider);
  const { result, signatures } = await countSignatures(() =>
    Promise.all(Array.from({ length: 1000 }, () => auth.credentials()))
  );
  assert.equal(provider.calls, 1);
  assert.equal(signatures, 1, "one SigV4 signature");
  assert.equal(new Set(result.map((c) => c.password)).size, 1);
  assert.equal(result[0]!.username, "iam-user-01");
  assert.match(result[0]!.password, /^replication-group-01\/\?Action=connect&User=iam-user-01&/);
  assert.match(result[0]!.password, /X-Amz-Date=20261123T120000Z/, "signed on the injected clock");
});

Deno.test("the cached token is served until refreshAfter, then refreshed in the background", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  using auth = makeAuth(clock, provider);
  const first = await auth.credentials();
  clock.advance(4 * MINUTE);
  assert.equal((await auth.credentials()).password, first.password);
  assert.equal(provider.calls, 1);

  clock.advance(1 * MINUTE); // 5 minutes old: the caller still gets the cached token at once
  assert.equal((await auth.credentials()).password, first.password);
  assert.equal(provider.calls, 2, "a new token is being minted in the background");
  await eventually(async () => (await auth.credentials()).password !== first.password);
  const second = await auth.credentials();
  assert.match(second.password, /X-Amz-Date=20261123T120500Z/);
  assert.equal(provider.calls, 2, "re-resolved once per new token, not per call");
  const { signatures } = await countSignatures(() => auth.refresh());
  assert.equal(signatures, 1);
});

Deno.test("no token is served with less than the margin left of its 15 minutes", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  // refreshAfter longer than the usable life: only the expiry bound can force a new token.
  using auth = makeAuth(clock, provider, { refreshAfter: 14.5 * MINUTE, expiryMargin: MINUTE });
  const first = await auth.credentials();
  clock.advance(14 * MINUTE - 1);
  assert.equal((await auth.credentials()).password, first.password);
  clock.advance(1); // exactly 1 minute left: too little
  const second = await auth.credentials();
  assert.notEqual(second.password, first.password);
  assert.equal(provider.calls, 2);
});

Deno.test("no token is served past its credentials' expiration", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  provider.expiration = new Date(clock.now() + 5 * MINUTE); // shorter than the token's 15 minutes
  using auth = makeAuth(clock, provider, { expiryMargin: MINUTE });
  const first = await auth.credentials();
  clock.advance(4 * MINUTE - 1);
  assert.equal((await auth.credentials()).password, first.password);
  provider.expiration = new Date(clock.now() + 60 * MINUTE);
  clock.advance(1); // 1 minute before the credentials expire
  const second = await auth.credentials();
  assert.notEqual(second.password, first.password, "a new token from new credentials");
  assert.match(second.password, /X-Amz-Security-Token=session-2/);
});

Deno.test("credentials already inside the margin are refused with a clear error", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  provider.expiration = new Date(clock.now() + 30_000);
  using auth = makeAuth(clock, provider, { expiryMargin: MINUTE });
  await assert.rejects(auth.credentials(), (error: Error) => {
    assert.ok(error instanceof CredentialsError);
    assert.equal(
      error.message,
      "Cannot get an IAM auth token for user 'iam-user-01' on 'replication-group-01': the AWS " +
        "credentials expire at 2026-11-23T12:00:30.000Z, within the 60000 ms safety margin; the " +
        "credential source handed out credentials that are about to expire",
    );
    return true;
  });
});

Deno.test("a failed background refresh keeps serving the valid token and retries after backoff", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  using auth = makeAuth(clock, provider, { retry: { initialDelay: 1000, maxDelay: 8000 } });
  const first = await auth.credentials();
  provider.failWith = new Error("STS is throttling: Rate exceeded");
  clock.advance(5 * MINUTE);
  assert.equal((await auth.credentials()).password, first.password);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(provider.calls, 2, "the refresh was tried");

  // Within the backoff (1000 ms × jitter 0.75 = 750 ms) nobody hits STS again.
  clock.advance(700);
  assert.equal((await auth.credentials()).password, first.password);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(provider.calls, 2);

  clock.advance(100); // past the backoff: retried (and fails again)
  assert.equal((await auth.credentials()).password, first.password);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(provider.calls, 3);

  // The second failure doubles the delay: 2000 ms × 0.75 = 1500 ms.
  provider.failWith = undefined;
  clock.advance(1400);
  await auth.credentials();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(provider.calls, 3);
  clock.advance(100);
  await auth.credentials();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(provider.calls, 4, "retried after the doubled delay");
  await eventually(async () => (await auth.credentials()).password !== first.password);
  assert.equal(provider.calls, 4, "recovered with one more resolution");
});

Deno.test("the backoff is bounded by maxDelay", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  provider.failWith = new Error("connect ECONNREFUSED 127.0.0.1:1");
  using auth = makeAuth(clock, provider, { retry: { initialDelay: 1000, maxDelay: 4000 } });
  const delays: string[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    await assert.rejects(auth.credentials());
    await assert.rejects(auth.credentials(), (error: Error) => {
      delays.push(/next attempt in (\d+) ms/.exec(error.message)![1]!);
      return true;
    });
    clock.advance(4000);
  }
  assert.deepEqual(delays, ["750", "1500", "3000", "3000", "3000", "3000"]);
  assert.equal(provider.calls, 6, "one attempt per backoff window");
});

Deno.test("with no valid token the error says why and keeps the source's error as cause", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  const stsError = new Error("Not authorized to perform sts:AssumeRoleWithWebIdentity");
  provider.failWith = stsError;
  using auth = makeAuth(clock, provider);
  await assert.rejects(auth.credentials(), (error: Error) => {
    assert.ok(error instanceof CredentialsError);
    assert.equal(
      error.message,
      "Cannot get an IAM auth token for user 'iam-user-01' on 'replication-group-01': Cannot " +
        "resolve AWS credentials: the credentials provider failed: Not authorized to perform " +
        "sts:AssumeRoleWithWebIdentity",
    );
    assert.equal((error.cause as Error).cause, stsError);
    return true;
  });
});

Deno.test("refresh() mints a new token at once and joins a mint under way", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  using auth = makeAuth(clock, provider);
  const first = await auth.credentials();
  clock.advance(1000);
  const [a, b] = await Promise.all([auth.refresh(), auth.refresh()]);
  assert.equal(provider.calls, 2);
  assert.equal(a.password, b.password);
  assert.notEqual(a.password, first.password);
  assert.equal((await auth.credentials()).password, a.password);
});

Deno.test("bad options are refused at construction, before any resolution", () => {
  const provider = new CountingProvider();
  const base = {
    replicationGroupId: "rg",
    userId: "u",
    region: "us-east-1",
    credentials: provider.provide,
  };
  assert.throws(() => new IamAuth({ ...base, refreshAfter: 15 * MINUTE }), {
    name: "RangeError",
    message:
      "Cannot create IamAuth: 'refreshAfter' must be above 0 and below 900000 (milliseconds), got 900000",
  });
  assert.throws(() => new IamAuth({ ...base, region: "mars" }), /'region' must be an AWS region/);
  assert.throws(
    () => new IamAuth({ ...base, credentials: { accessKeyId: "A" } as never }),
    {
      name: "TypeError",
      message: "Cannot sign token: 'credentials' is no 'secretAccessKey' string",
    },
  );
  assert.equal(provider.calls, 0);
});

Deno.test("a disposed manager refuses calls and shows no secret when printed", async () => {
  const clock = new ManualClock();
  const provider = new CountingProvider();
  const auth = makeAuth(clock, provider);
  const { password } = await auth.credentials();
  const shown = [Deno.inspect(auth), JSON.stringify(auth), String(auth)].join("\n");
  assert.ok(
    !shown.includes(password) && !shown.includes(KEYS.secretAccessKey) &&
      !shown.includes("session-1"),
  );
  assert.match(
    Deno.inspect(auth),
    /IamAuth \{ userId: "iam-user-01", cacheName: "replication-group-01"/,
  );
  auth[Symbol.dispose]();
  assert.throws(() => auth.credentials(), /has been disposed/);
});

/** A credentials source whose answers the test hands out by hand; calls it has not answered hang. */
class ManualSource {
  readonly calls: Array<(credentials: AwsCredentials) => void> = [];
  answerAtOnce: AwsCredentials | undefined;
  provide = (): Promise<AwsCredentials> => {
    const answer = this.answerAtOnce;
    return new Promise((resolve) => {
      this.calls.push(resolve);
      if (answer) resolve(answer);
    });
  };
}

function makeTimedAuth(
  timers: FakeTimers,
  source: ManualSource,
  extra: Partial<IamAuthOptions> = {},
) {
  return new IamAuth({
    replicationGroupId: "Replication-Group-01",
    userId: "IAM-User-01",
    region: "us-east-1",
    credentials: source.provide,
    now: timers.now,
    timers,
    random: () => 0.5,
    ...extra,
  } as IamAuthOptions);
}

/** Lets settled promises run their handlers (a zero-delay yield, not a sleep). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const HUNG =
  "Cannot get an IAM auth token for user 'iam-user-01' on 'replication-group-01': Cannot resolve " +
  "AWS credentials: the credentials provider did not answer within 5000 ms";

Deno.test("a credentials source that never answers fails the mint after credentialsTimeout, and is called again after the backoff", async () => {
  const timers = new FakeTimers();
  const source = new ManualSource();
  using auth = makeTimedAuth(timers, source);
  const viaCredentials = auth.credentials();
  const viaRefresh = auth.refresh();
  let settled = 0;
  viaCredentials.catch(() => settled++);
  timers.advance(4999);
  await settle();
  assert.equal(settled, 0, "still waiting just before the bound");
  timers.advance(1);
  for (const call of [viaCredentials, viaRefresh]) {
    await assert.rejects(call, (error: Error) => {
      assert.ok(error instanceof CredentialsError);
      assert.equal(error.message, HUNG);
      assert.ok(error.cause instanceof CredentialsError);
      return true;
    });
  }
  assert.equal(source.calls.length, 1, "both callers shared one resolution");

  // Within the backoff (1000 ms × jitter 0.75) the source is left alone.
  await assert.rejects(
    auth.credentials(),
    /did not answer within 5000 ms; next attempt in 750 ms$/,
  );
  assert.equal(source.calls.length, 1);

  timers.advance(750);
  source.answerAtOnce = { ...KEYS, sessionToken: "session-2" };
  const { username, password } = await auth.credentials();
  assert.equal(source.calls.length, 2, "the source was called again");
  assert.equal(username, "iam-user-01");
  assert.ok(password.startsWith("replication-group-01/?Action=connect&User=iam-user-01&"));
  assert.match(password, /X-Amz-Security-Token=session-2/);
  assert.equal(timers.pending, 0, "no bound left armed");
});

Deno.test("1,000 concurrent callers during a hung resolution all fail at the bound, with one source call", async () => {
  const timers = new FakeTimers();
  const source = new ManualSource();
  using auth = makeTimedAuth(timers, source, { credentialsTimeout: 2000 });
  let settled = 0;
  const calls = Array.from({ length: 1000 }, (_, i) => {
    const call = i % 2 === 0 ? auth.credentials() : auth.refresh();
    call.catch(() => settled++);
    return call;
  });
  timers.advance(1999);
  await settle();
  assert.equal(settled, 0);
  timers.advance(1);
  const results = await Promise.allSettled(calls);
  assert.equal(settled, 1000);
  assert.ok(
    results.every((result) =>
      result.status === "rejected" && result.reason instanceof CredentialsError &&
      result.reason.message.endsWith("did not answer within 2000 ms")
    ),
  );
  assert.equal(source.calls.length, 1);
});

Deno.test("a late answer of a timed-out source neither replaces a newer token nor goes unhandled", async () => {
  const timers = new FakeTimers();
  const source = new ManualSource();
  using auth = makeTimedAuth(timers, source);
  const hung = auth.credentials();
  timers.advance(5000);
  await assert.rejects(hung, CredentialsError);
  timers.advance(750);
  source.answerAtOnce = { ...KEYS, sessionToken: "session-2" };
  const fresh = await auth.credentials();
  assert.match(fresh.password, /X-Amz-Security-Token=session-2/);

  source.calls[0]!({ ...KEYS, sessionToken: "session-late" }); // the first call answers at last
  await settle();
  const now = await auth.credentials();
  assert.equal(now.password, fresh.password, "the newer token stays");
  assert.equal(source.calls.length, 2, "the late answer caused no mint");
});

Deno.test("a source that throws or returns a non-promise is handled like one that rejects or resolves", async () => {
  const timers = new FakeTimers();
  using throwing = new IamAuth({
    replicationGroupId: "rg",
    userId: "u",
    region: "us-east-1",
    credentials: () => {
      throw new Error("no profile");
    },
    now: timers.now,
    timers,
  });
  await assert.rejects(throwing.credentials(), {
    name: "CredentialsError",
    message:
      "Cannot get an IAM auth token for user 'u' on 'rg': Cannot resolve AWS credentials: the " +
      "credentials provider failed: no profile",
  });
  using plain = new IamAuth({
    replicationGroupId: "rg",
    userId: "u",
    region: "us-east-1",
    credentials: (() => KEYS) as unknown as () => Promise<AwsCredentials>,
    now: timers.now,
    timers,
  });
  assert.match((await plain.credentials()).password, /^rg\/\?Action=connect&User=u&/);
  assert.equal(timers.pending, 0);
});

Deno.test("the backoff never outlasts retry.maxDelay when the clock steps back or forward", async () => {
  const timers = new FakeTimers();
  let step = 0;
  const now = () => timers.now() + step;
  const provider = new CountingProvider();
  provider.failWith = new Error("STS is throttling: Rate exceeded");
  const retry = { initialDelay: 1000, maxDelay: 8000 };
  using auth = makeTimedAuth(timers, new ManualSource(), {
    credentials: provider.provide,
    now,
    retry,
  });
  await assert.rejects(auth.credentials(), /Rate exceeded$/);
  assert.equal(provider.calls, 1);

  step -= 60 * MINUTE; // NTP steps the clock back an hour right after the failure
  await assert.rejects(auth.credentials(), (error: Error) => {
    const wait = Number(/next attempt in (\d+) ms$/.exec(error.message)![1]);
    assert.ok(wait <= retry.maxDelay, `waits ${wait} ms`);
    return true;
  });
  assert.equal(provider.calls, 1);
  timers.advance(retry.maxDelay);
  await assert.rejects(auth.credentials(), /Rate exceeded$/);
  assert.equal(provider.calls, 2, "tried again within maxDelay of the step");

  step += 120 * MINUTE; // and forward by two hours: the wait is over
  provider.failWith = undefined;
  const { password } = await auth.credentials();
  assert.equal(provider.calls, 3);
  assert.ok(password.startsWith("replication-group-01/?Action=connect"));
});

Deno.test("credentialsTimeout and timers are checked at construction", () => {
  const base = {
    replicationGroupId: "rg",
    userId: "u",
    region: "us-east-1",
    credentials: KEYS,
  };
  for (const bad of [0, -1, Number.NaN, 2 ** 31]) {
    assert.throws(() => new IamAuth({ ...base, credentialsTimeout: bad }), {
      name: "RangeError",
      message: `Cannot create IamAuth: 'credentialsTimeout' must be a positive number of ` +
        `milliseconds up to 2147483647, or Infinity for no bound, got ${bad}`,
    });
  }
  assert.throws(() => new IamAuth({ ...base, credentialsTimeout: "5000" as never }), {
    name: "TypeError",
    message:
      /^Cannot create IamAuth: 'credentialsTimeout' must be a positive number .*, got '5000'$/,
  });
  assert.throws(() => new IamAuth({ ...base, timers: {} as never }), {
    name: "TypeError",
    message:
      "Cannot create IamAuth: 'timers' must be an object with setTimeout and clearTimeout functions, got an object",
  });
  using unbounded = new IamAuth({ ...base, credentialsTimeout: Infinity });
  assert.equal(unbounded.username, "u");
});

Deno.test("with credentialsTimeout: Infinity a resolution is not bounded and arms no timer", async () => {
  const timers = new FakeTimers();
  const source = new ManualSource();
  using auth = makeTimedAuth(timers, source, { credentialsTimeout: Infinity });
  const call = auth.credentials();
  assert.equal(timers.pending, 0);
  timers.advance(60 * MINUTE);
  source.calls[0]!(KEYS);
  assert.match((await call).password, /^replication-group-01\/\?Action=connect/);
});
