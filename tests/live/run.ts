// deno-lint-ignore-file no-console
/**
 * `deno task test:live`: the same checks a user's first day needs (connect
 * with IAM, commands, a pipeline, a re-authentication, a reconnect with a
 * fresh token), run against whatever cache the environment names:
 *
 * - `ELASTICACHE_URL`: `rediss://USER@HOST:PORT`, the user being the IAM user id;
 *   the cache's kind, name and region are read from an ElastiCache or MemoryDB host.
 * - For a host that names no cache (the local emulator, a DNS alias): one of
 *   `ELASTICACHE_REPLICATION_GROUP_ID`, `ELASTICACHE_SERVERLESS_CACHE_NAME`,
 *   `MEMORYDB_CLUSTER_NAME`, and `AWS_REGION`.
 * - `ELASTICACHE_CA_FILE`: a CA to trust (the emulator's); AWS's endpoints need none.
 * - AWS credentials: the default chain (`AWS_ACCESS_KEY_ID`…, or web identity).
 *
 * Without `ELASTICACHE_URL` it prints one line saying so and exits 0. It ends
 * with `live: N passed, N failed` and exits 1 when a check failed. Keys it
 * writes start with `{elasticache-iam-live:` (one hash slot) and expire within a minute.
 *
 * @module
 */

import { connect, defaultCredentials, IamAuth, type RedisClient } from "../../mod.ts";

const env = Deno.env.toObject();
const url = env.ELASTICACHE_URL;
if (url === undefined || url === "") {
  console.log(
    "test:live: skipped: ELASTICACHE_URL is not set (rediss://USER@HOST:PORT of the cache to " +
      "test, with AWS credentials in the environment)",
  );
  Deno.exit(0);
}

const caFile = env.ELASTICACHE_CA_FILE;
const caCerts = caFile ? await Deno.readTextFile(caFile) : undefined;
const named = {
  replicationGroupId: env.ELASTICACHE_REPLICATION_GROUP_ID,
  serverlessCacheName: env.ELASTICACHE_SERVERLESS_CACHE_NAME,
  memoryDbClusterName: env.MEMORYDB_CLUSTER_NAME,
};
const cacheOption = Object.entries(named).find(([, value]) => value);
const userId = decodeURIComponent(new URL(url).username);

/** Counts the tokens the clients ask for: each connect and re-authentication asks once. */
let asked = 0;
const iam = new IamAuth(
  {
    endpoint: url,
    ...(cacheOption ? { [cacheOption[0]]: cacheOption[1] } : {}),
    credentials: defaultCredentials(),
  } as ConstructorParameters<typeof IamAuth>[0],
);
const auth = {
  credentials: () => (asked++, iam.credentials()),
  refresh: () => (asked++, iam.refresh()),
};
// One hash tag: a serverless cache (and any cluster) refuses multi-key commands across slots.
const prefix = `{elasticache-iam-live:${crypto.randomUUID()}}`;

async function open(options: { reauthAfter?: number } = {}): Promise<RedisClient> {
  return await connect(url!, {
    auth,
    ...(caCerts === undefined ? {} : { caCerts }),
    ...options,
  });
}

const checks: [string, () => Promise<void>][] = [
  ["connect and authenticate as the URL's user", async () => {
    const client = await open();
    try {
      const whoami = await client.send(["ACL", "WHOAMI"]);
      if (whoami !== userId) throw new Error(`ACL WHOAMI answered ${String(whoami)}`);
    } finally {
      await client.close();
    }
  }],
  ["commands: SET with expiry, GET, INCR, DEL", async () => {
    const client = await open();
    try {
      await client.set(`${prefix}:greeting`, "hello", { ex: 60 });
      const value = await client.get(`${prefix}:greeting`);
      if (value !== "hello") throw new Error(`GET answered ${value}`);
      await client.incr(`${prefix}:n`);
      const n = await client.incr(`${prefix}:n`);
      await client.expire(`${prefix}:n`, 60);
      if (n !== 2) throw new Error(`INCR answered ${n}`);
      await client.del(`${prefix}:greeting`, `${prefix}:n`);
    } finally {
      await client.close();
    }
  }],
  ["a pipeline", async () => {
    const client = await open();
    try {
      const key = `${prefix}:p`;
      const [set, got, ttl] = await client.pipeline().set(key, "v", { ex: 60 }).get(key).ttl(key)
        .exec();
      if (set !== "OK" || got !== "v" || !(ttl > 0)) {
        throw new Error(`the pipeline answered ${JSON.stringify([set, got, ttl])}`);
      }
    } finally {
      await client.close();
    }
  }],
  ["a re-authentication on the open connection", async () => {
    const client = await open({ reauthAfter: 1000 });
    try {
      await client.ping();
      const before = asked;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      if ((await client.ping()) !== "PONG") throw new Error("no PONG after the re-auth");
      if (asked <= before) throw new Error("no token was asked for: no re-authentication ran");
    } finally {
      await client.close();
    }
  }],
  ["a reconnect with a fresh handshake after the connection is killed", async () => {
    const client = await open();
    try {
      const id = await client.send(["CLIENT", "ID"]);
      const before = asked;
      await client.send(["CLIENT", "KILL", "ID", String(id), "SKIPME", "no"]).catch(() => {});
      let reply: unknown;
      for (let attempt = 0; attempt < 3 && reply === undefined; attempt++) {
        reply = await client.ping().catch(() => undefined);
      }
      if (reply !== "PONG") throw new Error("no PONG after the reconnect");
      if (asked <= before) throw new Error("the reconnect asked for no token");
    } finally {
      await client.close();
    }
  }],
];

let passed = 0;
let failed = 0;
for (const [name, check] of checks) {
  try {
    await check();
    passed++;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}: ${(error as Error).message}`);
  }
}
iam[Symbol.dispose]();
console.log(`live: ${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
