/**
 * Conformance: the token manager and the credential sources that need no
 * network, on the runtime's timers, promises and WebCrypto, with an injected clock.
 *
 * @module
 */

import {
  type AwsCredentials,
  cacheCredentials,
  createAuthToken,
  CredentialsError,
  fromEnv,
  IamAuth,
} from "../../mod.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import type { ConformanceCase } from "./cases.ts";

const START = Date.UTC(2026, 10, 23, 12);
const MINUTE = 60_000;
const KEYS = {
  accessKeyId: "ASIAEXAMPLEMANAGER01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "manager-session-token",
};
const TARGET = {
  replicationGroupId: "replication-group-01",
  userId: "iam-user-01",
  region: "us-east-1",
};

/** A clock the case moves by hand. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let now = START;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

/** A provider that counts its calls. */
function countingProvider(
  expiration?: () => Date,
): { provider: () => Promise<AwsCredentials>; calls: () => number } {
  let calls = 0;
  return {
    provider: () => {
      calls++;
      return Promise.resolve({ ...KEYS, ...(expiration ? { expiration: expiration() } : {}) });
    },
    calls: () => calls,
  };
}

/** The process environment of Deno, Node.js or Bun, when there is one. */
function processEnv(): {
  get(name: string): string | undefined;
  set(name: string, value?: string): void;
} | undefined {
  const deno = (globalThis as {
    Deno?: {
      env: {
        get(n: string): string | undefined;
        set(n: string, v: string): void;
        delete(n: string): void;
      };
    };
  }).Deno;
  if (deno) {
    return {
      get: (name) => deno.env.get(name),
      set: (name, value) => value === undefined ? deno.env.delete(name) : deno.env.set(name, value),
    };
  }
  const process = (globalThis as { process?: { env: Record<string, string | undefined> } }).process;
  if (process?.env) {
    return {
      get: (name) => process.env[name],
      set: (name, value) => {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      },
    };
  }
  return undefined;
}

