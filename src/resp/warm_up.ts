/**
 * Compiles the decoder ahead of a process's first reply.
 *
 * V8 compiles a function the first time it runs. On a cold start, decoding
 * the first `HELLO` reply therefore costs about 1 ms of compilation (more
 * than the decoding itself), and it comes after the network wait, on the
 * path to the first reply. A process's first connection calls
 * {@linkcode warmUpDecoder} while its socket is still opening, when the
 * process is waiting anyway, so the real reply finds the code compiled.
 *
 * @module
 */

import { RespDecoder } from "./decoder.ts";

/**
 * Frames shaped like the replies a new connection reads first: a `HELLO 3`
 * map (bulk strings, integers, an empty array), a bulk string, a null and a
 * simple string.
 */
export const WARM_UP_FRAMES =
  "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n" +
  "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n" +
  "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" +
  "$5\r\nvalue\r\n_\r\n+OK\r\n";

let warmed = false;

/**
 * Decodes {@linkcode WARM_UP_FRAMES} once per process (later calls do nothing), so
 * that V8 compiles the decoder's common paths now.
 */
export function warmUpDecoder(): void {
  if (warmed) return;
  warmed = true;
  const bytes = new Uint8Array(WARM_UP_FRAMES.length);
  for (let i = 0; i < WARM_UP_FRAMES.length; i++) bytes[i] = WARM_UP_FRAMES.charCodeAt(i);
  const decoder = new RespDecoder();
  decoder.push(bytes);
  while (decoder.read() !== undefined) {
    // Each frame decoded is code compiled.
  }
}
