/**
 * The client's options: their types, defaults and checks.
 *
 * @module
 */

import { expandUrl, type UrlOptions } from "./url_options.ts";
import { checkHost, describe, isLoopback } from "../_checks.ts";
import { parseEndpoint, readEndpoint } from "../endpoint.ts";
import { reauthAfterOption } from "../auth/policy.ts";
import type { AuthCredentials, AuthProvider } from "../auth/types.ts";
import { type DecoderLimits, RespDecoder } from "../resp/decoder.ts";
import type { Push } from "../resp/types.ts";
import type { TransportFactory } from "../transport/types.ts";
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

/** Options of {@linkcode connect}: where (`url`, or `host` and `port`), how, and as whom. */
export interface ConnectOptions extends UrlOptions {
  /**
   * The server's host name or IP address (the cache's endpoint). Give it or
   * `url`.
   */
  host?: string;
  /**
   * The server's port.
   *
   * @default {6379}
   */
  port?: number;
  /**
   * Whether to use TLS. ElastiCache IAM authentication requires it.
   *
   * @default {true} except for a loopback host (`localhost`, an IPv4 literal in
   * `127.0.0.0/8`, `::1`), where it is `false`; plaintext to any other host
   * (names under `.localhost` included) needs `tls: false`
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
   * command reconnects with a fresh token): a server that stopped answering
   * (a peer gone without a FIN, as after a NAT timeout or a Lambda freeze)
   * costs one timeout, not a hung client. A blocking command (`BLPOP q 5`,
   * `XREAD BLOCK 100 …`, `WAIT`) gets its own timeout on top; one that
   * blocks until served (timeout 0) has none, and commands queued behind it
   * wait with it. `Infinity` turns the limit off.
   *
   * @default {5000}
   */
  commandTimeout?: number;
  /**
   * What one reply may decode to, so that a broken or hostile server cannot
   * exhaust the heap: past a limit the command fails with a `ProtocolError`
   * and the connection closes (the next command reconnects). The defaults fit
   * any real reply, up to Redis' largest value (`maxReplyBytes` 512 MiB of
   * decoded size, `maxReplyElements` 16,777,216 values); in a small heap (a
   * 128 to 512 MB Lambda) lower `maxReplyBytes` to what you can spare.
   *
   * @default {the decoder's defaults (see `DecoderLimits`)}
   */
  replyLimits?: DecoderLimits;
  /**
   * After how long a connection authenticated by a provider is re-authenticated
   * with a fresh token, in ms: above 0 and at most 42600000 (11 h 50 min),
   * since ElastiCache closes IAM connections 12 hours after their last
   * authentication; `false` turns re-authentication off.
   *
   * @default {39600000} 11 hours
   */
  reauthAfter?: number | false;
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
   * re-authentication, a subscription that could not be restored, an
   * exception thrown by a subscription listener. Without it they are not
   * lost: a failed re-authentication is kept, and when the connection
   * reaches the server's 12-hour cut without a successful one, the next
   * command fails with a `ConnectionClosedError` whose `cause` is that
   * failure (the command after it reconnects with a fresh token); a failed
   * reconnect surfaces in the commands it fails; anything else goes to the
   * runtime's uncaught-error path (`reportError`), as an exception thrown
   * by an event listener does.
   *
   * @default {undefined}
   */
  onError?: (error: Error) => void;
  /**
   * Receives RESP3 push frames that are not pub/sub messages (such as
   * client-side caching invalidations).
   */
  onPush?: (push: Push) => void;
  /**
   * Send single commands that only read keys' data (`GET`, `MGET`,
   * `HGETALL`, `EVAL_RO`, …) to the cache's reader endpoint, as
   * `connectCluster`'s `replicaReads` sends them to replicas. They go over a
   * second connection, opened on the first such read and authenticated,
   * re-authenticated, reconnected, timed out and closed as the first one is,
   * with `READONLY` after the auth. Writes, `PING`/`INFO`, pipelines,
   * transactions, pub/sub, and every command between `WATCH` or `MULTI` and
   * `EXEC`, `DISCARD` or `UNWATCH` stay on the endpoint's connection. The
   * reader replicates asynchronously: a read may not see a write that just
   * succeeded. When the reader cannot be reached, reads fail (with a
   * `ConnectionClosedError` naming it); they never fall back to the endpoint.
   * Where the reader is: `readerEndpoint`.
   *
   * @default {false}
   */
  replicaReads?: boolean;
  /**
   * With `replicaReads`, the reader endpoint, as the AWS console shows it
   * (`host:port`, a host, or a URL, whose host and port are used). A host
   * without a port is on the endpoint's port, or on the next one for the
   * endpoint's own host.
   *
   * @default {for a serverless cache (and any host that is not an AWS endpoint,
   * such as the emulator's), the same host on the next port (6380 beside
   * 6379); for a replication group's primary endpoint (`master.…`), its reader
   * endpoint (`replica.…`) on the same port}
   */
  readerEndpoint?: string;
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
  replyLimits: DecoderLimits | undefined;
  reauthAfter: number | false;
  reconnect: Required<ReconnectOptions> | false;
  transport: TransportFactory;
  now: () => number;
  timers: Timers;
  onError: ((error: Error) => void) | undefined;
  onPush: ((push: Push) => void) | undefined;
  label: string;
  /** Where `replicaReads` sends reads, if anywhere. */
  reader: { hostname: string; port: number; servername: string | undefined } | undefined;
  /** Whether the handshake ends with `READONLY` (the reader's connection). */
  readOnly: boolean;
}

