/**
 * Credentials from a container credentials endpoint, read as the AWS SDKs
 * read them: Amazon ECS and Fargate set `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
 * (a path on `http://169.254.170.2`); EKS Pod Identity sets
 * `AWS_CONTAINER_CREDENTIALS_FULL_URI` (`http://169.254.170.23/v1/credentials`)
 * and `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
 *
 * @module
 */
import {
  describe,
  isLoopback,
  MAX_TIMER_MS,
  optionalEnv,
  optionalFunction,
  optionsObject,
  timersOption,
} from "../_checks.ts";
import { sleep, type Timers } from "../client/timers.ts";
import { CredentialsError } from "../errors.ts";
import {
  errorDetail,
  parseCredentialsJson,
  parseUrl,
  requestMetadata,
  requestTimeoutOption,
} from "./_metadata_http.ts";
import { senderFor } from "./_http.ts";
import { canReadFiles, readTextFile } from "./_files.ts";
import { cacheCredentials } from "./cache.ts";
import { type Environment, readEnv } from "./env.ts";
import { messageOf } from "./resolve.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

const RELATIVE_URI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
const FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
const TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
const TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/** The ECS credentials endpoint's address: a relative URI is a path there. */
const ECS_HOST = "169.254.170.2";
/** Hosts allowed over plain HTTP besides loopback: ECS, and EKS Pod Identity's IPv4 and IPv6. */
const CONTAINER_HOSTS = [ECS_HOST, "169.254.170.23", "[fd00:ec2::23]"];
/** The wait between attempts, as the AWS SDK for JavaScript's `fromHttp`. */
const RETRY_PAUSE_MS = 1000;

/** Options of {@linkcode fromContainerMetadata}. All are optional where ECS or EKS sets the variables. */
export interface FromContainerMetadataOptions {
  /**
   * The credentials path on the ECS endpoint `http://169.254.170.2`, such as
   * `/v2/credentials/<id>`. Giving this or `fullUri` ignores both variables.
   *
   * @default {the `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` variable}
   */
  relativeUri?: string;
  /**
   * The full credentials URL, used when there is no relative URI: over
   * `https://` any host; over `http://` only a loopback address
   * (`127.0.0.0/8`, `::1`, `localhost`), ECS's `169.254.170.2`, or EKS Pod
   * Identity's `169.254.170.23` and `[fd00:ec2::23]`, as the AWS SDKs allow.
   *
   * @default {the `AWS_CONTAINER_CREDENTIALS_FULL_URI` variable}
   */
  fullUri?: string;
  /**
   * The `Authorization` header's value. Giving this or `authorizationTokenFile`
   * ignores both variables.
   *
   * @default {the `AWS_CONTAINER_AUTHORIZATION_TOKEN` variable}
   */
  authorizationToken?: string;
  /**
   * A file holding the `Authorization` header's value, read again for each
   * request (EKS rotates it); it wins over `authorizationToken`, as in the AWS SDKs.
   *
   * @default {the `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` variable}
   */
  authorizationTokenFile?: string;
  /**
   * How long one request may take, from connecting to the end of the answer, in ms.
   *
   * @default {1000}
   */
  timeout?: number;
  /**
   * How many times a failed request is tried again, 1 s apart (any failure:
   * no connection, no answer in time, an HTTP error, malformed JSON).
   *
   * @default {3}
   */
  maxRetries?: number;
  /** Where to read the variables above, instead of the runtime's environment. */
  env?: Environment;
  /**
   * The clock that decides when cached credentials are renewed (five minutes before they expire).
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound each request and the whole call, and the pauses between attempts.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
  /**
   * The `fetch` that sends the requests: a proxy's, or a test's that answers
   * for `169.254.170.2`.
   *
   * @default {`node:http(s)` on Node.js, else the runtime's `fetch`}
   */
  fetch?: (input: URL, init: RequestInit) => Promise<Response>;
}

/**
 * A credentials provider that gets temporary credentials from the container
 * credentials endpoint, as the AWS SDKs' container provider does:
 * `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS,
 * Fargate), else `AWS_CONTAINER_CREDENTIALS_FULL_URI` (EKS Pod Identity, or
 * any endpoint on loopback or over HTTPS), with the `Authorization` header
 * from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at each request) or
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN`. The answer must be JSON with
 * `AccessKeyId`, `SecretAccessKey`, `Token` and an RFC 3339 `Expiration`.
 * Each request is bounded by `timeout` (1 s) and tried up to 4 times, 1 s
 * apart, as the AWS SDK for JavaScript does; the result is cached until five
 * minutes before it expires. Failures reject with a `CredentialsError` that
 * names the endpoint's origin and the variable it came from, never the token,
 * the keys, or the relative URI's path. Uses `fetch`, and the runtime's file
 * API for the token file. The provider also has a `waitingFor()` method, for
 * progress messages (`container credentials: http://169.254.170.23`).
 *
 * @param options The endpoint, the authorization token, bounds and seams.
 * @returns The provider.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `timeout` or `maxRetries` is out of range.
 *
 * @example EKS Pod Identity, from the variables EKS sets
 * ```ts
 * import { fromContainerMetadata } from "./container.ts";
 *
 * const credentials = fromContainerMetadata({
 *   env: {
 *     AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
 *       "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
 *   },
 * });
 * console.log(typeof credentials); // "function": the endpoint is called when it is
 * ```
 */
