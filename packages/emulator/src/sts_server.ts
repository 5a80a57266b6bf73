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
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { describe } from "@elasticache-iam/connector/internal";
import type { EmulatorClock } from "./clock.ts";
import type {
  Jwk,
  Principal,
  ResolvedConfig,
  ResolvedOidcProvider,
  ResolvedRole,
} from "./config.ts";
import {
  assumedRolePrincipal,
  type CredentialStore,
  type StoredCredentials,
} from "./credential_store.ts";
import { evaluatePolicies } from "./iam_policy.ts";
import { verifySignedRequest } from "./signed_request_verifier.ts";

/** The STS endpoint, as `startEmulator` exposes it. */
export interface StsEndpoint {
  /**
   * The endpoint URL, `http://127.0.0.1:<port>` (`https://` when started with
   * TLS material): pass it as the SDK's STS endpoint.
   */
  readonly endpoint: string;
  /** With HTTPS (`sts: { tls: true }`): the PEM certificate of the CA to trust. */
  readonly caCertPem?: string;
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
  /**
   * The TLS certificate chain and key (PEM), as `createTlsMaterial()` makes
   * them: the STS then serves HTTPS only (the Rust AWS SDK refuses `http://`
   * STS endpoints). @default plain HTTP
   */
  tls?: { cert: string; key: string };
  /**
   * How long fetching an OIDC provider's discovery document and keys may
   * take, in ms, before STS answers `IDPCommunicationError`.
   *
   * @default {5000}
   */
  idpTimeoutMs?: number;
}

const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;
/**
 * The largest request body the STS reads, in bytes. Real STS requests stay far
 * below it: the API caps `WebIdentityToken` at 20,000 characters and a session
 * `Policy` at 2,048, so the largest `AssumeRoleWithWebIdentity` form is under
 * 30 KiB. A longer body is answered `RequestEntityTooLargeException` (HTTP 413,
 * AWS's common error) after reading at most this much and one more chunk.
 */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;
