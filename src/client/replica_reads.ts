/**
 * The thin client's `replicaReads`: a second session, to the cache's reader
 * endpoint, for the single commands that only read keys' data. The session is
 * the same `Session` as the endpoint's (lazy connect, IAM handshake,
 * re-authentication, reconnect with fresh credentials, timeouts, close), with
 * `READONLY` at the end of its handshake; which commands go there is
 * `readsFromReplica`, the rule the cluster client uses too.
 *
 * @module
 */

import type { CommandArg } from "../resp/types.ts";
import { commandName, readsFromReplica } from "./command_rules.ts";
import type { ResolvedOptions } from "./options.ts";
import { Session } from "./session.ts";

/**
 * Routes the reads `replicaReads` allows to the reader endpoint's session,
 * and everything else to the endpoint's. Between `WATCH` or `MULTI` and
 * `EXEC`, `DISCARD` or `UNWATCH`, reads stay on the endpoint, where the
 * transaction (and what it watches) is.
 *
 * @example
 * ```ts
 * import { ReplicaReads } from "./replica_reads.ts";
 * import { resolveOptions } from "./options.ts";
 * import { Session } from "./session.ts";
 * import { denoTransport } from "../transport/deno.ts";
 *
 * const options = resolveOptions({ host: "127.0.0.1", port: 6379, replicaReads: true, transport: denoTransport });
 * const primary = new Session(options);
 * const reads = new ReplicaReads(primary, options.reader!);
 * console.log(reads.route(["GET", "k"]) === reads.reader); // true
 * console.log(reads.route(["SET", "k", "v"]) === primary); // true
 * console.log(reads.address); // "127.0.0.1:6380"
 * await Promise.all([primary.close(), reads.close()]);
 * ```
 */
export class ReplicaReads {
  readonly #primary: Session;
  /** The reader endpoint's session. */
  readonly reader: Session;
  /** The reader endpoint, `host:port`. */
  readonly address: string;
  /** A `WATCH` was sent and not yet ended. */
  #watching = false;
  /** A `MULTI` was sent and not yet ended. */
  #inTransaction = false;

  /**
   * @param primary The endpoint's session.
   * @param reader Where the reader endpoint is (`ResolvedOptions.reader`).
   */
  constructor(primary: Session, reader: NonNullable<ResolvedOptions["reader"]>) {
    this.#primary = primary;
    const { hostname, port } = reader;
    this.address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
    this.reader = new Session({
      ...primary.options,
      hostname,
      port,
      servername: reader.servername,
      label: `${this.address} (reader endpoint)`,
      reader: undefined,
      readOnly: true,
    });
  }

  /**
   * The session a single command goes to.
   *
   * @param args The command.
   * @returns The reader's session for a read outside a transaction, else the endpoint's.
   */
  route(args: readonly CommandArg[]): Session {
    const name = commandName(args);
    this.#follow(name);
    return !this.#watching && !this.#inTransaction && readsFromReplica(name)
      ? this.reader
      : this.#primary;
  }

  /**
   * Notes the transaction commands of a batch (a pipeline, a transaction),
   * which always goes to the endpoint.
   *
   * @param commands The batch.
   */
  follow(commands: readonly (readonly CommandArg[])[]): void {
    for (const args of commands) this.#follow(commandName(args));
  }

  #follow(name: string): void {
    switch (name) {
      case "WATCH":
        this.#watching = true;
        break;
      case "MULTI":
        this.#inTransaction = true;
        break;
      case "UNWATCH":
        if (!this.#inTransaction) this.#watching = false;
        break;
      case "EXEC":
      case "DISCARD":
        this.#watching = false;
        this.#inTransaction = false;
        break;
    }
  }

  /**
   * Closes the reader's session.
   *
   * @returns Resolves when it is closed.
   */
  close(): Promise<void> {
    return this.reader.close();
  }
}
