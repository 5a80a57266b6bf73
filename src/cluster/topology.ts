/**
 * A cluster's topology as a client sees it: shards (slot ranges, a primary,
 * replicas) read from `CLUSTER SHARDS` (Redis 7+) or `CLUSTER SLOTS`, and a
 * slot table for routing.
 *
 * @module
 */

import type { RespValue } from "../resp/types.ts";
import { SLOT_COUNT } from "./slot.ts";

/** A node's address. */
export interface ClusterNodeAddress {
  /** Its host name or IP address. */
  readonly host: string;
  /** Its port. */
  readonly port: number;
}

/** A node as the topology describes it. */
export interface ClusterNodeInfo extends ClusterNodeAddress {
  /** Its cluster node id, when the server said. */
  readonly id: string | undefined;
  /** Whether it is serving (`health: online`; always `true` from `CLUSTER SLOTS`). */
  readonly online: boolean;
}

/** A shard: slot ranges served by one primary and its replicas. */
export interface ClusterShardInfo {
  /** Its slot ranges, inclusive. */
  readonly slots: readonly (readonly [start: number, end: number])[];
  /** Its primary. */
  readonly primary: ClusterNodeInfo;
  /** Its replicas. */
  readonly replicas: readonly ClusterNodeInfo[];
}

const NO_SHARD = 0xffff;

/**
 * The `host:port` key of an address (IPv6 hosts in brackets).
 *
 * @param address The address.
 * @returns Such as `10.0.0.1:6379` or `[::1]:6379`.
 */
