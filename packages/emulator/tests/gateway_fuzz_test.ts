/**
 * Hostile input for the emulator's RESP gateway, over real sockets, in front
 * of its real `redis-server`:
 *
 * - unauthenticated connections get fuzzed `AUTH` / `HELLO` commands (wrong
 *   arities, protocol versions, option orders and cases, mutated tokens and
 *   user names, binary and oversized arguments), each followed by `PING`;
 * - a connection authenticated as a restricted user gets the same, each
 *   followed by `ACL WHOAMI`, and IAM `AUTH` inside `MULTI`;
 * - fresh connections get raw garbage: mutated RESP encodings of `AUTH` and
 *   `HELLO`, random bytes, oversized lines, huge announced lengths.
 *
 * Every refused attempt is answered with an error reply (`WRONGPASS`, or a
 * syntax / protocol error); before authentication, a command over Redis'
 * limits (10 arguments, 16 KiB each) gets Redis' protocol error and a close;
 * authentication is only ever granted when every user/token pair Redis
 * would try (one per `AUTH`, one per `AUTH` option of `HELLO`) is the same
 * signed request as a valid one, while it is valid, and only as its user;
 * the gateway never hangs, never logs an unexpected connection error, and
 * still authenticates a valid token at the end. The tests after the fuzz pin
 * down what it found.
 *
 * CI size: 1,500 + 500 commands and 150 raw connections.
 * Nightly (`FUZZ_SIZE=long`): 40,000 + 15,000 and 4,000.
 */

import assert from "node:assert/strict";
import { ReplyError } from "../../../src/errors.ts";
import { RespDecoder } from "../../../src/resp/decoder.ts";
import { encodeCommand } from "../../../src/resp/encoder.ts";
import type { RespValue } from "../../../src/resp/types.ts";
import { type Emulator, type GatewayAddress, startEmulator, WRONGPASS } from "../mod.ts";
import {
  FUZZ_CONFIG,
  SIGNED_AT,
  validAt,
  type ValidAttempt,
  validAttempts,
} from "../../../tests/fuzz/_auth_fixtures.ts";
import { ONLY_CASE, Prng, replay, report, SEED, sized } from "../../../tests/fuzz/_prng.ts";
import { mutate } from "../../../tests/fuzz/_resp_fuzz.ts";
import {
  type AuthAttempt,
  equivalent,
  garbageAttempt,
  mutateAttempt,
} from "../../../tests/fuzz/_token_mutator.ts";

const FILE = "tests/fuzz/gateway_fuzz_test.ts";
const UNAUTHENTICATED = sized(1500, 40_000);
const AUTHENTICATED = sized(500, 15_000);
const RAW = sized(150, 4000);
const BATCH = 25;
const REPLY_TIMEOUT_MS = 10_000;
/** The emulator's time during the fuzz: one minute after the tokens were signed. */
const NOW = SIGNED_AT + 60_000;
const REFUSED = `-${WRONGPASS}`;
const NOAUTH = "-NOAUTH Authentication required.";
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

type Arg = string | Uint8Array;

