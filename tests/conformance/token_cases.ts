/**
 * Conformance: the IAM auth token, signed with the runtime's WebCrypto,
 * against botocore's golden tokens.
 *
 * @module
 */

import { createAuthToken } from "../../mod.ts";
import vectors from "../fixtures/auth_tokens.json" with { type: "json" };
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import type { ConformanceCase } from "./cases.ts";
import { FIELD_PATTERNS, optionsOf, parts } from "../_helpers/token_vectors.ts";

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
