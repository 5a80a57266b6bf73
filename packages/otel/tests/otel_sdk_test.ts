/**
 * `instrument()` with the real OpenTelemetry SDK (in-memory span and metric
 * exporters) and real traffic through the emulator's IAM gateway: command,
 * batch and error spans with the semantic conventions' Redis attributes, the
 * query text hidden by default and sanitized when on, `connect` and `reauth`
 * spans, the duration histogram and the token, refusal, re-authentication
 * and reconnect counters, and no token anywhere in what is exported.
 */

import assert from "node:assert/strict";
import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  StackContextManager,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  connect,
  type ConnectOptions,
  type IamEvent,
  observe,
  type RedisClient,
} from "@elasticache-iam/connector";
import { instrument, type InstrumentOptions } from "../mod.ts";
import { type IamEmulator, startIamEmulator } from "../../../tests/_helpers/iam_emulator.ts";

/** The SDK with in-memory exporters, and what they hold. */
function inMemorySdk() {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })],
  });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported on demand only (forceFlush), never on its interval.
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: (): ReadableSpan[] => spanExporter.getFinishedSpans(),
    /** Every metric of this package, collected now. */
    async metrics(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const last = metricExporter.getMetrics().at(-1);
      const found = new Map<string, MetricData>();
      for (const scope of last?.scopeMetrics ?? []) {
        if (scope.scope.name !== "@elasticache-iam/otel") continue;
        for (const metric of scope.metrics) found.set(metric.descriptor.name, metric);
      }
      return found;
    },
    async [Symbol.asyncDispose]() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

type Sdk = ReturnType<typeof inMemorySdk>;

function instrumentSdk(sdk: Sdk, options: InstrumentOptions = {}) {
  return instrument({
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
    ...options,
  });
}

function connectTo(env: IamEmulator, options: Partial<ConnectOptions> = {}): Promise<RedisClient> {
  return connect({
    host: env.emu.gateway.hostname,
    port: env.emu.gateway.port,
    tls: true,
    caCerts: env.caCertPem,
    auth: env.auth,
    ...options,
  });
}

/** Resolves with the next event of this type, failing after `ms`. */
function nextEvent<T extends IamEvent["type"]>(
  type: T,
  ms = 10_000,
): Promise<Extract<IamEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`Timed out after ${ms} ms waiting for '${type}'`));
    }, ms);
    const stop = observe((event) => {
      if (event.type !== type) return;
      clearTimeout(timer);
      stop();
      resolve(event as Extract<IamEvent, { type: T }>);
    });
  });
}

/** The one span of this name. */
function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  assert.equal(found.length, 1, `one '${name}' span, got ${found.length}`);
  return found[0]!;
}

/** A metric's data points, by their attributes' JSON. */
function pointsOf<T>(metrics: Map<string, MetricData>, name: string): DataPoint<T>[] {
  const metric = metrics.get(name);
  assert.ok(metric, `metric '${name}' exported`);
  return metric.dataPoints as DataPoint<T>[];
}

function pointWith<T>(points: DataPoint<T>[], attributes: Record<string, unknown>): DataPoint<T> {
  const found = points.find((point) =>
    Object.entries(attributes).every(([key, value]) => point.attributes[key] === value) &&
    Object.keys(point.attributes).length === Object.keys(attributes).length
  );
  assert.ok(found, `a point with ${JSON.stringify(attributes)} in ${JSON.stringify(points)}`);
  return found;
}

/** Everything a backend would get, as text: span names, attributes, events, statuses; metric names and attributes. */
async function exportedText(sdk: Sdk): Promise<string> {
  const metrics = await sdk.metrics();
  return JSON.stringify({
    spans: sdk.spans().map((span) => ({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
    })),
    metrics: [...metrics.values()].map((metric) => ({
      name: metric.descriptor.name,
      points: metric.dataPoints.map((point) => point.attributes),
    })),
  });
}

