/**
 * Builds aws4fetch's `AwsV4Signer` for a query-presigned URL without creating
 * a platform `Headers` object.
 *
 * `AwsV4Signer`'s constructor always builds `new Headers(...)`. A presigned
 * token has no header to sign but `host`, yet the runtime's first `Headers`
 * is costly on a cold start: about 2 ms in Deno (its fetch code loads
 * lazily) and about 20 ms in Node.js 20 (the `Headers` global loads undici).
 * While the constructor runs, and only then, `globalThis.Headers` is a
 * minimal header map; the constructor is synchronous, so no other code can
 * observe the swap. Signing itself is still aws4fetch's, on WebCrypto.
 *
 * @module
 */

import { AwsV4Signer } from "aws4fetch";

/** The options `AwsV4Signer` takes. */
export type SignerInit = ConstructorParameters<typeof AwsV4Signer>[0];

/**
 * The subset of `Headers` that `AwsV4Signer` uses: names are case-insensitive,
 * `keys()` is sorted, as with `Headers`.
 */
class PresignHeaders {
  readonly #entries = new Map<string, string>();

  constructor(init?: Record<string, string>) {
    for (const [name, value] of Object.entries(init ?? {})) this.set(name, value);
  }

  get(name: string): string | null {
    return this.#entries.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#entries.has(name.toLowerCase());
  }

  set(name: string, value: string): void {
    this.#entries.set(name.toLowerCase(), String(value));
  }

  delete(name: string): void {
    this.#entries.delete(name.toLowerCase());
  }

  keys(): IterableIterator<string> {
    return [...this.#entries.keys()].sort()[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return [...this.#entries].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)[Symbol.iterator]();
  }
}

/**
 * Constructs an `AwsV4Signer` for a presigned URL with no headers of its own.
 *
 * @param init The signer's options; `signQuery` must be true and `headers` absent.
 * @returns The signer.
 */
export function presignSigner(
  init: SignerInit & { signQuery: true; headers?: never },
): AwsV4Signer {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "Headers");
  // Where the global cannot be swapped back exactly, use the platform's.
  if (descriptor !== undefined && !descriptor.configurable) return new AwsV4Signer(init);
  Object.defineProperty(globalThis, "Headers", {
    value: PresignHeaders,
    configurable: true,
    writable: true,
  });
  try {
    return new AwsV4Signer(init);
  } finally {
    if (descriptor === undefined) delete (globalThis as { Headers?: unknown }).Headers;
    else Object.defineProperty(globalThis, "Headers", descriptor);
  }
}
