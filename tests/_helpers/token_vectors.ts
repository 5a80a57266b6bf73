/**
 * Reading the golden token vectors (`tests/fixtures/auth_tokens.json`):
 * shared by the Deno token tests, the runtime-neutral conformance suite and
 * the CLI test. Pure functions only, so every runtime's bundle can use it.
 *
 * @module
 */

import type { AuthTokenOptions } from "../../mod.ts";

/** One vector as the fixture writes it. */
export interface Vector {
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

/** What each `invalid` vector's `error` field must be named by in the message. */
export const FIELD_PATTERNS: Record<string, RegExp> = {
  userId: /'userId'/,
  cacheName: /'(replicationGroupId|serverlessCacheName|memoryDbClusterName)' must be a cache name/,
  region: /'region'/,
  expiresIn: /'expiresIn'/,
  serverless: /serverlessCacheName and memoryDbClusterName/,
};

/** `20261123T120000Z` → a Date. */
export function parseAmzDate(date: string): Date {
  const [, y, m, d, hh, mm, ss] = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(date)!;
  return new Date(`${y}-${m}-${d}T${hh}:${mm}:${ss}Z`);
}

/** The `createAuthToken` options a vector describes. */
export function optionsOf(vector: Vector): AuthTokenOptions {
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

/** A token's host and its parameters, order-free. */
export function parts(token: string): { host: string; params: string[] } {
  const [host, query] = token.split("/?");
  return { host: host!, params: (query ?? "").split("&").sort() };
}
