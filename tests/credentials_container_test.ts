/**
 * Container credentials (ECS, Fargate, EKS Pod Identity) against the
 * emulator's container endpoint and against scripted endpoints: the
 * variables the AWS SDKs read, the allowed-hosts rule, each failure as a
 * `CredentialsError` that names the source and shows no secret, the bounds
 * and retries on fake timers, and renewal before expiry on an injected clock.
 */

import assert from "node:assert/strict";
import { startEmulator } from "@elasticache-iam/emulator";
import { CredentialsError } from "../src/errors.ts";
import { IamAuth } from "../src/iam_auth.ts";
import { containerCredentialsSource, fromContainerMetadata } from "../src/credentials/container.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { RespTestClient } from "./_helpers/emulator_resp_client.ts";

const KEYS = {
  AccessKeyId: "ASIACONTAINERTEST001",
  SecretAccessKey: "container/Secret+Key/000000000000000000000",
  Token: "container-session-token-0123456789abcdefghijklmnop",
  Expiration: "2030-01-01T00:00:00Z",
};
const SECRETS = [KEYS.SecretAccessKey, KEYS.Token];

/** A `fetch` that answers every request itself, and records them. */
function scriptedFetch(answer: (url: URL, init: RequestInit) => Response | Promise<Response>) {
  const requests: { url: string; headers: Headers }[] = [];
  const fetch = (url: URL, init: RequestInit) => {
    requests.push({ url: url.href, headers: new Headers(init.headers) });
    return Promise.resolve(answer(url, init));
  };
  return { fetch, requests };
}

function jsonAnswer(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Checks a rejection: a `CredentialsError` with this message, and none of `secrets` anywhere in it. */
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

/** Lets promise callbacks and socket work run, without sleeping. */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("container credentials (EKS Pod Identity: full URI + token file) → IamAuth → AUTH through the gateway", async () => {
  await using emu = await startEmulator();
  const tokenFile = await Deno.makeTempFile({ prefix: "eks-pod-identity-token-" });
  try {
    await Deno.writeTextFile(tokenFile, `${emu.containerCredentials.authorizationToken}\n`);
    const credentials = fromContainerMetadata({
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: emu.containerCredentials.fullUri,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      },
      now: () => emu.clock.now(),
    });
    assert.equal(
      await credentials.waitingFor(),
      `container credentials: ${emu.containerCredentials.origin}`,
    );
    const resolved = await credentials();
    assert.match(resolved.accessKeyId, /^ASIA/);
    assert.ok(resolved.sessionToken);
    assert.ok(resolved.expiration instanceof Date);
    const life = resolved.expiration.getTime() - emu.clock.now();
    assert.ok(life > 6 * 3600_000 - 5000 && life <= 6 * 3600_000, `6 hours, got ${life} ms`);
    assert.equal(await credentials(), resolved, "cached until shortly before it expires");

    using auth = new IamAuth({
      replicationGroupId: "replication-group-01",
      userId: "iam-user-01",
      region: emu.region,
      credentials,
    });
    const { username, password } = await auth.credentials();
    await using client = await RespTestClient.connect(emu.gateway);
    assert.equal(await client.send("AUTH", username, password), "OK");
    assert.equal(await client.send("SET", "from", "container"), "OK");
    assert.equal(await client.send("GET", "from"), "container");
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("ECS: the relative URI is asked of http://169.254.170.2, without an Authorization header", async () => {
  await using emu = await startEmulator();
  const asked: string[] = [];
  const authorization: (string | null)[] = [];
  // ECS's address cannot be bound here: the `fetch` seam carries the request to the emulator.
  const credentials = fromContainerMetadata({
    env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: emu.containerCredentials.relativeUri },
    fetch: (url, init) => {
      asked.push(url.href);
      authorization.push(new Headers(init.headers).get("authorization"));
      return fetch(new URL(url.pathname, emu.containerCredentials.origin), init);
    },
  });
  assert.equal(await credentials.waitingFor(), "container credentials: http://169.254.170.2");
  const resolved = await credentials();
  assert.deepEqual(asked, [`http://169.254.170.2${emu.containerCredentials.relativeUri}`]);
  assert.deepEqual(authorization, [null]);
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: resolved,
  });
  const { username, password } = await auth.credentials();
  await using client = await RespTestClient.connect(emu.gateway);
  assert.equal(await client.send("AUTH", username, password), "OK");
});

