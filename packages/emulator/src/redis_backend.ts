/**
 * The Redis server behind the gateway: a `redis-server` the emulator starts
 * on a free loopback port (or an existing one), with every configured user
 * created as an ACL user under a random per-start password, so that Redis
 * itself enforces their access strings, and with the default user disabled.
 *
 * @module
 */

import { ReplyError, type RespValue } from "@elasticache-iam/connector";
import type { CommandArg } from "@elasticache-iam/connector/types";
import { encodeCommands, RespDecoder } from "@elasticache-iam/connector/internal";
import { ADMIN_USER, type BackendConfig, type ResolvedUser } from "./config.ts";

export { ADMIN_USER };

/** What the backend lets a user do about transactions (from `ACL DRYRUN`, once at set-up). */
export interface TransactionPermissions {
  /** Whether `MULTI` is allowed (else the server refuses it, and no transaction opens). */
  readonly multi: boolean;
  /** Whether `EXEC` is allowed (else it is refused, and the transaction stays open). */
  readonly exec: boolean;
  /** Whether `DISCARD` is allowed. */
  readonly discard: boolean;
}

/** The backend as the gateway uses it. */
export interface RedisBackend {
  /** Its host. */
  readonly hostname: string;
  /** Its port. */
  readonly port: number;
  /**
   * The backend password of a user.
   *
   * @param userId The user id.
   * @returns The password, or `undefined` for an unknown user.
   */
  passwordOf(userId: string): string | undefined;
  /**
   * What a user may do about transactions, so that the gateway knows, as the
   * server does, whether a `MULTI` opened one.
   *
   * @param userId The user id.
   * @returns The permissions, or `undefined` for an unknown user.
   */
  transactionsOf(userId: string): TransactionPermissions | undefined;
  /** Stops the server the emulator started, or removes its users from a given one. */
  close(): Promise<void>;
}

/**
 * The commands ElastiCache makes unavailable (AWS's "Restricted commands",
 * plus `MODULE`), but for the replication ones: a server the emulator starts
 * renames them to names only the emulator knows, so every client gets Redis'
 * own reply to an unknown command (`ERR unknown command 'CONFIG', …`, what
 * ElastiCache is reported to answer), inside `MULTI`, scripts and pipelines
 * alike. On an existing server the IAM users' ACL denies them instead.
 *
 * Each gets its own random name, so a name that leaks gives away no other.
 * The emulator uses them only where no client can see the name: Redis hides
 * commands flagged `admin` (all of these but `MIGRATE` and the `HELP`
 * subcommands) from `MONITOR`, and those it never runs (see
 * {@linkcode RedisServerProcess.commandName}).
 *
 * @example
 * ```ts
 * import { RENAMED_COMMANDS } from "./redis_backend.ts";
 *
 * console.log(RENAMED_COMMANDS.includes("CONFIG")); // true
 * ```
 */
export const RENAMED_COMMANDS: readonly string[] = [
  "BGREWRITEAOF",
  "BGSAVE",
  "CONFIG",
  "DEBUG",
  "MIGRATE",
  "REPLICAOF",
  "SAVE",
  "SLAVEOF",
  "SHUTDOWN",
  "MODULE",
];

/**
 * The replication commands, also restricted on ElastiCache: Redis tells `SYNC`
 * from `PSYNC` by the name it is called with, so they keep their names (the
 * emulator's replicas use them) and the IAM users' ACL denies them: a client
 * gets Redis' `NOPERM` reply (ElastiCache's own reply to them is not
 * documented). They cannot run in `MULTI` or scripts anyway.
 *
 * @example
 * ```ts
 * import { DENIED_COMMANDS } from "./redis_backend.ts";
 *
 * console.log(DENIED_COMMANDS); // ["SYNC", "PSYNC"]
 * ```
 */
export const DENIED_COMMANDS: readonly string[] = ["SYNC", "PSYNC"];

/**
 * `ACL` subcommands ElastiCache does not offer: only `WHOAMI`, `LIST`,
 * `USERS` and `CAT` are (read-only); the rest are denied to IAM users.
 */
const ACL_NOT_OFFERED = [
  "deluser",
  "dryrun",
  "genpass",
  "getuser",
  "help",
  "load",
  "log",
  "save",
  "setuser",
];

