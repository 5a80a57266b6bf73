/**
 * Reads what a client sends the way Redis 7 reads it (`processInputBuffer`):
 * a request that starts with `*` is a multibulk of `$` bulk strings, anything
 * else is an inline command split as `sdssplitargs` splits it, with Redis'
 * numbers (`string2ll`), limits and protocol error texts.
 *
 * The gateway sees whole commands only where it must: every command before
 * authentication, and after it the few it acts on (`AUTH`, `HELLO`, the
 * transaction and subscription commands). Every other command's bytes are
 * handed on as they arrive, unparsed beyond their frame: the backend, a real
 * `redis-server`, reads them itself, so a big value costs the gateway no
 * copy, and a malformed frame gets Redis' own error, in order. Only what the
 * backend would not refuse is the gateway's to refuse: Redis' limits on
 * unauthenticated clients (answered by the gateway, which has no backend
 * connection yet) and ElastiCache Serverless' 3,999 arguments.
 *
 * A read costs the bytes it brings: the search for a line end resumes where
 * the last one stopped, and payloads are skipped by their length.
 *
 * @module
 */

/** Redis' `PROTO_INLINE_MAX_SIZE`: the longest inline command, or length line, without its end. */
const INLINE_MAX = 64 * 1024;
/** Redis' `proto-max-bulk-len`. */
const MAX_BULK_LENGTH = 512 * 1024 * 1024;
const INT_MAX = 2 ** 31 - 1;
/** Redis' limits for a client that has not authenticated. */
const UNAUTHENTICATED_MAX_ARGUMENTS = 10;
const UNAUTHENTICATED_MAX_BULK = 16 * 1024;
/** ElastiCache Serverless: "clients cannot issue a request with more than 3,999 arguments". */
export const SERVERLESS_MAX_ARGUMENTS = 3999;
/**
 * ElastiCache's `client-query-buffer-limit`, 1 GiB: a command the gateway
 * holds whole (one it acts on) that grows past it closes the connection
 * without a reply, as Redis closes it.
 */
export const QUERY_BUFFER_LIMIT = 1024 * 1024 * 1024;
/** A frame that makes Redis answer `Protocol error: invalid multibulk length`, then close. */
const INVALID_MULTIBULK = new TextEncoder().encode("*4294967296\r\n");
/** No command name the gateway acts on is longer: a longer first argument is passed on unread. */
const LONGEST_NAME = 16;
const INITIAL_CAPACITY = 16 * 1024;

const STAR = 0x2a;
const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;

/** What {@linkcode RequestReader.next} found. */
export type Request =
  | {
    /** A whole command, to handle: before authentication any, after it one the gateway acts on. */
    readonly kind: "command";
    /** Its arguments (copies), the name first. */
    readonly args: Uint8Array[];
    /** Its bytes as the client sent them (a copy), to forward unchanged. */
    readonly raw: Uint8Array;
  }
  | {
    /**
     * Bytes to forward to the backend as they are: whole commands, and the
     * start of one still arriving (a view, valid until the next `push`).
     */
    readonly kind: "bytes";
    readonly bytes: Uint8Array;
    /**
     * Set when the bytes hold a malformed frame (the backend answers it in
     * Redis' words and closes), or are a frame standing for a request over
     * a limit only the gateway knows; from then on everything is forwarded
     * as it comes. For the log.
     */
    readonly fault?: string;
  }
  | {
    /** Before authentication: Redis' protocol error (after `Protocol error: `), to answer before closing. */
    readonly kind: "error";
    readonly message: string;
  }
  | {
    /** A command the gateway would hold grew past the query buffer limit: close without a reply. */
    readonly kind: "overflow";
  };

/** What the reader needs to know about the connection. */
export interface RequestReaderOptions {
  /**
   * Names (upper case) of the commands the gateway acts on after
   * authentication; any other command is passed on as bytes.
   */
  readonly inspected: ReadonlySet<string>;
  /** Whether the endpoint is an ElastiCache Serverless cache (3,999 arguments at most). */
  readonly serverless: boolean;
  /**
   * The most bytes of one command the reader holds whole.
   *
   * @default {1073741824} {@linkcode QUERY_BUFFER_LIMIT}
   */
  readonly queryBufferLimit?: number;
}

/** How a frame starting at a given position reads. */
type Frame =
  | { kind: "incomplete" }
  | { kind: "skip"; end: number }
  | { kind: "inspect"; end: number; args: Uint8Array[] }
  | { kind: "pass"; end: number; elements: number; bulk: number }
  | { kind: "fault"; message: string }
  | { kind: "serverless"; message: string }
  | { kind: "overflow" };