/** A raw connection: writes bytes, reads replies with a deadline, tells when the server closed. */
class Connection implements AsyncDisposable {
  readonly #conn: Deno.Conn;
  readonly #decoder = new RespDecoder();
  readonly #buffer = new Uint8Array(64 * 1024);
  closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to a cache's endpoint; by default the first cache's. */
  static async open(emu: Emulator, endpoint: GatewayAddress = emu.gateway): Promise<Connection> {
    return new Connection(
      await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port }),
    );
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let written = 0; written < bytes.length;) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  /** Sends the commands in one write while reading their replies; `undefined` once closed. */
  async exchange(commands: Arg[][]): Promise<(RespValue | undefined)[]> {
    const bytes = concat(commands.map((command) => encodeCommand(command)));
    const [, replies] = await Promise.all([
      this.write(bytes).catch(() => {}),
      this.read(commands.length),
    ]);
    return replies;
  }

  /** Reads `n` replies; errors come back as `-TEXT`; `undefined` for each one after a close. */
  async read(n: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<(RespValue | undefined)[]> {
    const replies: (RespValue | undefined)[] = [];
    while (replies.length < n) {
      const value = this.#decoder.read();
      if (value !== undefined) {
        replies.push(value instanceof ReplyError ? `-${value.message}` : value);
        continue;
      }
      if (!await this.#fill(timeoutMs)) {
        while (replies.length < n) replies.push(undefined);
      }
    }
    return replies;
  }

  /** Half-closes, then reads every reply until the server closes. */
  async drain(): Promise<RespValue[]> {
    try {
      await this.#conn.closeWrite();
    } catch {
      // Already closed by the server.
    }
    const replies: RespValue[] = [];
    for (;;) {
      const value = this.#decoder.read();
      if (value !== undefined) {
        replies.push(value instanceof ReplyError ? `-${value.message}` : value);
        continue;
      }
      if (!await this.#fill()) return replies;
    }
  }

  async #fill(timeoutMs = REPLY_TIMEOUT_MS): Promise<boolean> {
    if (this.closed) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    let n: number | null | "timeout";
    try {
      n = await Promise.race([this.#conn.read(this.#buffer), timeout]);
    } catch {
      n = null;
    } finally {
      clearTimeout(timer);
    }
    if (n === "timeout") {
      this.close();
      throw new Error(`the gateway did not answer within ${timeoutMs} ms`);
    }
    if (n === null) {
      this.closed = true;
      return false;
    }
    this.#decoder.push(this.#buffer.subarray(0, n));
    return true;
  }

  close(): void {
    this.closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Text of an argument as the oracle sees it: exact, or `undefined` if it is not UTF-8. */
function exactText(arg: Arg): string | undefined {
  if (typeof arg === "string") return arg.toWellFormed() === arg ? arg : undefined;
  try {
    return strictUtf8.decode(arg);
  } catch {
    return undefined;
  }
}

/** One fuzzed command and the attempt (if any) whose validity decides whether it may succeed. */
interface FuzzCommand {
  args: Arg[];
  /**
   * The user/token pairs Redis would try, in order, if the command is well formed: one for
   * `AUTH`, one per `AUTH` option of `HELLO` (Redis 7 applies them in order and stops at the
   * first that fails). Undefined when the command has none or does not parse.
   */
  effective?: { user: string; token: string }[];
  base: ValidAttempt;
  how: string;
}

/** Builds a fuzzed AUTH or HELLO. */
function fuzzCommand(rng: Prng, valid: readonly ValidAttempt[]): FuzzCommand {
  const base = rng.pick(valid);
  const attempt: AuthAttempt = rng.chance(0.1) ? garbageAttempt(rng) : mutateAttempt(rng, base);
  let user: Arg = attempt.user;
  let token: Arg = attempt.token;
  if (rng.chance(0.05)) token = rng.bytes(rng.size(300));
  if (rng.chance(0.03)) user = rng.bytes(rng.size(20));
  if (rng.chance(0.03)) {
    token = concat([Uint8Array.of(0xef, 0xbb, 0xbf), encoder.encode(token as string)]);
  }
  const name = (word: string) =>
    rng.pick([word, word.toLowerCase(), word[0] + word.slice(1).toLowerCase()]);
  const how = attempt.how.join(", ");
  // Bytes that are not UTF-8 cannot be a valid user or token: such a pair never validates.
  const effective = (u: Arg, t: Arg) => ({
    user: exactText(u) ?? "\0not utf-8",
    token: exactText(t) ?? "",
  });
  switch (rng.int(10)) {
    case 0:
      return { args: [name("AUTH"), token], base, how: `AUTH password only; ${how}` };
    case 1:
      return {
        args: [name("AUTH"), ...Array.from({ length: rng.pick([0, 3, 4]) }, () => token)],
        base,
        how: `AUTH arity; ${how}`,
      };
    case 2:
    case 3:
    case 4: {
      return {
        args: [name("AUTH"), user, token],
        effective: [effective(user, token)],
        base,
        how: `AUTH; ${how}`,
      };
    }
    default: {
      // HELLO [protover [AUTH user pass] [SETNAME name]], options in any order, sometimes twice.
      const protover = rng.chance(0.8)
        ? rng.pick(["3", "2"])
        : rng.pick(["", "1", "4", "-1", "03", "3.0", "abc", "99999999999999999999", " 3"]);
      const options: Arg[][] = [];
      const auths = rng.pick([0, 1, 1, 1, 2]);
      for (let i = 0; i < auths; i++) {
        if (i === 0 || rng.chance(0.5)) options.push([name("AUTH"), user, token]);
        else options.push([name("AUTH"), base.user, rng.chance(0.5) ? base.token : "wrong"]);
      }
      if (rng.chance(0.3)) {
        options.splice(rng.int(options.length + 1), 0, [name("SETNAME"), "fuzz"]);
      }
      if (rng.chance(0.1)) {
        options.push(rng.pick([[name("AUTH"), user], [name("SETNAME")], ["BOGUS"]]));
      }
      const args: Arg[] = [name("HELLO")];
      if (protover !== "" || options.length > 0 || rng.chance(0.5)) args.push(protover);
      for (const option of options) args.push(...option);
      // What Redis would try: every AUTH option, in order, if the whole command parses.
      const e: { user: string; token: string }[] = [];
      let parses = args.length === 1 || protover === "2" || protover === "3";
      for (let i = 2; parses && i < args.length; i++) {
        const option = exactText(args[i]!)?.toUpperCase();
        const more = args.length - i - 1;
        if (option === "AUTH" && more >= 2) {
          e.push(effective(args[i + 1]!, args[i + 2]!));
          i += 2;
        } else if (option === "SETNAME" && more >= 1) {
          i += 1;
        } else {
          parses = false;
        }
      }
      return {
        args,
        ...(parses && e.length > 0 ? { effective: e } : {}),
        base,
        how: `HELLO; ${how}`,
      };
    }
  }
}

/** The valid, current attempt a user/token pair is equivalent to, if any. */
function validFor(
  pair: { user: string; token: string },
  valid: readonly ValidAttempt[],
  now: number,
) {
  return valid.find((v) => validAt(v, now) && equivalent(v, { ...pair, how: [] }));
}

/**
 * Whether the command may authenticate at the endpoint of cache `cacheName`: every pair
 * Redis would try is a valid, current attempt for that cache (an endpoint refuses tokens
 * for other caches). Returns the one that takes effect (the last).
 */
function mayAuthenticate(
  command: FuzzCommand,
  valid: readonly ValidAttempt[],
  now: number,
  cacheName: string,
) {
  const here = valid.filter((v) => v.token.startsWith(`${cacheName}/`));
  const pairs = command.effective;
  if (pairs === undefined || !pairs.every((pair) => validFor(pair, here, now))) return undefined;
  return validFor(pairs[pairs.length - 1]!, here, now);
}

/** Whether Redis refuses the command before authentication: over 10 arguments, or one over 16 KiB. */
function overUnauthenticatedLimits(command: FuzzCommand): boolean {
  return command.args.length > 10 ||
    command.args.some((arg) =>
      (typeof arg === "string" ? encoder.encode(arg) : arg).length > 16_384
    );
}

function isGranted(reply: RespValue | undefined): boolean {
  return reply === "OK" || reply instanceof Map || Array.isArray(reply);
}

function describe(command: FuzzCommand): string {
  return command.args.map((arg) => {
    const text = typeof arg === "string" ? arg : `<${arg.length} bytes>`;
    return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…(${text.length})` : text);
  }).join(" ") + ` [${command.how}]`;
}

interface Figures {
  commands: number;
  granted: number;
  limitErrors: number;
  reconnects: number;
  raw: number;
}

Deno.test(
  `gateway: fuzzed AUTH/HELLO before and after auth, and raw garbage: never a crash, never a wrong grant`,
  async (t) => {
    const log: string[] = [];
    let logLines = 0;
    await using emu = await startEmulator({
      ...FUZZ_CONFIG,
      log: (line) => {
        logLines++;
        // A client that resets its connection is normal; any other failure is not.
        if (
          /connection error|internal error/.test(line) && !/ConnectionReset|BrokenPipe/.test(line)
        ) {
          log.push(line);
        }
      },
    });
    emu.clock.set(NOW);
    const valid = await validAttempts();
    const figures: Figures = {
      commands: 0,
      granted: 0,
      limitErrors: 0,
      reconnects: 0,
      raw: 0,
    };
    const started = performance.now();

    await t.step(
      "unauthenticated: every fuzzed AUTH/HELLO is refused with an error reply",
      async () => {
        // Each batch goes to one cache's endpoint, in turn: all three kinds are fuzzed.
        let endpoint = emu.caches[0]!;
        let conn = await Connection.open(emu, endpoint);
        const reconnect = async () => {
          conn.close();
          conn = await Connection.open(emu, endpoint);
          figures.reconnects++;
        };
        try {
          for (let batch = 0; batch * BATCH < UNAUTHENTICATED; batch++) {
            const caseBase = batch * BATCH;
            if (
              ONLY_CASE !== undefined && (ONLY_CASE < caseBase || ONLY_CASE >= caseBase + BATCH)
            ) continue;
            const turn = emu.caches[batch % emu.caches.length]!;
            if (turn !== endpoint) {
              endpoint = turn;
              await reconnect();
            }
            emu.clock.set(NOW);
            let pending = Array.from({ length: BATCH }, (_, i) => ({
              index: caseBase + i,
              command: fuzzCommand(new Prng(SEED, caseBase + i), valid),
            }));
            // After a command that leaves the connection in another state, the rest of the
            // batch is sent again on a fresh connection.
            while (pending.length > 0) {
              const replies = await conn.exchange(
                pending.flatMap((p) => [p.command.args, ["PING"]]),
              );
              const now = emu.clock.now();
              let next: typeof pending = [];
              for (let i = 0; i < pending.length; i++) {
                const { index, command } = pending[i]!;
                const reply = replies[2 * i];
                const ping = replies[2 * i + 1];
                const where = () => `${describe(command)}\n${replay(index, FILE)}`;
                figures.commands++;
                next = pending.slice(i + 1);
                if (overUnauthenticatedLimits(command)) {
                  // As Redis: a protocol error, after the replies to the commands before it, and a close.
                  assert.match(
                    String(reply),
                    /^-ERR Protocol error: unauthenticated (multibulk|bulk) length$/,
                    `over the unauthenticated limits: ${where()}`,
                  );
                  assert.equal(ping, undefined, `the connection stays open after ${where()}`);
                  figures.limitErrors++;
                  await reconnect();
                  break;
                }
                assert.notEqual(
                  reply,
                  undefined,
                  `the gateway closed the connection on ${where()}`,
                );
                if (isGranted(reply)) {
                  const legit = mayAuthenticate(command, valid, now, endpoint.name);
                  assert.ok(legit, `authentication granted: ${Deno.inspect(reply)} for ${where()}`);
                  figures.granted++;
                  await reconnect();
                  break;
                }
                next = [];
                assert.equal(typeof reply, "string", where());
                assert.match(reply as string, /^-/, `not an error reply: ${where()}`);
                if (command.effective && (command.args[0] as string).toUpperCase() === "AUTH") {
                  assert.equal(
                    reply,
                    REFUSED,
                    `AUTH user token refused without WRONGPASS: ${where()}`,
                  );
                }
                assert.equal(ping, NOAUTH, `still unauthenticated after ${where()}`);
              }
              pending = next;
            }
          }
        } finally {
          conn.close();
        }
      },
    );

    await t.step(
      "authenticated as 'reader': fuzzed re-auth never switches to another identity",
      async () => {
        const reader = valid.find((v) =>
          v.user === "reader" && v.token.startsWith("replication-group-01/")
        )!;
        const open = async () => {
          const conn = await Connection.open(emu);
          const [ok] = await conn.exchange([["AUTH", reader.user, reader.token]]);
          assert.equal(ok, "OK");
          return conn;
        };
        let conn = await open();
        try {
          for (let batch = 0; batch * BATCH < AUTHENTICATED; batch++) {
            const caseBase = 1_000_000 + batch * BATCH;
            if (
              ONLY_CASE !== undefined && (ONLY_CASE < caseBase || ONLY_CASE >= caseBase + BATCH)
            ) continue;
            emu.clock.set(NOW);
            const rng = new Prng(SEED, caseBase);
            const commands = Array.from(
              { length: BATCH },
              (_, i) => fuzzCommand(new Prng(SEED, caseBase + i), valid),
            );
            const inMulti = rng.chance(0.2);
            const sent: Arg[][] = inMulti
              ? [["MULTI"], ...commands.map((c) => c.args), ["EXEC"], ["ACL", "WHOAMI"]]
              : commands.flatMap((c) => [c.args, ["ACL", "WHOAMI"]]);
            const replies = await conn.exchange(sent);
            const now = emu.clock.now();
            if (inMulti) {
              // IAM AUTH is refused inside MULTI and aborts the transaction; the identity stays.
              const whoami = replies[replies.length - 1];
              const exec = replies[replies.length - 2];
              const authInside = commands.some((c) => c.effective !== undefined);
              if (authInside) {
                assert.match(
                  String(exec),
                  /^-EXECABORT/,
                  "EXEC after an IAM AUTH in MULTI",
                );
              }
              assert.equal(whoami, "reader", `identity changed inside MULTI (case ${caseBase})`);
              figures.commands += commands.length;
              continue;
            }
            let identity = "reader";
            for (let i = 0; i < commands.length; i++) {
              const command = commands[i]!;
              const reply = replies[2 * i];
              const whoami = replies[2 * i + 1];
              const where = () => `${describe(command)}\n${replay(caseBase + i, FILE)}`;
              figures.commands++;
              assert.notEqual(
                reply,
                undefined,
                `the gateway closed an authenticated connection: ${where()}`,
              );
              const granted = reply === "OK" ||
                (reply instanceof Map && command.effective !== undefined) ||
                (Array.isArray(reply) && command.effective !== undefined);
              if (granted && command.effective !== undefined) {
                const legit = mayAuthenticate(command, valid, now, emu.caches[0]!.name);
                assert.ok(
                  legit,
                  `re-authentication granted: ${Deno.inspect(reply)} for ${where()}`,
                );
                identity = legit.user;
                figures.granted++;
              } else if (!(reply instanceof Map || Array.isArray(reply))) {
                // A HELLO without AUTH may succeed; everything else here is an error reply.
                assert.match(String(reply), /^-/, `not an error reply: ${where()}`);
              }
              assert.equal(whoami, identity, `ACL WHOAMI after ${where()}`);
            }
            if (identity !== "reader") {
              conn.close();
              conn = await open();
              figures.reconnects++;
            }
          }
        } finally {
          conn.close();
        }
      },
    );

    await t.step(
      "raw garbage: mutated and oversized frames get error replies or a close, never a grant",
      async () => {
        for (let index = 0; index < RAW; index++) {
          const caseIndex = 2_000_000 + index;
          if (ONLY_CASE !== undefined && ONLY_CASE !== caseIndex) continue;
          const rng = new Prng(SEED, caseIndex);
          const bytes = rawGarbage(rng, rng.pick(valid));
          await using conn = await Connection.open(emu);
          await conn.write(bytes).catch(() => {}); // the gateway may close before reading it all
          const replies = await conn.drain();
          figures.raw++;
          for (const reply of replies) {
            assert.ok(
              typeof reply === "string" && (reply.startsWith("-") || reply === "OK"),
              `unexpected reply ${Deno.inspect(reply)} to garbage\n${replay(caseIndex, FILE)}`,
            );
          }
          const granted = replies.filter((r) => r === "OK").length;
          // "OK" only answers a QUIT; a QUIT that survives mutation is harmless but never authenticates.
          assert.ok(granted <= 1, `replies ${Deno.inspect(replies)}\n${replay(caseIndex, FILE)}`);
        }
      },
    );

    await t.step(
      "the gateway still authenticates a valid token, and logged no unexpected error",
      async () => {
        emu.clock.set(NOW);
        await using conn = await Connection.open(emu);
        const base = valid[0]!;
        assert.deepEqual(await conn.exchange([["AUTH", base.user, base.token], ["PING"]]), [
          "OK",
          "PONG",
        ]);
        assert.deepEqual(log, [], "no connection or internal errors in the emulator's log");
      },
    );

    const ms = performance.now() - started;
    report(
      `gateway: seed ${SEED}, ${figures.commands} AUTH/HELLO commands and ${figures.raw} raw ` +
        `connections in ${(ms / 1000).toFixed(1)} s (${
          Math.round(figures.commands / (ms / 1000))
        } ` +
        `commands/s); ${figures.granted} legitimate grants, ${figures.limitErrors} protocol errors ` +
        `for the unauthenticated limits, ${figures.reconnects} reconnects, ${logLines} log lines`,
    );
  },
);

/** Bytes a hostile client might send first: mutated AUTH/HELLO encodings, junk, oversized lines. */
function rawGarbage(rng: Prng, base: ValidAttempt): Uint8Array {
  const wrongToken = base.token.replace(
    /X-Amz-Signature=[0-9a-f]+/,
    `X-Amz-Signature=${"0".repeat(64)}`,
  );
  const command = rng.pick<Arg[]>([
    ["AUTH", base.user, wrongToken],
    ["HELLO", "3", "AUTH", base.user, wrongToken],
    ["HELLO", "3", "AUTH", base.user, wrongToken, "SETNAME", "x"],
  ]);
  switch (rng.int(8)) {
    case 0:
      return rng.bytes(rng.size(2000));
    case 1: // an inline command over 64 KiB
      return encoder.encode(`AUTH ${base.user} ${"t".repeat(rng.range(65_537, 70_000))}\r\n`);
    case 2: // a RESP line over 64 KiB
      return encoder.encode(`*3\r\n$4\r\nAUTH\r\n+${"u".repeat(rng.range(65_537, 70_000))}\r\n`);
    case 3: // a huge announced bulk string, cut short
      return encoder.encode(
        `*3\r\n$4\r\nAUTH\r\n$11\r\n${base.user.padEnd(11)}\r\n$${
          rng.pick(["536870912", "536870913", "99999999999", "4294967296"])
        }\r\nabc`,
      );
    case 4: // inline AUTH with quotes and junk
      return encoder.encode(
        `AUTH ${base.user} "${wrongToken}" ${rng.pick(["", "\0", "\t\t", "'"])}\r\n`,
      );
    default:
      return mutate(rng, encodeCommand(command));
  }
}

// ------------------------------------------------------------ what the fuzz found, pinned down

Deno.test("gateway: a token with a leading UTF-8 byte order mark is refused", async () => {
  await using emu = await startEmulator(FUZZ_CONFIG);
  emu.clock.set(NOW);
  const [base] = await validAttempts();
  await using conn = await Connection.open(emu);
  const bom = Uint8Array.of(0xef, 0xbb, 0xbf);
  const [reply] = await conn.exchange([[
    "AUTH",
    base!.user,
    concat([bom, encoder.encode(base!.token)]),
  ]]);
  // ElastiCache compares the bytes it got: these are not the signed token (the gateway used to
  // decode arguments with a TextDecoder that drops a leading BOM).
  assert.equal(reply, REFUSED);
});

Deno.test("gateway: an unauthenticated argument over 16 KiB is a protocol error, as in Redis", async () => {
  await using emu = await startEmulator(FUZZ_CONFIG);
  await using conn = await Connection.open(emu);
  // Redis answers `-ERR Protocol error: unauthenticated bulk length` to a bulk over 16 KiB
  // before authentication, and closes (the gateway used to read up to 512 MiB per connection).
  await conn.write(encoder.encode("*3\r\n$4\r\nAUTH\r\n$11\r\niam-user-01\r\n$104857600\r\n"));
  await conn.write(new Uint8Array(256 * 1024).fill(0x61)).catch(() => {});
  const [reply, more] = await conn.read(2, 1000).catch((error) => [`(no reply: ${error.message})`]);
  assert.equal(reply, "-ERR Protocol error: unauthenticated bulk length");
  assert.equal(more, undefined, "the connection is closed");
});

Deno.test("gateway: an unauthenticated command of over 10 arguments is a protocol error, as in Redis", async () => {
  await using emu = await startEmulator(FUZZ_CONFIG);
  await using conn = await Connection.open(emu);
  // Redis answers `-ERR Protocol error: unauthenticated multibulk length` to more than 10
  // arguments before authentication (the gateway used to accept up to 2^32-1 and keep them all);
  // past 2^31-1 it is `invalid multibulk length`, unauthenticated or not.
  await conn.write(encoder.encode(`*100000\r\n${"$1\r\na\r\n".repeat(10_000)}`)).catch(
    () => {},
  );
  const [reply, more] = await conn.read(2, 1000).catch((error) => [`(no reply: ${error.message})`]);
  assert.equal(reply, "-ERR Protocol error: unauthenticated multibulk length");
  assert.equal(more, undefined, "the connection is closed");
});

Deno.test("gateway: HELLO with two AUTH options is checked option by option, as Redis does", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({ ...FUZZ_CONFIG, log: (line) => log.push(line) });
  emu.clock.set(NOW);
  const [base] = await validAttempts();
  const wrong = base!.token.replace(
    /X-Amz-Signature=[0-9a-f]+/,
    `X-Amz-Signature=${"0".repeat(64)}`,
  );
  await using conn = await Connection.open(emu);
  // Redis 7 tries each AUTH option in order and answers WRONGPASS at the first that fails.
  const [reply, ping] = await conn.exchange([
    ["HELLO", "3", "AUTH", base!.user, wrong, "AUTH", base!.user, base!.token],
    ["PING"],
  ]);
  assert.equal(reply, REFUSED);
  assert.equal(ping, NOAUTH);
  // The gateway used to check only the last option, accept, forward the first one's password
  // to the backend unchecked, and leave the connection relaying to an unauthenticated backend.
  const accepted = log.filter((line) => line.includes(" accepted "));
  assert.deepEqual(accepted, [], "a refused HELLO was logged as accepted");
});
