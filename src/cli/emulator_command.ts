/**
 * The `emulator` command: runs the local ElastiCache IAM emulator until
 * SIGINT or SIGTERM, prints one JSON line with its addresses on stdout, and
 * logs what it does (reasons for refusals included, never a secret) on stderr.
 *
 * ```sh
 * deno run -A src/cli.ts emulator --tls
 * {"gateway":{"hostname":"127.0.0.1","port":40717,"tls":true,"caFile":"/tmp/…/ca.pem"},…}
 * ```
 *
 * @module
 */

import { loadEmulatorConfig, startEmulator } from "../emulator/mod.ts";
import type { EmulatorConfig } from "../emulator/config.ts";
import { USAGE, writeStderr, writeStdout } from "./io.ts";

/**
 * Runs `emulator [--config FILE] [--tls] [--quiet]`.
 *
 * @param args The flags.
 * @returns 0 after a clean stop on a signal, 1 when the emulator could not start, 2 for bad flags.
 */
export async function run(args: string[]): Promise<number> {
  let configFile: string | undefined;
  let tls = false;
  let quiet = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--tls") tls = true;
    else if (arg === "--quiet") quiet = true;
    else if (arg === "--config" || arg.startsWith("--config=")) {
      const value = arg === "--config" ? args[++i] : arg.slice("--config=".length);
      if (value === undefined || value === "" || value.startsWith("--")) {
        return await usage("flag '--config' needs a file");
      }
      configFile = value;
    } else {
      return await usage(`unknown flag '${arg}'`);
    }
  }

  let config: EmulatorConfig = {};
  try {
    if (configFile !== undefined) config = await loadEmulatorConfig(configFile);
  } catch (error) {
    await writeStderr(`Error: ${(error as Error).message}\n`);
    return 1;
  }
  const encoder = new TextEncoder();
  const log = quiet ? () => {} : (line: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(`${line}\n`));
    } catch {
      // stderr is gone; keep running.
    }
  };

  let stopRequested!: (signal: string) => void;
  const stop = new Promise<string>((resolve) => stopRequested = resolve);
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers: [Deno.Signal, () => void][] = [];
  for (const signal of signals) {
    const handler = () => stopRequested(signal);
    try {
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    } catch {
      // Windows has no SIGTERM: Ctrl-C (SIGINT) still stops the emulator.
    }
  }
  let caDir: string | undefined;
  try {
    await using emu = await startEmulator({ ...config, ...(tls ? { tls: true } : {}), log });
    let caFile: string | undefined;
    if (emu.gateway.caCertPem !== undefined) {
      caDir = await Deno.makeTempDir({ prefix: "elasticache-emulator-ca-" });
      caFile = `${caDir}/ca.pem`;
      await Deno.writeTextFile(caFile, emu.gateway.caCertPem);
    }
    await writeStdout(
      JSON.stringify({
        gateway: {
          hostname: emu.gateway.hostname,
          port: emu.gateway.port,
          tls: emu.gateway.tls,
          ...(caFile ? { caFile } : {}),
        },
        sts: emu.sts.endpoint,
        oidcIssuer: emu.oidc.issuer,
        region: emu.region,
        accountId: emu.accountId,
        ...(roleArnOf(emu) ? { roleArn: roleArnOf(emu) } : {}),
        pid: Deno.pid,
      }) + "\n",
    );
    const signal = await stop;
    log(`emulator: ${signal} received, stopping`);
  } catch (error) {
    await writeStderr(`Error: ${(error as Error).message}\n`);
    return 1;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    if (caDir !== undefined) await Deno.remove(caDir, { recursive: true }).catch(() => {});
  }
  log("emulator: stopped");
  return 0;
}

function roleArnOf(emu: { roleArn(): string }): string | undefined {
  try {
    return emu.roleArn();
  } catch {
    return undefined; // No role is configured.
  }
}

async function usage(problem: string): Promise<number> {
  await writeStderr(`Error: ${problem}\n\n${USAGE}`);
  return 2;
}
