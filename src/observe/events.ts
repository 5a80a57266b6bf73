/**
 * What this module tells operators: one set of lifecycle events, shared by
 * `IamAuth`, the thin client, the cluster client and the node-redis and
 * ioredis integrations, and the context of a traced command. No event
 * carries a token, a password or a secret key: errors are this module's own
 * (their messages name users and servers, never a credential).
 *
 * @module
 */

/** A server, as messages name it: `host:port` (`[::1]:6379` for IPv6). */
export type ServerLabel = string;

/** AWS credentials were resolved for a token mint. */
export interface CredentialsResolvedEvent {
  /** The event's name. */
  readonly type: "credentials:resolved";
  /**
   * Where they came from: `environment`, `profile`, `web identity`,
   * `container credentials`, `instance metadata`, `sso`, `process`, `static
   * keys`, or `provider` (any other function).
   */
  readonly source: string;
  /** When they expire, if they do. */
  readonly expiration: Date | undefined;
  /** How long the source took, in ms. */
  readonly durationMs: number;
}

/** An IAM auth token was signed. */
export interface TokenMintedEvent {
  /** The event's name. */
  readonly type: "token:minted";
  /** The cache's name (replication group, serverless cache or MemoryDB cluster). */
  readonly cache: string;
  /** The user id the token is for. */
  readonly user: string;
  /** `elasticache` or `memorydb`. */
  readonly service: string;
  /** The region. */
  readonly region: string;
  /** When the token stops being accepted (its 15 minutes, or the credentials' expiry if sooner). */
  readonly expiresAt: Date;
  /** How long the mint took (credentials and signing), in ms. */
  readonly durationMs: number;
}

/** A token could not be minted. */
export interface TokenFailedEvent {
  /** The event's name. */
  readonly type: "token:failed";
  /** The cache's name. */
  readonly cache: string;
  /** The user id. */
  readonly user: string;
  /** Why: a `CredentialsError` whose `cause` is the source's or the signer's error. */
  readonly error: Error;
  /** Failed mints in a row, this one included. */
  readonly attempts: number;
  /** How long the attempt took, in ms. */
  readonly durationMs: number;
}

/** A connection attempt starts. */
export interface ConnectEvent {
  /** The event's name. */
  readonly type: "connection:connect";
  /** The server. */
  readonly server: ServerLabel;
  /** 1 for the first attempt (to connect, or after the connection was lost), then 2, 3… while attempts fail. */
  readonly attempt: number;
}

/** The server accepted a connection's handshake (with its credentials, if it has any). */
export interface AuthAcceptedEvent {
  /** The event's name. */
  readonly type: "auth:accepted";
  /** The server. */
  readonly server: ServerLabel;
  /** The user. */
  readonly user: string | undefined;
}

/** The server refused a connection's credentials. */
export interface AuthRefusedEvent {
  /** The event's name. */
  readonly type: "auth:refused";
  /** The server. */
  readonly server: ServerLabel;
  /** The user. */
  readonly user: string | undefined;
  /** The reply's code: `WRONGPASS` (a refused token or user) or `NOAUTH`. */
  readonly code: string;
  /**
   * Whether a freshly minted token is tried next (the first refusal); when
   * false the refusal is final and `error` lists the likely causes.
   */
  readonly retrying: boolean;
  /** The error the connection fails with, when the refusal is final. */
  readonly error: Error | undefined;
}

/** A live connection's re-authentication starts (its schedule, or a retry). */
export interface ReauthDueEvent {
  /** The event's name. */
  readonly type: "reauth:due";
  /** The server. */
  readonly server: ServerLabel;
  /** The user. */
  readonly user: string | undefined;
  /** Whether it retries a failed one. */
  readonly retry: boolean;
  /** When the server cuts the connection unless it re-authenticates (12 hours after its last authentication). */
  readonly cutAt: Date;
}

/** The server accepted a re-authentication: the connection has 12 more hours. */
export interface ReauthDoneEvent {
  /** The event's name. */
  readonly type: "reauth:done";
  /** The server. */
  readonly server: ServerLabel;
  /** The user. */
  readonly user: string | undefined;
  /** How long it took, in ms. */
  readonly durationMs: number;
}

