/**
 * Round trips and signing work of this module's thin client over one
 * process' life, as a serverless function sees it:
 *
 * 1. `new`: the first invocation: credentials, a token, a new connection, `GET`;
 * 2. `warm`: a warm invocation on the open connection: `GET`;
 * 3. `cached-token`: a new connection (a reconnect) on the cached token: `GET`.
 *
 * Phases are 200 ms apart so the runner's delaying proxy can tell them apart.
 * Signatures are counted at `aws4fetch`'s signer, credential resolutions at
 * the provider.
 *
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
import { fromEnv, IamAuth } from "../../mod.ts";
import { connect } from "../../mod.ts";
import { env, now, reportAndExit } from "./_runtime.ts";

let signatures = 0;
const sign = AwsV4Signer.prototype.sign;
AwsV4Signer.prototype.sign = function (this: AwsV4Signer) {
  signatures++;
  return sign.call(this);
};
let resolutions = 0;
const fromEnvironment = fromEnv();

const auth = new IamAuth({
  replicationGroupId: env("BENCH_CACHE"),
  userId: env("BENCH_USER"),
  region: env("AWS_REGION"),
  credentials: () => {
    resolutions++;
    return fromEnvironment();
  },
});
const options = {
  host: env("BENCH_HOST"),
  port: Number(env("BENCH_PORT")),
  tls: true,
  caCerts: env("BENCH_CA_PEM"),
  auth,
};
const key = env("BENCH_KEY");

interface Phase {
  name: string;
  start: number;
  connected?: number;
  end: number;
  reply: string | null;
  signatures: number;
  resolutions: number;
}
const phases: Phase[] = [];

async function phase(name: string, run: () => Promise<string | null>, connected?: () => number) {
  const before = { signatures, resolutions };
  const start = now();
  const reply = await run();
  const end = now();
  phases.push({
    name,
    start,
    ...(connected ? { connected: connected() } : {}),
    end,
    reply,
    signatures: signatures - before.signatures,
    resolutions: resolutions - before.resolutions,
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
}

let first!: Awaited<ReturnType<typeof connect>>;
let connectedAt = 0;
await phase("new", async () => {
  first = await connect(options);
  connectedAt = now();
  return await first.get(key);
}, () => connectedAt);
await phase("warm", () => first.get(key));
await phase("cached-token", async () => {
  const second = await connect(options);
  connectedAt = now();
  return await second.get(key);
}, () => connectedAt);
reportAndExit({ phases });
