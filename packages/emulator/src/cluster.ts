/**
 * Cluster mode: a Redis Cluster of real `redis-server --cluster-enabled yes`
 * nodes on loopback, one IAM gateway in front of each node, as an
 * ElastiCache cluster-mode-enabled replication group looks to its clients.
 * A serverless cache is one too: one shard whose primary's gateway is the
 * cache's endpoint and whose replica's gateway is its reader endpoint (see
 * {@linkcode ServerlessLayout}).
 *
 * Every node announces its gateway's port (`cluster-announce-port`), so
 * `CLUSTER SHARDS` / `SLOTS` / `NODES`, `MOVED` and `ASK` point clients at
 * gateways, where they authenticate with IAM tokens like anywhere else.
 * Replicas replicate from their primary's announced address too, that is
 * through its gateway (over TLS when the gateways speak TLS), as the
 * emulator's internal backend user, which the gateways let through without
 * an age cap. The cluster bus runs between the nodes directly.
 *
 * The cluster is formed by hand (`CLUSTER SET-CONFIG-EPOCH`, `ADDSLOTSRANGE`,
 * `MEET`, `REPLICATE`), and {@linkcode EmulatorCluster} has the operations
 * tests need: fail over a shard, stop (crash) and restart a node, migrate a
 * slot step by step (to produce `ASK`), and wait until the cluster is whole.
 *
 * @module
 */

import { ReplyError, type RespValue } from "@elasticache-iam/connector";
import type { CommandArg } from "@elasticache-iam/connector/types";
import { keySlot, SLOT_COUNT } from "@elasticache-iam/connector/internal";
import type { EmulatorClock } from "./clock.ts";
import type {
  ResolvedCache,
  ResolvedClusterConfig,
  ResolvedConfig,
  ResolvedUser,
} from "./config.ts";
import type { CredentialStore } from "./credential_store.ts";
import { Gateway, type GatewayAddress, type GatewayTls } from "./gateway.ts";
import {
  ADMIN_USER,
  AdminConnection,
  type AdminRunOptions,
  DENIED_COMMANDS,
  freePort,
  randomPassword,
  RedisServerProcess,
  setUpUsers,
  type TransactionPermissions,
} from "./redis_backend.ts";

/** A node of the emulated cluster. */
export interface EmulatorClusterNode {
  /** Its position in {@linkcode EmulatorCluster.nodes}; shards' first primaries come first. */
  readonly index: number;
  /** Its cluster node id (40 hex digits). */
  readonly id: string;
  /** Its gateway: where clients connect, and the address the cluster announces for it. */
  readonly gateway: GatewayAddress;
  /** The `redis-server` port behind the gateway (the emulator's side, not for clients). */
  readonly backendPort: number;
  /** Whether its process (and gateway) are running. */
  readonly running: boolean;
}

/** A shard as the cluster sees it now. */
export interface EmulatorClusterShard {
  /** Its slot ranges, inclusive. */
  readonly slots: readonly (readonly [start: number, end: number])[];
  /** Its primary. */
  readonly primary: EmulatorClusterNode;
  /** Its replicas. */
  readonly replicas: readonly EmulatorClusterNode[];
}

/**
 * A slot being moved from one primary to another: between
 * {@linkcode EmulatorCluster.beginSlotMigration} and `finish()`, commands for
 * keys already moved draw `ASK` from the source, and commands sent to the
 * target without `ASKING` draw `MOVED` back to the source.
 */
export interface SlotMigration {
  /** The slot. */
  readonly slot: number;
  /** The primary it leaves. */
  readonly from: EmulatorClusterNode;
  /** The primary it goes to. */
  readonly to: EmulatorClusterNode;
  /**
   * Moves keys of the slot to the target, as `MIGRATE` does: `DUMP` on the
   * source, `RESTORE` on the target (after `ASKING`), `DEL` on the source, in
   * a transaction that a client's write to a key meanwhile makes try again.
   *
   * @param count How many keys at most. @default every key left
   * @returns How many keys were moved.
   * @throws {Error} If a key changed on the source at each of 100 attempts to move it.
   */
  moveKeys(count?: number): Promise<number>;
  /**
   * Moves the keys left, assigns the slot to the target on every node, and
   * waits until every node agrees.
   *
   * @returns Resolves when the slot is the target's everywhere.
   */
  finish(): Promise<void>;
}

/** Options of {@linkcode EmulatorCluster.waitUntilHealthy}, `failover` and `startNode`. */
export interface ClusterWaitOptions {
  /**
   * How long to wait, in ms.
   *
   * @default {20000}
   */
  timeoutMs?: number;
}

/** A node, by its index or as {@linkcode EmulatorCluster.nodes} lists it. */
export type ClusterNodeRef = number | EmulatorClusterNode;

