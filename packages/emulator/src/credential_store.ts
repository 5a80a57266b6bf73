/**
 * Every AWS key the emulator knows: the IAM users' long-term keys, fixed
 * temporary credentials from the configuration, and the sessions its STS
 * issues. The gateway and the STS look keys up here.
 *
 * @module
 */

import type {
  Principal,
  ResolvedConfig,
  ResolvedRole,
  TemporaryCredentialsConfig,
} from "./config.ts";

/** A known set of AWS keys and who holds them. */
export interface StoredCredentials {
  /** The access key id. */
  readonly accessKeyId: string;
  /** The secret access key. */
  readonly secretAccessKey: string;
  /** The session token, for temporary credentials only. */
  readonly sessionToken?: string;
  /** When temporary credentials expire, in ms on the emulator clock. */
  readonly expiration?: number;
  /** The holder. */
  readonly principal: Principal;
}

/**
 * The emulator's in-memory key store.
 *
 * @example Issuing and finding a session
 * ```ts
 * import { CredentialStore } from "./credential_store.ts";
 *
 * const store = new CredentialStore();
 * const principal = {
 *   kind: "assumed-role" as const,
 *   arn: "arn:aws:sts::123456789012:assumed-role/app/s1",
 *   baseArn: "arn:aws:iam::123456789012:role/app",
 *   accountId: "123456789012",
 *   policies: [],
 * };
 * const issued = store.issue(principal, Date.now() + 3_600_000);
 * console.log(issued.accessKeyId.startsWith("ASIA"), store.get(issued.accessKeyId) === issued); // true true
 * ```
 */
export class CredentialStore {
  readonly #byKeyId = new Map<string, StoredCredentials>();

  /**
   * Creates the store, loaded with a configuration's keys when one is given.
   *
   * @param config The resolved configuration.
   * @throws {TypeError} If an access key id is configured twice.
   */
  constructor(config?: ResolvedConfig) {
    if (config === undefined) return;
    for (const user of config.iamUsers) {
      const principal: Principal = {
        kind: "user",
        arn: user.arn,
        baseArn: user.arn,
        accountId: config.accountId,
        policies: user.policies,
      };
      for (const key of user.accessKeys) {
        this.#add({
          accessKeyId: key.accessKeyId,
          secretAccessKey: key.secretAccessKey,
          principal,
        });
      }
      for (const temporary of user.temporaryCredentials) this.#addTemporary(temporary, principal);
    }
    for (const role of config.roles.values()) {
      for (const temporary of role.temporaryCredentials) {
        this.#addTemporary(temporary, {
          kind: "assumed-role",
          arn:
            `arn:${config.partition}:sts::${config.accountId}:assumed-role/${role.roleName}/emulator`,
          baseArn: role.arn,
          accountId: config.accountId,
          policies: role.policies,
        });
      }
    }
  }

  /**
   * Looks up keys by access key id.
   *
   * @param accessKeyId The access key id.
   * @returns The keys and their holder, or `undefined` when unknown.
   */
  get(accessKeyId: string): StoredCredentials | undefined {
    return this.#byKeyId.get(accessKeyId);
  }

  /**
   * Issues new temporary credentials (`ASIA…`, secret, session token).
   *
   * @param principal Who they are for.
   * @param expiration When they expire, in ms on the emulator clock.
   * @returns The credentials, now known to the store.
   */
  issue(principal: Principal, expiration: number): StoredCredentials {
    const issued: StoredCredentials = {
      accessKeyId: `ASIA${randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`,
      secretAccessKey: randomString(
        40,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
      ),
      sessionToken: `IQoJb3JpZ2luX2VjEMULATOR${randomBase64(180)}`,
      expiration,
      principal,
    };
    this.#add(issued);
    return issued;
  }

  #addTemporary(temporary: TemporaryCredentialsConfig, principal: Principal): void {
    this.#add({
      accessKeyId: temporary.accessKeyId,
      secretAccessKey: temporary.secretAccessKey,
      sessionToken: temporary.sessionToken,
      ...(temporary.expiration !== undefined
        ? { expiration: new Date(temporary.expiration).getTime() }
        : {}),
      principal,
    });
  }

  #add(credentials: StoredCredentials): void {
    if (this.#byKeyId.has(credentials.accessKeyId)) {
      throw new TypeError(
        `Cannot start the emulator: access key id '${credentials.accessKeyId}' is configured twice`,
      );
    }
    this.#byKeyId.set(credentials.accessKeyId, credentials);
  }
}

/**
 * Who holds a session of a role: `arn:aws:sts::<account>:assumed-role/<role>/<session>`,
 * with the role's policies. The one way the emulator's STS, its SSO portal and its
 * credential endpoints name a role session.
 *
 * @param config The resolved configuration (partition, account).
 * @param role The role.
 * @param sessionName The session's name.
 * @returns The principal.
 */
export function assumedRolePrincipal(
  config: Pick<ResolvedConfig, "partition" | "accountId">,
  role: ResolvedRole,
  sessionName: string,
): Principal {
  return {
    kind: "assumed-role",
    arn:
      `arn:${config.partition}:sts::${config.accountId}:assumed-role/${role.roleName}/${sessionName}`,
    baseArn: role.arn,
    accountId: config.accountId,
    policies: role.policies,
  };
}

/**
 * A random string over an alphabet.
 *
 * @param length How many characters.
 * @param alphabet The characters to draw from (at most 256).
 * @returns The string.
 */
export function randomString(length: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

function randomBase64(bytes: number): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}
