/**
 * The client's options: their types, defaults and checks.
 *
 * @module
 */

import type { Push } from "../resp/types.ts";
import type { TransportFactory } from "../transport/types.ts";
import type { AuthCredentials, AuthProvider } from "./handshake.ts";
import { systemTimers, type Timers } from "./timers.ts";

/** How a dropped connection is re-established. */
export interface ReconnectOptions {
  /**
   * How many times to try before the waiting commands fail. Each try opens a
   * new connection with credentials that are valid now.
   *
   * @default {4}
   */
  attempts?: number;
  /**
   * The backoff cap after the first failed try, in ms; it doubles per try,
   * and the actual delay is jittered between half and all of it.
   *
   * @default {50}
   */
  minDelay?: number;
  /**
   * The largest backoff cap, in ms.
   *
   * @default {2000}
   */
  maxDelay?: number;
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** The server's host name or IP address (the cache's endpoint). */
  host: string;
  /**
   * The server's port.
   *
   * @default {6379}
   */
  port?: number;
  /**
   * Whether to use TLS. ElastiCache IAM authentication requires it.
   *
   * @default {true} except for a loopback host (`localhost`, `127.0.0.0/8`, `::1`),
   * where it is `false`; plaintext to any other host needs `tls: false`
   */
  tls?: boolean;
  /** The TLS server name, when it differs from `host` (for example through a tunnel). */
  servername?: string;
  /** CA certificates to trust, PEM-encoded: for private CAs and the emulator. */
  caCerts?: string | readonly string[];
  /**
   * Who to authenticate as: a provider such as `IamAuth` (asked for fresh
   * credentials on every connect and re-auth), static credentials, or nothing.
   */
  auth?: AuthProvider | AuthCredentials;
  /**
   * The RESP protocol version. RESP3 is needed for pub/sub on the shared connection.
   *
   * @default {3}
   */
  protocol?: 2 | 3;
  /**
   * The database to select.
   *
   * @default {0}
   */
  db?: number;
  /** A name for `CLIENT SETNAME`, shown by `CLIENT LIST`. */
  clientName?: string;
  /**
   * How long connecting (socket, TLS and handshake) may take, in ms.
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * How long a command may wait for its reply, in ms. A command that times
   * out fails with a `TimeoutError` and the connection is closed (the next
   * command reconnects). Leave unset with blocking commands.
   *
   * @default {undefined} no limit
   */
  commandTimeout?: number;
  /**
   * After how long a connection authenticated by a provider is re-authenticated
   * with a fresh token, in ms. ElastiCache closes IAM connections 12 hours
   * after their last authentication.
   *
   * @default {39600000} 11 hours
   */
  reauthAfter?: number;
  /**
   * How dropped connections are re-established, or `false` to never reconnect.
   *
   * @default {{ attempts: 4, minDelay: 50, maxDelay: 2000 }}
   */
  reconnect?: ReconnectOptions | false;
  /**
   * Opens the socket.
   *
   * @default {defaultTransport} `Deno.connect`/`Deno.connectTls` on Deno,
   * `node:net`/`node:tls` on Node.js and Bun
   */
  transport?: TransportFactory;
  /**
   * The clock, in ms since the epoch; tests move it instead of sleeping.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers for re-auth, backoff and timeouts; tests fire them by hand.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
  /**
   * Receives failures that no command call can report: a failed background
   * re-authentication, a lost subscription, an exception thrown by a
   * subscription listener.
   *
   * @default {undefined} such failures are dropped
   */
  onError?: (error: Error) => void;
  /**
   * Receives RESP3 push frames that are not pub/sub messages (such as
   * client-side caching invalidations).
   */
  onPush?: (push: Push) => void;
}

/** The options after defaults and checks. */
export interface ResolvedOptions {
  hostname: string;
  port: number;
  tls: boolean;
  servername: string | undefined;
  caCerts: readonly string[] | undefined;
  auth: AuthProvider | AuthCredentials | undefined;
  protocol: 2 | 3;
  db: number | undefined;
  clientName: string | undefined;
  connectTimeout: number;
  commandTimeout: number | undefined;
  reauthAfter: number;
  reconnect: Required<ReconnectOptions> | false;
  transport: TransportFactory;
  now: () => number;
  timers: Timers;
  onError: ((error: Error) => void) | undefined;
  onPush: ((push: Push) => void) | undefined;
  label: string;
}

