/**
 * What the stream command methods return, and the parsers that make it from
 * the replies. Each accepts what RESP2 and RESP3 send (a RESP3 map where
 * RESP2 sends an array of pairs), so the methods return the same values over
 * both protocols. Field values stay strings: nothing is parsed as JSON or as
 * a number.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { RespValue } from "../resp/types.ts";
import { elements, fieldMap, integer, record, replyKind, text, textOrNull } from "./replies.ts";

/** A stream entry: its id and its fields. */
export interface StreamEntry {
  /** The entry's id, such as `1700000000000-0`. */
  id: string;
  /**
   * Its fields and values. A field the entry holds twice appears once, with
   * its last value.
   */
  fields: Record<string, string>;
}

/**
 * An entry read by a consumer group. Reading the group's history (an id
 * other than `>`) lists entries still pending that were deleted from the
 * stream meanwhile: their `fields` are `null`.
 */
export interface GroupEntry {
  /** The entry's id. */
  id: string;
  /** Its fields and values, or `null` for an entry deleted while pending. */
  fields: Record<string, string> | null;
}

/** `XPENDING key group`: a group's pending entries, in summary. */
export interface PendingSummary {
  /** How many entries are pending (delivered and not acknowledged). */
  count: number;
  /** The lowest pending id, or `null` when none is pending. */
  lowestId: string | null;
  /** The highest pending id, or `null` when none is pending. */
  highestId: string | null;
  /** Each consumer that has pending entries, and how many. */
  consumers: { name: string; pending: number }[];
}

/** One entry of `XPENDING key group … count`: who has it, since when, how often delivered. */
export interface PendingEntry {
  /** The entry's id. */
  id: string;
  /** The consumer it was delivered to last. */
  consumer: string;
  /** Milliseconds since it was delivered last. */
  idleMs: number;
  /** How many times it was delivered. */
  deliveries: number;
}

/** What `XAUTOCLAIM` claimed. */
export interface AutoClaimed {
  /** The id to start the next call from; `0-0` when the whole pending list was scanned. */
  nextId: string;
  /** The entries claimed. */
  entries: StreamEntry[];
  /** Ids found pending but deleted from the stream: the server dropped them from the pending list. */
  deletedIds: string[];
}

/** What `XAUTOCLAIM … JUSTID` claimed. */
export interface AutoClaimedIds {
  /** The id to start the next call from; `0-0` when the whole pending list was scanned. */
  nextId: string;
  /** The ids claimed. */
  ids: string[];
  /** Ids found pending but deleted from the stream: the server dropped them from the pending list. */
  deletedIds: string[];
}

/** `XINFO STREAM key`. */
export interface StreamInfo {
  /** How many entries the stream holds. */
  length: number;
  /** Keys in the stream's radix tree. */
  radixTreeKeys: number;
  /** Nodes in the stream's radix tree. */
  radixTreeNodes: number;
  /** The id of the last entry added (possibly deleted since). */
  lastGeneratedId: string;
  /** The highest id deleted from the stream (Redis 7). */
  maxDeletedEntryId?: string;
  /** How many entries were ever added (Redis 7). */
  entriesAdded?: number;
  /** The id of the first entry still in the stream, as the server records it (Redis 7.2). */
  recordedFirstEntryId?: string;
  /** How many consumer groups it has. */
  groups: number;
  /** The first entry, or `null` for an empty stream. */
  firstEntry: StreamEntry | null;
  /** The last entry, or `null` for an empty stream. */
  lastEntry: StreamEntry | null;
}

function unexpected(what: string, value: RespValue | undefined): ProtocolError {
  return new ProtocolError(`Cannot read reply: expected ${what}, got ${replyKind(value)}`);
}

/**
 * An entry: `[id, [field, value, …]]`.
 *
 * @param value The reply.
 * @returns The entry.
 */
export function entry(value: RespValue): StreamEntry {
  const [id, fields] = elements(value, "a stream entry");
  if (fields === null || fields === undefined) throw unexpected("an entry's fields", fields);
  return { id: text(id!), fields: record(fields) };
}

/**
 * An entry or null (`first-entry` of an empty stream).
 *
 * @param value The reply.
 * @returns The entry, or `null`.
 */
export function entryOrNull(value: RespValue): StreamEntry | null {
  return value === null ? null : entry(value);
}

/**
 * Entries (`XRANGE`, `XREVRANGE`).
 *
 * @param value The reply.
 * @returns The entries.
 */
export function entries(value: RespValue): StreamEntry[] {
  return elements(value, "an array of entries").map(entry);
}

/**
 * Entries claimed by `XCLAIM`: an entry deleted from the stream meanwhile
 * (a null, or null fields, from servers before Redis 7) is left out.
 *
 * @param value The reply.
 * @returns The entries.
 */
export function claimedEntries(value: RespValue): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const item of elements(value, "an array of entries")) {
    if (item === null) continue;
    const [id, fields] = elements(item, "a stream entry");
    if (fields === null || fields === undefined) continue;
    out.push({ id: text(id!), fields: record(fields) });
  }
  return out;
}

