/**
 * Installs a harness folder's npm packages (`tests/runtimes/<name>/`) from its
 * committed lockfile, as `npm ci` does, unless `node_modules` already holds
 * exactly what the lockfile says.
 *
 * @module
 */

type Entries = Record<string, { version?: string; optional?: boolean }>;

/**
 * Runs `npm ci` in `dir` unless its `node_modules` matches `package-lock.json`.
 *
 * @param dir The folder holding `package.json` and `package-lock.json`.
 * @returns Nothing when the packages are there; else what npm printed.
 */
export async function npmCi(dir: string): Promise<string | undefined> {
  const wanted = (JSON.parse(await Deno.readTextFile(`${dir}/package-lock.json`)).packages ??
    {}) as Entries;
  const have = await Deno.readTextFile(`${dir}/node_modules/.package-lock.json`)
    .then((text) => (JSON.parse(text).packages ?? {}) as Entries, () => undefined);
  const upToDate = have !== undefined &&
    Object.entries(wanted).every(([path, entry]) =>
      path === "" || have[path]?.version === entry.version ||
      (entry.optional === true && have[path] === undefined)
    ) &&
    Object.keys(have).every((path) => path in wanted);
  if (upToDate) return undefined;
  const { code, stdout, stderr } = await new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund"],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return code === 0
    ? undefined
    : `npm ci failed (exit ${code})\n${decoder.decode(stdout)}${decoder.decode(stderr)}`;
}
