/**
 * The shapes AWS credentials come in, matching the AWS SDK's so that any SDK
 * credential provider can be passed where this module takes credentials.
 *
 * @module
 */

/** AWS keys, as the AWS SDK's `AwsCredentialIdentity`. */
export interface AwsCredentials {
  /** The access key id (`AKIA…` for long-term keys, `ASIA…` for temporary ones). */
  readonly accessKeyId: string;
  /** The secret access key. Never printed by this module. */
  readonly secretAccessKey: string;
  /** The session token of temporary credentials. Never printed by this module. */
  readonly sessionToken?: string | undefined;
  /** When temporary credentials stop being valid. */
  readonly expiration?: Date | undefined;
}

/**
 * A function that resolves AWS credentials, as an AWS SDK credential provider
 * (`fromEnv()`, `fromWebIdentity()`, or any provider from `@aws-sdk/credential-providers`).
 */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** Credentials as the module accepts them: keys, or a provider that resolves them. */
export type CredentialsInput = AwsCredentials | AwsCredentialsProvider;
