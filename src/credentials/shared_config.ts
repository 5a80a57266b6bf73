/**
 * The shared config and credentials files (`~/.aws/config`,
 * `~/.aws/credentials`), read as the AWS SDKs and the AWS CLI read them:
 * `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` move them (a leading
 * `~/` is the home directory), `AWS_PROFILE` picks the profile (`default`
 * otherwise). In the config file a profile is `[profile NAME]` (or
 * `[default]`), with `[sso-session NAME]` and `[services NAME]` sections
 * beside; in the credentials file a section's name is the profile's. A
 * profile in both files is merged, the credentials file's settings winning,
 * key by key (`@smithy/shared-ini-file-loader`'s `mergeConfigFiles`, and
 * botocore's session).
 *
 * The syntax is the SDK for JavaScript's `parseIni`: `key = value` lines,
 * comments from `#` or `;` at a line's start or after a space, and indented
 * `key = value` lines under a `key =` line forming a sub-section
 * (`s3 =` / `  max_concurrent_requests = 20` is `s3.max_concurrent_requests`).
 * Where that parser skips a line silently, this one refuses the file as
 * botocore's (Python's `configparser`) does: a setting before any section,
 * a line that is neither a section header nor a setting. Setting names are
 * lowercased, as botocore does. An indented line without `=` continues the
 * previous value, as in `configparser`. Messages name the file and line,
 * never a line's text (it may hold a secret key).
 *
 * @module
 */

import { describe } from "../_checks.ts";
import { CredentialsError } from "../errors.ts";
import { canReadFiles, homeDirectory, readTextFile, readTextFileSync } from "./_files.ts";
import { type Environment, readEnv } from "./env.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";

/** Where the shared files are and which profile to read. */
export interface SharedFilesOptions {
  /**
   * The profile.
   *
   * @default {the `AWS_PROFILE` variable, else `default`}
   */
  profile?: string;
  /**
   * The shared config file (a leading `~/` is the home directory).
   *
   * @default {the `AWS_CONFIG_FILE` variable, else `~/.aws/config`}
   */
  configFile?: string;
  /**
   * The shared credentials file (a leading `~/` is the home directory).
   *
   * @default {the `AWS_SHARED_CREDENTIALS_FILE` variable, else `~/.aws/credentials`}
   */
  credentialsFile?: string;
  /**
   * Where to read the variables (`AWS_PROFILE`, `AWS_CONFIG_FILE`, `HOME`, …),
   * instead of the runtime's environment.
   */
  env?: Environment;
}

/** A section's settings: lowercased names to values (sub-section settings as `parent.name`). */
export type IniSection = Readonly<Record<string, string>>;

/** The two files, read and merged. */
export interface SharedConfig {
  /** The profile asked for. */
  readonly profileName: string;
  /** Where its name came from, for messages. */
  readonly profileFrom: "the 'profile' option" | "AWS_PROFILE" | "the default";
  /** The config file's path, `~/` expanded. */
  readonly configFile: string;
  /** The credentials file's path, `~/` expanded. */
  readonly credentialsFile: string;
  /** Whether each file exists. */
  readonly found: { readonly config: boolean; readonly credentials: boolean };
  /** Every profile of both files, merged (the credentials file winning). */
  readonly profiles: ReadonlyMap<string, IniSection>;
  /** Which files each profile is in, for messages. */
  readonly profileFiles: ReadonlyMap<string, readonly string[]>;
  /** The config file's `[sso-session NAME]` sections. */
  readonly ssoSessions: ReadonlyMap<string, IniSection>;
  /** The config file's `[services NAME]` sections. */
  readonly services: ReadonlyMap<string, IniSection>;
  /** The settings of the profile asked for, or `undefined` when neither file has it. */
  readonly profile: IniSection | undefined;
}