const ELEVEN_HOURS = 11 * 60 * 60 * 1000;

/**
 * Checks the options and fills in defaults.
 *
 * @param options The caller's options.
 * @param fallbackTransport The transport when `options.transport` is not given.
 * @returns The resolved options.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function resolveOptions(
  options: ConnectOptions,
  fallbackTransport?: TransportFactory,
): ResolvedOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot connect: options must be an object, got ${typeof options}`);
  }
  const host = options.host;
  if (typeof host !== "string" || host.length === 0) {
    throw new TypeError(`Cannot connect: 'host' must be a non-empty string, got ${show(host)}`);
  }
  const hostname = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const port = integer("port", options.port, 6379, 1, 65535);
  const loopback = isLoopback(hostname);
  if (options.tls !== undefined && typeof options.tls !== "boolean") {
    throw new TypeError(`Cannot connect: 'tls' must be a boolean, got ${show(options.tls)}`);
  }
  const tls = options.tls ?? !loopback;
  const caCerts = options.caCerts === undefined
    ? undefined
    : typeof options.caCerts === "string"
    ? [options.caCerts]
    : [...options.caCerts];
  if (caCerts?.some((pem) => typeof pem !== "string" || !pem.includes("-----BEGIN"))) {
    throw new TypeError(
      "Cannot connect: 'caCerts' must be PEM certificates ('-----BEGIN CERTIFICATE-----…')",
    );
  }
  const auth = options.auth;
  if (auth !== undefined) {
    const provider = typeof (auth as AuthProvider).credentials === "function";
    if (!provider && typeof (auth as AuthCredentials).password !== "string") {
      throw new TypeError(
        "Cannot connect: 'auth' must be a provider with credentials() or { username, password }",
      );
    }
  }
  const protocol = options.protocol ?? 3;
  if (protocol !== 2 && protocol !== 3) {
    throw new RangeError(`Cannot connect: 'protocol' must be 2 or 3, got ${show(protocol)}`);
  }
  const db = options.db === undefined ? undefined : integer("db", options.db, 0, 0, 2 ** 31 - 1);
  if (options.clientName !== undefined && !/^[!-~]+$/.test(options.clientName)) {
    throw new TypeError(
      `Cannot connect: 'clientName' must be printable ASCII without spaces, got ${
        show(options.clientName)
      }`,
    );
  }
  const transport = options.transport ?? fallbackTransport;
  if (typeof transport !== "function") {
    throw new TypeError(
      "Cannot connect: 'transport' must be a transport factory (such as cloudflareTransport)",
    );
  }
  const reconnect = options.reconnect === false ? false : {
    attempts: integer("reconnect.attempts", options.reconnect?.attempts, 4, 0, 1000),
    minDelay: integer("reconnect.minDelay", options.reconnect?.minDelay, 50, 0, 3_600_000),
    maxDelay: integer("reconnect.maxDelay", options.reconnect?.maxDelay, 2000, 0, 3_600_000),
  };
  return {
    hostname,
    port,
    tls,
    servername: options.servername,
    caCerts,
    auth,
    protocol,
    db,
    clientName: options.clientName,
    connectTimeout: integer("connectTimeout", options.connectTimeout, 10_000, 1, 2 ** 31 - 1),
    commandTimeout: options.commandTimeout === undefined
      ? undefined
      : integer("commandTimeout", options.commandTimeout, 0, 1, 2 ** 31 - 1),
    reauthAfter: integer("reauthAfter", options.reauthAfter, ELEVEN_HOURS, 1, 2 ** 31 - 1),
    reconnect,
    transport,
    now: options.now ?? Date.now,
    timers: options.timers ?? systemTimers,
    onError: options.onError,
    onPush: options.onPush,
    label: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
  };
}

/**
 * Whether a host name stays on this machine.
 *
 * @param hostname A host name or IP address (IPv6 without brackets).
 * @returns `true` for `localhost`, `*.localhost`, `127.0.0.0/8` and `::1`.
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot connect: '${name}' must be an integer from ${min} to ${max}, got ${show(value)}`,
    );
  }
  return value;
}

function show(value: unknown): string {
  return typeof value === "string" ? `'${value}'` : String(value);
}
