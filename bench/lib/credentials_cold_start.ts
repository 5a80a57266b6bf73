/**
 * Cold start to first reply per credentials source: the thin client with
 * `defaultCredentials()` next to the same client with the AWS SDK's
 * `fromNodeProviderChain()`, in fresh processes, in four environments the
 * emulator serves: environment keys (Lambda), a profile in the shared
 * credentials file (a laptop), container credentials (ECS, EKS Pod
 * Identity: full URI and authorization token) and EC2 instance metadata
 * (IMDSv2). Every environment points the shared files at its own
 * temporary folder, so no file of this machine's `~/.aws` is read.
 *
 * @module
 */
import type { BenchEmulator } from "./environment.ts";
import { ACCESS_KEYS, VALUE } from "./environment.ts";
import { denoProgram, nodeProgram, runProgram } from "./process.ts";
import { measured, type Measurement, notMeasured, ratio } from "./results.ts";

/** The environments, in the chain's order. */
export const CREDENTIAL_ENVIRONMENTS = ["env", "profile", "container", "imds"] as const;
type Environment = typeof CREDENTIAL_ENVIRONMENTS[number];

const ENVIRONMENT_LABELS: Record<Environment, string> = {
  env: "environment keys",
  profile: "profile (static keys in the shared credentials file)",
  container: "container credentials (full URI + token)",
  imds: "instance metadata (IMDSv2)",
};

const CHAINS = {
  thin: { label: "defaultCredentials()", file: "cold_chain_thin.ts" },
  sdk: { label: "AWS SDK fromNodeProviderChain()", file: "cold_chain_sdk.ts" },
} as const;
type Chain = keyof typeof CHAINS;

interface Variant {
  runtime: "deno" | "node";
  environment: Environment;
  chain: Chain;
  argv: string[];
}

/**
 * The variables each environment adds to a program's: what its source reads,
 * and the shared files pointed at an empty folder (or at a profile).
 */
async function environmentVariables(
  bench: BenchEmulator,
  folder: string,
): Promise<Record<Environment, Record<string, string>>> {
  const files = (name: string) => ({
    AWS_CONFIG_FILE: `${folder}/${name}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${folder}/${name}/credentials`,
  });
  await Deno.mkdir(`${folder}/profile`, { recursive: true });
  await Deno.writeTextFile(
    `${folder}/profile/credentials`,
    `[default]\naws_access_key_id = ${ACCESS_KEYS.accessKeyId}\n` +
      `aws_secret_access_key = ${ACCESS_KEYS.secretAccessKey}\n`,
  );
  const { containerCredentials, instanceMetadata } = bench.emulator;
  return {
    env: {
      ...files("none"),
      AWS_ACCESS_KEY_ID: ACCESS_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ACCESS_KEYS.secretAccessKey,
    },
    profile: files("profile"),
    container: {
      ...files("none"),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: containerCredentials.fullUri,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: containerCredentials.authorizationToken,
    },
    imds: { ...files("none"), AWS_EC2_METADATA_SERVICE_ENDPOINT: instanceMetadata.endpoint },
  };
}

/**
 * Runs every variant `rounds` times, rotating the order each round, after one
 * unmeasured warm-up run each.
 *
 * @param bench The emulator.
 * @param rounds How many measured runs per variant.
 * @param log Progress lines.
 * @returns Wall time per runtime, environment and chain, with the ratio of
 *   `defaultCredentials()` to the SDK's chain.
 */
export async function measureCredentialsColdStart(
  bench: BenchEmulator,
  rounds: number,
  log: (line: string) => void,
): Promise<Measurement[]> {
  const variants: Variant[] = [];
  for (const runtime of ["deno", "node"] as const) {
    for (const environment of CREDENTIAL_ENVIRONMENTS) {
      for (const chain of ["thin", "sdk"] as const) {
        const file = CHAINS[chain].file;
        const argv = runtime === "deno" ? denoProgram(file) : nodeProgram(file);
        variants.push({ runtime, environment, chain, argv });
      }
    }
  }
  const folder = await Deno.makeTempDir({ prefix: "bench-credentials-" });
  try {
    const extra = await environmentVariables(bench, folder);
    const samples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    const failures = new Map<Variant, string>();
    const once = async (variant: Variant) => {
      if (failures.has(variant)) return;
      // The programs read nothing but what they are given: drop the runner's keys.
      const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...base } = await bench
        .programEnv();
      try {
        const run = await runProgram(variant.argv, { ...base, ...extra[variant.environment] }, {
          memory: false,
          timeoutMs: 60_000,
        });
        const reply = run.lines[0]?.reply;
        if (reply !== VALUE) throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
        samples.get(variant)!.push(run.wallMs);
      } catch (error) {
        const message = (error as Error).message;
        failures.set(variant, message.split("\n")[0]!.slice(0, 200));
        log(`  ${variant.runtime} ${variant.environment} ${variant.chain}: failed: ${message}`);
      }
    };
    log(
      `Cold start per credentials source: ${variants.length} variants × ${rounds} runs (after one warm-up run each)…`,
    );
    for (const variant of variants) await once(variant);
    for (const list of samples.values()) list.length = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) await once(variants[(i + r) % variants.length]!);
    }
    const byVariant = new Map<Variant, Measurement>();
    for (const variant of variants) {
      const fields = {
        id: `credentials.${variant.runtime}.${variant.environment}.${variant.chain}.wall`,
        section: "credentials" as const,
        name: `${ENVIRONMENT_LABELS[variant.environment]}: ${CHAINS[variant.chain].label}`,
        runtime: variant.runtime,
        unit: "ms",
        detail: { environment: variant.environment, chain: variant.chain },
      };
      const list = samples.get(variant)!;
      byVariant.set(
        variant,
        list.length > 0
          ? measured(fields, list)
          : notMeasured(fields, failures.get(variant) ?? "no run succeeded"),
      );
    }
    for (const variant of variants) {
      const m = byVariant.get(variant)!;
      const sdk = variants.find((v) =>
        v.runtime === variant.runtime && v.environment === variant.environment && v.chain === "sdk"
      )!;
      const toSdk = ratio(m, byVariant.get(sdk));
      if (toSdk !== undefined) m.ratios = { "vs SDK chain": toSdk };
    }
    return [...byVariant.values()];
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}
