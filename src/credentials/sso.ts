/**
 * Credentials from IAM Identity Center (SSO), as the AWS SDKs get them for
 * an `sso_session` profile or a legacy `sso_start_url` one: the access token
 * that `aws sso login` leaves in `~/.aws/sso/cache/<sha1>.json` (the SHA-1 of
 * the `sso-session`'s name, or of the start URL for a legacy profile) is
 * sent to the SSO portal's `GetRoleCredentials`
 * (`GET https://portal.sso.<sso_region>.amazonaws.com/federation/credentials`
 * with the `x-amz-sso_bearer_token` header), which answers the role's
 * temporary credentials.
 *
 * As the AWS SDK for JavaScript's token provider does for an `sso-session`
 * profile, a token within five minutes of its expiry is refreshed once with
 * the cached `refreshToken` (SSO OIDC `CreateToken`, at most one attempt
 * every 30 seconds), and the cache file is rewritten; when that fails, the
 * old token is used while it is still valid. A legacy profile's token is not
 * refreshed. An expired or missing token fails with the advice to run
 * `aws sso login`.
 *
 * The portal is `AWS_ENDPOINT_URL_SSO` (then `AWS_ENDPOINT_URL`, the
 * profile's `services` section, its `endpoint_url`) when set, else the
 * `sso_region`'s; SSO OIDC likewise with `AWS_ENDPOINT_URL_SSO_OIDC`.
 *
 * @module
 */

import {
  describe,
  MAX_TIMER_MS,
  optionalEnv,
  optionalFunction,
  optionsObject,
  timeoutOption,
  timersOption,
} from "../_checks.ts";
import type { Timers } from "../client/timers.ts";
import { CredentialsError } from "../errors.ts";
import { type HttpRequest, type HttpSend, senderFor } from "./_http.ts";
import { homeDirectory, readTextFile, replaceTextFile } from "./_files.ts";
import { cacheCredentials } from "./cache.ts";
import type { Environment } from "./env.ts";
import { messageOf } from "./resolve.ts";
import {
  configuredEndpoint,
  describeSso,
  flagOf,
  loadSharedConfig,
  profileNameOf,
  profileNotFound,
  type SharedConfig,
  sharedFilesCheck,
  type SharedFilesOptions,
} from "./shared_config.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";
import { regionalEndpoint } from "./sts_web_identity.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

