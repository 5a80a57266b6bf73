import assert from "node:assert/strict";
import {
  iamCredentialsProvider,
  type NodeRedisBasicAuth,
  type NodeRedisCredentialsListener,
} from "../src/credentials_provider.ts";
import { AuthenticationError, CredentialsError } from "../../../src/errors.ts";
import { FakeTimers } from "../../../tests/_helpers/client_fake_timers.ts";

const HOUR = 60 * 60 * 1000;

/** A token source that mints `token-1`, `token-2`, … and counts calls. */
class FakeAuth {
  minted = 0;
  credentialsCalls = 0;
  refreshCalls = 0;
  failWith: Error | undefined;
  #cached: string | undefined;

  credentials(): Promise<{ username: string; password: string }> {
    this.credentialsCalls++;
    if (this.failWith) return Promise.reject(this.failWith);
    this.#cached ??= `token-${++this.minted}`;
    return Promise.resolve({ username: "iam-user-01", password: this.#cached });
  }

  refresh(): Promise<{ username: string; password: string }> {
    this.refreshCalls++;
    this.#cached = undefined;
    return this.credentials();
  }

  /** Simulates the token manager's own background refresh. */
  rotate(): void {
    this.#cached = undefined;
  }
}

/** A node-redis-like listener that records what it receives. */
function recorder(): NodeRedisCredentialsListener & {
  next: NodeRedisBasicAuth[];
  errors: Error[];
} {
  const next: NodeRedisBasicAuth[] = [];
  const errors: Error[] = [];
  return {
    next,
    errors,
    onNext: (credentials) => next.push(credentials),
    onError: (error) => errors.push(error),
  };
}

/** Lets promise callbacks (the provider's awaits) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

Deno.test("subscribe() answers with a token valid now and arms one re-auth timer", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now });
  assert.equal(provider.type, "streaming-credentials-provider");
  const listener = recorder();
  const [credentials, subscription] = await provider.subscribe(listener);
  assert.deepEqual(credentials, { username: "iam-user-01", password: "token-1" });
  assert.equal(provider.subscribed, true);
  assert.equal(timers.pending, 1);
  subscription.dispose();
  assert.equal(provider.subscribed, false);
  assert.equal(timers.pending, 0);
});

Deno.test("a connection is re-authenticated reauthAfter after its connect, then again after each re-auth", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now });
  const listener = recorder();
  const [, subscription] = await provider.subscribe(listener);
  auth.rotate(); // The token manager refreshes its token: no re-auth for that.
  timers.advance(11 * HOUR - 1);
  await settle();
  assert.equal(listener.next.length, 0);
  timers.advance(1);
  await settle();
  assert.deepEqual(listener.next, [{ username: "iam-user-01", password: "token-2" }]);
  timers.advance(11 * HOUR);
  await settle();
  assert.equal(listener.next.length, 2);
  assert.equal(timers.pending, 1);
  subscription.dispose();
  assert.equal(timers.pending, 0);
});

Deno.test("connections on separate providers keep their own schedules", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const first = recorder();
  const second = recorder();
  const [, a] = await iamCredentialsProvider(auth, { timers, now: timers.now, reauthAfter: 1000 })
    .subscribe(first);
  timers.advance(600);
  const [, b] = await iamCredentialsProvider(auth, { timers, now: timers.now, reauthAfter: 1000 })
    .subscribe(second);
  timers.advance(400);
  await settle();
  assert.equal(first.next.length, 1);
  assert.equal(
    second.next.length,
    0,
    "a token refresh or another connection's re-auth must not re-auth this one",
  );
  timers.advance(600);
  await settle();
  assert.equal(second.next.length, 1);
  a.dispose();
  b.dispose();
  assert.equal(timers.pending, 0);
});

Deno.test("re-subscribing without disposing (node-redis reconnects) keeps exactly one subscription", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now, reauthAfter: 1000 });
  const listeners = [];
  let handle;
  for (let i = 0; i < 50; i++) {
    const listener = recorder();
    listeners.push(listener);
    [, handle] = await provider.subscribe(listener);
    timers.advance(10);
  }
  assert.equal(timers.pending, 1);
  timers.advance(1000);
  await settle();
  const notified = listeners.filter((listener) => listener.next.length > 0);
  assert.equal(notified.length, 1);
  assert.equal(notified[0], listeners.at(-1));
  handle!.dispose(); // What node-redis's close() / destroy() does: only the latest handle.
  assert.equal(timers.pending, 0);
  assert.equal(provider.subscribed, false);
});

Deno.test("disposing a replaced subscription's handle leaves the current one alone", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now });
  const [, old] = await provider.subscribe(recorder());
  const [, current] = await provider.subscribe(recorder());
  old.dispose();
  assert.equal(provider.subscribed, true);
  assert.equal(timers.pending, 1);
  current.dispose();
  current.dispose();
  assert.equal(timers.pending, 0);
});

Deno.test("an abandoned connect attempt's late answer does not leak a subscription", async () => {
  const timers = new FakeTimers();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let calls = 0;
  const auth = {
    async credentials() {
      const call = ++calls;
      if (call === 1) await gate; // The first attempt waits on a slow credential source.
      return { username: "iam-user-01", password: `token-${call}` };
    },
  };
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now });
  const first = provider.subscribe(recorder());
  const [, second] = await provider.subscribe(recorder());
  release();
  const [credentials, stale] = await first;
  assert.equal(credentials.password, "token-1");
  assert.equal(timers.pending, 1);
  // node-redis may end up holding the abandoned attempt's handle: disposing it ends the live one.
  stale.dispose();
  assert.equal(timers.pending, 0);
  second.dispose();
});

Deno.test("a token that cannot be had is reported to onReAuthenticationError with its cause, then retried after the backoff", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const reported: Error[] = [];
  const provider = iamCredentialsProvider(auth, {
    timers,
    now: timers.now,
    reauthAfter: 1000,
    onReAuthenticationError: (error) => reported.push(error),
  });
  const listener = recorder();
  const [, subscription] = await provider.subscribe(listener);
  const failure = new CredentialsError("Cannot get an IAM auth token: STS is unreachable", {
    cause: new TypeError("fetch failed"),
  });
  auth.failWith = failure;
  timers.advance(1000);
  await settle();
  assert.deepEqual(reported, [failure]);
  assert.ok(failure.cause instanceof TypeError);
  assert.equal(provider.failure, failure, "kept until a re-authentication succeeds");
  // node-redis echoes a listener error back as UnableToObtainNewCredentialsError: not reported twice.
  const echo = new Error(
    "Unable to obtain new credentials : Error from streaming credentials provider",
  );
  echo.name = "UnableToObtainNewCredentialsError";
  provider.onReAuthenticationError(echo);
  assert.equal(reported.length, 1);
  auth.failWith = undefined;
  timers.advance(1000); // REAUTH_RETRY: the first retry comes 0.5 to 1 s later
  await settle();
  assert.equal(listener.next.length, 1);
  subscription.dispose();
});

Deno.test("a refused re-auth is retried once with a freshly minted token, then reported with likely causes", async () => {
  const auth = new FakeAuth();
  const timers = new FakeTimers();
  const reported: Error[] = [];
  const provider = iamCredentialsProvider(auth, {
    timers,
    now: timers.now,
    reauthAfter: 1000,
    label: "127.0.0.1:6379",
    onReAuthenticationError: (error) => reported.push(error),
  });
  const listener = recorder();
  const [, subscription] = await provider.subscribe(listener);
  timers.advance(1000);
  await settle();
  assert.equal(listener.next.length, 1);
  // What node-redis reports when AUTH gets WRONGPASS.
  const refusal = () => {
    const error = new Error(
      "Re-authentication with latest credentials failed: WRONGPASS invalid username-password pair or user is disabled.",
    );
    error.name = "CredentialsError";
    return error;
  };
  provider.onReAuthenticationError(refusal());
  await settle();
  assert.equal(auth.refreshCalls, 1);
  assert.equal(listener.next.length, 2);
  assert.notEqual(listener.next[1]!.password, listener.next[0]!.password);
  assert.equal(reported.length, 0);
  provider.onReAuthenticationError(refusal());
  await settle();
  assert.equal(reported.length, 1);
  assert.ok(reported[0] instanceof AuthenticationError);
  assert.match(reported[0]!.message, /as 'iam-user-01'/);
  assert.match(reported[0]!.message, /Likely causes/);
  assert.doesNotMatch(reported[0]!.message, /token-\d/);
  timers.advance(1000);
  await settle();
  assert.equal(listener.next.length, 3, "tried again after the backoff");
  subscription.dispose();
  assert.equal(timers.pending, 0);
});

Deno.test("reauthAfter: false turns re-authentication off", async () => {
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(new FakeAuth(), {
    timers,
    now: timers.now,
    reauthAfter: false,
  });
  const [credentials, subscription] = await provider.subscribe(recorder());
  assert.equal(credentials.password, "token-1");
  assert.equal(timers.pending, 0);
  subscription.dispose();
});

Deno.test("a failing credential source fails subscribe() with its error", async () => {
  const auth = new FakeAuth();
  auth.failWith = new CredentialsError("Cannot resolve AWS credentials: no source is configured");
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now });
  await assert.rejects(provider.subscribe(recorder()), auth.failWith);
  assert.equal(provider.subscribed, false);
  assert.equal(timers.pending, 0);
});

Deno.test("a disposed provider refuses new subscriptions and drops its timer", async () => {
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(new FakeAuth(), { timers, now: timers.now });
  await provider.subscribe(recorder());
  provider[Symbol.dispose]();
  assert.equal(timers.pending, 0);
  await assert.rejects(provider.subscribe(recorder()), TypeError);
});

Deno.test("options are checked", () => {
  const auth = new FakeAuth();
  assert.throws(() => iamCredentialsProvider(auth, { reauthAfter: 12 * HOUR }), RangeError);
  assert.throws(() => iamCredentialsProvider(auth, { reauthAfter: 0 }), RangeError);
  assert.throws(() => iamCredentialsProvider(auth, { reauthAfter: Infinity }), RangeError);
  assert.throws(() => iamCredentialsProvider({} as never), TypeError);
});

Deno.test("inspecting the provider shows no token", async () => {
  const timers = new FakeTimers();
  const provider = iamCredentialsProvider(new FakeAuth(), { timers, now: timers.now });
  const [, subscription] = await provider.subscribe(recorder());
  const shown = Deno.inspect(provider) + JSON.stringify(provider);
  assert.doesNotMatch(shown, /token-1/);
  subscription.dispose();
});

Deno.test("a pending re-auth timer does not keep the process alive (unref'd)", async () => {
  const module = new URL("../src/credentials_provider.ts", import.meta.url).href;
  const script = `
    import { iamCredentialsProvider } from ${JSON.stringify(module)};
    const provider = iamCredentialsProvider({
      credentials: () => Promise.resolve({ username: "u", password: "p" }),
    });
    await provider.subscribe({ onNext() {}, onError() {} });
    console.log(provider.subscribed);
  `;
  const started = Date.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(new TextDecoder().decode(output.stderr), "");
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "true");
  assert.ok(output.success);
  assert.ok(Date.now() - started < 15_000);
});

/** A token source that answers `n` times, then never again. */
function hangingAfter(n: number) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    credentials(): Promise<{ username: string; password: string }> {
      calls++;
      if (calls <= n) return Promise.resolve({ username: "u", password: `token-${calls}` });
      return new Promise(() => {});
    },
  };
}