Deno.test("the relative URI wins over the full URI, and the token file over the token, as the AWS SDKs document", async () => {
  const { fetch, requests } = scriptedFetch(() => jsonAnswer(KEYS));
  const tokenFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(tokenFile, "token-from-file");
    await fromContainerMetadata({
      env: {
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/ignored",
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "token-from-variable",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      },
      fetch,
    })();
    assert.equal(requests[0]!.url, "http://169.254.170.2/v2/credentials/abc");
    assert.equal(requests[0]!.headers.get("authorization"), "token-from-file");
    assert.equal(requests[0]!.headers.get("accept"), "application/json");

    // Options replace the variables: a full URI given in code ignores AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
    await fromContainerMetadata({
      fullUri: "http://localhost:8080/creds",
      authorizationToken: "Basic abcd",
      env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc" },
      fetch,
    })();
    assert.equal(requests[1]!.url, "http://localhost:8080/creds");
    assert.equal(requests[1]!.headers.get("authorization"), "Basic abcd");
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("the token file is read again for each request (EKS rotates it)", async () => {
  await using emu = await startEmulator();
  const tokenFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(tokenFile, "a-token-the-endpoint-never-issued");
    const env = {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: emu.containerCredentials.fullUri,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    };
    const credentials = fromContainerMetadata({ env, maxRetries: 0 });
    await rejectsWith(
      credentials(),
      `Cannot get container credentials from ${emu.containerCredentials.origin} ` +
        "(AWS_CONTAINER_CREDENTIALS_FULL_URI): it answered HTTP 401: AccessDenied: " +
        "The Authorization header is not the token this endpoint issued",
      [emu.containerCredentials.authorizationToken, "a-token-the-endpoint-never-issued"],
    );
    await Deno.writeTextFile(tokenFile, emu.containerCredentials.authorizationToken);
    assert.match((await credentials()).accessKeyId, /^ASIA/, "the failure was not cached");
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("absence: the check says what it looked for; the provider fails without a request", async () => {
  assert.deepEqual(containerCredentialsSource({}), {
    configured: false,
    lookedFor:
      "container credentials (neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set)",
  });
  assert.deepEqual(containerCredentialsSource({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "" }), {
    configured: false,
    lookedFor:
      "container credentials (neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set)",
  });
  assert.deepEqual(
    containerCredentialsSource({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/x" }),
    {
      configured: true,
      lookedFor: "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set)",
    },
  );
  assert.equal(
    containerCredentialsSource({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1/x" })
      .configured,
    true,
  );
  const { fetch, requests } = scriptedFetch(() => jsonAnswer(KEYS));
  const credentials = fromContainerMetadata({ env: {}, fetch });
  await rejectsWith(
    credentials(),
    "Cannot get container credentials: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor " +
      "AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
  );
  assert.equal(await credentials.waitingFor(), "container credentials");
  assert.equal(requests.length, 0);
});

Deno.test("allowed hosts: over http only loopback, ECS's and EKS Pod Identity's addresses; https anywhere", async () => {
  const allowed = [
    "http://127.0.0.1:51679/creds",
    "http://127.1.2.3/creds",
    "http://localhost/creds",
    "http://[::1]:8080/creds",
    "http://[0:0:0:0:0:0:0:1]/creds",
    "http://169.254.170.2/v2/credentials/x",
    "http://169.254.170.23/v1/credentials",
    "http://[fd00:ec2::23]/v1/credentials",
    "http://[FD00:EC2:0::23]/v1/credentials",
    "https://credentials.example.com/creds",
  ];
  for (const uri of allowed) {
    const { fetch, requests } = scriptedFetch(() => jsonAnswer(KEYS));
    const resolved = await fromContainerMetadata({
      env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: uri },
      fetch,
    })();
    assert.equal(resolved.accessKeyId, KEYS.AccessKeyId, uri);
    assert.equal(requests.length, 1, uri);
  }
  const refused: [string, string][] = [
    ["http://example.com/creds", "http://example.com"],
    ["http://169.254.170.3/creds", "http://169.254.170.3"],
    ["http://169.254.169.254/latest", "http://169.254.169.254"],
    ["http://10.0.0.1/creds", "http://10.0.0.1"],
    ["http://[fd00:ec2::24]/creds", "http://[fd00:ec2::24]"],
    ["http://app.localhost/creds", "http://app.localhost"],
    ["http://128.0.0.1/creds", "http://128.0.0.1"],
  ];
  for (const [uri, origin] of refused) {
    const { fetch, requests } = scriptedFetch(() => jsonAnswer(KEYS));
    await rejectsWith(
      fromContainerMetadata({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: uri }, fetch })(),
      `Cannot get container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI ${origin} is not ` +
        "allowed: over plain HTTP, credentials are fetched only from a loopback address " +
        "(127.0.0.0/8, ::1, localhost), ECS's 169.254.170.2 or EKS Pod Identity's " +
        "169.254.170.23 and fd00:ec2::23; use https:// for any other host",
    );
    assert.equal(requests.length, 0, `nothing is asked of ${uri}`);
  }
  for (const uri of ["file:///etc/passwd", "ftp://127.0.0.1/creds", "not a url"]) {
    await rejectsWith(
      fromContainerMetadata({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: uri } })(),
      /^Cannot get container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http\(s\) URL, got /,
    );
  }
  // A relative URI that would move the request elsewhere (`http://169.254.170.2@evil.example/`).
  for (const relative of ["@evil.example/creds", "v2/credentials/x"]) {
    await rejectsWith(
      fromContainerMetadata({ env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: relative } })(),
      /^Cannot get container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path on http:\/\/169\.254\.170\.2 starting with '\/', got /,
    );
  }
  // Nothing in a refused URL but its origin is shown: not a password, not the path.
  const withSecret = "http://user:hunter2-password@example.com/v2/credentials/secret-id";
  await rejectsWith(
    fromContainerMetadata({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: withSecret } })(),
    /is not allowed/,
    ["hunter2-password", "secret-id"],
  );
});

Deno.test("failures name the source and the endpoint, and show no secret: down, HTTP errors, malformed answers", async () => {
  // Nothing listens on a port just released.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await rejectsWith(
    fromContainerMetadata({
      fullUri: `http://127.0.0.1:${closedPort}/v1/credentials`,
      authorizationToken: "secret-authorization-token",
      maxRetries: 0,
    })(),
    `Cannot get container credentials from http://127.0.0.1:${closedPort} ('fullUri'): cannot connect`,
    ["secret-authorization-token"],
  );

  const cases: [Response | (() => Response), string][] = [
    [
      () =>
        jsonAnswer({ Code: "AccessDenied", Message: "bad token secret-authorization-token" }, 403),
      "it answered HTTP 403: AccessDenied: bad token (the request's token)",
    ],
    [() => new Response("Internal error", { status: 500 }), "it answered HTTP 500"],
    [() => new Response("<html>not json</html>"), "its answer is not JSON"],
    [() => jsonAnswer(["AccessKeyId"]), "its answer is not a JSON object"],
    [
      () => jsonAnswer({ AccessKeyId: KEYS.AccessKeyId, SecretAccessKey: KEYS.SecretAccessKey }),
      "its answer lacks Token, Expiration (expected AccessKeyId, SecretAccessKey, Token and Expiration strings)",
    ],
    [
      () => jsonAnswer({ ...KEYS, Expiration: "tomorrow" }),
      "its answer's Expiration 'tomorrow' is not an RFC 3339 date",
    ],
    [
      () => new Response("x".repeat(70_000)),
      "its answer is larger than 65536 bytes",
    ],
  ];
  for (const [answer, reason] of cases) {
    const { fetch } = scriptedFetch(typeof answer === "function" ? answer : () => answer);
    await rejectsWith(
      fromContainerMetadata({
        env: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
          AWS_CONTAINER_AUTHORIZATION_TOKEN: "secret-authorization-token",
        },
        maxRetries: 0,
        fetch,
      })(),
      `Cannot get container credentials from http://169.254.170.23 ` +
        `(AWS_CONTAINER_CREDENTIALS_FULL_URI): ${reason}`,
      [...SECRETS, "secret-authorization-token"],
    );
  }

  for (const [content, reason] of [["", "is empty"], ["a\nb", "holds a line break"]]) {
    const tokenFile = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(tokenFile, content!);
      await rejectsWith(
        fromContainerMetadata({
          fullUri: "http://127.0.0.1/x",
          authorizationTokenFile: tokenFile,
          maxRetries: 0,
        })(),
        new RegExp(
          `^Cannot get container credentials from http://127\\.0\\.0\\.1 \\('fullUri'\\): ` +
            `the authorization token \\('authorizationTokenFile' '/.*\\) ${reason}$`,
        ),
      );
    } finally {
      await Deno.remove(tokenFile);
    }
  }
  await rejectsWith(
    fromContainerMetadata({
      fullUri: "http://127.0.0.1/x",
      authorizationTokenFile: "/nonexistent/eks-pod-identity-token",
      maxRetries: 0,
    })(),
    /^Cannot get container credentials from http:\/\/127\.0\.0\.1 \('fullUri'\): the authorization token file \('authorizationTokenFile' .*\) does not exist$/,
  );
});

