/**
 * The emulator's STS endpoint on loopback: `AssumeRoleWithWebIdentity`
 * (unsigned; the JWT is verified against its provider's keys and the role's
 * trust policy), `AssumeRole` and `GetCallerIdentity` (SigV4-signed by known
 * keys). Answers use AWS's query-protocol XML, errors its `ErrorResponse`
 * shape, so the AWS SDKs work against it unchanged.
 *
 * @module
 */

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import type { EmulatorClock } from "./clock.ts";
import type {
  Jwk,
  Principal,
  ResolvedConfig,
  ResolvedOidcProvider,
  ResolvedRole,
} from "./config.ts";
import type { CredentialStore, StoredCredentials } from "./credential_store.ts";
import { evaluatePolicies } from "./iam_policy.ts";
import { verifySignedRequest } from "./signed_request_verifier.ts";

/** The STS endpoint, as `startEmulator` exposes it. */
export interface StsEndpoint {
  /** The endpoint URL, `http://127.0.0.1:<port>`: pass it as the SDK's STS endpoint. */
  readonly endpoint: string;
}

/** The endpoint with its server, owned by the emulator. */
export interface RunningSts extends StsEndpoint {
  /** Stops the server. */
  close(): Promise<void>;
}

/** What the STS needs from the emulator. */
export interface StsOptions {
  /** The resolved configuration. */
  config: ResolvedConfig;
  /** The key store it issues into. */
  credentials: CredentialStore;
  /** The emulator clock. */
  clock: EmulatorClock;
  /** The emulator's OIDC keys. */
  ownJwks: { keys: Jwk[] };
  /** The log. */
  log: (line: string) => void;
  /** The port, or 0 for a free one. */
  port?: number;
}

const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** An AWS error to answer with. */
class StsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

/**
 * Starts the STS endpoint on `127.0.0.1`.
 *
 * @param options The configuration, key store, clock, keys and log.
 * @returns The running endpoint.
 */