/** The largest discovery document or JWKS read from an OIDC provider, in bytes. */
const MAX_IDP_DOCUMENT_BYTES = 256 * 1024;
/** How long a provider's fetched keys are used before they are fetched again, in ms. */
const REMOTE_KEYS_MAX_AGE_MS = 10 * 60_000;
/** How soon keys may be fetched again for a token signed by a key they lack, in ms. */
const REMOTE_KEYS_COOLDOWN_MS = 30_000;

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
  const idpTimeoutMs = options.idpTimeoutMs ?? 5000;
  const keySets = new Map<string, JWTVerifyGetKey>();
  /** Fetched keys by provider URL: one fetch shared by concurrent requests, failures not kept. */
  const remoteKeySets = new Map<string, { keySet: Promise<JWTVerifyGetKey>; at: number }>();
  const keySetOf = (
    provider: ResolvedOidcProvider,
    refresh = false,
  ): Promise<JWTVerifyGetKey> | JWTVerifyGetKey => {
    if (provider.own || provider.jwks) {
      let keySet = keySets.get(provider.url);
      if (keySet === undefined) {
        keySet = createLocalJWKSet((provider.jwks ?? options.ownJwks) as JSONWebKeySet);
        keySets.set(provider.url, keySet);
      }
      return keySet;
    }
    const now = performance.now();
    const cached = remoteKeySets.get(provider.url);
    if (
      cached !== undefined && now - cached.at < REMOTE_KEYS_MAX_AGE_MS &&
      !(refresh && now - cached.at >= REMOTE_KEYS_COOLDOWN_MS)
    ) {
      return cached.keySet;
    }
    const entry = {
      keySet: fetchProviderKeys(provider, idpTimeoutMs).then((jwks) => createLocalJWKSet(jwks)),
      at: now,
    };
    remoteKeySets.set(provider.url, entry);
    entry.keySet.catch(() => {
      if (remoteKeySets.get(provider.url) === entry) remoteKeySets.delete(provider.url);
    });
    return entry.keySet;
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
    const keys = async (refresh?: boolean): Promise<JWTVerifyGetKey> => {
      try {
        return await keySetOf(provider, refresh);
      } catch (error) {
        const reason = (error as Error).message;
        log(`sts: the keys of OIDC provider ${provider.name} could not be fetched: ${reason}`);
        throw new StsError(
          "IDPCommunicationError",
          `Couldn't retrieve verification key from your identity provider (${reason})`,
        );
      }
    };
    const now = clock.now();
    const verify = async (keySet: JWTVerifyGetKey) =>
      await jwtVerify(token, keySet, {
        issuer: provider.url,
        currentDate: new Date(now),
        algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"],
      });
    try {
      try {
        await verify(await keys());
      } catch (error) {
        // A provider that rotated its keys: fetch them again (at most every 30 s) and retry once.
        const fetched = !provider.own && !provider.jwks;
        if (!fetched || (error as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") {
          throw error;
        }
        await verify(await keys(true));
      }
    } catch (error) {
      if (error instanceof StsError) throw error;
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") {
        throw new StsError(
          "ExpiredTokenException",
          `Token expired: current date/time ${
            Math.floor(now / 1000)
          } must be before the expiration date/time ${claims.exp}`,
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
        `sts: AssumeRoleWithWebIdentity of ${role.arn} refused for sub ${
          describe(subject)
        } of ${provider.name}: trust policy ${decision}`,
      );
      throw webIdentityDenied();
    }
    const issued = issue(role, sessionName, duration);
    log(
      `sts: AssumeRoleWithWebIdentity issued ${issued.accessKeyId} for ${role.arn} session ${
        describe(sessionName)
      } (sub ${describe(subject)}, ${duration} s)`,
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
    // Role chaining (a role session assuming a role) is capped at one hour, as on AWS.
    if (principal.kind === "assumed-role" && duration > 3600) {
      throw new StsError(
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      );
    }
    const externalId = params.get("ExternalId");
    if (externalId !== null && !EXTERNAL_ID.test(externalId)) {
      throw new StsError(
        "ValidationError",
        "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and have length 2 to 1224",
      );
    }
    // What a trust policy's conditions may test: `sts:ExternalId`, `aws:PrincipalArn`.
    const context: Record<string, string> = { "aws:PrincipalArn": principal.baseArn };
    if (externalId !== null) context["sts:ExternalId"] = externalId;
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
      context,
    });
    const viaAccount = evaluatePolicies([role.trustPolicy], {
      action: "sts:AssumeRole",
      principal: {
        type: "AWS",
        ids: [principal.accountId, `arn:${config.partition}:iam::${principal.accountId}:root`],
      },
      context,
    });
    const allowed = named === "allow" ||
      (named !== "explicit-deny" && viaAccount === "allow" && identity === "allow");
    if (!allowed) {
      log(
        `sts: AssumeRole of ${
          role?.arn ?? describe(roleArn)
        } refused for ${principal.arn}: trust ${named}/${viaAccount}, identity ${identity}`,
      );
      throw denied();
    }
    const issued = issue(role, sessionName, duration);
    log(
      `sts: AssumeRole issued ${issued.accessKeyId} for ${role.arn} session ${
        describe(sessionName)
      } (${duration} s)`,
    );
    return response("AssumeRole", credentialsXml(issued) + assumedRoleXml(role, sessionName));
  };

  const issue = (role: ResolvedRole, sessionName: string, duration: number) =>
    credentials.issue(
      assumedRolePrincipal(config, role, sessionName),
      clock.now() + duration * 1000,
    );

  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: options.port ?? 0,
      onListen: () => {},
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    },
    async (request) => {
      const requestId = crypto.randomUUID();
      try {
        const body = await readRequestBody(request, log);
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
        if (!(error instanceof StsError)) {
          log(`sts: internal error: ${describe((error as Error)?.message)}`);
        }
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
    endpoint: `${options.tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`,
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

/**
 * Reads a request's body, at most {@linkcode MAX_REQUEST_BODY_BYTES} of it.
 *
 * @throws {StsError} `RequestEntityTooLargeException` when it is longer.
 */
async function readRequestBody(
  request: Request,
  log: (line: string) => void,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new StsError(
      "RequestEntityTooLargeException",
      `The request entity is too large: the request body must be at most ${MAX_REQUEST_BODY_BYTES} bytes`,
      413,
    );
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_REQUEST_BODY_BYTES) {
    log(`sts: request refused: its Content-Length of ${declared} bytes is over the limit`);
    throw tooLarge();
  }
  const { bytes, read } = await readAtMost(request.body, MAX_REQUEST_BODY_BYTES);
  if (bytes === undefined) {
    log(
      `sts: request refused: its body is over the ${MAX_REQUEST_BODY_BYTES}-byte limit (read ${read} bytes)`,
    );
    throw tooLarge();
  }
  return bytes;
}

/**
 * Reads a stream up to a limit, chunk by chunk.
 *
 * Past the limit it stops and releases the stream without cancelling it: on
 * a request body, `Deno.serve` (Deno 2.9) answers a cancel by draining the
 * rest of the upload for as long as the client sends, while a body left
 * unread is back-pressured, its answer says `connection: close`, and it is
 * dropped with its connection.
 *
 * @param stream The stream, or `null` for none.
 * @param limit The most bytes to accept.
 * @returns The bytes, or `undefined` past the limit; and how many were read.
 */
async function readAtMost(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<{ bytes: Uint8Array | undefined; read: number }> {
  if (stream === null) return { bytes: new Uint8Array(0), read: 0 };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      if (read > limit) return { bytes: undefined, read };
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(read);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, read };
}

/**
 * Fetches a provider's keys from its `jwksUri`, or from the `jwks_uri` of
 * its discovery document, within one time bound.
 *
 * @throws {Error} Why they could not be fetched, in words safe to answer.
 */
async function fetchProviderKeys(
  provider: ResolvedOidcProvider,
  timeoutMs: number,
): Promise<JSONWebKeySet> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    let jwksUri = provider.jwksUri;
    if (jwksUri === undefined) {
      const discovery = await fetchJson(
        `${provider.url.replace(/\/+$/, "")}/.well-known/openid-configuration`,
        "discovery document",
        signal,
      ) as { jwks_uri?: unknown };
      if (typeof discovery?.jwks_uri !== "string") {
        throw new Error("the discovery document has no jwks_uri");
      }
      jwksUri = discovery.jwks_uri;
    }
    const jwks = await fetchJson(jwksUri, "JWKS", signal) as { keys?: unknown };
    if (!Array.isArray(jwks?.keys)) throw new Error("the JWKS has no keys list");
    return jwks as JSONWebKeySet;
  } catch (error) {
    if (signal.aborted) throw new Error(`no answer within ${timeoutMs} ms`, { cause: error });
    throw error;
  }
}

/** Fetches a JSON document of at most 256 KiB with a GET that must answer 200. */
async function fetchJson(url: string, what: string, signal: AbortSignal): Promise<unknown> {
  // fetch() also reads file: and data: URLs: a provider's documents come over HTTP(S) only.
  if (!/^https?:\/\//i.test(url)) throw new Error(`the ${what} URL is not an http(s) URL`);
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: "application/json" } });
  } catch (error) {
    throw new Error(`the ${what} could not be fetched`, { cause: error });
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`the ${what} request answered HTTP ${response.status}`);
  }
  const { bytes } = await readAtMost(response.body, MAX_IDP_DOCUMENT_BYTES);
  if (bytes === undefined) {
    await response.body?.cancel();
    throw new Error(`the ${what} is larger than ${MAX_IDP_DOCUMENT_BYTES} bytes`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`the ${what} is not JSON`, { cause: error });
  }
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
