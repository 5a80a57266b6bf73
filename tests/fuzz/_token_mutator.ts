/**
 * Mutations of IAM auth tokens and `AUTH` user names for the verifier and
 * gateway fuzz, and the oracle that says which mutated tokens are still the
 * same signed request (and so may be accepted): everything else must be
 * refused.
 *
 * The oracle is deliberately independent of the emulator's parser: a token
 * is equivalent to the original when, split at its first `/?`, it has the
 * same host and, split on `&` and `=` and percent-decoded, the same
 * parameters with the same values, in any order, and nothing else.
 *
 * @module
 */

import type { Prng } from "./_prng.ts";

/** A token and the user name sent with it. */
export interface AuthAttempt {
  user: string;
  token: string;
  /** Which mutations made it, for failure messages. */
  how: string[];
}

/** The parameters of a token, decoded and sorted, or `undefined` when it does not parse. */
export function canonicalParameters(token: string): string | undefined {
  // deno-lint-ignore no-control-regex
  if (/[\s#\x00-\x1f\x7f]/.test(token)) return undefined;
  const split = token.indexOf("/?");
  if (split <= 0) return undefined;
  const host = token.slice(0, split);
  if (/[/?]/.test(host)) return undefined;
  const pairs: string[] = [];
  for (const pair of token.slice(split + 2).split("&")) {
    const equals = pair.indexOf("=");
    if (equals <= 0) return undefined;
    try {
      pairs.push(
        JSON.stringify([
          decodeURIComponent(pair.slice(0, equals)),
          decodeURIComponent(pair.slice(equals + 1)),
        ]),
      );
    } catch {
      return undefined;
    }
  }
  return `${host}\n${pairs.sort().join("\n")}`;
}

/**
 * Whether a mutated attempt is the same signed request as the original.
 *
 * @param original The valid attempt.
 * @param attempt The mutated one.
 * @returns True when it may be accepted.
 */
export function equivalent(original: AuthAttempt, attempt: AuthAttempt): boolean {
  if (attempt.user !== original.user) return false;
  const canonical = canonicalParameters(attempt.token);
  return canonical !== undefined && canonical === canonicalParameters(original.token);
}

const NASTY = [
  "",
  " ",
  "%",
  "%0",
  "%ZZ",
  "%00",
  "%2F",
  "%2f",
  "%E9",
  "%C3%A9",
  "&",
  "&&",
  "=",
  "==",
  "/",
  "?",
  "/?",
  "#",
  "\t",
  "\r\n",
  "\0",
  "\uFEFF",
  "\uFFFD",
  "é",
  "🎉",
  "\u202e",
  "\\",
  "'",
  '"',
  "../",
  "https://",
  "+",
  "*",
  "%20",
];

const PARAMETERS = [
  "Action",
  "User",
  "ResourceType",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
];

/** Values to put into a parameter: near misses of what each parameter holds, and junk. */
function valueFor(rng: Prng, name: string, current: string): string {
  const generic = [
    "",
    current + rng.pick(NASTY),
    rng.pick(NASTY) + current,
    current.toUpperCase(),
    current.toLowerCase(),
    current.slice(0, -1),
    current.slice(1),
    "x".repeat(rng.pick([1, 100, 5000, 70_000])),
    current.repeat(2),
  ];
  const specific: Record<string, string[]> = {
    Action: ["connect ", "Connect", "CONNECT", "connect%00", "AssumeRole"],
    User: ["iam-user-01", "IAM-USER-01", "default", "reader", "iam-user-01 ", "iam-user-0"],
    ResourceType: ["ServerlessCache", "serverlesscache", "ReplicationGroup"],
    "X-Amz-Algorithm": [
      "AWS4-HMAC-SHA256",
      "AWS4-HMAC-SHA1",
      "aws4-hmac-sha256",
      "AWS4-ECDSA-P256-SHA256",
    ],
    "X-Amz-Expires": [
      "0",
      "1",
      "900",
      "901",
      "-1",
      "1e3",
      "0900",
      "9999999",
      "900.0",
      " 900",
      "NaN",
    ],
    "X-Amz-SignedHeaders": ["host", "Host", "host;x-amz-date", "", "content-type;host"],
    "X-Amz-Date": [
      current.replace(/\d(?=Z$)/, (d) => String((Number(d) + 1) % 10)),
      "20261323T120000Z",
      "20260230T120000Z",
      "20261123T246000Z",
      "20261123T120000",
      "2026-11-23T12:00:00Z",
      "99991231T235959Z",
      "19700101T000000Z",
    ],
    "X-Amz-Credential": [
      current.replace("/aws4_request", "/aws4_requesT"),
      current.replace("us-east-1", "us-west-2"),
      current.replace("elasticache", "memorydb"),
      current.replace("memorydb", "elasticache"),
      current.replace(/\/\d{8}\//, "/20000101/"),
      current.replace(/^[^/]+/, "AKIAUNKNOWNKEY000000"),
      current + "/extra",
      current.split("/").slice(1).join("/"),
    ],
    "X-Amz-Signature": [
      current.replace(/.$/, (c) => (c === "0" ? "1" : "0")),
      current.toUpperCase(),
      current.slice(0, 63),
      current + "0",
      "0".repeat(64),
    ],
    "X-Amz-Security-Token": [
      current.replace(/.$/, (c) => (c === "A" ? "B" : "A")),
      current.slice(0, -4),
      "IQoJb3JpZ2luX2VjEMULATOR",
    ],
  };
  return rng.pick(rng.chance(0.6) && specific[name] ? specific[name]! : generic);
}

function encode(value: string): string {
  return encodeURIComponent(value.toWellFormed()).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Mutates a valid attempt one to three times.
 *
 * @param rng The case's generator.
 * @param valid The valid attempt.
 * @returns The mutated attempt.
 */
export function mutateAttempt(rng: Prng, valid: AuthAttempt): AuthAttempt {
  let { user, token } = valid;
  const how: string[] = [];
  const rounds = rng.range(1, 3);
  for (let r = 0; r < rounds; r++) {
    const split = token.indexOf("/?");
    const host = split === -1 ? token : token.slice(0, split);
    const query = split === -1 ? "" : token.slice(split + 2);
    const pairs = query === "" ? [] : query.split("&");
    const kind = rng.int(16);
    switch (kind) {
      case 0: { // change one parameter's value, encoded as a signer would
        if (pairs.length === 0) break;
        const i = rng.int(pairs.length);
        const [name = "", value = ""] = pairs[i]!.split("=");
        pairs[i] = `${name}=${encode(valueFor(rng, decoded(name), decoded(value)))}`;
        how.push(`value of ${name}`);
        break;
      }
      case 1: { // drop a parameter
        if (pairs.length === 0) break;
        how.push(`drop ${pairs.splice(rng.int(pairs.length), 1)[0]!.split("=")[0]}`);
        break;
      }
      case 2: { // repeat a parameter, same or other value
        if (pairs.length === 0) break;
        const pair = rng.pick(pairs);
        const [name = ""] = pair.split("=");
        pairs.splice(rng.int(pairs.length + 1), 0, rng.chance(0.5) ? pair : `${name}=x`);
        how.push(`repeat ${name}`);
        break;
      }
      case 3: { // rename a parameter
        if (pairs.length === 0) break;
        const i = rng.int(pairs.length);
        const [name = "", ...rest] = pairs[i]!.split("=");
        const renamed = rng.pick([
          name.toLowerCase(),
          name.toUpperCase(),
          `${name} `,
          `${name}%00`,
          rng.pick(PARAMETERS),
          `x-${name}`,
          "",
        ]);
        pairs[i] = [renamed, ...rest].join("=");
        how.push(`rename ${name}`);
        break;
      }
      case 4: { // add a parameter
        pairs.splice(
          rng.int(pairs.length + 1),
          0,
          `${rng.pick([...PARAMETERS, "Foo", "X-Amz-Foo", ""])}=${encode(rng.pick(NASTY))}`,
        );
        how.push("add");
        break;
      }
      case 5: // equivalent: reorder
        for (let i = pairs.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
        }
        how.push("reorder");
        break;
      case 6: // equivalent: lowercase percent-encoding, or encode an unreserved character
        if (rng.chance(0.5)) {
          token = token.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
          how.push("lowercase hex");
        } else {
          token = token.replace(
            /=([A-Za-z])/,
            (_, c: string) => `=%${c.charCodeAt(0).toString(16)}`,
          );
          how.push("encode a letter");
        }
        continue;
      case 7: { // the host
        const hosts = [
          host.toUpperCase(),
          `${host}.cache.amazonaws.com`,
          `${host}-x`,
          host.slice(0, -1),
          `https://${host}`,
          `${host}:6379`,
          "",
          "replication-group-01",
          "my-serverless",
          "my-cluster",
        ];
        token = `${rng.pick(hosts)}/?${pairs.join("&")}`;
        how.push("host");
        continue;
      }
      case 8: { // the separator and the scheme
        const forms = [
          `${host}?${pairs.join("&")}`,
          `${host}//?${pairs.join("&")}`,
          `${host}/?&${pairs.join("&")}`,
          `${host}/?${pairs.join("&")}&`,
          `https://${host}/?${pairs.join("&")}`,
          `${host}/?${pairs.join("&&")}`,
          `${host}/?${pairs.join(";")}`,
          `${host}/?${pairs.join("&")}#frag`,
        ];
        token = rng.pick(forms);
        how.push("shape");
        continue;
      }
      case 9: { // a character changed, inserted or deleted anywhere
        const at = rng.int(token.length + 1);
        const ch = rng.chance(0.5) ? rng.pick(NASTY) : String.fromCharCode(rng.range(0x20, 0x7e));
        const remove = rng.int(2);
        token = token.slice(0, at) + ch + token.slice(at + remove);
        how.push(`char at ${at}`);
        continue;
      }
      case 10: // truncation
        token = token.slice(0, rng.int(token.length));
        how.push("truncate");
        continue;
      case 11: // the user name sent with AUTH
        user = rng.pick([
          "",
          user.toUpperCase(),
          `${user} `,
          `\uFEFF${user}`,
          `${user}\0`,
          "default",
          "reader",
          "iam-user-01",
          "emulator-admin",
          "x".repeat(rng.pick([1, 70_000])),
        ]);
        how.push("user");
        continue;
      case 12: { // the User parameter and the AUTH user name together
        const other = rng.pick(["reader", "iam-user-01", "default", "nobody", "IAM-USER-01"]);
        user = other;
        for (let i = 0; i < pairs.length; i++) {
          if (pairs[i]!.startsWith("User=")) pairs[i] = `User=${encode(other)}`;
        }
        how.push(`user and User ${other}`);
        break;
      }
      case 13: // double encoding, as a client that encodes the token again
        token = encode(token);
        how.push("double-encoded");
        continue;
      case 14: // a scheme-stripped token wrapped in junk
        token = rng.pick([` ${token}`, `${token} `, `\uFEFF${token}`, `"${token}"`, `${token}\0`]);
        how.push("wrapped");
        continue;
      default: // oversized
        token = token + "&" + "A".repeat(rng.pick([1000, 70_000, 300_000]));
        how.push("oversized");
        continue;
    }
    token = `${host}/?${pairs.join("&")}`;
  }
  return { user, token, how };
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Tokens that are not tokens at all. */
export function garbageAttempt(rng: Prng): AuthAttempt {
  const length = rng.size(600);
  let token = "";
  for (let i = 0; i < length; i++) {
    token += rng.chance(0.8) ? String.fromCharCode(rng.range(0x20, 0x7e)) : rng.pick(NASTY);
  }
  return {
    user: rng.pick(["iam-user-01", "reader", "", "default"]),
    token: rng.pick([token, "", "a/?", "/?", `replication-group-01/?${token}`]),
    how: ["garbage"],
  };
}
