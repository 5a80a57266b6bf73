/**
 * EC2 instance metadata credentials, IMDSv2 only, against the emulator's
 * IMDS endpoint and against scripted answers: the three requests the AWS
 * SDKs make, the variables they read, no IMDSv1 fallback, each failure as a
 * `CredentialsError` that names the source and the step and shows no secret,
 * the 1 s bound on fake timers, and renewal before expiry on an injected clock.
 */

import assert from "node:assert/strict";
import { startEmulator } from "@elasticache-iam/emulator";
import { CredentialsError } from "../src/errors.ts";
import { IamAuth } from "../src/iam_auth.ts";
import {
  fromInstanceMetadata,
  instanceMetadataSource,
} from "../src/credentials/instance_metadata.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";

const METADATA_TOKEN = "AQAEAImdsSessionTokenForTests0123456789abcdefghij==";
const KEYS = {
  Code: "Success",
  LastUpdated: "2026-11-23T12:00:00Z",
  Type: "AWS-HMAC",
  AccessKeyId: "ASIAIMDSTEST00000001",
  SecretAccessKey: "imds/Secret+Key/00000000000000000000000000",
  Token: "imds-session-token-0123456789abcdefghijklmnopqrstu",
  Expiration: "2030-01-01T00:00:00Z",
};
const SECRETS = [METADATA_TOKEN, KEYS.SecretAccessKey, KEYS.Token];

interface Asked {
  method: string;
  url: string;
  headers: Headers;
}

/**
 * A scripted instance metadata service: answers the token request, the role
 * name and the credentials as EC2 does, unless `override` answers first.
 */
function scriptedImds(override?: (asked: Asked) => Response | Promise<Response> | undefined) {
  const requests: Asked[] = [];
  const fetch = async (url: URL, init: RequestInit) => {
    const asked = {
      method: init.method ?? "GET",
      url: url.href,
      headers: new Headers(init.headers),
    };
    requests.push(asked);
    const answer = await override?.(asked);
    if (answer !== undefined) return answer;
    if (url.pathname === "/latest/api/token") return new Response(METADATA_TOKEN);
    if (asked.headers.get("x-aws-ec2-metadata-token") !== METADATA_TOKEN) {
      return new Response("Unauthorized", { status: 401 });
    }
    if (url.pathname === "/latest/meta-data/iam/security-credentials/") {
      return new Response("app-instance-role");
    }
    if (url.pathname === "/latest/meta-data/iam/security-credentials/app-instance-role") {
      return new Response(JSON.stringify(KEYS));
    }
    return new Response("Not Found", { status: 404 });
  };
  return { fetch, requests };
}