Deno.test("a hung endpoint: each request is bounded by 'timeout', and tried 4 times 1 s apart (fake timers)", async () => {
  const timers = new FakeTimers();
  let asked = 0;
  let aborted = 0;
  const credentials = fromContainerMetadata({
    fullUri: "http://169.254.170.23/v1/credentials",
    authorizationToken: "secret-authorization-token",
    timers,
    now: timers.now,
    fetch: (_url, init) => {
      asked++;
      return new Promise<Response>((_resolve, reject) => {
        init.signal!.addEventListener("abort", () => {
          aborted++;
          reject(init.signal!.reason);
        });
      });
    },
  });
  let outcome: unknown;
  const settledWith = () => outcome; // read through a call: the compiler cannot narrow it
  credentials().then(() => outcome = "credentials", (error) => outcome = error);
  await settle(() => asked === 1);
  timers.advance(999);
  await settle(() => false);
  assert.equal(asked, 1);
  assert.equal(outcome, undefined, "still waiting just before the bound");
  // Three more attempts: each times out after 1 s, then a 1 s pause.
  for (let attempt = 1; attempt <= 4; attempt++) {
    timers.advance(attempt === 1 ? 1 : 1000);
    await settle(() => aborted === attempt);
    if (attempt < 4) {
      timers.advance(1000);
      await settle(() => asked === attempt + 1);
    }
  }
  await settle(() => outcome !== undefined);
  assert.equal(asked, 4);
  assert.equal(aborted, 4, "every timed-out request was aborted");
  const error = settledWith();
  assert.ok(error instanceof CredentialsError, `failed at the bound, got ${error}`);
  assert.equal(
    error.message,
    "Cannot get container credentials from http://169.254.170.23 ('fullUri'): no answer within 1000 ms (4 attempts)",
  );
  assert.equal(timers.pending, 0, "no timer left behind");
});