/** The emulated cluster's nodes and the operations tests need. */
export interface EmulatorCluster {
  /** Every node, shards' first primaries first. The list stays the same; nodes' roles change. */
  readonly nodes: readonly EmulatorClusterNode[];
  /**
   * The shards as the cluster sees them now (asked from a running node).
   *
   * @returns The shards, in slot order.
   */
  shards(): Promise<EmulatorClusterShard[]>;
  /**
   * The primary that serves a slot or a key now.
   *
   * @param slotOrKey A slot number, or a key (its hash tag counts).
   * @returns The node.
   * @throws {Error} If no running node serves it.
   */
  primaryOf(slotOrKey: number | string): Promise<EmulatorClusterNode>;
  /**
   * Runs a command on a node's backend as the emulator's admin user (not
   * through the gateway), such as `["CLUSTER", "COUNTKEYSINSLOT", "42"]`.
   * A restricted command (`CONFIG`, …) goes by its secret name, and empties
   * the node's `SLOWLOG`, where that name would show.
   *
   * @param node The node.
   * @param args The command.
   * @returns Its reply.
   * @throws {ReplyError} The node's error reply.
   * @throws {TypeError} For `MIGRATE` (move slots with `beginSlotMigration` or
   * `migrateSlot`), `CONFIG HELP` and `MODULE HELP`, whose secret names
   * `MONITOR` would show.
   */
  command(node: ClusterNodeRef, args: (string | number)[]): Promise<unknown>;
  /**
   * Fails a shard over to a replica with `CLUSTER FAILOVER` (the graceful,
   * manual failover: the primary stops taking writes, the replica catches
   * up, then takes over), and waits until every node agrees.
   *
   * @param node The replica to promote, or a primary (its first running replica is promoted).
   * @param options `force`: `CLUSTER FAILOVER FORCE`, for a primary that is down; `timeoutMs`.
   * @returns The node that is primary now.
   * @throws {Error} If the node has no running replica, or the failover does not complete in time.
   */
  failover(
    node: ClusterNodeRef,
    options?: ClusterWaitOptions & { force?: boolean },
  ): Promise<EmulatorClusterNode>;
  /**
   * Crashes a node: closes its gateway (and every connection through it) and
   * kills its process (`SIGKILL`). Its data is lost; its cluster
   * configuration file stays. A primary's replica takes over after
   * `nodeTimeoutMs` (see `waitUntilHealthy`).
   *
   * @param node The node.
   * @returns Resolves when it is down.
   */
  stopNode(node: ClusterNodeRef): Promise<void>;
  /**
   * Restarts a stopped node on the same ports with its cluster configuration
   * file, so it rejoins as itself (a former primary whose replica took over
   * comes back as a replica), and waits until the cluster is whole again.
   *
   * @param node The node.
   * @param options `timeoutMs`.
   * @returns Resolves when it has rejoined.
   * @throws {Error} If it does not start or rejoin in time.
   */
  startNode(node: ClusterNodeRef, options?: ClusterWaitOptions): Promise<void>;
  /**
   * Starts moving a slot to another primary (`CLUSTER SETSLOT … IMPORTING` /
   * `MIGRATING`); move its keys with `moveKeys()`, then `finish()`.
   *
   * @param slot The slot.
   * @param to The primary to move it to.
   * @returns The migration.
   * @throws {TypeError} If `to` is not a running primary or already serves the slot.
   */
  beginSlotMigration(slot: number, to: ClusterNodeRef): Promise<SlotMigration>;
  /**
   * Moves a slot and its keys to another primary in one go.
   *
   * @param slot The slot.
   * @param to The primary to move it to.
   * @returns Resolves when every node agrees on the new owner.
   */
  migrateSlot(slot: number, to: ClusterNodeRef): Promise<void>;
  /**
   * Waits until the cluster is whole: every slot served by a running primary,
   * every running node agreeing on who serves what, and every running
   * replica's replication link up.
   *
   * @param options `timeoutMs`.
   * @returns Resolves when it is.
   * @throws {Error} Saying what is still wrong, after `timeoutMs`.
   */
  waitUntilHealthy(options?: ClusterWaitOptions): Promise<void>;
}

/** What forming the cluster needs from the rest of the emulator. */
export interface ClusterGatewayOptions {
  /** The resolved configuration. */
  config: ResolvedConfig;
  /** The known keys. */
  credentials: CredentialStore;
  /** The emulator clock. */
  clock: EmulatorClock;
  /** The cluster-mode cache the cluster is: every node's gateway serves it. */
  cache: ResolvedCache;
  /** The gateways' TLS material (and lowest version), if they speak TLS. */
  tls: GatewayTls | undefined;
}

/**
 * A serverless cache as the emulator runs it: one shard of a primary and a
 * replica, `redis-server --cluster-enabled yes` both, the primary owning all
 * 16384 slots. The primary's gateway is the cache's endpoint; the replica's
 * is its reader endpoint, on the next port when free (AWS: 6379 and 6380).
 * Both announce their gateways, so `CLUSTER SLOTS` answers one slot range
 * with the endpoint as primary and the reader endpoint as replica, as
 * ElastiCache Serverless answers it.
 */
export interface ServerlessLayout {
  /** The endpoint's port, or 0 for a free one. */
  port: number;
  /** Ports other settings ask for: the reader endpoint takes none of them. */
  reserved: readonly number[];
}

const HOST = "127.0.0.1";
const POLL_MS = 50;
const DEFAULT_WAIT_MS = 20_000;
/** How many keys `moveKeys` moves in one transaction. */
const MOVE_BATCH = 100;
/** How many times a key that keeps changing on the source is tried before `moveKeys` gives up. */
const MOVE_ATTEMPTS = 100;
/**
 * Deletes the target's copy of a key (`KEYS[1]`) if it is still the one the
 * emulator made (`ARGV[1]`, its `DUMP`), not one a client wrote since.
 */
const DELETE_OWN_COPY =
  "if redis.call('DUMP', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** Runs commands on one admin connection to a node (see `#withAdmin`). */
type AdminRun = (commands: CommandArg[][], options?: AdminRunOptions) => Promise<RespValue[]>;

/** A key being moved, and the target's `DUMP` of the copy the emulator put there, if any. */
interface KeyMove {
  readonly key: Uint8Array;
  copy: Uint8Array | undefined;
}

/** One node's processes and addresses. */
class ClusterNode implements EmulatorClusterNode {
  readonly index: number;
  readonly dir: string;
  backendPort: number;
  busPort: number;
  id = "";
  process: RedisServerProcess | undefined;
  gatewayServer: Gateway | undefined;
  gatewayPort = 0;
  gatewayAddress: GatewayAddress | undefined;

  constructor(index: number, dir: string, backendPort: number, busPort: number) {
    this.index = index;
    this.dir = dir;
    this.backendPort = backendPort;
    this.busPort = busPort;
  }

