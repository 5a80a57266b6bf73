/**
 * Throughput of the thin client with OpenTelemetry on: `instrument()` from
 * `@elasticache-iam/otel` with the OpenTelemetry SDK's providers, as a
 * production setup has them (every span sampled, batched by a
 * `BatchSpanProcessor`; metrics aggregated by a periodic reader), exporting
 * to exporters that drop what they get, so that what is measured is the
 * instrumentation and the SDK, not a network. Otherwise `throughput_thin.ts`.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
import { BatchSpanProcessor, TracerProvider } from "npm:@opentelemetry/sdk-trace@3.1.1";
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  // deno-lint-ignore no-import-prefix -- a bench-only peer, kept out of the module's import map
} from "npm:@opentelemetry/sdk-metrics@3.1.1";
import { instrument } from "@elasticache-iam/otel";
import { connect } from "../../mod.ts";
import { measure, workload } from "./_throughput.ts";

/** An exporter that drops everything, at once. */
const dropping = {
  export(_items: unknown, done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};

const tracerProvider = new TracerProvider({
  spanProcessors: [new BatchSpanProcessor({ exporter: dropping as never })],
});
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({ exporter: dropping as never, exportIntervalMillis: 1000 }),
  ],
});
const telemetry = instrument({ tracerProvider, meterProvider });

const load = workload();
const client = await connect({ host: load.host, port: load.port, tls: false });
const { key, value } = load;

await measure({
  set(depth) {
    if (depth === 1) return client.set(key, value);
    const pipeline = client.pipeline();
    for (let i = 0; i < depth; i++) pipeline.set(key, value);
    return pipeline.exec();
  },
  get(depth) {
    if (depth === 1) return client.get(key);
    const pipeline = client.pipeline();
    for (let i = 0; i < depth; i++) pipeline.get(key);
    return pipeline.exec();
  },
  async close() {
    telemetry.stop();
    await client.close();
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
  },
}, load);
