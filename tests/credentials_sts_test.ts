/**
 * The `fetch`-based STS `AssumeRoleWithWebIdentity` behind `fromWebIdentity`
 * (src/credentials/sts_web_identity.ts): against the emulator's STS (success
 * and each error code it answers), and against scripted servers for what the
 * emulator never does (entities and CDATA, malformed documents, throttling,
 * 5xx, network errors, hangs), with both senders: `fetch` and `node:http`.
 * Retry waits are recorded, not slept.
 */

import assert from "node:assert/strict";
import * as nodeHttp from "node:http";
import * as nodeHttps from "node:https";
import { generateKeyPair, SignJWT } from "jose";
import { fromWebIdentity } from "../src/credentials/web_identity.ts";
import { readXml } from "../src/credentials/xml.ts";
import { fetchSend, type HttpSend, type NodeHttp, nodeSend } from "../src/credentials/_http.ts";
import {
  type StsCredentials,
  stsEndpointFor,
  StsError,
  type StsRoleAssumerOptions,
  webIdentityRoleAssumer,
} from "../src/credentials/sts_web_identity.ts";
import { CredentialsError } from "../src/errors.ts";
import { startEmulator } from "@elasticache-iam/emulator";

const SENDERS: [string, HttpSend][] = [
  ["fetch", fetchSend()],
  ["node:http", nodeSend(nodeHttp as unknown as NodeHttp, nodeHttps as unknown as NodeHttp)],
];
const ROLE = "arn:aws:iam::123456789012:role/elasticache-iam-auth-app";
const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

// ---------------------------------------------------------------- helpers

interface Recorded {
  headers: Headers;
  form: URLSearchParams;
}

/** Whatever a scripted STS does with request `n` (1-based). */
type Script = (n: number, request: Recorded) => Response | "hang" | Promise<Response | "hang">;

/** A loopback HTTP server that answers by script and records every request. */
function scriptedSts(script: Script) {
  const requests: Recorded[] = [];
  let release!: () => void;
  const closed = new Promise<void>((resolve) => release = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const recorded = {
      headers: request.headers,
      form: new URLSearchParams(await request.text()),
    };
    requests.push(recorded);
    const answer = await script(requests.length, recorded);
    if (answer !== "hang") return answer;
    await closed;
    return new Response("closed", { status: 503 });
  });
  const close = async () => {
    release();
    await server.shutdown();
  };
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A scripted STS in front of the emulator's: `script` answers, or returns undefined to forward. */
function recordingProxy(
  upstream: string,
  script: (n: number, request: Recorded) => Response | undefined = () => undefined,
) {
  return scriptedSts(async (n, request) =>
    script(n, request) ??
      await fetch(upstream, {
        method: "POST",
        headers: { "content-type": request.headers.get("content-type")! },
        body: request.form,
      })
  );
}

function xmlResponse(status: number, body: string, headers: Record<string, string> = {}) {
  return new Response(body, { status, headers: { "content-type": "text/xml", ...headers } });
}

function stsError(code: string, message: string, type = "Sender"): string {
  return `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${code}</Code>` +
    `<Message>${message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`;
}

function success(credentials: string, extra = ""): string {
  return `<AssumeRoleWithWebIdentityResponse xmlns="${XMLNS}"><AssumeRoleWithWebIdentityResult>` +
    `<Credentials>${credentials}</Credentials>${extra}</AssumeRoleWithWebIdentityResult>` +
    `<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>` +
    `</AssumeRoleWithWebIdentityResponse>`;
}

const PLAIN_CREDENTIALS = "<AccessKeyId>ASIAPLAIN</AccessKeyId>" +
  "<SecretAccessKey>plain-secret</SecretAccessKey><SessionToken>plain-session</SessionToken>" +
  "<Expiration>2030-01-01T00:00:00Z</Expiration>";