  get gateway(): GatewayAddress {
    return this.gatewayAddress!;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** What `console.log` shows. */
  [Symbol.for("Deno.customInspect")](): string {
    return `EmulatorClusterNode { #${this.index}, ${
      this.id.slice(0, 8)
    }, gateway ${HOST}:${this.gatewayPort}, ${this.running ? "running" : "stopped"} }`;
  }
}

/** One line of `CLUSTER NODES`. */
interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | undefined;
  slots: [number, number][];
}

/**
 * The cluster's processes. Made in two steps, so that the nodes start while
 * the rest of the emulator does: {@linkcode startClusterNodes}, then
 * {@linkcode RunningCluster.form} once the configuration is resolved.
 */
export class RunningCluster {
  readonly #config: ResolvedClusterConfig;
  readonly #nodes: ClusterNode[];
  readonly #root: string;
  readonly #program: string;
  readonly #users: readonly ResolvedUser[];
  readonly #passwords: Map<string, string>;
  /** Each user's transaction permissions (the same on every node). */
  #transactions = new Map<string, TransactionPermissions>();
  readonly #adminPassword: string;
  readonly #log: (line: string) => void;
  readonly #serverless: ServerlessLayout | undefined;
  #gatewayOptions: ClusterGatewayOptions | undefined;
  #tlsDir: string | undefined;
  #closing: Promise<void> | undefined;
  /** The operations tests use. */
  readonly control: EmulatorCluster;

  private constructor(
    config: ResolvedClusterConfig,
    root: string,
    program: string,
    users: readonly ResolvedUser[],
    log: (line: string) => void,
    serverless: ServerlessLayout | undefined,
  ) {
    this.#serverless = serverless;
    this.#config = config;
    this.#root = root;
    this.#program = program;
    this.#users = users;
    this.#passwords = new Map(users.map((user) => [user.userId, randomPassword()]));
    this.#adminPassword = randomPassword();
    this.#log = log;
    this.#nodes = [];
    this.control = this.#makeControl();
  }

