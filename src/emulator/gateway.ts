/**
 * The IAM-authenticating RESP gateway: clients connect here as they would to
 * ElastiCache; `AUTH` / `HELLO … AUTH` tokens are verified, and a verified
 * connection is relayed to the backend Redis as the matching ACL user.
 *
 * Replies stay in order without the gateway counting them: before the first
 * successful authentication there is no backend connection and the gateway
 * answers everything itself; from then on the backend answers everything.
 * A verified `AUTH` is forwarded with the user's backend password, a refused
 * one as an `AUTH` the backend itself refuses with the same `WRONGPASS`
 * text, and an `AUTH` inside `MULTI` as a command the backend refuses at
 * queue time, which also aborts the transaction (`EXECABORT`).
 *
 * @module
 */

import { describe } from "../_checks.ts";
import { encodeCommand, encodeCommands } from "../resp/encoder.ts";
import { RespDecoder } from "../resp/decoder.ts";
import type { EmulatorClock } from "./clock.ts";
import type { ResolvedCache, ResolvedConfig } from "./config.ts";
import type { CredentialStore } from "./credential_store.ts";
import { verifyAuthToken } from "./auth_token_verifier.ts";
import { peerIsOneOf } from "./local_peer.ts";
import type { RedisBackend } from "./redis_backend.ts";

/** Where clients connect. */
export interface GatewayAddress {
  /** The host, `127.0.0.1`. */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
  /** Whether the gateway speaks TLS. */
  readonly tls: boolean;
  /** With TLS: the PEM certificate of the CA that signed the gateway's certificate. */
  readonly caCertPem?: string;
}

/** What the gateway needs from the emulator. */
export interface GatewayOptions {
  /** The resolved configuration. */
  config: ResolvedConfig;
  /** The known keys. */
  credentials: CredentialStore;
  /** The emulator clock. */
  clock: EmulatorClock;
  /** The cache this endpoint serves: tokens for any other cache are refused. */
  cache: ResolvedCache;
  /** The backend: this cache's own `redis-server`. */
  backend: RedisBackend;
  /** The log. */
  log: (line: string) => void;
  /** The port, or 0 for a free one. */
  port?: number;
  /** The TLS certificate chain and key (PEM), and the CA certificate handed to clients. */
  tls?: { cert: string; key: string; caCertPem: string };
  /**
   * The emulator's own backend user, let through with its password and
   * without an age cap: in a cluster, replicas replicate from their primary
   * through the primary's gateway (its announced address) as this user.
   */
  internalUser?: {
    username: string;
    password: string;
    /** The processes the internal link may come from: the emulator's `redis-server`s. */
    pids: () => number[];
  };
}

/**
 * ElastiCache's answer to any refused token (Redis 7's exact text).
 *
 * @example A token signed with keys the emulator does not know
 * ```ts
 * import { connect } from "../client.ts";
 * import { IamAuth } from "../iam_auth.ts";
 * import { startEmulator, WRONGPASS } from "./mod.ts";
 *
 * await using emu = await startEmulator();
 * using auth = new IamAuth({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: emu.region,
 *   credentials: { accessKeyId: "AKIAUNKNOWN", secretAccessKey: "unknown" },
 * });
 * const error = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth })
 *   .catch((error) => error);
 * console.log(error.name, error.cause.message === WRONGPASS); // "AuthenticationError" true
 * ```
 */
export const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";
/**
 * Redis' answer to a command before authentication.
 *
 * @example
 * ```ts
 * import { NOAUTH } from "./mod.ts";
 *
 * console.log(NOAUTH); // "NOAUTH Authentication required."
 * ```
 */
export const NOAUTH = "NOAUTH Authentication required.";
/**
 * Redis' answer to `HELLO` without `AUTH` before authentication.
 *
 * @example A client without credentials
 * ```ts
 * import { connect } from "../client.ts";
 * import { NOAUTH_HELLO, startEmulator } from "./mod.ts";
 *
 * await using emu = await startEmulator();
 * const error = await connect({ host: emu.gateway.hostname, port: emu.gateway.port })
 *   .catch((error) => error);
 * console.log(error.name, error.cause.message === NOAUTH_HELLO); // "AuthenticationError" true
 * ```
 */
export const NOAUTH_HELLO =
  "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
