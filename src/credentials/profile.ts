/**
 * Credentials from a profile of the shared config and credentials files
 * (`~/.aws/config`, `~/.aws/credentials`), resolved as the AWS SDK for
 * JavaScript's `fromIni` and the AWS CLI resolve it: static keys; a
 * `role_arn` assumed with the credentials of a `source_profile` (a chain of
 * profiles, cycles refused) or of a `credential_source` (`Environment`,
 * `EcsContainer`, `Ec2InstanceMetadata`); a `web_identity_token_file` with
 * its `role_arn`; a `credential_process`; an SSO profile (`sso_session`, or
 * legacy `sso_start_url`).
 *
 * Only what the profile needs is loaded: the STS `AssumeRole` call
 * (`sts_assume_role.ts`), SSO (`sso.ts`), the process runner
 * (`process.ts`), web identity, container and instance metadata sources
 * are imported on first use.
 *
 * @module
 */

import {
  describe,
  MAX_TIMER_MS,
  optionalEnv,
  optionalFunction,
  optionsObject,
  timeoutOption,
  timersOption,
} from "../_checks.ts";
import type { Timers } from "../client/timers.ts";
import { CredentialsError } from "../errors.ts";
import { REGION_PATTERN } from "../token.ts";
import { senderFor } from "./_http.ts";
import { cacheCredentials } from "./cache.ts";
import { fromEnv, readEnv } from "./env.ts";
import { answerWithin, messageOf } from "./resolve.ts";
import {
  configuredEndpoint,
  describeSso,
  flagOf,
  type IniSection,
  loadSharedConfig,
  profileLabel,
  profileNameOf,
  profileNotFound,
  programOf,
  settingOf,
  type SharedConfig,
  sharedFilesCheck,
  type SharedFilesOptions,
} from "./shared_config.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

/** Options of {@linkcode fromProfile}. All are optional. */
export interface FromProfileOptions extends SharedFilesOptions {
  /**
   * The region whose STS endpoint assumes roles (`role_arn`, `web_identity_token_file`).
   *
   * @default {`AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region`, else `us-east-1`}
   */
  region?: string;
  /**
   * The STS endpoint URL, for a private endpoint or the local emulator.
   *
   * @default {`AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the profile's `services`
   * section's `sts.endpoint_url`, else its `endpoint_url`, else the region's}
   */
  stsEndpoint?: string;
  /**
   * How long one request (to STS, SSO or a metadata endpoint) may take, in
   * milliseconds; STS requests are tried up to 3 times, as in the AWS SDK.
   *
   * @default {3000}
   */
  timeout?: number;
  /**
   * How long a `credential_process` may run, in milliseconds, before it is killed.
   *
   * @default {30000}
   */
  processTimeout?: number;
  /**
   * Asked for the code of the MFA device of a profile with `mfa_serial`
   * (the AWS SDK's `mfaCodeProvider`). Without it, such a profile fails.
   * It must answer within `timeout`.
   */
  mfaCodeProvider?: (mfaSerial: string) => string | Promise<string>;
  /**
   * The clock: when cached credentials are renewed (five minutes before
   * they expire), whether an SSO login has expired, and the time that
   * `AssumeRole` requests are signed with.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The timers that bound the waits.
   *
   * @default {systemTimers}
   */
  timers?: Timers;
  /**
   * The `fetch` that SSO requests are sent with.
   *
   * @default {`node:http(s)` on Node.js, else the runtime's `fetch`}
   */
  fetch?: (input: URL, init: RequestInit) => Promise<Response>;
}

/** What a profile asks for, as the SDK for JavaScript's `resolveProfileData` orders the cases. */
type ProfileKind =
  | "static"
  | "assume-role"
  | "credential-source"
  | "web-identity"
  | "process"
  | "sso";

const CREDENTIAL_SOURCES = ["Environment", "Ec2InstanceMetadata", "EcsContainer"];