/** An assumer whose retry waits are recorded instead of slept. */
function assumer(options: StsRoleAssumerOptions & { waits?: number[] }) {
  const waits = options.waits ?? [];
  return webIdentityRoleAssumer({
    random: () => 0.5,
    ...options,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
}

const params = (token = "header.payload.signature") => ({
  RoleArn: ROLE,
  RoleSessionName: "sts-test",
  WebIdentityToken: token,
});

async function failure(promise: Promise<unknown>): Promise<StsError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof StsError, `expected an StsError, got ${error}`);
  return error;
}

// ---------------------------------------------------------------- the XML reader

Deno.test("readXml decodes entities, character references and CDATA, and skips prolog and comments", () => {
  const root = readXml(
    `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment -->\n<a xmlns="urn:x" b='1'>` +
      `<c>x &lt;&gt;&amp;&quot;&apos; &#43;&#x2F;&#x41;&#128512;</c><c2/>` +
      `<d><![CDATA[<raw & kept>]]>&amp;</d>\n</a>\n<!-- trailer -->\n`,
  );
  assert.equal(root.name, "a");
  assert.deepEqual(root.children.map((c) => c.name), ["c", "c2", "d"]);
  assert.equal(root.children[0]!.text, `x <>&"' +/A😀`);
  assert.equal(root.children[1]!.text, "");
  assert.equal(root.children[2]!.text, "<raw & kept>&");
});

Deno.test("readXml refuses what is not well formed, and any document type declaration", () => {
  for (
    const [what, source] of [
      ["unknown entity", "<a>&nbsp;</a>"],
      ["bare ampersand", "<a>fish & chips</a>"],
      ["unterminated reference", "<a>&amp</a>"],
      ["NUL reference", "<a>&#0;</a>"],
      ["upper-case hexadecimal marker", "<a>&#X41;</a>"],
      ["surrogate reference", "<a>&#xD800;</a>"],
      ["out of range reference", "<a>&#x110000;</a>"],
      ["DOCTYPE", '<!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>'],
      ["mismatched end tag", "<a><b></a></b>"],
      ["unclosed element", "<a><b></b>"],
      ["stray end tag", "<a></a></b>"],
      ["two roots", "<a></a><b></b>"],
      ["text outside the root", "<a></a>text"],
      ["malformed tag", "<a><b c=unquoted></b></a>"],
      ["unterminated comment", "<a><!-- </a>"],
      ["unterminated CDATA", "<a><![CDATA[ </a>"],
      ["empty document", "  "],
    ] as const
  ) {
    assert.throws(() => readXml(source), SyntaxError, what);
  }
});

// ---------------------------------------------------------------- endpoints

