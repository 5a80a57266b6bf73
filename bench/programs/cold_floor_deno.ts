/**
 * Cold start, the floor (d) on Deno: the same socket work with a static
 * password and no library. TLS connect, `AUTH user password`, `GET`, exit.
 *
 * @module
 */
import { env, now, reportAndExit } from "./_runtime.ts";

const start = now();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
// TCP_NODELAY first: `Deno.connectTls` gives no way to set it, and without it
// Nagle's algorithm holds the first command behind the handshake's last
// flight until the server's delayed ACK (about 40 ms on Linux).
const tcp = await Deno.connect({ hostname: env("BENCH_HOST"), port: Number(env("BENCH_PORT")) });
tcp.setNoDelay(true);
const conn = await Deno.startTls(tcp, {
  hostname: env("BENCH_HOST"),
  caCerts: [env("BENCH_CA_PEM")],
});
await conn.handshake();
const buffer = new Uint8Array(64 * 1024);

function command(...args: string[]): Uint8Array {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${encoder.encode(arg).length}\r\n${arg}\r\n`;
  return encoder.encode(text);
}

/** Reads one simple or bulk string reply. */
async function reply(): Promise<string | null> {
  let text = "";
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("Connection closed");
    text += decoder.decode(buffer.subarray(0, n));
    const eol = text.indexOf("\r\n");
    if (eol < 0) continue;
    if (text[0] === "+") return text.slice(1, eol);
    if (text[0] === "-") throw new Error(text.slice(1, eol));
    if (text[0] === "$") {
      const length = Number(text.slice(1, eol));
      if (length < 0) return null;
      if (text.length >= eol + 2 + length + 2) return text.slice(eol + 2, eol + 2 + length);
    }
  }
}

await conn.write(command("AUTH", env("BENCH_USER"), env("BENCH_PASSWORD")));
await reply();
const connected = now();
await conn.write(command("GET", env("BENCH_KEY")));
const value = await reply();
reportAndExit({ reply: value, t: { start, connected, reply: now() } });
