/**
 * Endpoints in, everything else derived: every ElastiCache / MemoryDB host
 * name shape `src/endpoint.ts` reads (each with the token it leads to, byte
 * for byte the token of the explicit form, and for six of them botocore's
 * golden token), the short region code rule against every region botocore
 * lists (`fixtures/aws_regions.json`), hosts that name no cache, explicit
 * options over derived ones, the `AWS_REGION` / `AWS_DEFAULT_REGION`
 * fallback, and bad input refused before any network work without a secret
 * in the message.
 */

import assert from "node:assert/strict";
import { type CacheEndpoint, parseEndpoint, regionCode, regionFromCode } from "../src/endpoint.ts";
import { type AuthTokenOptions, createAuthToken, REGION_PATTERN } from "../src/token.ts";
import { IamAuth } from "../src/iam_auth.ts";
import regions from "./fixtures/aws_regions.json" with { type: "json" };
import vectors from "./fixtures/auth_tokens.json" with { type: "json" };
import { optionsOf, parseAmzDate } from "./_helpers/token_vectors.ts";
import { awsHome } from "./_helpers/aws_home.ts";

const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SIGNING_DATE = new Date("2026-11-23T12:00:00Z");

/** Runs `fn` with AWS_REGION and AWS_DEFAULT_REGION set as given (unset when absent), then restores them. */
async function withRegionEnv<T>(
  env: {
    AWS_REGION?: string;
    AWS_DEFAULT_REGION?: string;
    AWS_PROFILE?: string;
    AWS_CONFIG_FILE?: string;
  },
  fn: () => T | Promise<T>,
): Promise<T> {
  // No profile either: the shared files are pointed where there are none.
  const names = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
  ] as const;
  const saved = names.map((name) => Deno.env.get(name));
  const values: Record<string, string | undefined> = {
    AWS_CONFIG_FILE: "/nonexistent/.aws/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/.aws/credentials",
    ...env,
  };
  for (const name of names) {
    const value = values[name];
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
  try {
    return await fn();
  } finally {
    names.forEach((name, i) => {
      const value = saved[i];
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    });
  }
}

const noRegionEnv = <T>(fn: () => T | Promise<T>) => withRegionEnv({}, fn);

// --------------------------------------------------------------------------- every host shape