Deno.test("stsEndpointFor gives the AWS SDK's regional STS endpoints, partitions, FIPS and dual-stack", () => {
  // Each row checked against @aws-sdk/nested-clients 3.998.3's STS endpoint rules.
  const rows: [string, string, string, string, string][] = [
    // region, plain, FIPS, dual-stack, FIPS + dual-stack
    [
      "us-east-1",
      "https://sts.us-east-1.amazonaws.com",
      "https://sts-fips.us-east-1.amazonaws.com",
      "https://sts.us-east-1.api.aws",
      "https://sts-fips.us-east-1.api.aws",
    ],
    [
      "eu-west-3",
      "https://sts.eu-west-3.amazonaws.com",
      "https://sts-fips.eu-west-3.amazonaws.com",
      "https://sts.eu-west-3.api.aws",
      "https://sts-fips.eu-west-3.api.aws",
    ],
    [
      "cn-north-1",
      "https://sts.cn-north-1.amazonaws.com.cn",
      "https://sts-fips.cn-north-1.amazonaws.com.cn",
      "https://sts.cn-north-1.api.amazonwebservices.com.cn",
      "https://sts-fips.cn-north-1.api.amazonwebservices.com.cn",
    ],
    [
      "us-gov-west-1",
      "https://sts.us-gov-west-1.amazonaws.com",
      "https://sts.us-gov-west-1.amazonaws.com",
      "https://sts.us-gov-west-1.api.aws",
      "https://sts-fips.us-gov-west-1.api.aws",
    ],
    [
      "us-iso-east-1",
      "https://sts.us-iso-east-1.c2s.ic.gov",
      "https://sts-fips.us-iso-east-1.c2s.ic.gov",
      "https://sts.us-iso-east-1.api.aws.ic.gov",
      "https://sts-fips.us-iso-east-1.api.aws.ic.gov",
    ],
    [
      "us-isob-east-1",
      "https://sts.us-isob-east-1.sc2s.sgov.gov",
      "https://sts-fips.us-isob-east-1.sc2s.sgov.gov",
      "https://sts.us-isob-east-1.api.aws.scloud",
      "https://sts-fips.us-isob-east-1.api.aws.scloud",
    ],
    [
      "eu-isoe-west-1",
      "https://sts.eu-isoe-west-1.cloud.adc-e.uk",
      "https://sts-fips.eu-isoe-west-1.cloud.adc-e.uk",
      "https://sts.eu-isoe-west-1.api.cloud-aws.adc-e.uk",
      "https://sts-fips.eu-isoe-west-1.api.cloud-aws.adc-e.uk",
    ],
    [
      "us-isof-south-1",
      "https://sts.us-isof-south-1.csp.hci.ic.gov",
      "https://sts-fips.us-isof-south-1.csp.hci.ic.gov",
      "https://sts.us-isof-south-1.api.aws.hci.ic.gov",
      "https://sts-fips.us-isof-south-1.api.aws.hci.ic.gov",
    ],
  ];
  for (const [region, plain, fips, dualStack, both] of rows) {
    assert.equal(stsEndpointFor(region), plain);
    assert.equal(stsEndpointFor(region, { useFipsEndpoint: true }), fips);
    assert.equal(stsEndpointFor(region, { useDualstackEndpoint: true }), dualStack);
    assert.equal(
      stsEndpointFor(region, { useFipsEndpoint: true, useDualstackEndpoint: true }),
      both,
    );
  }
  assert.throws(
    () => webIdentityRoleAssumer({ endpoint: "https://sts.example", useFipsEndpoint: true }),
    TypeError,
  );
  assert.throws(() => webIdentityRoleAssumer({ endpoint: "ftp://sts.example" }), TypeError);
});

// ---------------------------------------------------------------- against the emulator's STS

