/**
 * The emulator's command line: `emulator` runs the local ElastiCache IAM
 * emulator, `demo` walks through the whole IAM flow against it.
 *
 * ```sh
 * deno run -A jsr:@elasticache-iam/emulator/cli emulator --print-env
 * deno run -A jsr:@elasticache-iam/emulator/cli demo
 * ```
 *
 * @module
 */
import { type CommandLoader, dispatch } from "@elasticache-iam/connector/internal";
import { USAGE } from "./src/cli/help.ts";

const COMMANDS: Record<string, CommandLoader> = {
  emulator: () => import("./src/cli/emulator_command.ts"),
  demo: () => import("./src/cli/demo_command.ts"),
};

/**
 * Runs one command line and returns the exit code: 0 on success, 1 when the
 * command failed, 2 for bad usage.
 *
 * @param args The arguments after the program name.
 * @returns The exit code.
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 *
 * const code = await main(["--help"]); // prints the usage on stdout
 * console.log(code); // 0
 * ```
 */
export function main(args: string[]): Promise<number> {
  return dispatch(COMMANDS, USAGE, args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