/** [endpoint, what it names]: each shape of the table at the top of src/endpoint.ts. */
const SHAPES: [endpoint: string, cache: CacheEndpoint][] = [
  // Replication groups (in-transit encryption on): AWS's own examples first.
  [
    "master.ncit.ameaqx.use1.cache.amazonaws.com:6379",
    { kind: "replicationGroupId", cacheName: "ncit", region: "us-east-1", role: "primary" },
  ],
  [
    "primary.ssltest.wif01h.use1.cache.amazonaws.com:6379",
    { kind: "replicationGroupId", cacheName: "ssltest", region: "us-east-1", role: "primary" },
  ],
  [
    "ssltest-02.ssltest.wif01h.use1.cache.amazonaws.com:6379",
    { kind: "replicationGroupId", cacheName: "ssltest", region: "us-east-1", role: "node" },
  ],
  [
    "master.my-group.abc123.use1.cache.amazonaws.com",
    { kind: "replicationGroupId", cacheName: "my-group", region: "us-east-1", role: "primary" },
  ],
  [
    "replica.my-group.abc123.usw2.cache.amazonaws.com:6379",
    { kind: "replicationGroupId", cacheName: "my-group", region: "us-west-2", role: "reader" },
  ],
  [
    "clustercfg.orders.x1y2z3.apse2.cache.amazonaws.com",
    {
      kind: "replicationGroupId",
      cacheName: "orders",
      region: "ap-southeast-2",
      role: "configuration",
    },
  ],
  [
    "my-group-001.my-group.abc123.euw1.cache.amazonaws.com",
    { kind: "replicationGroupId", cacheName: "my-group", region: "eu-west-1", role: "node" },
  ],
  [
    "orders-0002-001.orders.x1y2z3.apne1.cache.amazonaws.com",
    { kind: "replicationGroupId", cacheName: "orders", region: "ap-northeast-1", role: "node" },
  ],
  [
    "clustercfg.orders.w6eqga.apn2.cache.amazonaws.com",
    {
      kind: "replicationGroupId",
      cacheName: "orders",
      region: "ap-northeast-2",
      role: "configuration",
    },
  ],
  [
    "master.gov-cache.abc123.usgw1.cache.amazonaws.com",
    {
      kind: "replicationGroupId",
      cacheName: "gov-cache",
      region: "us-gov-west-1",
      role: "primary",
    },
  ],
  // The China partition.
  [
    "clustercfg.rg1.abc123.cnn1.cache.amazonaws.com.cn",
    { kind: "replicationGroupId", cacheName: "rg1", region: "cn-north-1", role: "configuration" },
  ],
  [
    "rg1-0001-002.rg1.abc123.cnw1.cache.amazonaws.com.cn",
    { kind: "replicationGroupId", cacheName: "rg1", region: "cn-northwest-1", role: "node" },
  ],
  // Serverless caches, private and public (the reader is the same host on port 6380).
  [
    "my-valkey-cache-abcd1234xmpl.serverless.use1.cache.amazonaws.com",
    {
      kind: "serverlessCacheName",
      cacheName: "my-valkey-cache",
      region: "us-east-1",
      role: "serverless",
    },
  ],
  [
    "my-cache-abc123.serverless.euw1.cache.amazonaws.com:6380",
    { kind: "serverlessCacheName", cacheName: "my-cache", region: "eu-west-1", role: "serverless" },
  ],
  [
    "my-public-cache-x2e9hv.public.serverless.use1.cache.amazonaws.com",
    {
      kind: "serverlessCacheName",
      cacheName: "my-public-cache",
      region: "us-east-1",
      role: "public",
    },
  ],
  [
    "cache1-x2e9hv.serverless.cnw1.cache.amazonaws.com.cn",
    {
      kind: "serverlessCacheName",
      cacheName: "cache1",
      region: "cn-northwest-1",
      role: "serverless",
    },
  ],
  // MemoryDB clusters and nodes.
  [
    "clustercfg.my-cluster.xxxxxx.memorydb.us-east-1.amazonaws.com",
    { kind: "memoryDbClusterName", cacheName: "my-cluster", region: "us-east-1", role: "cluster" },
  ],
  [
    "my-cluster-0001-001.my-cluster.abcdef.memorydb.us-east-1.amazonaws.com",
    { kind: "memoryDbClusterName", cacheName: "my-cluster", region: "us-east-1", role: "node" },
  ],
  [
    "clustercfg.c1.abc123.memorydb.cn-north-1.amazonaws.com.cn",
    { kind: "memoryDbClusterName", cacheName: "c1", region: "cn-north-1", role: "cluster" },
  ],
  [
    "clustercfg.gov-db.abc123.memorydb.us-gov-east-1.amazonaws.com",
    { kind: "memoryDbClusterName", cacheName: "gov-db", region: "us-gov-east-1", role: "cluster" },
  ],
  // Spellings: URLs (the user name is the user id), upper case, a trailing dot.
  [
    "rediss://iam-user-01@master.my-group.abc123.use1.cache.amazonaws.com:6379",
    { kind: "replicationGroupId", cacheName: "my-group", region: "us-east-1", role: "primary" },
  ],
  [
    "valkeys://iam-user-01@my-cache-abc123.public.serverless.euc1.cache.amazonaws.com:6379/0",
    { kind: "serverlessCacheName", cacheName: "my-cache", region: "eu-central-1", role: "public" },
  ],
  [
    "Replica.My-Group.ABC123.USE1.cache.amazonaws.com.",
    { kind: "replicationGroupId", cacheName: "my-group", region: "us-east-1", role: "reader" },
  ],
];

