/**
 * STS `AssumeRoleWithWebIdentity` as one HTTP POST: the role assumer of
 * `fromWebIdentity`, shaped as the AWS SDK's `roleAssumerWithWebIdentity`
 * option, instead of the AWS SDK's STS client. The call is unsigned, so it
 * needs `fetch` (or, on Node.js, `node:http(s)`: `_http.ts`),
 * a timer and nothing else: it works in Workers, where the SDK's browser build
 * cannot read STS's XML (it needs `DOMParser`), and it spares every runtime
 * loading that client.
 *
 * It does what the SDK's client does for this one call: the regional endpoint
 * of the region's partition (or a given endpoint), a per-attempt timeout, and
 * the SDK's standard retry (3 attempts; throttling, 500/502/503/504, timeouts,
 * network errors and `IDPCommunicationError` are retried with jittered
 * exponential backoff, the module's {@linkcode backoffDelay}). STS's answer is
 * read, up to 256 KiB, by a small, strict XML reader.
 *
 * That request, retry and answer code ({@linkcode stsClient}) is also what
 * `sts_assume_role.ts` sends its SigV4-signed `AssumeRole` with (profile role
 * chains): one home for calling STS.
 *
 * @module
 */

import { describe } from "../_checks.ts";
import { backoffDelay, sleep as sleepOn, systemTimers } from "../client/timers.ts";
import { AnswerTooLargeError, type HttpSend, runtimeSend } from "./_http.ts";
import { child, optionalText, readXml, required, textOf, type XmlElement } from "./xml.ts";

/** The input of `AssumeRoleWithWebIdentity`, as the AWS SDK passes it to a role assumer. */
export interface AssumeRoleWithWebIdentityParams {
  /** The role to assume. */
  RoleArn: string;
  /** The role session name. */
  RoleSessionName: string;
  /** The OIDC token (or OAuth 2.0 access token) to exchange. */
  WebIdentityToken: string;
  /** The identity provider's host, for OAuth 2.0 access tokens only. */
  ProviderId?: string | undefined;
  /** Managed session policies. */
  PolicyArns?: { arn?: string | undefined }[] | undefined;
  /** An inline session policy (JSON). */
  Policy?: string | undefined;
  /** How long the credentials last, in seconds. */
  DurationSeconds?: number | undefined;
}

/** Credentials from STS, shaped as the AWS SDK's `AwsCredentialIdentity`. */
export interface StsCredentials {
  /** The temporary access key id (`ASIA…`). */
  readonly accessKeyId: string;
  /** The secret access key. */
  readonly secretAccessKey: string;
  /** The session token. */
  readonly sessionToken?: string;
  /** When the credentials stop being valid. */
  readonly expiration?: Date;
  /** The credential scope, when STS returns one. */
  readonly credentialScope?: string;
  /** The role's account, taken from `AssumedRoleUser.Arn`. */
  readonly accountId?: string;
}

/** Options of {@linkcode webIdentityRoleAssumer}. */
export interface StsRoleAssumerOptions {
  /**
   * The region whose STS endpoint is called, unless `endpoint` is given.
   *
   * @default {"us-east-1"}
   */
  region?: string | undefined;
  /** The STS endpoint URL, such as a VPC endpoint or the local emulator. */
  endpoint?: string | undefined;
  /**
   * Use the region's FIPS endpoint (`AWS_USE_FIPS_ENDPOINT`).
   *
   * @default {false}
   */
  useFipsEndpoint?: boolean | undefined;
  /**
   * Use the region's dual-stack endpoint (`AWS_USE_DUALSTACK_ENDPOINT`).
   *
   * @default {false}
   */
  useDualstackEndpoint?: boolean | undefined;
  /**
   * Use the global endpoint `https://sts.amazonaws.com` (signed for
   * `us-east-1`) in the regions that had it before regional endpoints became
   * the default, as `sts_regional_endpoints = legacy` asks.
   *
   * @default {false}
   */
  useGlobalEndpoint?: boolean | undefined;
  /**
   * How long one attempt may take, from sending to the end of the answer, in milliseconds.
   *
   * @default {3000}
   */
  timeout?: number | undefined;
  /**
   * Attempts per call, the first included.
   *
   * @default {3}
   */
  maxAttempts?: number | undefined;
  /**
   * How a request is sent; tests pass `fetchSend()` or `nodeSend()` to test both.
   *
   * @default {`node:http(s)` on Node.js, else `fetch`}
   */
  send?: HttpSend | undefined;
  /**
   * Waits between attempts; tests pass one that does not sleep.
   *
   * @default {the module's cancellable `sleep` on the runtime's timers}
   */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** The jitter source, in [0, 1). @default {Math.random} */
  random?: (() => number) | undefined;
}