/** Options of {@linkcode fromSso}. */
export interface FromSsoOptions extends SharedFilesOptions {
  /**
   * How long each request to SSO may take, in milliseconds.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * The clock that decides whether the cached SSO token has expired, and
   * when cached credentials are renewed (five minutes before they expire).
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound each request.
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

/** How the SSO calls are made: the environment, the bound, the clock, the timers, the sender. */
export interface SsoSettings {
  /** Where to read the variables. */
  env: Environment | undefined;
  /** How long each request may take, in ms. */
  timeout: number;
  /** The clock. */
  now: () => number;
  /** The timers that bound each request. */
  timers: Timers;
  /** How requests are sent. */
  send: HttpSend;
  /** Told what the resolution waits for now (for `waitingFor()`). */
  onStep?: (what: string) => void;
}

/** The SSO settings of a profile, resolved. */
interface SsoProfile {
  startUrl: string;
  region: string;
  accountId: string;
  roleName: string;
  session: string | undefined;
}

/** How close to its expiry a cached SSO token is refreshed (the JS SDK's `EXPIRE_WINDOW_MS`). */
const REFRESH_WINDOW_MS = 5 * 60_000;
/** At most one refresh attempt per token cache file in this long (the JS SDK's). */
const REFRESH_INTERVAL_MS = 30_000;
/** SSO's answers are a few kilobytes. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** When each token cache file was last refreshed, in `now()` ms. */
const lastRefresh = new Map<string, number>();

/**
 * A credentials provider for an IAM Identity Center (SSO) profile: an
 * `sso_session` profile (with its `[sso-session NAME]` section) or a legacy
 * one with `sso_start_url` and `sso_region`, and `sso_account_id` and
 * `sso_role_name`, as the AWS SDK's `fromSSO` reads them. It reads the
 * access token `aws sso login` cached and asks the SSO portal for the
 * role's credentials, which are cached until five minutes before they
 * expire. Failures reject with a `CredentialsError` naming the profile; an
 * expired or missing login says to run `aws sso login`. No message holds
 * the access token or a key. The provider also has a `waitingFor()` method,
 * for progress messages (`profile 'dev': SSO at https://portal.sso.eu-west-1.amazonaws.com`).
 *
 * @param options Which profile and files, the request bound, the clock, `fetch`.
 * @returns The provider.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `timeout` is out of range.
 *
 * @example
 * ```ts
 * import { fromSso } from "./sso.ts";
 *
 * const credentials = fromSso({ profile: "dev", env: { HOME: "/nonexistent" } });
 * console.log(await credentials.waitingFor()); // "profile 'dev': SSO"
 * ```
 */
export function fromSso(
  options?: FromSsoOptions,
): AwsCredentialsProvider & { waitingFor(): Promise<string> } {
  const action = "Cannot use SSO";
  const given = optionsObject(action, options);
  optionalEnv(action, given.env);
  optionalFunction(action, "now", given.now);
  optionalFunction(action, "fetch", given.fetch);
  const timeout = timeoutOption(action, "timeout", given.timeout, 5000);
  const timers = timersOption(action, given.timers);
  let step: string | undefined;
  const settings: SsoSettings = {
    env: given.env,
    timeout,
    now: given.now ?? Date.now,
    timers,
    send: senderFor(given.fetch),
    onStep: (what) => step = what,
  };
  const resolve = async (): Promise<AwsCredentials> => {
    try {
      const config = await loadSharedConfig(given);
      if (config.profile === undefined) {
        throw new CredentialsError(`Cannot get SSO credentials: ${profileNotFound(config)}`);
      }
      return await ssoCredentials(config, config.profileName, settings);
    } finally {
      step = undefined;
    }
  };
  const provider = cacheCredentials(resolve, {
    // A token refresh and GetRoleCredentials, each within `timeout`, and reading files.
    timeoutMs: Math.min(2 * timeout + 1000, MAX_TIMER_MS),
    timers,
    now: settings.now,
  });
  const waitingFor = () =>
    Promise.resolve(`profile '${profileNameOf(given)}': SSO${step ? ` at ${step}` : ""}`);
  return named(Object.assign(provider, { waitingFor }), "sso");
}

/**
 * Whether the profile in use is an SSO profile (it has `sso_account_id` or
 * `sso_role_name`, what makes botocore's SSO provider take it): the cheap,
 * synchronous check a credentials chain makes before using
 * {@linkcode fromSso}. It reads the shared files synchronously; on a
 * runtime without files (Workers) it is never configured.
 *
 * @param options Which profile and files, and where to read the variables.
 * @returns Whether it is configured, and what was looked for.
 * @throws {CredentialsError} When Deno denies access to the environment.
 *
 * @example
 * ```ts
 * import { ssoCredentialsSource } from "./sso.ts";
 *
 * console.log(ssoCredentialsSource({ env: { HOME: "/nonexistent" } }).configured); // false
 * ```
 */
export function ssoCredentialsSource(options?: SharedFilesOptions): CredentialsSourceCheck {
  return sharedFilesCheck("SSO settings", options, describeSso);
}

/**
 * Gets a profile's SSO credentials: its settings, the cached access token
 * (refreshed when due and possible), then `GetRoleCredentials`.
 *
 * @param config The shared files.
 * @param profileName The SSO profile (the one in use, or a `source_profile`).
 * @param settings The environment, bound, clock, timers and `fetch`.
 * @returns The role's credentials.
 * @throws {CredentialsError} When a setting is missing, the login is missing or expired, or SSO refuses.
 */
export async function ssoCredentials(
  config: SharedConfig,
  profileName: string,
  settings: SsoSettings,
): Promise<AwsCredentials> {
  const fail = (reason: string, cause?: unknown) =>
    new CredentialsError(
      `Cannot get SSO credentials for profile '${profileName}': ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  const sso = ssoProfile(config, profileName, fail);
  const login = `run 'aws sso login${
    profileName === "default" ? "" : ` --profile ${profileName}`
  }'`;
  const home = homeDirectory(settings.env);
  if (home === undefined) throw fail("no home directory is known (HOME is not set)");
  const cacheKey = sso.session ?? sso.startUrl;
  const cacheFile = `${home.replace(/[\\/]+$/, "")}/.aws/sso/cache/${await sha1Hex(cacheKey)}.json`;
  const whose = sso.session === undefined
    ? `the start URL ${shownUrl(sso.startUrl)}`
    : `sso-session '${sso.session}'`;

  let token: Record<string, unknown>;
  const text = await readTextFile(cacheFile);
  if (text === undefined) throw fail(`there is no SSO login for ${whose} (${cacheFile}); ${login}`);
  try {
    token = JSON.parse(text);
    if (token === null || typeof token !== "object") throw new TypeError("not an object");
  } catch {
    throw fail(`the SSO token cache ${cacheFile} is not JSON; ${login}`);
  }
  if (typeof token.accessToken !== "string" || token.accessToken === "") {
    throw fail(`the SSO token cache ${cacheFile} holds no accessToken; ${login}`);
  }
  let expiresAt = parseExpiry(token.expiresAt);
  if (expiresAt === undefined) {
    throw fail(`the SSO token cache ${cacheFile} holds no valid expiresAt; ${login}`);
  }
  let accessToken = token.accessToken;
  const now = settings.now();
  if (sso.session !== undefined && expiresAt - now <= REFRESH_WINDOW_MS) {
    const refreshed = await refreshToken(config, profileName, sso, token, cacheFile, settings);
    if (refreshed !== undefined) ({ accessToken, expiresAt } = refreshed);
  }
  if (expiresAt <= settings.now()) {
    throw fail(
      `the SSO session of ${whose} expired at ${new Date(expiresAt).toISOString()}; ${login}`,
    );
  }

  const portal = endpointFor(config, settings.env, profileName, "sso", "portal.sso", sso.region);
  const url = new URL(`${portal.href.replace(/\/+$/, "")}/federation/credentials`);
  url.searchParams.set("role_name", sso.roleName);
  url.searchParams.set("account_id", sso.accountId);
  settings.onStep?.(portal.origin);
  const answer = await request(url, {
    method: "GET",
    headers: { "x-amz-sso_bearer_token": accessToken, accept: "application/json" },
  }, settings).catch((error) => {
    throw fail(`cannot reach SSO at ${portal.origin}: ${messageOf(error)}`, error);
  });
  if (answer.status !== 200) {
    const { code, message } = errorOf(answer);
    const advice = answer.status === 401 || code === "UnauthorizedException" ? `; ${login}` : "";
    throw fail(
      `SSO at ${portal.origin} answered ${code ?? "an error"} (HTTP ${answer.status})${
        message ? `: ${message}` : ""
      } for role '${sso.roleName}' of account ${sso.accountId}${advice}`,
    );
  }
  const role = (answer.json as { roleCredentials?: Record<string, unknown> } | undefined)
    ?.roleCredentials;
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = role ?? {};
  if (
    typeof accessKeyId !== "string" || !accessKeyId || typeof secretAccessKey !== "string" ||
    !secretAccessKey || typeof sessionToken !== "string" || !sessionToken ||
    typeof expiration !== "number" || !Number.isFinite(expiration)
  ) {
    throw fail(`SSO at ${portal.origin} answered without valid role credentials`);
  }
  return { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiration) };
}

