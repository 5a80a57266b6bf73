/**
 * The connection handshake: `HELLO 3 AUTH …` (or `AUTH` with RESP2), client
 * name, database and, on a reader endpoint's connection, `READONLY`, written
 * in one batch and checked before any user command runs; and the errors that
 * explain a refused authentication.
 *
 * @module
 */

import type { AuthCredentials } from "../auth/types.ts";
import { AuthenticationError, ProtocolError, ReplyError } from "../errors.ts";
import { encodeCommandsView } from "../resp/encoder.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import type { Connection } from "./connection.ts";
import { replyKind } from "./replies.ts";

/** What a handshake needs besides the credentials. */
export interface HandshakeOptions {
  /** The RESP protocol version to ask for. */
  protocol: 2 | 3;
  /** The database to `SELECT`, when not 0. */
  db?: number | undefined;
  /** The name to set with `CLIENT SETNAME`. */
  clientName?: string | undefined;
  /** Send `READONLY` last: the connection is a reader endpoint's, for replica reads. */
  readOnly?: boolean | undefined;
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
  if (options.readOnly === true) commands.push(["READONLY"]);
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
 * @param options Protocol, client name, database, `READONLY`.
 * @returns Resolves when every handshake reply was a success. A server
 *   without cluster mode refusing `READONLY` (its replicas serve reads
 *   without it) is a success too.
 * @throws {CredentialsRefused} When the server answered `WRONGPASS`.
 * @throws {AuthenticationError} When the server requires authentication and none was given.
 * @throws {ReplyError} When another handshake command failed.
 * @throws {ProtocolError} When a reply is not what the command answers on success
 *   (`HELLO 3` a map with `proto` 3; `AUTH`, `SELECT` and `CLIENT SETNAME` `OK`).
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
    const command = String(commands[i]![0]);
    if (!(reply instanceof ReplyError)) {
      checkSuccess(command, reply, options);
      continue;
    }
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
    if (command === "READONLY") {
      if (/cluster support disabled/i.test(reply.message)) continue;
      throw new ReplyError(
        `${reply.message} (the reader endpoint '${options.label}' refused READONLY, so it cannot serve replica reads)`,
        { cause: reply },
      );
    }
    throw reply;
  }
}

/**
 * Checks that a handshake command's reply is its success reply, so that a
 * server answering anything else (a proxy, a different protocol, a broken
 * peer) fails the connect instead of leaving a connection that is not
 * authenticated, or not speaking the protocol asked for.
 */
function checkSuccess(command: string, reply: RespValue | undefined, options: HandshakeOptions) {
  if (command === "HELLO") {
    if (reply instanceof Map && reply.get("proto") === options.protocol) return;
    throw new ProtocolError(
      `Cannot connect to '${options.label}': the server answered HELLO ${options.protocol} with ${
        replyKind(reply)
      }, not a map with proto ${options.protocol}`,
    );
  }
  if (reply === "OK") return;
  throw new ProtocolError(
    `Cannot connect to '${options.label}': the server answered ${command} with ${
      replyKind(reply)
    }, not OK`,
  );
}
