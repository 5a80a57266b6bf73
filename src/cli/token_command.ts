/**
 * The `token` command: prints one IAM auth token and a newline on stdout, and
 * nothing else, so that it can be captured (`REDISCLI_AUTH=$(… token …)`).
 * What goes wrong is one `Error: …` line on stderr, in the terms the user
 * typed: flag names, never `createAuthToken`'s option names. The cache is given
 * by name (and region), or by `--endpoint` (a host name or `rediss://` URL,
 * read by `endpoint.ts`). When the AWS credentials take more than a second,
 * one line on stderr says what the command waits for; the wait is bounded by
 * `createAuthToken`'s.
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
import { regionFromProfile } from "../credentials/shared_config.ts";
import type { AwsCredentialsProvider } from "../credentials/types.ts";
import { type CacheKind, parseEndpoint } from "../endpoint.ts";
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
  "--endpoint": "endpoint",
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
  const endpoint = values["--endpoint"];
  if (cacheFlags.length > 1) {
    return await usage(
      `flags '${cacheFlags.join("' and '")}' cannot be given together: give one cache`,
    );
  }
  if (cacheFlags.length === 0 && endpoint === undefined) {
    return await usage(
      `give '--endpoint', or one of the flags '--replication-group-id', ` +
        `'--serverless-cache-name' or '--memorydb-cluster-name'`,
    );
  }
  // Without an endpoint (whose URL may name the user), the user id is a flag to give.
  if (values["--user-id"] === undefined && endpoint === undefined) {
    return await usage("flag '--user-id' is required");
  }

  try {
    // createAuthToken reads the region from the variables, then the profile; say so early.
    const region = values["--region"];
    if (
      region === undefined && endpoint === undefined && !regionInEnvironment() &&
      profileRegion() === undefined
    ) {
      return await usage(
        "flag '--region' is required when neither AWS_REGION nor AWS_DEFAULT_REGION is set, " +
          "nor a region in the AWS profile",
      );
    }
    const cacheFlag = cacheFlags[0];
    const target = {
      ...(cacheFlag === undefined ? {} : { [FLAGS[cacheFlag]]: values[cacheFlag] }),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(values["--user-id"] === undefined ? {} : { userId: values["--user-id"] }),
      ...(region === undefined ? {} : { region }),
    } as TokenTargetOptions;
    // createAuthToken's own checks (the region falls back to the endpoint's, then the
    // environment's), run first so that their messages can name the flags.
    try {
      normalizeTarget(target);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      const cacheName = cacheFlag === undefined ? undefined : values[cacheFlag]!;
      const hint = cacheName === undefined || CACHE_NAME_PATTERN.test(cacheName.toLowerCase())
        ? ""
        : endpointHint(cacheName);
      return await fail(`${inFlagTerms(error.message)}${hint}`);
    }
    const expiresIn = expiresInOf(values["--expires-in"]);
    if (typeof expiresIn === "string") return await fail(expiresIn);
    return await printToken({ ...target, ...(expiresIn === undefined ? {} : { expiresIn }) });
  } catch (error) {
    return await fail(messageOf(error));
  }
}

/**
 * The `region` of the AWS profile (`AWS_PROFILE`, else `default`), as the AWS
 * CLI reads it after the variables; none when the files cannot be read (the
 * credentials step reports a broken file).
 */
function profileRegion(): string | undefined {
  try {
    return regionFromProfile();
  } catch {
    return undefined;
  }
}

/** Whether AWS_REGION or AWS_DEFAULT_REGION is set, where `createAuthToken` reads the region by default. */
function regionInEnvironment(): boolean {
  return readEnv("AWS_REGION") !== undefined || readEnv("AWS_DEFAULT_REGION") !== undefined;
}

/** A createAuthToken message about an option, with the flag in its place (variables stay as named). */
function inFlagTerms(message: string): string {
  return message.replace(
    /'(endpoint|replicationGroupId|serverlessCacheName|memoryDbClusterName|userId|region)'/g,
    (_, option: Option) => `'${Object.keys(FLAGS).find((flag) => FLAGS[flag as Flag] === option)}'`,
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

/** How the hint names each kind of cache, and the flag that takes its name. */
const KINDS: Readonly<Record<CacheKind, readonly [what: string, flag: Flag]>> = {
  replicationGroupId: ["the replication group", "--replication-group-id"],
  serverlessCacheName: ["the serverless cache", "--serverless-cache-name"],
  memoryDbClusterName: ["the MemoryDB cluster", "--memorydb-cluster-name"],
};

/**
 * When `value` is an ElastiCache or MemoryDB endpoint (a host name, `host:port`
 * or URL: see `endpoint.ts` for the shapes), which flag and name to give
 * instead. Only the cache's name is shown: never a user or password of a URL.
 */
function endpointHint(value: string): string {
  let cache;
  try {
    cache = parseEndpoint(value).cache;
  } catch {
    return "";
  }
  if (cache === undefined) return "";
  const [what, flag] = KINDS[cache.kind];
  return `; it looks like an endpoint of ${what} '${cache.cacheName}': give ${flag} ${cache.cacheName}`;
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
