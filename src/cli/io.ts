/**
 * What the commands print: the usage text and writers for stdout and stderr.
 *
 * @module
 */

/** The usage text, printed for `--help` and for bad flags. */
export const USAGE = `Usage: elasticache-iam <command> [options]

Commands:
  token      Print an IAM auth token for AUTH / HELLO (credentials from the environment
             or web identity):
               token (--replication-group-id ID | --serverless-cache-name NAME |
                      --memorydb-cluster-name NAME) --user-id USER --region REGION
                     [--expires-in SECONDS]
  emulator   Run the local ElastiCache IAM emulator, printing its addresses as one JSON line:
               emulator [--config FILE] [--port PORT] [--cluster SHARDSxREPLICAS] [--tls]
                        [--print-env] [--quiet]
  demo       Run the whole IAM flow against the emulator, step by step: demo [--tls]

'elasticache-iam <command> --help' describes a command's options.
`;

/** The `token` command's help. */
export const TOKEN_HELP =
  `Usage: elasticache-iam token (--replication-group-id ID | --serverless-cache-name NAME |
                              --memorydb-cluster-name NAME) --user-id USER [--region REGION]
                             [--expires-in SECONDS]
       elasticache-iam token --version

Prints an IAM auth token for AUTH / HELLO and a newline on stdout, and nothing else.
The AWS credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN,
or else from a web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, exchanged with STS
at AWS_ENDPOINT_URL_STS, or else AWS_REGION's STS endpoint). When they take more than a
second, one line on stderr says what the command is waiting for ("Waiting for AWS credentials
(web identity: STS at https://sts.us-east-1.amazonaws.com)…"); after 5 seconds it gives up.

Options:
  --replication-group-id ID     The cache, by its name (not its endpoint's host name): an
  --serverless-cache-name NAME  ElastiCache replication group, an ElastiCache Serverless
  --memorydb-cluster-name NAME  cache, or a MemoryDB cluster.
  --user-id USER                The IAM-enabled user (its id equals its name).
  --region REGION               The cache's region, such as us-east-1. Default: AWS_REGION,
                                else AWS_DEFAULT_REGION.
  --expires-in SECONDS          How long the token is valid: 1 to 900 seconds, as a whole
                                number with an optional s or m suffix (900, 900s, 15m).
                                Default: 900.
  -h, --help                    Print this help.
  --version                     Print the package's name and version.

Exits with 0 when the token is printed, 1 when it cannot be made, 2 for bad flags.
`;

/** The `emulator` command's help. */
export const EMULATOR_HELP =
  `Usage: elasticache-iam emulator [--config FILE] [--port PORT] [--cluster SHARDSxREPLICAS]
                                [--tls] [--print-env] [--quiet]

Runs the local ElastiCache IAM emulator on 127.0.0.1 until Ctrl-C or SIGTERM: an OIDC
issuer, an STS, and for each cache its own endpoint, a RESP gateway that checks IAM auth
tokens in front of the cache's own redis-server. When it is ready it prints one JSON line
on stdout: its addresses ("caches" lists every cache's endpoint; "gateway" is the first
one's) and the access keys of the IAM user 'emulator-cli', which may connect to every
cache as every user, for the token command. It logs on stderr (reasons for refusals
included).

Options:
  --config FILE              A JSON configuration; "file://policy.json" policies are read
                             from files next to it. Default: the AWS guide's example setup
                             (replication-group-01, iam-user-01, us-east-1).
  --port PORT                The first cache's gateway port, 1 to 65535. Default: a free
                             port.
  --cluster SHARDSxREPLICAS  Cluster mode, such as 3x1: 1 to 16 shards with 0 to 5
                             replicas each, one gateway per node. Default: one node.
  --tls                      The gateway speaks TLS; the JSON line names the CA file.
  --print-env                Print shell lines instead of the JSON line: 'unset
                             AWS_SESSION_TOKEN', then 'export' AWS_ACCESS_KEY_ID,
                             AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_STS,
                             ELASTICACHE_HOST, ELASTICACHE_PORT, ELASTICACHE_URL (and
                             ELASTICACHE_CA_FILE with --tls) of the first cache.
  --quiet                    Log nothing.
  -h, --help                 Print this help.

Exits with 0 after a stop on a signal, 1 when the emulator cannot start, 2 for bad flags.
`;

/** The `demo` command's help. */
export const DEMO_HELP = `Usage: elasticache-iam demo [--tls]

Runs the whole IAM flow on this machine, step by step with timings and never a secret:
starts the emulator (installing redis-server with apt-get when missing and root), mints a
web-identity JWT, exchanges it with STS for temporary credentials, signs a token,
authenticates with HELLO 3 AUTH, runs SET and GET, shows a token for another cache
refused, and stops everything it started.

Options:
  --tls       Connect to the gateway over TLS.
  -h, --help  Print this help.

Exits with 0 when every step worked, 1 when one failed, 2 for bad flags.
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
