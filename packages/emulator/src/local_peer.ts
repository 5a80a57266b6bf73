/**
 * Which local process is at the other end of a loopback connection, from
 * Linux's `/proc`: the gateway lets the emulator's internal user (cluster
 * replication) in only from the `redis-server` processes the emulator
 * started, never from a client that learned or guessed its password.
 *
 * @module
 */

/**
 * Whether the peer of a loopback TCP connection is one of `pids`, by the
 * socket's inode in `/proc/net/tcp` (and `tcp6`) and the processes' open
 * files in `/proc/<pid>/fd`.
 *
 * @param conn The accepted connection.
 * @param pids The processes allowed.
 * @returns `true` or `false` on Linux; `undefined` where `/proc` cannot be read.
 *
 * @example
 * ```ts
 * import { peerIsOneOf } from "./local_peer.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using conn = await listener.accept();
 * console.log(await peerIsOneOf(conn, [Deno.pid]) !== false); // true: this process is the peer
 * ```
 */
export async function peerIsOneOf(
  conn: Pick<Deno.Conn, "localAddr" | "remoteAddr">,
  pids: readonly number[],
): Promise<boolean | undefined> {
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  let inode: string | undefined;
  try {
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      inode = findInode(await Deno.readTextFile(table), remote.port, local.port);
      if (inode !== undefined) break;
    }
  } catch {
    return undefined;
  }
  if (inode === undefined) return false;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    try {
      for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
        try {
          if (await Deno.readLink(`/proc/${pid}/fd/${entry.name}`) === target) return true;
        } catch {
          // The file closed meanwhile.
        }
      }
    } catch {
      // The process is gone, or not readable.
    }
  }
  return false;
}

/**
 * The inode of the socket whose local port is `from` and remote port is `to`
 * (the peer's end of our connection), in a `/proc/net/tcp` table.
 */
function findInode(table: string, from: number, to: number): string | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [localAddress, remoteAddress, inode] = [fields[1], fields[2], fields[9]];
    if (localAddress?.endsWith(`:${hex(from)}`) && remoteAddress?.endsWith(`:${hex(to)}`)) {
      return inode;
    }
  }
  return undefined;
}
