/**
 * The context of a traced command: its name at once, its arguments only when
 * a tracer reads them, with the values a command may hide replaced by `?`.
 *
 * The rules of which arguments may be shown are OpenTelemetry's for Redis
 * (`@opentelemetry/redis-common`, Apache 2.0), as node-redis and ioredis
 * apply them: unlisted commands (`AUTH`, `HELLO`, scripts' unknown
 * commands) show their name only.
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";
import type { CommandContext } from "./events.ts";

const SHOWN_ARGUMENTS: { pattern: RegExp; count: number }[] = [
  { pattern: /^ECHO/i, count: 0 },
  {
    pattern: /^(GETSET|LPUSH|MSET|PFA|PSETEX|PUBLISH|RPUSH|SADD|SET|SPUBLISH|XADD|ZADD)/i,
    count: 1,
  },
  { pattern: /^(HSET|HMSET|LSET|LINSERT)/i, count: 2 },
  {
    pattern:
      /^(ACL|BIT|B[LRZ]|CLIENT|CLUSTER|CONFIG|COMMAND|DECR|DEL|EVAL|EX|FUNCTION|GEO|GET|HINCR|HMGET|HSCAN|INCR|L[TRLM]|MEMORY|P[EFISTU]|RPOP|S[CDIMORSU]|XACK|X[CDGILPRT]|Z[CDILMPRS])/i,
    count: -1,
  },
];

/** Hidden whatever the rules say: their arguments are credentials. */
const SECRET_COMMANDS = /^(AUTH|HELLO|MIGRATE|ACL)$/i;

const decoder = new TextDecoder();

function text(arg: CommandArg): string {
  return typeof arg === "string"
    ? arg
    : arg instanceof Uint8Array
    ? decoder.decode(arg)
    : String(arg);
}

/**
 * A command's arguments as a trace may show them.
 *
 * @param args The command, its name first.
 * @returns The name, then each argument or `?`.
 *
 * @example
 * ```ts
 * import { shownArguments } from "./command_context.ts";
 *
 * console.log(shownArguments(["SET", "user:1", "secret value"])); // ["SET", "user:1", "?"]
 * console.log(shownArguments(["AUTH", "iam-user-01", "token"])); // ["AUTH", "?", "?"]
 * ```
 */
export function shownArguments(args: readonly CommandArg[]): string[] {
  const name = text(args[0] ?? "");
  let count = 0;
  if (!SECRET_COMMANDS.test(name)) {
    for (const rule of SHOWN_ARGUMENTS) {
      if (rule.pattern.test(name)) {
        count = rule.count;
        break;
      }
    }
  }
  return args.map((arg, i) => i === 0 || count === -1 || i <= count ? text(arg) : "?");
}

/** A command's context, its arguments shown on first read. */
export class TracedCommand implements CommandContext {
  readonly command: string;
  readonly batchSize: number | undefined;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly #args: readonly CommandArg[];
  #shown: readonly string[] | undefined;

  /**
   * @param args The command (for a batch, its first command: `MULTI`, or any).
   * @param server Where it goes.
   * @param batchSize For a pipeline or transaction, how many commands it sends (`MULTI` and `EXEC` included).
   */
  constructor(
    args: readonly CommandArg[],
    server: { hostname: string; port: number },
    batchSize?: number,
  ) {
    const name = text(args[0] ?? "").toUpperCase();
    this.#args = batchSize === undefined ? args : [];
    this.command = batchSize === undefined ? name : name === "MULTI" ? "MULTI" : "PIPELINE";
    // A transaction's size is the commands it queues, without its MULTI and EXEC.
    this.batchSize = batchSize === undefined || name !== "MULTI"
      ? batchSize
      : Math.max(0, batchSize - 2);
    this.serverAddress = server.hostname;
    this.serverPort = server.port;
  }

  /** The arguments a trace may show (none for a batch). */
  get args(): readonly string[] {
    this.#shown ??= shownArguments(this.#args);
    return this.#shown;
  }
}
