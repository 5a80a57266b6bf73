/**
 * The conformance suite: runtime-neutral cases written once and run in Deno
 * (`conformance_test.ts`), Deno with Deno Deploy's permissions, Node.js,
 * Bun and workerd (`tests/runtimes/`). A case imports the module's public
 * entry point only and uses nothing but Web APIs; what differs per runtime
 * (its `connect`, how it trusts a CA, the emulator's clock) comes in the
 * {@linkcode ConformanceContext}.
 *
 * @module
 */

import type { ConformanceContext, RuntimeName } from "./_context.ts";
import { clientCases } from "./client_cases.ts";
import { tokenCases } from "./token_cases.ts";
import { tokenManagerCases } from "./token_manager_cases.ts";

export type { ConformanceContext, RuntimeName } from "./_context.ts";

/** One conformance case. */
export interface ConformanceCase {
  /** What it proves; unique. */
  readonly name: string;
  /** Runtimes that skip it, with the reason. */
  readonly skip?: Partial<Record<RuntimeName, string>>;
  /**
   * Runs it; rejects on failure.
   *
   * @param ctx The runtime's context.
   */
  run(ctx: ConformanceContext): Promise<void>;
}

/** Every case, in the order they run. */
export const cases: readonly ConformanceCase[] = [
  ...tokenCases,
  ...tokenManagerCases,
  ...clientCases,
];
