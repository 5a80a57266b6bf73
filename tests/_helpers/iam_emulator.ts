/**
 * The emulator with TLS, plus an `IamAuth` that gets its AWS credentials the
 * way a federated workload does (emulator OIDC token → emulator STS
 * `AssumeRoleWithWebIdentity`) and follows the emulator's clock, for the
 * node-redis, ioredis and valkey-glide integration tests.
 *
 * @module
 */

import { type Emulator, type EmulatorConfig, startEmulator } from "@elasticache-iam/emulator";
import { IamAuth, type IamAuthOptions } from "../../src/iam_auth.ts";
import { fromWebIdentity } from "../../src/credentials/web_identity.ts";

/** A running emulator and a token manager for its default cache and user. */
export interface IamEmulator extends AsyncDisposable {
  /** The emulator. */
  readonly emu: Emulator;
  /** The token manager: `replication-group-01`, `iam-user-01`, web identity credentials. */
  readonly auth: IamAuth;
  /** The gateway's CA certificate (PEM). */
  readonly caCertPem: string;
  /** `rediss://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every line the emulator logged. */
  readonly log: string[];
  /** How many IAM `AUTH` / `HELLO AUTH` the gateway accepted so far. */
  accepted(): number;
}

/**
 * Starts the emulator with TLS and makes the token manager.
 *
 * @param config Emulator settings, such as `connectionMaxAgeMs`.
 * @param authOptions Token manager settings.
 * @returns The emulator and token manager; dispose to stop both.
 */
export async function startIamEmulator(
  config: EmulatorConfig = {},
  authOptions: Partial<IamAuthOptions> = {},
): Promise<IamEmulator> {
  const log: string[] = [];
  const emu = await startEmulator({ tls: true, log: (line) => log.push(line), ...config });
  const now = () => emu.clock.now();
  const auth = new IamAuth({
    replicationGroupId: "replication-group-01",
    userId: "iam-user-01",
    region: emu.region,
    credentials: fromWebIdentity({
      roleArn: emu.roleArn(),
      webIdentityToken: () =>
        emu.oidc.mintToken({ sub: "integration-test", aud: "sts.amazonaws.com" }),
      stsEndpoint: emu.sts.endpoint,
      region: emu.region,
      now,
    }),
    now,
    ...authOptions,
  } as IamAuthOptions);
  return {
    emu,
    auth,
    caCertPem: emu.gateway.caCertPem!,
    url: `rediss://${emu.gateway.hostname}:${emu.gateway.port}`,
    log,
    accepted: () => log.filter((line) => / AUTH as '.*' .*accepted/.test(line)).length,
    async [Symbol.asyncDispose]() {
      auth[Symbol.dispose]();
      await emu.close();
    },
  };
}

/**
 * Waits for an event of a Node-style emitter, failing after `ms`.
 *
 * @param emitter The emitter (node-redis, ioredis).
 * @param event The event name.
 * @param ms The timeout.
 * @returns Resolves when the event fires.
 */
export function once(
  emitter: {
    once(event: string, listener: () => void): unknown;
    off(event: string, listener: () => void): unknown;
  },
  event: string,
  ms = 5000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, done);
      reject(new Error(`Timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    emitter.once(event, done);
  });
}

/**
 * Sleeps in real time (the emulator's connection cap runs on real timers).
 *
 * @param ms How long.
 * @returns Resolves after `ms`.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Environment variables that point the examples at the emulator. */
export interface ExampleEnvironment extends AsyncDisposable {
  /** The variables: cache, user, region, URL, CA file and web identity. */
  readonly vars: Record<string, string>;
}

/**
 * Writes the emulator's CA certificate and a fresh web identity token to a
 * temporary directory and returns the variables the examples read (web
 * identity credentials through the emulator's STS).
 *
 * @param env The emulator.
 * @returns The variables; dispose to delete the files.
 */
export async function exampleEnvironment(env: IamEmulator): Promise<ExampleEnvironment> {
  const dir = await Deno.makeTempDir({ prefix: "iam-example-" });
  const caFile = `${dir}/ca.pem`;
  const tokenFile = `${dir}/web-identity-token`;
  await Deno.writeTextFile(caFile, env.caCertPem);
  await Deno.writeTextFile(
    tokenFile,
    await env.emu.oidc.mintToken({ sub: "example", aud: "sts.amazonaws.com" }),
  );
  return {
    vars: {
      ELASTICACHE_URL: env.url,
      ELASTICACHE_CACHE_NAME: "replication-group-01",
      ELASTICACHE_USER_ID: "iam-user-01",
      ELASTICACHE_CA_FILE: caFile,
      AWS_REGION: env.emu.region,
      AWS_ROLE_ARN: env.emu.roleArn(),
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ENDPOINT_URL_STS: env.emu.sts.endpoint,
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs a command with extra environment variables (and none of the AWS ones
 * of this process), failing after `timeoutMs`.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param vars Extra variables.
 * @param timeoutMs The time limit.
 * @returns Its exit code, stdout and stderr.
 */
export async function run(
  command: string,
  args: string[],
  vars: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("AWS_")),
  );
  const output = await new Deno.Command(command, {
    args,
    env: { ...inherited, ...vars },
    clearEnv: true,
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
