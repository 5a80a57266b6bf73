/**
 * Verifies a SigV4 header-signed HTTP request (`Authorization:
 * AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`), as STS does
 * for `AssumeRole`: known key, session token, credential expiry, request time
 * within 15 minutes, and the recomputed signature. The payload hash in the
 * canonical request is always the hash of the body received; an
 * `x-amz-content-sha256` header must equal it (STS has no unsigned payloads).
 *
 * @module
 */

import type { CredentialStore, StoredCredentials } from "./credential_store.ts";
import {
  canonicalQuery,
  computeSignature,
  parseAmzDate,
  sha256Hex,
  SIGV4_ALGORITHM,
  timingSafeEqual,
} from "./sigv4.ts";

/** The parts of a request the signature covers. */
export interface SignedRequest {
  /** The HTTP method. */
  method: string;
  /** The full request URL. */
  url: string;
  /** The request headers. */
  headers: Headers;
  /** The raw body. */
  body: Uint8Array;
}

/** The outcome: the signer's keys, or an AWS error code and message. */
export type SignedRequestVerdict =
  | { ok: true; credentials: StoredCredentials }
  | { ok: false; code: string; message: string };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 15 * 60 * 1000;

/**
 * Verifies a signed request for one service.
 *
 * @param request The request's method, URL, headers and body.
 * @param service The service the signature must be scoped to, such as `sts`.
 * @param credentials The known keys.
 * @param now The emulator's time, in ms.
 * @returns The verdict.
 */
export async function verifySignedRequest(
  request: SignedRequest,
  service: string,
  credentials: CredentialStore,
  now: number,
): Promise<SignedRequestVerdict> {
  const authorization = request.headers.get("authorization");
  if (authorization === null) {
    return fail("MissingAuthenticationToken", "Request is missing Authentication Token");
  }
  const match = AUTHORIZATION.exec(authorization.trim());
  if (match === null) {
    return fail(
      "IncompleteSignature",
      `Authorization header requires '${SIGV4_ALGORITHM} Credential', 'SignedHeaders' and 'Signature'.`,
    );
  }
  const [, credential, signedHeaderList, signature] = match as unknown as [
    string,
    string,
    string,
    string,
  ];
  const scopeParts = credential.split("/");
  if (scopeParts.length !== 5 || scopeParts[4] !== "aws4_request") {
    return fail(
      "IncompleteSignature",
      "Credential must have exactly 5 slash-separated components.",
    );
  }
  const [accessKeyId, scopeDate, , scopeService] = scopeParts as [string, string, string, string];
  if (scopeService !== service) {
    return fail(
      "SignatureDoesNotMatch",
      `Credential should be scoped to correct service: '${service}'.`,
    );
  }
  const amzDate = request.headers.get("x-amz-date") ?? "";
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) {
    return fail("IncompleteSignature", "Request must contain a valid 'X-Amz-Date' header.");
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    return fail(
      "SignatureDoesNotMatch",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${
        amzDate.slice(0, 8)
      }'`,
    );
  }
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    return fail(
      "SignatureDoesNotMatch",
      `Signature expired: ${amzDate} is now earlier or later than the allowed 15 minutes from the emulator's time.`,
    );
  }
  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host")) {
    return fail("SignatureDoesNotMatch", "'Host' must be a signed header.");
  }
  const keys = credentials.get(accessKeyId);
  if (keys === undefined) {
    return fail("InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  const sessionToken = request.headers.get("x-amz-security-token");
  if (
    (keys.sessionToken === undefined) !== (sessionToken === null) ||
    (keys.sessionToken !== undefined && !timingSafeEqual(keys.sessionToken, sessionToken ?? ""))
  ) {
    return fail("InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  if (keys.expiration !== undefined && now >= keys.expiration) {
    return fail("ExpiredToken", "The security token included in the request is expired");
  }

  const url = new URL(request.url);
  const query: [string, string][] = [...url.searchParams];
  const canonicalHeaders = signedHeaders.map((name) => {
    const value = request.headers.get(name) ?? "";
    return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
  }).join("");
  const payloadHash = await sha256Hex(request.body);
  const declaredHash = request.headers.get("x-amz-content-sha256");
  if (declaredHash !== null && declaredHash !== payloadHash) {
    // STS checks the signature over the body it received: a body other than the one signed fails it.
    return fail(
      "SignatureDoesNotMatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const canonicalRequest = [
    request.method,
    url.pathname || "/",
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join("\n");
  const expected = await computeSignature(
    keys.secretAccessKey,
    amzDate,
    scopeParts.slice(1).join("/"),
    canonicalRequest,
  );
  if (!timingSafeEqual(expected, signature)) {
    return fail(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
    );
  }
  return { ok: true, credentials: keys };
}

function fail(code: string, message: string): SignedRequestVerdict {
  return { ok: false, code, message };
}