Deno.test("every endpoint shape names its cache, and leads to the explicit form's token byte for byte", async (t) => {
  for (const [endpoint, cache] of SHAPES) {
    await t.step(endpoint, async () => {
      assert.deepEqual(parseEndpoint(endpoint).cache, cache);
      const common = { credentials: CREDENTIALS, signingDate: SIGNING_DATE };
      const userId = parseEndpoint(endpoint).userId === undefined ? { userId: "app-user" } : {};
      const derived = await createAuthToken({ endpoint, ...userId, ...common });
      const explicit = await createAuthToken({
        [cache.kind]: cache.cacheName,
        userId: parseEndpoint(endpoint).userId ?? "app-user",
        region: cache.region,
        ...common,
      } as AuthTokenOptions);
      assert.equal(derived, explicit);
      assert.ok(derived.startsWith(`${cache.cacheName}/?Action=connect&User=`), derived);
    });
  }
});

Deno.test("tokens from endpoints match botocore's golden tokens", async (t) => {
  const endpoints: Record<string, string> = {
    "replication group, long-term keys":
      "rediss://iam-user-01@master.replication-group-01.abc123.use1.cache.amazonaws.com:6379",
    "replication group, session token":
      "replica.replication-group-01.abc123.use1.cache.amazonaws.com",
    "serverless cache": "my-cache-abc123.serverless.euw1.cache.amazonaws.com",
    "memorydb cluster":
      "clustercfg.my-memorydb-cluster.abc123.memorydb.ap-southeast-2.amazonaws.com",
    "china partition": "clustercfg.rg1.abc123.cnn1.cache.amazonaws.com.cn",
    "govcloud": "master.gov-cache.abc123.usgw1.cache.amazonaws.com",
    "secret with symbols": "c-1-0001-001.c-1.abc123.use2.cache.amazonaws.com",
  };
  for (const [name, endpoint] of Object.entries(endpoints)) {
    await t.step(name, async () => {
      const vector = vectors.valid.find((v) => v.name === name)!;
      const { credentials, signingDate, expiresIn } = optionsOf(vector);
      const token = await createAuthToken({
        endpoint,
        ...(parseEndpoint(endpoint).userId === undefined ? { userId: vector.userId } : {}),
        credentials,
        ...(signingDate === undefined ? {} : { signingDate }),
        ...(expiresIn === undefined ? {} : { expiresIn }),
      });
      assert.equal(token, vector.expected);
    });
  }
});

// ---------------------------------------------------------------------------- region codes

type Partition = (typeof regions.partitions)[number];
/** The partitions whose ElastiCache and MemoryDB host names AWS documents (`.amazonaws.com[.cn]`). */
const READ = new Set(["aws", "aws-cn", "aws-us-gov"]);

