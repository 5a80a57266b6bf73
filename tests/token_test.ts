import assert from "node:assert/strict";
import { createAuthToken } from "../mod.ts";
import vectors from "./fixtures/auth_tokens.json" with { type: "json" };
import { FIELD_PATTERNS, optionsOf, parts } from "./_helpers/token_vectors.ts";

Deno.test("tokens match every golden vector byte for byte", async (t) => {
  for (const vector of vectors.valid) {
    await t.step(vector.name, async () => {
      const token = await createAuthToken(optionsOf(vector));
      assert.deepEqual(parts(token), parts(vector.expected));
      assert.equal(token, vector.expected, "parameters are written in botocore's order");
    });
  }
});

Deno.test("mixed-case names are lowercased before signing", async (t) => {
  for (const vector of vectors.normalized) {
    await t.step(vector.name, async () => {
      const token = await createAuthToken(
        optionsOf({ ...vector, userId: vector.input.userId, cacheName: vector.input.cacheName }),
      );
      assert.equal(token, vector.expected);
    });
  }
});

Deno.test("invalid input is refused before signing, naming the field", async (t) => {
  for (const vector of vectors.invalid) {
    await t.step(vector.name, async () => {
      let providerCalled = false;
      const options = optionsOf(vector);
      options.credentials = () => {
        providerCalled = true;
        return Promise.resolve({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s3cr3t" });
      };
      await assert.rejects(createAuthToken(options), (error: Error) => {
        assert.ok(error instanceof TypeError || error instanceof RangeError, error.name);
        assert.match(error.message, FIELD_PATTERNS[vector.error]!);
        assert.match(error.message, /^Cannot sign token: /);
        return true;
      });
      assert.equal(providerCalled, false, "credentials are not resolved for invalid input");
    });
  }
});

Deno.test("error messages name the bad value and never a secret", async () => {
  const secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  await assert.rejects(
    createAuthToken({
      replicationGroupId: "my-cache-abc123.serverless.use1.cache.amazonaws.com",
      userId: "u",
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey },
    }),
    (error: Error) => {
      assert.equal(
        error.message,
        "Cannot sign token: 'replicationGroupId' must be a cache name (letters, digits and single " +
          "hyphens, starting with a letter; not an endpoint host name), got " +
          "'my-cache-abc…' (51 characters)",
      );
      return true;
    },
  );
  await assert.rejects(
    createAuthToken({
      replicationGroupId: "rg",
      userId: "u",
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: 42 } as never,
    }),
    {
      name: "TypeError",
      message: "Cannot sign token: 'credentials' is no 'secretAccessKey' string",
    },
  );
  await assert.rejects(
    createAuthToken({
      replicationGroupId: "rg",
      userId: "u",
      region: "us-east-1",
      credentials: () => Promise.reject(new Error(`STS said no to ${"AKIDEXAMPLE"}`)),
    }),
    {
      name: "CredentialsError",
      message:
        "Cannot resolve AWS credentials: the credentials provider failed: STS said no to AKIDEXAMPLE",
    },
  );
});

Deno.test("exactly one cache name is required", async () => {
  const base = {
    userId: "u",
    region: "us-east-1",
    credentials: { accessKeyId: "A", secretAccessKey: "B" },
  };
  await assert.rejects(createAuthToken(base as never), {
    name: "TypeError",
    message:
      "Cannot sign token: give exactly one of 'replicationGroupId', 'serverlessCacheName' or 'memoryDbClusterName', or an 'endpoint' to read it from, got none",
  });
  await assert.rejects(
    createAuthToken({ ...base, replicationGroupId: "a", serverlessCacheName: "b" } as never),
    /got replicationGroupId and serverlessCacheName/,
  );
  await assert.rejects(
    createAuthToken({ ...base, replicationGroupId: "a", expiresIn: 1.5 }),
    {
      name: "RangeError",
      message:
        "Cannot sign token: 'expiresIn' must be a whole number of seconds from 1 to 900, got 1.5",
    },
  );
  await assert.rejects(
    createAuthToken({ ...base, replicationGroupId: "a", signingDate: new Date("nope") }),
    {
      name: "RangeError",
      message: "Cannot sign token: 'signingDate' must be a valid Date, got an invalid Date",
    },
  );
});

Deno.test("a provider function is resolved and its session token signed", async () => {
  const vector = vectors.valid.find((v) => v.name === "replication group, session token")!;
  const options = optionsOf(vector);
  const keys = options.credentials;
  options.credentials = () => Promise.resolve(keys as never);
  assert.equal(await createAuthToken(options), vector.expected);
});

Deno.test("a token is produced even when the credentials expire before it does", async () => {
  const token = await createAuthToken({
    replicationGroupId: "rg",
    userId: "u",
    region: "us-east-1",
    credentials: {
      accessKeyId: "ASIAEXAMPLE",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date("2026-11-23T12:01:00Z"),
    },
    signingDate: new Date("2026-11-23T12:00:00Z"),
  });
  assert.match(token, /X-Amz-Expires=900&/);
});

const SHARED_VECTORS = new URL("../../shared/vectors/auth_tokens.json", import.meta.url);
const sharedVectorsExist = await Deno.stat(SHARED_VECTORS).then(() => true, () => false);

Deno.test({
  name: "the fixture is identical to the shared golden vectors",
  ignore: !sharedVectorsExist, // a clone without ../shared tests against its own copy
  fn: async () => {
    const fixture = await Deno.readFile(new URL("./fixtures/auth_tokens.json", import.meta.url));
    assert.deepEqual(await Deno.readFile(SHARED_VECTORS), fixture);
  },
});

Deno.test("signing leaves the runtime's Headers global as it was", async () => {
  const before = Object.getOwnPropertyDescriptor(globalThis, "Headers");
  const token = await createAuthToken(optionsOf(vectors.valid[0]!));
  assert.equal(token, vectors.valid[0]!.expected);
  assert.deepEqual(Object.getOwnPropertyDescriptor(globalThis, "Headers"), before);
  const headers = new Headers({ "X-Test": "1" });
  assert.ok(headers instanceof Headers);
  assert.equal(headers.get("x-test"), "1");
});
