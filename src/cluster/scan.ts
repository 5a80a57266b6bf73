/**
 * A scan of a whole cluster: `SCAN` on each primary in turn, correct across
 * topology changes during the scan.
 *
 * Slots are the unit of progress, as in valkey-glide's `ClusterScanCursor`:
 * a map of the 16384 slots says which are done. A pass takes the first slot
 * not done, scans its primary to the end, and yields only the keys of slots
 * that node owned, by its own account (`CLUSTER NODES`), when the pass began
 * and that are not done yet (a key's slot is computed from the key). When the
 * pass ends, the slots the node owned at its start and still owns at its end,
 * and was not migrating away at either moment, are done: their keys were on
 * that node for the whole pass, and `SCAN` returns every key present from the
 * start of a scan to its end. Any other slot (gained, lost, failed over or
 * migrated meanwhile) stays to do, and is scanned again where it is then: no
 * key of a slot that stayed put is skipped.
 *
 * A slot being migrated is done once the source has been scanned while it
 * migrated, then the target (where the slot's moved keys are, as importing
 * or owned) from a pass that began after: a key not found on the source had
 * moved to the target before that pass.
 *
 * Keys may be yielded more than once: `SCAN` itself may return a key twice,
 * and the keys of a slot scanned again (after a pass that saw its node change)
 * come again.
 *
 * @module
 */

import { ConnectionClosedError, ProtocolError, ReplyError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import { retryLater, type Router, transient } from "./router.ts";
import { keySlot, SLOT_COUNT } from "./slot.ts";
import { addressKey, type ClusterNodeAddress, type Topology } from "./topology.ts";

const decoder = new TextDecoder();

/** What a node says of its slots. */
export interface NodeView {
  /** The node's id, when known. */
  id: string | undefined;
  /** Slots it serves. */
  owned: Uint8Array;
  /** Slots it is migrating away: slot → the target's id. */
  migrating: Map<number, string>;
  /** Slots it is importing: slot → the source's id. */
  importing: Map<number, string>;
}

/**
 * Yields every key of the cluster (matching the options), primary by
 * primary. Keys may come more than once; see the module's description.
 *
 * @param router The cluster client's router.
 * @param args The `SCAN` options (`MATCH`, `COUNT`, `TYPE`), checked by the caller.
 * @returns The keys, as UTF-8 text.
 * @throws {ConnectionClosedError} When the client closed, or a node stayed unreachable for `retryTimeout`.
 * @throws {ReplyError} An error reply of a node, or `CLUSTERDOWN` when a slot had no stable primary for `retryTimeout`.
 */
export async function* scanCluster(
  router: Router,
  args: readonly CommandArg[],
): AsyncGenerator<string, void, undefined> {
  const done = new Uint8Array(SLOT_COUNT);
  let remaining = SLOT_COUNT;
  /** Migrating slots whose source was scanned during the migration: slot → target id and when. */
  const sourceScanned = new Map<number, { target: string; pass: number }>();
  /** Slots that were migrating: scanned after the others. */
  const later = new Set<number>();
  let pass = 0;
  let attempt = 0;
  let lastProgress = router.now();
  let lastError: unknown;
  let next = 0;
  while (remaining > 0) {
    if (router.closed) {
      throw new ConnectionClosedError("Cannot scan the cluster: the client is closed");
    }
    const topology = await router.ready();
    while (done[next] === 1) next++;
    const slot = pickSlot(done, next, later);
    const address = nodeFor(topology, slot, sourceScanned.get(slot)?.target);
    const started = ++pass;
    let marked = 0;
    try {
      if (address === undefined) {
        throw new ReplyError(`CLUSTERDOWN Hash slot ${slot} is not served by any known node`);
      }
      const client = router.nodeClient(address);
      if (!client.connected) await client.open();
      const before = await viewOf(router, client, address);
      // Keys of slots the node serves or receives, and not done yet.
      const wanted = new Uint8Array(SLOT_COUNT);
      for (let s = 0; s < SLOT_COUNT; s++) {
        wanted[s] = done[s] === 0 && (before.owned[s] === 1 || before.importing.has(s)) ? 1 : 0;
      }
      let cursor = "0";
      do {
        const reply = await client.send(["SCAN", cursor, ...args], { bytes: true });
        const [nextCursor, keys] = scanReply(reply);
        for (const key of keys) {
          if (wanted[keySlot(key)] === 1) yield decoder.decode(key);
        }
        cursor = nextCursor;
      } while (cursor !== "0");
      const after = await viewOf(router, client, address);
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (done[s] === 1) continue;
        const migrating = before.migrating.get(s) ?? after.migrating.get(s);
        if (migrating !== undefined) {
          // The source's half of a migrating slot; the target's pass finishes it.
          if (before.owned[s] === 1 && after.migrating.get(s) === before.migrating.get(s)) {
            sourceScanned.set(s, { target: migrating, pass: started });
          }
          later.add(s);
          continue;
        }
        const stayed = before.owned[s] === 1 && after.owned[s] === 1;
        const source = sourceScanned.get(s);
        const received = source !== undefined && source.pass < started &&
          source.target === before.id && (before.importing.has(s) || before.owned[s] === 1) &&
          (after.importing.has(s) || after.owned[s] === 1);
        if (stayed || received) {
          done[s] = 1;
          remaining--;
          marked++;
          later.delete(s);
          sourceScanned.delete(s);
        }
      }
    } catch (error) {
      if (!transient(error) && !(error instanceof ReplyError && retryLater(error))) throw error;
      lastError = error;
    }
    if (marked > 0) {
      lastProgress = router.now();
      attempt = 0;
      // The slot the pass was for is still to do: the topology is stale, or changing.
      if (done[slot] === 0 && !later.has(slot)) await router.refresh().catch(() => {});
      continue;
    }
    if (router.now() - lastProgress >= router.options.retryTimeout) {
      throw new ReplyError(
        `CLUSTERDOWN Cannot finish scanning the cluster: hash slot ${slot} did not stay on one node through a scan of it for ${router.options.retryTimeout} ms${
          lastError instanceof Error ? ` (last failure: ${lastError.message})` : ""
        }`,
        { cause: lastError },
      );
    }
    // Nothing done this pass: the topology is changing. Look again, after a pause.
    await router.refresh().catch(() => {});
    await router.backoff(attempt++);
  }
}