export function fromContainerMetadata(
  options?: FromContainerMetadataOptions,
): AwsCredentialsProvider & { waitingFor(): Promise<string> } {
  const action = "Cannot use container credentials";
  const given = optionsObject(action, options);
  optionalEnv(action, given.env);
  optionalFunction(action, "now", given.now);
  optionalFunction(action, "fetch", given.fetch);
  for (const name of ["relativeUri", "fullUri", "authorizationToken", "authorizationTokenFile"]) {
    const value = (given as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(`${action}: '${name}' must be a string, got ${describe(value)}`);
    }
  }
  const timers = timersOption(action, given.timers);
  const timeout = requestTimeoutOption(action, given.timeout, 1000);
  const retries = given.maxRetries ?? 3;
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
    throw new (typeof retries === "number" ? RangeError : TypeError)(
      `${action}: 'maxRetries' must be a whole number from 0 to 10, got ${describe(retries)}`,
    );
  }
  const send = senderFor(given.fetch);
  // The variables are read once, like the AWS SDKs; what is wrong with them fails each call.
  let settings: ContainerSettings | CredentialsError;
  try {
    settings = containerSettings(given, given.env);
  } catch (error) {
    settings = error instanceof CredentialsError ? error : new CredentialsError(
      `Cannot get container credentials: ${messageOf(error)}`,
      { cause: error },
    );
  }

  const resolve = async (): Promise<AwsCredentials> => {
    if (settings instanceof CredentialsError) throw settings;
    const { url, from } = settings;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(timers, RETRY_PAUSE_MS);
      let token: string | undefined;
      try {
        token = await authorizationOf(settings);
        const answer = await requestMetadata(url, {
          method: "GET",
          headers: { accept: "application/json", ...(token ? { authorization: token } : {}) },
          send,
          timeout,
          timers,
        });
        if (answer.status !== 200) {
          throw new Error(`it answered HTTP ${answer.status}${errorDetail(answer.text, token)}`);
        }
        return parseCredentialsJson(answer.text);
      } catch (error) {
        lastError = error;
      }
    }
    throw new CredentialsError(
      `Cannot get container credentials from ${url.origin} (${from}): ${messageOf(lastError)}${
        retries > 0 ? ` (${retries + 1} attempts)` : ""
      }`,
      { cause: lastError },
    );
  };
  const provider = cacheCredentials(resolve, {
    // Every attempt and pause, plus a second for reading the token file.
    timeoutMs: Math.min((retries + 1) * timeout + retries * RETRY_PAUSE_MS + 1000, MAX_TIMER_MS),
    timers,
    ...(given.now ? { now: given.now } : {}),
  });
  const waitingFor = (): Promise<string> =>
    Promise.resolve(
      settings instanceof CredentialsError
        ? "container credentials"
        : `container credentials: ${settings.url.origin}`,
    );
  return named(Object.assign(provider, { waitingFor }), "container credentials");
}

/**
 * Whether container credentials are configured in an environment: either
 * `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `AWS_CONTAINER_CREDENTIALS_FULL_URI`
 * is set (the AWS SDKs' test). Cheap and synchronous, for the default chain.
 *
 * @param env Where to read the variables, instead of the runtime's environment.
 * @returns Whether the source is configured, and what was looked for.
 * @throws {CredentialsError} When Deno denies access to the environment.
 *
 * @example
 * ```ts
 * import { containerCredentialsSource } from "./container.ts";
 *
 * const check = containerCredentialsSource({});
 * console.log(check.configured); // false
 * console.log(check.lookedFor);
 * // "container credentials (neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set)"
 * ```
 */
export function containerCredentialsSource(env?: Environment): CredentialsSourceCheck {
  const set = [RELATIVE_URI, FULL_URI].find((name) => readEnv(name, env) !== undefined);
  return set === undefined
    ? {
      configured: false,
      lookedFor: `container credentials (neither ${RELATIVE_URI} nor ${FULL_URI} is set)`,
    }
    : { configured: true, lookedFor: `container credentials (${set} is set)` };
}

