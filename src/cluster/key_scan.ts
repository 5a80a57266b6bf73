/**
 * A walk over one key's elements on a cluster (`HSCAN`, `SSCAN`, `ZSCAN`):
 * the cluster client's `hscanIterator`, `sscanIterator` and `zscanIterator`.
 *
 * A cursor means something only to the node that made it (each node lays
 * out its tables with its own hash seed), so every page is asked of a node
 * known by address: the primary of the key's slot, or, while the slot
 * migrates, the node an `ASK` names (with `ASKING`). Replica reads are not
 * used. When the node that answers is not the one the cursor came from (a
 * failover, a slot migration, a resharding), the walk starts again from
 * cursor `0` on that node: no element present for the whole walk is skipped,
 * and the elements yielded before come again.
 *
 * While the slot has no reachable primary, or the cluster answers
 * `CLUSTERDOWN`, `TRYAGAIN`, `LOADING` or `MASTERDOWN`, the walk reads the
 * topology again and retries with backoff, for up to the client's
 * `retryTimeout` without a page; then the last failure is thrown.
 *
 * @module
 */

import { ConnectionClosedError, ReplyError } from "../errors.ts";
import type { CommandArg, RespValue } from "../resp/types.ts";
import { retryLater, type Router, transient } from "./router.ts";
import { keySlot } from "./slot.ts";
import { addressKey, type ClusterNodeAddress } from "./topology.ts";

/** Reads one page of the command's reply: the next cursor and the elements. */
export type PageParser<T> = (reply: RespValue) => [cursor: string, items: T[]];

/**
 * Walks one key's elements on the cluster, yielding each element of each
 * page; see the module's description for what a topology change does.
 *
 * @param router The cluster client's router.
 * @param command `HSCAN`, `SSCAN` or `ZSCAN`.
 * @param key The key.
 * @param args The options' arguments (`MATCH`, `COUNT`), checked by the caller.
 * @param parse Reads a page.
 * @returns The elements.
 * @throws {ConnectionClosedError} When the client closed, or the slot's node stayed unreachable for `retryTimeout`.
 * @throws {ReplyError} The node's error reply (such as `WRONGTYPE`), or the last
 * `CLUSTERDOWN`-like one after `retryTimeout`.
 */
export async function* scanClusterKey<T>(
  router: Router,
  command: "HSCAN" | "SSCAN" | "ZSCAN",
  key: string | Uint8Array,
  args: readonly CommandArg[],
  parse: PageParser<T>,
): AsyncGenerator<T, void, undefined> {
  const slot = keySlot(key);
  /** The node the cursor came from. */
  let owner: string | undefined;
  let cursor = "0";
  let attempt = 0;
  let redirections = 0;
  let since = router.now();
  for (;;) {
    if (router.closed) {
      throw new ConnectionClosedError(`Cannot scan key with ${command}: the client is closed`);
    }
    /** The cursor to send to a node: ours if it made it, else a fresh walk. */
    const cursorFor = (address: ClusterNodeAddress) => addressKey(address) === owner ? cursor : "0";
    let page: [string, T[]];
    let answered: ClusterNodeAddress;
    try {
      const primary = (await router.ready()).shardOf(slot)?.primary;
      if (primary === undefined) {
        throw new ReplyError(`CLUSTERDOWN Hash slot ${slot} is not served by any known node`);
      }
      answered = primary;
      const client = router.nodeClient(primary);
      if (!client.connected) await client.open();
      let reply: RespValue;
      try {
        reply = await client.send([command, key, cursorFor(primary), ...args]);
      } catch (error) {
        const moved = error instanceof ReplyError ? router.redirected(error, primary) : undefined;
        if (moved === undefined) throw error;
        if (++redirections > router.options.maxRedirections) throw error;
        // MOVED: the slot map says where now; ask there.
        if (!moved.asking) continue;
        // ASK: the slot is migrating and the key is on the importing node already.
        answered = moved.address;
        const target = router.nodeClient(moved.address);
        if (!target.connected) await target.open();
        [, reply] = await target.pipeline()
          .send(["ASKING"])
          .send([command, key, cursorFor(moved.address), ...args])
          .exec() as [RespValue, RespValue];
      }
      page = parse(reply);
    } catch (error) {
      if (!transient(error) && !(error instanceof ReplyError && retryLater(error))) throw error;
      if (router.closed || router.now() - since >= router.options.retryTimeout) throw error;
      await router.refresh().catch(() => {});
      await router.backoff(attempt++);
      continue;
    }
    since = router.now();
    attempt = 0;
    redirections = 0;
    // A page from another node than the cursor's was that node's first: its walk began at 0.
    owner = addressKey(answered);
    cursor = page[0];
    for (const item of page[1]) yield item;
    if (cursor === "0") return;
  }
}
