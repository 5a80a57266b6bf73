/**
 * The emulator configuration the token verifier and gateway fuzz run
 * against, its fixed keys, and valid `AUTH` attempts for each kind of cache
 * and key, signed by the module's own `createAuthToken`.
 *
 * @module
 */

import type { EmulatorConfig } from "@elasticache-iam/emulator";
import { createAuthToken } from "../../src/token.ts";
import type { AuthAttempt } from "./_token_mutator.ts";

/** The signing time of every fixed token. */
export const SIGNED_AT = Date.UTC(2026, 10, 23, 12, 0, 0);
/** The tokens' lifetime. */
export const EXPIRES_IN = 900;
/** The emulator's tolerated forward clock skew. */
export const MAX_SKEW_MS = 300_000;

/** A long-term key. */
export const LONG_TERM = {
  accessKeyId: "AKIAFUZZLONGTERM0001",
  secretAccessKey: "fuzz/LongTerm+Secret/Key0123456789abcdEF",
};
/** Temporary keys that never expire. */
export const TEMPORARY = {
  accessKeyId: "ASIAFUZZTEMPORARY001",
  secretAccessKey: "fuzz/Temporary+Secret/Key0123456789abcdE",
  sessionToken: "FwoGZXIvYXdzEFUZZ//////////wEaDFuzzSessionToken+/=Temporary0123456789==",
};
/** Temporary keys that expire ten minutes after the signing time. */
export const EXPIRING = {
  accessKeyId: "ASIAFUZZEXPIRING0001",
  secretAccessKey: "fuzz/Expiring+Secret/Key0123456789abcdefG",
  sessionToken: "FwoGZXIvYXdzEFUZZ//////////wEaDFuzzSessionToken+/=Expiring01234567890==",
};
/** When the expiring keys expire. */
export const EXPIRING_AT = SIGNED_AT + 10 * 60_000;

/** Caches of the three kinds, a full user, a restricted one and a disabled one. */
export const FUZZ_CONFIG: EmulatorConfig = {
  caches: [
    { replicationGroupId: "replication-group-01" },
    { serverlessCacheName: "my-serverless" },
    { memoryDbClusterName: "my-cluster" },
  ],
  users: [
    { userId: "iam-user-01", accessString: "on ~* +@all" },
    // MULTI is allowed, so an AUTH inside MULTI is tried: a refused MULTI opens no transaction.
    {
      userId: "reader",
      accessString: "on ~app:* -@all +get +ping +acl|whoami +multi +exec +discard",
    },
    { userId: "disabled-user", accessString: "off ~* +@all" },
  ],
  iamUsers: [{
    userName: "developer",
    accessKeys: [LONG_TERM],
    temporaryCredentials: [TEMPORARY, { ...EXPIRING, expiration: new Date(EXPIRING_AT) }],
    policies: [{
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Action: ["elasticache:Connect", "memorydb:Connect"],
        Resource: "*",
      }],
    }],
  }],
  maxClockSkewSeconds: MAX_SKEW_MS / 1000,
};

/** A valid attempt and the window in which it is valid. */
export interface ValidAttempt extends AuthAttempt {
  /** The last instant the keys are valid (exclusive), or Infinity. */
  keysExpireAt: number;
}

/**
 * Signs one valid attempt per cache kind, key kind and user.
 *
 * @param signedAt The signing time.
 * @returns The attempts.
 */
export async function validAttempts(signedAt = SIGNED_AT): Promise<ValidAttempt[]> {
  const attempts: ValidAttempt[] = [];
  const targets = [
    { replicationGroupId: "replication-group-01" },
    { serverlessCacheName: "my-serverless" },
    { memoryDbClusterName: "my-cluster" },
  ] as const;
  const keys = [
    [LONG_TERM, Infinity],
    [TEMPORARY, Infinity],
    [EXPIRING, EXPIRING_AT],
  ] as const;
  for (const target of targets) {
    for (const [credentials, keysExpireAt] of keys) {
      for (const user of ["iam-user-01", "reader"]) {
        const token = await createAuthToken({
          ...target,
          userId: user,
          region: "us-east-1",
          credentials,
          expiresIn: EXPIRES_IN,
          signingDate: new Date(signedAt),
        });
        attempts.push({ user, token, how: [], keysExpireAt });
      }
    }
  }
  return attempts;
}

/**
 * Whether a valid attempt's token and keys are valid at `now`.
 *
 * @param attempt The attempt.
 * @param now The time.
 * @param signedAt Its signing time.
 * @returns True when the emulator must accept it (and may accept an equivalent one).
 */
export function validAt(attempt: ValidAttempt, now: number, signedAt = SIGNED_AT): boolean {
  return now >= signedAt - MAX_SKEW_MS && now <= signedAt + EXPIRES_IN * 1000 &&
    now < attempt.keysExpireAt;
}
