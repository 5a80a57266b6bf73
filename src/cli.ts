/**
 * The command line: `token` prints an IAM auth token. (The local emulator and
 * the demo are the `@elasticache-iam/emulator` package's command line.)
 *
 * ```sh
 * deno run -A jsr:@elasticache-iam/connector/cli token \
 *   --replication-group-id replication-group-01 --user-id iam-user-01 --region us-east-1
 * ```
 *
 * @module
 */
import { type CommandLoader, dispatch, USAGE } from "./cli/io.ts";

const COMMANDS: Record<string, CommandLoader> = {
  token: () => import("./cli/token_command.ts"),
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