Deno.test("a transient failure is retried after 1 s, as the AWS SDK for JavaScript does", async () => {
  const timers = new FakeTimers();
  let asked = 0;
  const credentials = fromContainerMetadata({
    fullUri: "http://127.0.0.1:51679/creds",
    timers,
    fetch: () => {
      asked++;
      return Promise.resolve(
        asked === 1 ? new Response("busy", { status: 503 }) : jsonAnswer(KEYS),
      );
    },
  });
  let outcome: unknown;
  credentials().then((value) => outcome = value, (error) => outcome = error);
  await settle(() => timers.pending === 2); // the whole call's bound, and the pause
  assert.equal(asked, 1);
  timers.advance(999);
  await settle(() => false);
  assert.equal(asked, 1, "the pause is 1 s");
  timers.advance(1);
  await settle(() => outcome !== undefined);
  assert.equal(asked, 2);
  assert.equal((outcome as { accessKeyId: string }).accessKeyId, KEYS.AccessKeyId);
});

Deno.test("renewal: cached until five minutes before Expiration, then asked again (injected clock); the emulator rotates", async () => {
  await using emu = await startEmulator();
  let asked = 0;
  const credentials = fromContainerMetadata({
    fullUri: emu.containerCredentials.fullUri,
    authorizationToken: emu.containerCredentials.authorizationToken,
    now: () => emu.clock.now(),
    fetch: (url, init) => {
      asked++;
      return fetch(url, init);
    },
  });
  const first = await credentials();
  const expiresIn = first.expiration!.getTime() - emu.clock.now();
  emu.clock.advance(expiresIn - 5 * 60_000 - 5000);
  assert.equal(await credentials(), first, "still cached 5 min + 5 s before expiry");
  assert.equal(asked, 1);
  emu.clock.advance(10_000);
  const second = await credentials();
  assert.equal(asked, 2, "asked again inside the 5-minute margin");
  assert.notEqual(second.accessKeyId, first.accessKeyId, "the endpoint handed out new credentials");
  assert.ok(second.expiration!.getTime() > first.expiration!.getTime());
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

Deno.test("bad options are TypeErrors and RangeErrors at once; variables fail each call", async () => {
  assert.throws(() => fromContainerMetadata({ fullUri: 42 as unknown as string }), TypeError);
  assert.throws(() => fromContainerMetadata({ timeout: 0 }), RangeError);
  assert.throws(() => fromContainerMetadata({ timeout: Infinity }), RangeError);
  assert.throws(() => fromContainerMetadata({ maxRetries: 11 }), RangeError);
  assert.throws(
    () => fromContainerMetadata({ fetch: "fetch" as unknown as typeof fetch }),
    TypeError,
  );
  const credentials = fromContainerMetadata({
    env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://example.com/" },
  });
  await assert.rejects(credentials(), CredentialsError);
  await assert.rejects(credentials(), CredentialsError, "a refusal is not cached away");
});