async function rejectsWith(
  promise: Promise<unknown>,
  message: string | RegExp,
  secrets: string[] = SECRETS,
): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof CredentialsError, `a CredentialsError, got ${error}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    const shown = `${error.message}\n${error.stack}\n${Deno.inspect(error, { depth: Infinity })}`;
    for (const secret of secrets) assert.ok(!shown.includes(secret), "no secret in the error");
    return true;
  });
}

async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT) → IamAuth → AUTH through the gateway", async () => {
  await using emu = await startEmulator();
  const credentials = fromInstanceMetadata({
    env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.instanceMetadata.endpoint },
    now: () => emu.clock.now(),
  });
  assert.equal(
    await credentials.waitingFor(),
    `EC2 instance metadata: IMDSv2 at ${emu.instanceMetadata.endpoint}`,
  );
  const resolved = await credentials();
  assert.match(resolved.accessKeyId, /^ASIA/);
  assert.ok(resolved.sessionToken);
  const life = resolved.expiration!.getTime() - emu.clock.now();
  assert.ok(life > 6 * 3600_000 - 5000 && life <= 6 * 3600_000, `6 hours, got ${life} ms`);
  assert.equal(await credentials(), resolved, "cached");

  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials,
  });
  const { username, password } = await auth.credentials();
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", username, password), "OK");
  assert.equal(await client.send("SET", "from", "imds"), "OK");
  assert.equal(await client.send("GET", "from"), "imds");
});

Deno.test("the three requests, as the AWS SDKs make them: token PUT with a 6-hour TTL, then two GETs with the token", async () => {
  const { fetch, requests } = scriptedImds();
  const resolved = await fromInstanceMetadata({ env: {}, fetch })();
  assert.equal(resolved.accessKeyId, KEYS.AccessKeyId);
  assert.equal(resolved.sessionToken, KEYS.Token);
  assert.equal(resolved.expiration!.toISOString(), "2030-01-01T00:00:00.000Z");
  assert.deepEqual(
    requests.map(({ method, url }) => `${method} ${url}`),
    [
      "PUT http://169.254.169.254/latest/api/token",
      "GET http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "GET http://169.254.169.254/latest/meta-data/iam/security-credentials/app-instance-role",
    ],
  );
  assert.equal(requests[0]!.headers.get("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
  assert.equal(requests[0]!.headers.get("x-aws-ec2-metadata-token"), null);
  for (const request of requests.slice(1)) {
    assert.equal(request.headers.get("x-aws-ec2-metadata-token"), METADATA_TOKEN);
  }
});

Deno.test("the address: IPv4 by default, IPv6 by endpoint mode (any case), an explicit endpoint first", async () => {
  const cases: [Record<string, string>, string][] = [
    [{}, "http://169.254.169.254/latest/api/token"],
    [{ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" }, "http://[fd00:ec2::254]/latest/api/token"],
    [{ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "ipv4" }, "http://169.254.169.254/latest/api/token"],
    [
      {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:1338/",
        AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6",
      },
      "http://127.0.0.1:1338/latest/api/token",
    ],
  ];
  for (const [env, first] of cases) {
    const { fetch, requests } = scriptedImds();
    await fromInstanceMetadata({ env, fetch })();
    assert.equal(requests[0]!.url, first, JSON.stringify(env));
  }
  const { fetch, requests } = scriptedImds();
  await fromInstanceMetadata({ endpointMode: "IPv6", env: {}, fetch })();
  assert.equal(requests[0]!.url, "http://[fd00:ec2::254]/latest/api/token");
});

Deno.test("absence: AWS_EC2_METADATA_DISABLED=true turns the source off, and the provider asks nothing", async () => {
  for (const value of ["true", "TRUE", "True"]) {
    assert.deepEqual(instanceMetadataSource({ AWS_EC2_METADATA_DISABLED: value }), {
      configured: false,
      lookedFor: "EC2 instance metadata (AWS_EC2_METADATA_DISABLED is true)",
    });
    const { fetch, requests } = scriptedImds();
    await rejectsWith(
      fromInstanceMetadata({ env: { AWS_EC2_METADATA_DISABLED: value }, fetch })(),
      "Cannot get EC2 instance metadata credentials: AWS_EC2_METADATA_DISABLED is true",
    );
    assert.equal(requests.length, 0);
  }
  assert.deepEqual(instanceMetadataSource({}), {
    configured: true,
    lookedFor: "EC2 instance metadata (IMDSv2 at http://169.254.169.254)",
  });
  assert.deepEqual(instanceMetadataSource({ AWS_EC2_METADATA_DISABLED: "false" }).configured, true);
  assert.equal(
    instanceMetadataSource({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" }).lookedFor,
    "EC2 instance metadata (IMDSv2 at http://[fd00:ec2::254])",
  );
  assert.equal(
    instanceMetadataSource({ AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:1338/x?y" })
      .lookedFor,
    "EC2 instance metadata (IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT http://127.0.0.1:1338)",
  );
});

Deno.test("no IMDSv1 fallback: a refused token request fails the call without a GET", async () => {
  for (
    const [status, hint] of [
      [403, " (the service refuses tokens: IMDS may be turned off on this instance)"],
      [404, " (this service does not offer IMDSv2, and IMDSv1 is not used)"],
      [405, " (this service does not offer IMDSv2, and IMDSv1 is not used)"],
      [500, ""],
    ] as const
  ) {
    const { fetch, requests } = scriptedImds((asked) =>
      asked.method === "PUT" ? new Response("no", { status }) : undefined
    );
    await rejectsWith(
      fromInstanceMetadata({ env: {}, fetch })(),
      "Cannot get EC2 instance metadata credentials from http://169.254.169.254: the IMDSv2 " +
        `token request (PUT /latest/api/token) answered HTTP ${status}${hint}`,
    );
    assert.deepEqual(requests.map(({ method }) => method), ["PUT"], "no GET without a token");
  }
});

Deno.test("failures name the step and show no secret: down, 401, no role, error codes, malformed JSON", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await rejectsWith(
    fromInstanceMetadata({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closedPort}` },
    })(),
    `Cannot get EC2 instance metadata credentials from http://127.0.0.1:${closedPort}: the ` +
      "IMDSv2 token request (PUT /latest/api/token): cannot connect",
  );
  // At the service's own address, the message says what to do off EC2.
  await rejectsWith(
    fromInstanceMetadata({
      env: {},
      fetch: () => Promise.reject(new TypeError("connection refused")),
    })(),
    "Cannot get EC2 instance metadata credentials from http://169.254.169.254: the IMDSv2 " +
      "token request (PUT /latest/api/token): cannot connect (is this an EC2 instance? " +
      "Elsewhere set AWS_EC2_METADATA_DISABLED=true to skip this source)",
  );

  const role = "/latest/meta-data/iam/security-credentials/";
  const cases: [(asked: Asked) => Response | undefined, string][] = [
    [
      (asked) => asked.method === "GET" ? new Response("", { status: 401 }) : undefined,
      `the role name request (GET ${role}) answered HTTP 401 (the service refused its own token)`,
    ],
    [
      (asked) => asked.url.endsWith(role) ? new Response("Not Found", { status: 404 }) : undefined,
      `the role name request (GET ${role}) answered HTTP 404 (no IAM role is attached to this ` +
      "instance: give it an instance profile)",
    ],
    [
      (asked) => asked.url.endsWith(role) ? new Response("\n") : undefined,
      `the role name request (GET ${role}) answered no role name (no IAM role is attached to ` +
      "this instance: give it an instance profile)",
    ],
    [
      (asked) =>
        asked.url.endsWith("app-instance-role") ? new Response("", { status: 500 }) : undefined,
      "the credentials request for role 'app-instance-role' answered HTTP 500",
    ],
    [
      (asked) =>
        asked.url.endsWith("app-instance-role")
          ? new Response(JSON.stringify({
            Code: "AssumeRoleUnauthorizedAccess",
            Message: `EC2 cannot assume the role (token ${METADATA_TOKEN})`,
            LastUpdated: "2026-11-23T12:00:00Z",
          }))
          : undefined,
      "the credentials request for role 'app-instance-role' answered: " +
      "AssumeRoleUnauthorizedAccess: EC2 cannot assume the role (token (the request's token))",
    ],
    [
      (asked) => asked.url.endsWith("app-instance-role") ? new Response("{not json") : undefined,
      "the credentials request for role 'app-instance-role' failed: its answer is not JSON",
    ],
    [
      (asked) =>
        asked.url.endsWith("app-instance-role")
          ? new Response(JSON.stringify({ ...KEYS, Token: undefined }))
          : undefined,
      "the credentials request for role 'app-instance-role' failed: its answer lacks Token " +
      "(expected AccessKeyId, SecretAccessKey, Token and Expiration strings)",
    ],
  ];
  for (const [override, reason] of cases) {
    const { fetch } = scriptedImds(override);
    await rejectsWith(
      fromInstanceMetadata({ env: {}, fetch })(),
      `Cannot get EC2 instance metadata credentials from http://169.254.169.254: ${reason}`,
    );
  }
});

