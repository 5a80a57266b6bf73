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
 * Requests are read as Redis reads them (`request_reader.ts`): after
 * authentication the commands the gateway does not act on go to the backend
 * byte for byte, so Redis applies its own limits and protocol errors.
 *
 * @module
 */

import { describe, encodeCommand } from "@elasticache-iam/connector/internal";
import type { EmulatorClock } from "./clock.ts";
import type { ResolvedCache, ResolvedConfig } from "./config.ts";
import type { CredentialStore } from "./credential_store.ts";
import { verifyAuthToken } from "./auth_token_verifier.ts";
import { peerIsOneOf } from "./local_peer.ts";
import type { RedisBackend } from "./redis_backend.ts";
import { QUERY_BUFFER_LIMIT, RequestReader } from "./request_reader.ts";
import { type ClientConn, type ClientListener, listenTls13 } from "./tls13_listener.ts";

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

/** A gateway's TLS settings. */
export interface GatewayTls {
  /** The certificate chain (PEM). */
  cert: string;
  /** The private key (PEM). */
  key: string;
  /** The CA certificate handed to clients (PEM). */
  caCertPem: string;
  /**
   * The lowest TLS version accepted: `TLSv1.3` refuses TLS 1.2 handshakes, as
   * the public endpoints of ElastiCache Serverless do.
   *
   * @default {"TLSv1.2"}
   */
  minVersion?: "TLSv1.2" | "TLSv1.3";
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
  /** The TLS certificate chain and key (PEM), the CA certificate handed to clients, and the lowest TLS version. */
  tls?: GatewayTls;
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
 * import { connect } from "@elasticache-iam/connector";
 * import { IamAuth } from "@elasticache-iam/connector";
 * import { startEmulator, WRONGPASS } from "../mod.ts";
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
 * import { NOAUTH } from "../mod.ts";
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
 * import { connect } from "@elasticache-iam/connector";
 * import { NOAUTH_HELLO, startEmulator } from "../mod.ts";
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
 * import { AUTH_IN_MULTI_COMMAND } from "../mod.ts";
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
/**
 * The commands the gateway acts on once a connection has authenticated:
 * authentication (checked, and rewritten with the backend password), and
 * what decides whether an IAM `AUTH` would land inside `MULTI`. Every other
 * command goes to the backend as the client sent it.
 */
const INSPECTED = new Set([
  "AUTH",
  "HELLO",
  "MULTI",
  "EXEC",
  "DISCARD",
  "RESET",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
]);
/** How long a failed `accept()` (out of file descriptors) waits before the next try. */
const ACCEPT_RETRY_MS = 100;
const READ_BUFFER_SIZE = 64 * 1024;

/**
 * The gateway's listener and its connections.
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #listener: ClientListener;
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
   * Starts listening on `127.0.0.1`: plain TCP, TLS (`Deno.listenTls`: TLS
   * 1.2 and 1.3), or TLS 1.3 only (`tls.minVersion`; see `tls13_listener.ts`).
   *
   * @param options The configuration, keys, clock, backend, log, port and TLS material.
   * @returns The gateway, listening.
   * @throws {Error} If the port cannot be bound (`cause`: `Deno.errors.AddrInUse` when it is taken).
   */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const port = options.port ?? 0;
    const { tls } = options;
    let listener: ClientListener;
    try {
      listener = tls === undefined
        ? Deno.listen({ hostname: "127.0.0.1", port })
        : tls.minVersion === "TLSv1.3"
        ? await listenTls13({
          hostname: "127.0.0.1",
          port,
          cert: tls.cert,
          key: tls.key,
          handshakeTimeoutMs: options.config.authTimeoutMs,
          onHandshakeError: (error) =>
            options.log(
              `gateway: TLS handshake refused (this endpoint accepts TLS 1.3 only): ${
                oneLine(error.message)
              }`,
            ),
        })
        : Deno.listenTls({ hostname: "127.0.0.1", port, cert: tls.cert, key: tls.key });
    } catch (error) {
      throw new Error(`Cannot start the emulator's gateway on 127.0.0.1:${port}`, { cause: error });
    }
    return new Gateway(options, listener);
  }

  private constructor(options: GatewayOptions, listener: ClientListener) {
    this.#options = options;
    this.#listener = listener;
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
    let listenerClosed: void | Promise<void> = undefined;
    try {
      listenerClosed = this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#acceptLoop;
    for (const session of this.#sessions) session.close();
    await Promise.all(this.#tasks);
    await listenerClosed;
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
      let conn: ClientConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return; // Closed.
        // Out of file descriptors, or a connection reset before it was accepted: the
        // listener is fine, so keep serving once descriptors are free again.
        this.#options.log(`gateway: accept failed (${(error as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
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
  readonly #client: ClientConn;
  readonly #options: GatewayOptions;
  readonly #onDeadlineChange: () => void;
  /** The client's requests, read as Redis reads them. */
  readonly #requests: RequestReader;
  #backend: Deno.TcpConn | undefined;
  #relay: Promise<void> | undefined;
  /** Closes the connection if it has not authenticated in time. */
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #inMulti = false;
  /** After `RESET`, the backend connection is its `default` user, which is off: nothing runs until an `AUTH`. */
  #reset = false;
  /** The protocol the backend connection speaks (`HELLO`); `RESET` goes back to 2. */
  #protocol = 2;
  /** The channels, patterns and shard channels the connection is subscribed to (RESP2 refuses `MULTI` then). */
  readonly #subscriptions = {
    SUBSCRIBE: new Set<string>(),
    PSUBSCRIBE: new Set<string>(),
    SSUBSCRIBE: new Set<string>(),
  };
  /** The backend user the connection is authenticated as (`undefined` for an internal link). */
  #userId: string | undefined;
  /** Whether the connection is a replica's internal link. */
  #internalLink = false;
  #closed = false;
  /** When the connection must be closed unless re-authenticated (emulator ms). */
  deadline: number | undefined;

  constructor(id: number, client: ClientConn, options: GatewayOptions, onDeadline: () => void) {
    this.id = id;
    this.#client = client;
    this.#options = options;
    this.#onDeadlineChange = onDeadline;
    this.#requests = new RequestReader({
      inspected: INSPECTED,
      serverless: options.cache.kind === "serverless",
    });
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
      while (!this.#closed && await this.#handleRequests()) {
        const n = await this.#client.read(buffer);
        if (n === null) break;
        this.#requests.push(buffer.subarray(0, n));
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
   * Handles every request read so far, in order: bytes to pass on are
   * written to the backend together, and before anything the gateway
   * answers or rewrites. A request over a limit ends the connection as
   * Redis ends it (before authentication with the gateway's reply; after,
   * with the backend's own). Returns false when the connection must end.
   */
  async #handleRequests(): Promise<boolean> {
    const pending: Uint8Array[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await writeAll(this.#backend!, pending.length === 1 ? pending[0]! : concat(pending));
      pending.length = 0;
    };
    for (;;) {
      if (this.#closed) return false;
      const request = this.#requests.next(this.authenticated);
      if (request === undefined) break;
      if (request.kind === "bytes") {
        if (request.fault !== undefined) {
          this.#log(`protocol error, answered by the backend: ${request.fault}`);
        }
        pending.push(request.bytes);
        continue;
      }
      await flush();
      if (request.kind === "overflow") {
        this.#log(`closed: a command exceeds the query buffer limit (${QUERY_BUFFER_LIMIT} bytes)`);
        return false;
      }
      if (request.kind === "error") {
        await this.#protocolError(request.message);
        return false;
      }
      if (!await this.#command(request.args, request.raw)) return false;
    }
    await flush();
    return true;
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

  /**
   * Handles one whole command: before authentication, the gateway answers
   * it; after, an authentication is checked and rewritten, and the other
   * commands it reads are followed and passed on as they came. Returns false
   * when the connection must end.
   */
  async #command(args: Uint8Array[], raw: Uint8Array): Promise<boolean> {
    const name = text(args[0]!).toUpperCase();
    if (this.#backend === undefined) return await this.#beforeAuth(name, args);
    const auth = authArguments(name, args);
    if (auth === undefined) {
      this.#follow(name, args);
      await writeAll(
        this.#backend,
        name === "HELLO" ? encodeCommand(withoutPasswords(args)) : raw,
      );
      return true;
    }
    if (this.#inMulti) {
      this.#log(`${name} inside MULTI refused: IAM authentication is not supported in MULTI`);
      await writeAll(this.#backend, encodeCommand([AUTH_IN_MULTI_COMMAND]));
      return true;
    }
    const passwords = auth.kind === "auth" ? await this.#verifyAll(auth.auths) : undefined;
    if (auth.kind === "refuse" || passwords === undefined) {
      if (auth.kind === "refuse") {
        this.#log("AUTH with a password only refused: IAM needs a user name");
      }
      await writeAll(
        this.#backend,
        encodeCommand([encoder.encode("AUTH"), encoder.encode(REFUSED_USER), randomBytes()]),
      );
      return true;
    }
    if (name === "HELLO") this.#helloAccepted(args);
    await writeAll(this.#backend, encodeCommand(withPasswords(args, auth.auths, passwords)));
    return true;
  }

  /**
   * Follows the backend connection's state as the backend keeps it, so that
   * the gateway knows whether an IAM `AUTH` would land inside `MULTI`: a
   * `MULTI` opens a transaction only if the user's ACL allows it, it has no
   * argument, the connection is not reset (`RESET` leaves it as the disabled
   * `default` user) and, in RESP2, not subscribed; an `EXEC` or `DISCARD`
   * the ACL refuses closes none.
   */
  #follow(name: string, args: Uint8Array[]): void {
    switch (name) {
      case "RESET":
        this.#inMulti = false;
        this.#reset = true;
        this.#protocol = 2;
        for (const set of Object.values(this.#subscriptions)) set.clear();
        return;
      case "HELLO":
        // Without AUTH, HELLO applies to the connection as it is.
        if (!this.#reset) this.#helloAccepted(args);
        return;
      case "SUBSCRIBE":
      case "PSUBSCRIBE":
      case "SSUBSCRIBE":
        if (this.#inMulti || this.#reset) return;
        for (const channel of args.slice(1)) this.#subscriptions[name].add(text(channel));
        return;
      case "UNSUBSCRIBE":
      case "PUNSUBSCRIBE":
      case "SUNSUBSCRIBE": {
        if (this.#inMulti || this.#reset) return;
        // UNSUBSCRIBE → SUBSCRIBE, PUNSUBSCRIBE → PSUBSCRIBE, SUNSUBSCRIBE → SSUBSCRIBE.
        const set = this.#subscriptions[
          name.replace("UN", "") as "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE"
        ];
        if (args.length === 1) set.clear();
        for (const channel of args.slice(1)) set.delete(text(channel));
        return;
      }
      case "MULTI":
      case "EXEC":
      case "DISCARD": {
        const allowed = this.#userId === undefined
          ? this.#internalLink
          : this.#options.backend.transactionsOf(this.#userId)?.[
            name.toLowerCase() as "multi" | "exec" | "discard"
          ] === true;
        if (!allowed || args.length !== 1 || this.#reset) return;
        if (name === "MULTI" && this.#protocol === 2 && this.#subscribed()) return;
        this.#inMulti = name === "MULTI";
      }
    }
  }

  /** A `HELLO` the backend accepts sets the protocol it names. */
  #helloAccepted(args: Uint8Array[]): void {
    if (args.length < 2 || "error" in parseHello(args)) return;
    this.#protocol = Number(text(args[1]!));
  }

  #subscribed(): boolean {
    return Object.values(this.#subscriptions).some((set) => set.size > 0);
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
          this.#reset = false;
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
      this.#reset = false;
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
      // As Redis' error replies: a line end in the message would break the protocol.
      const line = message.replace(/[\r\n]/g, " ");
      if (this.#backend === undefined) await this.#reply(`-ERR Protocol error: ${line}`);
    } catch {
      // The client is gone.
    }
    this.close();
  }

  #log(line: string): void {
    this.#options.log(`gateway: #${this.id} ${oneLine(line)}`);
  }
}

/** Reasons quote values from the client's token: a line to log keeps them on one bounded line. */
function oneLine(line: string): string {
  const safe = line.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return safe.length > 600 ? `${safe.slice(0, 600)}…` : safe;
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
function refuse(conn: ClientConn, reply: string): void {
  conn.write(encoder.encode(reply)).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  });
}

async function writeAll(conn: ClientConn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
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

/** One buffer holding the chunks in order. */
function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
