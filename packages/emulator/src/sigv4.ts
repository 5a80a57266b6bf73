/**
 * The emulator's own AWS Signature Version 4 building blocks, written from
 * the SigV4 specification with WebCrypto and nothing else. The emulator is
 * the test oracle for the module's signer, so it deliberately shares no code
 * with it (or with `aws4fetch`).
 *
 * @module
 */

const encoder = new TextEncoder();

/** The only signing algorithm AWS accepts for SigV4. */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** `X-Amz-Date` / `x-amz-date`: `YYYYMMDDTHHMMSSZ`. */
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Hashes text or bytes with SHA-256.
 *
 * @param data The input; text is hashed as UTF-8.
 * @returns The digest as lowercase hex.
 */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

/**
 * Computes HMAC-SHA256.
 *
 * @param key The key bytes.
 * @param data The message, as UTF-8 text.
 * @returns The MAC.
 */
export async function hmacSha256(key: Uint8Array, data: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data)));
}

/**
 * Derives the SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
 *
 * @param secretAccessKey The secret access key.
 * @param date The scope date, `YYYYMMDD`.
 * @param region The scope region.
 * @param service The scope service.
 * @returns The signing key.
 */
export async function signingKey(
  secretAccessKey: string,
  date: string,
  region: string,
  service: string,
): Promise<Uint8Array> {
  let key = await hmacSha256(encoder.encode(`AWS4${secretAccessKey}`), date);
  key = await hmacSha256(key, region);
  key = await hmacSha256(key, service);
  return await hmacSha256(key, "aws4_request");
}

/**
 * Computes a SigV4 signature from its parts.
 *
 * @param secretAccessKey The secret access key.
 * @param amzDate The request time, `YYYYMMDDTHHMMSSZ`.
 * @param scope The credential scope, `date/region/service/aws4_request`.
 * @param canonicalRequest The canonical request text.
 * @returns The signature as lowercase hex.
 */
export async function computeSignature(
  secretAccessKey: string,
  amzDate: string,
  scope: string,
  canonicalRequest: string,
): Promise<string> {
  const [date = "", region = "", service = ""] = scope.split("/");
  const stringToSign = [SIGV4_ALGORITHM, amzDate, scope, await sha256Hex(canonicalRequest)].join(
    "\n",
  );
  const key = await signingKey(secretAccessKey, date, region, service);
  return toHex(await hmacSha256(key, stringToSign));
}

/**
 * Percent-encodes a string as SigV4's canonical form requires (RFC 3986):
 * every byte except `A-Z a-z 0-9 - _ . ~` becomes `%XX` with uppercase hex.
 *
 * @param value The decoded string.
 * @returns The encoded string.
 */
export function uriEncode(value: string): string {
  let out = "";
  for (const byte of encoder.encode(value)) {
    const unreserved = (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
      (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x5f || byte === 0x2e ||
      byte === 0x7e;
    out += unreserved
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Builds SigV4's canonical query string: names and values percent-encoded,
 * pairs sorted by name and then by value, joined with `&`.
 *
 * @param params The decoded query parameters.
 * @returns The canonical query string.
 */
export function canonicalQuery(params: readonly (readonly [string, string])[]): string {
  return params
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0)
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/**
 * Parses a SigV4 timestamp.
 *
 * @param amzDate The timestamp, `YYYYMMDDTHHMMSSZ`.
 * @returns Milliseconds since the epoch, or `undefined` when malformed or not a real date.
 */
export function parseAmzDate(amzDate: string): number | undefined {
  const match = AMZ_DATE.exec(amzDate);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d ||
    h > 23 || mi > 59 || s > 59
  ) {
    return undefined;
  }
  return ms;
}

/**
 * Formats a time as a SigV4 timestamp.
 *
 * @param ms Milliseconds since the epoch.
 * @returns The timestamp, `YYYYMMDDTHHMMSSZ`.
 */
export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * Compares two strings in time that depends only on their lengths.
 *
 * @param a One string.
 * @param b The other.
 * @returns Whether they are equal.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}
