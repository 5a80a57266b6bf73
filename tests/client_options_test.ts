/**
 * The client's option checks and defaults: TLS by default except on
 * loopback, clear TypeErrors and RangeErrors that name the option and value.
 */

import assert from "node:assert/strict";
import { RedisClient } from "../src/client.ts";
import type { ConnectOptions } from "../mod.ts";
import { isLoopback } from "../src/_checks.ts";
import { resolveOptions as resolveWith } from "../src/client/options.ts";
import { backoffDelay } from "../src/client/timers.ts";
import { denoTransport } from "../src/transport/deno.ts";

const resolveOptions = (options: ConnectOptions) => resolveWith(options, denoTransport);

Deno.test("TLS is on by default, except for loopback hosts; tls: false is explicit", () => {
  assert.equal(resolveOptions({ host: "my-cache.use1.cache.amazonaws.com" }).tls, true);
  assert.equal(resolveOptions({ host: "10.0.0.5" }).tls, true);
  for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1"]) {
    assert.equal(resolveOptions({ host }).tls, false, host);
  }
  // Resolved through DNS, or not a loopback literal: TLS, so a bad answer never gets a token in clear.
  for (const host of ["app.localhost", "127.300.1.1", "127.0.0.1.nip.io", "::2", "0::1:1"]) {
    assert.equal(resolveOptions({ host }).tls, true, host);
  }
  assert.equal(resolveOptions({ host: "10.0.0.5", tls: false }).tls, false);
  assert.equal(resolveOptions({ host: "localhost", tls: true }).tls, true);
  assert.equal(isLoopback("128.0.0.1"), false);
  assert.equal(isLoopback("localhost.example.com"), false);
});

Deno.test("defaults", () => {
  const o = resolveOptions({ host: "cache.example.com" });
  assert.equal(o.port, 6379);
  assert.equal(o.protocol, 3);
  assert.equal(o.connectTimeout, 10_000);
  assert.equal(o.commandTimeout, 5000);
  assert.equal(resolveOptions({ host: "h", commandTimeout: Infinity }).commandTimeout, undefined);
  assert.equal(resolveOptions({ host: "h", reauthAfter: false }).reauthAfter, false);
  assert.equal(o.reauthAfter, 11 * 60 * 60 * 1000);
  assert.deepEqual(o.reconnect, { attempts: 4, minDelay: 50, maxDelay: 2000 });
  assert.equal(o.label, "cache.example.com:6379");
  assert.equal(resolveOptions({ host: "::1", port: 7000 }).label, "[::1]:7000");
  assert.deepEqual(resolveOptions({ host: "h", caCerts: "-----BEGIN CERTIFICATE-----x" }).caCerts, [
    "-----BEGIN CERTIFICATE-----x",
  ]);
});

Deno.test("bad options fail with errors that name the option and the value", () => {
  const cases: [Record<string, unknown>, ErrorConstructor, string][] = [
    [{}, TypeError, "Cannot connect: 'host' (or 'url') must be a non-empty string, got undefined"],
    [
      { host: "" },
      TypeError,
      "Cannot connect: 'host' (or 'url') must be a non-empty string, got ''",
    ],
    [
      { host: "h", port: 70000 },
      RangeError,
      "Cannot connect: 'port' must be an integer from 1 to 65535, got 70000",
    ],
    [
      { host: "h", port: 1.5 },
      RangeError,
      "Cannot connect: 'port' must be an integer from 1 to 65535, got 1.5",
    ],
    [{ host: "h", protocol: 4 }, RangeError, "Cannot connect: 'protocol' must be 2 or 3, got 4"],
    [{ host: "h", tls: "yes" }, TypeError, "Cannot connect: 'tls' must be a boolean, got 'yes'"],
    [
      { host: "h", db: -1 },
      RangeError,
      "Cannot connect: 'db' must be an integer from 0 to 2147483647, got -1",
    ],
    [
      { host: "h", clientName: "has space" },
      TypeError,
      "Cannot connect: 'clientName' must be printable ASCII without spaces, got 'has space'",
    ],
    [
      { host: "h", caCerts: "not pem" },
      TypeError,
      "Cannot connect: 'caCerts' must be PEM certificates ('-----BEGIN CERTIFICATE-----…')",
    ],
    [
      { host: "h", auth: { username: "u" } },
      TypeError,
      "Cannot connect: 'auth' must be a provider with credentials() or { username, password }",
    ],
    [
      { host: "h", connectTimeout: 0 },
      RangeError,
      "Cannot connect: 'connectTimeout' must be an integer from 1 to 2147483647, got 0",
    ],
    [
      { host: "h", reconnect: { attempts: -1 } },
      RangeError,
      "Cannot connect: 'reconnect.attempts' must be an integer from 0 to 1000, got -1",
    ],
    [
      { host: "h", commandTimeout: 0 },
      RangeError,
      "Cannot connect: 'commandTimeout' must be an integer from 1 to 2147483647, or Infinity for no limit, got 0",
    ],
    [
      { host: "rediss://iam-user:wJalrXUtnFEMI/K7MDENG@cache.example.com:6379" },
      TypeError,
      "Cannot connect: 'host' must be a host name or IP address, got a string of 62 characters " +
      "(not shown: it may hold credentials); pass the URL's host name, without scheme, user or port",
    ],
    [
      { host: "cache.example.com/?Action=connect&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE" },
      TypeError,
      "Cannot connect: 'host' must be a host name or IP address, got a string of 74 characters " +
      "(not shown: it may hold credentials)",
    ],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => new RedisClient(options as never), { name: type.name, message });
  }
});

