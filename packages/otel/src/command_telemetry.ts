/**
 * Commands as OpenTelemetry data: a client span per command, pipeline or
 * transaction, and the `db.client.operation.duration` histogram, both with
 * the attributes the semantic conventions for database clients give Redis.
 *
 * @module
 */

import {
  type Attributes,
  context,
  type Histogram,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from "@opentelemetry/api";
import { type CommandContext, type Observer, ReplyError } from "@elasticache-iam/connector";

/** `db.system.name` of every command and connection. */
export const DB_SYSTEM_NAME = "redis";

/**
 * The bucket boundaries of `db.client.operation.duration`, in seconds, as the
 * semantic conventions advise.
 */
export const DURATION_BUCKETS: number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/**
 * The `error.type` of a failure: a Redis error reply's code (`WRONGTYPE`,
 * `ERR`), else the error's class name (`TimeoutError`).
 *
 * @param error What the command (or handshake) failed with.
 * @returns A value of low cardinality, never the error's message.
 */
export function errorType(error: Error): string {
  if (error instanceof ReplyError && error.code !== "") return error.code;
  return error.name || "_OTHER";
}

/** What {@linkcode commandObserver} keeps between a command's start and end. */
interface Started {
  readonly span: Span;
  /** The metric's attributes (the span's, less the query text and batch size). */
  readonly attributes: Attributes;
  readonly start: number;
}

/** Where command data goes. */
export interface CommandTelemetryOptions {
  /** Makes the command spans. */
  readonly tracer: Tracer;
  /** `db.client.operation.duration`. */
  readonly duration: Histogram;
  /** Whether spans carry `db.query.text` (the arguments, values hidden). */
  readonly queryText: boolean;
}

/**
 * The observer that turns commands into spans and durations.
 *
 * @param options The tracer, the histogram, and whether to show the query text.
 * @returns `commandStart` and `commandEnd` for the core's `observe()`.
 */
export function commandObserver(
  options: CommandTelemetryOptions,
): Required<Pick<Observer, "commandStart" | "commandEnd">> {
  const { tracer, duration, queryText } = options;
  return {
    commandStart(command: CommandContext): Started {
      const attributes: Attributes = {
        "db.system.name": DB_SYSTEM_NAME,
        "db.operation.name": command.command,
        "server.address": command.serverAddress,
        "server.port": command.serverPort,
      };
      const spanAttributes: Attributes = { ...attributes };
      // The conventions count a batch from two operations on.
      if (command.batchSize !== undefined && command.batchSize >= 2) {
        spanAttributes["db.operation.batch.size"] = command.batchSize;
      }
      if (queryText && command.args.length > 0) {
        spanAttributes["db.query.text"] = command.args.join(" ");
      }
      const span = tracer.startSpan(
        command.command,
        { kind: SpanKind.CLIENT, attributes: spanAttributes },
        context.active(),
      );
      return { span, attributes, start: performance.now() };
    },
    commandEnd(state: unknown, error: Error | undefined): void {
      if (state === undefined) return; // commandStart failed
      const { span, attributes, start } = state as Started;
      const seconds = (performance.now() - start) / 1000;
      if (error !== undefined) {
        const type = errorType(error);
        // No description: an error reply may quote the command's arguments.
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute("error.type", type);
        duration.record(seconds, { ...attributes, "error.type": type });
      } else {
        duration.record(seconds, attributes);
      }
      span.end();
    },
  };
}
