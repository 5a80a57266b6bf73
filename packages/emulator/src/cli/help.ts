/**
 * What the emulator package's commands print: the usage and each command's help.
 *
 * @module
 */

/** The usage text, printed for `--help` and for bad flags. */
export const USAGE = `Usage: elasticache-iam-emulator <command> [options]

Commands:
  emulator   Run the local ElastiCache IAM emulator, printing its addresses as one JSON line:
               emulator [--config FILE] [--port PORT] [--cluster SHARDSxREPLICAS] [--tls]
                        [--print-env] [--quiet]
  demo       Run the whole IAM flow against the emulator, step by step: demo [--tls]

'elasticache-iam-emulator <command> --help' describes a command's options. The token command
is in the core package: deno run -A jsr:@elasticache-iam/connector/cli token --help
`;

/** The `emulator` command's help. */
export const EMULATOR_HELP = `Usage: elasticache-iam-emulator emulator [--config FILE] [--port PORT]
                                         [--cluster SHARDSxREPLICAS] [--tls] [--print-env] [--quiet]

Runs the local ElastiCache IAM emulator on 127.0.0.1 until Ctrl-C or SIGTERM: an OIDC
issuer, an STS, and for each cache its own endpoint, a RESP gateway that checks IAM auth
tokens in front of the cache's own redis-server. When it is ready it prints one JSON line
on stdout: its addresses ("caches" lists every cache's endpoint, and a serverless cache's
"reader" endpoint; "gateway" is the first one's; "containerCredentials" and
"instanceMetadata", the ECS/EKS and IMDSv2 credential endpoints) and the access keys of the IAM user 'emulator-cli', which may connect to every
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
export const DEMO_HELP = `Usage: elasticache-iam-emulator demo [--tls]

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