for (const [sender, send] of SENDERS) {
  Deno.test(`emulator STS (${sender}): success, with the SDK's fields and every form field sent`, async () => {
    await using emu = await startEmulator();
    await using proxy = recordingProxy(emu.sts.endpoint);
    const jwt = await emu.oidc.mintToken({
      sub: "repo:acme/app:ref:refs/heads/main",
      aud: "sts.amazonaws.com",
    });
    const credentials: StsCredentials = await assumer({ endpoint: proxy.endpoint, send })({
      ...params(jwt),
      DurationSeconds: 1800,
      Policy: '{"Version":"2012-10-17"}',
      PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }, {}],
    });
    assert.match(credentials.accessKeyId, /^ASIA/);
    assert.ok(credentials.secretAccessKey.length > 10);
    assert.ok(credentials.sessionToken);
    const life = credentials.expiration!.getTime() - emu.clock.now();
    assert.ok(life > 1_790_000 && life <= 1_800_000, `DurationSeconds honoured: ${life} ms`);
    assert.equal(credentials.accountId, "123456789012");
    assert.equal("credentialScope" in credentials, false);

    assert.equal(proxy.requests.length, 1);
    const [{ headers, form }] = proxy.requests as [Recorded];
    assert.deepEqual(Object.fromEntries(form), {
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: ROLE,
      RoleSessionName: "sts-test",
      WebIdentityToken: jwt,
      "PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
      Policy: '{"Version":"2012-10-17"}',
      DurationSeconds: "1800",
    });
    assert.match(headers.get("content-type")!, /^application\/x-www-form-urlencoded/);
    assert.match(headers.get("user-agent")!, /^elasticache-iam-connector sts-web-identity/);
    assert.equal(headers.get("amz-sdk-request"), "attempt=1; max=3");
    assert.match(headers.get("amz-sdk-invocation-id")!, /^[0-9a-f-]{36}$/);
    assert.equal(headers.get("authorization"), null, "the call is unsigned");
  });

  Deno.test(`emulator STS (${sender}): each error code, with STS's message, once, and no JWT`, async () => {
    const unreachable = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const idp = `http://127.0.0.1:${unreachable.addr.port}`;
    unreachable.close();
    await using emu = await startEmulator({
      oidcProviders: [{ url: idp, clientIds: ["sts.amazonaws.com"] }],
    });
    const mint = (claims: { aud?: string; expiresIn?: number } = {}) =>
      emu.oidc.mintToken({
        sub: "repo:acme/app:ref:refs/heads/main",
        aud: "sts.amazonaws.com",
        ...claims,
      });
    const { privateKey } = await generateKeyPair("RS256");
    const fromUnreachableIdp = await new SignJWT({ sub: "x", aud: "sts.amazonaws.com" })
      .setProtectedHeader({ alg: "RS256", kid: "k" }).setIssuer(idp).setIssuedAt()
      .setExpirationTime("1h").sign(privateKey);
    const cases: {
      what: string;
      jwt: string;
      change?: Partial<ReturnType<typeof params>> & { DurationSeconds?: number };
      code: string;
      status: number;
      message: RegExp;
      attempts: number;
    }[] = [
      {
        what: "not a JWT",
        jwt: "not-a-jwt",
        code: "InvalidIdentityToken",
        status: 400,
        message: /The ID Token provided is not a valid JWT/,
        attempts: 1,
      },
      {
        what: "wrong audience",
        jwt: await mint({ aud: "not-sts" }),
        code: "InvalidIdentityToken",
        status: 400,
        message: /: Incorrect token audience \[request id [0-9a-f-]{36}\]$/,
        attempts: 1,
      },
      {
        what: "expired",
        jwt: await mint({ expiresIn: -60 }),
        code: "ExpiredTokenException",
        status: 400,
        message:
          /Token expired: current date\/time \d+ must be before the expiration date\/time \d+/,
        attempts: 1,
      },
      {
        what: "untrusted role",
        jwt: await mint(),
        change: { RoleArn: "arn:aws:iam::123456789012:role/not-configured" },
        code: "AccessDenied",
        status: 403,
        message:
          /^STS answered AccessDenied \(HTTP 403\): Not authorized to perform sts:AssumeRoleWithWebIdentity/,
        attempts: 1,
      },
      {
        what: "duration above the role's maximum",
        jwt: await mint(),
        change: { DurationSeconds: 7200 },
        code: "ValidationError",
        status: 400,
        message: /exceeds the MaxSessionDuration set for this role/,
        attempts: 1,
      },
      {
        what: "identity provider unreachable (retried, as AWS advises)",
        jwt: fromUnreachableIdp,
        code: "IDPCommunicationError",
        status: 400,
        message:
          /^STS answered IDPCommunicationError \(HTTP 400\): Couldn't retrieve verification key .* \(after 3 attempts\)$/,
        attempts: 3,
      },
    ];
    for (const c of cases) {
      await using proxy = recordingProxy(emu.sts.endpoint);
      const waits: number[] = [];
      const error = await failure(
        assumer({ endpoint: proxy.endpoint, send, waits })({ ...params(c.jwt), ...c.change }),
      );
      assert.equal(error.code, c.code, c.what);
      assert.equal(error.status, c.status, c.what);
      assert.match(error.message, c.message, c.what);
      assert.match(error.requestId ?? "", /^[0-9a-f-]{36}$/, c.what);
      assert.equal(error.attempts, c.attempts, c.what);
      assert.equal(proxy.requests.length, c.attempts, `${c.what}: requests`);
      assert.equal(waits.length, c.attempts - 1, `${c.what}: waits`);
      assert.ok(!String(error.stack).includes(c.jwt), `${c.what}: the JWT is in the error`);
      assert.ok(!String(error.stack).includes("eyJ"), `${c.what}: a JWT is in the error`);
    }
  });

  Deno.test(`emulator STS (${sender}): an escaped message is decoded (numeric references)`, async () => {
    await using emu = await startEmulator();
    const name = `a&b<c>"d'e`;
    const error = await failure(
      assumer({ endpoint: emu.sts.endpoint, send })({ ...params(), RoleSessionName: name }),
    );
    assert.equal(error.code, "ValidationError");
    assert.ok(
      error.message.includes(`Value '${name}' at 'roleSessionName' failed to satisfy constraint`),
      error.message,
    );
  });
}

