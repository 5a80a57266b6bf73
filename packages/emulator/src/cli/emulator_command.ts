/**
 * The `emulator` command: runs the local ElastiCache IAM emulator until
 * SIGINT or SIGTERM, prints one JSON line with its addresses and the keys of
 * its IAM user `emulator-cli` on stdout (or, with `--print-env`, shell
 * `export` lines), and logs what it does (reasons for refusals included,
 * never a secret) on stderr.
 *
 * ```sh
 * deno run -A cli.ts emulator --tls
 * {"gateway":{"hostname":"127.0.0.1","port":40717,"tls":true,"caFile":"/tmp/…/ca.pem"},…}
 * ```
 *
 * @module
 */

import { describe, wantsHelp, writeStderr, writeStdout } from "@elasticache-iam/connector/internal";
import {
  type Emulator,
  type EmulatorConfig,
  type IamUserConfig,
  loadEmulatorConfig,
  type PolicyDocument,
  startEmulator,
} from "../../mod.ts";
import { CLUSTER_LIMITS } from "../config.ts";
import { EMULATOR_HELP, USAGE } from "./help.ts";

/** The IAM user the command adds, whose keys it prints: it may connect to every cache as every user. */
const CLI_IAM_USER = "emulator-cli";

/** The flags of `emulator`, checked. */
interface EmulatorFlags {
  configFile?: string;
  port?: number;
  cluster?: { shards: number; replicasPerShard: number };
  tls: boolean;
  printEnv: boolean;
  quiet: boolean;
}

/**
 * Runs `emulator [--config FILE] [--port PORT] [--cluster SHARDSxREPLICAS] [--tls]
 * [--print-env] [--quiet]` (`--help`: prints its help).
 *
 * @param args The flags.
 * @returns 0 after a clean stop on a signal (or after the help), 1 when the emulator could not start, 2 for bad flags.
 */
export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    await writeStdout(EMULATOR_HELP);
    return 0;
  }
  const flags = parseFlags(args);
  if (typeof flags === "string") return await usage(flags);
  const { tls, quiet } = flags;

  let config: EmulatorConfig = {};
  try {
    if (flags.configFile !== undefined) config = await loadEmulatorConfig(flags.configFile);
  } catch (error) {
    await writeStderr(`Error: ${(error as Error).message}\n`);
    return 1;
  }
  // The flags amend the configuration; a malformed section is left as it is for the emulator to report.
  const keys = randomKeys();
  const { gateway, cluster, iamUsers } = config;
  config = {
    ...config,
    ...(flags.port !== undefined && isSection(gateway)
      ? { gateway: { ...gateway, port: flags.port } }
      : {}),
    ...(flags.cluster !== undefined && isSection(cluster)
      ? { cluster: { ...cluster, ...flags.cluster } }
      : {}),
    ...(iamUsers === undefined || Array.isArray(iamUsers)
      ? { iamUsers: [...(iamUsers ?? []), cliIamUser(keys)] }
      : {}),
  };
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
    // One CA signs every endpoint that speaks TLS (with --tls, or a serverless public endpoint).
    const caCertPem = emu.caches.find((cache) => cache.caCertPem !== undefined)?.caCertPem;
    if (caCertPem !== undefined) {
      caDir = await Deno.makeTempDir({ prefix: "elasticache-emulator-ca-" });
      caFile = `${caDir}/ca.pem`;
      await Deno.writeTextFile(caFile, caCertPem);
    }
    await writeStdout(flags.printEnv ? envLines(emu, keys, caFile) : jsonLine(emu, keys, caFile));
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

/** Checks the flags; returns them, or what is wrong with them. */
function parseFlags(args: string[]): EmulatorFlags | string {
  const flags: EmulatorFlags = { tls: false, printEnv: false, quiet: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq !== -1 ? arg.slice(0, eq) : arg;
    if (name === "--tls" || name === "--print-env" || name === "--quiet") {
      if (name !== arg) return `flag '${name}' takes no value`;
      if (name === "--tls") flags.tls = true;
      else if (name === "--print-env") flags.printEnv = true;
      else flags.quiet = true;
      continue;
    }
    if (name !== "--config" && name !== "--port" && name !== "--cluster") {
      return `unknown flag ${describe(arg)}`;
    }
    const value = name === arg ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "" || value.startsWith("--")) {
      return `flag '${name}' needs a value`;
    }
    if (name === "--config") {
      flags.configFile = value;
    } else if (name === "--port") {
      const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
      if (!(port >= 1 && port <= 65535)) {
        return `flag '--port' must be a port from 1 to 65535, got ${describe(value)}`;
      }
      flags.port = port;
    } else {
      const match = /^(\d{1,2})x(\d{1,2})$/.exec(value);
      const shards = Number(match?.[1]);
      const replicasPerShard = Number(match?.[2]);
      const { shards: s, replicasPerShard: r } = CLUSTER_LIMITS;
      if (
        !(shards >= s.min && shards <= s.max && replicasPerShard >= r.min &&
          replicasPerShard <= r.max)
      ) {
        return `flag '--cluster' must be SHARDSxREPLICAS with ${s.min} to ${s.max} shards and ${r.min} to ${r.max} replicas per shard, such as '3x1', got ${
          describe(value)
        }`;
      }
      flags.cluster = { shards, replicasPerShard };
    }
  }
  if (flags.port !== undefined && flags.cluster !== undefined) {
    return "flags '--port' and '--cluster' cannot be combined: in cluster mode every node's gateway gets a free port";
  }
  return flags;
}