Deno.test("every region botocore lists round-trips through the short region code rule", async (t) => {
  assert.match(regions.source.commit, /^[0-9a-f]{40}$/);
  const all = regions.partitions.flatMap((p) => p.regions);
  assert.ok(all.length >= 45, `${all.length} regions`);
  const codes = new Map<string, string>();
  for (const partition of regions.partitions as Partition[]) {
    await t.step(partition.id, () => {
      const china = partition.dnsSuffix === "amazonaws.com.cn";
      for (const region of partition.regions) {
        assert.match(region, REGION_PATTERN, `${region} is accepted as a region`);
        assert.match(region, new RegExp(partition.regionRegex));
        const code = regionCode(region);
        if (!READ.has(partition.id)) {
          // eusc (amazonaws.eu) and the ISO partitions: AWS documents no host names there.
          assert.equal(code, undefined, region);
          assert.ok(!/^amazonaws\.com(\.cn)?$/.test(partition.dnsSuffix), partition.dnsSuffix);
          continue;
        }
        assert.ok(code !== undefined, `${region} has a code`);
        assert.equal(regionFromCode(code, china), region, `${code} → ${region}`);
        assert.equal(
          regionFromCode(code, !china),
          undefined,
          `${code} is not in the other partition`,
        );
        assert.equal(codes.get(code), undefined, `${code} is the code of one region only`);
        codes.set(code, region);
        // And through host names, ElastiCache's (by code) and MemoryDB's (by name).
        const suffix = partition.dnsSuffix;
        assert.equal(
          parseEndpoint(`master.g.abc123.${code}.cache.${suffix}`).cache?.region,
          region,
        );
        assert.equal(
          parseEndpoint(`g-xyz789.serverless.${code}.cache.${suffix}`).cache?.region,
          region,
        );
        assert.equal(
          parseEndpoint(`clustercfg.c.abc123.memorydb.${region}.${suffix}`).cache?.region,
          region,
        );
      }
    });
  }
  // Every region ElastiCache and MemoryDB serve in those partitions is among them.
  for (const partition of regions.partitions.filter((p) => READ.has(p.id))) {
    for (const region of [...partition.elasticache, ...partition.memorydb]) {
      assert.ok(partition.regions.includes(region), region);
    }
  }
});

Deno.test("region codes seen in real ElastiCache host names decode to their regions", () => {
  const seen: [code: string, china: boolean, region: string][] = [
    ["use1", false, "us-east-1"],
    ["use2", false, "us-east-2"],
    ["usw2", false, "us-west-2"],
    ["cac1", false, "ca-central-1"],
    ["sae1", false, "sa-east-1"],
    ["euw1", false, "eu-west-1"],
    ["euc2", false, "eu-central-2"],
    ["eun1", false, "eu-north-1"],
    ["eus1", false, "eu-south-1"],
    ["mec1", false, "me-central-1"],
    ["ilc1", false, "il-central-1"],
    ["aps1", false, "ap-south-1"],
    ["aps2", false, "ap-south-2"],
    ["ape1", false, "ap-east-1"],
    ["apse1", false, "ap-southeast-1"],
    ["apse2", false, "ap-southeast-2"],
    ["apse3", false, "ap-southeast-3"],
    ["apne1", false, "ap-northeast-1"],
    ["apn2", false, "ap-northeast-2"],
    ["apn3", false, "ap-northeast-3"],
    ["usgw1", false, "us-gov-west-1"],
    ["cnn1", true, "cn-north-1"],
    ["cnw1", true, "cn-northwest-1"],
    // The rule's spelling of the exceptions (as AZ ids write them) is read too.
    ["apne2", false, "ap-northeast-2"],
    ["apne3", false, "ap-northeast-3"],
    ["cnnw1", true, "cn-northwest-1"],
  ];
  for (const [code, china, region] of seen) assert.equal(regionFromCode(code, china), region, code);
  assert.equal(regionCode("ap-northeast-2"), "apn2");
  assert.equal(regionCode("cn-northwest-1"), "cnw1");
  assert.equal(regionCode("us-gov-east-1"), "usge1");
  for (
    const [code, china] of [
      ["use1", true],
      ["cnn1", false],
      ["xxe1", false],
      ["usx1", false],
      ["use0", false],
      ["use01", false],
      ["eugw1", false],
      ["use", false],
      ["", false],
    ] as const
  ) {
    assert.equal(regionFromCode(code, china), undefined, `${code} (${china ? "cn" : "com"})`);
  }
  for (
    const region of ["us-iso-east-1", "eusc-de-east-1", "eu-gov-west-1", "us-east", "xx-east-1"]
  ) {
    assert.equal(regionCode(region), undefined, region);
  }
});

// ------------------------------------------------------------------ hosts that name no cache

