/**
 * The `demo` command (`deno task demo`): the whole IAM flow on one machine,
 * printed step by step with timings and never a secret. It makes sure
 * `redis-server` is installed, starts the emulator, mints a web-identity
 * JWT, and runs an example handler that goes JWT → STS → temporary
 * credentials → IAM auth token → `AUTH` → `SET`/`GET` through the gateway
 * with node-redis, then shows a token for the wrong cache being refused, and
 * stops everything it started.
 *
 * @module
 */

import type { RedisClientType } from "redis";
import { ensureRedisServer } from "../emulator/ensure_redis_server.ts";
import { type Emulator, startEmulator } from "../emulator/mod.ts";
import { createAuthToken } from "../token.ts";
import { USAGE, writeStderr, writeStdout } from "./io.ts";

const CACHE = "replication-group-01";
const USER = "iam-user-01";
const SUBJECT = "demo-app";
const AUDIENCE = "sts.amazonaws.com";

/** What the example handler gets: what a function would find in its environment. */
export interface DemoHandlerInput {
  /** The role to assume. */
  roleArn: string;
  /** The web-identity token (an OIDC JWT). */
  webIdentityToken: string;
  /** The STS endpoint. */
  stsEndpoint: string;
  /** The region. */
  region: string;
  /** The cache's replication group id. */
  replicationGroupId: string;
  /** The IAM-enabled user. */
  userId: string;
  /** Where to connect. */
  host: string;
  /** The port. */
  port: number;
  /** With TLS: the CA certificate to trust. */
  caCertPem?: string;
  /** Receives each step's description as it completes. */
  step: (description: string) => void;
}

/**
 * The example handler: web identity → STS → credentials → token → `AUTH` →
 * `SET`/`GET`, one connection, closed at the end.
 *
 * @param input The handler's environment and a step reporter.
 * @returns The value read back.
 * @throws {Error} If any step fails.
 */
export async function demoHandler(input: DemoHandlerInput): Promise<string> {
  const { fromWebToken } = await import("@aws-sdk/credential-provider-web-identity");
  const credentials = await fromWebToken({
    roleArn: input.roleArn,
    webIdentityToken: input.webIdentityToken,
    roleSessionName: "iam-demo",
    clientConfig: { endpoint: input.stsEndpoint, region: input.region },
  })();
  input.step(
    `STS AssumeRoleWithWebIdentity gave temporary credentials ${
      mask(credentials.accessKeyId)
    } for ${input.roleArn.split("/").pop()}, valid until ${
      credentials.expiration?.toISOString() ?? "(no expiry)"
    }`,
  );

  const token = await createAuthToken({
    replicationGroupId: input.replicationGroupId,
    userId: input.userId,
    region: input.region,
    credentials,
  });
  input.step(
    `Signed an IAM auth token (SigV4 presigned URL, ${token.length} characters) for '${input.replicationGroupId}' as '${input.userId}', valid 15 minutes`,
  );

  const { createClient } = await import("redis");
  input.step("Loaded node-redis (npm:redis)");
  const client = createClient({
    socket: input.caCertPem === undefined
      ? { host: input.host, port: input.port, reconnectStrategy: false }
      : {
        host: "localhost",
        port: input.port,
        tls: true,
        ca: input.caCertPem,
        reconnectStrategy: false,
      },
    username: input.userId,
    password: token,
  }) as unknown as RedisClientType;
  client.on("error", () => {}); // Failures surface as rejected commands.
  await client.connect();
  try {
    input.step(
      `Connected to the gateway ${
        input.caCertPem ? "over TLS " : ""
      }with node-redis and authenticated as '${input.userId}' (AUTH with the token as password)`,
    );
    const value = `hello from the IAM demo at ${new Date().toISOString()}`;
    const set = await client.set("demo:greeting", value);
    const got = await client.get("demo:greeting");
    input.step(`SET demo:greeting → ${set}; GET demo:greeting → "${got}"`);
    if (got !== value) throw new Error("Demo failed: GET did not return what SET stored");
    return got;
  } finally {
    client.destroy();
  }
}

/**
 * Runs `demo [--tls]`.
 *
 * @param args The flags.
 * @returns 0 when every step worked, 1 when one failed, 2 for bad flags.
 */