/**
 * A credentials provider that reads the profile in use (`options.profile`,
 * else `AWS_PROFILE`, else `default`) from the shared config and credentials
 * files at each call and resolves it as the AWS SDKs do:
 *
 * - `aws_access_key_id` and `aws_secret_access_key` (and `aws_session_token`);
 * - `role_arn` with `source_profile` (whose credentials, themselves from any
 *   of these cases, sign an STS `AssumeRole`; a profile may name itself to
 *   use its own keys; a cycle is refused) or `credential_source`
 *   (`Environment`, `EcsContainer`, `Ec2InstanceMetadata`), with
 *   `role_session_name`, `external_id`, `duration_seconds` and `mfa_serial`;
 * - `web_identity_token_file` with `role_arn` (STS `AssumeRoleWithWebIdentity`);
 * - `credential_process` (see `fromProcess`);
 * - `sso_session` or legacy `sso_start_url` SSO settings (see `fromSso`).
 *
 * STS is this module's own signed call: the regional endpoint of the
 * region (`sts_regional_endpoints = legacy` keeps the global one where the
 * SDKs do), or `AWS_ENDPOINT_URL_STS`. Temporary credentials are cached until
 * five minutes before they expire; static keys are read again at each call.
 * Failures reject with a `CredentialsError` that names the profile (and the
 * `source_profile` chain), never a key or token. The provider also has a
 * `waitingFor()` method, for progress messages
 * (`profile 'dev': STS at https://sts.eu-west-1.amazonaws.com`).
 *
 * @param options Which profile and files, STS settings, bounds, the clock.
 * @returns The provider.
 * @throws {TypeError} When an option has the wrong type, or `region` or `stsEndpoint` is malformed.
 * @throws {RangeError} When `timeout` or `processTimeout` is out of range.
 *
 * @example Static keys of a profile in a credentials file
 * ```ts
 * import { fromProfile } from "./profile.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/credentials`,
 *   "[dev]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = example-secret\n",
 * );
 * const credentials = fromProfile({
 *   profile: "dev",
 *   credentialsFile: `${dir}/credentials`,
 *   configFile: `${dir}/config`,
 * });
 * console.log((await credentials()).accessKeyId); // "AKIDEXAMPLE"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fromProfile(
  options?: FromProfileOptions,
): AwsCredentialsProvider & { waitingFor(): Promise<string> } {
  const action = "Cannot use the AWS profile";
  const given = optionsObject(action, options);
  const env = given.env;
  optionalEnv(action, env);
  optionalFunction(action, "now", given.now);
  optionalFunction(action, "fetch", given.fetch);
  optionalFunction(action, "mfaCodeProvider", given.mfaCodeProvider);
  for (const name of ["profile", "configFile", "credentialsFile"] as const) {
    const value = given[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new TypeError(
        `${action}: '${name}' must be a non-empty string, got ${describe(value)}`,
      );
    }
  }
  if (given.region !== undefined && !REGION_PATTERN.test(String(given.region))) {
    throw new TypeError(
      `${action}: 'region' must be an AWS region such as 'us-east-1', got ${
        describe(given.region)
      }`,
    );
  }
  if (given.stsEndpoint !== undefined && !isHttpUrl(given.stsEndpoint)) {
    throw new TypeError(
      `${action}: 'stsEndpoint' must be an http(s) URL, got ${describe(given.stsEndpoint)}`,
    );
  }
  const timeout = timeoutOption(action, "timeout", given.timeout, 3000);
  const processTimeout = timeoutOption(action, "processTimeout", given.processTimeout, 30_000);
  const timers = timersOption(action, given.timers);
  const now = given.now ?? Date.now;
  let step: string | undefined;

  const resolve = async (): Promise<AwsCredentials> => {
    try {
      const config = await loadSharedConfig(given);
      if (config.profile === undefined) {
        throw new CredentialsError(
          `Cannot get AWS credentials from the shared files: ${profileNotFound(config)}`,
        );
      }
      return await new Resolution(config, given, {
        timeout,
        processTimeout,
        timers,
        now,
        onStep: (what) => step = what,
      }).profile(config.profileName, [config.profileName]);
    } finally {
      step = undefined;
    }
  };
  const provider = cacheCredentials(resolve, {
    // A chain may hold several STS calls (3 attempts each, with pauses), a process or SSO.
    timeoutMs: Math.min(Math.max(8 * timeout + 15_000, processTimeout + 5000), MAX_TIMER_MS),
    timers,
    now,
  });
  const waitingFor = () =>
    Promise.resolve(`profile '${profileNameOf(given)}': ${step ?? "the AWS shared files"}`);
  return named(Object.assign(provider, { waitingFor }), "profile");
}

/**
 * Whether the profile in use has credentials settings (static keys,
 * `role_arn`, `web_identity_token_file`, `credential_process`, or
 * `sso_account_id` / `sso_role_name`): the cheap, synchronous check a
 * credentials chain makes before using {@linkcode fromProfile}, as the AWS
 * SDKs' chains go on past a missing profile. It reads the shared files (a
 * few kilobytes) synchronously; on a runtime without files (Workers), or in
 * a Deno process that may not read them, it is never configured. A file
 * that exists but cannot be parsed counts as configured, so that the
 * provider reports it instead of another source being used.
 *
 * @param options Which profile and files, and where to read the variables.
 * @returns Whether it is configured, and what was looked for (or found), without a secret.
 * @throws {CredentialsError} When Deno denies access to the environment.
 *
 * @example
 * ```ts
 * import { profileCredentialsSource } from "./profile.ts";
 *
 * const check = profileCredentialsSource({ env: { HOME: "/home/nobody" } });
 * console.log(check.configured); // false
 * console.log(check.lookedFor);
 * // "the AWS shared files (profile 'default' is in neither /home/nobody/.aws/config (no such file) nor /home/nobody/.aws/credentials (no such file))"
 * ```
 */