const NOT_AWS = [
  "localhost",
  "127.0.0.1",
  "[::1]:6380",
  "::1",
  "redis.internal.example",
  "cache.mycompany.com:6379",
  "rediss://app@cache.mycompany.com:6379",
  "vpce-0123456789abcdef0-abcdefgh.elasticache.us-east-1.vpce.amazonaws.com",
  // Groups without in-transit encryption (no IAM), Memcached, unknown prefixes, mismatched names.
  "my-group.abc123.clustercfg.use1.cache.amazonaws.com",
  "my-group.abc123.ng.0001.use1.cache.amazonaws.com",
  "mycluster.fnjyzo.cfg.use1.cache.amazonaws.com",
  "other.my-group.abc123.use1.cache.amazonaws.com",
  "a-0001-001.b.abc123.use1.cache.amazonaws.com",
  // Look-alikes: another suffix, a region code of the other partition, no such code.
  "master.my-group.abc123.use1.cache.amazonaws.com.evil.example",
  "master.my-group.abc123.cnn1.cache.amazonaws.com",
  "master.my-group.abc123.use1.cache.amazonaws.com.cn",
  "master.my-group.abc123.zz9.cache.amazonaws.com",
  "clustercfg.c.abc123.memorydb.cn-north-1.amazonaws.com",
  "clustercfg.c.abc123.memorydb.nowhere.amazonaws.com",
  "master.my_group.abc123.use1.cache.amazonaws.com",
];

Deno.test("hosts that are not ElastiCache or MemoryDB endpoints name no cache", () => {
  for (const endpoint of NOT_AWS) assert.equal(parseEndpoint(endpoint).cache, undefined, endpoint);
});

Deno.test("a host that names no cache needs the cache's name, and says which options to give", async () => {
  const base = { endpoint: "redis.internal.example:6379", userId: "u", credentials: CREDENTIALS };
  const names = "'replicationGroupId', 'serverlessCacheName' or 'memoryDbClusterName'";
  await noRegionEnv(async () => {
    await assert.rejects(createAuthToken(base), {
      name: "TypeError",
      message: "Cannot sign token: the 'endpoint' host 'redis.internal.example' is not an " +
        `ElastiCache or MemoryDB endpoint host name, so give the cache's name as ${names}, and ` +
        "'region' (or set AWS_REGION)",
    });
    await assert.rejects(createAuthToken({ ...base, replicationGroupId: "rg" }), {
      name: "TypeError",
      message: "Cannot sign token: 'region' is required when the 'endpoint' host " +
        "'redis.internal.example' does not name it and neither AWS_REGION nor AWS_DEFAULT_REGION " +
        "is set, nor a region in the AWS profile",
    });
    assert.throws(() => new IamAuth({ ...base, region: "us-east-1" }), {
      name: "TypeError",
      message: "Cannot sign token: the 'endpoint' host 'redis.internal.example' is not an " +
        `ElastiCache or MemoryDB endpoint host name, so give the cache's name as ${names}`,
    });
  });
  await withRegionEnv({ AWS_REGION: "eu-west-1" }, async () => {
    await assert.rejects(createAuthToken(base), {
      message: "Cannot sign token: the 'endpoint' host 'redis.internal.example' is not an " +
        `ElastiCache or MemoryDB endpoint host name, so give the cache's name as ${names}`,
    });
  });
  // Given both, a loopback or alias endpoint signs as the explicit form does.
  for (const endpoint of ["127.0.0.1:6379", "redis.internal.example", "rediss://u@[::1]:6380"]) {
    const token = await createAuthToken({
      ...base,
      endpoint,
      serverlessCacheName: "my-cache",
      region: "eu-west-1",
      signingDate: SIGNING_DATE,
    });
    const explicit = await createAuthToken({
      serverlessCacheName: "my-cache",
      userId: "u",
      region: "eu-west-1",
      credentials: CREDENTIALS,
      signingDate: SIGNING_DATE,
    });
    assert.equal(token, explicit, endpoint);
  }
});

// -------------------------------------------------------------------- explicit over derived