Deno.test("malformed variables fail each call with a CredentialsError; malformed options throw at once", async () => {
  const cases: [Record<string, string>, string][] = [
    [
      { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv5" },
      "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be 'IPv4' or 'IPv6', got 'IPv5'",
    ],
    [
      { AWS_EC2_METADATA_SERVICE_ENDPOINT: "169.254.169.254" },
      "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL, got '169.254.169.254'",
    ],
    [
      { AWS_METADATA_SERVICE_TIMEOUT: "soon" },
      "AWS_METADATA_SERVICE_TIMEOUT must be a positive number of seconds, got 'soon'",
    ],
    [
      { AWS_METADATA_SERVICE_NUM_ATTEMPTS: "0" },
      "AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a whole number from 1 to 10, got '0'",
    ],
  ];
  for (const [env, problem] of cases) {
    const { fetch, requests } = scriptedImds();
    const credentials = fromInstanceMetadata({ env, fetch });
    await rejectsWith(credentials(), `Cannot get EC2 instance metadata credentials: ${problem}`);
    assert.equal(await credentials.waitingFor(), "EC2 instance metadata");
    assert.equal(requests.length, 0);
  }
  assert.throws(() => fromInstanceMetadata({ endpointMode: "IPv5" }), TypeError);
  assert.throws(() => fromInstanceMetadata({ endpoint: "169.254.169.254" }), TypeError);
  assert.throws(() => fromInstanceMetadata({ timeout: -1 }), RangeError);
  assert.throws(() => fromInstanceMetadata({ maxAttempts: 0 }), RangeError);
});

Deno.test("a hung service: each request is bounded by 1 s (the SDKs' default), one attempt by default (fake timers)", async () => {
  const timers = new FakeTimers();
  let aborted = 0;
  const { fetch, requests } = scriptedImds((asked) =>
    asked.url.endsWith("/security-credentials/")
      ? new Promise<Response>(() => {}) // never answers; the abort below ends the wait
      : undefined
  );
  const credentials = fromInstanceMetadata({
    env: {},
    timers,
    fetch: (url, init) => {
      init.signal!.addEventListener("abort", () => aborted++);
      return fetch(url, init);
    },
  });
  let outcome: unknown;
  const settledWith = () => outcome;
  credentials().then(() => outcome = "credentials", (error) => outcome = error);
  await settle(() => requests.length === 2);
  timers.advance(999);
  await settle(() => false);
  assert.equal(settledWith(), undefined, "still waiting just before the bound");
  timers.advance(1);
  await settle(() => settledWith() !== undefined);
  const error = settledWith();
  assert.ok(error instanceof CredentialsError, `failed at the bound, got ${error}`);
  assert.equal(
    error.message,
    "Cannot get EC2 instance metadata credentials from http://169.254.169.254: the role name " +
      "request (GET /latest/meta-data/iam/security-credentials/): no answer within 1000 ms " +
      "(is this an EC2 instance? Elsewhere set AWS_EC2_METADATA_DISABLED=true to skip this source)",
  );
  assert.equal(aborted, 1, "the hung request was aborted");
  assert.equal(timers.pending, 0, "no timer left behind");
});

Deno.test("AWS_METADATA_SERVICE_NUM_ATTEMPTS tries the whole exchange again; AWS_METADATA_SERVICE_TIMEOUT is in seconds", async () => {
  let failures = 2;
  const { fetch, requests } = scriptedImds((asked) =>
    asked.method === "PUT" && failures-- > 0 ? new Response("", { status: 503 }) : undefined
  );
  const resolved = await fromInstanceMetadata({
    env: { AWS_METADATA_SERVICE_NUM_ATTEMPTS: "3" },
    fetch,
  })();
  assert.equal(resolved.accessKeyId, KEYS.AccessKeyId);
  assert.deepEqual(requests.map(({ method }) => method), ["PUT", "PUT", "PUT", "GET", "GET"]);

  failures = 5;
  await rejectsWith(
    fromInstanceMetadata({ env: { AWS_METADATA_SERVICE_NUM_ATTEMPTS: "2" }, fetch })(),
    "Cannot get EC2 instance metadata credentials from http://169.254.169.254: the IMDSv2 " +
      "token request (PUT /latest/api/token) answered HTTP 503 (2 attempts)",
  );

  const timers = new FakeTimers();
  const hung = fromInstanceMetadata({
    env: { AWS_METADATA_SERVICE_TIMEOUT: "2" },
    timers,
    fetch: (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal!.addEventListener("abort", () => reject(init.signal!.reason))
      ),
  });
  let outcome: unknown;
  const settledWith = () => outcome;
  hung().then(() => outcome = "credentials", (error) => outcome = error);
  await settle(() => timers.pending === 2); // the whole call's bound, and the token request's
  timers.advance(1999);
  await settle(() => false);
  assert.equal(settledWith(), undefined);
  timers.advance(1);
  await settle(() => settledWith() !== undefined);
  assert.match((settledWith() as Error).message, /no answer within 2000 ms/);
});

Deno.test("renewal: cached until five minutes before Expiration (injected clock); the emulator rotates; its token is fetched anew", async () => {
  await using emu = await startEmulator();
  const asked: string[] = [];
  const credentials = fromInstanceMetadata({
    endpoint: emu.instanceMetadata.endpoint,
    now: () => emu.clock.now(),
    env: {},
    fetch: (url, init) => {
      asked.push(`${init.method} ${url.pathname}`);
      return fetch(url, init);
    },
  });
  const first = await credentials();
  assert.equal(asked.length, 3);
  const expiresIn = first.expiration!.getTime() - emu.clock.now();
  emu.clock.advance(expiresIn - 5 * 60_000 - 5000);
  assert.equal(await credentials(), first, "still cached 5 min + 5 s before expiry");
  assert.equal(asked.length, 3);
  emu.clock.advance(10_000);
  const second = await credentials();
  assert.equal(asked.length, 6, "a new token, the role, the credentials");
  assert.equal(asked[3], "PUT /latest/api/token");
  assert.notEqual(second.accessKeyId, first.accessKeyId);
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials,
    now: () => emu.clock.now(),
  });
  const { username, password } = await auth.credentials();
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", username, password), "OK");
});