/** Where to ask, and what to send. */
interface ContainerSettings {
  /** The credentials URL. */
  url: URL;
  /** Where it came from, for messages: a variable or an option. */
  from: string;
  /** The authorization token, and where it came from. */
  token: { value: string; from: string } | undefined;
  /** The token file, and where it came from. */
  tokenFile: { path: string; from: string } | undefined;
}

/**
 * Resolves the endpoint and the token source from the options, else the
 * variables: a relative URI first, as the AWS SDKs' documentation orders
 * them; a token file before a token.
 *
 * @throws {CredentialsError} When neither URI is set, or the URI is malformed or not allowed.
 */
function containerSettings(given: FromContainerMetadataOptions, env?: Environment) {
  const uriOptions = given.relativeUri !== undefined || given.fullUri !== undefined;
  const relative = uriOptions ? given.relativeUri : readEnv(RELATIVE_URI, env);
  const full = uriOptions ? given.fullUri : readEnv(FULL_URI, env);
  const fail = (problem: string) =>
    new CredentialsError(`Cannot get container credentials: ${problem}`);
  let url: URL;
  let from: string;
  if (relative !== undefined) {
    from = uriOptions ? "'relativeUri'" : RELATIVE_URI;
    const parsed = relative.startsWith("/") ? parseUrl(`http://${ECS_HOST}${relative}`) : undefined;
    if (parsed === undefined || parsed.host !== ECS_HOST) {
      throw fail(
        `${from} must be a path on http://${ECS_HOST} starting with '/', got ${describe(relative)}`,
      );
    }
    url = parsed;
  } else if (full !== undefined) {
    from = uriOptions ? "'fullUri'" : FULL_URI;
    const parsed = parseUrl(full);
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      throw fail(`${from} must be an http(s) URL, got ${describe(full)}`);
    }
    if (parsed.protocol === "http:" && !isAllowedHost(parsed.hostname)) {
      throw fail(
        `${from} ${parsed.origin} is not allowed: over plain HTTP, credentials are fetched ` +
          `only from a loopback address (127.0.0.0/8, ::1, localhost), ECS's ${ECS_HOST} or ` +
          `EKS Pod Identity's 169.254.170.23 and fd00:ec2::23; use https:// for any other host`,
      );
    }
    url = parsed;
  } else {
    throw fail(`neither ${RELATIVE_URI} nor ${FULL_URI} is set`);
  }
  const tokenOptions = given.authorizationToken !== undefined ||
    given.authorizationTokenFile !== undefined;
  const tokenFile = tokenOptions ? given.authorizationTokenFile : readEnv(TOKEN_FILE, env);
  const token = tokenOptions ? given.authorizationToken : readEnv(TOKEN, env);
  return {
    url,
    from,
    tokenFile: tokenFile === undefined
      ? undefined
      : { path: tokenFile, from: tokenOptions ? "'authorizationTokenFile'" : TOKEN_FILE },
    token: token === undefined
      ? undefined
      : { value: token, from: tokenOptions ? "'authorizationToken'" : TOKEN },
  } satisfies ContainerSettings;
}

/** The AWS SDKs' rule for plain HTTP: loopback, or the ECS and EKS Pod Identity addresses. */
function isAllowedHost(hostname: string): boolean {
  return isLoopback(hostname) || CONTAINER_HOSTS.includes(hostname.toLowerCase());
}

/**
 * The `Authorization` value for one request: the token file's content (read
 * now, trimmed as `fetch` trims header values), else the token.
 *
 * @throws {Error} When the file cannot be read, is empty, or either holds a line break.
 */
async function authorizationOf(settings: ContainerSettings): Promise<string | undefined> {
  let value: string;
  let from: string;
  if (settings.tokenFile !== undefined) {
    from = `${settings.tokenFile.from} ${describe(settings.tokenFile.path)}`;
    let read: string | undefined;
    try {
      read = await readTextFile(settings.tokenFile.path);
    } catch (error) {
      throw new Error(`cannot read the authorization token file (${from}): ${messageOf(error)}`, {
        cause: error,
      });
    }
    if (read === undefined) {
      throw new Error(
        canReadFiles()
          ? `the authorization token file (${from}) does not exist`
          : `this runtime cannot read the authorization token file (${from}); pass 'authorizationToken'`,
      );
    }
    value = read;
  } else if (settings.token !== undefined) {
    from = settings.token.from;
    value = settings.token.value;
  } else {
    return undefined;
  }
  value = value.trim();
  if (value === "") throw new Error(`the authorization token (${from}) is empty`);
  if (/[\r\n]/.test(value)) {
    throw new Error(`the authorization token (${from}) holds a line break`);
  }
  return value;
}