Deno.test("options given explicitly win over what the endpoint says", async () => {
  const endpoint = "rediss://url-user@master.my-group.abc123.use1.cache.amazonaws.com:6379";
  const sign = (options: Partial<AuthTokenOptions>) =>
    createAuthToken({
      endpoint,
      credentials: CREDENTIALS,
      signingDate: SIGNING_DATE,
      ...options,
    } as AuthTokenOptions);
  const explicit = (options: Record<string, string>) =>
    createAuthToken({
      userId: "url-user",
      region: "us-east-1",
      credentials: CREDENTIALS,
      signingDate: SIGNING_DATE,
      ...options,
    } as AuthTokenOptions);
  assert.equal(await sign({}), await explicit({ replicationGroupId: "my-group" }));
  assert.equal(
    await sign({ region: "eu-west-1" }),
    await explicit({ replicationGroupId: "my-group", region: "eu-west-1" }),
  );
  assert.equal(
    await sign({ replicationGroupId: "Other-Group" }),
    await explicit({ replicationGroupId: "other-group" }),
  );
  assert.equal(
    await sign({ serverlessCacheName: "my-cache" }),
    await explicit({ serverlessCacheName: "my-cache" }),
  );
  assert.equal(
    await sign({ userId: "Given-User" }),
    await explicit({ replicationGroupId: "my-group", userId: "given-user" }),
  );
  // Still exactly one cache name, endpoint or not.
  await assert.rejects(sign({ replicationGroupId: "a", memoryDbClusterName: "b" } as never), {
    name: "TypeError",
    message: "Cannot sign token: give exactly one of 'replicationGroupId', 'serverlessCacheName' " +
      "or 'memoryDbClusterName', got replicationGroupId and memoryDbClusterName",
  });
});

Deno.test("the region falls back to the endpoint's, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's", async () => {
  const regionOf = (token: string) =>
    /X-Amz-Credential=[^%]+%2F\d{8}%2F([^%]+)%2F/.exec(token)?.[1];
  const sign = (options: Record<string, string>) =>
    createAuthToken({
      userId: "u",
      credentials: CREDENTIALS,
      ...options,
    } as AuthTokenOptions);
  const both = { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "ap-south-1" };
  await withRegionEnv(both, async () => {
    assert.equal(
      regionOf(await sign({ replicationGroupId: "rg", region: "us-west-2" })),
      "us-west-2",
    );
    assert.equal(
      regionOf(await sign({ endpoint: "master.rg.abc123.cac1.cache.amazonaws.com" })),
      "ca-central-1",
    );
    assert.equal(regionOf(await sign({ replicationGroupId: "rg" })), "eu-west-1");
    assert.equal(
      regionOf(await sign({ replicationGroupId: "rg", endpoint: "localhost:6379" })),
      "eu-west-1",
    );
  });
  await withRegionEnv({ AWS_DEFAULT_REGION: "ap-south-1" }, async () => {
    assert.equal(regionOf(await sign({ replicationGroupId: "rg" })), "ap-south-1");
  });
  await withRegionEnv({ AWS_REGION: "nowhere", AWS_DEFAULT_REGION: "us-east-1" }, async () => {
    await assert.rejects(sign({ replicationGroupId: "rg" }), {
      name: "TypeError",
      message: "Cannot sign token: AWS_REGION must be an AWS region such as 'us-east-1', got " +
        "'nowhere'",
    });
  });
  await noRegionEnv(async () => {
    await assert.rejects(sign({ replicationGroupId: "rg" }), {
      name: "TypeError",
      message: "Cannot sign token: 'region' is required when neither AWS_REGION nor " +
        "AWS_DEFAULT_REGION is set, nor a region in the AWS profile",
    });
  });
  await using home = await awsHome({
    config: "[default]\nregion = eu-north-1\n[profile dev]\nregion = sa-east-1\n" +
      "[profile broken]\nregion = Nowhere\n",
  });
  await withRegionEnv({ AWS_CONFIG_FILE: home.configFile }, async () => {
    assert.equal(regionOf(await sign({ replicationGroupId: "rg" })), "eu-north-1");
    // IamAuth reads it when it is made, as createAuthToken does.
    using auth = new IamAuth({ replicationGroupId: "rg", userId: "u", credentials: CREDENTIALS });
    assert.equal(regionOf((await auth.credentials()).password), "eu-north-1");
  });
  await withRegionEnv({ AWS_CONFIG_FILE: home.configFile, AWS_PROFILE: "dev" }, async () => {
    assert.equal(regionOf(await sign({ replicationGroupId: "rg" })), "sa-east-1");
  });
  await withRegionEnv(
    { AWS_CONFIG_FILE: home.configFile, AWS_DEFAULT_REGION: "ap-south-1" },
    async () => assert.equal(regionOf(await sign({ replicationGroupId: "rg" })), "ap-south-1"),
  );
  await withRegionEnv({ AWS_CONFIG_FILE: home.configFile, AWS_PROFILE: "broken" }, async () => {
    await assert.rejects(sign({ replicationGroupId: "rg" }), {
      name: "TypeError",
      message: "Cannot sign token: the AWS profile's 'region' must be an AWS region such as " +
        "'us-east-1', got 'Nowhere'",
    });
  });
  await withRegionEnv({ AWS_CONFIG_FILE: home.configFile, AWS_PROFILE: "absent" }, async () => {
    await assert.rejects(sign({ replicationGroupId: "rg" }), {
      name: "TypeError",
      message: "Cannot sign token: 'region' is required when neither AWS_REGION nor " +
        "AWS_DEFAULT_REGION is set, nor a region in the AWS profile",
    });
  });
});