/** The profile's SSO settings, with its `sso-session`'s, checked as the SDKs check them. */
function ssoProfile(
  config: SharedConfig,
  profileName: string,
  fail: (reason: string) => CredentialsError,
): SsoProfile {
  const profile = config.profiles.get(profileName) ?? {};
  const merged: Record<string, string> = { ...profile };
  const sessionName = profile["sso_session"];
  if (sessionName !== undefined) {
    const session = config.ssoSessions.get(sessionName);
    if (session === undefined) {
      throw fail(
        `its sso_session '${sessionName}' has no [sso-session ${sessionName}] section in ${config.configFile}`,
      );
    }
    for (const key of ["sso_region", "sso_start_url"]) {
      const inProfile = profile[key];
      const inSession = session[key];
      if (inProfile !== undefined && inSession !== undefined && inProfile !== inSession) {
        throw fail(`its ${key} differs from the one of sso-session '${sessionName}'`);
      }
      if (inSession !== undefined) merged[key] = inSession;
    }
  }
  const required = ["sso_start_url", "sso_region", "sso_account_id", "sso_role_name"];
  const missing = required.filter((key) => !merged[key]);
  if (missing.length > 0) {
    throw fail(
      `it is set up for SSO but lacks ${missing.join(", ")}${
        sessionName === undefined ? "" : ` (with its sso-session '${sessionName}')`
      }`,
    );
  }
  return {
    startUrl: merged["sso_start_url"]!,
    region: merged["sso_region"]!,
    accountId: merged["sso_account_id"]!,
    roleName: merged["sso_role_name"]!,
    session: sessionName,
  };
}

/**
 * Refreshes an `sso-session`'s token with SSO OIDC `CreateToken` (grant
 * `refresh_token`), as the SDK's token provider does, and rewrites the
 * cache file. Returns nothing when the token cannot be refreshed (no
 * refresh token or client registration, an expired registration, an attempt
 * in the last 30 s) or the refresh fails: the caller then uses the old
 * token while it is valid.
 */
