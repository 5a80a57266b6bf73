/**
 * The `demo` command (`deno task demo`): the whole IAM flow on one machine,
 * printed step by step with timings and never a secret. It makes sure
 * `redis-server` is installed, starts the emulator, mints a web-identity
 * JWT, and runs an example handler that goes JWT → STS → temporary
 * credentials → IAM auth token → `HELLO 3 AUTH` → `SET`/`GET` through the
 * gateway with the module's thin client, then shows a token for the wrong cache being refused, and
 * stops everything it started.
 *
 * @module
 */

import {
  AuthenticationError,
  connect,
  createAuthToken,
  fromWebIdentity,
  IamAuth,
  ReplyError,
} from "@elasticache-iam/connector";
import { ensureRedisServer } from "../ensure_redis_server.ts";
import { type Emulator, startEmulator } from "../../mod.ts";
import { wantsHelp, writeStderr, writeStdout } from "@elasticache-iam/connector/internal";
import { DEMO_HELP, USAGE } from "./help.ts";

const CACHE = "replication-group-01";
const USER = "iam-user-01";
const SUBJECT = "demo-app";
const AUDIENCE = "sts.amazonaws.com";

/** What the example handler gets: what a function would find in its environment. */
export interface DemoHandlerInput {
  /** The role to assume. */
  roleArn: string;
  /** Returns the web-identity token (an OIDC JWT), as GitHub Actions or Deno Deploy would. */
  webIdentityToken: () => Promise<string>;
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
 * The example handler: web identity → STS → credentials → token →
 * `HELLO 3 AUTH` → `SET`/`GET` with the thin client, one connection, closed
 * at the end.
 *
 * @param input The handler's environment and a step reporter.
 * @returns The value read back.
 * @throws {Error} If any step fails.
 */
export async function demoHandler(input: DemoHandlerInput): Promise<string> {
  const credentials = fromWebIdentity({
    roleArn: input.roleArn,
    webIdentityToken: input.webIdentityToken,
    roleSessionName: "iam-demo",
    stsEndpoint: input.stsEndpoint,
    region: input.region,
  });
  const keys = await credentials();
  input.step(
    `STS AssumeRoleWithWebIdentity gave temporary credentials ${mask(keys.accessKeyId)} for ${
      input.roleArn.split("/").pop()
    }, valid until ${keys.expiration?.toISOString() ?? "(no expiry)"}`,
  );

  using auth = new IamAuth({
    replicationGroupId: input.replicationGroupId,
    userId: input.userId,
    region: input.region,
    credentials,
  });
  const { password } = await auth.credentials();
  input.step(
    `Signed an IAM auth token (SigV4 presigned URL, ${password.length} characters) for '${input.replicationGroupId}' as '${input.userId}', valid 15 minutes`,
  );

  await using client = await connect({
    host: input.host,
    port: input.port,
    ...(input.caCertPem === undefined ? {} : { tls: true, caCerts: input.caCertPem }),
    auth,
  });
  input.step(
    `Connected to the gateway ${
      input.caCertPem ? "over TLS " : ""
    }with the thin client and authenticated as '${input.userId}' (HELLO 3 AUTH with the token, before any command)`,
  );
  const value = `hello from the IAM demo at ${new Date().toISOString()}`;
  const set = await client.set("demo:greeting", value);
  const got = await client.get("demo:greeting");
  input.step(`SET demo:greeting → ${set}; GET demo:greeting → "${got}"`);
  if (got !== value) throw new Error("Demo failed: GET did not return what SET stored");
  return got;
}

/**
 * Runs `demo [--tls]` (`--help`: prints its help).
 *
 * @param args The flags.
 * @returns 0 when every step worked (or after the help), 1 when one failed, 2 for bad flags.
 */
export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    await writeStdout(DEMO_HELP);
    return 0;
  }
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

    const jwt = await emu.oidc.mintToken({ sub: SUBJECT, aud: AUDIENCE });
    step(
      `Minted a web-identity JWT (RS256) for subject '${SUBJECT}', audience '${AUDIENCE}', valid 1 hour`,
    );

    await demoHandler({
      roleArn: emu.roleArn(),
      webIdentityToken: () => Promise.resolve(jwt),
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

/** Connects with a token for the wrong cache name and returns the gateway's refusal. */
async function refusedToken(emu: Emulator): Promise<string> {
  const credentials = fromWebIdentity({
    roleArn: emu.roleArn(),
    webIdentityToken: () => emu.oidc.mintToken({ sub: SUBJECT, aud: AUDIENCE }),
    roleSessionName: "iam-demo",
    stsEndpoint: emu.sts.endpoint,
    region: emu.region,
  });
  const token = await createAuthToken({
    replicationGroupId: "some-other-cache",
    userId: USER,
    region: emu.region,
    credentials,
  });
  try {
    const client = await connect({
      host: emu.gateway.hostname,
      port: emu.gateway.port,
      ...(emu.gateway.caCertPem ? { tls: true, caCerts: emu.gateway.caCertPem } : {}),
      auth: { username: USER, password: token },
      reconnect: false,
    });
    await client.close();
  } catch (error) {
    if (error instanceof AuthenticationError && error.cause instanceof ReplyError) {
      return error.cause.message;
    }
    throw error;
  }
  throw new Error("Demo failed: the gateway accepted a token signed for another cache");
}

/** An access key id with its middle hidden: `ASIA…WXYZ`. */
function mask(accessKeyId: string): string {
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}
