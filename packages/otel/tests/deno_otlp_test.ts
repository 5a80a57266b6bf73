/**
 * `examples/deno_otel.ts` under Deno's built-in OpenTelemetry
 * (`OTEL_DENO=true`), against the emulator, exporting OTLP/HTTP in JSON to a
 * receiver in this test: `instrument()` with no options reaches Deno's
 * exporter, and the command spans and `db.client.operation.duration` arrive.
 */

import assert from "node:assert/strict";
import { exampleEnvironment, run, startIamEmulator } from "../../../tests/_helpers/iam_emulator.ts";

/** An OTLP `AnyValue` in JSON. */
interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

interface KeyValue {
  key: string;
  value: AnyValue;
}

interface OtlpSpan {
  name: string;
  kind: number;
  attributes?: KeyValue[];
}

interface OtlpMetric {
  name: string;
  unit?: string;
  histogram?: { dataPoints: { attributes?: KeyValue[]; count: string | number }[] };
  sum?: { dataPoints: { attributes?: KeyValue[]; asInt?: string | number }[] };
}

interface Scoped<T> {
  scope?: { name: string };
  items: T[];
}

/** An OTLP/HTTP receiver (`http/json`) on loopback that keeps what it gets. */
function startReceiver() {
  const bodies: { path: string; json: Record<string, unknown>; text: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const text = await request.text();
      if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
        return new Response("Only http/json here", { status: 415 });
      }
      bodies.push({ path, json: JSON.parse(text), text });
      return Response.json({});
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    bodies,
    /** The resource attributes, scope and spans of every `/v1/traces` request. */
    spans(): { service: string | undefined; scoped: Scoped<OtlpSpan> }[] {
      return bodies.filter((b) => b.path === "/v1/traces").flatMap(({ json }) =>
        (json.resourceSpans as {
          resource?: { attributes?: KeyValue[] };
          scopeSpans?: { scope?: { name: string }; spans?: OtlpSpan[] }[];
        }[]).flatMap((resource) =>
          (resource.scopeSpans ?? []).map((scoped) => ({
            service: attribute(resource.resource?.attributes, "service.name") as string,
            scoped: { items: scoped.spans ?? [], ...(scoped.scope ? { scope: scoped.scope } : {}) },
          }))
        )
      );
    },
    /** The metrics of every `/v1/metrics` request, with their scope. */
    metrics(): Scoped<OtlpMetric>[] {
      return bodies.filter((b) => b.path === "/v1/metrics").flatMap(({ json }) =>
        (json.resourceMetrics as {
          scopeMetrics?: { scope?: { name: string }; metrics?: OtlpMetric[] }[];
        }[]).flatMap((resource) =>
          (resource.scopeMetrics ?? []).map((scoped) => ({
            items: scoped.metrics ?? [],
            ...(scoped.scope ? { scope: scoped.scope } : {}),
          }))
        )
      );
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** An attribute's value, as a plain value. */
function attribute(attributes: KeyValue[] | undefined, key: string): unknown {
  const value = attributes?.find((a) => a.key === key)?.value;
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.boolValue !== undefined) return value.boolValue;
  return value.doubleValue;
}

Deno.test("examples/deno_otel.ts with OTEL_DENO=true exports command spans and db.client.operation.duration over OTLP", async () => {
  await using receiver = startReceiver();
  await using env = await startIamEmulator();
  await using example = await exampleEnvironment(env);
  const result = await run(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "packages/otel/examples/deno_otel.ts",
  ], {
    ...example.vars,
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_SERVICE_NAME: "otel-example-test",
    OTEL_METRIC_EXPORT_INTERVAL: "200",
    OTEL_DENO_CONSOLE: "ignore",
    NO_COLOR: "1",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^GET example:otel -> hello from Deno$/m);
  assert.match(result.stdout, /^INCR example:otel:runs -> 1$/m);

  const port = env.emu.gateway.port;
  const ours = receiver.spans().filter(({ scoped }) =>
    scoped.scope?.name === "@elasticache-iam/otel"
  );
  assert.ok(ours.length > 0, `spans of @elasticache-iam/otel in ${receiver.spans().length}`);
  assert.ok(ours.every(({ service }) => service === "otel-example-test"), "the service name");
  const spans = ours.flatMap(({ scoped }) => scoped.items);
  assert.deepEqual(spans.map((span) => span.name).sort(), [
    "GET",
    "PIPELINE",
    "SET",
    "connect",
  ]);
  const get = spans.find((span) => span.name === "GET")!;
  assert.equal(get.kind, 3, "SPAN_KIND_CLIENT");
  assert.equal(attribute(get.attributes, "db.system.name"), "redis");
  assert.equal(attribute(get.attributes, "db.operation.name"), "GET");
  assert.equal(attribute(get.attributes, "server.address"), "127.0.0.1");
  assert.equal(attribute(get.attributes, "server.port"), port);
  const pipeline = spans.find((span) => span.name === "PIPELINE")!;
  assert.equal(attribute(pipeline.attributes, "db.operation.batch.size"), 2);

  const metrics = receiver.metrics()
    .filter((scoped) => scoped.scope?.name === "@elasticache-iam/otel")
    .flatMap((scoped) => scoped.items);
  const durations = metrics.filter((metric) => metric.name === "db.client.operation.duration");
  assert.ok(durations.length > 0, "db.client.operation.duration exported");
  assert.equal(durations[0]!.unit, "s");
  const getPoint = durations.flatMap((metric) => metric.histogram?.dataPoints ?? []).find(
    (point) => attribute(point.attributes, "db.operation.name") === "GET",
  );
  assert.ok(getPoint, "a GET data point");
  assert.equal(attribute(getPoint.attributes, "db.system.name"), "redis");
  assert.equal(Number(getPoint.count), 1);
  const mints = metrics.find((metric) => metric.name === "elasticache_iam.token.mints");
  assert.equal(
    attribute(mints?.sum?.dataPoints[0]?.attributes, "elasticache_iam.cache"),
    "replication-group-01",
  );

  // Nothing of a signed token went out.
  for (const { text } of receiver.bodies) assert.doesNotMatch(text, /X-Amz-|hello from Deno/);
});