/** GET, SET, a pipeline, a transaction and a command the server refuses. */
async function traffic(client: RedisClient): Promise<void> {
  await client.set("otel:greeting", "top secret value");
  assert.equal(await client.get("otel:greeting"), "top secret value");
  await client.pipeline().set("otel:a", "1").incr("otel:a").get("otel:a").exec();
  await client.multi().incr("otel:b").expire("otel:b", 60).exec();
  await assert.rejects(client.send(["LPUSH", "otel:greeting", "x"]), /WRONGTYPE/);
}

Deno.test("commands, a pipeline, a transaction and an error reply are client spans with the Redis attributes", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk);
  await using env = await startIamEmulator();
  const port = env.emu.gateway.port;
  const server = { "server.address": "127.0.0.1", "server.port": port };
  const redis = { "db.system.name": "redis", ...server };
  {
    await using client = await connectTo(env);
    await traffic(client);
  }
  const spans = sdk.spans();
  assert.deepEqual(
    spans.map((span) => span.name),
    ["connect", "SET", "GET", "PIPELINE", "MULTI", "LPUSH"],
  );
  for (const span of spans) {
    assert.equal(span.kind, SpanKind.CLIENT, span.name);
    assert.equal(span.instrumentationScope.name, "@elasticache-iam/otel");
    assert.equal(span.attributes["db.query.text"], undefined, "no query text by default");
  }

  const get = only(spans, "GET");
  assert.deepEqual(get.attributes, { ...redis, "db.operation.name": "GET" });
  assert.equal(get.status.code, SpanStatusCode.UNSET);
  assert.deepEqual(only(spans, "SET").attributes, { ...redis, "db.operation.name": "SET" });
  assert.deepEqual(only(spans, "PIPELINE").attributes, {
    ...redis,
    "db.operation.name": "PIPELINE",
    "db.operation.batch.size": 3,
  });
  // A transaction counts the commands it queues: INCR and EXPIRE, not MULTI and EXEC.
  assert.deepEqual(only(spans, "MULTI").attributes, {
    ...redis,
    "db.operation.name": "MULTI",
    "db.operation.batch.size": 2,
  });

  const failed = only(spans, "LPUSH");
  assert.equal(failed.status.code, SpanStatusCode.ERROR);
  assert.equal(failed.status.message, undefined, "no reply text: it may quote arguments");
  assert.deepEqual(failed.attributes, {
    ...redis,
    "db.operation.name": "LPUSH",
    "error.type": "WRONGTYPE",
  });

  const handshake = only(spans, "connect");
  assert.deepEqual(handshake.attributes, {
    ...redis,
    "elasticache_iam.attempt": 1,
    "elasticache_iam.user": "iam-user-01",
  });
  assert.equal(handshake.status.code, SpanStatusCode.UNSET);
  assert.ok(
    handshake.endTime[0] * 1e9 + handshake.endTime[1] <=
      get.startTime[0] * 1e9 + get.startTime[1],
    "the connect span ends before the first command",
  );

  // The token the connection sent is nowhere in the data, nor any piece of a signed URL.
  const { password } = await env.auth.credentials();
  assert.match(password, /X-Amz-Signature=/);
  const text = await exportedText(sdk);
  assert.ok(!text.includes(password), "no token");
  assert.ok(!text.includes(password.split("X-Amz-Signature=")[1]!), "no signature");
  assert.doesNotMatch(text, /X-Amz-|top secret value/);
});

Deno.test("command spans start in the active context", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk);
  await using env = await startIamEmulator();
  await using client = await connectTo(env);
  const manager = new StackContextManager().enable();
  context.setGlobalContextManager(manager);
  try {
    const parent: Span = sdk.tracerProvider.getTracer("test").startSpan("handle request");
    const reply = context.with(trace.setSpan(context.active(), parent), () => client.get("k"));
    assert.equal(await reply, null);
    parent.end();
    const get = only(sdk.spans(), "GET");
    assert.equal(get.parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(get.spanContext().traceId, parent.spanContext().traceId);
  } finally {
    context.disable();
  }
});

