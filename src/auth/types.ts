/**
 * What authenticates a connection: a user name and password (an IAM auth
 * token), and the providers that hand them out per connection. Types only:
 * importing them loads nothing at run time.
 *
 * @module
 */

/** A user name and password for `AUTH`. */
export interface AuthCredentials {
  /** The ACL user; omitted, `AUTH` authenticates the `default` user. */
  readonly username?: string | undefined;
  /** The password or IAM auth token. Never printed. */
  readonly password: string;
}

/**
 * Anything that hands out credentials per connection, such as the module's
 * `IamAuth` token manager. `credentials()` is called for every new connection
 * and every re-authentication; `refresh()`, when present, is called once after
 * the server refused a token, to mint a fresh one.
 */
export interface AuthProvider {
  /**
   * Returns credentials that are valid now.
   *
   * @returns The user name and token.
   */
  credentials(): Promise<AuthCredentials>;
  /**
   * Returns freshly minted credentials, bypassing any cache.
   *
   * @returns The user name and a new token.
   */
  refresh?(): Promise<AuthCredentials>;
}