/**
 * A client connection's requests, as Redis reads them.
 *
 * @example
 * ```ts
 * import { RequestReader } from "./request_reader.ts";
 *
 * const reader = new RequestReader({ inspected: new Set(["AUTH"]), serverless: false });
 * reader.push(new TextEncoder().encode("AUTH user \"a b\"\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"));
 * const auth = reader.next(false);
 * console.log(auth?.kind === "command" && auth.args.length); // 3
 * const get = reader.next(true);
 * console.log(get?.kind); // "bytes": passed on as it came
 * ```
 */
export class RequestReader {
  readonly #options: RequestReaderOptions;
  #buffer = new Uint8Array(INITIAL_CAPACITY);
  #start = 0;
  #end = 0;
  /** Past a malformed frame: everything is forwarded as it comes. */
  #raw = false;
  /** Passing a command on: the arguments after the current one, and the current one's bytes left (payload and CRLF). */
  #elementsLeft = 0;
  #bulkLeft = 0;
  /** Where the search for a line end starting at `#scanLine` resumes (both from `#start`). */
  #scanLine = -1;
  #scan = 0;

  /** @param options The commands the gateway acts on, and whether the cache is serverless. */
  constructor(options: RequestReaderOptions) {
    this.#options = options;
  }

  /**
   * Adds bytes the client sent. Views from {@linkcode RequestReader.next}
   * are invalid afterwards.
   *
   * @param chunk The bytes.
   */
  push(chunk: Uint8Array): void {
    const live = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buffer.length) {
      if (live + chunk.length <= this.#buffer.length) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        let capacity = this.#buffer.length * 2;
        while (capacity < live + chunk.length) capacity *= 2;
        const grown = new Uint8Array(capacity);
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * The next request among the bytes pushed so far.
   *
   * @param authenticated Whether the connection has authenticated: Redis'
   * limits for unauthenticated clients apply until then, and every command is whole.
   * @returns The request, or `undefined` until more bytes come.
   */
  next(authenticated: boolean): Request | undefined {
    const buffer = this.#buffer;
    const end = this.#end;
    let spanStart = this.#start;
    let at = spanStart;
    if (this.#raw) return this.#span(spanStart, end);
    for (;;) {
      if (this.#bulkLeft > 0) {
        const n = Math.min(this.#bulkLeft, end - at);
        at += n;
        this.#bulkLeft -= n;
        if (this.#bulkLeft > 0) break;
        continue;
      }
      if (this.#elementsLeft > 0) {
        if (at >= end) break;
        const bulk = this.#bulkHeader(at, end, false);
        if (bulk === undefined) break;
        if (typeof bulk === "string") return this.#fault(spanStart, end, bulk);
        this.#elementsLeft--;
        this.#bulkLeft = bulk.length + 2;
        at = bulk.next;
        continue;
      }
      if (at >= end) break;
      const frame = buffer[at] === STAR
        ? this.#multibulk(at, end, authenticated)
        : this.#inline(at, end, authenticated);
      if (frame.kind === "incomplete") break;
      if (frame.kind === "skip") {
        at = frame.end;
        // Before authentication nothing is forwarded: a skipped frame is just consumed.
        if (!authenticated) {
          this.#consume(at);
          spanStart = at;
        }
        continue;
      }
      if (frame.kind === "pass") {
        at = frame.end;
        this.#elementsLeft = frame.elements;
        this.#bulkLeft = frame.bulk;
        continue;
      }
      // What follows must not be forwarded with the span: hand the span over first.
      if (at > spanStart) return this.#span(spanStart, at);
      switch (frame.kind) {
        case "inspect": {
          const raw = buffer.slice(at, frame.end);
          this.#consume(frame.end);
          return { kind: "command", args: frame.args, raw };
        }
        case "overflow":
          this.#raw = true;
          return { kind: "overflow" };
        case "serverless":
          this.#raw = true;
          return { kind: "bytes", bytes: INVALID_MULTIBULK, fault: frame.message };
        case "fault":
          if (!authenticated) {
            this.#raw = true;
            this.#consume(end);
            return { kind: "error", message: frame.message };
          }
          return this.#fault(at, end, frame.message);
      }
    }
    return at > spanStart ? this.#span(spanStart, at) : undefined;
  }

  /** Forwards `[from, to)` and consumes it. */
  #span(from: number, to: number): Request | undefined {
    if (to <= from) return undefined;
    const bytes = this.#buffer.subarray(from, to);
    this.#consume(to);
    return { kind: "bytes", bytes };
  }

  /** After authentication, a malformed frame: forward it all; the backend answers it. */
  #fault(from: number, to: number, message: string): Request {
    this.#raw = true;
    const bytes = this.#buffer.subarray(from, to);
    this.#consume(to);
    return { kind: "bytes", bytes, fault: message };
  }

  /**
   * Marks the bytes before `to` as handed over. Views already handed out stay
   * valid: until the next `push`, the buffer is replaced, never overwritten.
   */
  #consume(to: number): void {
    this.#start = to;
    this.#scanLine = -1;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      // A buffer grown for one big command is let go.
      if (this.#buffer.length > 4 * INITIAL_CAPACITY) {
        this.#buffer = new Uint8Array(INITIAL_CAPACITY);
      }
    }
  }

  /** A `*` request at `at`, read as `processMultibulkBuffer` reads it. */
  #multibulk(at: number, end: number, authenticated: boolean): Frame {
    const buffer = this.#buffer;
    const cr = this.#find(at + 1, end, CR);
    if (cr === -1) {
      return end - at > INLINE_MAX ? { kind: "fault", message: "too big mbulk count string" } : {
        kind: "incomplete",
      };
    }
    // Redis takes the byte after the CR for the LF without looking at it.
    if (cr + 1 >= end) return { kind: "incomplete" };
    const count = string2ll(buffer, at + 1, cr);
    if (count === undefined || count > INT_MAX) {
      return { kind: "fault", message: "invalid multibulk length" };
    }
    if (!authenticated && count > UNAUTHENTICATED_MAX_ARGUMENTS) {
      return { kind: "fault", message: "unauthenticated multibulk length" };
    }
    let next = cr + 2;
    if (count <= 0) return { kind: "skip", end: next };
    if (authenticated && this.#options.serverless && count > SERVERLESS_MAX_ARGUMENTS) {
      return {
        kind: "serverless",
        message: `${count} arguments in one request; serverless allows ${SERVERLESS_MAX_ARGUMENTS}`,
      };
    }
    // The name decides whether the gateway needs the whole command.
    if (next >= end) return { kind: "incomplete" };
    const first = this.#bulkHeader(next, end, !authenticated);
    if (first === undefined) return { kind: "incomplete" };
    if (typeof first === "string") return { kind: "fault", message: first };
    if (authenticated && first.length > LONGEST_NAME) {
      return { kind: "pass", end: first.next, elements: count - 1, bulk: first.length + 2 };
    }
    if (first.next + first.length + 2 > end) return { kind: "incomplete" };
    if (authenticated && !this.#inspected(first.next, first.length)) {
      return { kind: "pass", end: first.next + first.length + 2, elements: count - 1, bulk: 0 };
    }
    const args = [buffer.slice(first.next, first.next + first.length)];
    const limit = this.#options.queryBufferLimit ?? QUERY_BUFFER_LIMIT;
    next = first.next + first.length + 2;
    for (let i = 1; i < count; i++) {
      if (next - at > limit) return { kind: "overflow" };
      if (next >= end) return { kind: "incomplete" };
      const bulk = this.#bulkHeader(next, end, !authenticated);
      if (bulk === undefined) return { kind: "incomplete" };
      if (typeof bulk === "string") return { kind: "fault", message: bulk };
      if (bulk.next + bulk.length + 2 > end) {
        return bulk.next + bulk.length + 2 - at > limit
          ? { kind: "overflow" }
          : { kind: "incomplete" };
      }
      args.push(buffer.slice(bulk.next, bulk.next + bulk.length));
      next = bulk.next + bulk.length + 2;
    }
    return { kind: "inspect", end: next, args };
  }