export function addressKey(address: ClusterNodeAddress): string {
  return `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Shards and the slot table built from them. */
export class Topology {
  readonly #shards: ClusterShardInfo[];
  readonly #table = new Uint16Array(SLOT_COUNT).fill(NO_SHARD);

  /**
   * Builds the slot table.
   *
   * @param shards The shards.
   */
  constructor(shards: readonly ClusterShardInfo[]) {
    this.#shards = [...shards].sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
    this.#shards.forEach((shard, index) => {
      for (const [start, end] of shard.slots) this.#table.fill(index, start, end + 1);
    });
  }

  /** The shards, in slot order. */
  get shards(): readonly ClusterShardInfo[] {
    return this.#shards;
  }

  /** How many slots have a primary. */
  get coveredSlots(): number {
    let count = 0;
    for (const index of this.#table) if (index !== NO_SHARD) count++;
    return count;
  }

  /**
   * The shard serving a slot.
   *
   * @param slot The slot.
   * @returns The shard, or `undefined` when no shard serves it.
   */
  shardOf(slot: number): ClusterShardInfo | undefined {
    const index = this.#table[slot];
    return index === undefined || index === NO_SHARD ? undefined : this.#shards[index];
  }

  /**
   * Records what a `MOVED` reply said: `slot` is now served by `address`.
   *
   * @param slot The slot.
   * @param address Its new primary.
   */
  move(slot: number, address: ClusterNodeAddress): void {
    const key = addressKey(address);
    let index = this.#shards.findIndex((shard) => addressKey(shard.primary) === key);
    if (index === -1) {
      index = this.#shards.length;
      this.#shards.push({
        slots: [],
        primary: { host: address.host, port: address.port, id: undefined, online: true },
        replicas: [],
      });
    }
    this.#table[slot] = index;
  }

  /**
   * Whether a slot is served by another primary (or by none) in `other`.
   *
   * @param other An earlier topology.
   * @returns `true` when any slot moved.
   */
  differsFrom(other: Topology): boolean {
    for (let slot = 0; slot < this.#table.length; slot++) {
      const mine = this.shardOf(slot)?.primary;
      const theirs = other.shardOf(slot)?.primary;
      if ((mine && addressKey(mine)) !== (theirs && addressKey(theirs))) return true;
    }
    return false;
  }

  /**
   * Every node's address: primaries first.
   *
   * @returns The addresses, each once.
   */
  addresses(): ClusterNodeAddress[] {
    const seen = new Map<string, ClusterNodeAddress>();
    for (const shard of this.#shards) seen.set(addressKey(shard.primary), shard.primary);
    for (const shard of this.#shards) {
      for (const replica of shard.replicas) seen.set(addressKey(replica), replica);
    }
    return [...seen.values()];
  }
}

/**
 * Reads a `CLUSTER SHARDS` reply (RESP2 or RESP3).
 *
 * @param reply The reply.
 * @param asked The node that answered: the host of nodes that announce none.
 * @param tls Whether clients connect with TLS (prefer `tls-port`).
 * @returns The shards that have slots and a primary.
 * @throws {TypeError} If the reply is not a `CLUSTER SHARDS` reply.
 */
export function parseClusterShards(
  reply: RespValue,
  asked: ClusterNodeAddress,
  tls: boolean,
): ClusterShardInfo[] {
  if (!Array.isArray(reply)) throw malformed("CLUSTER SHARDS");
  const shards: ClusterShardInfo[] = [];
  for (const entry of reply) {
    const shard = fields(entry, "CLUSTER SHARDS");
    const slotList = shard.get("slots");
    const nodeList = shard.get("nodes");
    if (!Array.isArray(slotList) || !Array.isArray(nodeList)) throw malformed("CLUSTER SHARDS");
    const slots: [number, number][] = [];
    for (let i = 0; i + 1 < slotList.length; i += 2) {
      slots.push([Number(slotList[i]), Number(slotList[i + 1])]);
    }
    let primary: ClusterNodeInfo | undefined;
    const replicas: ClusterNodeInfo[] = [];
    for (const item of nodeList) {
      const node = fields(item, "CLUSTER SHARDS");
      const host = pickHost(node.get("endpoint"), node.get("ip"), asked);
      const port = tls
        ? numberOr(node.get("tls-port"), node.get("port"))
        : numberOr(node.get("port"), node.get("tls-port"));
      if (host === undefined || port === undefined) continue;
      const health = node.get("health");
      const info: ClusterNodeInfo = {
        host,
        port,
        id: typeof node.get("id") === "string" ? node.get("id") as string : undefined,
        online: health === undefined || health === "online",
      };
      if (node.get("role") === "master") {
        // A failed former primary still listed with the shard is not its primary.
        if (primary === undefined || (!primary.online && info.online)) primary = info;
      } else {
        replicas.push(info);
      }
    }
    if (primary !== undefined && slots.length > 0) shards.push({ slots, primary, replicas });
  }
  return shards;
}

/**
 * Reads a `CLUSTER SLOTS` reply.
 *
 * @param reply The reply.
 * @param asked The node that answered: the host of nodes that announce none.
 * @returns The shards, one per primary.
 * @throws {TypeError} If the reply is not a `CLUSTER SLOTS` reply.
 */
export function parseClusterSlots(reply: RespValue, asked: ClusterNodeAddress): ClusterShardInfo[] {
  if (!Array.isArray(reply)) throw malformed("CLUSTER SLOTS");
  const byPrimary = new Map<
    string,
    { slots: [number, number][]; primary: ClusterNodeInfo; replicas: ClusterNodeInfo[] }
  >();
  for (const entry of reply) {
    if (!Array.isArray(entry) || entry.length < 3) throw malformed("CLUSTER SLOTS");
    const [start, end, ...nodes] = entry;
    const infos: ClusterNodeInfo[] = [];
    for (const node of nodes) {
      if (!Array.isArray(node)) continue;
      const host = pickHost(node[0], undefined, asked);
      const port = numberOr(node[1], undefined);
      if (host === undefined || port === undefined) continue;
      infos.push({
        host,
        port,
        id: typeof node[2] === "string" ? node[2] : undefined,
        online: true,
      });
    }
    const [primary, ...replicas] = infos;
    if (primary === undefined) continue;
    const key = addressKey(primary);
    const shard = byPrimary.get(key) ?? { slots: [], primary, replicas };
    shard.slots.push([Number(start), Number(end)]);
    byPrimary.set(key, shard);
  }
  return [...byPrimary.values()];
}

/** A RESP3 map, or a RESP2 flat list of names and values, as a map. */
function fields(value: RespValue | undefined, what: string): Map<string, RespValue> {
  if (value instanceof Map) {
    const out = new Map<string, RespValue>();
    for (const [key, item] of value) out.set(String(key), item);
    return out;
  }
  if (!Array.isArray(value)) throw malformed(what);
  const out = new Map<string, RespValue>();
  for (let i = 0; i + 1 < value.length; i += 2) out.set(String(value[i]), value[i + 1]!);
  return out;
}

/** The endpoint, else the IP; `""` means "the node you asked", `?` unknown. */
function pickHost(
  endpoint: RespValue | undefined,
  ip: RespValue | undefined,
  asked: ClusterNodeAddress,
): string | undefined {
  for (const candidate of [endpoint, ip]) {
    if (typeof candidate !== "string" || candidate === "?") continue;
    return candidate === "" ? asked.host : candidate;
  }
  return undefined;
}

function numberOr(
  value: RespValue | undefined,
  fallback: RespValue | undefined,
): number | undefined {
  for (const candidate of [value, fallback]) {
    const n = typeof candidate === "number" ? candidate : Number(candidate);
    if (candidate !== undefined && candidate !== null && Number.isInteger(n) && n > 0) return n;
  }
  return undefined;
}

function malformed(what: string): TypeError {
  return new TypeError(`Cannot read the cluster topology: unexpected ${what} reply`);
}
