/**
 * The root of the command methods: how a command reaches the client (or
 * is queued on a pipeline or transaction), and {@linkcode CommandBase.send}
 * for any command. The typed methods are written on top of it, one family
 * per layer (`stream_commands.ts`, then `commands.ts`).
 *
 * @module
 */

import type { CommandArg, RespValue } from "../resp/types.ts";
import type { Parser } from "./connection.ts";
import type { Dispatch, Reply, SendOptions } from "./command_types.ts";

/**
 * How every command method sends its command, and `send` for any other.
 * The client, pipelines and transactions extend it through `Commands`.
 *
 * @example Any command, through a client's `send`
 * ```ts
 * import { RedisClient } from "./redis_client.ts";
 * import { CommandBase } from "./command_base.ts";
 *
 * const client = new RedisClient({ host: "127.0.0.1" }); // not connected yet
 * console.log(client instanceof CommandBase); // true
 * await client.close();
 * ```
 */
export abstract class CommandBase {
  readonly #dispatch: Dispatch;

  /**
   * Made by the subclasses.
   *
   * @param dispatch How the subclass sends or queues a command.
   */
  protected constructor(dispatch: Dispatch) {
    this.#dispatch = dispatch;
  }

  /**
   * Sends (or queues) a command whose reply `parse` turns into the method's value.
   *
   * @param args The command.
   * @param parse Applied to a successful reply.
   * @returns What the method returns: the reply, or the chain.
   */
  protected call<T>(args: CommandArg[], parse?: Parser<T>): Reply<this, T> {
    return this.#dispatch(args, parse, false) as Reply<this, T>;
  }

  /**
   * As {@linkcode CommandBase.call}, with bulk strings read as bytes when `bytes` is set.
   *
   * @param args The command.
   * @param parse Applied to a successful reply.
   * @param bytes Read bulk strings as `Uint8Array`.
   * @returns What the method returns.
   */
  protected callWith<T>(
    args: CommandArg[],
    parse: Parser<T> | undefined,
    bytes: boolean,
  ): Reply<this, T> {
    return this.#dispatch(args, parse, bytes) as Reply<this, T>;
  }

  /**
   * Sends any command, as it is. The reply is returned as decoded: no
   * conversion, no JSON parsing.
   *
   * @param args The command name and its arguments.
   * @param options `bytes`: return bulk strings as `Uint8Array`.
   * @returns The reply; an error reply rejects with a `ReplyError`.
   * @throws {ReplyError} The server's error reply.
   * @throws {ConnectionClosedError} When the connection closed before the reply.
   *
   * @example Any command, as the server replies, against the local emulator
   * ```ts
   * import { connect, IamAuth } from "@elasticache-iam/connector";
   * import { SEED_POLICY, startEmulator } from "@elasticache-iam/emulator";
   *
   * // The local emulator, and an IAM user whose keys may connect to its cache.
   * const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
   * await using emu = await startEmulator({
   *   iamUsers: [{ userName: "app", accessKeys: [keys], policies: [SEED_POLICY] }],
   * });
   * using auth = new IamAuth({
   *   replicationGroupId: "replication-group-01",
   *   userId: "iam-user-01",
   *   region: emu.region,
   *   credentials: keys,
   * });
   * await using client = await connect({ host: emu.gateway.hostname, port: emu.gateway.port, auth });
   *
   * await client.set("counter", "12");
   * console.log(await client.send(["OBJECT", "ENCODING", "counter"])); // "int"
   * console.log(await client.send(["GET", "counter"], { bytes: true })); // Uint8Array(2) [49, 50]
   *
   * // As decoded: a RESP3 map stays a Map (`hgetall` makes it a record).
   * await client.hset("user:1", { name: "Ada" });
   * console.log(await client.send(["HGETALL", "user:1"])); // Map(1) { "name" => "Ada" }
   * ```
   */
  send(args: CommandArg[], options?: SendOptions): Reply<this, RespValue> {
    return this.#dispatch(args, undefined, options?.bytes === true) as Reply<this, RespValue>;
  }
}