  /**
   * Starts every node's `redis-server` (side by side) and creates the users on each.
   *
   * @param config The cluster's shape.
   * @param users The IAM-enabled users.
   * @param log The emulator's log.
   * @param program The `redis-server` program.
   * @param serverless For a serverless cache (one shard, one replica): where its endpoints go.
   * @returns The started nodes, not yet a cluster.
   * @throws {Error} If a node does not start; the others are stopped.
   */
  static async start(
    config: ResolvedClusterConfig,
    users: readonly ResolvedUser[],
    log: (line: string) => void,
    program = "redis-server",
    serverless?: ServerlessLayout,
  ): Promise<RunningCluster> {
    const root = await Deno.makeTempDir({ prefix: "elasticache-emulator-cluster-" });
    const cluster = new RunningCluster(config, root, program, users, log, serverless);
    const count = config.shards * (1 + config.replicasPerShard);
    for (let i = 0; i < count; i++) {
      const dir = `${root}/node-${i}`;
      await Deno.mkdir(dir);
      cluster.#nodes.push(new ClusterNode(i, dir, 0, 0));
    }
    const started = await Promise.allSettled(cluster.#nodes.map((node) => cluster.#spawn(node)));
    const failed = started.find((s) => s.status === "rejected");
    if (failed !== undefined) {
      await cluster.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return cluster;
  }

  /** Every node's gateway address, in node order. */
  get gateways(): GatewayAddress[] {
    return this.#nodes.map((node) => node.gateway);
  }

  /**
   * Puts a gateway in front of every node, points each node's announced port
   * at it, forms the cluster and waits until it is whole.
   *
   * @param options The configuration, keys, clock and TLS material the gateways use.
   * @returns Resolves when every slot is served and every replica in sync.
   * @throws {Error} If the cluster does not form in time.
   */
  async form(options: ClusterGatewayOptions): Promise<void> {
    this.#gatewayOptions = options;
    if (options.tls !== undefined) {
      this.#tlsDir = `${this.#root}/tls`;
      await Deno.mkdir(this.#tlsDir, { mode: 0o700 });
      const write = (name: string, text: string) =>
        Deno.writeTextFile(`${this.#tlsDir}/${name}`, text, { mode: 0o600 });
      await write("server.pem", options.tls.cert);
      await write("server.key", options.tls.key);
      await write("ca.pem", options.tls.caCertPem);
    }
    for (const node of this.#nodes) {
      await this.#openGateway(node, this.#firstPort(node));
      await this.#admin(node, [
        ["CONFIG", "SET", "cluster-announce-port", String(node.gatewayPort)],
        ...(this.#tlsDir === undefined ? [] : [["CONFIG", "SET", ...this.#tlsSettings()]]),
      ]);
    }
    const { shards } = this.#config;
    const primaries = this.#nodes.slice(0, shards);
    const ids = await Promise.all(
      this.#nodes.map(async (node) => {
        const [id] = await this.#admin(node, [
          ["CLUSTER", "MYID"],
          ["CLUSTER", "SET-CONFIG-EPOCH", String(node.index + 1)],
        ]);
        return String(id);
      }),
    );
    ids.forEach((id, i) => this.#nodes[i]!.id = id);
    await Promise.all(primaries.map((node, i) => {
      const start = Math.floor((i * SLOT_COUNT) / shards);
      const end = Math.floor(((i + 1) * SLOT_COUNT) / shards) - 1;
      return this.#admin(node, [["CLUSTER", "ADDSLOTSRANGE", String(start), String(end)]]);
    }));
    const first = this.#nodes[0]!;
    await this.#admin(
      first,
      this.#nodes.slice(1).map((node) => [
        "CLUSTER",
        "MEET",
        HOST,
        String(node.gatewayPort),
        String(node.busPort),
      ]),
    );
    await this.#until("every node knows every other", DEFAULT_WAIT_MS, async () => {
      for (const node of this.#nodes) {
        const lines = await this.#nodeLines(node);
        const known = lines.filter((line) =>
          !line.flags.includes("handshake") && !line.flags.includes("noaddr")
        );
        if (known.length !== this.#nodes.length) {
          return `node #${node.index} knows ${known.length} of ${this.#nodes.length} nodes`;
        }
      }
      return undefined;
    });
    await Promise.all(
      this.#nodes.slice(shards).map((node, i) => {
        const primary = primaries[i % shards]!;
        return this.#admin(node, [["CLUSTER", "REPLICATE", primary.id]]);
      }),
    );
    await this.#waitUntilHealthy(DEFAULT_WAIT_MS);
    if (this.#serverless !== undefined) await this.#readerOnline();
    this.#log(
      this.#serverless !== undefined
        ? `emulator: serverless cache: one virtual node owning every slot, endpoint port ${
          this.#nodes[0]!.gatewayPort
        }, reader endpoint port ${this.#nodes[1]!.gatewayPort}`
        : `emulator: cluster of ${shards} shard(s) with ${this.#config.replicasPerShard} replica(s) each: gateways ${
          this.#nodes.map((node) => node.gatewayPort).join(", ")
        }`,
    );
  }

  /**
   * A replica whose replication offset is still 0 counts as `loading`:
   * `CLUSTER SLOTS` leaves it out, `CLUSTER SHARDS` says so, and clients read
   * from it only once it is `online`. A serverless cache's reader endpoint is
   * in the topology from the start, as on AWS: a `FLUSHALL` of the still
   * empty primary moves the offset; once both nodes see the replica online,
   * the counters that and the set-up left (`INFO commandstats`, `errorstats`)
   * are reset, so a cache's statistics count its clients only.
   */
  async #readerOnline(): Promise<void> {
    const [primary, replica] = this.#nodes as [ClusterNode, ClusterNode];
    await this.#admin(primary, [["FLUSHALL"]]);
    await this.#until("the reader's replica is online", DEFAULT_WAIT_MS, async () => {
      for (const node of [primary, replica]) {
        const [shards] = await this.#admin(node, [["CLUSTER", "SHARDS"]]);
        const health = shardHealth(shards);
        if (health.length !== 2 || health.some((h) => h !== "online")) {
          return `node #${node.index} sees the nodes ${health.join(", ")}`;
        }
      }
      return undefined;
    });
    for (const node of [primary, replica]) await this.#admin(node, [["CONFIG", "RESETSTAT"]]);
  }

  /**
   * Where a node's gateway first listens: a free port, but for a serverless
   * cache's, the endpoint's configured port, and the next one for the
   * reader when nothing else asks for it.
   */
  #firstPort(node: ClusterNode): { port: number; orFree: boolean } {
    const layout = this.#serverless;
    if (layout === undefined) return { port: 0, orFree: false };
    if (node.index === 0) return { port: layout.port, orFree: false };
    const next = this.#nodes[0]!.gatewayPort + 1;
    return next <= 65535 && !layout.reserved.includes(next)
      ? { port: next, orFree: true }
      : { port: 0, orFree: false };
  }

  /** What the log calls a node: `node-<index>`; a serverless cache's primary nothing, its replica `reader`. */
  #label(node: ClusterNode): string {
    if (this.#serverless === undefined) return `node-${node.index} `;
    return node.index === 0 ? "" : "reader ";
  }

  /** Stops every gateway and node and removes their files. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled(this.#nodes.map((node) => node.gatewayServer?.close()));
      await Promise.allSettled(this.#nodes.map((node) => node.process?.stop("SIGKILL")));
      for (const node of this.#nodes) {
        node.gatewayServer = undefined;
        node.process = undefined;
      }
      await Deno.remove(this.#root, { recursive: true }).catch(() => {});
    })();
    return this.#closing;
  }

  // ---- processes -------------------------------------------------------------------------

  /** Starts a node's `redis-server` and creates the users; picks free ports the first time. */
  async #spawn(node: ClusterNode): Promise<void> {
    const fixed = node.backendPort !== 0;
    let lastError: unknown;
    for (let attempt = 0; attempt < (fixed ? 1 : 3); attempt++) {
      if (!fixed) {
        node.backendPort = freePort();
        node.busPort = freePort();
      }
      try {
        node.process = await RedisServerProcess.start(this.#program, {
          port: node.backendPort,
          cwd: node.dir,
          args: this.#nodeArgs(node),
        });
        break;
      } catch (error) {
        lastError = error;
        if (fixed || !/in use/i.test((error as Error).message)) break;
      }
    }
    if (node.process === undefined) {
      throw lastError instanceof Error
        ? new Error(`Cannot start cluster node #${node.index}: ${lastError.message}`, {
          cause: lastError,
        })
        : lastError;
    }
    this.#log(
      `backend: ${
        this.#serverless === undefined
          ? `cluster node #${node.index}`
          : node.index === 0
          ? "primary"
          : "reader's replica"
      } started redis-server (pid ${node.process.pid}) on ${HOST}:${node.backendPort}`,
    );
    const admin = await AdminConnection.open(HOST, node.backendPort);
    try {
      this.#transactions = await setUpUsers(
        admin,
        this.#users,
        this.#passwords,
        this.#adminPassword,
        DENIED_COMMANDS,
      );
    } catch (error) {
      await node.process.stop("SIGKILL");
      node.process = undefined;
      throw error;
    } finally {
      admin.close();
    }
  }

  #nodeArgs(node: ClusterNode): string[] {
    const args = [
      "--dir",
      node.dir,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-port",
      String(node.busPort),
      "--cluster-announce-ip",
      HOST,
      "--cluster-announce-bus-port",
      String(node.busPort),
      "--cluster-node-timeout",
      String(this.#config.nodeTimeoutMs),
      "--cluster-require-full-coverage",
      "no",
      "--cluster-replica-validity-factor",
      "0",
      "--cluster-allow-replica-migration",
      "no",
      "--repl-diskless-sync",
      "yes",
      "--repl-diskless-sync-delay",
      "0",
      "--masteruser",
      ADMIN_USER,
      "--masterauth",
      this.#adminPassword,
    ];
    if (this.#serverless !== undefined) {
      // AWS's serverless settings; the virtual node's endpoints never trade places.
      args.push("--cluster-allow-reads-when-down", "yes", "--cluster-replica-no-failover", "yes");
    }
    if (node.gatewayPort !== 0) args.push("--cluster-announce-port", String(node.gatewayPort));
    if (this.#tlsDir !== undefined) {
      const settings = this.#tlsSettings();
      for (let i = 0; i < settings.length; i += 2) args.push(`--${settings[i]}`, settings[i + 1]!);
    }
    return args;
  }

  /** Replicas connect to their primary's gateway: with TLS, trusting the emulator's CA. */
  #tlsSettings(): string[] {
    return [
      "tls-cert-file",
      `${this.#tlsDir}/server.pem`,
      "tls-key-file",
      `${this.#tlsDir}/server.key`,
      "tls-ca-cert-file",
      `${this.#tlsDir}/ca.pem`,
      "tls-replication",
      "yes",
    ];
  }

  /**
   * Starts a node's gateway, on `port` (0: a free one); with `orFree`, on a
   * free one when `port` is taken.
   */
  async #openGateway(
    node: ClusterNode,
    { port, orFree }: { port: number; orFree: boolean },
  ): Promise<void> {
    try {
      await this.#startGateway(node, port);
    } catch (error) {
      if (!orFree || !(error instanceof Error && error.cause instanceof Deno.errors.AddrInUse)) {
        throw error;
      }
      await this.#startGateway(node, 0);
    }
  }

  async #startGateway(node: ClusterNode, port: number): Promise<void> {
    const options = this.#gatewayOptions!;
    const gateway = await Gateway.start({
      config: options.config,
      credentials: options.credentials,
      clock: options.clock,
      cache: options.cache,
      backend: {
        hostname: HOST,
        get port() {
          return node.backendPort;
        },
        passwordOf: (userId) => this.#passwords.get(userId),
        transactionsOf: (userId) => this.#transactions.get(userId),
        close: () => Promise.resolve(),
      },
      log: (line) => this.#log(`${this.#label(node)}${line}`),
      port,
      ...(options.tls ? { tls: options.tls } : {}),
      internalUser: {
        username: ADMIN_USER,
        password: this.#adminPassword,
        pids: () => this.#nodes.flatMap((n) => n.process === undefined ? [] : [n.process.pid]),
      },
    });
    node.gatewayServer = gateway;
    node.gatewayPort = gateway.address.port;
    node.gatewayAddress = gateway.address;
  }

  // ---- admin connections -----------------------------------------------------------------

  /** Runs commands on a node's backend as the admin user. */
  #admin(
    node: ClusterNode,
    commands: CommandArg[][],
    options?: AdminRunOptions,
  ): Promise<RespValue[]> {
    return this.#withAdmin(node, (run) => run(commands, options));
  }

  /**
   * Opens a connection to a node's backend as the admin user, for `use`.
   * Restricted commands (`CONFIG`) go by the node's secret names, which no
   * client may see: `MONITOR` hides them (they are `admin` commands; the
   * `AUTH` password it redacts), and a slow one's would show in `SLOWLOG`,
   * which IAM users may read, so `SLOWLOG RESET` follows in the same write,
   * before Redis reads any other client's command.
   */
  async #withAdmin<T>(node: ClusterNode, use: (run: AdminRun) => Promise<T>): Promise<T> {
    if (node.process === undefined) {
      throw new Error(`Cannot run a command on cluster node #${node.index}: it is stopped`);
    }
    const server = node.process;
    const admin = await AdminConnection.open(HOST, node.backendPort);
    try {
      await admin.run([["AUTH", ADMIN_USER, this.#adminPassword]]);
      return await use(async (commands, options) => {
        let secret = false;
        const named = commands.map(([name, ...rest]) => {
          const sub = typeof rest[0] === "string" ? rest[0] : undefined;
          const own = server.commandName(String(name), sub);
          secret ||= own !== String(name);
          return [own, ...rest];
        });
        if (!secret) return await admin.run(named, options);
        return (await admin.run([...named, ["SLOWLOG", "RESET"]], options)).slice(0, -1);
      });
    } finally {
      admin.close();
    }
  }

  async #nodeLines(node: ClusterNode): Promise<NodeLine[]> {
    const [text] = await this.#admin(node, [["CLUSTER", "NODES"]]);
    return parseClusterNodes(String(text));
  }

  #node(ref: ClusterNodeRef): ClusterNode {
    const index = typeof ref === "number" ? ref : ref?.index;
    const node = typeof index === "number" ? this.#nodes[index] : undefined;
    if (node === undefined || (typeof ref !== "number" && ref !== node)) {
      throw new TypeError(
        `Cannot find cluster node ${
          typeof ref === "number" ? ref : JSON.stringify(index)
        }: expected an index from 0 to ${this.#nodes.length - 1} or one of 'cluster.nodes'`,
      );
    }
    return node;
  }

  #byId(id: string | undefined): ClusterNode | undefined {
    return this.#nodes.find((node) => node.id === id);
  }

  /** The view of the first running node that answers. */
  async #view(): Promise<NodeLine[]> {
    let lastError: unknown;
    for (const node of this.#nodes) {
      if (!node.running) continue;
      try {
        return await this.#nodeLines(node);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error("Cannot read the cluster's topology: no running node answers", {
      cause: lastError,
    });
  }

  // ---- waiting ---------------------------------------------------------------------------

  /** Polls `check` (which returns what is still wrong, or nothing) until it passes. */
  async #until(
    what: string,
    timeoutMs: number,
    check: () => Promise<string | undefined>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let problem: string | undefined = "not checked yet";
    for (;;) {
      try {
        problem = await check();
      } catch (error) {
        problem = (error as Error).message;
      }
      if (problem === undefined) return;
      if (Date.now() >= deadline) {
        throw new Error(`Cannot wait until ${what}: still ${problem} after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  #waitUntilHealthy(timeoutMs: number): Promise<void> {
    return this.#until("the cluster is healthy", timeoutMs, () => this.#healthProblem());
  }

  /** What keeps the cluster from being whole, or `undefined`. */
  async #healthProblem(): Promise<string | undefined> {
    let reference: string | undefined;
    for (const node of this.#nodes) {
      if (!node.running) continue;
      const [info, nodesText, replication] = await this.#admin(node, [
        ["CLUSTER", "INFO"],
        ["CLUSTER", "NODES"],
        ["INFO", "replication"],
      ]);
      const fields = infoFields(String(info));
      if (fields.get("cluster_state") !== "ok") {
        return `node #${node.index} reports cluster_state fail`;
      }
      if (fields.get("cluster_slots_ok") !== String(SLOT_COUNT)) {
        return `node #${node.index} sees ${
          fields.get("cluster_slots_ok")
        } of ${SLOT_COUNT} slots ok`;
      }
      const lines = parseClusterNodes(String(nodesText));
      const owners: string[] = [];
      for (const line of lines) {
        const member = this.#byId(line.id);
        if (member === undefined) return `node #${node.index} knows an unknown node ${line.id}`;
        if (line.flags.some((flag) => /^(fail\??|handshake|noaddr)$/.test(flag))) {
          if (member.running) {
            return `node #${node.index} flags node #${member.index} ${line.flags}`;
          }
          continue;
        }
        if (!member.running) {
          return `node #${node.index} has not noticed node #${member.index} is down`;
        }
        if (line.flags.includes("master") && line.slots.length > 0) {
          owners.push(`${line.id}:${line.slots.map(([a, b]) => `${a}-${b}`).join(",")}`);
        } else if (line.primaryId !== undefined) {
          owners.push(`${line.id}>${line.primaryId}`);
        }
        if (line.port !== member.gatewayPort) {
          return `node #${node.index} sees node #${member.index} at port ${line.port}`;
        }
      }
      const view = owners.sort().join(" ");
      reference ??= view;
      if (view !== reference) return `node #${node.index} disagrees on slot owners or replicas`;
      const replicationFields = infoFields(String(replication));
      if (replicationFields.get("role") === "slave") {
        const self = lines.find((line) => line.flags.includes("myself"));
        const primary = this.#byId(self?.primaryId);
        if (primary?.running === true && replicationFields.get("master_link_status") !== "up") {
          return `replica #${node.index} is not in sync with its primary yet`;
        }
      }
    }
    return reference === undefined ? "no node is running" : undefined;
  }

  // ---- operations ------------------------------------------------------------------------

  async #shards(): Promise<EmulatorClusterShard[]> {
    const lines = await this.#view();
    const shards: EmulatorClusterShard[] = [];
    for (const line of lines) {
      if (!line.flags.includes("master") || line.slots.length === 0) continue;
      const primary = this.#byId(line.id);
      if (primary === undefined) continue;
      const replicas = lines.filter((other) => other.primaryId === line.id)
        .map((other) => this.#byId(other.id))
        .filter((node): node is ClusterNode => node !== undefined);
      shards.push({ slots: line.slots, primary, replicas });
    }
    return shards.sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
  }

  async #primaryOf(slotOrKey: number | string): Promise<ClusterNode> {
    const slot = typeof slotOrKey === "number" ? checkSlot(slotOrKey) : keySlot(slotOrKey);
    for (const line of await this.#view()) {
      if (!line.flags.includes("master")) continue;
      if (line.slots.some(([start, end]) => slot >= start && slot <= end)) {
        const node = this.#byId(line.id);
        if (node?.running === true) return node;
      }
    }
    throw new Error(`Cannot find the primary of slot ${slot}: no running node serves it`);
  }

  async #failover(
    ref: ClusterNodeRef,
    options: ClusterWaitOptions & { force?: boolean },
  ): Promise<ClusterNode> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    let node = this.#node(ref);
    const lines = await this.#view();
    const line = lines.find((l) => l.id === node.id);
    if (line?.flags.includes("master")) {
      const replica = lines.filter((l) => l.primaryId === node.id)
        .map((l) => this.#byId(l.id))
        .find((n) => n?.running === true);
      if (replica === undefined) {
        throw new Error(`Cannot fail over from node #${node.index}: it has no running replica`);
      }
      node = replica;
    }
    if (!node.running) throw new Error(`Cannot fail over to node #${node.index}: it is stopped`);
    await this.#admin(node, [["CLUSTER", "FAILOVER", ...(options.force ? ["FORCE"] : [])]]);
    await this.#until(`node #${node.index} is primary`, timeoutMs, async () => {
      const [role] = await this.#admin(node, [["ROLE"]]);
      return Array.isArray(role) && role[0] === "master" ? undefined : "a replica";
    });
    await this.#waitUntilHealthy(timeoutMs);
    this.#log(`emulator: cluster node #${node.index} is primary after a failover`);
    return node;
  }

  async #stopNode(ref: ClusterNodeRef): Promise<void> {
    const node = this.#node(ref);
    if (!node.running) return;
    const gateway = node.gatewayServer;
    const process = node.process!;
    node.gatewayServer = undefined;
    node.process = undefined;
    await gateway?.close();
    await process.stop("SIGKILL");
    this.#log(`emulator: cluster node #${node.index} stopped`);
  }

  async #startNode(ref: ClusterNodeRef, options: ClusterWaitOptions): Promise<void> {
    const node = this.#node(ref);
    if (node.running) return;
    await this.#spawn(node);
    try {
      await this.#openGateway(node, { port: node.gatewayPort, orFree: false });
    } catch (error) {
      await node.process?.stop("SIGKILL");
      node.process = undefined;
      throw error;
    }
    this.#log(`emulator: cluster node #${node.index} restarted`);
    await this.#waitUntilHealthy(options.timeoutMs ?? DEFAULT_WAIT_MS);
  }

  async #beginSlotMigration(slot: number, ref: ClusterNodeRef): Promise<SlotMigration> {
    checkSlot(slot);
    const to = this.#node(ref);
    const from = await this.#primaryOf(slot);
    if (!to.running) {
      throw new TypeError(`Cannot migrate slot ${slot}: node #${to.index} is stopped`);
    }
    if (from === to) {
      throw new TypeError(`Cannot migrate slot ${slot}: node #${to.index} serves it already`);
    }
    const lines = await this.#view();
    if (!lines.find((line) => line.id === to.id)?.flags.includes("master")) {
      throw new TypeError(`Cannot migrate slot ${slot}: node #${to.index} is not a primary`);
    }
    await this.#admin(to, [["CLUSTER", "SETSLOT", String(slot), "IMPORTING", from.id]]);
    await this.#admin(from, [["CLUSTER", "SETSLOT", String(slot), "MIGRATING", to.id]]);
    const moveKeys = async (count = Infinity): Promise<number> => {
      let moved = 0;
      while (moved < count) {
        const batch = Math.min(MOVE_BATCH, count - moved);
        const [keys] = await this.#admin(
          from,
          [["CLUSTER", "GETKEYSINSLOT", String(slot), String(batch)]],
          { bytes: true },
        );
        if (!Array.isArray(keys) || keys.length === 0) break;
        moved += await this.#moveKeys(slot, from, to, keys as Uint8Array[]);
      }
      return moved;
    };
    let finished: Promise<void> | undefined;
    const finish = () =>
      finished ??= (async () => {
        await moveKeys();
        const assign = ["CLUSTER", "SETSLOT", String(slot), "NODE", to.id];
        await this.#admin(to, [assign]);
        await this.#admin(from, [assign]);
        await Promise.all(
          this.#nodes.filter((node) => node.running && node !== to && node !== from)
            .map((node) => this.#admin(node, [assign]).catch(() => {})),
        );
        await this.#until(
          `every node agrees slot ${slot} is node #${to.index}'s`,
          DEFAULT_WAIT_MS,
          async () => {
            for (const node of this.#nodes) {
              if (!node.running) continue;
              const owner = (await this.#nodeLines(node)).find((line) =>
                line.slots.some(([start, end]) => slot >= start && slot <= end)
              );
              if (owner?.id !== to.id) return `node #${node.index} disagrees`;
            }
            return undefined;
          },
        );
        this.#log(`emulator: slot ${slot} moved from node #${from.index} to node #${to.index}`);
      })();
    return { slot, from, to, moveKeys, finish };
  }

  /**
   * Moves keys of a slot being migrated from `from` to `to`, as `MIGRATE`
   * would; not with `MIGRATE` itself, whose secret name `MONITOR` shows. All
   * at once, or, when a client changed one of them on the source meanwhile,
   * one by one until each stays put long enough.
   *
   * @returns How many moved (a key deleted on the source meanwhile did not).
   * @throws {Error} If a key changed at each of `MOVE_ATTEMPTS` attempts.
   */
  #moveKeys(
    slot: number,
    from: ClusterNode,
    to: ClusterNode,
    keys: Uint8Array[],
  ): Promise<number> {
    return this.#withAdmin(from, (source) =>
      this.#withAdmin(to, async (target) => {
        const moves = keys.map((key): KeyMove => ({ key, copy: undefined }));
        const moved = await tryMove(source, target, moves);
        if (moved !== undefined) return moved;
        let total = 0;
        for (const move of moves) {
          for (let attempt = 1;; attempt++) {
            const one = await tryMove(source, target, [move]);
            if (one !== undefined) {
              total += one;
              break;
            }
            if (attempt === MOVE_ATTEMPTS) {
              throw new Error(
                `Cannot move a key of slot ${slot} from node #${from.index} to node #${to.index}: it changed at each of ${MOVE_ATTEMPTS} attempts`,
              );
            }
          }
        }
        return total;
      }));
  }

  #makeControl(): EmulatorCluster {
    return {
      nodes: this.#nodes,
      shards: () => this.#shards(),
      primaryOf: (slotOrKey) => this.#primaryOf(slotOrKey),
      command: async (ref, args) => {
        const [reply] = await this.#admin(this.#node(ref), [args]);
        return reply ?? null;
      },
      failover: (ref, options = {}) => this.#failover(ref, options),
      stopNode: (ref) => this.#stopNode(ref),
      startNode: (ref, options = {}) => this.#startNode(ref, options),
      beginSlotMigration: (slot, to) => this.#beginSlotMigration(slot, to),
      migrateSlot: async (slot, to) => {
        const migration = await this.#beginSlotMigration(slot, to);
        await migration.finish();
      },
      waitUntilHealthy: (options = {}) =>
        this.#waitUntilHealthy(options.timeoutMs ?? DEFAULT_WAIT_MS),
    };
  }
}

