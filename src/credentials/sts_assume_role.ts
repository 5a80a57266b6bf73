/**
 * STS `AssumeRole`, SigV4-signed with the source credentials: the role
 * assumer of profile role chains (`role_arn` with `source_profile` or
 * `credential_source`). It is this module's own call, not the AWS SDK's STS
 * client: the request is signed by `aws4fetch` (WebCrypto), as tokens are,
 * and sent, retried and read by the STS code `sts_web_identity.ts` shares
 * ({@linkcode stsClient}): the regional endpoint of the region's partition
 * (or a given one), a per-attempt timeout, the SDK's standard retry, and the
 * small strict XML reader.
 *
 * @module
 */

import { AwsV4Signer } from "aws4fetch";
import { type StsClient, stsClient, type StsCredentials } from "./sts_web_identity.ts";
import type { StsRoleAssumerOptions } from "./sts_web_identity.ts";
import type { AwsCredentials } from "./types.ts";

/** The input of `AssumeRole`, as the AWS SDK's `roleAssumer` receives it. */
export interface AssumeRoleParams {
  /** The role to assume. */
  RoleArn: string;
  /** The role session name. */
  RoleSessionName: string;
  /** The external id the role's trust policy asks for (`external_id`). */
  ExternalId?: string | undefined;
  /** The MFA device's serial number or ARN (`mfa_serial`). */
  SerialNumber?: string | undefined;
  /** The code the MFA device shows. */
  TokenCode?: string | undefined;
  /** How long the credentials last, in seconds (`duration_seconds`). */
  DurationSeconds?: number | undefined;
}

/** Options of {@linkcode roleAssumer}: where STS is, and the clock that dates signatures. */
export interface RoleAssumerOptions extends StsRoleAssumerOptions {
  /**
   * The clock that dates each request's signature, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: (() => number) | undefined;
}

/**
 * A role assumer, shaped as the AWS SDK's `roleAssumer` option: each call
 * posts one `AssumeRole`, signed with `source`, to STS (retrying as the SDK
 * does) and returns the role's temporary credentials.
 *
 * @param options The region or endpoint, timeout, retry settings and clock.
 * @returns The role assumer. It rejects with an `StsError` naming STS's code
 * and message (never a key), as `webIdentityRoleAssumer`'s does.
 * @throws {TypeError} When the endpoint is not an http(s) URL, or is given with FIPS or dual-stack.
 *
 * @example
 * ```ts
 * import { roleAssumer } from "./sts_assume_role.ts";
 *
 * const assume = roleAssumer({ region: "eu-west-1" });
 * console.log(typeof assume); // "function": STS is called when it is
 * ```
 */
export function roleAssumer(
  options: RoleAssumerOptions = {},
): (source: AwsCredentials, params: AssumeRoleParams) => Promise<StsCredentials> {
  const client: StsClient = stsClient(options, "sts-assume-role");
  const now = options.now ?? Date.now;
  return (source, params) => {
    const form = new URLSearchParams({
      Action: "AssumeRole",
      Version: "2011-06-15",
      RoleArn: params.RoleArn,
      RoleSessionName: params.RoleSessionName,
    });
    if (params.DurationSeconds !== undefined) {
      form.set("DurationSeconds", String(params.DurationSeconds));
    }
    if (params.ExternalId !== undefined) form.set("ExternalId", params.ExternalId);
    if (params.SerialNumber !== undefined) form.set("SerialNumber", params.SerialNumber);
    if (params.TokenCode !== undefined) form.set("TokenCode", params.TokenCode);
    return client.call({
      action: "AssumeRole",
      form,
      roleArn: params.RoleArn,
      sign: async (url, headers, body) => {
        const signed = await new AwsV4Signer({
          url: url.href,
          method: "POST",
          headers,
          body,
          service: "sts",
          region: client.signingRegion,
          accessKeyId: source.accessKeyId,
          secretAccessKey: source.secretAccessKey,
          ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
          datetime: new Date(now()).toISOString().replace(/[:-]|\.\d{3}/g, ""),
        }).sign();
        return Object.fromEntries(signed.headers);
      },
    });
  };
}
