/**
 * Credentials from environment variables, as AWS Lambda provides them.
 *
 * @module
 */
import { optionalEnv, optionsObject } from "../_checks.ts";
import { CredentialsError } from "../errors.ts";
import { named } from "./source_name.ts";
import type { AwsCredentialsProvider } from "./types.ts";

/** Environment variables as a plain object, such as a Worker's bindings. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Options of {@linkcode fromEnv}. */
export interface FromEnvOptions {
  /**
   * Where to read the variables. Workers pass their bindings (`env`) here.
   *
   * @default {the runtime's environment: `Deno.env`, or `process.env` on Node and Bun}
   */
  env?: Environment;
}

/**
 * A credentials provider that reads `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` each time it is called.
 *
 * @param options Where to read the variables from.
 * @returns The provider.
 * @throws {TypeError} When `options` or `env` is not an object.
 *
 * @example In a Worker, from bindings
 * ```ts
 * import { fromEnv } from "./env.ts";
 *
 * const provider = fromEnv({ env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" } });
 * const { accessKeyId } = await provider();
 * console.log(accessKeyId); // "AKIDEXAMPLE"
 * ```
 */
export function fromEnv(options?: FromEnvOptions): AwsCredentialsProvider {
  const explicit = optionsObject("Cannot read AWS credentials", options).env;
  optionalEnv("Cannot read AWS credentials", explicit);
  return named(() => {
    const accessKeyId = readEnv("AWS_ACCESS_KEY_ID", explicit);
    const secretAccessKey = readEnv("AWS_SECRET_ACCESS_KEY", explicit);
    const sessionToken = readEnv("AWS_SESSION_TOKEN", explicit);
    if (!accessKeyId || !secretAccessKey) {
      const missing = [
        accessKeyId ? undefined : "AWS_ACCESS_KEY_ID",
        secretAccessKey ? undefined : "AWS_SECRET_ACCESS_KEY",
      ].filter(Boolean).join(" and ");
      return Promise.reject(
        new CredentialsError(
          `Cannot read AWS credentials from the environment: ${missing} is not set`,
        ),
      );
    }
    return Promise.resolve({
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
    });
  }, "environment");
}

interface DenoEnv {
  env: { get(name: string): string | undefined };
}
interface NodeProcess {
  env: Record<string, string | undefined>;
}

/**
 * Reads one environment variable from an explicit object or the runtime.
 * Returns undefined when it is unset or empty.
 *
 * @param name The variable.
 * @param env An explicit environment to read instead of the runtime's.
 * @returns Its value.
 * @throws {CredentialsError} When Deno denies access to the environment.
 */
export function readEnv(name: string, env?: Environment): string | undefined {
  let value: string | undefined;
  if (env) {
    value = env[name];
  } else {
    const deno = (globalThis as { Deno?: DenoEnv }).Deno;
    try {
      // On Deno, touching `globalThis.process` loads the Node compatibility layer (~20 ms).
      value = deno
        ? deno.env.get(name)
        : (globalThis as { process?: NodeProcess }).process?.env[name];
    } catch (error) {
      if (!(error instanceof Error && error.name === "NotCapable")) throw error;
      throw new CredentialsError(
        `Cannot read ${name}: this Deno process may not read the environment (run it with --allow-env)`,
        { cause: error },
      );
    }
  }
  return value === "" ? undefined : value;
}
