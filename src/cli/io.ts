/**
 * What the command line prints: the usage texts and writers for stdout and stderr
 * (the writers are shared with the emulator package's commands).
 *
 * @module
 */

/** The usage text, printed for `--help` and for bad flags. */
export const USAGE = `Usage: elasticache-iam <command> [options]

Commands:
  token      Print an IAM auth token for AUTH / HELLO (credentials from the environment
             or web identity):
               token --endpoint HOST [--user-id USER] [--expires-in SECONDS]
               token (--replication-group-id ID | --serverless-cache-name NAME |
                      --memorydb-cluster-name NAME) --user-id USER [--region REGION]
                     [--expires-in SECONDS]

'elasticache-iam token --help' describes its options. The local emulator and the demo are
in the @elasticache-iam/emulator package: deno run -A jsr:@elasticache-iam/emulator/cli --help
`;

/** The `token` command's help. */
export const TOKEN_HELP =
  `Usage: elasticache-iam token --endpoint HOST [--user-id USER] [--expires-in SECONDS]
       elasticache-iam token (--replication-group-id ID | --serverless-cache-name NAME |
                              --memorydb-cluster-name NAME) --user-id USER [--region REGION]
                             [--expires-in SECONDS]
       elasticache-iam token --version

Prints an IAM auth token for AUTH / HELLO and a newline on stdout, and nothing else.
The cache is named by its endpoint, as the console shows it, or by its name and region:
  token --endpoint master.my-group.abc123.use1.cache.amazonaws.com --user-id app
prints the same token as
  token --replication-group-id my-group --region us-east-1 --user-id app
The AWS credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN,
or else from a web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, exchanged with STS
at AWS_ENDPOINT_URL_STS, or else AWS_REGION's STS endpoint). When they take more than a
second, one line on stderr says what the command is waiting for ("Waiting for AWS credentials
(web identity: STS at https://sts.us-east-1.amazonaws.com)…"); after 5 seconds it gives up.

Options:
  --endpoint HOST               The cache's endpoint: a host name (host:port allowed) or a
                                rediss:// URL, whose user name is the user id
                                (rediss://app@HOST:6379). The cache and region are read from
                                an ElastiCache primary, reader, configuration, node or
                                serverless (private or public) endpoint or a MemoryDB
                                cluster or node endpoint, .amazonaws.com.cn included; any
                                other host (an alias, a VPC endpoint, localhost) needs the
                                cache's name flag too, and a region. Flags given win.
  --replication-group-id ID     The cache, by its name (not its endpoint's host name): an
  --serverless-cache-name NAME  ElastiCache replication group, an ElastiCache Serverless
  --memorydb-cluster-name NAME  cache, or a MemoryDB cluster.
  --user-id USER                The IAM-enabled user (its id equals its name).
  --region REGION               The cache's region, such as us-east-1. Default: the
                                endpoint's, else AWS_REGION, else AWS_DEFAULT_REGION,
                                else the AWS profile's region.
  --expires-in SECONDS          How long the token is valid: 1 to 900 seconds, as a whole
                                number with an optional s or m suffix (900, 900s, 15m).
                                Default: 900.
  -h, --help                    Print this help.
  --version                     Print the package's name and version.

Exits with 0 when the token is printed, 1 when it cannot be made, 2 for bad flags.
`;

/**
 * Whether the arguments ask for help (`--help` or `-h`, anywhere).
 *
 * @param args The arguments after the command's name.
 * @returns Whether to print the help.
 */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/**
 * Writes text to standard output.
 *
 * @param text The text.
 */
export async function writeStdout(text: string): Promise<void> {
  await Deno.stdout.write(new TextEncoder().encode(text));
}

/**
 * Writes text to standard error.
 *
 * @param text The text.
 */
export async function writeStderr(text: string): Promise<void> {
  await Deno.stderr.write(new TextEncoder().encode(text));
}

/** A command of a command line: loaded when it is run. */
export type CommandLoader = () => Promise<{ run(args: string[]): Promise<number> }>;

/**
 * Runs the command the first argument names, or prints the usage: the one
 * dispatcher of this module's command lines (`token`, and the emulator package's
 * `emulator` and `demo`).
 *
 * @param commands The commands by name, each loaded only when it runs.
 * @param usage The usage text, printed for `--help` and, on stderr, for an unknown command.
 * @param args The command line's arguments.
 * @returns The exit code: the command's, 0 for help, 2 for a missing or unknown command.
 */
export async function dispatch(
  commands: Readonly<Record<string, CommandLoader>>,
  usage: string,
  args: readonly string[],
): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h" || name === "help") {
    await writeStdout(usage);
    return 0;
  }
  const load = name === undefined || !Object.hasOwn(commands, name) ? undefined : commands[name];
  if (!load) {
    await writeStderr(
      `${
        name === undefined ? "Error: no command given" : `Error: unknown command '${name}'`
      }\n\n${usage}`,
    );
    return 2;
  }
  return await (await load()).run(rest);
}
