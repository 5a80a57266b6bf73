/**
 * Pipeline and transaction results typed from the queued commands: the type
 * checks below fail `deno check` (and so `deno test`) when a result type is
 * wrong, and the runtime tests check the same calls' values against a real
 * `redis-server`.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import type { Reply } from "../src/client/commands.ts";
import type { Transaction } from "../src/client/multi.ts";
import type { Pipeline } from "../src/client/pipeline.ts";
import type { RedisClient } from "../src/client/redis_client.ts";
import type { ScoreMember } from "../src/client/replies.ts";
import type { ClusterClient } from "../src/cluster/client.ts";
import { ReplyError } from "../src/errors.ts";
import type { RespValue } from "../src/resp/types.ts";
import { startRedisServer } from "./_helpers/redis_server.ts";

/** `true` when `A` and `B` are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

/** Compiles only when `T` is `true`: `exact<Equal<typeof x, Expected>>()`. */
function exact<T extends true>(): T | void {}

/** Type-checks `check` without running it. */
function typeOnly(
  _check: (client: RedisClient, cluster: ClusterClient) => Promise<void>,
): void {}

Deno.test("pipeline results are typed from the queued commands", () => {
  typeOnly(async (client) => {
    const results = await client.pipeline().get("a").incr("n").exec();
    exact<Equal<typeof results, [string | null, number]>>();
    // @ts-expect-error the first result may be null
    const first: string = results[0];
    // @ts-expect-error two commands, two results
    const [, , third] = results;

    const overloads = await client.pipeline()
      .set("a", "1")
      .set("a", "2", { get: true })
      .lpop("l")
      .lpop("l", 2)
      .zrange("z", 0, -1)
      .zrange("z", 0, -1, { withScores: true })
      .getJson<{ name: string }>("j")
      .getBuffer("b")
      .send(["OBJECT", "ENCODING", "a"])
      .hgetall("h")
      .time()
      .exec();
    exact<
      Equal<typeof overloads, [
        "OK" | null,
        string | null,
        string | null,
        string[] | null,
        string[],
        ScoreMember[],
        { name: string } | null,
        Uint8Array | null,
        RespValue,
        Record<string, string>,
        [seconds: number, microseconds: number],
      ]>
    >();
    void first, third;
  });
});

Deno.test("a pipeline filled by statements, or empty, resolves with unknown[]", () => {
  typeOnly(async (client) => {
    const pipeline = client.pipeline();
    for (const key of ["a", "b"]) pipeline.incr(key);
    const looped = await pipeline.exec();
    exact<Equal<typeof looped, unknown[]>>();
    exact<Equal<Awaited<ReturnType<Pipeline["exec"]>>, unknown[]>>();

    // A fold names the accumulator's type: any pipeline is a Pipeline<unknown[]>.
    const folded = await ["a", "b"].reduce<Pipeline<unknown[]>>(
      (p, key) => p.get(key),
      client.pipeline(),
    ).exec();
    exact<Equal<typeof folded, unknown[]>>();
  });
});

Deno.test("keepErrors adds Error to every result's type", () => {
  typeOnly(async (client) => {
    const kept = await client.pipeline().get("a").incr("n").exec({ keepErrors: true });
    exact<Equal<typeof kept, [string | null | Error, number | Error]>>();
    const thrown = await client.pipeline().get("a").incr("n").exec({ keepErrors: false });
    exact<Equal<typeof thrown, [string | null, number]>>();
    const options: { keepErrors: boolean } = { keepErrors: Math.random() > 0.5 };
    const either = await client.multi().incr("n").exec(options);
    exact<Equal<typeof either, [number | Error]>>();
  });
});

Deno.test("an explicit results tuple may narrow the inferred one, not contradict it", () => {
  typeOnly(async (client) => {
    const narrowed = await client.pipeline().set("a", "1").send(["ECHO", "x"]).exec<
      ["OK", string]
    >();
    exact<Equal<typeof narrowed, ["OK", string]>>();
    const looped = client.pipeline();
    looped.incr("n");
    const declared = await looped.exec<number[]>();
    exact<Equal<typeof declared, number[]>>();
    // @ts-expect-error GET is not a number
    await client.pipeline().get("a").exec<[number]>();
    // @ts-expect-error two commands, not one
    await client.multi().incr("a").incr("b").exec<[number]>();
    // @ts-expect-error a widened array is pointless: the tuple is inferred
    await client.pipeline().incr("a").incr("b").exec<number[]>();
  });
});

