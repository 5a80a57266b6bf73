/**
 * The `token` command: prints one IAM auth token and a newline on stdout, and
 * nothing else, so that it can be captured (`REDISCLI_AUTH=$(… token …)`).
 *
 * @module
 */
import { defaultCredentials } from "../credentials/chain.ts";
import { createAuthToken, type TokenTargetOptions } from "../token.ts";
import { TOKEN_HELP, USAGE, wantsHelp, writeStderr, writeStdout } from "./io.ts";
import { messageOf } from "../credentials/resolve.ts";

const FLAGS: Record<string, string> = {
  "--replication-group-id": "replicationGroupId",
  "--serverless-cache-name": "serverlessCacheName",
  "--memorydb-cluster-name": "memoryDbClusterName",
  "--user-id": "userId",
  "--region": "region",
  "--expires-in": "expiresIn",
};

/**
 * Runs `token` with its flags (AWS's `generate_iam_auth_token` names where they overlap).
 *
 * `--help` prints its help.
 *
 * @param args The flags, as `--name value` or `--name=value`.
 * @returns 0 when the token (or the help) was printed, 1 when it could not be made, 2 for bad flags.
 */
export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    await writeStdout(TOKEN_HELP);
    return 0;
  }
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const key = FLAGS[flag];
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (!key) return await usage(`unknown flag '${flag}'`);
    if (value === undefined || value.startsWith("--")) {
      return await usage(`flag '${flag}' needs a value`);
    }
    if (key in values) return await usage(`flag '${flag}' is given twice`);
    values[key] = value;
  }
  for (const required of ["userId", "region"]) {
    if (!(required in values)) {
      return await usage(`flag '--${required === "userId" ? "user-id" : "region"}' is required`);
    }
  }
  const expiresIn = values.expiresIn === undefined ? undefined : Number(values.expiresIn);
  const { expiresIn: _, ...target } = values;
  try {
    const token = await createAuthToken({
      ...(target as unknown as TokenTargetOptions),
      ...(expiresIn === undefined ? {} : { expiresIn }),
      credentials: defaultCredentials(),
    });
    await writeStdout(`${token}\n`);
    return 0;
  } catch (error) {
    await writeStderr(`Error: ${messageOf(error)}\n`);
    return 1;
  }
}

async function usage(problem: string): Promise<number> {
  await writeStderr(`Error: ${problem}\n\n${USAGE}`);
  return 2;
}
