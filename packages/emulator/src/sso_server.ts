/**
 * The emulator's IAM Identity Center (SSO) on loopback, for the SSO
 * profiles of the shared config file (`sso_session`, or legacy
 * `sso_start_url`), in the two APIs the AWS SDKs call with a cached login:
 *
 * - the **portal**'s `GetRoleCredentials`: `GET /federation/credentials?role_name=…&account_id=…`
 *   with the `x-amz-sso_bearer_token` header, answering
 *   `{"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}`
 *   (`expiration` in epoch milliseconds): the emulator's own STS credentials
 *   of the configured role named `role_name`, so the gateway accepts tokens
 *   signed with them. A missing, unknown or expired access token (emulator
 *   clock) gets 401 `UnauthorizedException`; a role that is not offered, or
 *   another account, 403 `ForbiddenException` (`No access`, as AWS answers);
 * - **SSO OIDC**'s `CreateToken` with the `refresh_token` grant:
 *   `POST /token`, `{"clientId", "clientSecret", "grantType", "refreshToken"}`,
 *   answering a new access token (and refresh token), as the SDKs ask when a
 *   cached token nears its expiry; an unknown refresh token gets 400
 *   `InvalidGrantException`.
 *
 * Both are on one origin: point `AWS_ENDPOINT_URL_SSO` and
 * `AWS_ENDPOINT_URL_SSO_OIDC` at it. Access tokens come from
 * {@linkcode SsoEndpoint.login}, which writes the token cache file that
 * `aws sso login` writes (`<home>/.aws/sso/cache/<sha1>.json`).
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";
import type { LocalServiceOptions } from "./local_service.ts";
import type { EmulatorConfig, ResolvedConfig, ResolvedRole } from "./config.ts";
import { assumedRolePrincipal, randomString } from "./credential_store.ts";

/** How long role credentials from the portal last, in ms (a permission set's default hour). */
export const SSO_ROLE_CREDENTIALS_LIFETIME_MS = 60 * 60 * 1000;
/** How long an access token from `CreateToken` lasts, in seconds (the hour IAM Identity Center gives). */
const REFRESHED_TOKEN_SECONDS = 3600;
/** The session name of the role credentials: the SSO user's. */
const SSO_USER = "emulator-sso-user";
/** The most access tokens kept at once; the oldest go first. */
const MAX_TOKENS = 10_000;

/** Options of {@linkcode SsoEndpoint.login}. */
export interface SsoLoginOptions {
  /** The home directory whose `.aws/sso/cache` receives the token (a test's temporary `HOME`). */
  home: string;
  /**
   * The `sso-session` logged in to: the cache file is named by its SHA-1, and
   * holds a refresh token and client registration, as `aws sso login` writes
   * for an `sso_session` profile. Without it, the login is a legacy
   * profile's, named by the SHA-1 of `startUrl`, without a refresh token.
   */
  ssoSession?: string;
  /**
   * The start URL written in the cache (and naming a legacy login's file).
   *
   * @default {the endpoint's `startUrl`}
   */
  startUrl?: string;
  /**
   * How long the access token lasts, in seconds on the emulator clock; 0 or
   * less writes a token that has already expired.
   *
   * @default {28800}
   */
  expiresInSeconds?: number;
}

/** A login written to a token cache. */
export interface SsoLogin {
  /** The cache file written. */
  readonly path: string;
  /** The access token it holds (what the portal accepts). */
  readonly accessToken: string;
  /** When it expires, on the emulator clock. */
  readonly expiresAt: Date;
}

/** The SSO endpoint, as `startEmulator` exposes it. */
export interface SsoEndpoint {
  /**
   * Its URL, `http://127.0.0.1:<port>`: the portal and SSO OIDC both. Pass it
   * as `AWS_ENDPOINT_URL_SSO` and `AWS_ENDPOINT_URL_SSO_OIDC`.
   */
  readonly endpoint: string;
  /** The start URL a profile's `sso_start_url` (or its `sso-session`'s) names. */
  readonly startUrl: string;
  /** The `sso_region`: the emulator's region. */
  readonly region: string;
  /** The `sso_account_id`: the emulator's account. */
  readonly accountId: string;
  /** The role names the portal hands out credentials for (`sso_role_name`). */
  readonly roleNames: readonly string[];
  /**
   * Logs in as `aws sso login` does: issues an access token and writes the
   * token cache file the AWS SDKs read (`<home>/.aws/sso/cache/<sha1>.json`).
   *
   * @param options The home directory, the `sso-session` (or start URL), the token's life.
   * @returns The file and the token.
   */
  login(options: SsoLoginOptions): Promise<SsoLogin>;
}

