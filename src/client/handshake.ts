/**
 * The connection handshake: `HELLO 3 AUTH …` (or `AUTH` with RESP2), client
 * name and database, written in one batch and checked before any user command
 * runs; and the errors that explain a refused authentication.
 *
 * @module
 */

import { AuthenticationError, ReplyError } from "../errors.ts";
import { encodeCommandsView } from "../resp/encoder.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import type { Connection } from "./connection.ts";

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

/** What a handshake needs besides the credentials. */
export interface HandshakeOptions {
  /** The RESP protocol version to ask for. */
  protocol: 2 | 3;
  /** The database to `SELECT`, when not 0. */
  db?: number | undefined;
  /** The name to set with `CLIENT SETNAME`. */
  clientName?: string | undefined;
  /** `host:port`, for error messages. */
  label: string;
}

/** Tells the caller the server refused the credentials (WRONGPASS). */
export class CredentialsRefused extends Error {
  /**
   * @param reply The server's error reply.
   */
  constructor(readonly reply: ReplyError) {
    super(reply.message, { cause: reply });
    this.name = "CredentialsRefused";
  }
}

/**
 * Whether `auth` is a provider (as opposed to static credentials).
 *
 * @param auth The `auth` option.
 * @returns `true` for an {@linkcode AuthProvider}.
 */
export function isAuthProvider(auth: AuthProvider | AuthCredentials): auth is AuthProvider {
  return typeof (auth as AuthProvider).credentials === "function";
}

/**
 * The handshake commands, in the order they are written.
 *
 * @param credentials Who to authenticate as, if anyone.
 * @param options Protocol, client name and database.
 * @returns The commands; empty when RESP2 needs no handshake at all.
 */
export function handshakeCommands(
  credentials: AuthCredentials | undefined,
  options: HandshakeOptions,
): CommandArg[][] {
  const commands: CommandArg[][] = [];
  if (options.protocol === 3) {
    const hello: CommandArg[] = ["HELLO", 3];
    if (credentials !== undefined) {
      hello.push("AUTH", credentials.username ?? "default", credentials.password);
    }
    if (options.clientName !== undefined) hello.push("SETNAME", options.clientName);
    commands.push(hello);
  } else {
    if (credentials !== undefined) commands.push(authCommand(credentials));
    if (options.clientName !== undefined) {
      commands.push(["CLIENT", "SETNAME", options.clientName]);
    }
  }
  if (options.db !== undefined && options.db !== 0) commands.push(["SELECT", options.db]);
  return commands;
}

/**
 * The `AUTH` command for `credentials`.
 *
 * @param credentials Who to authenticate as.
 * @returns `AUTH user password`, or `AUTH password` without a user name.
 */
export function authCommand(credentials: AuthCredentials): CommandArg[] {
  return credentials.username === undefined
    ? ["AUTH", credentials.password]
    : ["AUTH", credentials.username, credentials.password];
}

/** Handshake commands already encoded, ready to be written on a new connection. */
export interface PreparedHandshake {
  /** The commands, in order (none when RESP2 needs no handshake). */
  readonly commands: readonly CommandArg[][];
  /** Their bytes. */
  readonly bytes: Uint8Array;
}

/**
 * Builds and encodes the handshake before there is a connection to send it
 * on. A new connection prepares it as soon as the credentials are in, while
 * its socket is still opening, so that the encoding (and, on a cold start,
 * the encoder's first compilation) is not on the path to the first reply.
 *
 * @param credentials Who to authenticate as, if anyone.
 * @param options Protocol, client name and database.
 * @returns The commands and their bytes.
 */
export function prepareHandshake(
  credentials: AuthCredentials | undefined,
  options: HandshakeOptions,
): PreparedHandshake {
  const commands = handshakeCommands(credentials, options);
  return { commands, bytes: encodeCommandsView(commands) };
}

/**
 * Runs the handshake on a fresh connection: one write, one round trip. The
 * caller sends no user command until it resolves, so nothing runs as the
 * `default` user after a failed authentication.
 *
 * @param conn The new connection.
 * @param prepared The handshake, from {@linkcode prepareHandshake}.
 * @param options Protocol, client name, database.
 * @returns Resolves when every handshake reply was a success.
 * @throws {CredentialsRefused} When the server answered `WRONGPASS`.
 * @throws {AuthenticationError} When the server requires authentication and none was given.
 * @throws {ReplyError} When another handshake command failed.
 * @throws {ConnectionClosedError} When the connection closed meanwhile.
 */
export async function handshake(
  conn: Connection,
  prepared: PreparedHandshake,
  options: HandshakeOptions,
): Promise<void> {
  const { commands } = prepared;
  if (commands.length === 0) return;
  const replies = await conn.sendEncoded(prepared.bytes, commands.length);
  for (let i = 0; i < replies.length; i++) {
    const reply: RespValue | undefined = replies[i];
    if (!(reply instanceof ReplyError)) continue;
    const command = String(commands[i]![0]);
    if (reply.code === "WRONGPASS") throw new CredentialsRefused(reply);
    if (reply.code === "NOAUTH") {
      throw new AuthenticationError(
        `Cannot connect to '${options.label}': the server requires authentication; pass 'auth'`,
        { cause: reply },
      );
    }
    if (reply.code === "NOPROTO" || /unknown command/i.test(reply.message) && command === "HELLO") {
      throw new ReplyError(
        `${reply.message} (cannot switch '${options.label}' to RESP3; connect with protocol: 2)`,
        { cause: reply },
      );
    }
    if (command === "SELECT") {
      throw new ReplyError(`${reply.message} (cannot select database ${options.db})`, {
        cause: reply,
      });
    }
    throw reply;
  }
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