export async function run(args: string[]): Promise<number> {
  let tls = false;
  for (const arg of args) {
    if (arg === "--tls") tls = true;
    else {
      await writeStderr(`Error: unknown flag '${arg}'\n\n${USAGE}`);
      return 2;
    }
  }
  const started = performance.now();
  let last = started;
  let number = 0;
  const step = (description: string) => {
    const now = performance.now();
    number++;
    const line = `${String(number).padStart(2)}. ${description}`;
    const ms = `${(now - last).toFixed(0)} ms`;
    last = now;
    Deno.stdout.writeSync(new TextEncoder().encode(`${line}  (${ms})\n`));
  };
  await writeStdout(
    "ElastiCache IAM authentication, end to end, on this machine (no AWS account)\n\n",
  );
  let emu: Emulator | undefined;
  try {
    const version = await ensureRedisServer({
      log: (line) => Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`)),
    });
    step(`Found ${version.split(" ").slice(0, 3).join(" ")}`);

    emu = await startEmulator({ ...(tls ? { tls: true } : {}) });
    step(
      `Started the emulator: RESP gateway ${
        tls ? "rediss" : "redis"
      }://${emu.gateway.hostname}:${emu.gateway.port} in front of its own redis-server, STS ${emu.sts.endpoint}, OIDC issuer ${emu.oidc.issuer}`,
    );

    const webIdentityToken = await emu.oidc.mintToken({ sub: SUBJECT, aud: AUDIENCE });
    step(
      `Minted a web-identity JWT (RS256) for subject '${SUBJECT}', audience '${AUDIENCE}', valid 1 hour`,
    );

    await demoHandler({
      roleArn: emu.roleArn(),
      webIdentityToken,
      stsEndpoint: emu.sts.endpoint,
      region: emu.region,
      replicationGroupId: CACHE,
      userId: USER,
      host: emu.gateway.hostname,
      port: emu.gateway.port,
      ...(emu.gateway.caCertPem ? { caCertPem: emu.gateway.caCertPem } : {}),
      step,
    });

    const refusal = await refusedToken(emu);
    step(`A token signed for another cache name is refused, as ElastiCache does: ${refusal}`);
  } catch (error) {
    await writeStderr(`\nError: ${(error as Error).message}\n`);
    return 1;
  } finally {
    if (emu !== undefined) {
      await emu.close();
      step("Stopped the emulator and its redis-server");
    }
  }
  await writeStdout(`\nDone in ${(performance.now() - started).toFixed(0)} ms.\n`);
  return 0;
}

/** Sends `AUTH` with a token for the wrong cache name and returns the gateway's reply. */
async function refusedToken(emu: Emulator): Promise<string> {
  const jwt = await emu.oidc.mintToken({ sub: SUBJECT, aud: AUDIENCE });
  const { fromWebToken } = await import("@aws-sdk/credential-provider-web-identity");
  const credentials = await fromWebToken({
    roleArn: emu.roleArn(),
    webIdentityToken: jwt,
    roleSessionName: "iam-demo",
    clientConfig: { endpoint: emu.sts.endpoint, region: emu.region },
  })();
  const token = await createAuthToken({
    replicationGroupId: "some-other-cache",
    userId: USER,
    region: emu.region,
    credentials,
  });
  const conn = emu.gateway.tls
    ? await Deno.connectTls({
      hostname: "localhost",
      port: emu.gateway.port,
      caCerts: [emu.gateway.caCertPem!],
    })
    : await Deno.connect({ hostname: emu.gateway.hostname, port: emu.gateway.port });
  try {
    const encoder = new TextEncoder();
    const args = ["AUTH", USER, token];
    await conn.write(
      encoder.encode(
        `*3\r\n${args.map((a) => `$${encoder.encode(a).length}\r\n${a}\r\n`).join("")}`,
      ),
    );
    const buffer = new Uint8Array(512);
    const n = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).trim().replace(/^-/, "");
  } finally {
    conn.close();
  }
}

/** An access key id with its middle hidden: `ASIA…WXYZ`. */
function mask(accessKeyId: string): string {
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}