/** The endpoint with its server, owned by the emulator. */
export interface RunningSso extends SsoEndpoint {
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Finds the roles the portal offers, checking the configuration's `sso` section.
 *
 * @param config The configuration as given.
 * @param resolved It, resolved.
 * @returns The roles (every configured role unless `sso.roleNames` names some).
 * @throws {TypeError} When `sso.roleNames` is not a list of configured role names.
 */
export function ssoRoles(config: EmulatorConfig, resolved: ResolvedConfig): ResolvedRole[] {
  const roles = [...resolved.roles.values()];
  const names = config.sso?.roleNames;
  if (names === undefined) return roles;
  if (!Array.isArray(names)) {
    throw new TypeError(
      `Cannot start the emulator: 'sso.roleNames' must be a list of role names, got ${
        describe(names)
      }`,
    );
  }
  return names.map((name) => {
    const role = roles.find((candidate) => candidate.roleName === name);
    if (role === undefined) {
      throw new TypeError(
        `Cannot start the emulator: 'sso.roleNames' has ${
          describe(name)
        }, which is not a configured role (${
          roles.map((candidate) => `'${candidate.roleName}'`).join(", ") || "none"
        })`,
      );
    }
    return role;
  });
}

/** An access token the emulator issued, and the refresh token that renews it. */
interface IssuedToken {
  expiresAt: number;
  refreshToken: string | undefined;
}

/**
 * Starts the SSO endpoint on `127.0.0.1`.
 *
 * @param options The configuration, key store, clock and log.
 * @returns The running endpoint.
 * @throws {TypeError} When `sso.roleNames` names no configured role.
 * @throws {Error} When its port is taken (through `startFailure`).
 */
export function startSso(options: LocalServiceOptions): RunningSso {
  const { config, resolved, credentials, clock, log } = options;
  const roles = ssoRoles(config, resolved);
  const startFailure = options.startFailure ?? ((error: unknown) => error);
  const startUrl = "https://emulator.awsapps.com/start";
  /** Access tokens by value; refresh tokens to their client. */
  const accessTokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<string, { clientId: string; clientSecret: string }>();
  const remember = (accessToken: string, token: IssuedToken) => {
    if (accessTokens.size >= MAX_TOKENS) {
      accessTokens.delete(accessTokens.keys().next().value!);
    }
    accessTokens.set(accessToken, token);
  };
  const newToken = () => `aoa${randomString(120, ALPHABET)}`;

  const getRoleCredentials = (request: Request, url: URL): Response => {
    const bearer = request.headers.get("x-amz-sso_bearer_token");
    const roleName = url.searchParams.get("role_name");
    const accountId = url.searchParams.get("account_id");
    if (!roleName || !accountId) {
      return refuse(400, "InvalidRequestException", "role_name and account_id are required");
    }
    const token = bearer === null ? undefined : accessTokens.get(bearer);
    if (token === undefined || token.expiresAt <= clock.now()) {
      log(
        `sso: GetRoleCredentials refused: ${
          bearer === null
            ? "no access token"
            : token === undefined
            ? "an access token it never issued"
            : "an expired access token"
        }`,
      );
      return refuse(401, "UnauthorizedException", "Session token not found or invalid");
    }
    const role = accountId === resolved.accountId
      ? roles.find((candidate) => candidate.roleName === roleName)
      : undefined;
    if (role === undefined) {
      log(
        `sso: GetRoleCredentials refused: role ${describe(roleName)} of account ${
          describe(accountId)
        } is not offered`,
      );
      return refuse(403, "ForbiddenException", "No access");
    }
    const issued = credentials.issue(
      assumedRolePrincipal(resolved, role, SSO_USER),
      clock.now() + SSO_ROLE_CREDENTIALS_LIFETIME_MS,
    );
    log(`sso: GetRoleCredentials issued ${issued.accessKeyId} for ${role.arn}`);
    return json({
      roleCredentials: {
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiration: issued.expiration,
      },
    });
  };

  const createToken = async (request: Request): Promise<Response> => {
    let body: Record<string, unknown>;
    try {
      const text = await request.text();
      if (text.length > 64 * 1024) throw new Error("too long");
      body = JSON.parse(text);
      if (body === null || typeof body !== "object") throw new Error("not an object");
    } catch {
      return refuse(400, "InvalidRequestException", "The request body is not JSON");
    }
    if (body.grantType !== "refresh_token") {
      return oidcError(400, "UnsupportedGrantTypeException", "unsupported_grant_type");
    }
    const client = typeof body.refreshToken === "string"
      ? refreshTokens.get(body.refreshToken)
      : undefined;
    if (
      client === undefined || client.clientId !== body.clientId ||
      client.clientSecret !== body.clientSecret
    ) {
      log("sso: CreateToken refused: a refresh token or client it never issued");
      return oidcError(400, "InvalidGrantException", "invalid_grant");
    }
    refreshTokens.delete(body.refreshToken as string);
    const accessToken = newToken();
    const refreshToken = `aor${randomString(120, ALPHABET)}`;
    refreshTokens.set(refreshToken, client);
    remember(accessToken, {
      expiresAt: clock.now() + REFRESHED_TOKEN_SECONDS * 1000,
      refreshToken,
    });
    log("sso: CreateToken refreshed an access token");
    return json({
      accessToken,
      tokenType: "Bearer",
      expiresIn: REFRESHED_TOKEN_SECONDS,
      refreshToken,
    });
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: "127.0.0.1", port: config.sso?.port ?? 0, onListen: () => {} },
      async (request) => {
        const url = new URL(request.url);
        if (request.method === "GET" && url.pathname === "/federation/credentials") {
          return getRoleCredentials(request, url);
        }
        if (request.method === "POST" && url.pathname === "/token") {
          return await createToken(request);
        }
        await request.body?.cancel();
        return refuse(404, "ResourceNotFoundException", "Not found");
      },
    );
  } catch (error) {
    throw startFailure(error, "SSO endpoint", config.sso?.port, "'sso.port'");
  }
  const endpoint = `http://127.0.0.1:${server.addr.port}`;

  const login = async (login: SsoLoginOptions): Promise<SsoLogin> => {
    if (typeof login?.home !== "string" || login.home === "") {
      throw new TypeError("Cannot log in to the emulator's SSO: 'home' must be a directory");
    }
    const session = login.ssoSession;
    const loginUrl = login.startUrl ?? startUrl;
    const accessToken = newToken();
    // Whole seconds, as the cache file writes it.
    const expiresAt = Math.floor((clock.now() + (login.expiresInSeconds ?? 28_800) * 1000) / 1000) *
      1000;
    const cache: Record<string, string> = {
      startUrl: loginUrl,
      region: resolved.region,
      accessToken,
      expiresAt: rfc3339(expiresAt),
    };
    let refreshToken: string | undefined;
    if (session !== undefined) {
      const clientId = randomString(22, ALPHABET);
      const clientSecret = `eyJ${randomString(300, ALPHABET)}`;
      refreshToken = `aor${randomString(120, ALPHABET)}`;
      refreshTokens.set(refreshToken, { clientId, clientSecret });
      Object.assign(cache, {
        clientId,
        clientSecret,
        registrationExpiresAt: rfc3339(clock.now() + 90 * 24 * 3600_000),
        refreshToken,
      });
    }
    remember(accessToken, { expiresAt, refreshToken });
    const directory = `${login.home.replace(/\/+$/, "")}/.aws/sso/cache`;
    await Deno.mkdir(directory, { recursive: true });
    const path = `${directory}/${await sha1Hex(session ?? loginUrl)}.json`;
    await Deno.writeTextFile(path, JSON.stringify(cache, null, 2), { mode: 0o600 });
    log(
      `sso: logged in ${
        session === undefined
          ? `start URL ${describe(loginUrl)}`
          : `sso-session ${describe(session)}`
      } until ${rfc3339(expiresAt)}`,
    );
    return { path, accessToken, expiresAt: new Date(expiresAt) };
  };

  return {
    endpoint,
    startUrl,
    region: resolved.region,
    accountId: resolved.accountId,
    roleNames: roles.map((role) => role.roleName),
    login,
    async close(): Promise<void> {
      await server.shutdown();
    },
  };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A REST-JSON error, as the SSO portal answers: the type in a header, the message in the body. */
function refuse(status: number, type: string, message: string): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: { "content-type": "application/json", "x-amzn-errortype": type },
  });
}

/** An SSO OIDC error: the type in a header, OAuth's `error` in the body. */
function oidcError(status: number, type: string, error: string): Response {
  return new Response(JSON.stringify({ error, error_description: type }), {
    status,
    headers: { "content-type": "application/json", "x-amzn-errortype": type },
  });
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

/** RFC 3339 without fractional seconds, as the AWS CLI writes `expiresAt`. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
