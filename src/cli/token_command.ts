/**
 * The `token` command: prints one IAM auth token and a newline on stdout, and
 * nothing else, so that it can be captured (`REDISCLI_AUTH=$(… token …)`).
 * What goes wrong is one `Error: …` line on stderr, in the terms the user
 * typed: flag names, never `createAuthToken`'s option names. When the AWS
 * credentials take more than a second, one line on stderr says what the
 * command waits for; the wait is bounded by `createAuthToken`'s.
 *
 * @module
 */
// The version comes from deno.json itself: Deno and JSR load it as a JSON module (the package
// publishes deno.json), and bundlers such as esbuild inline it.
import config from "../../deno.json" with { type: "json" };
import { describe } from "../_checks.ts";
import { defaultCredentials } from "../credentials/chain.ts";
import { readEnv } from "../credentials/env.ts";
import { DEFAULT_CREDENTIALS_TIMEOUT, messageOf } from "../credentials/resolve.ts";
import type { AwsCredentialsProvider } from "../credentials/types.ts";
import {
  CACHE_NAME_PATTERN,
  createAuthToken,
  MAX_TOKEN_LIFETIME_SECONDS,
  normalizeExpiresIn,
  normalizeTarget,
  type TokenTargetOptions,
} from "../token.ts";
import { TOKEN_HELP, USAGE, wantsHelp, writeStderr, writeStdout } from "./io.ts";

/** Each flag and the `createAuthToken` option it sets. */
const FLAGS = {
  "--replication-group-id": "replicationGroupId",
  "--serverless-cache-name": "serverlessCacheName",
  "--memorydb-cluster-name": "memoryDbClusterName",
  "--user-id": "userId",
  "--region": "region",
  "--expires-in": "expiresIn",
} as const;
type Flag = keyof typeof FLAGS;
type Option = typeof FLAGS[Flag];

const CACHE_FLAGS = [
  "--replication-group-id",
  "--serverless-cache-name",
  "--memorydb-cluster-name",
] as const;

/** How long the credentials may take before the command says what it waits for. */
const WAIT_NOTICE_MS = 1000;

/**
 * Runs `token` with its flags (AWS's `generate_iam_auth_token` names where they overlap).
 *
 * `--help` prints its help, `--version` the package's name and version.
 *
 * @param args The flags, as `--name value` or `--name=value`.
 * @returns 0 when the token (or the help) was printed, 1 when it could not be made, 2 for bad flags.
 */
export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    await writeStdout(TOKEN_HELP);
    return 0;
  }
  if (args.includes("--version")) {
    await writeStdout(`${config.name} ${config.version}\n`);
    return 0;
  }
  const values: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (!Object.hasOwn(FLAGS, flag)) return await usage(`unknown flag '${flag}'`);
    if (value === undefined || value.startsWith("--")) {
      return await usage(`flag '${flag}' needs a value`);
    }
    if (values[flag as Flag] !== undefined) return await usage(`flag '${flag}' is given twice`);
    values[flag as Flag] = value;
  }
  const cacheFlags = CACHE_FLAGS.filter((flag) => values[flag] !== undefined);
  if (cacheFlags.length !== 1) {
    return await usage(
      cacheFlags.length === 0
        ? `give one of the flags '--replication-group-id', '--serverless-cache-name' or ` +
          `'--memorydb-cluster-name'`
        : `flags '${cacheFlags.join("' and '")}' cannot be given together: give one cache`,
    );
  }
  if (values["--user-id"] === undefined) return await usage("flag '--user-id' is required");

  try {
    const region = regionOf(values["--region"]);
    if (region === undefined) {
      return await usage(
        "flag '--region' is required when neither AWS_REGION nor AWS_DEFAULT_REGION is set",
      );
    }
    const cacheFlag = cacheFlags[0]!;
    const cacheName = values[cacheFlag]!;
    const target = {
      [FLAGS[cacheFlag]]: cacheName,
      userId: values["--user-id"],
      region: region.value,
    } as TokenTargetOptions;
    // createAuthToken's own checks, run first so that their messages can name the flags.
    try {
      normalizeTarget(target);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      const hint = CACHE_NAME_PATTERN.test(cacheName.toLowerCase()) ? "" : endpointHint(cacheName);
      return await fail(`${inFlagTerms(error.message, region.from)}${hint}`);
    }
    const expiresIn = expiresInOf(values["--expires-in"]);
    if (typeof expiresIn === "string") return await fail(expiresIn);
    return await printToken({ ...target, ...(expiresIn === undefined ? {} : { expiresIn }) });
  } catch (error) {
    return await fail(messageOf(error));
  }
}

/** The region, from `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, and where it came from. */
function regionOf(flag: string | undefined): { value: string; from: string } | undefined {
  if (flag !== undefined) return { value: flag, from: "'--region'" };
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const value = readEnv(name);
    if (value !== undefined) return { value, from: name };
  }
  return undefined;
}

/** A createAuthToken message about an option, with the flag (or variable) in its place. */
function inFlagTerms(message: string, regionFrom: string): string {
  return message.replace(
    /'(replicationGroupId|serverlessCacheName|memoryDbClusterName|userId|region)'/g,
    (_, option: Option) =>
      option === "region"
        ? regionFrom
        : `'${Object.keys(FLAGS).find((flag) => FLAGS[flag as Flag] === option)}'`,
  );
}

