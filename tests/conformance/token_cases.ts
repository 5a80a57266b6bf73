/**
 * Conformance: the IAM auth token, signed with the runtime's WebCrypto,
 * against botocore's golden tokens.
 *
 * @module
 */

import { type AuthTokenOptions, createAuthToken } from "../../mod.ts";
import vectors from "../fixtures/auth_tokens.json" with { type: "json" };
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import type { ConformanceCase } from "./cases.ts";

interface Vector {
  name: string;
  userId: string;
  cacheName: string;
  region: string;
  service?: string;
  serverless?: boolean;
  expiresIn?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  date?: string;
}

/** `20261123T120000Z` → a Date. */
function parseAmzDate(date: string): Date {
  const [, y, m, d, hh, mm, ss] = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(date)!;
  return new Date(`${y}-${m}-${d}T${hh}:${mm}:${ss}Z`);
}

function optionsOf(vector: Vector): AuthTokenOptions {
  const target = vector.service === "memorydb"
    ? vector.serverless
      ? { memoryDbClusterName: vector.cacheName, serverlessCacheName: vector.cacheName }
      : { memoryDbClusterName: vector.cacheName }
    : vector.serverless
    ? { serverlessCacheName: vector.cacheName }
    : { replicationGroupId: vector.cacheName };
  return {
    ...target,
    userId: vector.userId,
    region: vector.region,
    credentials: {
      accessKeyId: vector.accessKeyId ?? "AKIDEXAMPLE",
      secretAccessKey: vector.secretAccessKey ?? "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      ...(vector.sessionToken ? { sessionToken: vector.sessionToken } : {}),
    },
    ...(vector.expiresIn === undefined ? {} : { expiresIn: vector.expiresIn }),
    ...(vector.date ? { signingDate: parseAmzDate(vector.date) } : {}),
  } as AuthTokenOptions;
}

/** The token's host and its parameters, order-free. */
function parts(token: string): { host: string; params: string[] } {
  const [host, query] = token.split("/?");
  return { host: host!, params: (query ?? "").split("&").sort() };
}

const FIELD_PATTERNS: Record<string, RegExp> = {
  userId: /'userId'/,
  cacheName: /'(replicationGroupId|serverlessCacheName|memoryDbClusterName)' must be a cache name/,
  region: /'region'/,
  expiresIn: /'expiresIn'/,
  serverless: /serverlessCacheName and memoryDbClusterName/,
};

/** The token cases. */
export const tokenCases: ConformanceCase[] = [
  {
    name: `token: every botocore golden vector, byte for byte (${vectors.valid.length} tokens)`,
    async run() {
      for (const vector of vectors.valid) {
        const token = await createAuthToken(optionsOf(vector));
        assertEquals(parts(token), parts(vector.expected), vector.name);
        assertEquals(token, vector.expected, `${vector.name}: botocore's parameter order`);
      }
    },
  },
  {
    name: "token: mixed-case cache and user names are lowercased before signing",
    async run() {
      for (const vector of vectors.normalized) {
        const token = await createAuthToken(
          optionsOf({ ...vector, userId: vector.input.userId, cacheName: vector.input.cacheName }),
        );
        assertEquals(token, vector.expected, vector.name);
      }
    },
  },
  {
    name:
      `token: invalid input is refused before credentials are resolved (${vectors.invalid.length} cases)`,
    async run() {
      for (const vector of vectors.invalid) {
        let providerCalled = false;
        const options = optionsOf(vector);
        options.credentials = () => {
          providerCalled = true;
          return Promise.resolve({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s3cr3t" });
        };
        let error: unknown;
        try {
          await createAuthToken(options);
        } catch (e) {
          error = e;
        }
        assert(
          error instanceof TypeError || error instanceof RangeError,
          `${vector.name}: expected a TypeError or RangeError, got ${String(error)}`,
        );
        assertMatch(error.message, /^Cannot sign token: /, vector.name);
        assertMatch(error.message, FIELD_PATTERNS[vector.error]!, vector.name);
        assertEquals(providerCalled, false, `${vector.name}: credentials resolved`);
      }
    },
  },
];