/** Whether a section of the configuration is absent or an object the flags can amend. */
function isSection(value: unknown): value is object | undefined {
  return value === undefined ||
    (value !== null && typeof value === "object" && !Array.isArray(value));
}

/** Access keys made for this run of the command. */
interface AccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Random keys shaped as AWS's: `AKIA` and 16 more characters, and a 40-character secret. */
function randomKeys(): AccessKeys {
  const pick = (alphabet: string, length: number) =>
    Array.from(
      crypto.getRandomValues(new Uint8Array(length)),
      (byte) => alphabet[byte % alphabet.length],
    ).join("");
  return {
    accessKeyId: `AKIA${pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}`,
    secretAccessKey: pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40),
  };
}

/** The command's IAM user: these keys, allowed to connect to every cache as every user. */
function cliIamUser(keys: AccessKeys): IamUserConfig {
  const policy: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Action: ["elasticache:Connect", "memorydb:Connect"],
      Resource: "*",
    }],
  };
  return { userName: CLI_IAM_USER, accessKeys: [keys], policies: [policy] };
}

/** The line printed when the emulator is ready: its addresses and the command's IAM user. */
function jsonLine(emu: Emulator, keys: AccessKeys, caFile: string | undefined): string {
  return JSON.stringify({
    gateway: {
      hostname: emu.gateway.hostname,
      port: emu.gateway.port,
      tls: emu.gateway.tls,
      ...(caFile ? { caFile } : {}),
    },
    caches: emu.caches.map((
      { name, kind, region, hostname, port, tls, url, reader, publicEndpoint },
    ) => ({
      name,
      kind,
      region,
      hostname,
      port,
      url,
      // A serverless cache's reader endpoint; a public endpoint, which speaks TLS 1.3 only.
      ...(reader
        ? { reader: { hostname: reader.hostname, port: reader.port, url: reader.url } }
        : {}),
      ...(publicEndpoint ? { publicEndpoint, tls } : {}),
    })),
    sts: emu.sts.endpoint,
    oidcIssuer: emu.oidc.issuer,
    // For AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN, and
    // AWS_EC2_METADATA_SERVICE_ENDPOINT (not in --print-env: the keys it exports win in the chain).
    containerCredentials: {
      fullUri: emu.containerCredentials.fullUri,
      authorizationToken: emu.containerCredentials.authorizationToken,
      relativeUri: emu.containerCredentials.relativeUri,
    },
    instanceMetadata: { endpoint: emu.instanceMetadata.endpoint },
    region: emu.region,
    accountId: emu.accountId,
    ...(roleArnOf(emu) ? { roleArn: roleArnOf(emu) } : {}),
    iamUser: { userName: CLI_IAM_USER, ...keys },
    pid: Deno.pid,
  }) + "\n";
}

/**
 * The same as shell lines for `. ./emulator.env`: `export` lines, after an
 * `unset AWS_SESSION_TOKEN` (a session token left in the shell would be sent
 * with keys that have none).
 */
function envLines(emu: Emulator, keys: AccessKeys, caFile: string | undefined): string {
  const { hostname, port, tls } = emu.gateway;
  const vars: [string, string][] = [
    ["AWS_ACCESS_KEY_ID", keys.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", keys.secretAccessKey],
    ["AWS_REGION", emu.region],
    ["AWS_ENDPOINT_URL_STS", emu.sts.endpoint],
    ["ELASTICACHE_HOST", hostname],
    ["ELASTICACHE_PORT", String(port)],
    ["ELASTICACHE_URL", `${tls ? "rediss" : "redis"}://${hostname}:${port}`],
    ...(caFile ? [["ELASTICACHE_CA_FILE", caFile] as [string, string]] : []),
  ];
  const quoted = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  return `unset AWS_SESSION_TOKEN\n${
    vars.map(([name, value]) => `export ${name}=${quoted(value)}\n`).join("")
  }`;
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