/** `--expires-in` as seconds (a number, or one with an `s` or `m` suffix), or the message explaining why not. */
function expiresInOf(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,9})([sm]?)$/.exec(text);
  const seconds = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : undefined;
  try {
    if (seconds !== undefined) return normalizeExpiresIn(seconds);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  return `Cannot sign token: '--expires-in' must be 1 to ${MAX_TOKEN_LIFETIME_SECONDS} seconds, ` +
    `as a whole number with an optional s or m suffix (such as 900, 900s or 15m), got ${
      describe(text)
    }${seconds !== undefined && match![2] === "m" ? ` (${seconds} seconds)` : ""}`;
}

/**
 * ElastiCache and MemoryDB endpoint host names that carry a cache's name, as
 * AWS's "Finding connection endpoints" pages show them (`.amazonaws.com.cn` in China):
 *
 * - a replication group with in-transit encryption (which IAM needs):
 *   `master.`, `replica.` or `clustercfg.<rg>.<id>.<region code>.cache.amazonaws.com`,
 *   and its nodes `<rg>-0001-001.<rg>.<id>.<region code>.cache.amazonaws.com`;
 * - a serverless cache: `<name>-<id>.serverless.<region code>.cache.amazonaws.com`;
 * - a MemoryDB cluster: `clustercfg.<cluster>.<id>.memorydb.<region>.amazonaws.com`,
 *   and its nodes `<cluster>-0001-001.<cluster>.<id>.memorydb.<region>.amazonaws.com`.
 */
const SERVERLESS_ENDPOINT =
  /^([a-z0-9-]+)-[a-z0-9]+\.serverless\.[a-z0-9]+\.cache\.amazonaws\.com(\.cn)?$/;
const REPLICATION_GROUP_ENDPOINT =
  /^([a-z0-9-]+)\.([a-z0-9-]+)\.[a-z0-9]+\.[a-z0-9]+\.cache\.amazonaws\.com(\.cn)?$/;
const MEMORYDB_ENDPOINT =
  /^([a-z0-9-]+)\.([a-z0-9-]+)\.[a-z0-9]+\.memorydb\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** When `value` is an endpoint host name (or a URL or `host:port` of one), which flag and name to give instead. */
function endpointHint(value: string): string {
  const text = value.trim().toLowerCase();
  // Only the host name is kept: a user or password in a URL is never shown.
  const host = text.includes("://")
    ? (URL.canParse(text) ? new URL(text).hostname : "")
    : text.replace(/:\d+$/, "").replace(/\.$/, "");
  const hint = (what: string, flag: Flag, name: string | undefined) =>
    name !== undefined && CACHE_NAME_PATTERN.test(name)
      ? `; it looks like an endpoint of ${what} '${name}': give ${flag} ${name}`
      : "";
  /** The cache's name in a `<first label>.<name>.…` host: after a known prefix or in a node's name. */
  const nameAfter = (match: RegExpExecArray | null, prefixes: string[]) => {
    const [, first, name] = match ?? [];
    return first !== undefined && (prefixes.includes(first) || first.startsWith(`${name}-`))
      ? name
      : undefined;
  };
  const serverless = SERVERLESS_ENDPOINT.exec(host)?.[1];
  if (serverless !== undefined) {
    return hint("the serverless cache", "--serverless-cache-name", serverless);
  }
  const group = nameAfter(REPLICATION_GROUP_ENDPOINT.exec(host), [
    "master",
    "replica",
    "clustercfg",
  ]);
  if (group !== undefined) return hint("the replication group", "--replication-group-id", group);
  const cluster = nameAfter(MEMORYDB_ENDPOINT.exec(host), ["clustercfg"]);
  return hint("the MemoryDB cluster", "--memorydb-cluster-name", cluster);
}

/** Signs and prints the token, saying on stderr what it waits for when the credentials are slow. */
async function printToken(target: TokenTargetOptions & { expiresIn?: number }): Promise<number> {
  const provider: AwsCredentialsProvider & { waitingFor?: () => Promise<string | undefined> } =
    defaultCredentials();
  let waiting = false;
  let notice: Promise<void> = Promise.resolve();
  const credentials = () => {
    const call = provider();
    waiting = true;
    const timer = setTimeout(() => {
      notice = describeWait(provider).then((what) =>
        writeStderr(`Waiting for AWS credentials${what ? ` (${what})` : ""}…\n`)
      );
    }, WAIT_NOTICE_MS);
    const done = () => {
      waiting = false;
      clearTimeout(timer);
    };
    call.then(done, done);
    return call;
  };
  try {
    const token = await createAuthToken({
      ...target,
      credentials,
      credentialsTimeout: DEFAULT_CREDENTIALS_TIMEOUT,
    });
    await notice;
    await writeStdout(`${token}\n`);
    return 0;
  } catch (error) {
    await notice;
    if (!waiting) throw error;
    const what = await describeWait(provider);
    return await fail(
      `Cannot resolve AWS credentials: gave up after ${DEFAULT_CREDENTIALS_TIMEOUT / 1000} ` +
        `seconds waiting for ${what ?? "the credentials provider"}`,
    );
  }
}

/** What the credentials provider waits for, in words without a secret (see `defaultCredentials`). */
async function describeWait(
  provider: { waitingFor?: () => Promise<string | undefined> },
): Promise<string | undefined> {
  try {
    return await provider.waitingFor?.();
  } catch {
    return undefined;
  }
}

async function fail(problem: string): Promise<number> {
  await writeStderr(`Error: ${problem}\n`);
  return 1;
}

async function usage(problem: string): Promise<number> {
  await writeStderr(`Error: ${problem}\n\n${USAGE}`);
  return 2;
}
