/**
 * valkey-glide's cluster client, as the README's glide section sets it up
 * (credentials from this module's token manager, `updateConnectionPassword`
 * to re-authenticate), against the emulator's serverless cache with a public
 * endpoint: TLS 1.3 with the emulator's CA (glide's `rootCertificates`),
 * `ResourceType=ServerlessCache` tokens, discovery of the one virtual node
 * and its reader, `SET`/`GET`, reads from the reader endpoint with
 * `readFrom: "preferReplica"`, and no redirect.
 */

import assert from "node:assert/strict";
import { GlideClusterClient } from "@valkey/valkey-glide";
import { type CacheEndpoint, type GatewayAddress, startEmulator } from "@elasticache-iam/emulator";
import { connect } from "../src/client.ts";
import { IamAuth } from "../src/iam_auth.ts";

const CACHE = "serverless-cache-01";
const USER = "iam-user-01";
const KEYS = {
  accessKeyId: "AKIAEMULATORGLIDE001",
  secretAccessKey: "glide/serverless/test/secret/key/000000",
};

Deno.test("valkey-glide's GlideClusterClient with this module's tokens works against a serverless public endpoint: TLS 1.3, SET/GET, reads from the reader endpoint with readFrom preferReplica, live re-auth", async () => {
  const log: string[] = [];
  await using emu = await startEmulator({
    caches: [{ serverlessCacheName: CACHE, publicEndpoint: true }],
    iamUsers: [{
      userName: "app",
      accessKeys: [KEYS],
      policies: [{
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "elasticache:Connect", Resource: "*" }],
      }],
    }],
    log: (line) => log.push(line),
  });
  const endpoint: CacheEndpoint = emu.endpoint(CACHE);
  const reader = endpoint.reader!;
  using auth = new IamAuth({
    serverlessCacheName: CACHE,
    userId: USER,
    region: emu.region,
    credentials: KEYS,
    now: () => emu.clock.now(),
  });
  /** `INFO commandstats` / `errorstats` counters of an endpoint's server. */
  const stats = async (address: GatewayAddress) => {
    await using client = await connect({
      host: address.hostname,
      port: address.port,
      tls: true,
      caCerts: endpoint.caCertPem!,
      auth,
    });
    const text = `${await client.send(["INFO", "commandstats"])}\n${await client.send([
      "INFO",
      "errorstats",
    ])}`;
    return (name: string) =>
      Number(new RegExp(`^${name}:(?:calls|count)=(\\d+)`, "m").exec(text)?.[1] ?? 0);
  };
  const accepted = (at: "gateway" | "reader gateway") =>
    log.filter((line) =>
      line.startsWith(`${CACHE} ${at}: `) && / AUTH as 'iam-user-01' .*accepted/.test(line)
    ).length;

  const { username, password } = await auth.credentials();
  assert.match(password, /ResourceType=ServerlessCache/);
  const client = await GlideClusterClient.createClient({
    addresses: [{ host: endpoint.hostname, port: endpoint.port }],
    useTLS: true,
    credentials: { username: username!, password },
    readFrom: "preferReplica",
    advancedConfiguration: {
      tlsAdvancedConfiguration: { rootCertificates: endpoint.caCertPem! },
    },
  });
  try {
    assert.ok(accepted("gateway") >= 1, "glide authenticated at the endpoint");
    assert.ok(accepted("reader gateway") >= 1, "and at the reader it discovered");
    const keys = Array.from({ length: 20 }, (_, i) => `glide:${i}`);
    for (const key of keys) assert.equal(await client.set(key, key.toUpperCase()), "OK");
    // The writes are on the reader's replica before the reads.
    assert.equal(await client.customCommand(["WAIT", "1", "5000"]), 1);
    const readerBefore = await stats(reader);
    const endpointBefore = await stats(endpoint);
    for (const key of keys) assert.equal(await client.get(key), key.toUpperCase());
    const readerAfter = await stats(reader);
    const endpointAfter = await stats(endpoint);
    assert.equal(
      readerAfter("cmdstat_get") - readerBefore("cmdstat_get"),
      keys.length,
      "every GET at the reader endpoint",
    );
    assert.equal(endpointAfter("cmdstat_get"), endpointBefore("cmdstat_get"));
    for (const counters of [readerAfter, endpointAfter]) {
      assert.equal(counters("errorstat_MOVED") + counters("errorstat_ASK"), 0, "no redirect");
    }

    // What the README's 11-hour timer does: every live connection re-authenticates.
    const [atEndpoint, atReader] = [accepted("gateway"), accepted("reader gateway")];
    const { password: current } = await auth.credentials();
    assert.equal(await client.updateConnectionPassword(current, true), "OK");
    assert.ok(accepted("gateway") > atEndpoint, "re-authenticated at the endpoint");
    assert.ok(accepted("reader gateway") > atReader, "and at the reader");
    assert.equal(await client.get(keys[0]!), keys[0]!.toUpperCase());
  } finally {
    client.close();
  }
  assert.ok(!log.some((line) => / refused/.test(line)), log.join("\n"));
});