/**
 * One attempt at moving keys of a migrating slot: `WATCH` them on the source,
 * `DUMP` them (with their expiry), `RESTORE` them on the target (after
 * `ASKING`: the slot is `IMPORTING` there; `REPLACE`, over a copy an earlier
 * attempt left), then `DEL` them on the source in a transaction, which fails
 * if a client changed one of them meanwhile. Until that `DEL`, clients reach
 * the keys on the source only: the target serves a key of the slot only
 * after `ASKING`, which a client sends when the source no longer has it.
 *
 * @param source An admin connection to the source.
 * @param target An admin connection to the target.
 * @param moves The keys; each keeps the target's `DUMP` of the copy made, for the next attempt.
 * @returns How many moved, or `undefined` if a key changed on the source (nothing was deleted there).
 * @throws {ReplyError} An unexpected error reply.
 */
async function tryMove(
  source: AdminRun,
  target: AdminRun,
  moves: KeyMove[],
): Promise<number | undefined> {
  const read = await source(
    moves.flatMap(({ key }) => [["WATCH", key], ["DUMP", key], ["PEXPIRETIME", key]]),
    { bytes: true, keepErrors: true },
  );
  const present: { move: KeyMove; payload: Uint8Array; expireAt: number }[] = [];
  const gone: KeyMove[] = [];
  moves.forEach((move, i) => {
    const replies = read.slice(3 * i, 3 * i + 3);
    const [, payload, expireAt] = replies;
    if (payload instanceof Uint8Array && typeof expireAt === "number") {
      present.push({ move, payload, expireAt });
    } else if (payload === null || replies.some((r) => isReplyError(r, "ASK"))) {
      gone.push(move); // deleted (or expired) on the source meanwhile
    } else {
      throw replies.find((r) => r instanceof ReplyError) ??
        new Error(`Cannot move a key: unexpected DUMP reply ${typeof payload}`);
    }
  });
  // The emulator's copy of a key gone from the source goes too, unless a client wrote it since.
  const stale = gone.filter((move) => move.copy !== undefined);
  if (stale.length > 0) {
    await target(
      stale.flatMap(({ key, copy }) => [["ASKING"], ["EVAL", DELETE_OWN_COPY, 1, key, copy!]]),
    );
    for (const move of stale) move.copy = undefined;
  }
  if (present.length === 0) {
    await source([["UNWATCH"]]);
    return 0;
  }
  const restored = await target(
    present.flatMap(({ move, payload, expireAt }) => [
      ["ASKING"],
      // PEXPIRETIME: -1 without expiry, which RESTORE writes 0.
      ["RESTORE", move.key, Math.max(expireAt, 0), payload, "ABSTTL", "REPLACE"],
      ["ASKING"],
      ["DUMP", move.key],
    ]),
    { bytes: true },
  );
  present.forEach(({ move }, i) => {
    const copy = restored[4 * i + 3];
    move.copy = copy instanceof Uint8Array ? copy : undefined;
  });
  const replies = await source(
    [["MULTI"], ...present.map(({ move }) => ["DEL", move.key]), ["EXEC"]],
    { keepErrors: true },
  );
  // EXEC: null if a watched key changed, EXECABORT if one was gone when DEL was queued.
  if (!Array.isArray(replies.at(-1))) return undefined;
  for (const { move } of present) move.copy = undefined;
  return present.length;
}