function groupEntry(value: RespValue): GroupEntry {
  const [id, fields] = elements(value, "a stream entry");
  return {
    id: text(id!),
    fields: fields === null || fields === undefined ? null : record(fields),
  };
}

/** `[stream, entries]` pairs (RESP2) or a map (RESP3), by stream name. */
function byStream<T>(
  value: RespValue,
  parse: (entry: RespValue) => T,
): Record<string, T[]> | null {
  if (value === null) return null;
  const pairs: [string, T[]][] = [];
  if (value instanceof Map) {
    for (const [name, items] of value) {
      pairs.push([text(name), elements(items, "an array of entries").map(parse)]);
    }
  } else {
    for (const stream of elements(value, "the streams read")) {
      const [name, items] = elements(stream, "a stream and its entries");
      pairs.push([text(name!), elements(items!, "an array of entries").map(parse)]);
    }
  }
  // fromEntries defines own properties: a stream named "__proto__" stays a stream.
  return Object.fromEntries(pairs);
}

/**
 * `XREAD`: entries by stream, or `null` when none was there (or arrived
 * before `BLOCK` ran out).
 *
 * @param value The reply.
 * @returns The entries of each stream that had some, or `null`.
 */
export function streamsRead(value: RespValue): Record<string, StreamEntry[]> | null {
  return byStream(value, entry);
}

/**
 * `XREADGROUP`: entries by stream, or `null`.
 *
 * @param value The reply.
 * @returns The entries of each stream, or `null`.
 */
export function groupRead(value: RespValue): Record<string, GroupEntry[]> | null {
  return byStream(value, groupEntry);
}

/**
 * `XPENDING key group`.
 *
 * @param value The reply.
 * @returns The summary.
 */
export function pendingSummary(value: RespValue): PendingSummary {
  const [count, lowest, highest, consumers] = elements(value, "an XPENDING summary");
  return {
    count: integer(count!),
    lowestId: textOrNull(lowest ?? null),
    highestId: textOrNull(highest ?? null),
    consumers: consumers === null || consumers === undefined
      ? []
      : elements(consumers, "an array of consumers").map((item) => {
        const [name, pending] = elements(item, "a consumer and its count");
        return { name: text(name!), pending: integer(pending!) };
      }),
  };
}

/**
 * `XPENDING key group … count`.
 *
 * @param value The reply.
 * @returns The pending entries.
 */
export function pendingEntries(value: RespValue): PendingEntry[] {
  return elements(value, "an array of pending entries").map((item) => {
    const [id, consumer, idle, deliveries] = elements(item, "a pending entry");
    return {
      id: text(id!),
      consumer: text(consumer!),
      idleMs: integer(idle!),
      deliveries: integer(deliveries!),
    };
  });
}

/**
 * `XAUTOCLAIM`.
 *
 * @param value The reply.
 * @returns The next id, the entries claimed and the ids deleted.
 */
export function autoClaimed(value: RespValue): AutoClaimed {
  const [next, claimed, deleted] = elements(value, "an XAUTOCLAIM reply");
  return {
    nextId: text(next!),
    entries: claimedEntries(claimed!),
    deletedIds: deleted === undefined || deleted === null ? [] : elements(deleted, "ids").map(text),
  };
}

/**
 * `XAUTOCLAIM … JUSTID`.
 *
 * @param value The reply.
 * @returns The next id, the ids claimed and the ids deleted.
 */
export function autoClaimedIds(value: RespValue): AutoClaimedIds {
  const [next, claimed, deleted] = elements(value, "an XAUTOCLAIM reply");
  return {
    nextId: text(next!),
    ids: elements(claimed!, "ids").map(text),
    deletedIds: deleted === undefined || deleted === null ? [] : elements(deleted, "ids").map(text),
  };
}

/**
 * `XINFO STREAM key`.
 *
 * @param value The reply.
 * @returns The stream's information.
 */
export function streamInfo(value: RespValue): StreamInfo {
  const fields = fieldMap(value, "an XINFO STREAM reply");
  const required = (name: string): RespValue => {
    const item = fields.get(name);
    if (item === undefined) throw unexpected(`XINFO STREAM's '${name}'`, item);
    return item;
  };
  const info: StreamInfo = {
    length: integer(required("length")),
    radixTreeKeys: integer(required("radix-tree-keys")),
    radixTreeNodes: integer(required("radix-tree-nodes")),
    lastGeneratedId: text(required("last-generated-id")),
    groups: integer(required("groups")),
    firstEntry: entryOrNull(required("first-entry")),
    lastEntry: entryOrNull(required("last-entry")),
  };
  const maxDeleted = fields.get("max-deleted-entry-id");
  if (maxDeleted !== undefined) info.maxDeletedEntryId = text(maxDeleted);
  const added = fields.get("entries-added");
  if (added !== undefined) info.entriesAdded = integer(added);
  const recordedFirst = fields.get("recorded-first-entry-id");
  if (recordedFirst !== undefined) info.recordedFirstEntryId = text(recordedFirst);
  return info;
}