/** Section names with a kind: `[profile dev]`, `[sso-session corp]` (the SDK's `prefixKeyRegex`). */
const PREFIXED = /^([\w-]+)\s+(["'])?([\w\-@+.%:/]+)\2$/;

/**
 * Parses one file into its sections.
 *
 * @param text The file's text.
 * @param path The file's path, for messages.
 * @returns Each section's settings, by section name as written (trimmed).
 * @throws {CredentialsError} When a line is neither a section header, a setting, a comment nor a continuation.
 */
export function parseIni(text: string, path: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let section: Record<string, string> | undefined;
  let subSection: string | undefined;
  let lastKey: string | undefined;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const bad = (what: string) =>
      new CredentialsError(
        `Cannot read the AWS shared file ${path}: line ${index + 1} ${what}`,
      );
    const content = line.split(/(?:^|\s)[;#]/)[0]!.trim();
    if (content === "") continue;
    const indented = /^\s/.test(line);
    if (content.startsWith("[")) {
      if (!content.endsWith("]")) throw bad("opens a section header it does not close");
      const name = content.slice(1, -1).trim();
      if (name === "") throw bad("is a section header without a name");
      section = sections.get(name) ?? Object.create(null) as Record<string, string>;
      sections.set(name, section);
      subSection = undefined;
      lastKey = undefined;
      continue;
    }
    const equals = content.indexOf("=");
    if (equals <= 0) {
      if (indented && section !== undefined && lastKey !== undefined && subSection === undefined) {
        // configparser's continuation line: part of the previous value.
        section[lastKey] = `${section[lastKey]}\n${content}`;
        continue;
      }
      throw bad(
        equals === 0
          ? "is a setting without a name"
          : "is neither a [section] header nor a 'name = value' setting",
      );
    }
    if (section === undefined) throw bad("is a setting before any [section] header");
    const name = content.slice(0, equals).trim().toLowerCase();
    const value = content.slice(equals + 1).trim();
    if (value === "") {
      subSection = name;
      lastKey = undefined;
      continue;
    }
    if (subSection !== undefined && !indented) subSection = undefined;
    const key = subSection === undefined ? name : `${subSection}.${name}`;
    section[key] = value;
    lastKey = key;
  }
  return sections;
}

/** The cause of the error when no home directory is known: the chain takes it as "no files". */
const NO_HOME = new Error("no home directory is known");

/** Which files to read and which profile, from the options and the environment. */
function locate(options: SharedFilesOptions) {
  const env = options.env;
  const home = () => {
    const dir = homeDirectory(env);
    if (dir === undefined) {
      throw new CredentialsError(
        "Cannot find the AWS shared files: no home directory is known (HOME is not set); " +
          "set AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE",
        { cause: NO_HOME },
      );
    }
    return dir.replace(/[\\/]+$/, "");
  };
  const expand = (path: string) => path.startsWith("~/") ? `${home()}/${path.slice(2)}` : path;
  const configFile = expand(
    options.configFile ?? readEnv("AWS_CONFIG_FILE", env) ?? "~/.aws/config",
  );
  const credentialsFile = expand(
    options.credentialsFile ?? readEnv("AWS_SHARED_CREDENTIALS_FILE", env) ??
      "~/.aws/credentials",
  );
  const fromEnv = options.profile === undefined ? readEnv("AWS_PROFILE", env) : undefined;
  const profileName = profileNameOf(options);
  const profileFrom = options.profile !== undefined
    ? "the 'profile' option" as const
    : fromEnv !== undefined
    ? "AWS_PROFILE" as const
    : "the default" as const;
  return { configFile, credentialsFile, profileName, profileFrom };
}

/**
 * The profile in use: the `profile` option, else `AWS_PROFILE`, else `default`.
 *
 * @param options The options.
 * @returns The profile's name.
 * @throws {CredentialsError} When Deno denies access to the environment.
 */
export function profileNameOf(options: SharedFilesOptions = {}): string {
  return options.profile ?? readEnv("AWS_PROFILE", options.env) ?? "default";
}

/** Sorts a parsed config file's sections by kind, and merges the credentials file's profiles in. */
function assemble(
  where: ReturnType<typeof locate>,
  configText: string | undefined,
  credentialsText: string | undefined,
): SharedConfig {
  const profiles = new Map<string, Record<string, string>>();
  const profileFiles = new Map<string, string[]>();
  const ssoSessions = new Map<string, IniSection>();
  const services = new Map<string, IniSection>();
  const addProfile = (name: string, values: Record<string, string>, path: string) => {
    profiles.set(name, Object.assign(Object.create(null), profiles.get(name), values));
    const files = profileFiles.get(name) ?? [];
    if (!files.includes(path)) files.push(path);
    profileFiles.set(name, files);
  };
  if (configText !== undefined) {
    const sections = parseIni(configText, where.configFile);
    // `[default]` first: `[profile default]`, when both are there, replaces it (as the JS SDK does).
    const plainDefault = sections.get("default");
    if (plainDefault !== undefined) addProfile("default", plainDefault, where.configFile);
    for (const [name, values] of sections) {
      const match = PREFIXED.exec(name);
      if (match === null) continue; // not a profile: `[preview]`, `[plugins]`
      const [, kind, , id] = match as unknown as [string, string, string, string];
      if (kind === "profile") {
        if (id === "default") profiles.delete("default");
        addProfile(id, values, where.configFile);
      } else if (kind === "sso-session") ssoSessions.set(id, values);
      else if (kind === "services") services.set(id, values);
    }
  }
  if (credentialsText !== undefined) {
    for (const [name, values] of parseIni(credentialsText, where.credentialsFile)) {
      addProfile(name, values, where.credentialsFile);
    }
  }
  return {
    ...where,
    found: { config: configText !== undefined, credentials: credentialsText !== undefined },
    profiles,
    profileFiles,
    ssoSessions,
    services,
    profile: profiles.get(where.profileName),
  };
}

/**
 * Reads and merges the shared config and credentials files.
 *
 * @param options Which files and profile.
 * @returns The files' profiles, SSO sessions and services; a missing file is an empty one.
 * @throws {CredentialsError} When a file cannot be read or parsed, no home directory is known,
 * or the runtime has no files (Workers).
 *
 * @example
 * ```ts
 * import { loadSharedConfig } from "./shared_config.ts";
 *
 * const config = await loadSharedConfig({ env: { HOME: "/nonexistent" } });
 * console.log(config.profileName, config.found.config, config.profile); // "default" false undefined
 * ```
 */
export async function loadSharedConfig(options: SharedFilesOptions = {}): Promise<SharedConfig> {
  noFilesHere();
  const where = locate(options);
  const [configText, credentialsText] = await Promise.all([
    readTextFile(where.configFile),
    readTextFile(where.credentialsFile),
  ]);
  return assemble(where, configText, credentialsText);
}

/**
 * Reads and merges the shared files synchronously: for the cheap
 * "is it configured here?" checks and the region fallback, which cannot wait.
 * The files are a few kilobytes.
 *
 * @param options Which files and profile.
 * @returns As {@linkcode loadSharedConfig}.
 * @throws {CredentialsError} As {@linkcode loadSharedConfig}.
 */
export function loadSharedConfigSync(options: SharedFilesOptions = {}): SharedConfig {
  noFilesHere();
  const where = locate(options);
  return assemble(
    where,
    readTextFileSync(where.configFile),
    readTextFileSync(where.credentialsFile),
  );
}

/** Refuses to read the shared files on a runtime without files (Workers), saying so. */
function noFilesHere(): void {
  if (!canReadFiles()) {
    throw new CredentialsError(
      "Cannot read the AWS shared files: this runtime has no file system (Workers and browsers " +
        "have none); give credentials another way",
    );
  }
}

/**
 * A setting as the SDKs look it up: the environment variable, else the profile's setting.
 *
 * @param config The files.
 * @param env Where to read the variable.
 * @param variable The variable, such as `AWS_STS_REGIONAL_ENDPOINTS`.
 * @param key The profile setting, such as `sts_regional_endpoints`.
 * @param profileName The profile to read it from.
 * @returns The value, or `undefined`.
 */
export function settingOf(
  config: SharedConfig,
  env: Environment | undefined,
  variable: string | undefined,
  key: string,
  profileName: string = config.profileName,
): string | undefined {
  return (variable === undefined ? undefined : readEnv(variable, env)) ??
    config.profiles.get(profileName)?.[key];
}

/**
 * A `true`/`false` setting (`AWS_USE_FIPS_ENDPOINT`, `use_fips_endpoint`), as the SDKs read it.
 *
 * @param config The files.
 * @param env Where to read the variable.
 * @param variable The variable.
 * @param key The profile setting.
 * @param profileName The profile to read it from.
 * @returns Whether it is `true` (in any case); `false` when unset.
 * @throws {CredentialsError} When it is something else than `true` or `false`.
 */
export function flagOf(
  config: SharedConfig,
  env: Environment | undefined,
  variable: string,
  key: string,
  profileName: string = config.profileName,
): boolean {
  const value = settingOf(config, env, variable, key, profileName);
  if (value === undefined || value.toLowerCase() === "false") return false;
  if (value.toLowerCase() === "true") return true;
  throw new CredentialsError(
    `Cannot read the AWS settings: ${variable} (or ${key}) must be 'true' or 'false', got ${
      describe(value)
    }`,
  );
}

/**
 * The endpoint URL configured for a service, in the order the AWS SDKs
 * document for "service-specific endpoints": `AWS_ENDPOINT_URL_<SERVICE>`,
 * `AWS_ENDPOINT_URL`, the profile's `services` section's `<service>.endpoint_url`,
 * the profile's `endpoint_url`; none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
 * (or the profile's `ignore_configured_endpoint_urls`) is `true`.
 *
 * @param config The files.
 * @param env Where to read the variables.
 * @param service The service's key: `sts`, `sso`, `sso_oidc`.
 * @param profileName The profile whose settings apply.
 * @returns The URL and where it was configured, or `undefined`.
 */
export function configuredEndpoint(
  config: SharedConfig,
  env: Environment | undefined,
  service: string,
  profileName: string = config.profileName,
): { url: string; from: string } | undefined {
  const profile = config.profiles.get(profileName);
  const ignore = settingOf(
    config,
    env,
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "ignore_configured_endpoint_urls",
    profileName,
  );
  if (ignore?.toLowerCase() === "true") return undefined;
  const variable = `AWS_ENDPOINT_URL_${service.toUpperCase()}`;
  const specific = readEnv(variable, env);
  if (specific !== undefined) return { url: specific, from: variable };
  const global = readEnv("AWS_ENDPOINT_URL", env);
  if (global !== undefined) return { url: global, from: "AWS_ENDPOINT_URL" };
  const servicesName = profile?.["services"];
  const section = servicesName === undefined ? undefined : config.services.get(servicesName);
  const fromSection = section?.[`${service}.endpoint_url`];
  if (fromSection !== undefined) {
    return { url: fromSection, from: `[services ${servicesName}] ${service}.endpoint_url` };
  }
  const fromProfile = profile?.["endpoint_url"];
  if (fromProfile !== undefined) {
    return { url: fromProfile, from: `profile '${profileName}' endpoint_url` };
  }
  return undefined;
}

/**
 * The `region` of the AWS profile in use (`AWS_PROFILE`, else `default`) in
 * the shared config and credentials files: the last step of the region
 * lookup the AWS SDKs make after `AWS_REGION` (and, for the CLI,
 * `AWS_DEFAULT_REGION`). Synchronous, for callers that need the region at
 * once (an `IamAuth` being made, the `token` command); the files are a few
 * kilobytes. On Workers, which have no files, it is always `undefined`.
 *
 * @param options Which files and profile, and where to read the variables.
 * @returns The region, or `undefined` when the profile, the files (or a home directory to
 * find them in) or the setting are missing.
 * @throws {CredentialsError} When a file exists but cannot be read or parsed.
 *
 * @example
 * ```ts
 * import { regionFromProfile } from "./shared_config.ts";
 *
 * console.log(regionFromProfile({ env: { HOME: "/nonexistent" } })); // undefined
 * ```
 */
export function regionFromProfile(options: SharedFilesOptions = {}): string | undefined {
  if (!canReadFiles()) return undefined;
  try {
    return loadSharedConfigSync(options).profile?.["region"];
  } catch (error) {
    // No home directory and no file named: no files, so no profile.
    if (error instanceof CredentialsError && error.cause === NO_HOME) return undefined;
    throw error;
  }
}

/**
 * Where the profile was looked for, for messages: "profile 'dev' (AWS_PROFILE)
 * is in neither ~/.aws/config nor ~/.aws/credentials".
 *
 * @param config The files.
 * @returns The sentence part.
 */
export function profileNotFound(config: SharedConfig): string {
  const files = [
    `${config.configFile}${config.found.config ? "" : " (no such file)"}`,
    `${config.credentialsFile}${config.found.credentials ? "" : " (no such file)"}`,
  ];
  return `${profileLabel(config)} is in neither ${files[0]} nor ${files[1]}`;
}

/**
 * The profile's name and where it came from: `profile 'dev' (AWS_PROFILE)`.
 *
 * @param config The files.
 * @returns The label.
 */
export function profileLabel(config: SharedConfig): string {
  return `profile '${config.profileName}'${
    config.profileFrom === "the default" ? "" : ` (${config.profileFrom})`
  }`;
}

/**
 * The cheap, synchronous "is it configured here?" check of a source that
 * reads the shared files: the files are read synchronously (a few
 * kilobytes), and the profile in use is asked whether it sets the source
 * up. Not configured: no files on this runtime (Workers), files Deno may not
 * read, no such profile, or a profile without the source's settings.
 * Configured: a profile with them, or a file that cannot be read or parsed
 * (so that the provider reports it rather than another source being used).
 *
 * @param what What the source needs, for messages: `credential_process`, `SSO settings`, `credentials`.
 * @param options Which profile and files, and where to read the variables.
 * @param describeSource Given the profile's settings, says what sets the source up, or `undefined`.
 * @returns Whether it is configured, and what was looked for.
 */
export function sharedFilesCheck(
  what: string,
  options: SharedFilesOptions | undefined,
  describeSource: (profile: IniSection, config: SharedConfig) => string | undefined,
): CredentialsSourceCheck {
  const label = "the AWS shared files";
  if (!canReadFiles()) {
    return { configured: false, lookedFor: `${label} (this runtime has no files)` };
  }
  let config: SharedConfig;
  try {
    config = loadSharedConfigSync(options);
  } catch (error) {
    if (!(error instanceof CredentialsError)) throw error;
    if (error.cause === NO_HOME) {
      // No home directory and no file named: nothing to read, as on a server with no user.
      return { configured: false, lookedFor: `${label} (no home directory, HOME is not set)` };
    }
    if ((error.cause as { name?: unknown } | undefined)?.name === "NotCapable") {
      // Deno may not read the variables (`--allow-env`) or the files (`--allow-read`).
      return {
        configured: false,
        lookedFor: `${label} (${
          error.message.includes("--allow-env")
            ? error.message
            : "this Deno process may not read them: run it with --allow-read"
        })`,
      };
    }
    return { configured: true, lookedFor: `${label} (${error.message})` };
  }
  if (config.profile === undefined) {
    return { configured: false, lookedFor: `${label} (${profileNotFound(config)})` };
  }
  const files = (config.profileFiles.get(config.profileName) ?? []).join(" and ");
  const found = describeSource(config.profile, config);
  return found === undefined
    ? {
      configured: false,
      lookedFor: `${label} (${profileLabel(config)} in ${files} has no ${what})`,
    }
    : { configured: true, lookedFor: `${label} (${profileLabel(config)} in ${files}: ${found})` };
}

/**
 * A `credential_process` program's name, for messages: the command line's
 * first word without its directory (never its arguments, which may hold secrets).
 *
 * @param command The command line.
 * @returns The name, as `describe` shows a value.
 */
export function programOf(command: string): string {
  const first = /^\s*(?:"([^"]*)"|'([^']*)'|(\S+))/.exec(command);
  const path = first?.[1] ?? first?.[2] ?? first?.[3] ?? "";
  return describe(path.split(/[\\/]/).pop() ?? path);
}

/**
 * Whether a profile asks for SSO credentials, and how, in words.
 *
 * @param profile The profile's settings.
 * @returns `sso_session 'corp'` or `legacy SSO (sso_start_url)`, or `undefined`.
 */
export function describeSso(profile: IniSection): string | undefined {
  if (profile["sso_account_id"] === undefined && profile["sso_role_name"] === undefined) {
    return undefined;
  }
  return profile["sso_session"] !== undefined
    ? `SSO with sso_session '${profile["sso_session"]}'`
    : "legacy SSO (sso_start_url)";
}
