/**
 * The default credentials chain, in the order the AWS SDKs document: the
 * environment keys, the shared config and credentials files (profiles, role
 * chains, SSO, `credential_process`), web identity, container credentials
 * (ECS, Fargate, EKS Pod Identity), then EC2 instance metadata (IMDSv2).
 * Every source but the environment is loaded on the first call that needs
 * it; on Workers the file and metadata sources are skipped without loading.
 *
 * @module
 */
import { optionalEnv, optionsObject } from "../_checks.ts";
import { CredentialsError } from "../errors.ts";
import { type Environment, fromEnv, readEnv } from "./env.ts";
import type { CredentialsSourceCheck } from "./source_check.ts";
import { named, sourceOf } from "./source_name.ts";
import type { AwsCredentialsProvider } from "./types.ts";
import { fromWebIdentity } from "./web_identity.ts";

/** Options of {@linkcode defaultCredentials}. */
export interface DefaultCredentialsOptions {
  /** Where to read variables, instead of the runtime's environment (Workers pass their bindings). */
  env?: Environment;
}

/**
 * A credentials provider that uses, at each call, the first source that is
 * configured, in the AWS SDKs' order:
 *
 * 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), as in AWS Lambda;
 * 2. the profile (`AWS_PROFILE`, else `default`) of the shared config and
 *    credentials files, when it holds credential settings (`fromProfile`);
 * 3. web identity, when `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` are set (EKS IRSA);
 * 4. container credentials, when `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or
 *    `…_FULL_URI` is set (ECS, Fargate, EKS Pod Identity);
 * 5. EC2 instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
 *
 * When none is configured, it fails with an error listing what it looked
 * for in each. On Workers only the environment and web identity are looked
 * at (no files, no metadata endpoints), and the other sources' code is not
 * loaded. The provider also has a `waitingFor()` method, for progress
 * messages: it resolves to what a call waits for now, in words and without a
 * secret (`web identity: STS at https://sts.us-east-1.amazonaws.com`), or
 * undefined when no source is configured.
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
  const scoped = env ? { env } : {};
  const sources: Source[] = [
    {
      check: () => ({
        configured: readEnv("AWS_ACCESS_KEY_ID", env) !== undefined &&
          readEnv("AWS_SECRET_ACCESS_KEY", env) !== undefined,
        lookedFor: "the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not both set)",
      }),
      make: () => fromEnv(scoped),
    },
    {
      local: true,
      load: () => import("./profile.ts"),
      check: (m) => (m as ProfileModule).profileCredentialsSource(scoped),
      make: (m) => (m as ProfileModule).fromProfile(scoped),
    },
    {
      check: () => ({
        configured: readEnv("AWS_ROLE_ARN", env) !== undefined &&
          readEnv("AWS_WEB_IDENTITY_TOKEN_FILE", env) !== undefined,
        lookedFor: "web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE not both set)",
      }),
      make: () => fromWebIdentity(scoped),
    },
    {
      local: true,
      load: () => import("./container.ts"),
      check: (m) => (m as ContainerModule).containerCredentialsSource(env),
      make: (m) => (m as ContainerModule).fromContainerMetadata(scoped),
    },
    {
      local: true,
      load: () => import("./instance_metadata.ts"),
      check: (m) => (m as InstanceMetadataModule).instanceMetadataSource(env),
      make: (m) => (m as InstanceMetadataModule).fromInstanceMetadata(scoped),
    },
  ];
  const made = new Map<Source, AwsCredentialsProvider>();
  /** The first configured source's provider, or what every source looked for. */
  const select = async (): Promise<AwsCredentialsProvider | string[]> => {
    const lookedFor: string[] = [];
    for (const source of sources) {
      if (source.local && !onServer()) continue;
      const module = source.load ? await source.load() : undefined;
      const check = source.check(module);
      if (!check.configured) {
        lookedFor.push(check.lookedFor);
        continue;
      }
      let provider = made.get(source);
      if (provider === undefined) made.set(source, provider = source.make(module));
      return provider;
    }
    return lookedFor;
  };
  let used: string | undefined;
  const provider = async () => {
    const selected = await select();
    if (typeof selected === "function") {
      used = sourceOf(selected);
      return await selected();
    }
    throw new CredentialsError(
      `Cannot find AWS credentials: looked at ${selected.join("; ")}. Configure one of them, ` +
        `or pass credentials or an AWS SDK credential provider explicitly`,
    );
  };
  // What a call waits for, in words and without a secret, for progress messages (the CLI's).
  const waitingFor = async (): Promise<string | undefined> => {
    const selected = await select();
    if (typeof selected !== "function") return undefined;
    if (selected === made.get(sources[0]!)) return "environment variables";
    return await (selected as WaitingFor).waitingFor?.();
  };
  return named(
    Object.assign(provider, { waitingFor }),
    () => used === undefined ? "default chain" : `default chain: ${used}`,
  );
}

type WaitingFor = { waitingFor?: () => Promise<string | undefined> };
type ProfileModule = typeof import("./profile.ts");
type ContainerModule = typeof import("./container.ts");
type InstanceMetadataModule = typeof import("./instance_metadata.ts");

/** One source of the chain: its check, and how its provider is made. */
interface Source {
  /** Whether it needs files or a metadata endpoint: Deno, Node.js or Bun, not Workers. */
  local?: true;
  /** Loads the source's module, on the first call that reaches it. */
  load?: () => Promise<unknown>;
  check(module: unknown): CredentialsSourceCheck;
  make(module: unknown): AwsCredentialsProvider;
}

/** Whether the runtime has files and a network where metadata endpoints may answer: not Workers. */
function onServer(): boolean {
  const runtime = globalThis as {
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: string } };
  };
  return runtime.Deno !== undefined || runtime.Bun !== undefined ||
    typeof runtime.process?.versions?.node === "string";
}