/**
 * STS answered with an error, or could not be reached or understood. The
 * message names STS's code and message and never holds the token or a secret.
 *
 * @example
 * ```ts
 * import { StsError } from "./sts_web_identity.ts";
 *
 * const error = new StsError("STS answered Throttling (HTTP 400): Rate exceeded", {
 *   code: "Throttling",
 *   status: 400,
 *   attempts: 3,
 * });
 * console.log(error.name, error.code); // "StsError" "Throttling"
 * ```
 */
export class StsError extends Error {
  /** STS's error code (`InvalidIdentityToken`, `Throttling`, …), or `TimeoutError` / `NetworkError`. */
  readonly code: string;
  /** The HTTP status, when STS answered. */
  readonly status: number | undefined;
  /** STS's request id, when it gave one. */
  readonly requestId: string | undefined;
  /** How many attempts were made. */
  readonly attempts: number;

  /**
   * Creates the error.
   *
   * @param message What failed, in a sentence.
   * @param details The code, status, request id, attempts and cause.
   */
  constructor(
    message: string,
    details: {
      code: string;
      status?: number | undefined;
      requestId?: string | undefined;
      attempts?: number;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "StsError";
    this.code = details.code;
    this.status = details.status;
    this.requestId = details.requestId;
    this.attempts = details.attempts ?? 1;
  }
}

/**
 * The STS endpoint the AWS SDK v3 resolves for a region: regional, with the
 * partition's DNS suffix (`amazonaws.com.cn` for China, `c2s.ic.gov` for ISO,
 * …), its FIPS or dual-stack variant when asked.
 *
 * @param region The region, such as `us-east-1` or `cn-north-1`.
 * @param options Whether to use the FIPS or the dual-stack endpoint.
 * @returns The endpoint URL.
 *
 * @example
 * ```ts
 * import { stsEndpointFor } from "./sts_web_identity.ts";
 *
 * console.log(stsEndpointFor("cn-north-1")); // "https://sts.cn-north-1.amazonaws.com.cn"
 * ```
 */
export function stsEndpointFor(
  region: string,
  options: {
    useFipsEndpoint?: boolean | undefined;
    useDualstackEndpoint?: boolean | undefined;
    useGlobalEndpoint?: boolean | undefined;
  } = {},
): string {
  const { useFipsEndpoint: fips, useDualstackEndpoint: dualStack } = options;
  if (options.useGlobalEndpoint && !fips && !dualStack && LEGACY_GLOBAL_REGIONS.has(region)) {
    return GLOBAL_ENDPOINT;
  }
  return regionalEndpoint("sts", region, options);
}

/**
 * A service's regional endpoint as the AWS SDK's endpoint rules give it for
 * STS, SSO (`portal.sso`) and SSO OIDC (`oidc`) alike: the partition's DNS
 * suffix, `<prefix>-fips` for FIPS (in GovCloud, the plain name: its
 * endpoints are FIPS already), the dual-stack suffix when asked.
 *
 * @param prefix The endpoint prefix: `sts`, `portal.sso`, `oidc`.
 * @param region The region.
 * @param options Whether to use the FIPS or the dual-stack endpoint.
 * @returns The endpoint URL.
 *
 * @example
 * ```ts
 * import { regionalEndpoint } from "./sts_web_identity.ts";
 *
 * console.log(regionalEndpoint("portal.sso", "eu-west-1")); // "https://portal.sso.eu-west-1.amazonaws.com"
 * ```
 */
export function regionalEndpoint(
  prefix: string,
  region: string,
  options: { useFipsEndpoint?: boolean | undefined; useDualstackEndpoint?: boolean | undefined } =
    {},
): string {
  const partition = PARTITIONS.find(([pattern]) => pattern.test(region)) ?? AWS_PARTITION;
  const [, dnsSuffix, dualStackDnsSuffix, name] = partition;
  const { useFipsEndpoint: fips, useDualstackEndpoint: dualStack } = options;
  if (fips && dualStack) return `https://${prefix}-fips.${region}.${dualStackDnsSuffix}`;
  if (fips) {
    return name === "aws-us-gov"
      ? `https://${prefix}.${region}.amazonaws.com`
      : `https://${prefix}-fips.${region}.${dnsSuffix}`;
  }
  if (dualStack) return `https://${prefix}.${region}.${dualStackDnsSuffix}`;
  return `https://${prefix}.${region}.${dnsSuffix}`;
}

/** STS's global endpoint, signed for `us-east-1`. */
const GLOBAL_ENDPOINT = "https://sts.amazonaws.com";
/** The regions where `sts_regional_endpoints = legacy` means the global endpoint (the SDKs' list). */
const LEGACY_GLOBAL_REGIONS = new Set([
  "ap-northeast-1",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "aws-global",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
]);

/** Pattern, DNS suffix, dual-stack DNS suffix, name: the AWS SDK's partitions. */
type Partition = readonly [RegExp, string, string, string];
const AWS_PARTITION: Partition = [
  /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/,
  "amazonaws.com",
  "api.aws",
  "aws",
];
const PARTITIONS: readonly Partition[] = [
  AWS_PARTITION,
  [/^cn-\w+-\d+$/, "amazonaws.com.cn", "api.amazonwebservices.com.cn", "aws-cn"],
  [/^eusc-(de)-\w+-\d+$/, "amazonaws.eu", "api.amazonwebservices.eu", "aws-eusc"],
  [/^us-iso-\w+-\d+$/, "c2s.ic.gov", "api.aws.ic.gov", "aws-iso"],
  [/^us-isob-\w+-\d+$/, "sc2s.sgov.gov", "api.aws.scloud", "aws-iso-b"],
  [/^eu-isoe-\w+-\d+$/, "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", "aws-iso-e"],
  [/^us-isof-\w+-\d+$/, "csp.hci.ic.gov", "api.aws.hci.ic.gov", "aws-iso-f"],
  [/^us-gov-\w+-\d+$/, "amazonaws.com", "api.aws", "aws-us-gov"],
];

/**
 * A role assumer for the `roleAssumerWithWebIdentity` option of
 * `@aws-sdk/credential-provider-web-identity`: each call posts one
 * `AssumeRoleWithWebIdentity` to STS (retrying as the SDK does) and returns
 * the credentials.
 *
 * @param options The region or endpoint, timeout and retry settings.
 * @returns The role assumer.
 * @throws {TypeError} When the endpoint is not an http(s) URL, or is given with FIPS or dual-stack.
 *
 * @example
 * ```ts ignore
 * import { fromWebToken } from "@aws-sdk/credential-provider-web-identity";
 * import { webIdentityRoleAssumer } from "./sts_web_identity.ts";
 *
 * const provider = fromWebToken({
 *   roleArn: "arn:aws:iam::123456789012:role/app",
 *   webIdentityToken: "a JWT from your identity provider",
 *   roleAssumerWithWebIdentity: webIdentityRoleAssumer({ region: "eu-west-1" }),
 * });
 * ```
 */
export function webIdentityRoleAssumer(
  options: StsRoleAssumerOptions = {},
): (params: AssumeRoleWithWebIdentityParams) => Promise<StsCredentials> {
  const client = stsClient(options, "sts-web-identity");
  return (params) =>
    client.call({
      action: "AssumeRoleWithWebIdentity",
      form: formBody(params),
      roleArn: params.RoleArn,
    });
}

/** One call of STS's query API, as {@linkcode StsClient.call} sends it. */
export interface StsCall {
  /** The action; its answer's root element is `<action>Response`. */
  readonly action: "AssumeRoleWithWebIdentity" | "AssumeRole";
  /** The form to post, `Action` and `Version` included. */
  readonly form: URLSearchParams;
  /** The role assumed, for messages. */
  readonly roleArn: string;
  /**
   * Signs one attempt (each attempt is signed anew, with its own time):
   * given the URL, the headers and the body, returns the headers to send.
   * Unsigned calls (`AssumeRoleWithWebIdentity`) leave it out.
   */
  readonly sign?: (
    url: URL,
    headers: Record<string, string>,
    body: string,
  ) => Promise<Record<string, string>>;
}

/** An STS endpoint with the SDK's retry: what the role assumers of this module send calls through. */
export interface StsClient {
  /** The endpoint called. */
  readonly url: URL;
  /** The region to sign for: the configured one, or `us-east-1` at the global endpoint. */
  readonly signingRegion: string;
  /**
   * Sends one call (retrying as the SDK does) and reads the credentials from its answer.
   *
   * @param call The action, its form, the role, and how to sign it.
   * @returns The credentials.
   * @throws {StsError} When STS refuses, cannot be reached, or answers something else than STS's XML.
   */
  call(call: StsCall): Promise<StsCredentials>;
}

/**
 * The STS endpoint the options name (or the region's), and a function that
 * sends a call there with the SDK's standard retry: the request and answer
 * code shared by {@linkcode webIdentityRoleAssumer} and `sts_assume_role.ts`.
 *
 * @param options The region or endpoint, timeout and retry settings.
 * @param name What calls it, in the user agent (`sts-web-identity`, `sts-assume-role`).
 * @returns The client.
 * @throws {TypeError} When the endpoint is not an http(s) URL, or is given with FIPS or dual-stack.
 *
 * @example
 * ```ts
 * import { stsClient } from "./sts_web_identity.ts";
 *
 * const sts = stsClient({ region: "eu-west-1", useGlobalEndpoint: true }, "example");
 * console.log(sts.url.href, sts.signingRegion); // "https://sts.amazonaws.com/" "us-east-1"
 * ```
 */
export function stsClient(options: StsRoleAssumerOptions, name: string): StsClient {
  const {
    region = "us-east-1",
    useFipsEndpoint,
    useDualstackEndpoint,
    timeout = 3000,
    maxAttempts = 3,
    sleep = (ms: number) => sleepOn(systemTimers, ms),
    random = Math.random,
  } = options;
  if (options.endpoint !== undefined && (useFipsEndpoint || useDualstackEndpoint)) {
    throw new TypeError(
      "Cannot call STS: a custom endpoint cannot be combined with the FIPS or dual-stack endpoint",
    );
  }
  const endpoint = options.endpoint ?? stsEndpointFor(region, options);
  const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") {
    throw new TypeError(
      `Cannot call STS: the endpoint must be an http(s) URL, got ${describe(endpoint)}`,
    );
  }
  const signingRegion = options.endpoint === undefined && endpoint === GLOBAL_ENDPOINT
    ? "us-east-1"
    : region;
  const where = url.origin;
  const agent = navigatorUserAgent();
  const userAgent = `elasticache-iam-connector ${name}${agent ? ` ${agent}` : ""}`;