/**
 * The `CLUSTER` subcommands that change the cluster (every one Redis 7.0's
 * `COMMAND DOCS cluster` lists that writes), denied to IAM users: the cluster
 * is the emulator's to shape, as ElastiCache's is AWS's. A client that could
 * `CLUSTER MEET` a server of its own, claiming slots, would have the nodes
 * redirect other clients, and their IAM tokens, to it. The read-only ones
 * (`SHARDS`, `SLOTS`, `NODES`, `INFO`, `MYID`, `KEYSLOT`, `COUNTKEYSINSLOT`,
 * `GETKEYSINSLOT`, `LINKS`, `REPLICAS`, …) stay.
 *
 * @example
 * ```ts
 * import { CLUSTER_WRITES } from "./redis_backend.ts";
 *
 * console.log(CLUSTER_WRITES.includes("meet")); // true
 * ```
 */
export const CLUSTER_WRITES: readonly string[] = [
  "addslots",
  "addslotsrange",
  "bumpepoch",
  "delslots",
  "delslotsrange",
  "failover",
  "flushslots",
  "forget",
  "meet",
  "replicate",
  "reset",
  "saveconfig",
  "set-config-epoch",
  "setslot",
];

/**
 * Restricted commands (and subcommands) Redis 7 shows in `MONITOR`, which
 * hides those flagged `admin`: the emulator never runs them, since their
 * secret names would show.
 */
const SHOWN_BY_MONITOR: ReadonlySet<string> = new Set(["MIGRATE", "CONFIG|HELP", "MODULE|HELP"]);
const READY_LINE = "Ready to accept connections";
const START_TIMEOUT_MS = 10_000;
/** How long a stopping server gets after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/**
 * The watchdog of one `redis-server` (`$1`, its pid): a POSIX shell waiting on
 * a pipe only its owner holds. When the owner dies however it dies (a crash,
 * `Deno.exit()`, `SIGKILL`), the kernel closes the pipe, `read` returns, and the
 * watchdog stops the server: `SIGTERM`, then `SIGKILL` after 5 s. It ignores
 * the terminal's and a process group's signals, so that it outlives an owner
 * they kill; the owner's normal stop ends it with `SIGKILL`.
 */
