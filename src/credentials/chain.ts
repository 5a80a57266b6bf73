/**
 * The default credentials chain: environment keys, then web identity.
 *
 * @module
 */
import { optionalEnv, optionsObject } from "../_checks.ts";
import { CredentialsError } from "../errors.ts";
import { type Environment, fromEnv, readEnv } from "./env.ts";
import type { AwsCredentialsProvider } from "./types.ts";
import { fromWebIdentity } from "./web_identity.ts";

/** Options of {@linkcode defaultCredentials}. */
export interface DefaultCredentialsOptions {
  /** Where to read variables, instead of the runtime's environment (Workers pass their bindings). */
  env?: Environment;
}

/**
 * A credentials provider that uses, at each call, the first source that is
 * configured: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and
 * `AWS_SESSION_TOKEN`), as in AWS Lambda; then web identity when
 * `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` are set, as in EKS (IRSA).
 * When neither is, it fails with an error listing what it looked for.
 * The provider also has a `waitingFor()` method, for progress messages: it
 * resolves to what a call waits for now, in words and without a secret
 * (`web identity: STS at https://sts.us-east-1.amazonaws.com`), or undefined
 * when no source is configured.
 *
 * @param options Where to read the variables.
 * @returns The provider.
 * @throws {TypeError} When `options` or `env` is not an object.
 *
 * @example
 * ```ts
 * import { defaultCredentials } from "./chain.ts";
 *
 * const provider = defaultCredentials({ env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" } });
 * console.log((await provider()).accessKeyId); // "AKIDEXAMPLE"
 * ```
 */
export function defaultCredentials(options?: DefaultCredentialsOptions): AwsCredentialsProvider {
  const env = optionsObject("Cannot find AWS credentials", options).env;
  optionalEnv("Cannot find AWS credentials", env);
  const fromEnvironment = fromEnv(env ? { env } : {});
  let webIdentity: AwsCredentialsProvider | undefined;
  /** The source a call uses now: the first one configured. */
  const source = (): AwsCredentialsProvider | undefined => {
    if (readEnv("AWS_ACCESS_KEY_ID", env) && readEnv("AWS_SECRET_ACCESS_KEY", env)) {
      return fromEnvironment;
    }
    if (readEnv("AWS_ROLE_ARN", env) && readEnv("AWS_WEB_IDENTITY_TOKEN_FILE", env)) {
      return webIdentity ??= fromWebIdentity(env ? { env } : {});
    }
    return undefined;
  };
  const provider = () => {
    const configured = source();
    if (configured) return configured();
    return Promise.reject(
      new CredentialsError(
        "Cannot find AWS credentials: tried the environment (AWS_ACCESS_KEY_ID and " +
          "AWS_SECRET_ACCESS_KEY are not both set) and web identity (AWS_ROLE_ARN and " +
          "AWS_WEB_IDENTITY_TOKEN_FILE are not both set); set one of them, or pass credentials " +
          "or an AWS SDK credential provider explicitly",
      ),
    );
  };
  // What a call waits for, in words and without a secret, for progress messages (the CLI's).
  const waitingFor = async (): Promise<string | undefined> => {
    const configured = source();
    if (configured === fromEnvironment) return "environment variables";
    return await (configured as WaitingFor | undefined)?.waitingFor?.();
  };
  return Object.assign(provider, { waitingFor });
}

/** A provider that can say what its calls wait for (see {@linkcode fromWebIdentity}). */
type WaitingFor = { waitingFor?: () => Promise<string | undefined> };
