/**
 * Credentials of an EC2 instance's IAM role, from the instance metadata
 * service, IMDSv2 only: a session token from `PUT /latest/api/token`, then the
 * role name and its credentials under `/latest/meta-data/iam/security-credentials/`.
 *
 * @module
 */
import {
  describe,
  MAX_TIMER_MS,
  optionalEnv,
  optionalFunction,
  optionsObject,
  timersOption,
} from "../_checks.ts";
import type { Timers } from "../client/timers.ts";
import { CredentialsError } from "../errors.ts";
import {
  errorDetail,
  parseCredentialsJson,
  parseUrl,
  requestMetadata,
  requestTimeoutOption,
} from "./_metadata_http.ts";
import { type HttpSend, senderFor } from "./_http.ts";
import { cacheCredentials } from "./cache.ts";
import { type Environment, readEnv } from "./env.ts";
import { messageOf } from "./resolve.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

const DISABLED = "AWS_EC2_METADATA_DISABLED";
const ENDPOINT = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
const ENDPOINT_MODE = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
const TIMEOUT = "AWS_METADATA_SERVICE_TIMEOUT";
const ATTEMPTS = "AWS_METADATA_SERVICE_NUM_ATTEMPTS";
/** The instance metadata service's addresses, by endpoint mode. */
const ENDPOINTS = { ipv4: "http://169.254.169.254", ipv6: "http://[fd00:ec2::254]" } as const;
/** How long the IMDSv2 session token is asked to live, in seconds (the AWS SDKs' 6 hours). */
const TOKEN_TTL_SECONDS = "21600";
const TOKEN_PATH = "/latest/api/token";
const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/";

/** Options of {@linkcode fromInstanceMetadata}. All are optional. */
export interface FromInstanceMetadataOptions {
  /**
   * The instance metadata service's URL, such as `http://169.254.169.254`
   * (the local emulator's, in tests).
   *
   * @default {the `AWS_EC2_METADATA_SERVICE_ENDPOINT` variable, else the address of `endpointMode`}
   */
  endpoint?: string;
  /**
   * Which address of the service to call when no `endpoint` is given:
   * `IPv4` (`http://169.254.169.254`) or `IPv6` (`http://[fd00:ec2::254]`), in any case.
   *
   * @default {the `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` variable, else `IPv4`}
   */
  endpointMode?: string;
  /**
   * How long each of the three requests may take, from connecting to the end
   * of the answer, in ms.
   *
   * @default {the `AWS_METADATA_SERVICE_TIMEOUT` variable (seconds), else 1000}
   */
  timeout?: number;
  /**
   * How many times the whole exchange (token, role name, credentials) is
   * tried before the call fails, without pause.
   *
   * @default {the `AWS_METADATA_SERVICE_NUM_ATTEMPTS` variable, else 1}
   */
  maxAttempts?: number;
  /** Where to read the variables above (and `AWS_EC2_METADATA_DISABLED`), instead of the runtime's environment. */
  env?: Environment;
  /**
   * The clock that decides when cached credentials are renewed (five minutes before they expire).
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound each request and the whole call.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
  /**
   * The `fetch` that sends the requests.
   *
   * @default {`node:http(s)` on Node.js, else the runtime's `fetch`}
   */
  fetch?: (input: URL, init: RequestInit) => Promise<Response>;
}

/**
 * A credentials provider for the IAM role of the EC2 instance the code runs
 * on, from the instance metadata service with IMDSv2 only, as the AWS SDKs
 * ask it: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds:
 * 21600`, then, with the token, `GET /latest/meta-data/iam/security-credentials/`
 * for the role name and `GET …/<role>` for its credentials. There is no
 * IMDSv1 fallback: an instance that refuses the token request fails the
 * call. Each request is bounded by `timeout` (1 s, the SDKs' default), and
 * the exchange is tried `maxAttempts` times (1); the result is cached until
 * five minutes before it expires. `AWS_EC2_METADATA_DISABLED=true` turns the
 * source off; `AWS_EC2_METADATA_SERVICE_ENDPOINT` and
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` choose the address. Failures
 * reject with a `CredentialsError` naming the service's address and the step
 * that failed, never the metadata token or the keys. The provider also has a
 * `waitingFor()` method, for progress messages
 * (`EC2 instance metadata: IMDSv2 at http://169.254.169.254`).
 *
 * @param options The address, bounds and seams.
 * @returns The provider.
 * @throws {TypeError} When an option has the wrong type, or `endpoint` or `endpointMode` is malformed.
 * @throws {RangeError} When `timeout` or `maxAttempts` is out of range.
 *
 * @example
 * ```ts
 * import { fromInstanceMetadata } from "./instance_metadata.ts";
 *
 * const credentials = fromInstanceMetadata({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" } });
 * console.log(await credentials.waitingFor()); // "EC2 instance metadata: IMDSv2 at http://[fd00:ec2::254]"
 * ```
 */
