/**
 * Pub/sub on a cluster: classic channels and patterns (`SUBSCRIBE`,
 * `PSUBSCRIBE`) on one node's connection, and shard channels (`SSUBSCRIBE`,
 * Redis 7) on the primary of each channel's slot.
 *
 * Subscriber connections are connections of their own (one per node that
 * carries subscriptions), thin-client sessions over RESP3: each authenticates
 * with credentials valid when it connects and is re-authenticated before the
 * 12-hour cut, while subscribed. What is subscribed where is kept as a wanted
 * state (the listeners) and a confirmed state (what each connection's server
 * confirmed); one serialized step, `sync`, moves the second towards the first.
 * It runs after every change: a subscription, an unsubscription, a dropped
 * connection, a topology read, a `MOVED` answer to `SSUBSCRIBE`, and the
 * `sunsubscribe` a node sends when a slot leaves it (migration, failover).
 *
 * @module
 */

import { ConnectionClosedError, raiseUncaught, ReplyError } from "../errors.ts";
import type { Connection } from "../client/connection.ts";
import { resolveOptions } from "../client/options.ts";
import { type MessageListener, type PatternListener, Subscription } from "../client/pubsub.ts";
import { text } from "../client/replies.ts";
import { Session, type SessionHooks } from "../client/session.ts";
import { backoffDelay, sleep } from "../client/timers.ts";
import type { CommandArg, Push, RespValue } from "../resp/types.ts";
import { defaultTransport } from "../transport/default_transport.ts";
import { retryLater, type Router, transient } from "./router.ts";
import { keySlot } from "./slot.ts";
import { addressKey, type ClusterNodeAddress, type Topology } from "./topology.ts";

type Listener = (message: string, channel: string, pattern: string) => void;

/** The three kinds of subscription. */
type Kind = "channels" | "patterns" | "shard";

const COMMANDS: Record<Kind, readonly [subscribe: string, unsubscribe: string]> = {
  channels: ["SUBSCRIBE", "UNSUBSCRIBE"],
  patterns: ["PSUBSCRIBE", "PUNSUBSCRIBE"],
  shard: ["SSUBSCRIBE", "SUNSUBSCRIBE"],
};

const METHOD: Record<Kind, string> = {
  channels: "subscribe",
  patterns: "psubscribe",
  shard: "ssubscribe",
};

/** Confirmations a connection only sends when asked (the server's own `sunsubscribe` aside). */
const CONFIRMATIONS = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
]);

/** Pauses of the background retries: from 50 ms doubling to 2 s. */
const RETRY_MIN = 50;
const RETRY_MAX = 2000;

/** One subscriber connection, to one node. */
class NodeSubscriber implements SessionHooks {
  readonly key: string;
  readonly session: Session;
  /** What the current connection is subscribed to, as its server confirmed. */
  readonly confirmed: Record<Kind, Set<string>> = {
    channels: new Set(),
    patterns: new Set(),
    shard: new Set(),
  };

  constructor(readonly address: ClusterNodeAddress, readonly owner: ClusterPubSub) {
    this.key = addressKey(address);
    const node = owner.router.nodeOptions;
    this.session = new Session(
      resolveOptions(
        { ...node, host: address.host, port: address.port, reconnect: false },
        defaultTransport,
      ),
      this,
    );
  }

  get connected(): boolean {
    return this.session.connected && !this.session.closed;
  }

  /** Whether nothing is subscribed on it. */
  get idle(): boolean {
    const c = this.confirmed;
    return c.channels.size === 0 && c.patterns.size === 0 && c.shard.size === 0;
  }

  /** Opens the connection if it is not open (one attempt, bounded by `connectTimeout`). */
  async open(): Promise<void> {
    if (!this.connected) await this.session.open();
  }

  /** Sends a `SUBSCRIBE`-family command and waits for its confirmations. */
  send(args: CommandArg[], confirmations: number): Promise<void> {
    return this.session.use((conn) => conn.subscribe(args, confirmations));
  }

  onPush(push: Push): boolean {
    return this.owner.onPush(this, push);
  }

  onConnect(_conn: Connection): void {
    // A new connection is subscribed to nothing: `sync` subscribes it.
    this.#forget();
  }