// ---------------------------------------------------------------- scripted answers

for (const [sender, send] of SENDERS) {
  Deno.test(`scripted STS (${sender}): entities, CDATA, whitespace and optional fields in a success`, async () => {
    await using sts = scriptedSts(() =>
      xmlResponse(
        200,
        `<?xml version="1.0" encoding="UTF-8"?>\n<!-- STS -->\n` + success(
          `\n  <AccessKeyId>ASIA&#x45;NTITY</AccessKeyId>\n` +
            `  <SecretAccessKey>s&#43;cr&#x2F;t&amp;&lt;&gt;&quot;&apos;=</SecretAccessKey>\n` +
            `  <SessionToken><![CDATA[Fw//&<token>]]>&#61;&#61;</SessionToken>\n` +
            `  <Expiration>2030-01-01T00:00:00.123+02:00</Expiration>\n` +
            `  <CredentialScope>eu-west-1</CredentialScope>\n`,
          `<AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/app/x</Arn>` +
            `<AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>`,
        ),
      )
    );
    const credentials = await assumer({ endpoint: sts.endpoint, send })(params());
    assert.deepEqual(credentials, {
      accessKeyId: "ASIAENTITY",
      secretAccessKey: `s+cr/t&<>"'=`,
      sessionToken: "Fw//&<token>==",
      expiration: new Date("2029-12-31T22:00:00.123Z"),
      credentialScope: "eu-west-1",
      accountId: "210987654321",
    });
  });

  Deno.test(`scripted STS (${sender}): a malformed success is refused at once, without its secrets`, async () => {
    const secret = "SECRETvalue0123456789";
    for (
      const [what, body, reason] of [
        [
          "unknown entity",
          success(
            `<AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>${secret}&bogus;</SecretAccessKey>`,
          ),
          /the reference '&bogus;'|a bare '&'/,
        ],
        [
          "DOCTYPE",
          `<!DOCTYPE x [<!ENTITY e "${secret}">]>` + success(PLAIN_CREDENTIALS),
          /document type declaration/,
        ],
        [
          "two access keys",
          success(`<AccessKeyId>A</AccessKeyId>${PLAIN_CREDENTIALS}`),
          /<Credentials> has more than one <AccessKeyId>/,
        ],
        [
          "no credentials",
          success("").replace("<Credentials></Credentials>", ""),
          /no <Credentials>/,
        ],
        [
          "no secret",
          success(`<AccessKeyId>ASIA</AccessKeyId><SessionToken>${secret}</SessionToken>`),
          /<Credentials> has no <SecretAccessKey>/,
        ],
        [
          "bad expiration",
          success(PLAIN_CREDENTIALS.replace("2030-01-01T00:00:00Z", "tomorrow")),
          /<Expiration> is not an RFC 3339 date: 'tomorrow'/,
        ],
        [
          "another action's answer",
          `<AssumeRoleResponse>${secret}</AssumeRoleResponse>`,
          /root is <AssumeRoleResponse>/,
        ],
        ["not XML", `{"AccessKeyId":"${secret}"}`, /text outside the root element|no root element/],
      ] as const
    ) {
      await using sts = scriptedSts(() => xmlResponse(200, body));
      const error = await failure(assumer({ endpoint: sts.endpoint, send })(params()));
      assert.equal(error.code, "MalformedResponse", what);
      assert.match(error.message, /with a malformed document: /, what);
      assert.match(error.message, reason, what);
      assert.ok(!String(error.stack).includes(secret), `${what}: the secret is in the error`);
      assert.equal(sts.requests.length, 1, `${what}: not retried`);
    }
  });

  Deno.test(`scripted STS (${sender}): retries as the SDK's standard mode, 3 attempts`, async () => {
    const throttled = () => xmlResponse(400, stsError("Throttling", "Rate exceeded"));
    const rows: {
      what: string;
      script: Script;
      requests: number;
      waits: number[];
      outcome: RegExp | "ok";
    }[] = [
      {
        what: "throttling, 3 times: 1 s base, doubling, jittered between half and all (0.5 here)",
        script: throttled,
        requests: 3,
        waits: [750, 1500],
        outcome:
          /^STS answered Throttling \(HTTP 400\): Rate exceeded \[request id req-1\] \(after 3 attempts\)$/,
      },
      {
        what: "HTTP 429 is throttling",
        script: () => new Response("slow down", { status: 429 }),
        requests: 3,
        waits: [750, 1500],
        outcome: /^STS answered HTTP 429 without an STS error document \(after 3 attempts\)$/,
      },
      {
        what: "throttled, then answered",
        script: (n) => n === 1 ? throttled() : xmlResponse(200, success(PLAIN_CREDENTIALS)),
        requests: 2,
        waits: [750],
        outcome: "ok",
      },
      {
        what: "500 InternalFailure, then answered: 50 ms base",
        script: (n) =>
          n < 3
            ? xmlResponse(500, stsError("InternalFailure", "oops", "Receiver"))
            : xmlResponse(200, success(PLAIN_CREDENTIALS)),
        requests: 3,
        waits: [38, 75],
        outcome: "ok",
      },
      {
        what: "a proxy's 502 page, 3 times",
        script: () => new Response("<html><body>Bad Gateway</body></html>", { status: 502 }),
        requests: 3,
        waits: [38, 75],
        outcome: /^STS answered HTTP 502 without an STS error document \(after 3 attempts\)$/,
      },
      {
        what: "503 with Retry-After: 2",
        script: (n) =>
          n === 1
            ? xmlResponse(503, stsError("ServiceUnavailable", "busy", "Receiver"), {
              "retry-after": "2",
            })
            : xmlResponse(200, success(PLAIN_CREDENTIALS)),
        requests: 2,
        waits: [2000],
        outcome: "ok",
      },
      {
        what: "501 is not transient",
        script: () => xmlResponse(501, stsError("NotImplemented", "no", "Receiver")),
        requests: 1,
        waits: [],
        outcome: /^STS answered NotImplemented \(HTTP 501\): no \[request id req-1\]$/,
      },
      {
        what: "IDPRejectedClaim is final",
        script: () => xmlResponse(403, stsError("IDPRejectedClaim", "Claim rejected")),
        requests: 1,
        waits: [],
        outcome: /^STS answered IDPRejectedClaim \(HTTP 403\): Claim rejected/,
      },
    ];
    for (const row of rows) {
      await using sts = scriptedSts(row.script);
      const waits: number[] = [];
      const outcome = await assumer({ endpoint: sts.endpoint, send, waits })(params()).then(
        (credentials) => credentials,
        (error) => error as Error,
      );
      if (row.outcome === "ok") {
        assert.ok(!(outcome instanceof Error), `${row.what}: ${outcome}`);
        assert.equal((outcome as StsCredentials).accessKeyId, "ASIAPLAIN");
      } else {
        assert.ok(outcome instanceof StsError, `${row.what}: ${outcome}`);
        assert.match(outcome.message, row.outcome, row.what);
        assert.equal(outcome.attempts, row.requests, row.what);
      }
      assert.equal(sts.requests.length, row.requests, `${row.what}: requests`);
      assert.deepEqual(waits, row.waits, `${row.what}: waits`);
      const ids = new Set(sts.requests.map((r) => r.headers.get("amz-sdk-invocation-id")));
      assert.equal(ids.size, 1, "one invocation id across attempts");
      assert.deepEqual(
        sts.requests.map((r) => r.headers.get("amz-sdk-request")),
        sts.requests.map((_, i) => `attempt=${i + 1}; max=3`),
      );
    }
  });

  Deno.test(`scripted STS (${sender}): retry waits are jittered between half and all of the backoff`, async () => {
    const throttled = () => xmlResponse(400, stsError("Throttling", "Rate exceeded"));
    for (const [random, expected] of [[0, [500, 1000]], [0.999999, [1000, 2000]]] as const) {
      await using sts = scriptedSts(throttled);
      const waits: number[] = [];
      await failure(
        assumer({ endpoint: sts.endpoint, send, waits, random: () => random })(params()),
      );
      assert.deepEqual(waits, expected, `random ${random}`);
    }
  });

  Deno.test(`scripted STS (${sender}): refused connections are retried, then named`, async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const endpoint = `http://127.0.0.1:${listener.addr.port}`;
    listener.close();
    let sent = 0;
    const counting: HttpSend = (...args) => {
      sent++;
      return send(...args);
    };
    const waits: number[] = [];
    const error = await failure(assumer({ endpoint, send: counting, waits })(params()));
    assert.equal(error.code, "NetworkError");
    assert.match(
      error.message,
      new RegExp(`^Cannot reach STS at ${endpoint}: .+ \\(after 3 attempts\\)$`),
    );
    assert.equal(sent, 3);
    assert.deepEqual(waits, [38, 75]);
  });

  Deno.test(`scripted STS (${sender}): an endless answer is refused at 256 KiB and its stream cancelled`, async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x20); // XML whitespace, forever
    let pulled = 0;
    const cancelled = Promise.withResolvers<void>();
    await using sts = scriptedSts(() =>
      new Response(
        new ReadableStream<Uint8Array>({
          // One chunk per millisecond (64 MB/s), so that what the server pulls is what the
          // client reads, not what loopback's socket buffers hold (4 MB and more here).
          async pull(controller) {
            pulled++;
            controller.enqueue(chunk);
            await new Promise((resolve) => setTimeout(resolve, 1));
          },
          cancel() {
            cancelled.resolve();
          },
        }),
        { status: 200, headers: { "content-type": "text/xml" } },
      )
    );
    const waits: number[] = [];
    const error = await failure(assumer({ endpoint: sts.endpoint, send, waits })(params()));
    assert.equal(error.code, "MalformedResponse");
    assert.equal(error.message, "STS answered HTTP 200 with more than 262144 bytes");
    assert.equal(sts.requests.length, 1, "not retried");
    assert.deepEqual(waits, []);
    // The server sees its stream cancelled once the client stops reading.
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => deadline = setTimeout(resolve, 10_000, "late"));
    const outcome = await Promise.race([cancelled.promise, late]);
    clearTimeout(deadline);
    assert.notEqual(outcome, "late", `the stream was not cancelled; ${pulled} chunks pulled`);
    assert.ok(pulled < 64, `${pulled} chunks of 64 KiB pulled before the cancel`);
  });

  Deno.test(`scripted STS (${sender}): each attempt times out, whether STS is silent or stalls mid-answer`, async () => {
    for (const mode of ["silent", "stalled body"] as const) {
      const stalls: ReadableStreamDefaultController<Uint8Array>[] = [];
      await using sts = scriptedSts(() => {
        if (mode === "silent") return "hang";
        return new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("<AssumeRoleWithWebIdentityResponse>"));
              stalls.push(controller);
            },
          }),
          { status: 200, headers: { "content-type": "text/xml" } },
        );
      });
      const waits: number[] = [];
      const started = performance.now();
      const error = await failure(
        assumer({ endpoint: sts.endpoint, send, waits, timeout: 150 })(params()),
      );
      const elapsed = performance.now() - started;
      for (const stall of stalls) {
        try {
          stall.close();
        } catch {
          // Cancelled already, when the client aborted.
        }
      }
      assert.equal(error.code, "TimeoutError", mode);
      assert.equal(
        error.message,
        `STS at ${sts.endpoint} did not answer within 150 ms (after 3 attempts)`,
        mode,
      );
      assert.equal(sts.requests.length, 3, mode);
      assert.ok(elapsed >= 400 && elapsed < 3000, `${mode}: 3 × 150 ms, took ${elapsed} ms`);
    }
  });
}