export function fromInstanceMetadata(
  options?: FromInstanceMetadataOptions,
): AwsCredentialsProvider & { waitingFor(): Promise<string> } {
  const action = "Cannot use EC2 instance metadata";
  const given = optionsObject(action, options);
  const env = given.env;
  optionalEnv(action, env);
  optionalFunction(action, "now", given.now);
  optionalFunction(action, "fetch", given.fetch);
  const timers = timersOption(action, given.timers);
  for (const name of ["endpoint", "endpointMode"] as const) {
    if (given[name] !== undefined && typeof given[name] !== "string") {
      throw new TypeError(`${action}: '${name}' must be a string, got ${describe(given[name])}`);
    }
  }
  if (given.endpoint !== undefined && !isHttpUrl(given.endpoint)) {
    throw new TypeError(
      `${action}: 'endpoint' must be an http(s) URL such as 'http://169.254.169.254', got ${
        describe(given.endpoint)
      }`,
    );
  }
  if (given.endpointMode !== undefined && !isEndpointMode(given.endpointMode)) {
    throw new TypeError(
      `${action}: 'endpointMode' must be 'IPv4' or 'IPv6', got ${describe(given.endpointMode)}`,
    );
  }
  const timeoutOption = requestTimeoutOption(action, given.timeout, 1000);
  const attemptsOption = given.maxAttempts;
  if (
    attemptsOption !== undefined &&
    (!Number.isInteger(attemptsOption) || attemptsOption < 1 || attemptsOption > 10)
  ) {
    throw new (typeof attemptsOption === "number" ? RangeError : TypeError)(
      `${action}: 'maxAttempts' must be a whole number from 1 to 10, got ${
        describe(attemptsOption)
      }`,
    );
  }
  const send = senderFor(given.fetch);
  // The variables are read once, like the AWS SDKs; what is wrong with them fails each call.
  let settings: ImdsSettings | CredentialsError;
  try {
    settings = imdsSettings(given, env, timeoutOption, attemptsOption);
  } catch (error) {
    settings = error instanceof CredentialsError ? error : new CredentialsError(
      `Cannot get EC2 instance metadata credentials: ${messageOf(error)}`,
      { cause: error },
    );
  }

  const resolve = async (): Promise<AwsCredentials> => {
    if (settings instanceof CredentialsError) throw settings;
    const { base, attempts } = settings;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        return await exchange(settings, send, timers);
      } catch (error) {
        lastError = error;
      }
    }
    throw new CredentialsError(
      `Cannot get EC2 instance metadata credentials from ${base.origin}: ${messageOf(lastError)}${
        attempts > 1 ? ` (${attempts} attempts)` : ""
      }`,
      { cause: lastError },
    );
  };
  const bound = settings instanceof CredentialsError
    ? 1000
    : settings.attempts * 3 * settings.timeout + 1000;
  const provider = cacheCredentials(resolve, {
    timeoutMs: Math.min(bound, MAX_TIMER_MS),
    timers,
    ...(given.now ? { now: given.now } : {}),
  });
  const waitingFor = (): Promise<string> =>
    Promise.resolve(
      settings instanceof CredentialsError
        ? "EC2 instance metadata"
        : `EC2 instance metadata: IMDSv2 at ${settings.base.origin}`,
    );
  return named(Object.assign(provider, { waitingFor }), "instance metadata");
}

