/**
 * Reads an emulator configuration from a JSON file. Like the AWS CLI's
 * `--policy-document file://policy.json`, any policy given as a
 * `file://<path>` string is read from that file, relative to the
 * configuration file, so the seed's `trust-policy.json` and `policy.json`
 * load unchanged.
 *
 * @module
 */

import type { EmulatorConfig } from "./config.ts";

/**
 * Loads a configuration file.
 *
 * @param path The JSON file.
 * @returns The configuration, with `file://` policies read in.
 * @throws {TypeError} If `path` is not a string or URL, or the file or a policy file is not valid JSON.
 * @throws {Deno.errors.NotFound} If a file is missing.
 *
 * @example
 * ```ts ignore
 * import { loadEmulatorConfig, startEmulator } from "../mod.ts";
 *
 * await using emu = await startEmulator(await loadEmulatorConfig("emulator.json"));
 * ```
 *
 * @example A policy read from its own file
 * ```ts
 * import { loadEmulatorConfig } from "../mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const policy = { Version: "2012-10-17", Statement: [] };
 * await Deno.writeTextFile(`${dir}/policy.json`, JSON.stringify(policy));
 * await Deno.writeTextFile(
 *   `${dir}/emulator.json`,
 *   JSON.stringify({ iamUsers: [{ userName: "app", policies: ["file://policy.json"] }] }),
 * );
 * const config = await loadEmulatorConfig(`${dir}/emulator.json`);
 * console.log(config.iamUsers?.[0]?.policies); // [{ Version: "2012-10-17", Statement: [] }]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadEmulatorConfig(path: string | URL): Promise<EmulatorConfig> {
  if (typeof path !== "string" && !(path instanceof URL)) {
    throw new TypeError(
      `Cannot load the emulator configuration: 'path' must be a string or a URL, got ${typeof path}`,
    );
  }
  const file = typeof path === "string" ? path : path.pathname;
  const config = await readJson(file, "the emulator configuration");
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new TypeError(`Cannot load the emulator configuration '${file}': expected an object`);
  }
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "./";
  const inline = async (value: unknown, what: string) => {
    if (typeof value !== "string" || !value.startsWith("file://")) return value;
    const target = value.slice("file://".length);
    return await readJson(target.startsWith("/") ? target : dir + target, what);
  };
  const c = config as Record<string, unknown>;
  for (const key of ["roles", "iamUsers"] as const) {
    const list = c[key];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (item === null || typeof item !== "object") continue;
      const entry = item as Record<string, unknown>;
      const name = String(entry.roleName ?? entry.userName);
      if ("trustPolicy" in entry) {
        entry.trustPolicy = await inline(entry.trustPolicy, `role '${name}' trust policy`);
      }
      if (Array.isArray(entry.policies)) {
        entry.policies = await Promise.all(
          entry.policies.map((p, i) => inline(p, `'${name}' policy ${i + 1}`)),
        );
      }
    }
  }
  return config as EmulatorConfig;
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await Deno.readTextFile(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TypeError(`Cannot load ${what} '${file}': it is not valid JSON`, { cause: error });
  }
}
