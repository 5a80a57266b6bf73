/**
 * Recognising and explaining a server's refusal of credentials: `WRONGPASS`
 * (a bad token or user) and `NOAUTH`, whether it arrives as this module's
 * `ReplyError` or inside node-redis's and ioredis's own errors.
 *
 * @module
 */

import { AuthenticationError, ReplyError } from "../errors.ts";

const REFUSAL = /\b(WRONGPASS|NOAUTH)\b/;

/**
 * Whether an error is the server refusing the credentials.
 *
 * @param error Any error: a `ReplyError`, or another client's error whose message quotes the reply.
 * @returns `true` for `WRONGPASS` and `NOAUTH`.
 *
 * @example
 * ```ts
 * import { isRefusal } from "./refusal.ts";
 * import { ReplyError } from "../errors.ts";
 *
 * console.log(isRefusal(new ReplyError("WRONGPASS invalid username-password pair or user is disabled."))); // true
 * console.log(isRefusal(new Error("Connection is closed."))); // false
 * ```
 */
export function isRefusal(error: unknown): boolean {
  if (error instanceof ReplyError) return error.code === "WRONGPASS" || error.code === "NOAUTH";
  return error instanceof Error && REFUSAL.test(error.message);
}

/**
 * The server's reply inside a refusal, as a `ReplyError`: another client's
 * error message ("Re-authentication … failed: WRONGPASS …") is cut to the reply.
 *
 * @param error A refusal (see {@linkcode isRefusal}).
 * @returns The reply.
 *
 * @example
 * ```ts
 * import { refusalReply } from "./refusal.ts";
 *
 * const reply = refusalReply(new Error("Re-authentication failed: WRONGPASS invalid username-password pair"));
 * console.log(reply.code); // "WRONGPASS"
 * ```
 */
export function refusalReply(error: Error): ReplyError {
  if (error instanceof ReplyError) return error;
  const start = error.message.search(REFUSAL);
  return new ReplyError(start === -1 ? error.message : error.message.slice(start), {
    cause: error,
  });
}

/**
 * The error for credentials the server still refused, listing the likely
 * causes. It names the user and the server, never the token.
 *
 * @param label `host:port`.
 * @param username The user that was refused.
 * @param reply The server's `WRONGPASS` reply.
 * @param iam Whether the password was an IAM token from a provider (and was re-minted once).
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { authenticationError } from "./refusal.ts";
 * import { ReplyError } from "../errors.ts";
 *
 * const reply = new ReplyError("WRONGPASS invalid username-password pair or user is disabled.");
 * const error = authenticationError("127.0.0.1:6379", "iam-user-01", reply, true);
 * console.log(error.name, error.message.includes("Likely causes")); // "AuthenticationError" true
 * ```
 */
export function authenticationError(
  label: string,
  username: string | undefined,
  reply: ReplyError,
  iam: boolean,
): AuthenticationError {
  const user = username ?? "default";
  if (!iam) {
    return new AuthenticationError(
      `Cannot authenticate to '${label}' as '${user}': ${reply.message} Check the user name and password.`,
      { cause: reply },
    );
  }
  return new AuthenticationError(
    `Cannot authenticate to '${label}' as '${user}': the server refused the IAM auth token, also after minting a fresh one (${reply.message}). Likely causes: the AWS credentials expired or were revoked; the clock is skewed; the cache name is wrong or not lowercase (the replication group, serverless cache or MemoryDB cluster name, not the endpoint host); a serverless cache needs serverlessCacheName (ResourceType=ServerlessCache); the user id is wrong, not IAM-enabled, or not in the cache's user group; the IAM policy lacks elasticache:Connect on both the cache ARN and the user ARN.`,
    { cause: reply },
  );
}