export function startSts(options: StsOptions): RunningSts {
  const { config, credentials, clock, log } = options;
  const keySets = new Map<string, JWTVerifyGetKey>();
  const keySetOf = async (provider: ResolvedOidcProvider): Promise<JWTVerifyGetKey> => {
    let keySet = keySets.get(provider.url);
    if (keySet === undefined) {
      if (provider.own) keySet = createLocalJWKSet(options.ownJwks as JSONWebKeySet);
      else if (provider.jwks) keySet = createLocalJWKSet(provider.jwks as JSONWebKeySet);
      else keySet = createRemoteJWKSet(new URL(provider.jwksUri ?? await discoverJwks(provider)));
      keySets.set(provider.url, keySet);
    }
    return keySet;
  };

  const assumeRoleWithWebIdentity = async (params: URLSearchParams): Promise<string> => {
    const { role, sessionName, duration } = roleRequest(params, config);
    const token = required(params, "WebIdentityToken");
    let claims: JWTPayload;
    try {
      decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw new StsError(
        "InvalidIdentityToken",
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
      );
    }
    const provider = typeof claims.iss === "string"
      ? config.oidcProviders.get(claims.iss) ??
        config.oidcProviders.get(claims.iss.replace(/\/+$/, ""))
      : undefined;
    if (provider === undefined) {
      throw new StsError(
        "InvalidIdentityToken",
        `No OpenIDConnect provider found in your account for ${String(claims.iss)}`,
      );
    }
    let keySet: JWTVerifyGetKey;
    try {
      keySet = await keySetOf(provider);
    } catch (error) {
      throw new StsError(
        "IDPCommunicationError",
        `Couldn't retrieve verification key from your identity provider (${
          (error as Error).message
        })`,
      );
    }
    const now = clock.now();
    try {
      await jwtVerify(token, keySet, {
        issuer: provider.url,
        currentDate: new Date(now),
        algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"],
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") {
        throw new StsError(
          "ExpiredTokenException",
          `Token expired: current date/time ${
            Math.floor(now / 1000)
          } must be before the expiration date/time ${claims.exp}`,
        );
      }
      if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JOSE_GENERIC") {
        throw new StsError(
          "IDPCommunicationError",
          "Couldn't retrieve verification key from your identity provider",
        );
      }
      throw new StsError(
        "InvalidIdentityToken",
        code === "ERR_JWT_CLAIM_VALIDATION_FAILED"
          ? `The web identity token is not valid: ${(error as Error).message}`
          : "Couldn't verify the signature of the web identity token",
      );
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const audience = audiences.find((aud) =>
      typeof aud === "string" && provider.clientIds.includes(aud)
    );
    if (audience === undefined) {
      throw new StsError("InvalidIdentityToken", "Incorrect token audience");
    }
    const subject = typeof claims.sub === "string" ? claims.sub : "";
    const context: Record<string, string | string[]> = {
      [`${provider.name}:aud`]: audience,
      [`${provider.name}:sub`]: subject,
      [`${provider.name}:iss`]: provider.url,
      "aws:FederatedProvider": provider.arn,
    };
    if (claims.amr !== undefined) {
      context[`${provider.name}:amr`] = ([] as unknown[]).concat(claims.amr).map(String);
    }
    if (role === undefined) throw webIdentityDenied();
    const decision = evaluatePolicies([role.trustPolicy], {
      action: "sts:AssumeRoleWithWebIdentity",
      principal: { type: "Federated", ids: [provider.arn, provider.name] },
      context,
    });
    if (decision !== "allow") {
      log(
        `sts: AssumeRoleWithWebIdentity of ${role.arn} refused for sub '${subject}' of ${provider.name}: trust policy ${decision}`,
      );
      throw webIdentityDenied();
    }
    const issued = issue(role, sessionName, duration);
    log(
      `sts: AssumeRoleWithWebIdentity issued ${issued.accessKeyId} for ${issued.principal.arn} (sub '${subject}', ${duration} s)`,
    );
    return response(
      "AssumeRoleWithWebIdentity",
      `${credentialsXml(issued)}${assumedRoleXml(role, sessionName)}` +
        `<SubjectFromWebIdentityToken>${xml(subject)}</SubjectFromWebIdentityToken>` +
        `<Provider>${xml(provider.url)}</Provider><Audience>${xml(audience)}</Audience>`,
    );
  };

  const assumeRole = (params: URLSearchParams, caller: StoredCredentials): string => {
    const { role, roleArn, sessionName, duration } = roleRequest(params, config);
    const principal = caller.principal;
    const denied = () =>
      new StsError(
        "AccessDenied",
        `User: ${principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    const identity = evaluatePolicies(principal.policies, {
      action: "sts:AssumeRole",
      resource: roleArn,
    });
    if (role === undefined || identity === "explicit-deny") throw denied();
    const named = evaluatePolicies([role.trustPolicy], {
      action: "sts:AssumeRole",
      principal: { type: "AWS", ids: [principal.baseArn, principal.arn] },
    });
    const viaAccount = evaluatePolicies([role.trustPolicy], {
      action: "sts:AssumeRole",
      principal: {
        type: "AWS",
        ids: [principal.accountId, `arn:${config.partition}:iam::${principal.accountId}:root`],
      },
    });
    const allowed = named === "allow" ||
      (named !== "explicit-deny" && viaAccount === "allow" && identity === "allow");
    if (!allowed) {
      log(
        `sts: AssumeRole of ${roleArn} refused for ${principal.arn}: trust ${named}/${viaAccount}, identity ${identity}`,
      );
      throw denied();
    }
    const issued = issue(role, sessionName, duration);
    log(`sts: AssumeRole issued ${issued.accessKeyId} for ${issued.principal.arn} (${duration} s)`);
    return response("AssumeRole", credentialsXml(issued) + assumedRoleXml(role, sessionName));
  };

  const issue = (role: ResolvedRole, sessionName: string, duration: number) => {
    const principal: Principal = {
      kind: "assumed-role",
      arn:
        `arn:${config.partition}:sts::${config.accountId}:assumed-role/${role.roleName}/${sessionName}`,
      baseArn: role.arn,
      accountId: config.accountId,
      policies: role.policies,
    };
    return credentials.issue(principal, clock.now() + duration * 1000);
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (request) => {
      const requestId = crypto.randomUUID();
      try {
        const body = new Uint8Array(await request.arrayBuffer());
        const params = new URLSearchParams(new URL(request.url).search);
        if (request.method === "POST") {
          for (const [k, v] of new URLSearchParams(new TextDecoder().decode(body))) {
            params.append(k, v);
          }
        } else if (request.method !== "GET") {
          throw new StsError("InvalidAction", `Method ${request.method} is not supported`);
        }
        const action = params.get("Action");
        let xmlBody: string;
        if (action === "AssumeRoleWithWebIdentity") {
          xmlBody = await assumeRoleWithWebIdentity(params);
        } else if (action === "AssumeRole" || action === "GetCallerIdentity") {
          const verdict = await verifySignedRequest(
            { method: request.method, url: request.url, headers: request.headers, body },
            "sts",
            credentials,
            clock.now(),
          );
          if (!verdict.ok) {
            log(`sts: ${action} refused: ${verdict.code}`);
            throw new StsError(verdict.code, verdict.message, 403);
          }
          xmlBody = action === "AssumeRole"
            ? assumeRole(params, verdict.credentials)
            : callerIdentity(verdict.credentials.principal);
        } else {
          throw new StsError(
            "InvalidAction",
            `Could not find operation ${action ?? "(none)"} for version ${
              params.get("Version") ?? "(none)"
            }`,
          );
        }
        return new Response(xmlBody.replace("{requestId}", requestId), {
          headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        });
      } catch (error) {
        const e = error instanceof StsError
          ? error
          : new StsError("InternalFailure", "The request processing has failed", 500);
        if (!(error instanceof StsError)) log(`sts: internal error: ${(error as Error).message}`);
        return new Response(
          `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${
            e.status >= 500 ? "Receiver" : "Sender"
          }</Type><Code>${xml(e.code)}</Code><Message>${
            xml(e.message)
          }</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
          {
            status: e.status,
            headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
          },
        );
      }
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    async close(): Promise<void> {
      await server.shutdown();
    },
  };
}