Deno.test("one client class for every runtime: ./cloudflare's RedisClient is the main one", async () => {
  const cloudflare = await import("../src/cloudflare.ts");
  assert.equal(cloudflare.RedisClient, RedisClient);
  assert.ok(new RedisClient({ host: "h", transport: denoTransport }) instanceof RedisClient);
});

Deno.test("the client never shows its credentials", () => {
  const client = new RedisClient({
    host: "cache.example.com",
    auth: { username: "u", password: "hunter2" },
  });
  assert.equal(
    Deno.inspect(client),
    "RedisClient { cache.example.com:6379, tls: true, resp3, idle }",
  );
  assert.ok(!JSON.stringify(client).includes("hunter2"));
});

Deno.test("backoff grows, is capped, and is jittered between half and all of the cap", () => {
  assert.equal(backoffDelay(0, 100, 1000, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 1000, () => 0.999999), 100);
  assert.equal(backoffDelay(3, 100, 1000, () => 0.999999), 800);
  assert.equal(backoffDelay(10, 100, 1000, () => 0.999999), 1000);
  assert.equal(backoffDelay(10, 100, 1000, () => 0), 500);
});

Deno.test("reauthAfter: one rule and one message for every entry point", async () => {
  const { iamCredentialsProvider } = await import(
    "../packages/node-redis/src/credentials_provider.ts"
  );
  const { IoredisIamAuth } = await import("@elasticache-iam/ioredis");
  const auth = { credentials: () => Promise.resolve({ username: "u", password: "p" }) };
  const ioredisLike = { options: {}, status: "wait", auth() {}, on() {}, removeListener() {} };
  const entryPoints: [string, (reauthAfter: unknown) => unknown][] = [
    ["Cannot connect", (reauthAfter) => new RedisClient({ host: "h", reauthAfter } as never)],
    [
      "Cannot create the node-redis credentials provider",
      (reauthAfter) => iamCredentialsProvider(auth, { reauthAfter } as never),
    ],
    [
      "Cannot set up IAM auth",
      (reauthAfter) => new IoredisIamAuth(ioredisLike as never, auth, { reauthAfter } as never),
    ],
  ];
  const HOUR = 3_600_000;
  for (const [action, make] of entryPoints) {
    for (const value of [0, -1, NaN, Infinity, 12 * HOUR, 13 * HOUR, "1000", true]) {
      assert.throws(() => make(value), {
        name: "RangeError",
        message: new RegExp(
          `^${action}: 'reauthAfter' must be a number of milliseconds above 0 and at most ` +
            `42600000 \\(11 h 50 min: .*\\), or false to turn re-authentication off, got `,
        ),
      }, `${action} ${String(value)}`);
    }
    for (const value of [1, 300, 11 * HOUR, 42_600_000, false, undefined]) make(value);
  }
});