/**
 * The command forwarded in place of an IAM `AUTH` inside `MULTI`: Redis
 * refuses it as unknown when it is queued and then aborts the transaction.
 *
 * @example
 * ```ts
 * import { AUTH_IN_MULTI_COMMAND } from "./mod.ts";
 *
 * console.log(AUTH_IN_MULTI_COMMAND); // "IAM-AUTH-NOT-SUPPORTED-IN-MULTI"
 * ```
 */
export const AUTH_IN_MULTI_COMMAND = "IAM-AUTH-NOT-SUPPORTED-IN-MULTI";
/** A backend user that does not exist: authenticating as it draws Redis' own WRONGPASS. */
const REFUSED_USER = "emulator-refused-auth";

const encoder = new TextEncoder();
/** Keeps a leading byte order mark: a token with one is not the token that was signed. */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** Redis' limits for unauthenticated clients: 10 arguments, 16 KiB per argument. */
const UNAUTHENTICATED_LIMITS = {
  maxInlineLength: 64 * 1024,
  maxBulkLength: 16 * 1024,
  maxAggregateLength: 10,
  maxDepth: 1,
} as const;
/**
 * ElastiCache's bound on one client's query (`client-query-buffer-limit`,
 * 1 GiB, as in Redis): a command that decodes to more closes the connection
 * without a reply, as Redis does.
 */
const QUERY_BUFFER_LIMIT = 1024 * 1024 * 1024;
/** ElastiCache Serverless: "clients cannot issue a request with more than 3,999 arguments". */
const SERVERLESS_MAX_ARGUMENTS = 3999;
/** How long the backend may take to answer what it owes and a provoked protocol error. */
const PROVOKED_ERROR_WAIT_MS = 5_000;
/** A frame that makes Redis answer `Protocol error: invalid multibulk length`, then close. */
const PROVOKE_INVALID_MULTIBULK = "*4294967296\r\n";
/** A frame that makes Redis answer `Protocol error: invalid bulk length`, then close. */
const PROVOKE_INVALID_BULK = "*1\r\n$4294967296\r\n";
/** The RESP type byte of each aggregate, for Redis' `expected '$', got '…'`. */
const AGGREGATE_TYPE_BYTES: Readonly<Record<string, string>> = {
  array: "*",
  map: "%",
  set: "~",
  push: ">",
  attribute: "|",
};

/** How a broken frame ends a connection. */
interface Fault {
  /** Redis' protocol error text, after `Protocol error: `. */
  readonly message: string;
  /**
   * Authenticated: bytes that make the backend answer the same error (see
   * `#endOnFault`); without them the connection closes with no reply.
   */
  readonly provoke?: string;
  /** Close without a reply, even unauthenticated. */
  readonly silent?: boolean;
  /** What the log says, when it differs from the message. */
  readonly reason?: string;
}

const READ_BUFFER_SIZE = 64 * 1024;

