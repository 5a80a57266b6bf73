/**
 * NOT SHIPPED: the IAM auth token presigned directly with WebCrypto, without
 * `aws4fetch`. The module signs through `aws4fetch` by design (see
 * `../../../shared/DESIGN.md`, "Dependencies"); this signer exists only so the
 * benchmark can put a number on that choice (bench/README.md, "The aws4fetch
 * trade-off"): a cold-start variant and a mint-cost row.
 *
 * What it avoids: `aws4fetch`'s `AwsV4Signer` constructor builds a `Headers`
 * object, and on Node.js 20 the first `Headers` loads undici (about 20–28 ms
 * of a cold start; under 1 ms on Deno). Each signer also hashes the empty
 * payload and builds the canonical request generically. Here the canonical
 * request is a template, and the derived signing key (an imported
 * `CryptoKey`) is cached per secret, date, region and service, so a mint is
 * one `digest` and one `sign`.
 *
 * The output is byte-for-byte `createAuthToken`'s (the mint-cost program
 * checks this on every run; `createAuthToken` is itself checked against the
 * botocore vectors in `../shared/vectors/auth_tokens.json`).
 *
 * @module
 */

const encoder = new TextEncoder();
/** SHA-256 of the empty payload. */
const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** What a token is signed for and with (already validated and lowercased). */
export interface PresignInput {
  cacheName: string;
  userId: string;
  region: string;
  service: "elasticache" | "memorydb";
  serverless: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiresIn: number;
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
}

/** botocore's parameter order; the signature comes last. */
const TOKEN_ORDER = [
  "Action",
  "User",
  "ResourceType",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
];

/** Imported signing keys by `secret, date, region, service` (a handful per process). */
const signingKeys = new Map<string, Promise<CryptoKey>>();

function hex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

async function hmac(key: BufferSource, data: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data));
}

function signingKey(
  secret: string,
  date: string,
  region: string,
  service: string,
): Promise<CryptoKey> {
  const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(cacheKey);
  if (key === undefined) {
    key = (async () => {
      const kDate = await hmac(encoder.encode(`AWS4${secret}`), date);
      const kRegion = await hmac(kDate, region);
      const kService = await hmac(kRegion, service);
      const kSigning = await hmac(kService, "aws4_request");
      return await crypto.subtle.importKey(
        "raw",
        kSigning,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
    })();
    key.catch(() => signingKeys.delete(cacheKey));
    if (signingKeys.size > 16) signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** RFC 3986 encoding, as SigV4 signs and as the token carries it. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Presigns `GET https://<cacheName>/?Action=connect&User=<userId>` and strips the scheme.
 *
 * @param input The validated target, credentials, lifetime and time.
 * @returns The token, parameters in botocore's order, signature last.
 */
export async function presignToken(input: PresignInput): Promise<string> {
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  // In canonical (code point) order, which is also botocore's order but for the signature.
  const pairs: [string, string][] = [["Action", "connect"]];
  if (input.serverless) pairs.push(["ResourceType", "ServerlessCache"]);
  pairs.push(
    ["User", input.userId],
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${input.accessKeyId}/${scope}`],
    ["X-Amz-Date", input.amzDate],
    ["X-Amz-Expires", String(input.expiresIn)],
  );
  if (input.sessionToken) pairs.push(["X-Amz-Security-Token", input.sessionToken]);
  pairs.push(["X-Amz-SignedHeaders", "host"]);
  const query = pairs.map(([name, value]) => `${name}=${encode(value)}`).join("&");
  const canonicalRequest =
    `GET\n/\n${query}\nhost:${input.cacheName}\n\nhost\n${EMPTY_PAYLOAD_SHA256}`;
  const [digest, key] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(canonicalRequest)),
    signingKey(input.secretAccessKey, date, input.region, input.service),
  ]);
  const stringToSign = `AWS4-HMAC-SHA256\n${input.amzDate}\n${scope}\n${hex(digest)}`;
  const signature = hex(await crypto.subtle.sign("HMAC", key, encoder.encode(stringToSign)));
  // The token in botocore's order (as createAuthToken writes it); the server takes any order.
  const byName = new Map(pairs);
  let token = `${input.cacheName}/?`;
  for (const name of TOKEN_ORDER) {
    const value = byName.get(name);
    if (value !== undefined) token += `${name}=${encode(value)}&`;
  }
  return `${token}X-Amz-Signature=${signature}`;
}

/**
 * `20261123T120000Z` from a date.
 *
 * @param date The signing time.
 * @returns The SigV4 timestamp.
 */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, "");
}
