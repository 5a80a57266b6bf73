/**
 * The cluster client's engine: the topology, one thin client per node
 * (opened lazily, each with credentials valid at its own connect time), and
 * command routing by hash slot with `MOVED` / `ASK` handling, retries while a
 * shard fails over, pipelines split by node, and transactions on one node.
 *
 * @module
 */

import { RedisClient } from "../client/redis_client.ts";
import type { ConnectOptions } from "../client/options.ts";
import type { Pipeline } from "../client/pipeline.ts";
import { isLoopback } from "../_checks.ts";
import { backoffDelay, sleep, systemTimers, type Timers } from "../client/timers.ts";
import { ConnectionClosedError, ReplyError, TimeoutError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import { commandName, isReadOnly, readsFromReplica } from "../client/command_rules.ts";
import { type Aggregate, commandRoute } from "./command_keys.ts";
import { keySlot } from "./slot.ts";
import {
  addressKey,
  type ClusterNodeAddress,
  type ClusterShardInfo,
  parseClusterShards,
  parseClusterSlots,
  Topology,
} from "./topology.ts";
import { publish } from "../observe/hub.ts";

/** The router's settings, after defaults and checks. */
export interface RouterOptions {
  /** The nodes to discover the cluster from. */
  seeds: ClusterNodeAddress[];
  /** What every node's client is made with (host and port are set per node). */
  node: Omit<ConnectOptions, "host" | "port">;
  /** Whether read-only commands go to replicas. */
  replicaReads: boolean;
  /** How many `MOVED` / `ASK` a command follows. */
  maxRedirections: number;
  /** How long a command keeps retrying while its slot is unavailable, in ms. */
  retryTimeout: number;
}

/** A command on its way. */
interface Routed {
  args: readonly CommandArg[];
  bytes: boolean;
  /** The slot of its keys, or `undefined` for keyless commands. */
  slot: number | undefined;
  readOnly: boolean;
}

/** Where a `MOVED` or `ASK` reply sends a command. */
export interface Redirect {
  /** The node. */
  address: ClusterNodeAddress;
  /** `ASK`: send `ASKING` first, and do not update the slot map. */
  asking: boolean;
}

/** Error codes after which a command is retried after a pause. */
const RETRY_LATER = new Set(["TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN"]);
const REDIRECT = /^(MOVED|ASK) (\d+) (.*):(\d+)$/;
const BACKOFF_MIN = 25;
const BACKOFF_MAX = 500;

/** Routes commands to the cluster's nodes. */
export class Router {
  readonly #o: RouterOptions;
  readonly #tls: boolean;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #clients = new Map<string, RedisClient>();
  #topology: Topology | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshQueued = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Aborted by `close()`: wakes commands pausing before a retry. */
  readonly #stop = new AbortController();
  #replicaTurn = 0;
  /** Told after each topology read (pub/sub follows its slots' owners). */
  readonly #topologyListeners = new Set<() => void>();

  /**
   * @param options The settings.
   * @throws {TypeError} When a node option is malformed (checked by making the first seed's client).
   */
  constructor(options: RouterOptions) {
    this.#o = options;
    const seed = options.seeds[0]!;
    this.#tls = options.node.tls ?? !isLoopback(seed.host);
    this.#timers = options.node.timers ?? systemTimers;
    this.#now = options.node.now ?? Date.now;
    this.#client(seed);
  }

  /** The topology's shards, as last read. */
  get shards(): readonly ClusterShardInfo[] {
    return this.#topology?.shards ?? [];
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The seed, for descriptions. */
  get label(): string {
    return addressKey(this.#o.seeds[0]!);
  }

  /** Whether the clients use TLS. */
  get tls(): boolean {
    return this.#tls;
  }

  // ---- topology --------------------------------------------------------------------------

  /**
   * Reads the topology again (one read at a time: concurrent callers share it).
   *
   * @returns Resolves when the topology is fresh.
   * @throws {ConnectionClosedError} When no node answered.
   */
  refresh(): Promise<void> {
    if (this.#refreshing !== undefined) {
      // Someone asked after the read started: read once more when it ends.
      this.#refreshQueued = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#discover().finally(() => {
      this.#refreshing = undefined;
      if (this.#refreshQueued && !this.#closed) {
        this.#refreshQueued = false;
        this.#refreshSoon();
      }
    });
    return this.#refreshing;
  }

  /** Refreshes in the background; failures go to `onError`. */
  #refreshSoon(): void {
    if (this.#refreshing !== undefined || this.#closed) return;
    this.refresh().catch((error) => this.#report(error));
  }

  async #ready(): Promise<Topology> {
    if (this.#topology === undefined) await this.refresh();
    return this.#topology!;
  }

  /**
   * The topology, read first if it was not yet.
   *
   * @returns The topology as last read.
   * @throws {ConnectionClosedError} When no node answered.
   */
  ready(): Promise<Topology> {
    return this.#ready();
  }

  /**
   * Calls `listener` after each topology read, until the returned function is called.
   *
   * @param listener Called with nothing: read {@linkcode Router.ready}.
   * @returns Stops the calls.
   */
  onTopology(listener: () => void): () => void {
    this.#topologyListeners.add(listener);
    return () => this.#topologyListeners.delete(listener);
  }

  /**
   * Records a `MOVED` reply that a command sent outside the router got (a
   * subscription, a watch), and reads the topology again in the background.
   *
   * @param reply The error reply.
   * @param from The node that answered.
   * @returns Where the slot is now, or `undefined` when the reply is no `MOVED` / `ASK`.
   */
  redirected(
    reply: ReplyError,
    from: ClusterNodeAddress,
  ): (Redirect & { slot: number }) | undefined {
    const moved = parseRedirect(reply, from);
    if (moved !== undefined && !moved.asking) {
      this.#topology?.move(moved.slot, moved.address);
      this.#refreshSoon();
    }
    return moved;
  }

  async #discover(): Promise<void> {
    const candidates = new Map<string, ClusterNodeAddress>();
    const known = this.#topology?.addresses() ?? [];
    for (const address of known) {
      if (this.#clients.get(addressKey(address))?.connected) {
        candidates.set(addressKey(address), address);
      }
    }
    for (const address of [...known, ...this.#o.seeds]) {
      candidates.set(addressKey(address), address);
    }
    let partial: [Topology, ClusterNodeAddress] | undefined;
    let lastError: unknown;
    for (const address of candidates.values()) {
      if (this.#closed) break;
      try {
        const topology = await this.#readTopology(address);
        if (topology.coveredSlots === 16384) {
          this.#install(topology, address);
          return;
        }
        partial ??= [topology, address];
      } catch (error) {
        if (!transient(error) && !(error instanceof ReplyError)) throw error;
        lastError = error;
      }
    }
    if (partial !== undefined) {
      this.#install(...partial);
      return;
    }
    if (this.#closed) throw this.#closedError();
    throw new ConnectionClosedError(
      `Cannot discover the cluster: no node answered CLUSTER SHARDS (tried ${
        [...candidates.keys()].join(", ")
      })`,
      { cause: lastError },
    );
  }

  async #readTopology(address: ClusterNodeAddress): Promise<Topology> {
    const client = this.#client(address);
    if (!client.connected) await client.open();
    let shards: ClusterShardInfo[];
    try {
      shards = parseClusterShards(await client.send(["CLUSTER", "SHARDS"]), address, this.#tls);
    } catch (error) {
      if (!(error instanceof ReplyError) || !/unknown (sub)?command/i.test(error.message)) {
        throw error;
      }
      shards = parseClusterSlots(await client.send(["CLUSTER", "SLOTS"]), address);
    }
    if (shards.length === 0) {
      throw new ReplyError(`CLUSTERDOWN ${addressKey(address)} reports no slots`);
    }
    return new Topology(shards);
  }

  #install(topology: Topology, from: ClusterNodeAddress): void {
    const previous = this.#topology;
    this.#topology = topology;
    publish({
      type: "topology:refreshed",
      server: addressKey(from),
      primaries: topology.shards.length,
      nodes: topology.addresses().length,
      changed: previous !== undefined && topology.differsFrom(previous),
    });
    for (const listener of this.#topologyListeners) {
      try {
        listener();
      } catch (error) {
        this.#report(error);
      }
    }
    const live = new Set([...topology.addresses(), ...this.#o.seeds].map(addressKey));
    for (const [key, client] of this.#clients) {
      // Connected clients of departed nodes may still carry replies; they go at close().
      if (!live.has(key) && !client.connected) {
        this.#clients.delete(key);
        client.close().catch(() => {});
      }
    }
  }

  // ---- nodes -----------------------------------------------------------------------------

  /** What every node's connection is made with (host and port are set per node). */
  get nodeOptions(): Omit<ConnectOptions, "host" | "port"> {
    return this.#o.node;
  }

  /** The router's settings. */
  get options(): RouterOptions {
    return this.#o;
  }

  /** The timers the router (and what it serves) waits with. */
  get timers(): Timers {
    return this.#timers;
  }

  /** The clock the router measures `retryTimeout` with. */
  get now(): () => number {
    return this.#now;
  }

  /**
   * The shared client of a node, which the router sends commands through
   * (opened by the caller: `open()` when not `connected`).
   *
   * @param address The node.
   * @returns Its client.
   */
  nodeClient(address: ClusterNodeAddress): RedisClient {
    return this.#client(address);
  }

  /**
   * A client of a node for one caller alone (a watch), never reconnected by
   * itself, made with the nodes' options; the caller closes it.
   *
   * @param address The node.
   * @returns A new client, not connected yet.
   */
  dedicatedClient(address: ClusterNodeAddress): RedisClient {
    return new RedisClient({
      ...this.#o.node,
      host: address.host,
      port: address.port,
      reconnect: false,
    });
  }

  /**
   * Waits before another attempt: jittered, growing with `attempt`, ended at once by `close()`.
   *
   * @param attempt How many attempts failed so far.
   * @returns Resolves after the pause.
   */
  backoff(attempt: number): Promise<void> {
    return this.#backoff(attempt);
  }

  /**
   * Reads the topology again in the background; failures go to `onError`.
   */
  refreshSoon(): void {
    this.#refreshSoon();
  }

  #client(address: ClusterNodeAddress): RedisClient {
    const key = addressKey(address);
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = new RedisClient({
        ...this.#o.node,
        host: address.host,
        port: address.port,
        // The router reconnects (fresh credentials each time) and decides what to retry.
        reconnect: false,
      });
      this.#clients.set(key, client);
    }
    return client;
  }

  /** Where a command goes when nothing redirected it. */
  #target(
    topology: Topology,
    command: Routed,
    primaryOnly = false,
  ): { address: ClusterNodeAddress; replica: boolean } | undefined {
    if (command.slot === undefined) {
      const primaries = topology.shards.map((shard) => shard.primary);
      const connected = primaries.find((p) => this.#clients.get(addressKey(p))?.connected);
      const address = connected ?? primaries[0] ?? this.#o.seeds[0]!;
      return { address, replica: false };
    }
    const shard = topology.shardOf(command.slot);
    if (shard === undefined) return undefined;
    if (this.#o.replicaReads && !primaryOnly && readsFromReplica(commandName(command.args))) {
      const replicas = shard.replicas.filter((replica) => replica.online);
      if (replicas.length > 0) {
        return { address: replicas[this.#replicaTurn++ % replicas.length]!, replica: true };
      }
    }
    return { address: shard.primary, replica: false };
  }

  // ---- commands --------------------------------------------------------------------------

  /**
   * Runs one command where its keys live.
   *
   * @param args The command.
   * @param bytes Decode bulk strings as bytes.
   * @returns The reply.
   * @throws {TypeError} For commands a cluster client cannot run.
   * @throws {ReplyError} The server's error reply, or `CROSSSLOT` before sending.
   */
  async run(args: readonly CommandArg[], bytes: boolean): Promise<RespValue> {
    const route = commandRoute(args);
    const name = commandName(args);
    if (route.kind === "unsupported") {
      throw new TypeError(`Cannot send ${name} through the cluster client: ${route.reason}`);
    }
    if (route.kind === "all") return await this.#fanOut(args, bytes, route.aggregate);
    const slot = route.kind === "keys" ? sameSlot(name, route.keys) : undefined;
    const reply = await this.#execute({ args, bytes, slot, readOnly: isReadOnly(name) });
    if (reply instanceof ReplyError) throw reply;
    return reply;
  }

  /**
   * Runs a command, following redirections and retrying while its slot is
   * unavailable. Returns error replies instead of throwing them; throws
   * connection failures of commands that may have run.
   */
  async #execute(command: Routed): Promise<RespValue> {
    const deadline = this.#now() + this.#o.retryTimeout;
    let redirections = 0;
    let attempt = 0;
    let redirect: Redirect | undefined;
    // After a replica failed the command once, it goes to the primary.
    let primaryOnly = false;
    for (;;) {
      if (this.#closed) throw this.#closedError();
      const topology = await this.#ready();
      const target = redirect === undefined
        ? this.#target(topology, command, primaryOnly)
        : undefined;
      if (target?.replica === true) primaryOnly = true;
      const address = redirect?.address ?? target?.address;
      if (address === undefined) {
        // No primary for the slot in this topology: a failover or a resharding.
        if (this.#now() >= deadline) {
          return new ReplyError(
            `CLUSTERDOWN Hash slot ${command.slot} is not served by any known node`,
          );
        }
        await this.#pauseAndRefresh(attempt++);
        continue;
      }
      const client = this.#client(address);
      if (!(await this.#opened(client, deadline))) {
        redirect = undefined;
        await this.#pauseAndRefresh(attempt++);
        continue;
      }
      const prefix: CommandArg[] | undefined = redirect?.asking === true
        ? ["ASKING"]
        : target?.replica === true
        ? ["READONLY"]
        : undefined;
      let reply: RespValue;
      try {
        reply = await send(client, command.args, command.bytes, prefix);
      } catch (error) {
        if (!transient(error)) throw error;
        // The connection dropped: the command may have run. Only reads are sent again.
        this.#refreshSoon();
        if (!command.readOnly || this.#now() >= deadline || this.#closed) throw error;
        redirect = undefined;
        await this.#backoff(attempt++);
        continue;
      }
      if (!(reply instanceof ReplyError)) return reply;
      const moved = parseRedirect(reply, address);
      if (moved !== undefined) {
        if (++redirections > this.#o.maxRedirections) return reply;
        if (!moved.asking) {
          this.#topology?.move(moved.slot, moved.address);
          this.#refreshSoon();
        }
        redirect = moved;
        continue;
      }
      if (RETRY_LATER.has(reply.code) && this.#now() < deadline) {
        if (reply.code === "CLUSTERDOWN") this.#refreshSoon();
        redirect = undefined;
        await this.#backoff(attempt++);
        continue;
      }
      return reply;
    }
  }

  /** Runs a command on every primary and combines the replies. */
  async #fanOut(
    args: readonly CommandArg[],
    bytes: boolean,
    aggregate: Aggregate,
  ): Promise<RespValue> {
    const topology = await this.#ready();
    const primaries = new Map(
      topology.shards.map((shard) => [addressKey(shard.primary), shard.primary]),
    );
    const replies = await Promise.all(
      [...primaries.values()].map(async (address) => {
        const client = this.#client(address);
        if (!client.connected) await client.open();
        return await client.send([...args], { bytes });
      }),
    );
    switch (aggregate) {
      case "sum":
        return replies.reduce<number>((sum, reply) => sum + Number(reply), 0);
      case "concat":
        return replies.flatMap((reply) => Array.isArray(reply) ? reply : []);
      case "ok":
        return "OK";
      case "first":
        return replies.find((reply) => reply !== null) ?? null;
      case "and": {
        const lists = replies.filter(Array.isArray) as RespValue[][];
        return (lists[0] ?? []).map((_, i) => lists.every((list) => Number(list[i]) === 1) ? 1 : 0);
      }
    }
  }

  /**
   * Sends a pipeline: commands grouped by node, each group in one write,
   * redirected commands sent again one by one in order; replies in the
   * commands' order, error replies kept.
   *
   * @param commands The commands.
   * @param bytes Per command (or for all), decode bulk strings as bytes.
   * @returns One reply per command.
   * @throws {TypeError} For commands a cluster client cannot run.
   * @throws {ConnectionClosedError} When a node's connection dropped before its replies arrived.
   */
  async batch(
    commands: readonly (readonly CommandArg[])[],
    bytes: boolean | readonly boolean[],
  ): Promise<RespValue[]> {
    const replies: RespValue[] = new Array(commands.length).fill(null);
    const routed: (Routed | undefined)[] = [];
    const later: number[] = [];
    const groups = new Map<string, { address: ClusterNodeAddress; indexes: number[] }>();
    const topology = await this.#ready();
    for (let i = 0; i < commands.length; i++) {
      const args = commands[i]!;
      const name = commandName(args);
      const route = commandRoute(args);
      const wantBytes = typeof bytes === "boolean" ? bytes : bytes[i] === true;
      if (route.kind === "unsupported") {
        throw new TypeError(`Cannot send ${name} in a cluster pipeline: ${route.reason}`);
      }
      if (route.kind === "all") {
        routed.push(undefined);
        later.push(i);
        continue;
      }
      let slot: number | undefined;
      try {
        slot = route.kind === "keys" ? sameSlot(name, route.keys) : undefined;
      } catch (error) {
        replies[i] = error as ReplyError;
        routed.push(undefined);
        continue;
      }
      const command: Routed = { args, bytes: wantBytes, slot, readOnly: false };
      routed.push(command);
      const target = this.#target(topology, command);
      if (target === undefined) {
        later.push(i);
        continue;
      }
      const key = addressKey(target.address);
      const group = groups.get(key) ?? { address: target.address, indexes: [] };
      group.indexes.push(i);
      groups.set(key, group);
    }
    const failures: unknown[] = [];
    await Promise.all([...groups.values()].map(async ({ address, indexes }) => {
      const client = this.#client(address);
      if (!client.connected) {
        try {
          await client.open();
        } catch (error) {
          if (!transient(error)) failures.push(error);
          else later.push(...indexes);
          return;
        }
      }
      let results: RespValue[];
      try {
        const pipeline = client.pipeline();
        for (const i of indexes) pipeline.send([...routed[i]!.args], { bytes: routed[i]!.bytes });
        results = await execRaw(pipeline);
      } catch (error) {
        failures.push(error);
        return;
      }
      indexes.forEach((i, n) => {
        const reply = results[n]!;
        if (reply instanceof ReplyError && needsRetry(reply)) {
          if (reply.code === "MOVED") {
            const moved = parseRedirect(reply, address);
            if (moved !== undefined) this.#topology?.move(moved.slot, moved.address);
          }
          later.push(i);
        } else {
          replies[i] = reply;
        }
      });
    }));
    if (failures.length > 0) {
      this.#refreshSoon();
      throw failures[0];
    }
    if (later.length > 0) this.#refreshSoon();
    // One by one, in the pipeline's order, so that commands on one key keep theirs.
    for (const i of later.sort((a, b) => a - b)) {
      const command = routed[i];
      const wantBytes = typeof bytes === "boolean" ? bytes : bytes[i] === true;
      try {
        replies[i] = command === undefined
          ? await this.run(commands[i]!, wantBytes)
          : await this.#execute(command);
      } catch (error) {
        if (!(error instanceof ReplyError)) throw error;
        replies[i] = error;
      }
    }
    return replies;
  }

  /**
   * Sends a transaction (`MULTI`, commands, `EXEC`) to the node of its keys'
   * slot, in one write. A transaction refused while queuing because the slot
   * moved (nothing ran) is sent again where the slot is now (with `ASKING`
   * during a migration).
   *
   * @param commands `MULTI`, the commands, `EXEC`.
   * @param bytes Per command (or for all), decode bulk strings as bytes.
   * @returns One reply per command sent.
   * @throws {TypeError} For commands a cluster transaction cannot run.
   * @throws {ReplyError} `CROSSSLOT` when the keys are in different slots.
   */
  async transaction(
    commands: readonly (readonly CommandArg[])[],
    bytes: boolean | readonly boolean[],
  ): Promise<RespValue[]> {
    const keys: CommandArg[] = [];
    for (const args of commands.slice(1, -1)) {
      const route = commandRoute(args);
      if (route.kind === "unsupported" || route.kind === "all") {
        throw new TypeError(
          `Cannot send ${commandName(args)} in a cluster transaction: ${
            route.kind === "all" ? "it runs on every primary" : route.reason
          }`,
        );
      }
      if (route.kind === "keys") keys.push(...route.keys);
    }
    const slot = keys.length === 0 ? undefined : sameSlot("the transaction", keys);
    const flags = typeof bytes === "boolean" ? commands.map(() => bytes) : bytes;
    const deadline = this.#now() + this.#o.retryTimeout;
    let redirect: Redirect | undefined;
    let redirections = 0;
    let attempt = 0;
    for (;;) {
      if (this.#closed) throw this.#closedError();
      const topology = await this.#ready();
      const address = redirect?.address ??
        this.#target(topology, { args: [], bytes: false, slot, readOnly: false })?.address;
      if (address === undefined) {
        if (this.#now() >= deadline) {
          throw new ReplyError(`CLUSTERDOWN Hash slot ${slot} is not served by any known node`);
        }
        await this.#pauseAndRefresh(attempt++);
        continue;
      }
      const client = this.#client(address);
      if (!(await this.#opened(client, deadline))) {
        redirect = undefined;
        await this.#pauseAndRefresh(attempt++);
        continue;
      }
      const pipeline = client.pipeline();
      // ASKING before MULTI lasts for the whole transaction.
      if (redirect?.asking === true) pipeline.send(["ASKING"]);
      commands.forEach((args, i) => pipeline.send([...args], { bytes: flags[i] === true }));
      const replies = await execRaw(pipeline);
      if (redirect?.asking === true) replies.shift();
      const refused = replies.slice(1, -1).find((reply): reply is ReplyError =>
        reply instanceof ReplyError && needsRetry(reply)
      );
      if (refused === undefined) return replies;
      const moved = parseRedirect(refused, address);
      if (moved !== undefined) {
        if (++redirections > this.#o.maxRedirections) return replies;
        if (!moved.asking) {
          this.#topology?.move(moved.slot, moved.address);
          this.#refreshSoon();
        }
        redirect = moved;
        continue;
      }
      if (this.#now() >= deadline) return replies;
      redirect = undefined;
      await this.#backoff(attempt++);
    }
  }

  // ---- life ------------------------------------------------------------------------------

  /**
   * Closes every node's client (waiting for replies already on their way)
   * and wakes commands waiting to retry, which then fail.
   *
   * @returns Resolves when everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#stop.abort();
      // The clients first: closing them ends a topology read waiting on one.
      await Promise.all([...this.#clients.values()].map((client) => client.close()));
      await this.#refreshing?.catch(() => {});
    })();
    return this.#closing;
  }

  /** After a failed attempt: reads the topology again, then backs off. */
  async #pauseAndRefresh(attempt: number): Promise<void> {
    await this.refresh().catch(() => {});
    await this.#backoff(attempt);
  }

  /**
   * Opens a node's connection if it is down. Returns false when the node is
   * unreachable for now (nothing was sent), so the caller may look again once
   * the topology may have changed; throws when that is pointless.
   */
  async #opened(client: RedisClient, deadline: number): Promise<boolean> {
    if (client.connected) return true;
    try {
      await client.open();
      return true;
    } catch (error) {
      if (!transient(error) || this.#now() >= deadline || this.#closed) throw error;
      return false;
    }
  }

  #backoff(attempt: number): Promise<void> {
    return sleep(this.#timers, backoffDelay(attempt, BACKOFF_MIN, BACKOFF_MAX), this.#stop.signal);
  }

  #closedError(): ConnectionClosedError {
    return new ConnectionClosedError(
      `Cannot send command to the cluster at ${this.label}: the client is closed`,
    );
  }

  #report(error: unknown): void {
    try {
      this.#o.node.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // The handler failed; nothing is left to tell.
    }
  }
}

/**
 * Sends a pipeline of `send` commands and keeps their error replies. Without
 * a parser, a slot holds the reply or its `ReplyError`: both are `RespValue`s.
 */
function execRaw(pipeline: Pipeline<unknown[]>): Promise<RespValue[]> {
  return pipeline.exec({ keepErrors: true }) as Promise<RespValue[]>;
}

/** Sends a command, optionally right behind `ASKING` or `READONLY` on the same connection. */
async function send(
  client: RedisClient,
  args: readonly CommandArg[],
  bytes: boolean,
  prefix: CommandArg[] | undefined,
): Promise<RespValue> {
  if (prefix !== undefined) {
    const replies = await execRaw(client.pipeline().send(prefix).send([...args], { bytes }));
    return replies[1] ?? null;
  }
  try {
    return await client.send([...args], { bytes });
  } catch (error) {
    if (error instanceof ReplyError) return error;
    throw error;
  }
}

/**
 * Whether a failure is about the connection (worth another try elsewhere or later).
 *
 * @param error The failure.
 * @returns `true` for a `ConnectionClosedError` or a `TimeoutError`.
 */
export function transient(error: unknown): boolean {
  return error instanceof ConnectionClosedError || error instanceof TimeoutError;
}

/**
 * Whether an error reply says to try again after a pause (`TRYAGAIN`,
 * `CLUSTERDOWN`, `LOADING`, `MASTERDOWN`): a failover, a restart or a resharding.
 *
 * @param reply The error reply.
 * @returns `true` when a later attempt may succeed.
 */
export function retryLater(reply: ReplyError): boolean {
  return RETRY_LATER.has(reply.code);
}

function needsRetry(reply: ReplyError): boolean {
  return reply.code === "MOVED" || reply.code === "ASK" || RETRY_LATER.has(reply.code);
}

/**
 * Reads `MOVED 3999 127.0.0.1:6381` / `ASK …`; an empty host means the node that answered.
 *
 * @param reply The error reply.
 * @param from The node that answered.
 * @returns The slot and where to go, or `undefined` for other errors.
 */
export function parseRedirect(
  reply: ReplyError,
  from: ClusterNodeAddress,
): (Redirect & { slot: number }) | undefined {
  const match = REDIRECT.exec(reply.message);
  if (match === null) return undefined;
  const [, kind, slot, host, port] = match as unknown as [string, string, string, string, string];
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return {
    slot: Number(slot),
    address: { host: bare === "" ? from.host : bare, port: Number(port) },
    asking: kind === "ASK",
  };
}

/**
 * The one slot of a command's keys.
 *
 * @param what The command's name, for the error.
 * @param keys The keys (at least one).
 * @returns The slot.
 * @throws {ReplyError} `CROSSSLOT` when the keys are in different slots.
 */
export function sameSlot(what: string, keys: readonly CommandArg[]): number {
  const first = keys[0]!;
  const slot = keySlot(keyText(first));
  for (let i = 1; i < keys.length; i++) {
    const other = keySlot(keyText(keys[i]!));
    if (other !== slot) {
      throw new ReplyError(
        `CROSSSLOT Cannot send ${what}: its keys are in different hash slots (${
          showKey(first)
        } in ${slot}, ${
          showKey(keys[i]!)
        } in ${other}), and a cluster runs a command on one node; give keys that belong together a hash tag, such as {user:1}:a and {user:1}:b`,
      );
    }
  }
  return slot;
}

function keyText(key: CommandArg): string | Uint8Array {
  if (typeof key !== "number") return key;
  return Number.isFinite(key) ? String(key) : key > 0 ? "inf" : "-inf";
}

function showKey(key: CommandArg): string {
  if (key instanceof Uint8Array) return `a ${key.length}-byte key`;
  const text = String(key);
  return `'${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`;
}