Deno.test("queryText: true records each command with the values it may hide replaced by '?'", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk, { queryText: true });
  await using env = await startIamEmulator();
  {
    await using client = await connectTo(env);
    await traffic(client);
  }
  const spans = sdk.spans();
  assert.equal(only(spans, "SET").attributes["db.query.text"], "SET otel:greeting ?");
  assert.equal(only(spans, "GET").attributes["db.query.text"], "GET otel:greeting");
  assert.equal(only(spans, "LPUSH").attributes["db.query.text"], "LPUSH otel:greeting ?");
  // A batch's span names the batch, not its commands.
  assert.equal(only(spans, "PIPELINE").attributes["db.query.text"], undefined);
  const { password } = await env.auth.credentials();
  const text = await exportedText(sdk);
  assert.ok(!text.includes(password), "no token");
  assert.doesNotMatch(text, /X-Amz-|top secret value|AUTH|HELLO/);
});

Deno.test("metrics: db.client.operation.duration per operation and error, token mints and their duration", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk);
  await using env = await startIamEmulator();
  {
    await using client = await connectTo(env);
    await traffic(client);
    await client.get("otel:greeting");
  }
  const metrics = await sdk.metrics();
  const server = { "server.address": "127.0.0.1", "server.port": env.emu.gateway.port };
  const redis = { "db.system.name": "redis", ...server };

  const duration = metrics.get("db.client.operation.duration")!;
  assert.equal(duration.descriptor.unit, "s");
  const operations = pointsOf<Histogram>(metrics, "db.client.operation.duration");
  const gets = pointWith(operations, { ...redis, "db.operation.name": "GET" }).value;
  assert.equal(gets.count, 2);
  assert.ok(gets.sum! > 0 && gets.max! < 10, `seconds, got ${gets.sum}`);
  assert.equal(
    pointWith(operations, { ...redis, "db.operation.name": "PIPELINE" }).value.count,
    1,
  );
  assert.equal(pointWith(operations, { ...redis, "db.operation.name": "MULTI" }).value.count, 1);
  assert.equal(
    pointWith(operations, { ...redis, "db.operation.name": "LPUSH", "error.type": "WRONGTYPE" })
      .value.count,
    1,
  );
  assert.equal(operations.length, 5, "SET, GET, PIPELINE, MULTI, LPUSH (failed)");

  const mint = { outcome: "success", "elasticache_iam.cache": "replication-group-01" };
  assert.equal(pointWith(pointsOf<number>(metrics, "elasticache_iam.token.mints"), mint).value, 1);
  const mintDuration = pointWith(
    pointsOf<Histogram>(metrics, "elasticache_iam.token.mint.duration"),
    mint,
  ).value;
  assert.equal(metrics.get("elasticache_iam.token.mint.duration")!.descriptor.unit, "s");
  assert.equal(mintDuration.count, 1);
  assert.ok(mintDuration.sum! > 0 && mintDuration.sum! < 10, `seconds, got ${mintDuration.sum}`);
  assert.equal(metrics.get("elasticache_iam.auth.failures"), undefined, "no refusal");
});

Deno.test("a refused user: a failed connect span, and a refusal then a final one counted", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk);
  await using env = await startIamEmulator({}, { userId: "not-a-cache-user" });
  await assert.rejects(connectTo(env), { name: "AuthenticationError" });

  const handshake = only(sdk.spans(), "connect");
  assert.equal(handshake.status.code, SpanStatusCode.ERROR);
  assert.match(handshake.status.message ?? "", /^Cannot authenticate to /);
  assert.equal(handshake.attributes["error.type"], "WRONGPASS");
  assert.equal(handshake.attributes["elasticache_iam.user"], "not-a-cache-user");
  assert.deepEqual(
    handshake.events.map((event) => [event.name, event.attributes]),
    [["auth refused", { "elasticache_iam.code": "WRONGPASS" }]],
  );

  const metrics = await sdk.metrics();
  const failures = pointsOf<number>(metrics, "elasticache_iam.auth.failures");
  const server = { "server.address": "127.0.0.1", "server.port": env.emu.gateway.port };
  const refusal = { ...server, "elasticache_iam.code": "WRONGPASS" };
  assert.equal(pointWith(failures, { ...refusal, "elasticache_iam.final": false }).value, 1);
  assert.equal(pointWith(failures, { ...refusal, "elasticache_iam.final": true }).value, 1);
  // The fresh token minted after the first refusal.
  const mints = pointsOf<number>(metrics, "elasticache_iam.token.mints");
  assert.equal(
    pointWith(mints, { outcome: "success", "elasticache_iam.cache": "replication-group-01" })
      .value,
    2,
  );
});