  let send: HttpSend | undefined;
  const call = async ({ action, form, roleArn, sign }: StsCall): Promise<StsCredentials> => {
    const body = form.toString();
    send ??= options.send ?? runtimeSend();
    const invocationId = crypto.randomUUID();
    for (let attempt = 1;; attempt++) {
      let failure: StsError;
      let retryAfterMs: number | undefined;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeout);
      try {
        let headers: Record<string, string> = {
          "content-type": "application/x-www-form-urlencoded; charset=utf-8",
          "user-agent": userAgent,
          "amz-sdk-invocation-id": invocationId,
          "amz-sdk-request": `attempt=${attempt}; max=${maxAttempts}`,
        };
        if (sign) headers = await sign(url, headers, body);
        const answer = await send(url, {
          method: "POST",
          headers,
          body,
          signal: controller.signal,
          maxBytes: MAX_BODY,
        });
        if (answer.status >= 200 && answer.status < 300) {
          return credentialsFrom(answer.text, action, roleArn);
        }
        failure = errorFrom(answer.status, answer.text, attempt);
        retryAfterMs = retryAfter(answer.header("retry-after"));
      } catch (error) {
        if (error instanceof StsError) throw error;
        if (error instanceof AnswerTooLargeError) throw tooLarge(error.status);
        failure = controller.signal.aborted
          ? new StsError(`STS at ${where} did not answer within ${timeout} ms`, {
            code: "TimeoutError",
            attempts: attempt,
            cause: error,
          })
          : new StsError(`Cannot reach STS at ${where}: ${messageOf(error)}`, {
            code: "NetworkError",
            attempts: attempt,
            cause: error,
          });
      } finally {
        clearTimeout(timer);
      }
      const kind = retryKind(failure);
      if (kind === undefined || attempt >= maxAttempts) {
        if (attempt > 1) {
          throw new StsError(`${failure.message} (after ${attempt} attempts)`, {
            code: failure.code,
            status: failure.status,
            requestId: failure.requestId,
            attempts: attempt,
            ...(failure.cause === undefined ? {} : { cause: failure.cause }),
          });
        }
        throw failure;
      }
      // The SDK's standard retry schedule, base × 2^retry capped at 20 s, jittered as every
      // backoff of this module: between half and all of it.
      const base = kind === "throttling" ? 1000 : 50;
      let delay = backoffDelay(attempt - 1, base, 20_000, random);
      if (retryAfterMs !== undefined) delay = Math.max(delay, Math.min(retryAfterMs, delay + 5000));
      await sleep(delay);
    }
  };
  return { url, signingRegion, call };
}