/**
 * The gateway's listener and its connections.
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #listener: Deno.Listener;
  readonly #sessions = new Set<Session>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #acceptLoop: Promise<void>;
  readonly #unsubscribe: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;
  #closed = false;
  /** Where clients connect. */
  readonly address: GatewayAddress;

  /**
   * Starts listening on `127.0.0.1`.
   *
   * @param options The configuration, keys, clock, backend, log, port and TLS material.
   */
  constructor(options: GatewayOptions) {
    this.#options = options;
    const port = options.port ?? 0;
    try {
      this.#listener = options.tls
        ? Deno.listenTls({
          hostname: "127.0.0.1",
          port,
          cert: options.tls.cert,
          key: options.tls.key,
        })
        : Deno.listen({ hostname: "127.0.0.1", port });
    } catch (error) {
      throw new Error(`Cannot start the emulator's gateway on 127.0.0.1:${port}`, { cause: error });
    }
    const addr = this.#listener.addr as Deno.NetAddr;
    this.address = {
      hostname: "127.0.0.1",
      port: addr.port,
      tls: options.tls !== undefined,
      ...(options.tls ? { caCertPem: options.tls.caCertPem } : {}),
    };
    this.#unsubscribe = options.clock.onChange(() => this.#enforceCap());
    this.#acceptLoop = this.#accept();
  }

  /** Closes the listener and every connection, and waits for them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#timer);
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#acceptLoop;
    for (const session of this.#sessions) session.close();
    await Promise.all(this.#tasks);
  }

  /** Checks every connection's deadline, closes the late ones, and sets the timer for the next. */
  #enforceCap(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#options.clock.now();
    let next = Infinity;
    for (const session of this.#sessions) {
      const deadline = session.deadline;
      if (deadline === undefined) continue;
      if (now >= deadline) {
        this.#options.log(
          `gateway: #${session.id} closed: connection age cap of ${this.#options.config.connectionMaxAgeMs} ms reached`,
        );
        session.close();
      } else {
        next = Math.min(next, deadline);
      }
    }
    if (next !== Infinity) {
      this.#timer = setTimeout(() => this.#enforceCap(), Math.min(next - now, 2 ** 31 - 1));
    }
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // The listener was closed.
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      const waiting = [...this.#sessions].filter((session) => !session.authenticated).length;
      if (waiting >= this.#options.config.maxUnauthenticated) {
        this.#options.log(
          `gateway: connection refused: ${waiting} connections are waiting to authenticate`,
        );
        refuse(conn, "-ERR max number of clients reached\r\n");
        continue;
      }
      const session = new Session(this.#nextId++, conn, this.#options, () => this.#enforceCap());
      this.#sessions.add(session);
      const task = session.run().finally(() => {
        this.#sessions.delete(session);
        this.#tasks.delete(task);
      });
      this.#tasks.add(task);
    }
  }
}

/** One client connection. */
class Session {
  readonly id: number;
  readonly #client: Deno.Conn;
  readonly #options: GatewayOptions;
  readonly #onDeadlineChange: () => void;
  /**
   * Until the first successful authentication, Redis' own limits for
   * unauthenticated clients (at most 10 arguments of at most 16 KiB each);
   * then a decoder with the usual limits takes over the bytes left.
   */
  #decoder = new RespDecoder(UNAUTHENTICATED_LIMITS);
  #strict = true;
  #backend: Deno.TcpConn | undefined;
  #relay: Promise<void> | undefined;
  /** Closes the connection if it has not authenticated in time. */
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #inMulti = false;
  /** The backend user the connection is authenticated as (`undefined` for an internal link). */
  #userId: string | undefined;
  /** Whether the connection is a replica's internal link. */
  #internalLink = false;
  #closed = false;
  /** When the connection must be closed unless re-authenticated (emulator ms). */
  deadline: number | undefined;

  constructor(id: number, client: Deno.Conn, options: GatewayOptions, onDeadline: () => void) {
    this.id = id;
    this.#client = client;
    this.#options = options;
    this.#onDeadlineChange = onDeadline;
  }

  /** Whether a credential was accepted: the backend answers from then on. */
  get authenticated(): boolean {
    return this.#backend !== undefined;
  }

