/**
 * OpenTelemetry traces and metrics for `@elasticache-iam/connector`: one call,
 * {@linkcode instrument}, records every command, pipeline and transaction as
 * a client span with the semantic conventions' Redis attributes, the
 * connection handshakes and re-authentications as spans, and the operation
 * duration, token mints, refusals and reconnects as metrics, through
 * `@opentelemetry/api` (Deno's built-in OpenTelemetry with `OTEL_DENO=true`,
 * or any SDK). No token, password or key is recorded.
 *
 * @example Record through the global providers
 * ```ts
 * import { instrument } from "./mod.ts";
 *
 * using _telemetry = instrument(); // until the end of the scope
 * ```
 *
 * @module
 */

export { instrument, type Instrumentation, type InstrumentOptions } from "./src/instrument.ts";
