/**
 * The name of the source a credentials provider reads, for the
 * `credentials:resolved` event: each provider this module makes carries it;
 * any other function is a `provider`, and keys given as they are `static keys`.
 *
 * @module
 */

import type { CredentialsInput } from "./types.ts";

const SOURCE = Symbol.for("elasticache-iam.credentials-source");

type Named = { [SOURCE]?: string | (() => string) };

/**
 * Names the source a provider reads.
 *
 * @param provider The provider.
 * @param source Its name, or a function giving it (for a chain: the source it used last).
 * @returns The provider.
 *
 * @example
 * ```ts
 * import { named, sourceOf } from "./source_name.ts";
 *
 * const provider = named(() => Promise.resolve({ accessKeyId: "AKID", secretAccessKey: "s" }), "vault");
 * console.log(sourceOf(provider)); // "vault"
 * ```
 */
export function named<T extends object>(provider: T, source: string | (() => string)): T {
  Object.defineProperty(provider, SOURCE, { value: source, configurable: true });
  return provider;
}

/**
 * The name of the source behind credentials given as keys or a provider.
 *
 * @param input Keys, or a provider.
 * @returns The source's name.
 *
 * @example
 * ```ts
 * import { sourceOf } from "./source_name.ts";
 *
 * console.log(sourceOf({ accessKeyId: "AKID", secretAccessKey: "s" })); // "static keys"
 * console.log(sourceOf(() => Promise.resolve({ accessKeyId: "AKID", secretAccessKey: "s" }))); // "provider"
 * ```
 */
export function sourceOf(input: CredentialsInput): string {
  if (typeof input !== "function") return "static keys";
  const source = (input as Named)[SOURCE];
  return typeof source === "function" ? source() : source ?? "provider";
}
