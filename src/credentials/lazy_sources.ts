/**
 * The credential sources that read files or metadata endpoints, as the main
 * entry point exports them: each loads its code on the provider's first
 * call, so importing the module costs nothing for programs that never use
 * them (about 5 ms of Deno's import of `mod.ts` if loaded at once), and a
 * Worker never loads them. Their options are checked on that first call,
 * before any file is read or request sent.
 *
 * @module
 */

import type { FromContainerMetadataOptions } from "./container.ts";
import type { FromInstanceMetadataOptions } from "./instance_metadata.ts";
import type { FromProcessOptions } from "./process.ts";
import type { FromProfileOptions } from "./profile.ts";
import type { FromSsoOptions } from "./sso.ts";
import type { AwsCredentialsProvider } from "./types.ts";
import { named } from "./source_name.ts";

/** A provider with the progress hook the `token` command shows. */
type Provider = AwsCredentialsProvider & { waitingFor?: () => Promise<string | undefined> };

/** A provider made by `make` on its first call; a failure to make it is tried again next call. */
function lazy(make: () => Promise<Provider>, source: string): Provider {
  let made: Promise<Provider> | undefined;
  const get = () =>
    made ??= make().catch((error) => {
      made = undefined;
      throw error;
    });
  return named(
    Object.assign(async () => await (await get())(), {
      waitingFor: async () => await (await get()).waitingFor?.(),
    }),
    source,
  );
}

/**
 * Credentials from a profile of the shared config and credentials files
 * (`AWS_PROFILE`, else `default`; `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`):
 * static keys, `role_arn` with `source_profile` or `credential_source` (this
 * module's signed STS `AssumeRole`), `web_identity_token_file`,
 * `credential_process`, and SSO (`sso_session` or legacy `sso_start_url`,
 * from the token cache `aws sso login` writes). Deno, Node.js and Bun.
 *
 * @param options The profile, the files, the STS endpoint and timing.
 * @returns The provider; temporary credentials are cached until 5 minutes before they expire.
 *
 * @example Static keys of a named profile
 * ```ts
 * import { fromProfile } from "./lazy_sources.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/credentials`, "[app]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n");
 * const credentials = fromProfile({ profile: "app", credentialsFile: `${dir}/credentials`, configFile: `${dir}/config` });
 * console.log((await credentials()).accessKeyId); // "AKIDEXAMPLE"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fromProfile(options?: FromProfileOptions): AwsCredentialsProvider {
  return lazy(async () => (await import("./profile.ts")).fromProfile(options), "profile");
}

/**
 * Credentials of an SSO profile (`sso_session`, or legacy `sso_start_url`):
 * the access token `aws sso login` cached (refreshed near its expiry for an
 * `sso_session`), exchanged with the SSO portal's `GetRoleCredentials`.
 * Deno, Node.js and Bun.
 *
 * @param options The profile and files.
 * @returns The provider.
 *
 * @example
 * ```ts
 * import { fromSso } from "./lazy_sources.ts";
 *
 * const credentials = fromSso({ profile: "my-sso-profile" });
 * console.log(typeof credentials); // "function": nothing is read before its first call
 * ```
 */
export function fromSso(options?: FromSsoOptions): AwsCredentialsProvider {
  return lazy(async () => (await import("./sso.ts")).fromSso(options), "sso");
}

/**
 * Credentials printed by a profile's `credential_process` (JSON `Version` 1),
 * run through the shell as the AWS SDKs do, killed after its timeout. Deno,
 * Node.js and Bun.
 *
 * @param options The profile, files and timeout.
 * @returns The provider.
 *
 * @example
 * ```ts
 * import { fromProcess } from "./lazy_sources.ts";
 *
 * const credentials = fromProcess({ profile: "with-a-process" });
 * console.log(typeof credentials); // "function": the process runs on its first call
 * ```
 */
export function fromProcess(options?: FromProcessOptions): AwsCredentialsProvider {
  return lazy(async () => (await import("./process.ts")).fromProcess(options), "process");
}

/**
 * Container credentials: ECS and Fargate (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`)
 * and EKS Pod Identity (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `…_TOKEN`), with the AWS SDKs'
 * allowed hosts, timeouts and retries.
 *
 * @param options The URIs, token, timing; by default from the variables above.
 * @returns The provider; credentials are cached until 5 minutes before they expire.
 *
 * @example
 * ```ts
 * import { fromContainerMetadata } from "./lazy_sources.ts";
 *
 * const credentials = fromContainerMetadata();
 * console.log(typeof credentials); // "function": the endpoint is called on its first call
 * ```
 */
export function fromContainerMetadata(
  options?: FromContainerMetadataOptions,
): AwsCredentialsProvider {
  return lazy(
    async () => (await import("./container.ts")).fromContainerMetadata(options),
    "container credentials",
  );
}

/**
 * EC2 instance metadata credentials, IMDSv2 only (a session token first),
 * with the AWS SDKs' 1 s timeout; `AWS_EC2_METADATA_DISABLED`,
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT` and `…_ENDPOINT_MODE` are honoured.
 *
 * @param options The endpoint and timing; by default from the variables above.
 * @returns The provider; credentials are cached until 5 minutes before they expire.
 *
 * @example
 * ```ts
 * import { fromInstanceMetadata } from "./lazy_sources.ts";
 *
 * const credentials = fromInstanceMetadata();
 * console.log(typeof credentials); // "function": the instance is asked on its first call
 * ```
 */
export function fromInstanceMetadata(
  options?: FromInstanceMetadataOptions,
): AwsCredentialsProvider {
  return lazy(
    async () => (await import("./instance_metadata.ts")).fromInstanceMetadata(options),
    "instance metadata",
  );
}