const WATCHDOG_SCRIPT = `trap '' HUP INT TERM
read -r line
kill -TERM "$1" 2>/dev/null
n=0
while kill -0 "$1" 2>/dev/null && [ "$n" -lt 5 ]; do sleep 1; n=$((n + 1)); done
kill -KILL "$1" 2>/dev/null
`;
/** Rules of an access string that set passwords: the emulator sets its own. */
const PASSWORD_RULE = /^(nopass|resetpass|reset|[><#!].*)$/i;

/**
 * Starts (or connects to) the backend and creates the users.
 *
 * @param config Where the backend is, or which `redis-server` to start.
 * @param users The IAM-enabled users to create.
 * @param log The emulator's log.
 * @returns The backend.
 * @throws {Error} If `redis-server` is missing or fails to start, or a user cannot be created.
 */
export async function startRedisBackend(
  config: BackendConfig | undefined,
  users: readonly ResolvedUser[],
  log: (line: string) => void,
): Promise<RedisBackend> {
  const passwords = new Map(users.map((user) => [user.userId, randomPassword()]));
  const adminPassword = randomPassword();
  if (config?.port !== undefined) {
    const hostname = config.hostname ?? "127.0.0.1";
    const admin = await AdminConnection.open(hostname, config.port);
    let defaultWasOn: boolean;
    let transactions: Map<string, TransactionPermissions>;
    try {
      if (config.username !== undefined || config.password !== undefined) {
        await admin.run([[
          "AUTH",
          ...(config.username ? [config.username] : []),
          config.password ?? "",
        ]]);
      }
      defaultWasOn = flagsOf(await admin.run([["ACL", "GETUSER", "default"]]).then((r) => r[0]))
        .includes("on");
      // Commands cannot be renamed on a server the emulator did not start: the ACL denies them.
      transactions = await setUpUsers(admin, users, passwords, adminPassword, [
        ...RENAMED_COMMANDS,
        ...DENIED_COMMANDS,
      ]);
    } catch (error) {
      admin.close();
      throw error;
    }
    log(`backend: using redis at ${hostname}:${config.port} with ${users.length} ACL user(s)`);
    return {
      hostname,
      port: config.port,
      passwordOf: (userId) => passwords.get(userId),
      transactionsOf: (userId) => transactions.get(userId),
      async close() {
        try {
          await admin.run([
            ["ACL", "DELUSER", ...passwords.keys()],
            ...(defaultWasOn ? [["ACL", "SETUSER", "default", "on"]] : []),
          ]);
          await admin.run([["ACL", "DELUSER", ADMIN_USER]]).catch(() => {});
        } catch {
          // The backend may be gone already.
        } finally {
          admin.close();
        }
      },
    };
  }
  const server = await RedisServerProcess.start(config?.redisServer ?? "redis-server");
  let transactions: Map<string, TransactionPermissions>;
  try {
    const admin = await AdminConnection.open("127.0.0.1", server.port);
    try {
      transactions = await setUpUsers(admin, users, passwords, adminPassword, DENIED_COMMANDS);
    } finally {
      admin.close();
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  log(
    `backend: started redis-server (pid ${server.pid}) on 127.0.0.1:${server.port} with ${users.length} ACL user(s)`,
  );
  return {
    hostname: "127.0.0.1",
    port: server.port,
    passwordOf: (userId) => passwords.get(userId),
    transactionsOf: (userId) => transactions.get(userId),
    close: () => server.stop(),
  };
}

/**
 * Turns an ElastiCache access string into Redis `ACL SETUSER` rules: its
 * password rules are dropped, and channels default to all channels unless
 * the access string sets them.
 *
 * @param accessString The access string, such as `on ~* +@all`.
 * @returns The rules, without the password.
 */
export function aclRules(accessString: string, denied: readonly string[] = []): string[] {
  const rules = accessString.trim().split(/\s+/).filter((rule) =>
    rule !== "" && !PASSWORD_RULE.test(rule)
  );
  const setsChannels = rules.some((rule) =>
    rule.startsWith("&") || /^(allchannels|resetchannels)$/i.test(rule)
  );
  // Whatever the access string grants, ACL and CLUSTER stay read-only (and `denied` stays denied).
  return [
    "reset",
    ...(setsChannels ? [] : ["allchannels"]),
    ...rules,
    ...ACL_NOT_OFFERED.map((sub) => `-acl|${sub}`),
    ...CLUSTER_WRITES.map((sub) => `-cluster|${sub}`),
    ...denied.map((name) => `-${name.toLowerCase()}`),
  ];
}

/**
 * Creates the emulator's admin user (and authenticates as it), then every
 * IAM-enabled user with its backend password, then disables `default`.
 *
 * @param admin A connection to the backend, authenticated as a user allowed to run `ACL SETUSER`.
 * @param users The users.
 * @param passwords Each user's backend password.
 * @param adminPassword The admin user's password.
 * @throws {Error} If a user cannot be created.
 */
export async function setUpUsers(
  admin: AdminConnection,
  users: readonly ResolvedUser[],
  passwords: ReadonlyMap<string, string>,
  adminPassword: string,
  denied: readonly string[] = [],
): Promise<Map<string, TransactionPermissions>> {
  await admin.run([
    ["ACL", "SETUSER", ADMIN_USER, "reset", "on", `>${adminPassword}`, "~*", "&*", "+@all"],
    ["AUTH", ADMIN_USER, adminPassword],
  ]);
  const transactions = new Map<string, TransactionPermissions>();
  for (const user of users) {
    try {
      await admin.run([[
        "ACL",
        "SETUSER",
        user.userId,
        ...aclRules(user.accessString, denied),
        `>${passwords.get(user.userId)}`,
      ]]);
    } catch (error) {
      throw new Error(
        `Cannot create ACL user '${user.userId}' on the backend from access string ${
          JSON.stringify(user.accessString)
        }: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // ACL DRYRUN (Redis 7) answers OK, or a bulk string that says why not.
    const [multi, exec, discard] = await admin.run(
      ["MULTI", "EXEC", "DISCARD"].map((command) => ["ACL", "DRYRUN", user.userId, command]),
    );
    transactions.set(user.userId, {
      multi: multi === "OK",
      exec: exec === "OK",
      discard: discard === "OK",
    });
  }
  await admin.run([["ACL", "SETUSER", "default", "off"]]);
  return transactions;
}

/** The flags of an `ACL GETUSER` reply (RESP2: a flat list of names and values). */
function flagsOf(reply: RespValue | undefined): string[] {
  if (!Array.isArray(reply)) return [];
  const at = reply.indexOf("flags");
  const flags = at === -1 ? undefined : reply[at + 1];
  return Array.isArray(flags) ? flags.filter((f): f is string => typeof f === "string") : [];
}

/** How {@linkcode AdminConnection.run} reads replies. */
export interface AdminRunOptions {
  /** Bulk strings as `Uint8Array`. @default false */
  bytes?: boolean;
  /** Error replies returned in their places, not thrown. @default false */
  keepErrors?: boolean;
}

/** A one-request-at-a-time RESP connection for setting the backend up. */
export class AdminConnection {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = new RespDecoder();
  readonly #buffer = new Uint8Array(16 * 1024);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /**
   * Connects to a backend.
   *
   * @param hostname Its host.
   * @param port Its port.
   * @returns The connection.
   * @throws {Error} If the backend cannot be reached.
   */
  static async open(hostname: string, port: number): Promise<AdminConnection> {
    try {
      return new AdminConnection(await Deno.connect({ hostname, port }));
    } catch (error) {
      throw new Error(`Cannot connect to the emulator's backend at ${hostname}:${port}`, {
        cause: error,
      });
    }
  }

  /**
   * Sends commands in one write and reads one reply each (all of them, so the
   * connection stays usable after an error reply).
   *
   * @param commands The commands.
   * @param options `bytes`: bulk strings as `Uint8Array` (binary-safe, for
   * `DUMP` payloads and keys); `keepErrors`: error replies returned in their
   * places as {@linkcode ReplyError}s instead of thrown.
   * @returns Their replies.
   * @throws {ReplyError} The first error reply, unless `keepErrors`.
   * @throws {Error} If the backend closes the connection.
   */
  async run(
    commands: CommandArg[][],
    options: AdminRunOptions = {},
  ): Promise<RespValue[]> {
    const bytes = encodeCommands(commands);
    for (let written = 0; written < bytes.length;) {
      written += await this.#conn.write(bytes.subarray(written));
    }
    const replies: RespValue[] = [];
    while (replies.length < commands.length) {
      const reply = this.#decoder.read({ bytes: options.bytes === true });
      if (reply !== undefined) {
        replies.push(reply);
        continue;
      }
      const n = await this.#conn.read(this.#buffer);
      if (n === null) throw new Error("The emulator's backend closed the connection");
      this.#decoder.push(this.#buffer.subarray(0, n));
    }
    const error = replies.find((reply) => reply instanceof ReplyError);
    if (error !== undefined && options.keepErrors !== true) throw error;
    return replies;
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** Where and how {@linkcode RedisServerProcess.start} runs `redis-server`. */
export interface RedisServerProcessOptions {
  /** The port; without it, a free one (tried again if taken meanwhile). */
  port?: number;
  /** Arguments after the emulator's own. @default none */
  args?: string[];
  /** The working directory. @default the current one */
  cwd?: string;
}

/**
 * A `redis-server` child process on a loopback port, with a watchdog process
 * that stops it if the emulator's process dies without stopping it.
 */
export class RedisServerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #watchdog: Deno.ChildProcess | undefined;
  readonly #drained: Promise<void>;
  #stopped: Promise<void> | undefined;

  private constructor(
    child: Deno.ChildProcess,
    watchdog: Deno.ChildProcess | undefined,
    drained: Promise<void>,
    readonly port: number,
    readonly renamed: ReadonlyMap<string, string>,
  ) {
    this.#child = child;
    this.#watchdog = watchdog;
    this.#drained = drained;
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * The name a command has on this server: a restricted one's secret name
   * (the emulator's own admin work uses it), any other's own.
   *
   * @param name The command, such as `CONFIG`.
   * @param subcommand Its first argument, such as `GET`, if any.
   * @returns Its name on this server.
   * @throws {TypeError} For `MIGRATE`, `CONFIG HELP` and `MODULE HELP`:
   * `MONITOR` would show their secret names to any client.
   */
  commandName(name: string, subcommand?: string): string {
    const upper = name.toUpperCase();
    const shown = [upper, `${upper}|${subcommand?.toUpperCase()}`].find((full) =>
      SHOWN_BY_MONITOR.has(full)
    );
    if (shown !== undefined) {
      throw new TypeError(
        `Cannot run ${
          shown.replace("|", " ")
        } as the emulator: MONITOR would show its secret name to every client`,
      );
    }
    return this.renamed.get(upper) ?? name;
  }

  /**
   * Starts `redis-server` and waits until it is ready.
   *
   * @param program The `redis-server` program.
   * @param options The port, extra arguments and working directory.
   * @returns The running server.
   * @throws {Error} If the program is missing or does not become ready.
   */
  static async start(
    program: string,
    options: RedisServerProcessOptions = {},
  ): Promise<RedisServerProcess> {
    let lastError: Error | undefined;
    // Restricted commands get names nobody outside this process can guess, each its own.
    const renamed = new Map(RENAMED_COMMANDS.map((name) => [name, `${name}-${randomPassword()}`]));
    const renames = [...renamed].flatMap(([name, to]) => ["--rename-command", name, to]);
    for (let attempt = 0; attempt < (options.port === undefined ? 3 : 1); attempt++) {
      const port = options.port ?? freePort();
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(program, {
          args: [
            "--port",
            String(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--loglevel",
            "notice",
            ...renames,
            ...(options.args ?? []),
          ],
          ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).spawn();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error(
            `Cannot start the emulator's backend: '${program}' was not found; install Redis 7 ` +
              `(Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis) or set ` +
              `'backend: { hostname, port }' to an existing server`,
            { cause: error },
          );
        }
        throw new Error(`Cannot start the emulator's backend '${program}'`, { cause: error });
      }
      const watchdog = startWatchdog(child.pid);
      const output: string[] = [];
      let onReady!: (ready: boolean) => void;
      const ready = new Promise<boolean>((resolve) => onReady = resolve);
      const drained = (async () => {
        let pending = "";
        const decoder = new TextDecoder();
        for await (const chunk of child.stdout) {
          pending += decoder.decode(chunk, { stream: true });
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            output.push(line);
            if (output.length > 20) output.shift();
            if (line.includes(READY_LINE)) onReady(true);
          }
        }
        onReady(false);
      })();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
      });
      const started = await Promise.race([ready, timeout]);
      clearTimeout(timer);
      const server = new RedisServerProcess(child, watchdog, drained, port, renamed);
      if (started) return server;
      await server.stop();
      const tail = output.filter((line) => /#|error|fatal/i.test(line)).slice(-3).join(" / ");
      lastError = new Error(
        `Cannot start the emulator's backend: '${program}' did not become ready on port ${port}` +
          (tail ? `: ${tail}` : ""),
      );
      if (!/in use/i.test(tail)) break;
    }
    throw lastError!;
  }

  /**
   * Stops the process by its id and waits for it and its output to end, then
   * ends its watchdog.
   *
   * @param signal `SIGTERM` (then `SIGKILL` after 5 s), or `SIGKILL` at once, as a crash.
   * @returns Resolves when the process (and its watchdog) have exited.
   */
  stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    this.#stopped ??= (async () => {
      try {
        this.#child.kill(signal);
      } catch {
        // It has exited already.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            this.#child.kill("SIGKILL");
          } catch {
            // It has exited meanwhile.
          }
          resolve();
        }, STOP_TIMEOUT_MS);
      });
      await Promise.race([this.#child.status, killed]);
      clearTimeout(timer);
      await this.#child.status;
      await this.#drained;
      await stopWatchdog(this.#watchdog);
    })();
    return this.#stopped;
  }
}

/**
 * Starts the watchdog of a `redis-server` (see `WATCHDOG_SCRIPT`).
 *
 * @param pid The server's process id.
 * @returns The watchdog, or `undefined` where there is no `/bin/sh` (Windows).
 */
function startWatchdog(pid: number): Deno.ChildProcess | undefined {
  try {
    return new Deno.Command("/bin/sh", {
      args: ["-c", WATCHDOG_SCRIPT, "redis-server-watchdog", String(pid)],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return undefined;
  }
}

/** Ends a watchdog waiting on its pipe (it then has no child) and waits for its exit. */
async function stopWatchdog(watchdog: Deno.ChildProcess | undefined): Promise<void> {
  if (watchdog === undefined) return;
  try {
    watchdog.kill("SIGKILL");
  } catch {
    // It has exited already.
  }
  await watchdog.stdin.close().catch(() => {});
  await watchdog.status;
}

/**
 * A free loopback TCP port (the listener is closed right away).
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A random password: 48 hex digits.
 *
 * @returns The password.
 */
export function randomPassword(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(24)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
