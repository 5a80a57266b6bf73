/**
 * A Worker that exercises the thin client from the `./cloudflare` entry
 * (`cloudflare:sockets`) against the redis-server named by its bindings, and
 * answers with what it saw. `run_in_workerd.mjs` bundles it and runs it in
 * workerd through Miniflare.
 */

import { connect, ReplyError } from "../../../src/cloudflare.ts";

interface Env {
  REDIS_PORT: string;
}

async function run(env: Env): Promise<Record<string, unknown>> {
  const port = Number(env.REDIS_PORT);
  const seen: Record<string, unknown> = {};
  await using client = await connect({
    host: "127.0.0.1",
    port,
    auth: { username: "alice", password: "secret" },
  });
  seen.whoami = await client.send(["ACL", "WHOAMI"]);
  seen.set = await client.set("worker:s", "from workerd", { ex: 60 });
  seen.get = await client.get("worker:s");
  seen.hgetall = (await client.hset("worker:h", { a: 1 }), await client.hgetall("worker:h"));
  const pipeline = client.pipeline();
  for (let i = 0; i < 1000; i++) pipeline.incr("worker:n");
  seen.pipelineLast = (await pipeline.exec()).at(-1);
  seen.multi = await client.multi().incr("worker:n").get("worker:n").exec();
  seen.replyError = await client.incr("worker:s").then(
    () => "no error",
    (error) => error instanceof ReplyError ? error.code : String(error),
  );
  const messages: string[] = [];
  await using _subscription = await client.subscribe("worker:c", (m) => messages.push(m));
  await client.publish("worker:c", "hello");
  for (let i = 0; i < 100 && messages.length === 0; i++) await client.ping();
  seen.messages = messages;
  const wrong = await connect({
    host: "127.0.0.1",
    port,
    auth: { username: "alice", password: "wrong" },
  }).then(() => "connected", (error) => (error as Error).name);
  seen.wrongPassword = wrong;
  return seen;
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    try {
      return Response.json({ ok: true, seen: await run(env) });
    } catch (error) {
      return Response.json({ ok: false, error: String((error as Error).stack ?? error) });
    }
  },
};