/** A re-authentication failed; it is retried after a backoff. */
export interface ReauthFailedEvent {
  /** The event's name. */
  readonly type: "reauth:failed";
  /** The server. */
  readonly server: ServerLabel;
  /** The user. */
  readonly user: string | undefined;
  /** Why. */
  readonly error: Error;
  /** Failed re-authentications in a row. */
  readonly failures: number;
  /** When the next attempt is. */
  readonly retryInMs: number;
}

/** A connection is reopened after this pause. */
export interface ReconnectScheduledEvent {
  /** The event's name. */
  readonly type: "reconnect:scheduled";
  /** The server. */
  readonly server: ServerLabel;
  /** The attempt that follows the pause, counted from 1 since the connection was lost. */
  readonly attempt: number;
  /** The pause, in ms. */
  readonly delayMs: number;
  /** Why the connection is being reopened. */
  readonly reason: Error | undefined;
}

/** A connection was reopened. */
export interface ReconnectSucceededEvent {
  /** The event's name. */
  readonly type: "reconnect:succeeded";
  /** The server. */
  readonly server: ServerLabel;
  /** The attempts it took. */
  readonly attempts: number;
}

/** A connection closed. */
export interface ConnectionClosedEvent {
  /** The event's name. */
  readonly type: "connection:closed";
  /** The server. */
  readonly server: ServerLabel;
  /**
   * Why: `client` (`close()` was called), `server` (the server closed it),
   * `cut` (the 12-hour limit), `timeout` (a command's reply did not come),
   * `protocol` (a reply this client refuses), or `error` (the socket failed).
   * ioredis tells only whether it will reconnect (`server`) or not (`client`:
   * `quit()`, `disconnect()`, or a `retryStrategy` that gave up); node-redis
   * tells `client` (`close()`, `destroy()`) or `error`.
   */
  readonly reason: "client" | "server" | "cut" | "timeout" | "protocol" | "error";
  /** The error commands still waiting got, if any. */
  readonly error: Error | undefined;
}

/** A cluster client read the cluster's slots again. */
export interface TopologyRefreshedEvent {
  /** The event's name. */
  readonly type: "topology:refreshed";
  /** The node that answered `CLUSTER SLOTS`. */
  readonly server: ServerLabel;
  /** How many primaries serve slots now. */
  readonly primaries: number;
  /** How many nodes (primaries and replicas). */
  readonly nodes: number;
  /** Whether a slot moved to another primary since the last read (false on the first). */
  readonly changed: boolean;
}

/** Every lifecycle event, told apart by `type`. */
export type IamEvent =
  | CredentialsResolvedEvent
  | TokenMintedEvent
  | TokenFailedEvent
  | ConnectEvent
  | AuthAcceptedEvent
  | AuthRefusedEvent
  | ReauthDueEvent
  | ReauthDoneEvent
  | ReauthFailedEvent
  | ReconnectScheduledEvent
  | ReconnectSucceededEvent
  | ConnectionClosedEvent
  | TopologyRefreshedEvent;

/** Every event's `type`, in the order of a connection's life. */
export const IAM_EVENT_TYPES: readonly IamEvent["type"][] = [
  "credentials:resolved",
  "token:minted",
  "token:failed",
  "connection:connect",
  "auth:accepted",
  "auth:refused",
  "reauth:due",
  "reauth:done",
  "reauth:failed",
  "reconnect:scheduled",
  "reconnect:succeeded",
  "connection:closed",
  "topology:refreshed",
];

/**
 * A command, or a pipeline or transaction, as a tracer sees it: its name, its
 * arguments only when asked for (a value can be a secret), and where it goes.
 */
export interface CommandContext {
  /** The command's name, upper case (`GET`); `PIPELINE` or `MULTI` for a batch. */
  readonly command: string;
  /**
   * The command's arguments, the name first, with values a command may hide
   * replaced by `?` (the OpenTelemetry Redis rules). Computed on first read.
   */
  readonly args: readonly string[];
  /** For a batch: how many commands it holds (for a transaction, those between `MULTI` and `EXEC`). */
  readonly batchSize: number | undefined;
  /** The server's host. */
  readonly serverAddress: string;
  /** The server's port. */
  readonly serverPort: number;
}
