/**
 * A `redis-server` for the emulator's backend that the fault suite can kill
 * (`SIGKILL`, by its PID) and restart on the same port without losing what it
 * acknowledged: the append-only file is fsynced before every reply
 * (`appendfsync always`) and the ACL users the emulator creates are saved to
 * an ACL file, so the restarted server knows them again.
 *
 * @module
 */

import type { BackendConfig } from "@elasticache-iam/emulator";
import { ReplyError } from "../../src/errors.ts";
import { RespDecoder } from "../../src/resp/decoder.ts";
import { encodeCommands } from "../../src/resp/encoder.ts";
import type { RespValue } from "../../src/resp/types.ts";
import { type RedisServer, startRedisServer } from "../_helpers/redis_server.ts";

/** The backend server and its lifecycle. */
export interface DurableBackend extends AsyncDisposable {
  /** The emulator's `backend` option: this server, with an admin user. */
  readonly config: BackendConfig;
  /** The running server's PID. */
  readonly pid: number;
  /** Saves the ACL users (call once the emulator has created its users). */
  saveAcl(): Promise<void>;
  /** Kills the server with `SIGKILL` and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with the same data and users. */
  restart(): Promise<void>;
  /**
   * Runs commands as the admin user.
   *
   * @param commands The commands.
   * @returns Their replies.
   */
  admin(commands: string[][]): Promise<RespValue[]>;
  /** Stops the server and deletes its files. */
  close(): Promise<void>;
}

const ADMIN_USER = "backend-admin";

/**
 * Starts the server on a free port.
 *
 * @returns The backend; dispose it to stop the server and delete its files.
 */
export async function startDurableBackend(): Promise<DurableBackend> {
  const dir = await Deno.makeTempDir({ prefix: "fault-backend-" });
  const password = crypto.randomUUID();
  await Deno.writeTextFile(
    `${dir}/users.acl`,
    `user default on nopass ~* &* +@all\nuser ${ADMIN_USER} on >${password} ~* &* +@all\n`,
  );
  const args = [
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--dir",
    dir,
    "--aclfile",
    `${dir}/users.acl`,
  ];
  let server: RedisServer;
  try {
    server = await startRedisServer({ args });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const port = server.port;

  const admin = async (commands: string[][]): Promise<RespValue[]> => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const all = [["AUTH", ADMIN_USER, password], ...commands];
      const bytes = encodeCommands(all);
      for (let written = 0; written < bytes.length;) {
        written += await conn.write(bytes.subarray(written));
      }
      const decoder = new RespDecoder();
      const buffer = new Uint8Array(64 * 1024);
      const replies: RespValue[] = [];
      while (replies.length < all.length) {
        const reply = decoder.read();
        if (reply !== undefined) {
          if (reply instanceof ReplyError) throw reply;
          replies.push(reply);
          continue;
        }
        const n = await conn.read(buffer);
        if (n === null) throw new Error("The backend closed the admin connection");
        decoder.push(buffer.subarray(0, n));
      }
      return replies.slice(1);
    } finally {
      conn.close();
    }
  };

  let stopped = false;
  const close = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  return {
    config: { hostname: "127.0.0.1", port, username: ADMIN_USER, password },
    get pid() {
      return server.pid;
    },
    async saveAcl() {
      await admin([["ACL", "SAVE"]]);
    },
    async kill() {
      Deno.kill(server.pid, "SIGKILL");
      await server.stop();
    },
    async restart() {
      server = await startRedisServer({ port, args });
    },
    admin,
    close,
    [Symbol.asyncDispose]: close,
  };
}