  async run(): Promise<void> {
    const remote = this.#client.remoteAddr as Deno.NetAddr;
    this.#log(`connected from ${remote.hostname}:${remote.port}`);
    const authTimeout = this.#options.config.authTimeoutMs;
    this.#authTimer = setTimeout(() => {
      if (this.authenticated) return;
      this.#log(`closed: not authenticated within ${authTimeout} ms`);
      this.close();
    }, authTimeout);
    const buffer = new Uint8Array(READ_BUFFER_SIZE);
    try {
      let needBytes = true;
      while (!this.#closed) {
        if (needBytes) {
          const n = await this.#client.read(buffer);
          if (n === null) break;
          this.#decoder.push(buffer.subarray(0, n));
        }
        const commands: Uint8Array[][] = [];
        // Before authentication, stop after an authentication attempt: the
        // bytes behind it are decoded with the limits its outcome calls for.
        let stoppedAtAuth = false;
        for (;;) {
          let value;
          try {
            value = this.#decoder.read({ bytes: true, inline: true });
          } catch (error) {
            await this.#endOnFault(commands, this.#faultOf(error as Error));
            return;
          }
          if (value === undefined) break;
          // As Redis does, an empty (or null) multibulk is no command.
          if (value === null || (Array.isArray(value) && value.length === 0)) continue;
          if (!Array.isArray(value)) {
            await this.#endOnFault(commands, { message: "expected an array of bulk strings" });
            return;
          }
          const odd = value.findIndex((arg) => !(arg instanceof Uint8Array));
          if (odd !== -1) {
            const type = typeByteOf(value[odd]);
            await this.#endOnFault(commands, {
              message: `expected '$', got '${type}'`,
              provoke: `*1\r\n${type}\r\n`,
            });
            return;
          }
          commands.push(value as Uint8Array[]);
          if (this.#strict && isAuthAttempt(value as Uint8Array[])) {
            stoppedAtAuth = true;
            break;
          }
        }
        if (commands.length > 0 && !await this.#handle(commands)) break;
        if (this.#strict && this.#backend !== undefined) this.#relax();
        needBytes = !stoppedAtAuth;
      }
    } catch (error) {
      if (!this.#closed) this.#log(`connection error: ${(error as Error).name}`);
    } finally {
      this.close();
      await this.#relay;
      this.#log("disconnected");
    }
  }

  /**
   * Authenticated: the bytes not decoded yet go to a decoder with
   * ElastiCache's limits: Redis' 64 KiB inline commands and 512 MiB bulk
   * strings, arguments that are bulk strings (no nested aggregate), one
   * command bounded by the 1 GiB query buffer (counted as decoded, so also
   * bounding the gateway's heap; and 2^24 arguments at most), and for a
   * serverless cache 3,999 arguments.
   */
  #relax(): void {
    // Reading stopped right after the authentication: the decoder is between frames.
    const rest = this.#decoder.takeUndecoded();
    this.#strict = false;
    this.#decoder = new RespDecoder({
      maxInlineLength: 64 * 1024,
      maxDepth: 1,
      maxReplyBytes: QUERY_BUFFER_LIMIT,
      ...(this.#options.cache.kind === "serverless"
        ? { maxAggregateLength: SERVERLESS_MAX_ARGUMENTS }
        : {}),
    });
    this.#decoder.push(rest);
  }

  /** What breaking a decoder bound means here, in Redis' words. */
  #faultOf(error: Error): Fault {
    const { message } = error;
    if (/maxReply(Bytes|Elements)/.test(message)) {
      return {
        message: `the command exceeds the query buffer limit (${QUERY_BUFFER_LIMIT} bytes)`,
        silent: true,
      };
    }
    const nested = / (array|map|set|push|attribute) nests deeper than maxDepth/.exec(message);
    if (nested !== null) {
      const type = AGGREGATE_TYPE_BYTES[nested[1]!]!;
      return { message: `expected '$', got '${type}'`, provoke: `*1\r\n${type}\r\n` };
    }
    if (/maxBulkLength/.test(message)) {
      return this.#strict
        ? { message: "unauthenticated bulk length" }
        : { message: "invalid bulk length", provoke: PROVOKE_INVALID_BULK };
    }
    if (/maxAggregateLength/.test(message)) {
      return this.#strict ? { message: "unauthenticated multibulk length" } : {
        message: "invalid multibulk length",
        provoke: PROVOKE_INVALID_MULTIBULK,
        reason: `more than ${SERVERLESS_MAX_ARGUMENTS} arguments in one request (serverless)`,
      };
    }
    return { message };
  }

  /**
   * Ends the connection on a broken frame, as Redis does: the commands
   * before it are answered first, then the protocol error. Authenticated,
   * the backend is made to answer the error itself (so it comes after the
   * replies still owed) and then closes; past the query buffer limit the
   * connection closes without a reply.
   */
  async #endOnFault(commands: Uint8Array[][], fault: Fault): Promise<void> {
    if (commands.length > 0 && !await this.#handle(commands)) return;
    if (this.#backend === undefined || fault.provoke === undefined) {
      if (fault.silent) {
        this.#log(`closed: ${fault.message}`);
        this.close();
        return;
      }
      await this.#protocolError(fault.message);
      return;
    }
    this.#log(`protocol error: ${fault.reason ?? fault.message}`);
    try {
      await writeAll(this.#backend, encoder.encode(fault.provoke));
      // The backend answers what it owes, then the error, then closes: the relay ends.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#relay,
        new Promise((resolve) => timer = setTimeout(resolve, PROVOKED_ERROR_WAIT_MS)),
      ]).finally(() => clearTimeout(timer));
    } catch {
      // The backend is gone: close anyway.
    }
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.deadline = undefined;
    clearTimeout(this.#authTimer);
    for (const conn of [this.#client, this.#backend]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
  }

  /** Handles commands in order; returns false when the connection must end. */
  async #handle(commands: Uint8Array[][]): Promise<boolean> {
    const forward: Uint8Array[][] = [];
    const flush = async () => {
      if (forward.length === 0) return;
      await writeAll(this.#backend!, encodeCommands(forward));
      forward.length = 0;
    };
    for (const args of commands) {
      if (this.#closed) return false;
      const name = decoder.decode(args[0]!).toUpperCase();
      if (this.#backend === undefined) {
        if (!await this.#beforeAuth(name, args)) return false;
        continue;
      }
      const auth = authArguments(name, args);
      if (auth === undefined) {
        this.#followTransaction(name, args);
        forward.push(name === "HELLO" ? withoutPasswords(args) : args);
        continue;
      }
      await flush();
      if (this.#inMulti) {
        this.#log(`${name} inside MULTI refused: IAM authentication is not supported in MULTI`);
        forward.push([encoder.encode(AUTH_IN_MULTI_COMMAND)]);
        continue;
      }
      const passwords = auth.kind === "auth" ? await this.#verifyAll(auth.auths) : undefined;
      if (auth.kind === "refuse" || passwords === undefined) {
        if (auth.kind === "refuse") {
          this.#log("AUTH with a password only refused: IAM needs a user name");
        }
        forward.push([encoder.encode("AUTH"), encoder.encode(REFUSED_USER), randomBytes()]);
      } else {
        forward.push(withPasswords(args, auth.auths, passwords));
      }
    }
    await flush();
    return true;
  }

  /**
   * Follows whether the backend connection is inside `MULTI` as the backend
   * decides it: a `MULTI` the user's ACL refuses (or with arguments) opens no
   * transaction, and an `EXEC` or `DISCARD` it refuses closes none.
   */
  #followTransaction(name: string, args: Uint8Array[]): void {
    if (name === "RESET") {
      this.#inMulti = false;
      return;
    }
    if (name !== "MULTI" && name !== "EXEC" && name !== "DISCARD") return;
    const allowed = this.#userId === undefined
      ? this.#internalLink
      : this.#options.backend.transactionsOf(this.#userId)?.[
        name.toLowerCase() as "multi" | "exec" | "discard"
      ] === true;
    if (!allowed || args.length !== 1) return;
    this.#inMulti = name === "MULTI";
  }

  /** Answers a command before authentication; returns false when the connection must end. */
  async #beforeAuth(name: string, args: Uint8Array[]): Promise<boolean> {
    if (name === "QUIT") {
      await this.#reply("+OK");
      return false;
    }
    if (name === "HELLO") {
      const hello = parseHello(args);
      if ("error" in hello) return await this.#reply(`-${hello.error}`);
      if (hello.auths.length === 0) return await this.#reply(`-${NOAUTH_HELLO}`);
      return await this.#firstAuth(args, hello.auths);
    }
    if (name === "AUTH") {
      if (args.length === 1) {
        return await this.#reply("-ERR wrong number of arguments for 'auth' command");
      }
      if (args.length > 3) return await this.#reply("-ERR syntax error");
      if (args.length === 2) {
        this.#log("AUTH with a password only refused: IAM needs a user name");
        return await this.#reply(`-${WRONGPASS}`);
      }
      return await this.#firstAuth(args, [
        { user: text(args[1]!), token: text(args[2]!), tokenIndex: 2 },
      ]);
    }
    return await this.#reply(`-${NOAUTH}`);
  }

  /** The first successful authentication opens the backend connection. */
  async #firstAuth(args: Uint8Array[], auths: readonly AuthOption[]): Promise<boolean> {
    const passwords = await this.#verifyAll(auths);
    if (passwords === undefined) return await this.#reply(`-${WRONGPASS}`);
    const { hostname, port } = this.#options.backend;
    let backend: Deno.TcpConn;
    try {
      backend = await Deno.connect({ hostname, port });
    } catch {
      this.#log(`cannot reach the backend at ${hostname}:${port}`);
      await this.#reply("-ERR the emulator's backend is unavailable");
      return false;
    }
    if (this.#closed) {
      backend.close();
      return false;
    }
    this.#backend = backend;
    clearTimeout(this.#authTimer);
    this.#relay = this.#relayReplies(backend);
    await writeAll(backend, encodeCommand(withPasswords(args, auths, passwords)));
    return true;
  }

  /**
   * Checks a command's credentials in order, as Redis 7 checks `HELLO`'s
   * `AUTH` options: the first refusal refuses the command.
   *
   * @returns The backend password of each, or `undefined` after a refusal.
   */
  async #verifyAll(auths: readonly AuthOption[]): Promise<string[] | undefined> {
    const passwords: string[] = [];
    const accepted: (() => void)[] = [];
    for (const { user, token } of auths) {
      if (this.#isInternal(user)) {
        const password = await this.#internal(token);
        if (password === undefined) return undefined;
        passwords.push(password);
        accepted.push(() => {
          this.#internalLink = true;
          this.#userId = undefined;
        });
        continue;
      }
      const verified = await this.#verify(user, token);
      if (verified === undefined) return undefined;
      passwords.push(verified.password);
      accepted.push(verified.accept);
    }
    // Only a command accepted as a whole authenticates: then the deadline and the user move.
    for (const accept of accepted) accept();
    return passwords;
  }

  #isInternal(user: string): boolean {
    return this.#options.internalUser !== undefined &&
      user === this.#options.internalUser.username;
  }

  /**
   * Checks an internal link: the emulator's own user, accepted only from the
   * `redis-server` processes the emulator started (where `/proc` tells) and
   * with its password; it gets no deadline.
   */
  async #internal(password: string): Promise<string | undefined> {
    const internal = this.#options.internalUser!;
    const own = await peerIsOneOf(this.#client, internal.pids());
    if (own === false) {
      this.#log("internal link refused: the peer is not one of the emulator's own processes");
      return undefined;
    }
    if (!sameText(password, internal.password)) {
      this.#log("internal link refused: wrong password");
      return undefined;
    }
    this.#log("internal link (replication) let through as the emulator's backend user");
    return password;
  }

  /**
   * Verifies a token: on success, the backend password, and what to do once
   * the whole command is accepted (move the deadline, log it).
   */
  async #verify(
    user: string,
    token: string,
  ): Promise<{ password: string; accept: () => void } | undefined> {
    const { config, credentials, clock, backend, cache } = this.#options;
    const verdict = await verifyAuthToken(user, token, {
      config,
      credentials,
      now: clock.now(),
      cache,
    });
    if (!verdict.ok) {
      this.#log(`AUTH as ${describe(user)} refused: ${verdict.reason}`);
      return undefined;
    }
    const password = backend.passwordOf(verdict.user.userId);
    if (password === undefined) {
      this.#log(`AUTH as ${describe(user)} refused: the user has no backend ACL user`);
      return undefined;
    }
    const accept = () => {
      this.#userId = verdict.user.userId;
      this.#internalLink = false;
      this.deadline = clock.now() + config.connectionMaxAgeMs;
      this.#log(
        `AUTH as ${
          describe(user)
        } to ${verdict.cache.name} accepted for ${verdict.principal.arn}; open until ${
          new Date(this.deadline).toISOString()
        }`,
      );
      this.#onDeadlineChange();
    };
    return { password, accept };
  }

  async #relayReplies(backend: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_SIZE);
    try {
      for (;;) {
        const n = await backend.read(buffer);
        if (n === null) break;
        await writeAll(this.#client, buffer.subarray(0, n));
      }
    } catch {
      // Either side closed.
    } finally {
      this.close();
    }
  }

  /** Writes a reply line; returns true so callers can `return await this.#reply(…)`. */
  async #reply(line: string): Promise<boolean> {
    await writeAll(this.#client, encoder.encode(`${line}\r\n`));
    return true;
  }

  async #protocolError(message: string): Promise<void> {
    this.#log(`protocol error: ${message}`);
    try {
      if (this.#backend === undefined) await this.#reply(`-ERR Protocol error: ${message}`);
    } catch {
      // The client is gone.
    }
    this.close();
  }

  #log(line: string): void {
    // Reasons quote values from the client's token: keep them on one bounded line.
    const safe = line.replace(
      // deno-lint-ignore no-control-regex
      /[\x00-\x1f\x7f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
    this.#options.log(
      `gateway: #${this.id} ${safe.length > 600 ? `${safe.slice(0, 600)}…` : safe}`,
    );
  }
}