  /**
   * A `$<length>` line at `at`: its length and where its payload starts,
   * Redis' error text, or `undefined` until the line is whole.
   */
  #bulkHeader(
    at: number,
    end: number,
    unauthenticated: boolean,
  ): { length: number; next: number } | string | undefined {
    const buffer = this.#buffer;
    if (buffer[at] !== DOLLAR) return `expected '$', got '${String.fromCharCode(buffer[at]!)}'`;
    const cr = this.#find(at + 1, end, CR);
    if (cr === -1) return end - at > INLINE_MAX ? "too big bulk count string" : undefined;
    if (cr + 1 >= end) return undefined;
    const length = string2ll(buffer, at + 1, cr);
    if (length === undefined || length < 0 || length > MAX_BULK_LENGTH) {
      return "invalid bulk length";
    }
    if (unauthenticated && length > UNAUTHENTICATED_MAX_BULK) return "unauthenticated bulk length";
    return { length, next: cr + 2 };
  }

  /** An inline command at `at`, read as `processInlineBuffer` reads it. */
  #inline(at: number, end: number, authenticated: boolean): Frame {
    const buffer = this.#buffer;
    const lf = this.#find(at, end, LF);
    if (lf === -1) {
      return end - at > INLINE_MAX ? { kind: "fault", message: "too big inline request" } : {
        kind: "incomplete",
      };
    }
    const lineEnd = lf > at && buffer[lf - 1] === CR ? lf - 1 : lf;
    const args = splitArgs(buffer.subarray(at, lineEnd));
    if (args === undefined) return { kind: "fault", message: "unbalanced quotes in request" };
    if (args.length === 0) return { kind: "skip", end: lf + 1 };
    if (authenticated && this.#options.serverless && args.length > SERVERLESS_MAX_ARGUMENTS) {
      return {
        kind: "serverless",
        message:
          `${args.length} arguments in one inline request; serverless allows ${SERVERLESS_MAX_ARGUMENTS}`,
      };
    }
    if (authenticated && !this.#inspectedName(args[0]!)) {
      return { kind: "pass", end: lf + 1, elements: 0, bulk: 0 };
    }
    return { kind: "inspect", end: lf + 1, args };
  }

  /** Whether the bytes at `[from, from + length)` name a command the gateway acts on. */
  #inspected(from: number, length: number): boolean {
    return this.#inspectedName(this.#buffer.subarray(from, from + length));
  }

  #inspectedName(name: Uint8Array): boolean {
    if (name.length > LONGEST_NAME) return false;
    return this.#options.inspected.has(String.fromCharCode(...name).toUpperCase());
  }

  /**
   * The index of `byte` in `[from, end)`, or -1. A search for the line that
   * starts at `from` resumes where the previous one stopped.
   */
  #find(from: number, end: number, byte: number): number {
    const line = from - this.#start;
    const resume = this.#scanLine === line ? Math.max(from, this.#start + this.#scan) : from;
    const found = this.#buffer.subarray(0, end).indexOf(byte, resume);
    if (found === -1) {
      this.#scanLine = line;
      this.#scan = end - this.#start;
    }
    return found;
  }
}

