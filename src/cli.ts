/**
 * The command line: `token` prints an IAM auth token, `emulator` runs the
 * local ElastiCache IAM emulator, `demo` walks through the whole flow.
 *
 * ```sh
 * deno run -A jsr:@elasticache-iam/connector/cli token \
 *   --replication-group-id replication-group-01 --user-id iam-user-01 --region us-east-1
 * ```
 *
 * @module
 */
import { USAGE, writeStderr, writeStdout } from "./cli/io.ts";

const COMMANDS: Record<string, () => Promise<{ run(args: string[]): Promise<number> }>> = {
  token: () => import("./cli/token_command.ts"),
  emulator: () => import("./cli/emulator_command.ts"),
  demo: () => import("./cli/demo_command.ts"),
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
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h" || name === "help") {
    await writeStdout(USAGE);
    return 0;
  }
  const load = name === undefined ? undefined : COMMANDS[name];
  if (!load) {
    await writeStderr(
      `${
        name === undefined ? "Error: no command given" : `Error: unknown command '${name}'`
      }\n\n${USAGE}`,
    );
    return 2;
  }
  return await (await load()).run(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