/** The default `commandTimeout`, in ms (as node-redis v6). */
const DEFAULT_COMMAND_TIMEOUT = 5000;

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
  options = expandUrl("Cannot connect", options);
  const host = options.host;
  if (typeof host !== "string" || host.length === 0) {
    throw new TypeError(
      `Cannot connect: 'host' (or 'url') must be a non-empty string, got ${describe(host)}`,
    );
  }
  checkHost("Cannot connect", "host", host);
  const hostname = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (options.servername !== undefined) {
    checkHost("Cannot connect", "servername", options.servername);
  }
  const port = integer("port", options.port, 6379, 1, 65535);
  const loopback = isLoopback(hostname);
  if (options.tls !== undefined && typeof options.tls !== "boolean") {
    throw new TypeError(`Cannot connect: 'tls' must be a boolean, got ${describe(options.tls)}`);
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
    throw new RangeError(`Cannot connect: 'protocol' must be 2 or 3, got ${describe(protocol)}`);
  }
  const db = options.db === undefined ? undefined : integer("db", options.db, 0, 0, 2 ** 31 - 1);
  if (options.clientName !== undefined && !/^[!-~]+$/.test(options.clientName)) {
    throw new TypeError(
      `Cannot connect: 'clientName' must be printable ASCII without spaces, got ${
        describe(options.clientName)
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
    commandTimeout: options.commandTimeout === Infinity ? undefined : integer(
      "commandTimeout",
      options.commandTimeout,
      DEFAULT_COMMAND_TIMEOUT,
      1,
      2 ** 31 - 1,
      ", or Infinity for no limit",
    ),
    replyLimits: replyLimitsOption(options.replyLimits),
    reauthAfter: reauthAfterOption("Cannot connect", options.reauthAfter),
    reconnect,
    transport,
    now: options.now ?? Date.now,
    timers: options.timers ?? systemTimers,
    onError: options.onError,
    onPush: options.onPush,
    label: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    reader: readerOption(options, hostname, port),
    readOnly: false,
  };
}

/**
 * Where `replicaReads` sends reads: see {@linkcode ConnectOptions.readerEndpoint}.
 */
function readerOption(
  options: ConnectOptions,
  hostname: string,
  port: number,
): ResolvedOptions["reader"] {
  const { replicaReads, readerEndpoint } = options;
  if (replicaReads !== undefined && typeof replicaReads !== "boolean") {
    throw new TypeError(
      `Cannot connect: 'replicaReads' must be a boolean, got ${describe(replicaReads)}`,
    );
  }
  if (replicaReads !== true) {
    if (readerEndpoint !== undefined) {
      throw new TypeError(
        "Cannot connect: 'readerEndpoint' applies to replica reads; add 'replicaReads: true'",
      );
    }
    return undefined;
  }
  if (readerEndpoint !== undefined) {
    const reader = readEndpoint("Cannot connect", "readerEndpoint", readerEndpoint);
    const same = reader.host === hostname.toLowerCase();
    return {
      hostname: reader.host,
      port: reader.port ?? nextPort(same ? port + 1 : port),
      servername: same ? options.servername : undefined,
    };
  }
  const role = hostname.includes(":") ? undefined : parseEndpoint(hostname).cache?.role;
  if (role === "primary") {
    // master.<group>.<id>.<rc>.cache.amazonaws.com → replica.<group>.…, the group's reader endpoint.
    return {
      hostname: `replica.${hostname.slice(hostname.indexOf(".") + 1)}`,
      port,
      servername: undefined,
    };
  }
  if (role !== undefined && role !== "serverless" && role !== "public") {
    throw new TypeError(
      `Cannot connect: 'replicaReads' finds no reader endpoint for ${hostname}, a ${role} endpoint: ` +
        (role === "reader"
          ? "connect to the primary endpoint (master.…) with replicaReads: true, or give 'readerEndpoint'"
          : "for a cluster, use connectCluster({ replicaReads: true }) from '@elasticache-iam/connector/cluster', which reads from each shard's replicas"),
    );
  }
  return { hostname, port: nextPort(port + 1), servername: options.servername };
}

function nextPort(port: number): number {
  if (port > 65535) {
    throw new RangeError(
      "Cannot connect: 'replicaReads' reads from the next port, and 'port' is 65535; give 'readerEndpoint' with its port",
    );
  }
  return port;
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  alternative = "",
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot connect: '${name}' must be an integer from ${min} to ${max}${alternative}, got ${
        describe(value)
      }`,
    );
  }
  return value;
}

/** Checks `replyLimits` the way the decoder will, so that a bad limit fails before any connect. */
function replyLimitsOption(limits: DecoderLimits | undefined): DecoderLimits | undefined {
  if (limits === undefined) return undefined;
  if (limits === null || typeof limits !== "object") {
    throw new TypeError(`Cannot connect: 'replyLimits' must be an object, got ${describe(limits)}`);
  }
  try {
    new RespDecoder(limits);
  } catch (error) {
    throw new RangeError(
      `Cannot connect: 'replyLimits' is out of range: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { ...limits };
}
