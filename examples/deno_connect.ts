// deno-lint-ignore-file no-console -- examples print what they do
/**
 * The whole IAM flow on one machine, through the thin client: an OIDC token
 * from the emulator's issuer, exchanged with its STS for role credentials,
 * signed into an IAM auth token, and used for `HELLO 3 AUTH` over TLS.
 * Against ElastiCache, drop the emulator and pass your cache's host, name and user.
 *
 * ```sh
 * deno run -A examples/deno_connect.ts
 * ```
 *
 * @module
 */

import { connect, fromWebIdentity, IamAuth } from "../mod.ts";
import { startEmulator } from "@elasticache-iam/emulator";

await using emu = await startEmulator({ tls: true });
const credentials = fromWebIdentity({
  roleArn: emu.roleArn(),
  webIdentityToken: () => emu.oidc.mintToken({ sub: "example", aud: "sts.amazonaws.com" }),
  stsEndpoint: emu.sts.endpoint,
  region: emu.region,
});
using auth = new IamAuth({
  replicationGroupId: "replication-group-01",
  userId: "iam-user-01",
  region: emu.region,
  credentials,
});
const { hostname, port, caCertPem } = emu.gateway;
await using client = await connect({ host: hostname, port, tls: true, caCerts: caCertPem!, auth });
await client.set("greeting", "hello from IAM", { ex: 60 });
console.log(await client.get("greeting"));