// ---------------------------------------------------------------- through fromWebIdentity

Deno.test("fromWebIdentity: STS's refusal is a CredentialsError naming the code, caused by the StsError", async () => {
  await using emu = await startEmulator();
  const jwt = await emu.oidc.mintToken({ sub: "app", aud: "not-sts" });
  const error = await fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: jwt,
    region: emu.region,
    stsEndpoint: emu.sts.endpoint,
  })().then(() => undefined, (e) => e);
  assert.ok(error instanceof CredentialsError);
  assert.match(
    error.message,
    /^Cannot assume role arn:aws:iam::123456789012:role\/elasticache-iam-auth-app with web identity: STS answered InvalidIdentityToken \(HTTP 400\): Incorrect token audience \[request id [0-9a-f-]{36}\]$/,
  );
  assert.ok(error.cause instanceof StsError);
  assert.equal(error.cause.code, "InvalidIdentityToken");
  assert.ok(!String(error.stack).includes(jwt));
});

Deno.test("fromWebIdentity: the timeout option bounds each of the 3 attempts", async () => {
  await using sts = scriptedSts(() => "hang");
  const started = performance.now();
  const error = await fromWebIdentity({
    roleArn: ROLE,
    webIdentityToken: "a.b.c",
    stsEndpoint: sts.endpoint,
    timeout: 100,
  })().then(() => undefined, (e) => e);
  const elapsed = performance.now() - started;
  assert.ok(error instanceof CredentialsError);
  assert.match(error.message, /did not answer within 100 ms \(after 3 attempts\)$/);
  assert.equal(sts.requests.length, 3);
  assert.ok(elapsed < 2000, `took ${elapsed} ms`);
});

