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
               emulator [--config FILE] [--tls] [--quiet]
  demo       Run the whole IAM flow against the emulator, step by step: demo [--tls]
`;

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
