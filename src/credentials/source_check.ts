/**
 * The shape of a credentials source's "is it set up here?" check, for the
 * default chain: cheap, synchronous, from environment variables only.
 *
 * @module
 */

/** Whether a credentials source is configured in an environment, and what was looked for. */
export interface CredentialsSourceCheck {
  /** Whether the source is set up: the chain uses it (and goes no further). */
  readonly configured: boolean;
  /**
   * What was looked for and found, in words and without a secret, such as
   * `container credentials (neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor
   * AWS_CONTAINER_CREDENTIALS_FULL_URI is set)`: for the chain's error when no
   * source is configured.
   */
  readonly lookedFor: string;
}
