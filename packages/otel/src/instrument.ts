/**
 * {@linkcode instrument}: the one call that sends what
 * `@elasticache-iam/connector` observes to OpenTelemetry.
 *
 * @module
 */

import { type Meter, metrics, trace, type Tracer } from "@opentelemetry/api";
import { observe } from "@elasticache-iam/connector";
import config from "../deno.json" with { type: "json" };
import { commandObserver, DURATION_BUCKETS } from "./command_telemetry.ts";
import { lifecycleTelemetry } from "./lifecycle_telemetry.ts";

/** The instrumentation scope of every span and metric: this package's name. */
const SCOPE = config.name;

/** Options of {@linkcode instrument}. */
export interface InstrumentOptions {
  /**
   * Where spans go: a `TracerProvider` of `@opentelemetry/api` 1.x, such as
   * an SDK's. (Declared by the one method used, so that this package's
   * documentation need not carry the API's types.)
   *
   * @default {trace.getTracerProvider()} the global one (Deno's, with `OTEL_DENO=true`)
   */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /**
   * Where metrics go: a `MeterProvider` of `@opentelemetry/api` 1.x, such as
   * an SDK's.
   *
   * @default {metrics.getMeterProvider()} the global one, as registered when `instrument()` is called
   */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
  /**
   * Whether command spans carry `db.query.text`: the command and its
   * arguments, with the values a command may hide (`SET`'s value, every
   * argument of `AUTH` and `HELLO`) replaced by `?`.
   *
   * @default {false}
   */
  queryText?: boolean;
}

/** A running instrumentation; dispose of it (or call `stop()`) to stop recording. */
export interface Instrumentation extends Disposable {
  /**
   * Stops recording: commands sent from then on and later events make no
   * span or metric (those already sent still end theirs), and the `connect`
   * and `reauth` spans still open end. Calling it again does nothing.
   */
  stop(): void;
}

/**
 * Records every client of `@elasticache-iam/connector` in this process
 * (thin client, cluster client, `IamAuth`) as OpenTelemetry spans and
 * metrics, through `@opentelemetry/api`: a client span per command,
 * pipeline and transaction, `connect` and `reauth` spans, and
 * `db.client.operation.duration` with the token, refusal, re-authentication
 * and reconnect counters. No token, password or key is recorded.
 *
 * @param options The providers to use instead of the global ones, and whether to record query text.
 * @returns The running instrumentation; `stop()` it (or `using` it) to stop.
 * @throws {TypeError} When a provider given has no `getTracer` / `getMeter` method.
 *
 * @example With the global providers (Deno's, under `OTEL_DENO=true`)
 * ```ts
 * import { instrument } from "@elasticache-iam/otel";
 *
 * using telemetry = instrument();
 * // Every command of every client from here on is a span.
 * telemetry.stop(); // or leave the scope
 * ```
 *
 * @example With an SDK's providers, and the query text
 * ```ts
 * import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
 * import { MeterProvider } from "@opentelemetry/sdk-metrics";
 * import { instrument } from "@elasticache-iam/otel";
 *
 * const exporter = new InMemorySpanExporter();
 * const tracerProvider = new TracerProvider({
 *   spanProcessors: [new SimpleSpanProcessor({ exporter })],
 * });
 * const telemetry = instrument({ tracerProvider, meterProvider: new MeterProvider(), queryText: true });
 * // Commands sent now are spans in `exporter.getFinishedSpans()`, such as
 * // "SET" with db.query.text "SET greeting ?".
 * telemetry.stop();
 * ```
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot instrument: 'options' must be an object, got ${typeof options}`);
  }
  const { tracerProvider = trace.getTracerProvider(), meterProvider = metrics.getMeterProvider() } =
    options;
  if (typeof tracerProvider?.getTracer !== "function") {
    throw new TypeError(
      `Cannot instrument: 'tracerProvider' must have a getTracer method, got ${typeof tracerProvider}`,
    );
  }
  if (typeof meterProvider?.getMeter !== "function") {
    throw new TypeError(
      `Cannot instrument: 'meterProvider' must have a getMeter method, got ${typeof meterProvider}`,
    );
  }
  const tracer = tracerProvider.getTracer(SCOPE, config.version) as Tracer;
  const meter = meterProvider.getMeter(SCOPE, config.version) as Meter;
  const duration = meter.createHistogram("db.client.operation.duration", {
    description: "Duration of database client operations.",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const lifecycle = lifecycleTelemetry(tracer, meter);
  const unsubscribe = observe({
    event: lifecycle.event,
    ...commandObserver({ tracer, duration, queryText: options.queryText === true }),
  });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    lifecycle.stop();
  };
  return { stop, [Symbol.dispose]: stop };
}
