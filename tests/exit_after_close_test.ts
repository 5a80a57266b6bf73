/**
 * With the runtime's own timers, closing a client while an authentication
 * step hangs on its credentials source lets the process exit at once: no
 * step timeout (30 s) outlives `close()` or node-redis's `destroy()`.
 *
 * Each case runs in a child `deno run` of this file (the scenario's name,
 * and the port of a `redis-server` when it needs one, as arguments), which
 * writes `closed` on stdout when the client is closed; the test measures how
 * long the child lives after that.
 */

import assert from "node:assert/strict";
import { startRedisServer } from "./_helpers/redis_server.ts";

/** How long the child may live after `closed`. */
const EXIT_WITHIN_MS = 2_000;
/** How long the child may live in all, before it is killed. */
const CHILD_DEADLINE_MS = 10_000;

/** A child's scenario: it closes a client whose authentication step hangs. */
interface Scenario {
  /** Whether it needs a `redis-server`, whose port it is then given. */
  server: boolean;
  run(port?: number): Promise<void>;
}

const scenarios: Record<string, Scenario> = {
  /** A thin client whose re-authentication waits on a source that never answers. */
  "thin client: close() during a re-authentication": {
    server: false,
    async run() {
      const { connect } = await import("../src/client.ts");
      const { handshakeReply, scriptedTransport } = await import(
        "./_helpers/scripted_transport.ts"
      );
      let calls = 0;
      let reauthStarted!: () => void;
      const hanging = new Promise<void>((resolve) => reauthStarted = resolve);
      const auth = {
        credentials() {
          if (++calls === 1) return Promise.resolve({ username: "u", password: "token-1" });
          reauthStarted();
          return new Promise<never>(() => {});
        },
      };
      const transport = scriptedTransport((command, peer) => {
        peer.reply(handshakeReply(command) ?? "+PONG\r\n");
      });
      const client = await connect({ host: "127.0.0.1", transport, auth, reauthAfter: 50 });
      await hanging;
      await client.close();
    },
  },
  /** A node-redis client whose connect, to a real server, waits on a source that never answers. */
  "node-redis: destroy() during connect()": {
    server: true,
    async run(port) {
      const { createIamClient } = await import("@elasticache-iam/node-redis");
      const { createClient } = await import("redis");
      let asked!: () => void;
      const hanging = new Promise<void>((resolve) => asked = resolve);
      const auth = {
        credentials() {
          asked();
          return new Promise<never>(() => {});
        },
      };
      const client = createIamClient(createClient, { url: `redis://127.0.0.1:${port}`, auth });
      client.on("error", () => {});
      client.connect().catch(() => {});
      await hanging;
      client.destroy();
    },
  },
};

if (import.meta.main) {
  const [name, port] = Deno.args;
  await scenarios[name!]!.run(port === undefined ? undefined : Number(port));
  await Deno.stdout.write(new TextEncoder().encode("closed\n"));
} else {
  for (const [name, scenario] of Object.entries(scenarios)) {
    Deno.test(`${name} lets the process exit within ${EXIT_WITHIN_MS} ms`, async () => {
      await using redis = scenario.server ? await startRedisServer() : undefined;
      const args = ["run", "-A", new URL(import.meta.url).pathname, name];
      if (redis !== undefined) args.push(String(redis.port));
      const child = new Deno.Command(Deno.execPath(), {
        args,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const deadline = setTimeout(() => child.kill("SIGKILL"), CHILD_DEADLINE_MS);
      const stderr = new Response(child.stderr).text();
      try {
        let output = "";
        let closedAt: number | undefined;
        const decoder = new TextDecoder();
        for await (const chunk of child.stdout) {
          output += decoder.decode(chunk, { stream: true });
          if (closedAt === undefined && output.includes("closed\n")) closedAt = performance.now();
        }
        const status = await child.status;
        const exitedAt = performance.now();
        assert.ok(closedAt !== undefined, `the child never closed its client: ${await stderr}`);
        assert.equal(status.code, 0, await stderr);
        const lived = Math.round(exitedAt - closedAt);
        assert.ok(lived < EXIT_WITHIN_MS, `the process exited ${lived} ms after the close`);
      } finally {
        clearTimeout(deadline);
        await stderr;
      }
    });
  }
}