/** The `health` of every node in a `CLUSTER SHARDS` reply (RESP2: lists of names and values). */
function shardHealth(reply: RespValue | undefined): string[] {
  const health: string[] = [];
  const field = (list: RespValue, name: string) =>
    Array.isArray(list) ? list[list.indexOf(name) + 1] : undefined;
  for (const shard of Array.isArray(reply) ? reply : []) {
    const nodes = field(shard, "nodes");
    for (const node of Array.isArray(nodes) ? nodes : []) {
      health.push(String(field(node, "health")));
    }
  }
  return health;
}

function isReplyError(reply: RespValue | undefined, code: string): boolean {
  return reply instanceof ReplyError && reply.code === code;
}

/**
 * Starts the nodes of a cluster (see {@linkcode RunningCluster.form} for the rest).
 *
 * @param config The cluster's shape.
 * @param users The IAM-enabled users, created on every node.
 * @param log The emulator's log.
 * @param program The `redis-server` program.
 * @returns The started nodes.
 * @throws {Error} If a node does not start.
 */
export function startClusterNodes(
  config: ResolvedClusterConfig,
  users: readonly ResolvedUser[],
  log: (line: string) => void,
  program?: string,
): Promise<RunningCluster> {
  return RunningCluster.start(config, users, log, program);
}

