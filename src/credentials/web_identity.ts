/**
 * Credentials from a federated web identity: an OIDC JWT exchanged with STS
 * `AssumeRoleWithWebIdentity`, through `@aws-sdk/credential-provider-web-identity`.
 *
 * @module
 */
import { CredentialsError } from "../errors.ts";
import { cacheCredentials } from "./cache.ts";
import { type Environment, readEnv } from "./env.ts";
import { messageOf } from "./resolve.ts";
import type { AwsCredentials, AwsCredentialsProvider } from "./types.ts";

/** Options of {@linkcode fromWebIdentity}. All are optional when the EKS-style variables are set. */
export interface FromWebIdentityOptions {
  /**
   * The role to assume, such as `arn:aws:iam::123456789012:role/app`.
   *
   * @default {the `AWS_ROLE_ARN` variable}
   */
  roleArn?: string;
  /**
   * The OIDC token: a string, or a function returning a fresh one for each
   * exchange (GitHub Actions, Vercel and Deno Deploy hand tokens out that way).
   * Give this or `tokenFile`.
   */
  webIdentityToken?: string | (() => string | Promise<string>);
  /**
   * A file holding the OIDC token, read again for each exchange (EKS IRSA rotates it).
   *
   * @default {the `AWS_WEB_IDENTITY_TOKEN_FILE` variable}
   */
  tokenFile?: string;
  /**
   * The role session name.
   *
   * @default {the `AWS_ROLE_SESSION_NAME` variable, else a generated name}
   */
  roleSessionName?: string;
  /** How long the temporary credentials last, in seconds (900 to the role's maximum). */
  durationSeconds?: number;
  /**
   * The STS region.
   *
   * @default {the `AWS_REGION` variable, else the SDK's default}
   */
  region?: string;
  /**
   * The STS endpoint URL, for a private endpoint or the local emulator.
   *
   * @default {the `AWS_ENDPOINT_URL_STS` variable, else the SDK's default}
   */
  stsEndpoint?: string;
  /**
   * Where to read the variables above, instead of the runtime's environment.
   */
  env?: Environment;
  /**
   * The clock used to decide when cached credentials must be renewed.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * A credentials provider that exchanges an OIDC token for temporary AWS
 * credentials with STS `AssumeRoleWithWebIdentity`. The result is cached until
 * five minutes before it expires; then the token is read or asked for again
 * and exchanged anew. The AWS SDK package behind it is loaded on first use
 * only, so importing this module stays cheap.
 *
 * @param options The role, the token (or its file), and STS settings.
 * @returns The provider.
 * @throws {TypeError} When no role or no token source is given or found in the environment.
 *
 * @example With a token callback, as in GitHub Actions
 * ```ts ignore
 * import { fromWebIdentity } from "./web_identity.ts";
 *
 * const credentials = fromWebIdentity({
 *   roleArn: "arn:aws:iam::123456789012:role/elasticache-iam-auth-app",
 *   webIdentityToken: async () => await getIdToken("sts.amazonaws.com"),
 *   region: "us-east-1",
 * });
 * ```
 */
export function fromWebIdentity(options: FromWebIdentityOptions = {}): AwsCredentialsProvider {
  const env = options.env;
  const roleArn = options.roleArn ?? readEnv("AWS_ROLE_ARN", env);
  const tokenFile = options.webIdentityToken === undefined
    ? options.tokenFile ?? readEnv("AWS_WEB_IDENTITY_TOKEN_FILE", env)
    : undefined;
  const token = options.webIdentityToken;
  if (typeof roleArn !== "string" || !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(roleArn)) {
    throw new TypeError(
      `Cannot use web identity: 'roleArn' (or AWS_ROLE_ARN) must be a role ARN such as ` +
        `'arn:aws:iam::123456789012:role/name', got ${
          roleArn === undefined ? "nothing" : JSON.stringify(roleArn)
        }`,
    );
  }
  if (token === undefined && !tokenFile) {
    throw new TypeError(
      "Cannot use web identity: give 'webIdentityToken' or 'tokenFile' " +
        "(or set AWS_WEB_IDENTITY_TOKEN_FILE)",
    );
  }
  if (token !== undefined && typeof token !== "string" && typeof token !== "function") {
    throw new TypeError(
      "Cannot use web identity: 'webIdentityToken' must be a string or a function returning one",
    );
  }
  const durationSeconds = options.durationSeconds;
  if (
    durationSeconds !== undefined &&
    (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43_200)
  ) {
    throw new RangeError(
      `Cannot use web identity: 'durationSeconds' must be a whole number from 900 to 43200, got ${durationSeconds}`,
    );
  }
  const roleSessionName = options.roleSessionName ?? readEnv("AWS_ROLE_SESSION_NAME", env);
  const region = options.region ?? readEnv("AWS_REGION", env);
  const endpoint = options.stsEndpoint ?? readEnv("AWS_ENDPOINT_URL_STS", env);
  const common = {
    roleArn,
    ...(roleSessionName ? { roleSessionName } : {}),
    ...(durationSeconds ? { durationSeconds } : {}),
    clientConfig: { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) },
  };

  const exchange = async (): Promise<AwsCredentials> => {
    const sdk = await import("@aws-sdk/credential-provider-web-identity");
    let resolved: AwsCredentials;
    try {
      if (tokenFile) {
        resolved = await sdk.fromTokenFile({ ...common, webIdentityTokenFile: tokenFile })();
      } else {
        const webIdentityToken = typeof token === "function" ? await token() : token!;
        if (typeof webIdentityToken !== "string" || webIdentityToken === "") {
          throw new TypeError("the 'webIdentityToken' callback returned no token");
        }
        resolved = await sdk.fromWebToken({ ...common, webIdentityToken })();
      }
    } catch (error) {
      throw new CredentialsError(
        `Cannot assume role ${roleArn} with web identity: ${messageOf(error)}`,
        { cause: error },
      );
    }
    return {
      accessKeyId: resolved.accessKeyId,
      secretAccessKey: resolved.secretAccessKey,
      sessionToken: resolved.sessionToken,
      expiration: resolved.expiration,
    };
  };
  return cacheCredentials(exchange, options.now ? { now: options.now } : {});
}