/** One user and token of a command, and where the token is. */
interface AuthOption {
  user: string;
  token: string;
  tokenIndex: number;
}

/** The credentials of an `AUTH user token` or `HELLO … AUTH user token`, if the command is one. */
function authArguments(
  name: string,
  args: Uint8Array[],
): { kind: "auth"; auths: AuthOption[] } | { kind: "refuse" } | undefined {
  if (name === "AUTH") {
    if (args.length === 3) {
      return {
        kind: "auth",
        auths: [{ user: text(args[1]!), token: text(args[2]!), tokenIndex: 2 }],
      };
    }
    return args.length === 2 ? { kind: "refuse" } : undefined;
  }
  if (name === "HELLO") {
    const hello = parseHello(args);
    if (!("error" in hello) && hello.auths.length > 0) return { kind: "auth", auths: hello.auths };
  }
  return undefined;
}

/** The command with each token replaced by its backend password. */
function withPasswords(
  args: Uint8Array[],
  auths: readonly AuthOption[],
  passwords: readonly string[],
): Uint8Array[] {
  const rewritten = args.slice();
  auths.forEach((auth, i) => rewritten[auth.tokenIndex] = encoder.encode(passwords[i]!));
  return rewritten;
}

/**
 * A malformed `HELLO` is forwarded for Redis to refuse in its own words, but
 * never with the client's token in it.
 */