export function profileCredentialsSource(options?: SharedFilesOptions): CredentialsSourceCheck {
  return sharedFilesCheck("credentials settings", options, (profile) => describeProfile(profile));
}

/** What a profile's credentials come from, in words, or `undefined` when it has none. */
function describeProfile(profile: IniSection): string | undefined {
  switch (kindOf(profile, true)) {
    case "static":
      return "static keys";
    case "assume-role":
      return `role_arn with ${
        profile["source_profile"] !== undefined
          ? `source_profile '${profile["source_profile"]}'`
          : profile["credential_source"] !== undefined
          ? `credential_source ${profile["credential_source"]}`
          : "no source_profile or credential_source"
      }`;
    case "credential-source":
      return `credential_source ${profile["credential_source"]}`;
    case "web-identity":
      return "web_identity_token_file";
    case "process":
      return `credential_process ${programOf(profile["credential_process"]!)}`;
    case "sso":
      return describeSso(profile);
    default:
      return undefined;
  }
}

/**
 * What a profile asks for. Later hops of a chain prefer static keys over a
 * role, as the AWS CLI does; a `role_arn` beside a `web_identity_token_file`
 * is web identity (botocore's rule).
 */
function kindOf(profile: IniSection, firstHop: boolean): ProfileKind | undefined {
  const hasStatic = profile["aws_access_key_id"] !== undefined ||
    profile["aws_secret_access_key"] !== undefined;
  if (!firstHop && hasStatic) return "static";
  if (profile["role_arn"] !== undefined && profile["web_identity_token_file"] === undefined) {
    return "assume-role";
  }
  if (hasStatic) return "static";
  if (profile["web_identity_token_file"] !== undefined) return "web-identity";
  if (profile["credential_process"] !== undefined) return "process";
  if (describeSso(profile) !== undefined) return "sso";
  if (profile["credential_source"] !== undefined) return "credential-source";
  return undefined;
}