/** The token manager cases. */
export const tokenManagerCases: ConformanceCase[] = [
  {
    name: "token manager: 1,000 concurrent callers share one credentials resolution and one token",
    async run() {
      const clock = manualClock();
      const source = countingProvider();
      using auth = new IamAuth({ ...TARGET, credentials: source.provider, now: clock.now });
      const all = await Promise.all(Array.from({ length: 1000 }, () => auth.credentials()));
      assertEquals(source.calls(), 1, "credentials resolutions");
      assertEquals(new Set(all.map((c) => c.password)).size, 1, "distinct tokens");
      assertEquals(all[0]!.username, "iam-user-01");
      const expected = await createAuthToken({
        ...TARGET,
        credentials: KEYS,
        signingDate: new Date(START),
      });
      assertEquals(all[0]!.password, expected, "the cached token is the signer's token");
    },
  },
  {
    name:
      "token manager: serves its cached token, refreshing it in the background after refreshAfter",
    async run() {
      const clock = manualClock();
      const source = countingProvider();
      using auth = new IamAuth({ ...TARGET, credentials: source.provider, now: clock.now });
      const first = await auth.credentials();
      clock.advance(4 * MINUTE);
      assertEquals((await auth.credentials()).password, first.password, "cached at 4 min");
      assertEquals(source.calls(), 1);
      clock.advance(2 * MINUTE); // 6 min: older than refreshAfter (5 min)
      assertEquals((await auth.credentials()).password, first.password, "stale-while-refresh");
      assertEquals(source.calls(), 2, "one background mint");
      // Signing is asynchronous WebCrypto work: wait (in real time) for the new token.
      let second = first;
      const deadline = Date.now() + 5_000;
      while (second.password === first.password && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        second = await auth.credentials();
      }
      assert(second.password !== first.password, "the refreshed token is served");
      assertEquals(source.calls(), 2, "still one background mint");
      assertMatch(second.password, /X-Amz-Date=20261123T120600Z/);
    },
  },
  {
    name: "token manager: never serves a token past the credentials that signed it",
    async run() {
      const clock = manualClock();
      // Credentials that expire 10 minutes after each resolution, like a short STS session.
      const source = countingProvider(() => new Date(clock.now() + 10 * MINUTE));
      using auth = new IamAuth({
        ...TARGET,
        credentials: source.provider,
        now: clock.now,
        refreshAfter: 14 * MINUTE,
      });
      const first = await auth.credentials();
      // Valid for 15 minutes, but its credentials expire at 10: with the default
      // 1 minute margin it is served until 9 minutes only.
      clock.advance(8 * MINUTE + 59_000);
      assertEquals((await auth.credentials()).password, first.password, "served at 8:59");
      assertEquals(source.calls(), 1);
      clock.advance(2_000);
      const second = await auth.credentials();
      assert(second.password !== first.password, "a new token at 9:01");
      assertEquals(source.calls(), 2, "credentials resolved again for the new token");
    },
  },
  {
    name:
      "token manager: a failed mint is a CredentialsError with its cause, retried after a backoff",
    async run() {
      const clock = manualClock();
      let calls = 0;
      let failing = true;
      using auth = new IamAuth({
        ...TARGET,
        credentials: () => {
          calls++;
          return failing
            ? Promise.reject(new Error("the metadata service is unreachable"))
            : Promise.resolve(KEYS);
        },
        now: clock.now,
        random: () => 1,
      });
      const error = await assertRejects(auth.credentials(), "CredentialsError");
      assert(error instanceof CredentialsError, "an instance of the exported class");
      assertMatch(String((error.cause as Error)?.message ?? error.message), /unreachable/);
      await assertRejects(auth.credentials(), "CredentialsError");
      assertEquals(calls, 1, "no new attempt during the backoff");
      failing = false;
      clock.advance(1_000);
      assertEquals((await auth.credentials()).username, "iam-user-01");
      assertEquals(calls, 2);
    },
  },
  {
    name: "token manager: JSON and string forms show the target, never a token",
    async run() {
      const clock = manualClock();
      using auth = new IamAuth({ ...TARGET, credentials: KEYS, now: clock.now });
      const { password } = await auth.credentials();
      const shown = `${JSON.stringify(auth)} ${String(auth)} ${JSON.stringify({ auth })}`;
      assert(!shown.includes(password), "the token is printed");
      assert(!shown.includes(KEYS.secretAccessKey), "the secret key is printed");
      assertMatch(JSON.stringify(auth), /replication-group-01/);
    },
  },
  {
    name: "credentials: fromEnv reads explicit bindings at each call and names what is missing",
    async run() {
      const env: Record<string, string | undefined> = {
        AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
        AWS_SESSION_TOKEN: KEYS.sessionToken,
      };
      const provider = fromEnv({ env });
      assertEquals(await provider(), KEYS);
      env.AWS_SECRET_ACCESS_KEY = undefined;
      await assertRejects(provider(), "CredentialsError", /AWS_SECRET_ACCESS_KEY is not set/);
      const cached = cacheCredentials(() => Promise.resolve({ ...KEYS }), {});
      assertEquals(await cached(), await cached());
    },
  },
  {
    name: "credentials: fromEnv() reads the process environment, as on Lambda",
    skip: {
      workerd: "Workers have no process environment; they pass bindings to fromEnv({ env })",
    },
    async run(ctx) {
      const env = processEnv();
      assert(env !== undefined, "this runtime has a process environment");
      const names = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
      const saved = names.map((name) => env.get(name));
      try {
        for (const name of names) env.set(name, ctx.info.lambdaEnv[name]);
        assertEquals(await fromEnv()(), {
          accessKeyId: ctx.info.lambdaEnv.AWS_ACCESS_KEY_ID,
          secretAccessKey: ctx.info.lambdaEnv.AWS_SECRET_ACCESS_KEY,
          sessionToken: ctx.info.lambdaEnv.AWS_SESSION_TOKEN,
        });
      } finally {
        names.forEach((name, i) => env.set(name, saved[i]));
      }
    },
  },
];