function withoutPasswords(args: Uint8Array[]): Uint8Array[] {
  const copy = args.slice();
  for (let i = 2; i + 2 < copy.length; i++) {
    if (text(copy[i]!).toUpperCase() === "AUTH") copy[i + 2] = randomBytes();
  }
  return copy;
}

/** Parses `HELLO [protover [AUTH user pass] [SETNAME name]]` as Redis 7 does. */
function parseHello(
  args: Uint8Array[],
): { error: string } | { auths: AuthOption[] } {
  if (args.length >= 2) {
    const version = text(args[1]!);
    if (!/^-?\d+$/.test(version)) {
      return { error: "ERR Protocol version is not an integer or out of range" };
    }
    if (version !== "2" && version !== "3") {
      return { error: "NOPROTO unsupported protocol version" };
    }
  }
  const auths: AuthOption[] = [];
  for (let i = 2; i < args.length; i++) {
    const option = text(args[i]!);
    const more = args.length - i - 1;
    if (option.toUpperCase() === "AUTH" && more >= 2) {
      auths.push({ user: text(args[i + 1]!), token: text(args[i + 2]!), tokenIndex: i + 2 });
      i += 2;
    } else if (option.toUpperCase() === "SETNAME" && more >= 1) {
      i += 1;
    } else {
      return { error: `ERR Syntax error in HELLO option '${option}'` };
    }
  }
  return { auths };
}

/** Answers a connection the gateway will not serve, then closes it, without waiting on the client. */
function refuse(conn: Deno.Conn, reply: string): void {
  conn.write(encoder.encode(reply)).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Whether a command tries to authenticate (`AUTH …`, or `HELLO` with `AUTH`). */
function isAuthAttempt(args: Uint8Array[]): boolean {
  const name = decoder.decode(args[0]!).toUpperCase();
  return name === "AUTH" ||
    (name === "HELLO" && args.some((arg, i) => i >= 2 && text(arg).toUpperCase() === "AUTH"));
}

/** Compares two strings in time that depends only on their lengths. */
function sameText(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function randomBytes(): Uint8Array {
  return encoder.encode(crypto.randomUUID());
}

/** The RESP type byte a decoded value came as: what Redis names in `expected '$', got '…'`. */
function typeByteOf(value: unknown): string {
  if (Array.isArray(value)) return "*";
  if (value instanceof Map) return "%";
  if (value instanceof Set) return "~";
  if (typeof value === "bigint") return "(";
  if (typeof value === "number") return Number.isInteger(value) ? ":" : ",";
  if (typeof value === "boolean") return "#";
  if (value === null) return "_";
  if (value instanceof Error) return "-";
  return "+";
}