/** The first slot to do, other than migrating ones while there are others. */
function pickSlot(done: Uint8Array, from: number, later: ReadonlySet<number>): number {
  for (let s = from; s < SLOT_COUNT; s++) {
    if (done[s] === 0 && !later.has(s)) return s;
  }
  return from;
}

/** The primary to scan for a slot: its owner, or the target of its migration after the source. */
function nodeFor(
  topology: Topology,
  slot: number,
  target: string | undefined,
): ClusterNodeAddress | undefined {
  if (target !== undefined) {
    for (const shard of topology.shards) {
      if (shard.primary.id === target) return shard.primary;
    }
  }
  return topology.shardOf(slot)?.primary;
}

/**
 * What a node says of its slots (`CLUSTER NODES`, its `myself` line). A
 * node that does not answer it is judged from the topology, read again.
 */
async function viewOf(
  router: Router,
  client: { send(args: CommandArg[]): Promise<RespValue> },
  address: ClusterNodeAddress,
): Promise<NodeView> {
  let reply: RespValue;
  try {
    reply = await client.send(["CLUSTER", "NODES"]);
  } catch (error) {
    if (!(error instanceof ReplyError) || retryLater(error)) throw error;
    await router.refresh();
    return viewFromTopology(await router.ready(), address);
  }
  const view = parseMyself(typeof reply === "string" ? reply : decoder.decode(reply as Uint8Array));
  if (view === undefined) {
    await router.refresh();
    return viewFromTopology(await router.ready(), address);
  }
  return view;
}

function viewFromTopology(topology: Topology, address: ClusterNodeAddress): NodeView {
  const owned = new Uint8Array(SLOT_COUNT);
  const key = addressKey(address);
  let id: string | undefined;
  for (const shard of topology.shards) {
    if (addressKey(shard.primary) !== key) continue;
    id = shard.primary.id;
    for (const [start, end] of shard.slots) owned.fill(1, start, end + 1);
  }
  return { id, owned, migrating: new Map(), importing: new Map() };
}

/**
 * Reads the `myself` line of a `CLUSTER NODES` reply: the node's id, the
 * slots it serves (none for a replica) and those it migrates or imports.
 *
 * @param text The reply.
 * @returns The node's view, or `undefined` when no line is `myself`.
 *
 * @example
 * ```ts
 * import { parseMyself } from "./scan.ts";
 *
 * const view = parseMyself(
 *   "e7d1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461-<-a0b1]\n",
 * )!;
 * console.log(view.owned[5460], view.owned[5461], view.importing.get(5461)); // 1 0 "a0b1"
 * ```
 */
export function parseMyself(text: string): NodeView | undefined {
  for (const line of text.split("\n")) {
    const fields = line.trim().split(" ");
    if (fields.length < 8 || !fields[2]!.split(",").includes("myself")) continue;
    const owned = new Uint8Array(SLOT_COUNT);
    const migrating = new Map<number, string>();
    const importing = new Map<number, string>();
    const master = fields[2]!.split(",").includes("master");
    for (const item of fields.slice(8)) {
      const open = /^\[(\d+)-([<>])-([0-9a-zA-Z]+)\]$/.exec(item);
      if (open !== null) {
        const [, slot, arrow, peer] = open as unknown as [string, string, string, string];
        (arrow === ">" ? migrating : importing).set(Number(slot), peer);
        continue;
      }
      const range = /^(\d+)(?:-(\d+))?$/.exec(item);
      if (range === null || !master) continue;
      const start = Number(range[1]);
      const end = range[2] === undefined ? start : Number(range[2]);
      if (start <= end && end < SLOT_COUNT) owned.fill(1, start, end + 1);
    }
    return { id: fields[0], owned, migrating, importing };
  }
  return undefined;
}

/** A `SCAN` reply read with bytes: the cursor as text, the keys as bytes. */
function scanReply(reply: RespValue): [string, Uint8Array[]] {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
    throw new ProtocolError("Cannot read reply: expected [cursor, keys] from SCAN");
  }
  const [cursor, keys] = reply as [RespValue, RespValue[]];
  const text = cursor instanceof Uint8Array ? decoder.decode(cursor) : String(cursor);
  return [
    text,
    keys.map((key) => key instanceof Uint8Array ? key : new TextEncoder().encode(String(key))),
  ];
}