Deno.test("a re-authentication of the live connection is a reauth span and counted", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk);
  await using env = await startIamEmulator();
  await using client = await connectTo(env, { reauthAfter: 100 });
  await nextEvent("reauth:done");
  assert.equal(await client.get("k"), null, "the connection goes on");

  const reauth = sdk.spans().find((span) => span.name === "reauth");
  assert.ok(reauth, "a reauth span");
  assert.equal(reauth.kind, SpanKind.CLIENT);
  assert.equal(reauth.status.code, SpanStatusCode.UNSET);
  assert.deepEqual(reauth.attributes, {
    "db.system.name": "redis",
    "server.address": "127.0.0.1",
    "server.port": env.emu.gateway.port,
    "elasticache_iam.retry": false,
    "elasticache_iam.user": "iam-user-01",
  });
  const reauths = pointsOf<number>(await sdk.metrics(), "elasticache_iam.reauths");
  const done = pointWith(reauths, {
    "server.address": "127.0.0.1",
    "server.port": env.emu.gateway.port,
    outcome: "success",
  });
  assert.ok(done.value >= 1);
});

Deno.test("a connection the server cuts is reopened: a second connect span and a reconnect counted", async () => {
  await using sdk = inMemorySdk();
  using _telemetry = instrumentSdk(sdk);
  // The gateway's connection age cap (ElastiCache's 12 hours), with re-authentication off.
  await using env = await startIamEmulator({ connectionMaxAgeMs: 300 });
  const cut = nextEvent("connection:closed");
  const reopened = nextEvent("reconnect:succeeded");
  await using client = await connectTo(env, { reauthAfter: false });
  assert.equal(await client.get("k"), null);
  await cut;
  assert.equal(await client.get("k"), null, "sent on a new connection");
  await reopened;
  await client.close();

  const connects = sdk.spans().filter((span) => span.name === "connect");
  assert.ok(connects.length >= 2, `two connect spans, got ${connects.length}`);
  for (const span of connects) assert.equal(span.status.code, SpanStatusCode.UNSET);
  const reconnects = pointsOf<number>(await sdk.metrics(), "elasticache_iam.reconnects");
  const server = { "server.address": "127.0.0.1", "server.port": env.emu.gateway.port };
  assert.ok(pointWith(reconnects, server).value >= 1);
});

Deno.test("stop() ends recording; a provider without its method is a TypeError", async () => {
  await using sdk = inMemorySdk();
  const telemetry = instrumentSdk(sdk);
  telemetry.stop();
  telemetry.stop(); // twice is fine
  await using env = await startIamEmulator();
  {
    await using client = await connectTo(env);
    await client.get("k");
  }
  assert.deepEqual(sdk.spans(), []);
  assert.equal((await sdk.metrics()).size, 0);
  assert.throws(
    () => instrument({ tracerProvider: {} as never }),
    new TypeError("Cannot instrument: 'tracerProvider' must have a getTracer method, got object"),
  );
  assert.throws(() => instrument({ meterProvider: null as never }), TypeError);
});

Deno.test("connections opened at the same moment to one server each get a connect span that succeeded", async () => {
  await using env = await startIamEmulator();
  await using sdk = inMemorySdk();
  using _instrumented = instrumentSdk(sdk);
  const clients = await Promise.all(Array.from({ length: 5 }, () => connectTo(env)));
  try {
    const connects = sdk.spans().filter((span) => span.name === "connect");
    assert.equal(connects.length, 5);
    assert.deepEqual(connects.map((span) => span.status.code), Array(5).fill(SpanStatusCode.UNSET));
    assert.ok(connects.every((span) => span.attributes["error.type"] === undefined));
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
});