  /**
   * Called by the session when the connection dropped: the pub/sub layer
   * reconnects it (or moves its subscriptions to another node), so the
   * session must not.
   */
  needsConnection(): boolean {
    this.#forget();
    this.owner.dropped();
    return false;
  }

  #forget(): void {
    for (const set of Object.values(this.confirmed)) set.clear();
  }
}

/**
 * The cluster client's subscriptions. Made on the first `subscribe`,
 * `psubscribe` or `ssubscribe`; closed with the client.
 */
export class ClusterPubSub {
  readonly router: Router;
  readonly #wanted: Record<Kind, Map<string, Set<Listener>>> = {
    channels: new Map(),
    patterns: new Map(),
    shard: new Map(),
  };
  readonly #nodes = new Map<string, NodeSubscriber>();
  /** The node carrying the classic channels and patterns. */
  #home: NodeSubscriber | undefined;
  /** The `sync` running or waiting: one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Read the topology before the next `sync`. */
  #refresh = false;
  /** Something changed since the background `sync` started: run it again. */
  #dirty = false;
  #background: Promise<void> | undefined;
  #unlisten: (() => void) | undefined;
  readonly #stop = new AbortController();
  #closed = false;

  /** @param router The cluster client's router. */
  constructor(router: Router) {
    this.router = router;
  }

  /**
   * Subscribes a listener to channels, patterns or shard channels.
   *
   * @param kind Which.
   * @param input A name or names.
   * @param listener Called with each message.
   * @returns The subscription, once every new name is subscribed on its node.
   */
  async subscribe(
    kind: Kind,
    input: string | readonly string[],
    listener: MessageListener | PatternListener,
  ): Promise<Subscription> {
    const method = METHOD[kind];
    if (this.#closed || this.router.closed) {
      throw new ConnectionClosedError(`Cannot ${method}: the cluster client is closed`);
    }
    if ((this.router.nodeOptions.protocol ?? 3) !== 3) {
      throw new TypeError(
        `Cannot ${method}: pub/sub on the cluster client needs protocol: 3 (RESP3)`,
      );
    }
    const names = typeof input === "string" ? [input] : input;
    const what = kind === "patterns" ? "pattern" : kind === "shard" ? "shard channel" : "channel";
    if (
      !Array.isArray(names) || names.length === 0 ||
      names.some((name) => typeof name !== "string" || name === "")
    ) {
      throw new TypeError(`Cannot ${method}: give one or more ${what} names as non-empty strings`);
    }
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot ${method}: the listener must be a function`);
    }
    this.#unlisten ??= this.router.onTopology(() => this.#kick());
    const list = [...new Set(names as string[])];
    // A wrapper per call, so that each subscription is removed on its own.
    const own: Listener = kind === "patterns"
      ? (message, channel, pattern) => (listener as PatternListener)(message, channel, pattern)
      : (message, channel) => (listener as MessageListener)(message, channel);
    const registry = this.#wanted[kind];
    const fresh: string[] = [];
    for (const name of list) {
      let set = registry.get(name);
      if (set === undefined) {
        set = new Set();
        registry.set(name, set);
        fresh.push(name);
      }
      set.add(own);
    }
    const leave = () => this.#remove(kind, list, own);
    if (fresh.length > 0) {
      try {
        await this.#place(kind, fresh);
      } catch (error) {
        await leave();
        throw error;
      }
    }
    return new Subscription(list, leave);
  }

  /** Waits until `names` are subscribed, retrying for up to `retryTimeout` while nodes fail. */
  async #place(kind: Kind, names: readonly string[]): Promise<void> {
    const deadline = this.router.now() + this.router.options.retryTimeout;
    for (let attempt = 0;; attempt++) {
      const failures = await this.#serial();
      if (this.#closed) {
        throw new ConnectionClosedError(`Cannot ${METHOD[kind]}: the cluster client is closed`);
      }
      const registry = this.#wanted[kind];
      const error = names
        .filter((name) => registry.has(name))
        .map((name) => failures.get(failureKey(kind, name)))
        .find((failure) => failure !== undefined);
      if (error === undefined) return;
      if (!worthRetrying(error) || this.router.now() >= deadline) throw error;
      await sleep(
        this.router.timers,
        backoffDelay(attempt, RETRY_MIN, RETRY_MAX),
        this.#stop.signal,
      );
    }
  }

  async #remove(kind: Kind, names: readonly string[], listener: Listener): Promise<void> {
    const registry = this.#wanted[kind];
    let gone = false;
    for (const name of names) {
      const set = registry.get(name);
      if (set === undefined || !set.delete(listener)) continue;
      if (set.size === 0) {
        registry.delete(name);
        gone = true;
      }
    }
    if (gone && !this.#closed) await this.#serial();
  }

  /** Runs `sync` after the one under way, if any. */
  #serial(): Promise<Map<string, Error>> {
    const run = this.#queue.then(() => this.#sync());
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Asks for a `sync` in the background, retried with backoff while something fails. */
  #kick(refresh = false): void {
    if (refresh) this.#refresh = true;
    if (this.#closed) return;
    this.#dirty = true;
    this.#background ??= this.#runBackground().finally(() => {
      this.#background = undefined;
    });
  }

  async #runBackground(): Promise<void> {
    let attempt = 0;
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      const failures = await this.#serial();
      if (failures.size === 0 || this.#closed) {
        attempt = 0;
        continue;
      }
      this.#report(failures.values().next().value!);
      this.#dirty = true;
      await sleep(
        this.router.timers,
        backoffDelay(attempt++, RETRY_MIN, RETRY_MAX),
        this.#stop.signal,
      );
    }
  }

  /**
   * Moves what is subscribed towards what is wanted, on the topology as
   * known (read again first when something suggested it changed). Never
   * throws: returns, for each wanted name it could not subscribe, why.
   */
  async #sync(): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    const maxPasses = this.router.options.maxRedirections + 1;
    for (let pass = 0; pass < maxPasses && !this.#closed; pass++) {
      failures.clear();
      if (this.#refresh) {
        this.#refresh = false;
        await this.router.refresh().catch(() => {});
      }
      try {
        const topology = await this.router.ready();
        await this.#syncClassic(topology, failures);
        if (!(await this.#syncShard(topology, failures))) break;
      } catch (error) {
        // No topology (no node answered), or a failure of this code: every
        // wanted name fails with it, and nothing is left half done.
        for (const kind of Object.keys(this.#wanted) as Kind[]) {
          for (const name of this.#wanted[kind].keys()) {
            failures.set(failureKey(kind, name), error as Error);
          }
        }
        break;
      }
    }
    await this.#closeIdle().catch(() => {});
    return failures;
  }

  /** Classic channels and patterns: all on one node, any node (a `PUBLISH` reaches every node). */
  async #syncClassic(topology: Topology, failures: Map<string, Error>): Promise<void> {
    const channels = [...this.#wanted.channels.keys()];
    const patterns = [...this.#wanted.patterns.keys()];
    const live = new Set(topology.addresses().map(addressKey));
    if (this.#home !== undefined && !live.has(this.#home.key)) this.#home = undefined;
    if (channels.length + patterns.length === 0) {
      this.#home = undefined;
    } else if (this.#home === undefined || !this.#home.connected) {
      let lastError: Error | undefined;
      let home: NodeSubscriber | undefined;
      for (const address of this.#classicCandidates(topology)) {
        const node = this.#node(address);
        try {
          await node.open();
          home = node;
          break;
        } catch (error) {
          lastError = error as Error;
          if (!transient(error)) break;
          this.#refresh = true;
        }
      }
      this.#home = home;
      if (home === undefined) {
        const error = lastError ?? new ConnectionClosedError(
          "Cannot subscribe: no node of the cluster answered",
        );
        for (const name of channels) failures.set(failureKey("channels", name), error);
        for (const name of patterns) failures.set(failureKey("patterns", name), error);
      }
    }
    const tasks: Promise<void>[] = [];
    for (const node of this.#nodes.values()) {
      const mine = node === this.#home;
      tasks.push(
        this.#apply(node, "channels", mine ? channels : [], failures),
        this.#apply(node, "patterns", mine ? patterns : [], failures),
      );
    }
    await Promise.all(tasks);
  }

  /**
   * Where classic subscriptions go: the node they were on (after a dropped
   * connection), nodes already carrying subscriptions, then primaries, then replicas.
   */
  #classicCandidates(topology: Topology): ClusterNodeAddress[] {
    const out = new Map<string, ClusterNodeAddress>();
    const previous = this.#home;
    if (previous !== undefined) out.set(previous.key, previous.address);
    const addresses = topology.addresses();
    for (const address of addresses) {
      if (this.#nodes.get(addressKey(address))?.connected) out.set(addressKey(address), address);
    }
    for (const address of addresses) out.set(addressKey(address), address);
    return [...out.values()];
  }

  /** Subscribes a node to what it lacks of `wanted`, unsubscribes it from the rest. */
  async #apply(
    node: NodeSubscriber,
    kind: "channels" | "patterns",
    wanted: readonly string[],
    failures: Map<string, Error>,
  ): Promise<void> {
    const have = node.confirmed[kind];
    const keep = new Set(wanted);
    const drop = [...have].filter((name) => !keep.has(name));
    const add = wanted.filter((name) => !have.has(name));
    const [subscribe, unsubscribe] = COMMANDS[kind];
    const tasks: Promise<void>[] = [];
    if (drop.length > 0) {
      for (const name of drop) have.delete(name);
      // Not awaited for errors: a node that is gone unsubscribed by itself.
      if (node.connected) {
        tasks.push(node.send([unsubscribe, ...drop], drop.length).catch(() => {}));
      }
    }
    if (add.length > 0 && node.connected) {
      tasks.push(
        node.send([subscribe, ...add], add.length).then(
          () => {
            for (const name of add) have.add(name);
          },
          (error) => {
            for (const name of add) failures.set(failureKey(kind, name), error);
          },
        ),
      );
    }
    await Promise.all(tasks);
  }

  /**
   * Shard channels: each on the primary of its slot, one command per slot
   * (a node refuses channels of several slots in one command). Returns
   * whether a node answered `MOVED` (the slot map was updated: another pass).
   */
  async #syncShard(topology: Topology, failures: Map<string, Error>): Promise<boolean> {
    const wanted = this.#wanted.shard;
    const bySlot = groupBySlot(wanted.keys());
    const place = new Map<number, NodeSubscriber | undefined>();
    for (const slot of bySlot.keys()) {
      const primary = topology.shardOf(slot)?.primary;
      place.set(slot, primary === undefined ? undefined : this.#node(primary));
    }
    const tasks: Promise<void>[] = [];
    // What is subscribed where its slot no longer is, or no longer wanted, goes.
    for (const node of this.#nodes.values()) {
      const have = node.confirmed.shard;
      const stale = [...have].filter((name) =>
        !wanted.has(name) || place.get(keySlot(name)) !== node
      );
      for (const [, names] of groupBySlot(stale)) {
        for (const name of names) have.delete(name);
        if (node.connected) {
          tasks.push(node.send(["SUNSUBSCRIBE", ...names], names.length).catch(() => {}));
        }
      }
    }
    // What is missing is subscribed on its slot's primary.
    const missing = new Map<NodeSubscriber, [number, string[]][]>();
    for (const [slot, names] of bySlot) {
      const node = place.get(slot);
      if (node === undefined) {
        const error = new ReplyError(
          `CLUSTERDOWN Hash slot ${slot} is not served by any known node`,
        );
        for (const name of names) failures.set(failureKey("shard", name), error);
        this.#refresh = true;
        continue;
      }
      const absent = names.filter((name) => !node.confirmed.shard.has(name));
      if (absent.length === 0) continue;
      const list = missing.get(node) ?? [];
      list.push([slot, absent]);
      missing.set(node, list);
    }
    let moved = false;
    for (const [node, slots] of missing) {
      tasks.push((async () => {
        try {
          await node.open();
        } catch (error) {
          for (const [, names] of slots) {
            for (const name of names) failures.set(failureKey("shard", name), error as Error);
          }
          if (transient(error)) this.#refresh = true;
          return;
        }
        await Promise.all(
          slots.map(([, names]) =>
            node.send(["SSUBSCRIBE", ...names], names.length).then(
              () => {
                for (const name of names) node.confirmed.shard.add(name);
              },
              (error) => {
                for (const name of names) failures.set(failureKey("shard", name), error);
                if (error instanceof ReplyError) {
                  if (this.router.redirected(error, node.address) !== undefined) moved = true;
                  else if (retryLater(error)) this.#refresh = true;
                } else if (transient(error)) {
                  this.#refresh = true;
                }
              },
            )
          ),
        );
      })());
    }
    await Promise.all(tasks);
    return moved;
  }

  /** The subscriber of a node, made (not connected) if there is none. */
  #node(address: ClusterNodeAddress): NodeSubscriber {
    const key = addressKey(address);
    let node = this.#nodes.get(key);
    if (node === undefined) {
      node = new NodeSubscriber(address, this);
      this.#nodes.set(key, node);
    }
    return node;
  }

  /** Closes the connections that carry nothing any more. */
  async #closeIdle(): Promise<void> {
    const idle: NodeSubscriber[] = [];
    for (const [key, node] of this.#nodes) {
      if (node === this.#home || !node.idle) continue;
      this.#nodes.delete(key);
      idle.push(node);
    }
    await Promise.all(idle.map((node) => node.session.close()));
  }

  /**
   * A push frame on a subscriber connection: a message for the listeners,
   * or a change the server made by itself.
   *
   * @param node The connection's subscriber.
   * @param push The frame.
   * @returns Whether it was a pub/sub frame.
   */
  onPush(node: NodeSubscriber, push: Push): boolean {
    const [first, second, third] = push.data;
    switch (push.kind) {
      case "message":
        this.#dispatch("channels", text(first!), text(first!), second!);
        return true;
      case "pmessage":
        this.#dispatch("patterns", text(first!), text(second!), third!);
        return true;
      case "smessage":
        this.#dispatch("shard", text(first!), text(first!), second!);
        return true;
      case "sunsubscribe": {
        // The node dropped a shard channel: its slot left the node (a
        // migration, a failover). Or this is the confirmation of one of our
        // own commands whose waiting place a frame of the node took: then
        // which channel the node dropped is unknown, and all are subscribed again.
        if (!node.confirmed.shard.delete(text(first!))) node.confirmed.shard.clear();
        this.#kick(true);
        return true;
      }
      default:
        if (!CONFIRMATIONS.has(push.kind)) return false;
        // A confirmation nothing waits for: see `sunsubscribe`.
        node.confirmed.shard.clear();
        this.#kick(true);
        return true;
    }
  }

  /** A subscriber connection dropped: subscribe again, here or elsewhere. */
  dropped(): void {
    this.#kick(true);
  }

  #dispatch(kind: Kind, name: string, channel: string, message: RespValue): void {
    const set = this.#wanted[kind].get(name);
    if (set === undefined) return;
    const payload = text(message);
    for (const listener of set) {
      try {
        listener(payload, channel, name);
      } catch (error) {
        this.#report(error);
      }
    }
  }

  /**
   * A failure no caller awaits (a listener that threw, a subscription that
   * could not be restored yet) goes to `onError`; without it, connection
   * failures (retried anyway) are dropped and anything else goes to the
   * runtime's uncaught-error path, as the thin client does.
   */
  #report(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    const onError = this.router.nodeOptions.onError;
    if (onError === undefined) {
      if (!worthRetrying(failure)) raiseUncaught(failure);
      return;
    }
    try {
      onError(failure);
    } catch (handlerFailure) {
      raiseUncaught(handlerFailure);
    }
  }

  /**
   * Closes every subscriber connection; subscriptions end.
   *
   * @returns Resolves when they are closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    this.#unlisten?.();
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    this.#home = undefined;
    // Closing the sessions first ends a connect attempt the sync waits on.
    await Promise.all(nodes.map((node) => node.session.close()));
    await this.#queue;
    await this.#background;
    await Promise.all([...this.#nodes.values()].map((node) => node.session.close()));
  }
}

function failureKey(kind: Kind, name: string): string {
  return `${kind}\u0000${name}`;
}

/** Whether a failure may pass by itself: a connection, or a cluster in flux. */
function worthRetrying(error: Error): boolean {
  if (transient(error)) return true;
  return error instanceof ReplyError &&
    (retryLater(error) || error.code === "MOVED" || error.code === "ASK");
}

function groupBySlot(names: Iterable<string>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const name of names) {
    const slot = keySlot(name);
    const list = out.get(slot);
    if (list === undefined) out.set(slot, [name]);
    else list.push(name);
  }
  return out;
}