const THROTTLING_CODES = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);
const TRANSIENT_CODES = new Set([
  "TimeoutError",
  "NetworkError",
  "RequestTimeout",
  "RequestTimeoutException",
  // STS could not reach the identity provider: AWS advises retrying.
  "IDPCommunicationError",
]);
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);

function retryKind(error: StsError): "throttling" | "transient" | undefined {
  if (error.status === 429 || THROTTLING_CODES.has(error.code)) return "throttling";
  if (TRANSIENT_CODES.has(error.code) || TRANSIENT_STATUSES.has(error.status ?? 0)) {
    return "transient";
  }
  return undefined;
}

function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

function formBody(params: AssumeRoleWithWebIdentityParams): URLSearchParams {
  const body = new URLSearchParams({
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    RoleArn: params.RoleArn,
    RoleSessionName: params.RoleSessionName,
    WebIdentityToken: params.WebIdentityToken,
  });
  if (params.ProviderId !== undefined) body.set("ProviderId", params.ProviderId);
  params.PolicyArns?.forEach((policy, i) => {
    if (policy.arn !== undefined) body.set(`PolicyArns.member.${i + 1}.arn`, policy.arn);
  });
  if (params.Policy !== undefined) body.set("Policy", params.Policy);
  if (params.DurationSeconds !== undefined) {
    body.set("DurationSeconds", String(params.DurationSeconds));
  }
  return body;
}

