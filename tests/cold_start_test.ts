/**
 * The cold-start measures: each does what the plain call would, and leaves
 * no trace (the `Headers` global as it was, timers that cancel, one TLS
 * warm-up per process).
 *
 * @module
 */
import assert from "node:assert/strict";
import { AwsV4Signer } from "aws4fetch";
import {
  signalTimeout,
  SignalTimer,
  WARM_UP_FRAMES,
  warmUpDecoder,
  warmUpTls,
  withPresignHeaders,
} from "../src/cold_start.ts";
import { RespDecoder } from "../src/resp/decoder.ts";
import type { RespValue } from "../src/resp/types.ts";

Deno.test("withPresignHeaders: AwsV4Signer signs exactly as AwsV4Signer with the platform's Headers, and restores the global", async () => {
  const init = {
    url: "https://replication-group-01/?Action=connect&User=iam-user-01&X-Amz-Expires=900",
    method: "GET",
    service: "elasticache",
    region: "us-east-1",
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    sessionToken: "session-token",
    datetime: "20261123T120000Z",
    signQuery: true,
  } as const;
  const before = Object.getOwnPropertyDescriptor(globalThis, "Headers");
  let seen: unknown;
  const signer = withPresignHeaders(() => {
    seen = globalThis.Headers;
    return new AwsV4Signer(init);
  });
  assert.notEqual(seen, before?.value, "the constructor ran with the minimal Headers");
  const swapped = await signer.sign();
  assert.deepEqual(Object.getOwnPropertyDescriptor(globalThis, "Headers"), before);
  const plain = await new AwsV4Signer(init).sign();
  assert.equal(swapped.url.toString(), plain.url.toString());
  assert.match(swapped.url.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
});

Deno.test("warmUpTls runs once per process and never rejects", async () => {
  const first = warmUpTls();
  assert.equal(warmUpTls(), first);
  assert.equal(await first, undefined);
});

Deno.test("signalTimeout runs on Deno; a cancelled SignalTimer never fires", async () => {
  const start = signalTimeout;
  assert.ok(start !== undefined);
  let cancelledFired = false;
  const cancelled = start(() => cancelledFired = true, 5);
  assert.ok(cancelled instanceof SignalTimer);
  cancelled.cancel();
  cancelled.cancel(); // twice is harmless
  let fired = 0;
  await new Promise<void>((resolve) =>
    start(() => {
      fired++;
      resolve();
    }, 20)
  );
  assert.equal(fired, 1);
  assert.equal(cancelledFired, false);
});

Deno.test("the warm-up frames decode to a HELLO map, a bulk string, a null and OK; warming up twice is harmless", () => {
  const decoder = new RespDecoder();
  decoder.push(new TextEncoder().encode(WARM_UP_FRAMES));
  const hello = decoder.read() as Map<RespValue, RespValue>;
  assert.equal(hello.get("server"), "redis");
  assert.equal(hello.get("proto"), 3);
  assert.deepEqual(hello.get("modules"), []);
  assert.equal(decoder.read(), "value");
  assert.equal(decoder.read(), null);
  assert.equal(decoder.read(), "OK");
  assert.equal(decoder.read(), undefined, "nothing left over");
  let created = 0;
  const create = () => {
    created++;
    return new RespDecoder();
  };
  warmUpDecoder(create);
  warmUpDecoder(create);
  assert.equal(created, 1, "once per process");
  const after = new RespDecoder();
  after.push(new TextEncoder().encode("$2\r\nhi\r\n"));
  assert.equal(after.read(), "hi");
});