async function refreshToken(
  config: SharedConfig,
  profileName: string,
  sso: SsoProfile,
  token: Record<string, unknown>,
  cacheFile: string,
  settings: SsoSettings,
): Promise<{ accessToken: string; expiresAt: number } | undefined> {
  const { clientId, clientSecret, refreshToken, registrationExpiresAt } = token;
  if (
    typeof clientId !== "string" || typeof clientSecret !== "string" ||
    typeof refreshToken !== "string" || !clientId || !clientSecret || !refreshToken
  ) {
    return undefined;
  }
  const now = settings.now();
  const registration = parseExpiry(registrationExpiresAt);
  if (registration !== undefined && registration <= now) return undefined;
  const last = lastRefresh.get(cacheFile);
  if (last !== undefined && now - last < REFRESH_INTERVAL_MS) return undefined;
  lastRefresh.set(cacheFile, now);
  try {
    const oidc = endpointFor(config, settings.env, profileName, "sso_oidc", "oidc", sso.region);
    settings.onStep?.(oidc.origin);
    const answer = await request(new URL(`${oidc.href.replace(/\/+$/, "")}/token`), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ clientId, clientSecret, grantType: "refresh_token", refreshToken }),
    }, settings);
    const created = answer.json as Record<string, unknown> | undefined;
    if (
      answer.status !== 200 || typeof created?.accessToken !== "string" ||
      !created.accessToken || typeof created.expiresIn !== "number" ||
      !(created.expiresIn > 0)
    ) {
      return undefined;
    }
    const expiresAt = settings.now() + created.expiresIn * 1000;
    const updated = {
      ...token,
      accessToken: created.accessToken,
      expiresAt: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...(typeof created.refreshToken === "string" ? { refreshToken: created.refreshToken } : {}),
    };
    // As the SDK: a cache that cannot be rewritten leaves the new token in memory only.
    await replaceTextFile(cacheFile, JSON.stringify(updated, null, 2)).catch(() => {});
    return { accessToken: created.accessToken, expiresAt };
  } catch {
    return undefined;
  }
}

/** The endpoint of `sso` or `sso_oidc`: configured, else the region's. */
function endpointFor(
  config: SharedConfig,
  env: Environment | undefined,
  profileName: string,
  service: "sso" | "sso_oidc",
  prefix: string,
  region: string,
): URL {
  const configured = configuredEndpoint(config, env, service, profileName);
  const text = configured?.url ?? regionalEndpoint(prefix, region, {
    useFipsEndpoint: flagOf(config, env, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", profileName),
    useDualstackEndpoint: flagOf(
      config,
      env,
      "AWS_USE_DUALSTACK_ENDPOINT",
      "use_dualstack_endpoint",
      profileName,
    ),
  });
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") {
    throw new CredentialsError(
      `Cannot get SSO credentials for profile '${profileName}': ${
        configured?.from ?? "the SSO endpoint"
      } must be an http(s) URL, got ${describe(text)}`,
    );
  }
  return url;
}

/** An answer read whole: status, error type header, JSON body (if it was JSON). */
interface Answer {
  status: number;
  errorType: string | null;
  json: unknown;
}

async function request(
  url: URL,
  init: Pick<HttpRequest, "method" | "headers" | "body">,
  settings: SsoSettings,
): Promise<Answer> {
  const controller = new AbortController();
  const timer = settings.timers.setTimeout(
    () => controller.abort(),
    Math.min(settings.timeout, MAX_TIMER_MS),
  );
  try {
    const answer = await settings.send(url, {
      ...init,
      signal: controller.signal,
      maxBytes: MAX_ANSWER_BYTES,
    });
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    return { status: answer.status, errorType: answer.header("x-amzn-errortype"), json };
  } catch (error) {
    if (controller.signal.aborted) {
      throw new Error(`no answer within ${settings.timeout} ms`, { cause: error });
    }
    throw error;
  } finally {
    settings.timers.clearTimeout(timer);
  }
}

/** A REST-JSON error's code (the `x-amzn-errortype` header, else `__type`) and message. */
function errorOf(answer: Answer): { code: string | undefined; message: string | undefined } {
  const body = (answer.json ?? {}) as Record<string, unknown>;
  const type = answer.errorType ?? (typeof body.__type === "string" ? body.__type : undefined);
  const code = type?.split(":")[0]?.split("#").pop()?.trim() || undefined;
  const raw = body.message ?? body.Message;
  const message = typeof raw === "string" ? raw.replace(/\p{Cc}/gu, " ").slice(0, 300) : undefined;
  return { code: code && /^[\w.-]{1,100}$/.test(code) ? code : undefined, message };
}

/** A start URL in a message: its origin and path (never a user, password or query), else described. */
function shownUrl(text: string): string {
  if (!URL.canParse(text)) return describe(text);
  const url = new URL(text);
  return `${url.origin}${url.pathname}`;
}

/** An SSO cache date (`2026-01-01T00:00:00Z`, or the CLI v1's `…UTC`), in ms. */
function parseExpiry(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const time = new Date(value.replace(/UTC$/, "Z")).getTime();
  return Number.isNaN(time) ? undefined : time;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
