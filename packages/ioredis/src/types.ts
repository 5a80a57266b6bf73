/**
 * The shapes of ioredis and iovalkey this package uses, declared
 * structurally (nothing is imported from either), and the helpers' options.
 *
 * @module
 */

import type { CredentialsInput, Timers } from "@elasticache-iam/connector";

/** The parts of an ioredis or iovalkey `Redis` client this module uses. */
export interface IoredisClient {
  /** The client's options: the user name and password of the next connect are read from here. */
  readonly options: {
    host?: string | undefined;
    port?: number | undefined;
    username?: string | undefined;
    password?: string | null | undefined;
  };
  /** `wait` (created with `lazyConnect: true`), `connecting`, `ready`, `close`, `reconnecting`, `end`, … */
  readonly status: string;
  /**
   * ioredis's state of the connect under way, made by each `connect()`; its
   * `auth` holds the user name and token the handshake sends.
   */
  readonly condition?: { auth?: unknown } | null | undefined;
  /** `true` on an ioredis or iovalkey `Cluster`: {@linkcode attachIamAuthCluster} takes those. */
  readonly isCluster?: boolean | undefined;
  /**
   * Opens the connection.
   *
   * @returns Resolves when ready.
   */
  connect(): Promise<unknown>;
  /**
   * Sends `AUTH username password`.
   *
   * @param username The user.
   * @param password The token.
   * @returns The reply.
   */
  auth(username: string, password: string): Promise<unknown>;
  /**
   * Adds an event listener.
   *
   * @param event The event.
   * @param listener The listener.
   */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /**
   * Removes an event listener.
   *
   * @param event The event.
   * @param listener The listener.
   */
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  /**
   * Emits an event (re-authentication failures go to `error` when it has
   * listeners). The helper wraps it on this client while it runs, to take
   * the token out of the `command` ioredis attaches to its own errors.
   *
   * @param event The event.
   * @param args Its arguments.
   */
  emit?(event: string, ...args: unknown[]): unknown;
  /**
   * How many listeners an event has.
   *
   * @param event The event.
   */
  listenerCount?(event: string): number;
}

/**
 * The parts of an ioredis or iovalkey `Cluster` {@linkcode attachIamAuthCluster}
 * uses. It also reaches, when they are there, the cluster's connection pool
 * and pub/sub subscribers, to give each connection they open the token.
 */
export interface IoredisCluster {
  /** `true`: what tells a cluster from a `Redis` client. */
  readonly isCluster: boolean;
  /** The cluster's options; `redisOptions` are the options of every node connection. */
  readonly options: {
    redisOptions?: { username?: string | undefined; password?: string | undefined } | undefined;
  };
  /** `wait` (created with `lazyConnect: true`), `connecting`, `ready`, `end`, … */
  readonly status: string;
  /**
   * Discovers the cluster and connects.
   *
   * @returns Resolves when ready.
   */
  connect(): Promise<unknown>;
  /**
   * The connections to the cluster's nodes.
   *
   * @param role `all` (the default), `master` or `slave`.
   * @returns One `Redis` client per node.
   */
  nodes(role?: "all" | "master" | "slave"): IoredisClient[];
  /**
   * Adds an event listener (`+node` tells of each node connection made).
   *
   * @param event The event.
   * @param listener The listener.
   */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /**
   * Removes an event listener.
   *
   * @param event The event.
   * @param listener The listener.
   */
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  /**
   * Emits an event; wrapped while the helper runs, as a client's.
   *
   * @param event The event.
   * @param args Its arguments.
   */
  emit?(event: string, ...args: unknown[]): unknown;
  /**
   * How many listeners an event has.
   *
   * @param event The event.
   */
  listenerCount?(event: string): number;
}

/** Options of {@linkcode attachIamAuth} and {@linkcode attachIamAuthCluster}. */
export interface AttachIamAuthOptions {
  /**
   * Without `auth`: the AWS credentials the tokens for the client's user
   * (`username`, from its URL) are signed with.
   *
   * @default {defaultCredentials()}
   */
  credentials?: CredentialsInput;
  /**
   * Without `auth`: the cache's region, when not its host's.
   *
   * @default {the endpoint's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`}
   */
  region?: string;
  /**
   * How long a connection stays authenticated before it is re-authenticated,
   * in milliseconds, counted from its connect or last re-authentication (for
   * a cluster, per node connection): above 0 and at most 42600000
   * (11 h 50 min); `false` turns re-authentication off. The same rule as
   * every client of this module; a failed re-authentication is retried after
   * a backoff of 1 s doubling up to 60 s.
   *
   * @default {39600000} (11 hours)
   */
  reauthAfter?: number | false;
  /**
   * How often the stored token (`client.options.password`; for a cluster,
   * the one every node connection reads) is replaced with the token
   * manager's current token, in milliseconds, so that a reconnect at any
   * time finds a valid token there. (It is also replaced whenever a
   * connection closes.)
   *
   * @default {60000}
   */
  refreshInterval?: number;
  /**
   * Receives re-authentication failures, with a message that explains them
   * and the underlying error as `cause`.
   *
   * @default {the client's (or cluster's) `error` event when it has
   * listeners; the last failure also stays readable as the helper's `failure`}
   */
  onReAuthenticationError?: (error: Error) => void;
  /**
   * The timers re-authentication and refreshes are scheduled with; tests pass their own.
   *
   * @default {the runtime's timers, unref'd}
   */
  timers?: Timers;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}
