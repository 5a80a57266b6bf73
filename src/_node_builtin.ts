/**
 * Taking a Node.js built-in module without importing it: from
 * `process.getBuiltinModule` (Node.js 20.16+, Bun, Workers with Node
 * compatibility), so that no `node:*` import reaches a bundler or a runtime
 * without it. On Deno it gives nothing: there, merely reading `process`
 * loads the Node compatibility layer (about 20 ms), and Deno has its own APIs.
 *
 * @module
 */

/**
 * A Node.js built-in module, or `undefined` on Deno, where there is no
 * `process.getBuiltinModule`, or when the runtime has no such module.
 *
 * @param name Its name, such as `node:fs`.
 * @returns The module.
 *
 * @example
 * ```ts
 * import { nodeBuiltin } from "./_node_builtin.ts";
 *
 * console.log(nodeBuiltin("node:fs")); // undefined on Deno
 * ```
 */
export function nodeBuiltin<T>(name: string): T | undefined {
  const runtime = globalThis as {
    Deno?: unknown;
    process?: { getBuiltinModule?: (name: string) => unknown };
  };
  if (runtime.Deno !== undefined) return undefined;
  try {
    return runtime.process?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}