Deno.test("fromWebIdentity: AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL; FIPS flags are checked", async () => {
  await using emu = await startEmulator();
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const nowhere = `http://127.0.0.1:${closed.addr.port}`;
  closed.close();
  const token = () => emu.oidc.mintToken({ sub: "app", aud: "sts.amazonaws.com" });
  const base = { AWS_ROLE_ARN: emu.roleArn(), AWS_REGION: emu.region };
  const viaGeneral = await fromWebIdentity({
    webIdentityToken: token,
    env: { ...base, AWS_ENDPOINT_URL: emu.sts.endpoint },
  })();
  assert.match(viaGeneral.accessKeyId, /^ASIA/);
  const viaSts = await fromWebIdentity({
    webIdentityToken: token,
    env: { ...base, AWS_ENDPOINT_URL: nowhere, AWS_ENDPOINT_URL_STS: emu.sts.endpoint },
  })();
  assert.match(viaSts.accessKeyId, /^ASIA/);
  assert.throws(
    () =>
      fromWebIdentity({
        webIdentityToken: "a.b.c",
        env: { ...base, AWS_USE_FIPS_ENDPOINT: "yes" },
      }),
    {
      name: "TypeError",
      message:
        "Cannot use web identity: AWS_USE_FIPS_ENDPOINT must be 'true' or 'false', got 'yes'",
    },
  );
  // An explicit endpoint wins over the FIPS flag, as it does over the region.
  const explicit = await fromWebIdentity({
    webIdentityToken: token,
    stsEndpoint: emu.sts.endpoint,
    env: { ...base, AWS_USE_FIPS_ENDPOINT: "true" },
  })();
  assert.match(explicit.accessKeyId, /^ASIA/);
});