Deno.test("IamAuth takes an endpoint URL: its user name, cache and region", async () => {
  const now = SIGNING_DATE.getTime();
  using auth = new IamAuth({
    endpoint:
      "rediss://iam-user-01@my-cache-x2e9hv.public.serverless.usw2.cache.amazonaws.com:6379",
    credentials: CREDENTIALS,
    now: () => now,
  });
  assert.equal(auth.username, "iam-user-01");
  assert.deepEqual(auth.toJSON(), {
    userId: "iam-user-01",
    cacheName: "my-cache",
    region: "us-west-2",
    service: "elasticache",
  });
  const { password } = await auth.credentials();
  assert.equal(
    password,
    await createAuthToken({
      serverlessCacheName: "my-cache",
      userId: "iam-user-01",
      region: "us-west-2",
      credentials: CREDENTIALS,
      signingDate: new Date(now),
    }),
  );
  assert.match(password, /&ResourceType=ServerlessCache&/);
});

// ------------------------------------------------------------------------------ bad input

Deno.test("parseEndpoint takes a URL or host apart, never keeping a password", () => {
  assert.deepEqual(parseEndpoint("rediss://app%2Duser@Master.RG.abc123.use1.cache.amazonaws.com"), {
    host: "master.rg.abc123.use1.cache.amazonaws.com",
    port: undefined,
    userId: "app-user",
    tls: true,
    hasPassword: false,
    cache: { kind: "replicationGroupId", cacheName: "rg", region: "us-east-1", role: "primary" },
  });
  const local = parseEndpoint("redis://u:p@[::1]:7000/0");
  assert.deepEqual(local, {
    host: "::1",
    port: 7000,
    userId: "u",
    tls: false,
    hasPassword: true,
    cache: undefined,
  });
  assert.ok(!JSON.stringify(local).includes('"p"'));
  assert.deepEqual(
    [
      parseEndpoint(" localhost:6380 ").port,
      parseEndpoint("valkey://h").tls,
      parseEndpoint("h").tls,
      parseEndpoint("h.").host,
    ],
    [6380, false, undefined, "h"],
  );
});