/** STS answers are a few kilobytes; anything much larger is not STS. */
const MAX_BODY = 256 * 1024;

function tooLarge(status: number): StsError {
  return new StsError(`STS answered HTTP ${status} with more than ${MAX_BODY} bytes`, {
    code: "MalformedResponse",
    status,
  });
}

function credentialsFrom(text: string, action: StsCall["action"], roleArn: string): StsCredentials {
  const malformed = (what: string, cause?: unknown) =>
    new StsError(
      `STS answered ${action} for ${roleArn} with a malformed document: ${what}`,
      { code: "MalformedResponse", status: 200, cause },
    );
  let root: XmlElement;
  try {
    root = readXml(text);
  } catch (error) {
    throw malformed(messageOf(error));
  }
  try {
    if (root.name !== `${action}Response`) {
      throw new SyntaxError(`its root is <${root.name}>`);
    }
    const result = required(root, `${action}Result`);
    const credentials = required(result, "Credentials");
    const accessKeyId = textOf(required(credentials, "AccessKeyId"));
    const secretAccessKey = textOf(required(credentials, "SecretAccessKey"));
    if (accessKeyId === "" || secretAccessKey === "") {
      throw new SyntaxError("<AccessKeyId> or <SecretAccessKey> is empty");
    }
    const sessionToken = optionalText(credentials, "SessionToken");
    const expirationText = optionalText(credentials, "Expiration");
    const credentialScope = optionalText(credentials, "CredentialScope");
    const arn = optionalText(child(result, "AssumedRoleUser"), "Arn");
    const accountId = arn?.split(":")[4];
    let expiration: Date | undefined;
    if (expirationText !== undefined) {
      expiration = RFC3339.test(expirationText) ? new Date(expirationText) : new Date(NaN);
      if (Number.isNaN(expiration.getTime())) {
        throw new SyntaxError(`<Expiration> is not an RFC 3339 date: '${expirationText}'`);
      }
    }
    return {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiration ? { expiration } : {}),
      ...(credentialScope ? { credentialScope } : {}),
      ...(accountId ? { accountId } : {}),
    };
  } catch (error) {
    throw malformed(messageOf(error));
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function errorFrom(status: number, text: string, attempts: number): StsError {
  let code: string | undefined;
  let message: string | undefined;
  let requestId: string | undefined;
  try {
    const root = readXml(text);
    const error = root.name === "ErrorResponse" ? child(root, "Error") : undefined;
    code = optionalText(error, "Code");
    message = optionalText(error, "Message");
    requestId = optionalText(root, "RequestId");
  } catch {
    // Not STS's XML: a proxy's or load balancer's page. Report the status only.
  }
  if (code === undefined) {
    return new StsError(`STS answered HTTP ${status} without an STS error document`, {
      code: `Http${status}`,
      status,
      attempts,
    });
  }
  return new StsError(
    `STS answered ${code} (HTTP ${status})${message ? `: ${message}` : ""}${
      requestId ? ` [request id ${requestId}]` : ""
    }`,
    { code, status, requestId, attempts },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function navigatorUserAgent(): string | undefined {
  const agent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent;
  return typeof agent === "string" && /^[\x20-\x7e]{1,200}$/.test(agent) ? agent : undefined;
}
