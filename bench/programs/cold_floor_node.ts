/**
 * Cold start, the floor (d) on Node.js: the same socket work with a static
 * password and no library, over `node:tls`. TLS connect,
 * `AUTH user password`, `GET`, exit.
 *
 * @module
 */
import { connect } from "node:tls";
import { Buffer } from "node:buffer";
import { env, now, reportAndExit } from "./_runtime.ts";

const start = now();
const socket = connect({
  host: env("BENCH_HOST"),
  port: Number(env("BENCH_PORT")),
  ca: env("BENCH_CA_PEM"),
});
socket.setNoDelay(true);
await new Promise<void>((resolve, reject) => {
  socket.once("secureConnect", resolve);
  socket.once("error", reject);
});

function command(...args: string[]): string {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return text;
}

/** Reads one simple or bulk string reply. */
function reply(): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const eol = text.indexOf("\r\n");
      if (eol < 0) return;
      const done = (value: string | null) => {
        socket.off("data", onData);
        resolve(value);
      };
      if (text[0] === "+") done(text.slice(1, eol));
      else if (text[0] === "-") {
        socket.off("data", onData);
        reject(new Error(text.slice(1, eol)));
      } else if (text[0] === "$") {
        const length = Number(text.slice(1, eol));
        if (length < 0) done(null);
        else if (text.length >= eol + 2 + length + 2) done(text.slice(eol + 2, eol + 2 + length));
      }
    };
    socket.on("data", onData);
  });
}

socket.write(command("AUTH", env("BENCH_USER"), env("BENCH_PASSWORD")));
await reply();
const connected = now();
socket.write(command("GET", env("BENCH_KEY")));
const value = await reply();
reportAndExit({ reply: value, t: { start, connected, reply: now() } });