/**
 * Redis' `string2ll` over `[from, to)`: an optional `-`, then digits with no
 * leading zero (`0` alone aside), at most 20 bytes.
 *
 * @returns The number, `Infinity` beyond 2^53, or `undefined` when Redis would not read it.
 */
function string2ll(bytes: Uint8Array, from: number, to: number): number | undefined {
  const length = to - from;
  if (length === 0 || length >= 21) return undefined;
  if (length === 1 && bytes[from] === 0x30) return 0;
  let at = from;
  const negative = bytes[at] === 0x2d;
  if (negative && ++at === to) return undefined;
  if (bytes[at]! < 0x31 || bytes[at]! > 0x39) return undefined;
  let value = 0;
  for (; at < to; at++) {
    const digit = bytes[at]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  if (value > Number.MAX_SAFE_INTEGER) value = Infinity;
  return negative ? -value : value;
}

/** C's `isspace`. */
function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || (byte !== undefined && byte >= 0x09 && byte <= 0x0d);
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

const ESCAPES: Readonly<Record<number, number>> = {
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x62: 0x08, // \b
  0x61: 0x07, // \a
};

/**
 * Redis' `sdssplitargs`: words separated by blanks, `"…"` with C escapes
 * (`\n`, `\xHH`, …), `'…'` with `\'`; a closing quote must be followed by a
 * blank or the end. A NUL byte ends the line, as it ends a C string.
 *
 * @param line The line, without its end.
 * @returns The words, or `undefined` for unbalanced quotes.
 */
export function splitArgs(line: Uint8Array): Uint8Array[] | undefined {
  const nul = line.indexOf(0);
  const input = nul === -1 ? line : line.subarray(0, nul);
  const words: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    while (at < input.length && isSpace(input[at])) at++;
    if (at >= input.length) return words;
    const word: number[] = [];
    let quote: 0 | 0x22 | 0x27 = 0;
    for (let done = false; !done;) {
      const byte = input[at];
      if (quote === 0x22) {
        if (byte === undefined) return undefined;
        if (
          byte === 0x5c && input[at + 1] === 0x78 && hexValue(input[at + 2]) >= 0 &&
          hexValue(input[at + 3]) >= 0
        ) {
          word.push(hexValue(input[at + 2]) * 16 + hexValue(input[at + 3]));
          at += 3;
        } else if (byte === 0x5c && at + 1 < input.length) {
          at++;
          word.push(ESCAPES[input[at]!] ?? input[at]!);
        } else if (byte === 0x22) {
          if (at + 1 < input.length && !isSpace(input[at + 1])) return undefined;
          done = true;
        } else {
          word.push(byte);
        }
      } else if (quote === 0x27) {
        if (byte === undefined) return undefined;
        if (byte === 0x5c && input[at + 1] === 0x27) {
          at++;
          word.push(0x27);
        } else if (byte === 0x27) {
          if (at + 1 < input.length && !isSpace(input[at + 1])) return undefined;
          done = true;
        } else {
          word.push(byte);
        }
      } else if (
        byte === undefined || byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
      ) {
        done = true;
      } else if (byte === 0x22 || byte === 0x27) {
        quote = byte;
      } else {
        word.push(byte);
      }
      if (at < input.length) at++;
    }
    words.push(Uint8Array.from(word));
  }
}
