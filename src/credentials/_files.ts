/**
 * Reading and writing the small local files credential sources use (the
 * shared config and credentials files, the SSO token cache), on the
 * runtime's own file API: `Deno` on Deno, `node:fs` on Node.js and Bun,
 * taken from `process.getBuiltinModule` when called, so that importing this
 * module loads no Node built-in and a Worker's bundler finds nothing to
 * resolve. Where neither exists (Workers, browsers) there are no files.
 *
 * @module
 */

import { CredentialsError } from "../errors.ts";
import { type Environment, readEnv } from "./env.ts";
import { nodeBuiltin } from "../_node_builtin.ts";

interface DenoFiles {
  readTextFileSync(path: string): string;
  readTextFile(path: string): Promise<string>;
  writeTextFile(path: string, data: string, options?: { mode?: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

interface NodeFs {
  readFileSync(path: string, encoding: "utf8"): string;
  promises: {
    readFile(path: string, encoding: "utf8"): Promise<string>;
    writeFile(path: string, data: string, options: { mode: number }): Promise<void>;
    rename(from: string, to: string): Promise<void>;
  };
}

interface NodeOs {
  homedir(): string;
}

function denoFiles(): DenoFiles | undefined {
  return (globalThis as { Deno?: DenoFiles }).Deno;
}

/**
 * Whether this runtime has a file system this module can read: Deno, or
 * Node.js and Bun (through `process.getBuiltinModule`). False on Workers.
 *
 * @returns Whether files can be read.
 */
export function canReadFiles(): boolean {
  if (
    (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent ===
      "Cloudflare-Workers"
  ) {
    return false;
  }
  return denoFiles() !== undefined || nodeBuiltin<NodeFs>("node:fs") !== undefined;
}

/**
 * Reads a text file synchronously (the files read here are a few kilobytes).
 *
 * @param path The file.
 * @returns Its text, or `undefined` when it does not exist (or no file system is available).
 * @throws {CredentialsError} When it exists but cannot be read (permissions, a directory).
 */
export function readTextFileSync(path: string): string | undefined {
  try {
    const deno = denoFiles();
    if (deno) return deno.readTextFileSync(path);
    return nodeBuiltin<NodeFs>("node:fs")?.readFileSync(path, "utf8");
  } catch (error) {
    return missingOrThrow(error, path);
  }
}

/**
 * Reads a text file.
 *
 * @param path The file.
 * @returns Its text, or `undefined` when it does not exist (or no file system is available).
 * @throws {CredentialsError} When it exists but cannot be read (permissions, a directory).
 */
export async function readTextFile(path: string): Promise<string | undefined> {
  try {
    const deno = denoFiles();
    if (deno) return await deno.readTextFile(path);
    return await nodeBuiltin<NodeFs>("node:fs")?.promises.readFile(path, "utf8");
  } catch (error) {
    return missingOrThrow(error, path);
  }
}

/**
 * Replaces a file's content, readable by its owner only (`0600`), as the AWS
 * CLI writes its SSO token cache: written beside it, then renamed over it.
 *
 * @param path The file.
 * @param text Its new content.
 * @throws {CredentialsError} When it cannot be written.
 */
export async function replaceTextFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const deno = denoFiles();
    if (deno) {
      await deno.writeTextFile(temporary, text, { mode: 0o600 });
      await deno.rename(temporary, path);
      return;
    }
    const fs = nodeBuiltin<NodeFs>("node:fs");
    if (!fs) throw new Error("this runtime has no file system");
    await fs.promises.writeFile(temporary, text, { mode: 0o600 });
    await fs.promises.rename(temporary, path);
  } catch (error) {
    throw new CredentialsError(`Cannot write ${path}: ${denial(error)}`, { cause: error });
  }
}

function missingOrThrow(error: unknown, path: string): undefined {
  const code = (error as { code?: unknown })?.code;
  const name = (error as { name?: unknown })?.name;
  if (name === "NotFound" || code === "ENOENT" || code === "ENOTDIR") return undefined;
  throw new CredentialsError(`Cannot read ${path}: ${denial(error)}`, { cause: error });
}

function denial(error: unknown): string {
  if ((error as { name?: unknown })?.name === "NotCapable") {
    return "this Deno process may not read or write files there (run it with --allow-read, " +
      "and --allow-write for the SSO token cache)";
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The user's home directory, as the AWS SDK for JavaScript finds it: `HOME`,
 * else `USERPROFILE`, else `HOMEDRIVE` + `HOMEPATH`, else the operating
 * system's (Node.js and Bun).
 *
 * @param env Where to read the variables, instead of the runtime's environment.
 * @returns The directory, or `undefined` when none is known.
 * @throws {CredentialsError} When Deno denies access to the environment.
 */
export function homeDirectory(env: Environment | undefined): string | undefined {
  const home = readEnv("HOME", env) ?? readEnv("USERPROFILE", env);
  if (home !== undefined) return home;
  const path = readEnv("HOMEPATH", env);
  if (path !== undefined) return `${readEnv("HOMEDRIVE", env) ?? "C:"}${path}`;
  if (env !== undefined) return undefined;
  try {
    return nodeBuiltin<NodeOs>("node:os")?.homedir() || undefined;
  } catch {
    return undefined;
  }
}
