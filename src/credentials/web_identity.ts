/**
 * Credentials from a federated web identity: an OIDC JWT exchanged with STS
 * `AssumeRoleWithWebIdentity` by this module's own STS call
 * (`sts_web_identity.ts`), so that it runs in Workers too. It behaves as the
 * AWS SDK's `fromTokenFile` / `fromWebToken` do (the token file read again for
 * every exchange, `AWS_ROLE_SESSION_NAME`, the same default session name)
 * without bundling the SDK: a Lambda handler or a Worker that never uses web
 * identity carries only this file.
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
import { REGION_PATTERN } from "../token.ts";
import { canReadFiles, readTextFile } from "./_files.ts";
import { cacheCredentials } from "./cache.ts";
import { type Environment, readEnv } from "./env.ts";
import { answerWithin, messageOf } from "./resolve.ts";
import type {
  AssumeRoleWithWebIdentityParams,
  StsCredentials,
  StsRoleAssumerOptions,
} from "./sts_web_identity.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

/** Options of {@linkcode fromWebIdentity}. All are optional when the EKS-style variables are set. */
export interface FromWebIdentityOptions {
  /**
   * The role to assume, such as `arn:aws:iam::123456789012:role/app`.
   *
   * @default {the `AWS_ROLE_ARN` variable}
   */
  roleArn?: string;
  /**
   * The OIDC token: a string, or a function returning a fresh one for each
   * exchange (GitHub Actions, Vercel and Deno Deploy hand tokens out that way).
   * The function must answer within `timeout`, or the exchange fails with a
   * `CredentialsError` (and the next exchange asks it again).
   * Give this or `tokenFile`.
   */
  webIdentityToken?: string | (() => string | Promise<string>);
  /**
   * A file holding the OIDC token, read again for each exchange (EKS IRSA rotates it).
   *
   * @default {the `AWS_WEB_IDENTITY_TOKEN_FILE` variable}
   */
  tokenFile?: string;
  /**
   * The role session name.
   *
   * @default {the `AWS_ROLE_SESSION_NAME` variable, else a generated name}
   */
  roleSessionName?: string;
  /** How long the temporary credentials last, in seconds (900 to the role's maximum). */
  durationSeconds?: number;
  /**
   * The STS region: its regional endpoint is called (`https://sts.<region>.amazonaws.com`,
   * with the partition's suffix in China, GovCloud and ISO regions; FIPS or dual-stack when
   * `AWS_USE_FIPS_ENDPOINT` or `AWS_USE_DUALSTACK_ENDPOINT` is `true`).
   *
   * @default {the `AWS_REGION` variable, else `us-east-1`}
   */
  region?: string;
  /**
   * The STS endpoint URL, for a private endpoint or the local emulator.
   *
   * @default {the `AWS_ENDPOINT_URL_STS` variable, else `AWS_ENDPOINT_URL`, else the region's}
   */
  stsEndpoint?: string;
  /**
   * How long one STS request may take, from sending it to the end of the
   * answer, in milliseconds; a hung STS then fails the exchange instead of
   * blocking every later token. As in the AWS SDK, a timed-out request is
   * retried up to twice (3 attempts), as are throttling, 5xx answers,
   * network errors and `IDPCommunicationError`. The `webIdentityToken`
   * callback gets the same bound. The whole exchange (callback, STS attempts
   * and the pauses between them) is bounded by `4 × timeout + 15 s`, so that
   * even a wait nothing else bounds cannot hold the provider.
   *
   * @default {3000}
   */
  timeout?: number;
  /**
   * Where to read the variables above, instead of the runtime's environment.
   */
  env?: Environment;
  /**
   * The clock used to decide when cached credentials must be renewed.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound the `webIdentityToken` callback and the whole
   * exchange (see `timeout`); tests fire them by hand. The STS requests keep
   * their own timer.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
}

/**
 * A credentials provider that exchanges an OIDC token for temporary AWS
 * credentials with STS `AssumeRoleWithWebIdentity`. The result is cached until
 * five minutes before it expires; then the token is read or asked for again
 * and exchanged anew. The AWS SDK package behind it is loaded on first use
 * only, so importing this module stays cheap; the STS call itself is one
 * plain HTTP POST (`fetch`, or `node:http(s)` on Node.js; no AWS SDK client,
 * no `DOMParser`), so it works in Deno, Node.js, Bun and Workers alike. Errors
 * name STS's code and message, never the token. The provider also has a
 * `waitingFor()` method, for progress messages: it resolves to what a call
 * waits for, without a secret (`web identity: STS at https://sts.us-east-1.amazonaws.com`).
 *
 * @param options The role, the token (or its file), and STS settings.
 * @returns The provider.
 * @throws {TypeError} When no role or no token source is given or found in the environment, or
 * an option is malformed.
 * @throws {RangeError} When `durationSeconds` is outside 900..43200, or `timeout` is not a positive number.
 *
 * @example With a token callback, as in GitHub Actions
 * ```ts ignore
 * import { fromWebIdentity } from "./web_identity.ts";
 *
 * const credentials = fromWebIdentity({
 *   roleArn: "arn:aws:iam::123456789012:role/elasticache-iam-auth-app",
 *   webIdentityToken: async () => await getIdToken("sts.amazonaws.com"),
 *   region: "us-east-1",
 * });
 * ```
 *
 * @example Making the provider resolves nothing yet
 * ```ts
 * import { fromWebIdentity } from "./web_identity.ts";
 *
 * const credentials = fromWebIdentity({
 *   roleArn: "arn:aws:iam::123456789012:role/elasticache-iam-auth-app",
 *   webIdentityToken: () => Promise.resolve("a JWT from your identity provider"),
 *   region: "us-east-1",
 * });
 * console.log(typeof credentials); // "function": STS is called when it is
 * ```
 */
export function fromWebIdentity(options?: FromWebIdentityOptions): AwsCredentialsProvider {
  const action = "Cannot use web identity";
  const given = optionsObject(action, options);
  const env = given.env;
  optionalEnv(action, env);
  optionalFunction(action, "now", given.now);
  const timers = timersOption(action, given.timers);
  const roleArn = given.roleArn ?? readEnv("AWS_ROLE_ARN", env);
  const token = given.webIdentityToken;
  const tokenFile = token === undefined
    ? given.tokenFile ?? readEnv("AWS_WEB_IDENTITY_TOKEN_FILE", env)
    : undefined;
  if (typeof roleArn !== "string" || !ROLE_ARN.test(roleArn)) {
    throw new TypeError(
      `${action}: 'roleArn' (or AWS_ROLE_ARN) must be a role ARN such as ` +
        `'arn:aws:iam::123456789012:role/name', got ${
          roleArn === undefined ? "nothing" : describe(roleArn)
        }`,
    );
  }
  if (token === undefined && tokenFile === undefined) {
    throw new TypeError(
      `${action}: give 'webIdentityToken' or 'tokenFile' (or set AWS_WEB_IDENTITY_TOKEN_FILE)`,
    );
  }
  if (
    token !== undefined && !(typeof token === "function" || (typeof token === "string" && token))
  ) {
    throw new TypeError(
      `${action}: 'webIdentityToken' must be a non-empty string or a function returning one`,
    );
  }
  const fileOption = given.tokenFile;
  if (fileOption !== undefined && (typeof fileOption !== "string" || fileOption === "")) {
    throw new TypeError(`${action}: 'tokenFile' must be a file path, got ${describe(fileOption)}`);
  }
  if (fileOption !== undefined && token !== undefined) {
    throw new TypeError(`${action}: give 'webIdentityToken' or 'tokenFile', not both`);
  }
  const durationSeconds = given.durationSeconds;
  if (
    durationSeconds !== undefined &&
    (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43_200)
  ) {
    throw new RangeError(
      `${action}: 'durationSeconds' must be a whole number from 900 to 43200, got ${
        describe(durationSeconds)
      }`,
    );
  }
  const timeout = given.timeout ?? 3000;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError(
      `${action}: 'timeout' must be a positive number of milliseconds, got ${describe(timeout)}`,
    );
  }
  const roleSessionName = given.roleSessionName ?? readEnv("AWS_ROLE_SESSION_NAME", env);
  if (roleSessionName !== undefined && !SESSION_NAME.test(roleSessionName)) {
    throw new TypeError(
      `${action}: 'roleSessionName' (or AWS_ROLE_SESSION_NAME) must be 2 to 64 letters, digits ` +
        `or any of _+=,.@-, got ${describe(roleSessionName)}`,
    );
  }
  const region = given.region ?? readEnv("AWS_REGION", env);
  if (region !== undefined && !REGION_PATTERN.test(region)) {
    throw new TypeError(
      `${action}: 'region' (or AWS_REGION) must be an AWS region such as 'us-east-1', got ${
        describe(region)
      }`,
    );
  }
  const configured = given.stsEndpoint === undefined &&
      readOptionalEnv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", env) !== "true"
    ? readEnv("AWS_ENDPOINT_URL_STS", env) ?? readOptionalEnv("AWS_ENDPOINT_URL", env)
    : undefined;
  const endpoint = given.stsEndpoint ?? configured;
  if (endpoint !== undefined && !isHttpUrl(endpoint)) {
    throw new TypeError(
      `${action}: 'stsEndpoint' (or AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL) must be an http(s) ` +
        `URL such as 'https://sts.us-east-1.amazonaws.com', got ${describe(endpoint)}`,
    );
  }
  const assumerOptions: StsRoleAssumerOptions = {
    timeout,
    ...(endpoint === undefined
      ? {
        region: region ?? "us-east-1",
        useFipsEndpoint: envFlag(action, "AWS_USE_FIPS_ENDPOINT", env),
        useDualstackEndpoint: envFlag(action, "AWS_USE_DUALSTACK_ENDPOINT", env),
      }
      : { endpoint }),
  };
  // The STS client loads on the first exchange, like the SDK: importing this module stays cheap.
  let assumer:
    | Promise<(params: AssumeRoleWithWebIdentityParams) => Promise<StsCredentials>>
    | undefined;
  const roleAssumerWithWebIdentity = async (params: AssumeRoleWithWebIdentityParams) => {
    assumer ??= import("./sts_web_identity.ts").then((sts) =>
      sts.webIdentityRoleAssumer(assumerOptions)
    );
    return await (await assumer)(params);
  };
  const exchange = async (): Promise<AwsCredentials> => {
    let resolved: StsCredentials;
    try {
      const webIdentityToken = tokenFile
        ? await readTokenFile(tokenFile)
        : typeof token === "function"
        ? await answerWithin(
          token,
          Math.min(timeout, MAX_TIMER_MS),
          timers,
          () =>
            new CredentialsError(
              `the 'webIdentityToken' callback did not answer within ${timeout} ms`,
            ),
        )
        : token!;
      if (typeof webIdentityToken !== "string" || webIdentityToken === "") {
        throw new TypeError(
          tokenFile
            ? `the token file ${tokenFile} is empty`
            : "the 'webIdentityToken' callback returned no token",
        );
      }
      resolved = await roleAssumerWithWebIdentity({
        RoleArn: roleArn,
        // The AWS SDK's default session name.
        RoleSessionName: roleSessionName ?? `aws-sdk-js-session-${(given.now ?? Date.now)()}`,
        WebIdentityToken: webIdentityToken,
        ...(durationSeconds ? { DurationSeconds: durationSeconds } : {}),
      });
    } catch (error) {
      throw new CredentialsError(
        `Cannot assume role ${roleArn} with web identity: ${messageOf(error)}`,
        { cause: error },
      );
    }
    return {
      accessKeyId: resolved.accessKeyId,
      secretAccessKey: resolved.secretAccessKey,
      ...(resolved.sessionToken === undefined ? {} : { sessionToken: resolved.sessionToken }),
      ...(resolved.expiration === undefined ? {} : { expiration: resolved.expiration }),
    };
  };
  const provider = cacheCredentials(exchange, {
    // The callback and 3 STS attempts (each within `timeout`), plus the retry pauses
    // (at most 1 s and 2 s when throttled, each stretched by up to 5 s for a Retry-After).
    timeoutMs: Math.min(4 * timeout + EXCHANGE_PAUSES_MS, MAX_TIMER_MS),
    timers,
    ...(given.now ? { now: given.now } : {}),
  });
  // What a call waits for, for progress messages (the CLI's): the STS the role assumer calls,
  // by its origin only (as StsError names it), so no user or password in the URL is shown.
  const waitingFor = async (): Promise<string> => {
    const url = assumerOptions.endpoint ??
      (await import("./sts_web_identity.ts")).stsEndpointFor(
        assumerOptions.region ?? "us-east-1",
        assumerOptions,
      );
    return `web identity: STS at ${new URL(url).origin}`;
  };
  return named(Object.assign(provider, { waitingFor }), "web identity");
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;
/** The longest retry pauses between STS attempts (13 s), plus room for loading the STS client. */
const EXCHANGE_PAUSES_MS = 15_000;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** Reads a variable that only refines the defaults: unset when the environment may not be read. */
function readOptionalEnv(name: string, env: Environment | undefined): string | undefined {
  try {
    return readEnv(name, env);
  } catch (error) {
    if (error instanceof CredentialsError) return undefined;
    throw error;
  }
}

/** A `true`/`false` variable, as the AWS SDK reads `AWS_USE_FIPS_ENDPOINT`. */
function envFlag(action: string, name: string, env: Environment | undefined): boolean {
  const value = readOptionalEnv(name, env);
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new TypeError(`${action}: ${name} must be 'true' or 'false', got ${describe(value)}`);
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}

/**
 * Reads a web identity token file again for each exchange (Kubernetes rotates
 * it), with the runtime's own file API.
 */
async function readTokenFile(path: string): Promise<string> {
  if (!canReadFiles()) {
    throw new TypeError(`this runtime cannot read the token file ${path}; pass 'webIdentityToken'`);
  }
  const text = await readTextFile(path);
  if (text === undefined) throw new TypeError(`the token file ${path} does not exist`);
  return text;
}
