/**
 * Seeded randomness and run sizes for the fuzz suites.
 *
 * Every fuzz case draws from its own generator, seeded from the run's seed
 * and the case's index, so a failure names the two numbers that replay it:
 * `FUZZ_SEED=<seed> FUZZ_CASE=<index> deno test -A tests/fuzz/`.
 *
 * `FUZZ_SIZE=long` selects the nightly size; anything else the CI size.
 *
 * @module
 */

/** A small, fast, seeded generator (sfc32). */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * @param seed Any 32-bit seed.
   * @param stream A second number mixed in, such as a case index.
   */
  constructor(seed: number, stream = 0) {
    this.#a = 0x9e3779b9 ^ seed;
    this.#b = 0x243f6a88 ^ Math.imul(stream, 0x85ebca6b);
    this.#c = 0xb7e15162 ^ Math.imul(seed ^ stream, 0xc2b2ae35);
    this.#d = 1;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** @returns A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** @returns A float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /**
   * @param n The bound.
   * @returns An integer in [0, n).
   */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /**
   * @param min The lowest value.
   * @param max The highest value.
   * @returns An integer in [min, max].
   */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /**
   * @param p The probability.
   * @returns Whether an event of probability `p` happened.
   */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /**
   * @param items A non-empty list.
   * @returns One of its items.
   */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /**
   * A size skewed towards small values: mostly below 16, sometimes up to `max`.
   *
   * @param max The largest size.
   * @returns The size.
   */
  size(max: number): number {
    const roll = this.float();
    if (roll < 0.6) return this.int(Math.min(16, max + 1));
    if (roll < 0.9) return this.int(Math.min(256, max + 1));
    return this.int(max + 1);
  }

  /**
   * @param n How many bytes.
   * @returns Random bytes.
   */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** Whether this run is the nightly size (`FUZZ_SIZE=long`). */
export const LONG: boolean = readEnv("FUZZ_SIZE") === "long";

/** The run's seed: `FUZZ_SEED`, else a fixed one so CI runs are reproducible. */
export const SEED: number = (() => {
  const text = readEnv("FUZZ_SEED");
  if (text === undefined) return LONG ? (Date.now() & 0x7fffffff) : 0x5eed1e55;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`FUZZ_SEED must be an integer: ${text}`);
  return seed | 0;
})();

/** `FUZZ_CASE`: replay only this case index. */
export const ONLY_CASE: number | undefined = (() => {
  const text = readEnv("FUZZ_CASE");
  return text === undefined ? undefined : Number(text);
})();

/**
 * Picks a figure by run size.
 *
 * @param ci The CI-size value.
 * @param long The nightly-size value.
 * @returns The value for this run.
 */
export function sized<T>(ci: T, long: T): T {
  return LONG ? long : ci;
}

/** How to replay a case, for failure messages. */
export function replay(caseIndex: number, file: string): string {
  return `replay: FUZZ_SEED=${SEED} FUZZ_CASE=${caseIndex} deno test -A ${file}`;
}

/** Writes a fuzz run's figures when `FUZZ_REPORT=1` (quiet otherwise). */
export function report(line: string): void {
  if (readEnv("FUZZ_REPORT") === "1" || LONG) {
    Deno.stderr.writeSync(new TextEncoder().encode(`fuzz: ${line}\n`));
  }
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
