/**
 * The Node.js/Bun transport takes `node:net` and `node:tls` from
 * `process.getBuiltinModule` when it connects (it imports no Node built-in, so
 * Worker bundles of the main entry point stay free of them). The socket
 * behaviour itself runs on Node.js and Bun in `tests/runtimes`.
 */

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { nodeTransport } from "../src/transport/node.ts";

Deno.test("nodeTransport asks process.getBuiltinModule for node:net and node:tls", async () => {
  const process = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } })
    .process;
  const original = process.getBuiltinModule;
  const asked: string[] = [];
  process.getBuiltinModule = (id: string) => (asked.push(id), original.call(process, id));
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as { port: number };
    const transport = await nodeTransport({ hostname: "127.0.0.1", port, tls: false });
    await transport.close();
    assert.deepEqual(asked, ["node:net", "node:tls"]);
  } finally {
    process.getBuiltinModule = original;
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("without process.getBuiltinModule, nodeTransport rejects and says what to do", async () => {
  const process = (globalThis as unknown as { process: { getBuiltinModule?: unknown } }).process;
  const original = process.getBuiltinModule;
  process.getBuiltinModule = undefined;
  try {
    await assert.rejects(
      nodeTransport({ hostname: "127.0.0.1", port: 6379, tls: true }),
      {
        name: "TypeError",
        message:
          "Cannot connect to '127.0.0.1:6379': this runtime has no process.getBuiltinModule (Node.js 20.16 or later, Bun 1.1 or later); pass 'transport'",
      },
    );
  } finally {
    process.getBuiltinModule = original;
  }
});