Deno.test("bad endpoints are refused before any network work, without echoing a secret", async () => {
  const secret = "s3cr3t-Pa55w0rd";
  const hidden = (value: string) =>
    `a string of ${value.length} characters (not shown: it may hold credentials)`;
  const withPassword = `rediss://app:${secret}@master.rg.abc123.use1.cache.amazonaws.com:6379`;
  const userAt = `app:${secret}@master.rg.abc123.use1.cache.amazonaws.com`;
  const badUser = "rediss://%E0%A4%A@master.rg.abc123.use1.cache.amazonaws.com";
  const cases: [value: unknown, message: string][] = [
    ["", "'endpoint' must be a host name or a redis:// or rediss:// URL, got ''"],
    [42, "'endpoint' must be a host name or a redis:// or rediss:// URL, got 42"],
    [
      "https://cache.example.com",
      "'endpoint' must be a host name or a redis:// or rediss:// URL (redis, rediss, valkey or " +
      "valkeys), got 'https://cach…' (25 characters)",
    ],
    [
      "host:99999",
      "'endpoint' must be a host name or a redis:// or rediss:// URL, with a port from 1 to " +
      "65535, got 'host:99999'",
    ],
    [
      "host:",
      "'endpoint' must be a host name or a redis:// or rediss:// URL, with a port from 1 to 65535, got 'host:'",
    ],
    ["two words", "'endpoint' must be a host name or a redis:// or rediss:// URL, got 'two words'"],
    ["rediss://", "'endpoint' must be a host name or a redis:// or rediss:// URL, got 'rediss://'"],
    [
      userAt,
      `'endpoint' must be a host name or a redis:// or rediss:// URL, got ${hidden(userAt)}`,
    ],
    [
      withPassword,
      "'endpoint' must not hold a password (the IAM auth token is the password), got " +
      hidden(withPassword),
    ],
    [
      badUser,
      "'endpoint' must be a host name or a redis:// or rediss:// URL (its user name is not valid " +
      `percent-encoding), got ${hidden(badUser)}`,
    ],
    [
      "rediss://master.rg.abc123.use1.cache.amazonaws.com",
      "'userId' is required when the 'endpoint' URL has no user name (rediss://<userId>@<host>)",
    ],
  ];
  for (const [endpoint, message] of cases) {
    let called = false;
    const credentials = () => {
      called = true;
      return Promise.resolve(CREDENTIALS);
    };
    await assert.rejects(
      createAuthToken({ endpoint, credentials } as never),
      (error: Error) => {
        assert.equal(error.name, "TypeError");
        assert.equal(error.message, `Cannot sign token: ${message}`);
        assert.ok(!error.message.includes(secret));
        assert.ok(!String(error.stack).includes(secret));
        return true;
      },
      String(endpoint),
    );
    assert.equal(called, false, "no credentials are resolved for bad input");
    assert.throws(() => new IamAuth({ endpoint, credentials } as never), TypeError);
  }
  assert.throws(() => parseEndpoint(`redis://u:${secret}@bad host`), (error: Error) => {
    assert.match(error.message, /^Cannot read endpoint: 'endpoint' must be a host name/);
    assert.ok(!error.message.includes(secret));
    return true;
  });
});

Deno.test("a MemoryDB endpoint signs for service memorydb, without ResourceType", async () => {
  const endpoint = "rediss://u@clustercfg.c.abc123.memorydb.eu-west-1.amazonaws.com:6379";
  const [a, b] = await Promise.all([
    createAuthToken({
      endpoint,
      credentials: CREDENTIALS,
      signingDate: parseAmzDate("20260101T000000Z"),
    }),
    createAuthToken({
      endpoint,
      credentials: CREDENTIALS,
      signingDate: parseAmzDate("20260101T000000Z"),
    }),
  ]);
  assert.equal(a, b);
  assert.match(a, /^c\/\?Action=connect&User=u&X-Amz-Algorithm=.*%2Feu-west-1%2Fmemorydb%2F/);
  assert.ok(!a.includes("ResourceType"));
});