function roleRequest(params: URLSearchParams, config: ResolvedConfig) {
  const roleArn = required(params, "RoleArn");
  const sessionName = required(params, "RoleSessionName");
  if (!SESSION_NAME.test(sessionName)) {
    throw new StsError(
      "ValidationError",
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length 2 to 64`,
    );
  }
  const role = config.roles.get(roleArn);
  const durationText = params.get("DurationSeconds");
  const duration = durationText === null ? 3600 : Number(durationText);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
    throw new StsError(
      "ValidationError",
      `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
    );
  }
  if (role !== undefined && duration > role.maxSessionDuration) {
    throw new StsError(
      "ValidationError",
      `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  }
  return { role, roleArn, sessionName, duration };
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === "") {
    const member = name[0]!.toLowerCase() + name.slice(1);
    throw new StsError(
      "ValidationError",
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function webIdentityDenied(): StsError {
  return new StsError(
    "AccessDenied",
    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    403,
  );
}

async function discoverJwks(provider: ResolvedOidcProvider): Promise<string> {
  const response = await fetch(
    `${provider.url.replace(/\/+$/, "")}/.well-known/openid-configuration`,
    {
      signal: AbortSignal.timeout(5000),
    },
  );
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`discovery answered HTTP ${response.status}`);
  }
  const document = await response.json() as { jwks_uri?: unknown };
  if (typeof document.jwks_uri !== "string") throw new Error("discovery has no jwks_uri");
  return document.jwks_uri;
}

function response(action: string, result: string): string {
  return `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>{requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

function credentialsXml(issued: StoredCredentials): string {
  return `<Credentials><AccessKeyId>${xml(issued.accessKeyId)}</AccessKeyId>` +
    `<SecretAccessKey>${xml(issued.secretAccessKey)}</SecretAccessKey>` +
    `<SessionToken>${xml(issued.sessionToken ?? "")}</SessionToken>` +
    `<Expiration>${rfc3339(issued.expiration ?? 0)}</Expiration></Credentials>`;
}

function assumedRoleXml(role: ResolvedRole, sessionName: string): string {
  return `<AssumedRoleUser><AssumedRoleId>${role.roleId}:${xml(sessionName)}</AssumedRoleId>` +
    `<Arn>${xml(role.arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/"))}/${
      xml(sessionName)
    }</Arn></AssumedRoleUser>`;
}

function callerIdentity(principal: Principal): string {
  return response(
    "GetCallerIdentity",
    `<Arn>${xml(principal.arn)}</Arn><UserId>${xml(principal.arn.split("/").slice(1).join(":"))}` +
      `</UserId><Account>${principal.accountId}</Account>`,
  );
}

/** RFC 3339 without fractional seconds, as STS writes `Expiration`. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