/** Options of {@linkcode startServerlessNodes}: where the endpoints go, and the program. */
export interface ServerlessNodesOptions extends ServerlessLayout {
  /** The `redis-server` program. @default {"redis-server"} */
  program?: string;
}

/**
 * Starts the two nodes of a serverless cache (see {@linkcode ServerlessLayout});
 * {@linkcode RunningCluster.form} puts its endpoints in front of them.
 *
 * @param users The IAM-enabled users, created on both nodes.
 * @param log The cache's log.
 * @param options The endpoint's port, the ports the reader must not take, and the program.
 * @returns The started nodes.
 * @throws {Error} If a node does not start.
 *
 * @example
 * ```ts
 * import { startServerlessNodes } from "./cluster.ts";
 *
 * const nodes = await startServerlessNodes([], () => {}, { port: 0, reserved: [] });
 * console.log(nodes.gateways.length); // 2: the endpoint's node and the reader's, not formed yet
 * await nodes.close();
 * ```
 */
export function startServerlessNodes(
  users: readonly ResolvedUser[],
  log: (line: string) => void,
  options: ServerlessNodesOptions,
): Promise<RunningCluster> {
  const { program, ...layout } = options;
  return RunningCluster.start(
    { shards: 1, replicasPerShard: 1, nodeTimeoutMs: 1000 },
    users,
    log,
    program,
    layout,
  );
}

/**
 * Parses `CLUSTER NODES`.
 *
 * @param text The reply.
 * @returns One entry per node.
 */
export function parseClusterNodes(text: string): NodeLine[] {
  const lines: NodeLine[] = [];
  for (const raw of text.split("\n")) {
    const parts = raw.trim().split(" ");
    if (parts.length < 8) continue;
    const [id, address, flags, primary] = parts as [string, string, string, string];
    const hostPort = address.split("@")[0]!;
    const port = Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
    const slots: [number, number][] = [];
    for (const range of parts.slice(8)) {
      if (range.startsWith("[")) continue; // importing / migrating marks
      const [start, end] = range.split("-");
      slots.push([Number(start), Number(end ?? start)]);
    }
    lines.push({
      id,
      port,
      flags: flags.split(","),
      primaryId: primary === "-" ? undefined : primary,
      slots,
    });
  }
  return lines;
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

function checkSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
    throw new RangeError(`Cannot use slot ${slot}: slots go from 0 to ${SLOT_COUNT - 1}`);
  }
  return slot;
}