Deno.test("disposing the provider during a subscribe() whose source hangs fails the subscribe at once and leaves no timer", async () => {
  const timers = new FakeTimers();
  const auth = hangingAfter(0);
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now });
  const subscribing = provider.subscribe(recorder());
  subscribing.catch(() => {});
  await settle();
  assert.equal(auth.calls, 1, "the subscribe asked the source");
  provider[Symbol.dispose]();
  await assert.rejects(subscribing, TypeError);
  assert.equal(timers.pending, 0, `${timers.pending} timer(s) left after dispose`);
});

Deno.test("disposing the provider during a re-authentication whose source hangs leaves no timer", async () => {
  const timers = new FakeTimers();
  const auth = hangingAfter(1);
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now, reauthAfter: 60_000 });
  const [, subscription] = await provider.subscribe(recorder());
  timers.advance(60_000);
  await settle();
  assert.equal(auth.calls, 2, "the re-authentication asked the source");
  subscription.dispose(); // what node-redis's close() and destroy() do
  provider[Symbol.dispose]();
  assert.equal(timers.pending, 0, `${timers.pending} timer(s) left after dispose`);
});

Deno.test("failure is cleared once a later re-authentication goes through", async () => {
  const timers = new FakeTimers();
  const auth = new FakeAuth();
  const provider = iamCredentialsProvider(auth, { timers, now: timers.now, reauthAfter: 60_000 });
  const listener = recorder();
  await provider.subscribe(listener);
  auth.rotate();
  timers.advance(60_000);
  await settle();
  // node-redis reports that this AUTH failed: a connection hiccup, not a refusal.
  provider.onReAuthenticationError(new Error("Socket closed unexpectedly"));
  await settle();
  assert.ok(provider.failure !== undefined, "the failure is kept");
  // The retry and the regular re-authentications go through; node-redis reports nothing.
  for (let t = 0; t < 4 * 60_000; t += 500) {
    auth.rotate();
    timers.advance(500);
    await settle();
  }
  assert.ok(listener.next.length >= 5, `AUTHs sent: ${listener.next.length}`);
  assert.equal(provider.failure, undefined, `still kept: ${provider.failure?.message}`);
  provider[Symbol.dispose]();
});