/**
 * Whether EC2 instance metadata may be used in an environment: unless
 * `AWS_EC2_METADATA_DISABLED` is `true` (in any case), as in the AWS SDKs.
 * Whether the code runs on EC2 at all is known only by asking the service.
 * Cheap and synchronous, for the default chain.
 *
 * @param env Where to read the variables, instead of the runtime's environment.
 * @returns Whether the source is configured, and what was looked for.
 * @throws {CredentialsError} When Deno denies access to the environment.
 *
 * @example
 * ```ts
 * import { instanceMetadataSource } from "./instance_metadata.ts";
 *
 * const check = instanceMetadataSource({ AWS_EC2_METADATA_DISABLED: "true" });
 * console.log(check.configured, check.lookedFor);
 * // false "EC2 instance metadata (AWS_EC2_METADATA_DISABLED is true)"
 * ```
 */
export function instanceMetadataSource(env?: Environment): CredentialsSourceCheck {
  if (isDisabled(env)) {
    return { configured: false, lookedFor: `EC2 instance metadata (${DISABLED} is true)` };
  }
  const endpoint = readEnv(ENDPOINT, env);
  const mode = readEnv(ENDPOINT_MODE, env)?.toLowerCase();
  const address = endpoint !== undefined
    ? `${ENDPOINT} ${parseUrl(endpoint)?.origin ?? "(malformed)"}`
    : mode === "ipv6"
    ? ENDPOINTS.ipv6
    : ENDPOINTS.ipv4;
  return { configured: true, lookedFor: `EC2 instance metadata (IMDSv2 at ${address})` };
}

/** Where to ask, and how long to wait. */
interface ImdsSettings {
  /** The service's base URL. */
  base: URL;
  /** The bound on each request, in ms. */
  timeout: number;
  /** How many times the exchange is tried. */
  attempts: number;
  /** Said after a request that got no answer: a hint when the address is the service's own. */
  hint: string;
}

/**
 * Resolves the address and bounds from the options, else the variables.
 *
 * @throws {CredentialsError} When the source is turned off, or a variable is malformed.
 */
function imdsSettings(
  given: FromInstanceMetadataOptions,
  env: Environment | undefined,
  timeoutOption: number | undefined,
  attemptsOption: number | undefined,
): ImdsSettings {
  const fail = (problem: string) =>
    new CredentialsError(`Cannot get EC2 instance metadata credentials: ${problem}`);
  if (isDisabled(env)) throw fail(`${DISABLED} is true`);
  let base: string;
  const endpoint = given.endpoint ?? readEnv(ENDPOINT, env);
  if (endpoint !== undefined) {
    if (!isHttpUrl(endpoint)) {
      throw fail(`${ENDPOINT} must be an http(s) URL, got ${describe(endpoint)}`);
    }
    base = endpoint;
  } else {
    const mode = given.endpointMode ?? readEnv(ENDPOINT_MODE, env) ?? "IPv4";
    if (!isEndpointMode(mode)) {
      throw fail(`${ENDPOINT_MODE} must be 'IPv4' or 'IPv6', got ${describe(mode)}`);
    }
    base = ENDPOINTS[mode.toLowerCase() as "ipv4" | "ipv6"];
  }
  let timeout = timeoutOption;
  if (given.timeout === undefined) {
    const seconds = readEnv(TIMEOUT, env);
    if (seconds !== undefined) {
      const value = Number(seconds);
      if (!/^\d+(\.\d+)?$/.test(seconds) || !(value > 0 && value * 1000 <= MAX_TIMER_MS)) {
        throw fail(`${TIMEOUT} must be a positive number of seconds, got ${describe(seconds)}`);
      }
      timeout = value * 1000;
    }
  }
  let attempts = attemptsOption;
  if (attempts === undefined) {
    const text = readEnv(ATTEMPTS, env);
    if (text !== undefined) {
      attempts = Number(text);
      if (!/^\d+$/.test(text) || attempts < 1 || attempts > 10) {
        throw fail(`${ATTEMPTS} must be a whole number from 1 to 10, got ${describe(text)}`);
      }
    }
  }
  return {
    base: new URL(base),
    timeout: timeout ?? 1000,
    attempts: attempts ?? 1,
    hint: endpoint === undefined
      ? ` (is this an EC2 instance? Elsewhere set ${DISABLED}=true to skip this source)`
      : "",
  };
}

