/**
 * A temporary home directory with AWS shared files (`.aws/config`,
 * `.aws/credentials`), and the variables that point the profile sources at
 * it (`HOME`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`); and the
 * end of every profile test: credentials → `IamAuth` → a connection through
 * the emulator's gateway.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Emulator } from "@elasticache-iam/emulator";
import { connect, IamAuth } from "../../mod.ts";
import type { AwsCredentialsProvider } from "../../src/credentials/types.ts";

/** A temporary home with AWS shared files. */
export interface AwsHome extends AsyncDisposable {
  /** The home directory. */
  readonly home: string;
  /** `<home>/.aws/config`. */
  readonly configFile: string;
  /** `<home>/.aws/credentials`. */
  readonly credentialsFile: string;
  /**
   * The variables that point the sources here, with more.
   *
   * @param extra More variables (`AWS_PROFILE`, `AWS_ENDPOINT_URL_STS`, …).
   * @returns `HOME`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` and `extra`.
   */
  env(extra?: Record<string, string>): Record<string, string>;
  /**
   * Writes a file under the home directory.
   *
   * @param path Its path, relative to the home directory.
   * @param text Its content.
   * @returns Its full path.
   */
  write(path: string, text: string): Promise<string>;
}

/**
 * Makes a temporary home directory with the given shared files.
 *
 * @param files The config and credentials files' contents; a file left out is not written.
 * @returns The home; dispose to remove it.
 */
export async function awsHome(files: { config?: string; credentials?: string } = {}): Promise<
  AwsHome
> {
  const home = await Deno.makeTempDir({ prefix: "aws-home-" });
  await Deno.mkdir(`${home}/.aws`);
  const configFile = `${home}/.aws/config`;
  const credentialsFile = `${home}/.aws/credentials`;
  if (files.config !== undefined) await Deno.writeTextFile(configFile, files.config);
  if (files.credentials !== undefined) await Deno.writeTextFile(credentialsFile, files.credentials);
  return {
    home,
    configFile,
    credentialsFile,
    env: (extra = {}) => ({
      HOME: home,
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      ...extra,
    }),
    async write(path, text) {
      const full = `${home}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, text);
      return full;
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(home, { recursive: true });
    },
  };
}

/**
 * Signs a token with the credentials through `IamAuth` and connects through
 * the emulator's gateway as `iam-user-01`: `SET` then `GET` must answer.
 *
 * @param emu The emulator (default cache `replication-group-01`).
 * @param credentials The provider under test.
 * @param value A value to write and read back.
 */
export async function connectThroughGateway(
  emu: Emulator,
  credentials: AwsCredentialsProvider,
  value = "hello",
): Promise<void> {
  using auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials,
    now: () => emu.clock.now(),
  });
  await using client = await connect({
    host: emu.gateway.hostname,
    port: emu.gateway.port,
    auth,
  });
  assert.equal(await client.set("profile-test", value), "OK");
  assert.equal(await client.get("profile-test"), value);
}

/**
 * Asserts that a message holds none of the given secrets.
 *
 * @param message The message.
 * @param secrets Secret keys, session tokens, access tokens.
 */
export function assertNoSecret(message: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.ok(!message.includes(secret), `a secret is in the message: ${message}`);
  }
}