Deno.test("transaction results are typed from the queued commands", () => {
  typeOnly(async (client) => {
    const transaction = client.multi().incr("visits").expire("visits", 60);
    exact<Equal<typeof transaction, Transaction<[number, boolean]>>>();
    const results = await transaction.exec();
    exact<Equal<typeof results, [number, boolean]>>();
    exact<Equal<Awaited<ReturnType<Transaction["exec"]>>, unknown[]>>();
    // @ts-expect-error a transaction is not a pipeline
    const pipeline: Pipeline<[number, boolean]> = transaction;
    void pipeline;
  });
});

Deno.test("the cluster client's pipelines and transactions are typed the same way", () => {
  typeOnly(async (_, cluster) => {
    const piped = await cluster.pipeline().get("a").incr("n").exec();
    exact<Equal<typeof piped, [string | null, number]>>();
    const multi = await cluster.multi().incr("{t}:n").set("{t}:at", "now", { get: true }).exec();
    exact<Equal<typeof multi, [number, string | null]>>();
  });
});

Deno.test("command methods on a client return promises of their replies", () => {
  exact<Equal<Reply<RedisClient, number>, Promise<number>>>();
  exact<Equal<Reply<ClusterClient, string | null>, Promise<string | null>>>();
  exact<Equal<Reply<Pipeline<[string]>, number>, Pipeline<[string, number]>>>();
  exact<Equal<Reply<Transaction, boolean>, Transaction<[boolean]>>>();
  typeOnly(async (client) => {
    exact<Equal<typeof client.get, (key: string | Uint8Array) => Promise<string | null>>>();
    const value = await client.incr("n");
    exact<Equal<typeof value, number>>();
  });
});

Deno.test("inferred pipeline results hold redis-server's replies", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  await client.rpush("l", "x", "y", "z");
  await client.zadd("z", { score: 2, member: "b" }, { score: 1, member: "a" });

  const [missing, n, set, old, popped, zrange, scored, json, echoed] = await client.pipeline()
    .get("a")
    .incr("n")
    .set("a", "1")
    .set("a", "2", { get: true })
    .lpop("l", 2)
    .zrange("z", 0, -1)
    .zrange("z", 0, -1, { withScores: true })
    .setJson("j", { name: "Ada" })
    .send(["ECHO", "é"])
    .exec();
  assert.equal(missing, null);
  assert.equal(n, 1);
  assert.equal(set, "OK");
  assert.equal(old, "1");
  assert.deepEqual(popped, ["x", "y"]);
  assert.deepEqual(zrange, ["a", "b"]);
  assert.deepEqual(scored, [{ member: "a", score: 1 }, { member: "b", score: 2 }]);
  assert.equal(json, "OK");
  assert.equal(echoed, "é");

  const [user, bytes, fields] = await client.pipeline()
    .getJson<{ name: string }>("j")
    .getBuffer("a")
    .hset("h", { f: "v" })
    .exec();
  assert.equal(user?.name, "Ada");
  assert.deepEqual(bytes, new TextEncoder().encode("2"));
  assert.equal(fields, 1);

  const [value, incremented, refused] = await client.pipeline().get("a").incr("a").incr("j").exec({
    keepErrors: true,
  });
  assert.equal(value, "2");
  assert.equal(incremented, 3);
  assert.ok(refused instanceof ReplyError && refused.code === "ERR");
});

Deno.test("inferred transaction results hold redis-server's replies", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });

  const [count, expiring, ttl, members] = await client.multi()
    .incr("visits")
    .expire("visits", 60)
    .ttl("visits")
    .sadd("s", "a", "b")
    .exec();
  assert.equal(count, 1);
  assert.equal(expiring, true);
  assert.equal(ttl, 60);
  assert.equal(members, 2);

  await client.set("text", "abc");
  const [incremented, refused, after] = await client.multi()
    .incr("visits")
    .incr("text")
    .get("visits")
    .exec({ keepErrors: true });
  assert.equal(incremented, 2);
  assert.ok(refused instanceof ReplyError && refused.code === "ERR");
  assert.equal(after, "2");
});

Deno.test("a transaction whose watched key changed throws EXECABORT instead of resolving", async () => {
  await using redis = await startRedisServer();
  await using client = await connect({ host: redis.hostname, port: redis.port });
  await using other = await connect({ host: redis.hostname, port: redis.port });
  await client.send(["WATCH", "balance"]);
  await other.set("balance", "10");
  await assert.rejects(
    client.multi().incr("balance").exec(),
    (error: unknown) => error instanceof ReplyError && error.code === "EXECABORT",
  );
  assert.equal(await client.get("balance"), "10");
});