/** The bounds and seams of one resolution. */
interface ResolutionSettings {
  timeout: number;
  processTimeout: number;
  timers: Timers;
  now: () => number;
  onStep: (what: string) => void;
}

/** One call's resolution of a profile (and its `source_profile` chain). */
class Resolution {
  readonly #config: SharedConfig;
  readonly #options: FromProfileOptions;
  readonly #settings: ResolutionSettings;

  constructor(config: SharedConfig, options: FromProfileOptions, settings: ResolutionSettings) {
    this.#config = config;
    this.#options = options;
    this.#settings = settings;
  }

  /** An error about a profile of the chain, named with the chain that led to it. */
  #fail(chain: readonly string[], reason: string, cause?: unknown): CredentialsError {
    const top = profileLabel(this.#config);
    const where = chain.length > 1
      ? `its source_profile '${chain.at(-1)}' (${chain.join(" → ")}) `
      : "";
    return new CredentialsError(
      `Cannot get AWS credentials from ${top}: ${where}${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * Resolves one profile of the chain.
   *
   * @param name The profile.
   * @param chain The profiles from the one in use to this one.
   */
  async profile(name: string, chain: readonly string[]): Promise<AwsCredentials> {
    const profile = this.#config.profiles.get(name)!;
    const kind = kindOf(profile, chain.length === 1);
    switch (kind) {
      case "static":
        return this.#staticKeys(profile, chain);
      case "assume-role":
        return await this.#assumeRole(name, profile, chain);
      case "credential-source":
        return await this.#credentialSource(profile["credential_source"]!, chain);
      case "web-identity":
        return await this.#webIdentity(profile, chain);
      case "process":
        return await this.#process(profile["credential_process"]!, name, chain);
      case "sso":
        return await this.#sso(name, chain);
      default:
        throw this.#fail(
          chain,
          `has no credentials: no aws_access_key_id, role_arn, web_identity_token_file, ` +
            `credential_process or sso_account_id/sso_role_name setting`,
        );
    }
  }

  #staticKeys(profile: IniSection, chain: readonly string[]): AwsCredentials {
    const accessKeyId = profile["aws_access_key_id"];
    const secretAccessKey = profile["aws_secret_access_key"];
    if (!accessKeyId || !secretAccessKey) {
      throw this.#fail(
        chain,
        `has ${accessKeyId ? "aws_access_key_id" : "aws_secret_access_key"} without ${
          accessKeyId ? "aws_secret_access_key" : "aws_access_key_id"
        }`,
      );
    }
    const sessionToken = profile["aws_session_token"];
    const expiration = profile["aws_credential_expiration"] === undefined
      ? undefined
      : new Date(profile["aws_credential_expiration"]);
    return {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
    };
  }

  async #assumeRole(
    name: string,
    profile: IniSection,
    chain: readonly string[],
  ): Promise<AwsCredentials> {
    const roleArn = profile["role_arn"]!;
    const sourceProfile = profile["source_profile"];
    const credentialSource = profile["credential_source"];
    if (sourceProfile !== undefined && credentialSource !== undefined) {
      throw this.#fail(chain, "has both source_profile and credential_source; keep one");
    }
    if (sourceProfile === undefined && credentialSource === undefined) {
      throw this.#fail(chain, "has role_arn without source_profile or credential_source");
    }
    let source: AwsCredentials;
    if (credentialSource !== undefined) {
      source = await this.#credentialSource(credentialSource, chain);
    } else {
      const next = sourceProfile!;
      const sourceSettings = this.#config.profiles.get(next);
      if (sourceSettings === undefined) {
        throw this.#fail(
          chain,
          `names source_profile '${next}', which is in neither ${this.#config.configFile} nor ${this.#config.credentialsFile}`,
        );
      }
      if (chain.includes(next)) {
        // A profile may source its own static keys (botocore); any other return is a cycle.
        if (next !== name || kindOf(sourceSettings, false) !== "static") {
          throw this.#fail(
            chain,
            `makes a source_profile cycle: ${[...chain, next].join(" → ")}`,
          );
        }
        source = this.#staticKeys(sourceSettings, chain);
      } else {
        source = await this.profile(next, [...chain, next]);
      }
    }
    return await this.#assume(roleArn, profile, chain, source);
  }

  async #assume(
    roleArn: string,
    profile: IniSection,
    chain: readonly string[],
    source: AwsCredentials,
  ): Promise<AwsCredentials> {
    const { timeout, timers, now } = this.#settings;
    const durationText = profile["duration_seconds"];
    const duration = durationText === undefined ? undefined : Number(durationText);
    if (
      duration !== undefined &&
      (!Number.isInteger(duration) || duration < 900 || duration > 43_200)
    ) {
      throw this.#fail(
        chain,
        `has duration_seconds ${
          describe(durationText)
        }; it must be a whole number from 900 to 43200`,
      );
    }
    const sessionName = profile["role_session_name"] ?? `elasticache-iam-${now()}`;
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw this.#fail(
        chain,
        `has role_session_name ${
          describe(sessionName)
        }; it must be 2 to 64 letters, digits or any of _+=,.@-`,
      );
    }
    const mfaSerial = profile["mfa_serial"];
    let tokenCode: string | undefined;
    if (mfaSerial !== undefined) {
      const ask = this.#options.mfaCodeProvider;
      if (ask === undefined) {
        throw this.#fail(
          chain,
          "needs an MFA code (mfa_serial), and no 'mfaCodeProvider' option was given",
        );
      }
      try {
        tokenCode = await answerWithin(
          () => ask(mfaSerial),
          Math.min(timeout, MAX_TIMER_MS),
          timers,
          () => new Error(`the 'mfaCodeProvider' callback did not answer within ${timeout} ms`),
        );
      } catch (error) {
        throw this.#fail(chain, `cannot get its MFA code: ${messageOf(error)}`, error);
      }
      if (typeof tokenCode !== "string" || tokenCode === "") {
        throw this.#fail(chain, "cannot get its MFA code: 'mfaCodeProvider' returned no code");
      }
    }
    const sts = await this.#stsSettings(chain);
    this.#settings.onStep(`STS at ${sts.origin}`);
    const { roleAssumer } = await import("./sts_assume_role.ts");
    try {
      const assume = roleAssumer({ ...sts.options, timeout, now });
      return await assume(source, {
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        ExternalId: profile["external_id"],
        DurationSeconds: duration,
        SerialNumber: mfaSerial,
        TokenCode: tokenCode,
      });
    } catch (error) {
      throw this.#fail(chain, `cannot assume role ${roleArn}: ${messageOf(error)}`, error);
    }
  }

  /** Where STS is, from the options, the environment and the profile in use. */
  async #stsSettings(chain: readonly string[]) {
    const config = this.#config;
    const env = this.#options.env;
    const region = this.#options.region ?? readEnv("AWS_REGION", env) ??
      readEnv("AWS_DEFAULT_REGION", env) ?? config.profile?.["region"] ?? "us-east-1";
    if (!REGION_PATTERN.test(region)) {
      throw this.#fail(
        chain,
        `cannot assume its role: the region ${describe(region)} is malformed`,
      );
    }
    const configured = this.#options.stsEndpoint ??
      configuredEndpoint(config, env, "sts")?.url;
    if (configured !== undefined && !isHttpUrl(configured)) {
      throw this.#fail(
        chain,
        `cannot assume its role: the STS endpoint ${describe(configured)} is not an http(s) URL`,
      );
    }
    const regional = settingOf(config, env, "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints");
    if (regional !== undefined && regional !== "legacy" && regional !== "regional") {
      throw this.#fail(
        chain,
        `cannot assume its role: sts_regional_endpoints (or AWS_STS_REGIONAL_ENDPOINTS) must be ` +
          `'legacy' or 'regional', got ${describe(regional)}`,
      );
    }
    const options = configured !== undefined ? { endpoint: configured, region } : {
      region,
      useFipsEndpoint: flagOf(config, env, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
      useDualstackEndpoint: flagOf(
        config,
        env,
        "AWS_USE_DUALSTACK_ENDPOINT",
        "use_dualstack_endpoint",
      ),
      useGlobalEndpoint: regional === "legacy",
    };
    const url = configured ??
      (await import("./sts_web_identity.ts")).stsEndpointFor(region, options);
    return { options, origin: new URL(url).origin };
  }

  async #credentialSource(name: string, chain: readonly string[]): Promise<AwsCredentials> {
    const env = this.#options.env;
    const { now, timers } = this.#settings;
    const common = { ...(env ? { env } : {}), now, timers };
    let provider: AwsCredentialsProvider;
    if (name === "Environment") {
      provider = fromEnv(env ? { env } : {});
    } else if (name === "EcsContainer") {
      this.#settings.onStep("container credentials");
      provider = (await import("./container.ts")).fromContainerMetadata(common);
    } else if (name === "Ec2InstanceMetadata") {
      this.#settings.onStep("EC2 instance metadata");
      provider = (await import("./instance_metadata.ts")).fromInstanceMetadata(common);
    } else {
      throw this.#fail(
        chain,
        `has credential_source ${describe(name)}; it must be one of ${
          CREDENTIAL_SOURCES.join(", ")
        }`,
      );
    }
    try {
      return await provider();
    } catch (error) {
      throw this.#fail(chain, `credential_source ${name}: ${messageOf(error)}`, error);
    }
  }

  async #webIdentity(profile: IniSection, chain: readonly string[]): Promise<AwsCredentials> {
    const env = this.#options.env;
    const sts = await this.#stsSettings(chain);
    const { fromWebIdentity } = await import("./web_identity.ts");
    this.#settings.onStep(`STS at ${sts.origin}`);
    try {
      const provider = fromWebIdentity({
        roleArn: profile["role_arn"]!,
        tokenFile: profile["web_identity_token_file"]!,
        ...(profile["role_session_name"] ? { roleSessionName: profile["role_session_name"] } : {}),
        region: sts.options.region,
        ...("endpoint" in sts.options ? { stsEndpoint: sts.options.endpoint } : {}),
        timeout: this.#settings.timeout,
        now: this.#settings.now,
        timers: this.#settings.timers,
        ...(env ? { env } : {}),
      });
      return await provider();
    } catch (error) {
      throw this.#fail(chain, `web_identity_token_file: ${messageOf(error)}`, error);
    }
  }

  async #process(command: string, name: string, chain: readonly string[]) {
    this.#settings.onStep(`credential_process ${programOf(command)}`);
    const { runCredentialProcess } = await import("./process.ts");
    try {
      return await runCredentialProcess(command, name, {
        timeout: this.#settings.processTimeout,
        now: this.#settings.now,
        timers: this.#settings.timers,
      });
    } catch (error) {
      if (chain.length === 1 && error instanceof CredentialsError) throw error;
      throw this.#fail(chain, `failed: ${messageOf(error)}`, error);
    }
  }

  async #sso(name: string, chain: readonly string[]) {
    this.#settings.onStep("SSO");
    const { ssoCredentials } = await import("./sso.ts");
    try {
      return await ssoCredentials(this.#config, name, {
        env: this.#options.env,
        timeout: this.#settings.timeout,
        now: this.#settings.now,
        timers: this.#settings.timers,
        send: senderFor(this.#options.fetch),
        onStep: (origin) => this.#settings.onStep(`SSO at ${origin}`),
      });
    } catch (error) {
      if (chain.length === 1 && error instanceof CredentialsError) throw error;
      throw this.#fail(chain, `failed: ${messageOf(error)}`, error);
    }
  }
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string" || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "https:" || protocol === "http:";
}