/**
 * One exchange: a session token, the role name, the role's credentials.
 *
 * @throws {Error} What failed, naming the step; never the token.
 */
async function exchange(
  settings: ImdsSettings,
  send: HttpSend,
  timers: Timers,
): Promise<AwsCredentials> {
  const root = settings.base.href.replace(/\/+$/, "");
  const request = async (
    step: string,
    path: string,
    method: "GET" | "PUT",
    headers: Record<string, string>,
  ) => {
    try {
      return await requestMetadata(new URL(`${root}${path}`), {
        method,
        headers,
        send,
        timeout: settings.timeout,
        timers,
      });
    } catch (error) {
      throw new Error(`${step}: ${messageOf(error)}${settings.hint}`, { cause: error });
    }
  };

  const tokenAnswer = await request(
    `the IMDSv2 token request (PUT ${TOKEN_PATH})`,
    TOKEN_PATH,
    "PUT",
    {
      "x-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS,
    },
  );
  if (tokenAnswer.status !== 200 || tokenAnswer.text.trim() === "") {
    throw new Error(
      `the IMDSv2 token request (PUT ${TOKEN_PATH}) answered ${
        tokenAnswer.status === 200 ? "no token" : `HTTP ${tokenAnswer.status}`
      }${
        tokenAnswer.status === 403
          ? " (the service refuses tokens: IMDS may be turned off on this instance)"
          : tokenAnswer.status === 404 || tokenAnswer.status === 405
          ? " (this service does not offer IMDSv2, and IMDSv1 is not used)"
          : ""
      }`,
    );
  }
  const token = tokenAnswer.text.trim();
  const withToken = { "x-aws-ec2-metadata-token": token };

  const roleAnswer = await request(
    `the role name request (GET ${CREDENTIALS_PATH})`,
    CREDENTIALS_PATH,
    "GET",
    withToken,
  );
  const role = roleAnswer.text.split("\n").map((line) => line.trim()).find(Boolean);
  if (roleAnswer.status !== 200 || role === undefined) {
    throw new Error(
      `the role name request (GET ${CREDENTIALS_PATH}) answered ${
        roleAnswer.status === 200 ? "no role name" : `HTTP ${roleAnswer.status}`
      }${
        roleAnswer.status === 404 || (roleAnswer.status === 200 && role === undefined)
          ? " (no IAM role is attached to this instance: give it an instance profile)"
          : roleAnswer.status === 401
          ? " (the service refused its own token)"
          : ""
      }`,
    );
  }

  const path = `${CREDENTIALS_PATH}${encodeURIComponent(role)}`;
  const credentialsAnswer = await request(
    `the credentials request for role ${describe(role)}`,
    path,
    "GET",
    withToken,
  );
  if (credentialsAnswer.status !== 200) {
    throw new Error(
      `the credentials request for role ${
        describe(role)
      } answered HTTP ${credentialsAnswer.status}${errorDetail(credentialsAnswer.text, token)}`,
    );
  }
  const code = codeOf(credentialsAnswer.text);
  if (code !== undefined && code !== "Success") {
    throw new Error(
      `the credentials request for role ${describe(role)} answered${
        errorDetail(credentialsAnswer.text, token)
      }`,
    );
  }
  try {
    return parseCredentialsJson(credentialsAnswer.text);
  } catch (error) {
    throw new Error(
      `the credentials request for role ${describe(role)} failed: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** The `Code` of a credentials answer (`Success` when all is well), if it is JSON with one. */
function codeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { Code?: unknown } | null)?.Code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

function isDisabled(env: Environment | undefined): boolean {
  return readEnv(DISABLED, env)?.toLowerCase() === "true";
}

function isEndpointMode(mode: string): boolean {
  return /^ipv[46]$/i.test(mode);
}

function isHttpUrl(value: string): boolean {
  const url = parseUrl(value);
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:");
}
