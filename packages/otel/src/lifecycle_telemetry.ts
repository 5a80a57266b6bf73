/**
 * Lifecycle events as OpenTelemetry data: `connect` and `reauth` spans,
 * paired from the events that start and end them per server, and counters
 * and a histogram for token mints, refusals, re-authentications and
 * reconnects.
 *
 * Events name a server, not a connection: the spans open for one server
 * form a queue, and an event that ends one ends the oldest, so connections
 * opened at the same moment (a Worker connecting per request) each get a
 * span with the right outcome, their durations paired in order. At most
 * {@linkcode MAX_OPEN_PER_SERVER} stay open per server (a connection without
 * credentials publishes no auth event); past that the oldest ends unset.
 *
 * @module
 */

import {
  type Attributes,
  context,
  type Counter,
  type Histogram,
  type Meter,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from "@opentelemetry/api";
import type { IamEvent } from "@elasticache-iam/connector";
import { DB_SYSTEM_NAME, DURATION_BUCKETS, errorType } from "./command_telemetry.ts";

/** The instruments the events feed. */
interface Instruments {
  readonly mints: Counter;
  readonly mintDuration: Histogram;
  readonly authFailures: Counter;
  readonly reauths: Counter;
  readonly reconnects: Counter;
}

/**
 * `server.address` and `server.port` of a server as events name it
 * (`host:port`, `[::1]:6379`).
 *
 * @param server The event's `server`.
 * @returns The two attributes (the address alone when the label has no port).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverAttributes } from "./lifecycle_telemetry.ts";
 *
 * assert.deepEqual(serverAttributes("[::1]:6379"), { "server.address": "::1", "server.port": 6379 });
 * assert.deepEqual(serverAttributes("cache.local:6380"), {
 *   "server.address": "cache.local",
 *   "server.port": 6380,
 * });
 * ```
 */
export function serverAttributes(server: string): Attributes {
  const match = /^(?:\[([^\]]*)\]|(.*)):(\d+)$/.exec(server);
  if (match === null) return { "server.address": server };
  return { "server.address": match[1] ?? match[2]!, "server.port": Number(match[3]) };
}

/** How many `connect` (or `reauth`) spans may wait for their end per server. */
export const MAX_OPEN_PER_SERVER = 64;

/** The spans open per server, oldest first. */
class OpenSpans {
  readonly #queues = new Map<string, Span[]>();

  /** Adds a span; past the bound, the oldest ends with no status. */
  push(server: string, span: Span): void {
    const queue = this.#queues.get(server) ?? [];
    queue.push(span);
    if (queue.length > MAX_OPEN_PER_SERVER) queue.shift()!.end();
    this.#queues.set(server, queue);
  }

  /** Takes the oldest span open for the server. */
  shift(server: string): Span | undefined {
    const queue = this.#queues.get(server);
    const span = queue?.shift();
    if (queue?.length === 0) this.#queues.delete(server);
    return span;
  }

  /** The oldest span open for the server, left open. */
  peek(server: string): Span | undefined {
    return this.#queues.get(server)?.[0];
  }

  /** Ends every span still open. */
  endAll(): void {
    for (const queue of this.#queues.values()) for (const span of queue) span.end();
    this.#queues.clear();
  }
}

/** The observer of lifecycle events, and how to end the spans it still has open. */
export interface LifecycleTelemetry {
  /** Receives each event. */
  event(event: IamEvent): void;
  /** Ends the `connect` and `reauth` spans still open, with no status. */
  stop(): void;
}

/**
 * The observer that turns lifecycle events into spans and metrics.
 *
 * @param tracer Makes the `connect` and `reauth` spans.
 * @param meter Makes the counters and the mint duration histogram.
 * @returns The observer.
 */
export function lifecycleTelemetry(tracer: Tracer, meter: Meter): LifecycleTelemetry {
  const instruments: Instruments = {
    mints: meter.createCounter("elasticache_iam.token.mints", {
      description: "IAM auth tokens signed, or attempts that failed (outcome).",
      unit: "{mint}",
    }),
    mintDuration: meter.createHistogram("elasticache_iam.token.mint.duration", {
      description: "How long a token mint took: AWS credentials and signing.",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    authFailures: meter.createCounter("elasticache_iam.auth.failures", {
      description: "Handshakes the server refused; final when no fresh token is tried next.",
      unit: "{failure}",
    }),
    reauths: meter.createCounter("elasticache_iam.reauths", {
      description: "Re-authentications of live connections, by outcome.",
      unit: "{reauth}",
    }),
    reconnects: meter.createCounter("elasticache_iam.reconnects", {
      description: "Connections scheduled to be reopened.",
      unit: "{reconnect}",
    }),
  };
  const connects = new OpenSpans();
  const reauths = new OpenSpans();

  const start = (name: string, server: string, attributes: Attributes): Span =>
    tracer.startSpan(name, {
      kind: SpanKind.CLIENT,
      attributes: { "db.system.name": DB_SYSTEM_NAME, ...serverAttributes(server), ...attributes },
    }, context.active());

  /** Ends a pending span as failed; its events' errors carry no credential. */
  const fail = (
    spans: OpenSpans,
    server: string,
    type: string,
    message: string | undefined,
    user?: string,
  ) => {
    const span = spans.shift(server);
    if (span === undefined) return;
    if (user !== undefined) span.setAttribute("elasticache_iam.user", user);
    span.setAttribute("error.type", type);
    span.setStatus(
      message === undefined
        ? { code: SpanStatusCode.ERROR }
        : { code: SpanStatusCode.ERROR, message },
    );
    span.end();
  };

  const succeed = (spans: OpenSpans, server: string, user: string | undefined) => {
    const span = spans.shift(server);
    if (span === undefined) return;
    if (user !== undefined) span.setAttribute("elasticache_iam.user", user);
    span.end();
  };

  return {
    event(event: IamEvent): void {
      switch (event.type) {
        case "token:minted":
        case "token:failed": {
          const attributes = {
            outcome: event.type === "token:minted" ? "success" : "failure",
            "elasticache_iam.cache": event.cache,
          };
          instruments.mints.add(1, attributes);
          instruments.mintDuration.record(event.durationMs / 1000, attributes);
          break;
        }
        case "connection:connect":
          connects.push(
            event.server,
            start("connect", event.server, { "elasticache_iam.attempt": event.attempt }),
          );
          break;
        case "auth:accepted":
          succeed(connects, event.server, event.user);
          break;
        case "auth:refused": {
          instruments.authFailures.add(1, {
            ...serverAttributes(event.server),
            "elasticache_iam.code": event.code,
            "elasticache_iam.final": !event.retrying,
          });
          if (event.retrying) {
            connects.peek(event.server)?.addEvent("auth refused", {
              "elasticache_iam.code": event.code,
            });
          } else {
            fail(connects, event.server, event.code, event.error?.message, event.user);
          }
          break;
        }
        case "reconnect:scheduled": {
          instruments.reconnects.add(1, serverAttributes(event.server));
          const reason = event.reason;
          fail(connects, event.server, reason ? errorType(reason) : "_OTHER", reason?.message);
          break;
        }
        case "reauth:due":
          reauths.push(
            event.server,
            start("reauth", event.server, {
              "elasticache_iam.retry": event.retry,
              ...(event.user === undefined ? {} : { "elasticache_iam.user": event.user }),
            }),
          );
          break;
        case "reauth:done":
          instruments.reauths.add(1, { ...serverAttributes(event.server), outcome: "success" });
          succeed(reauths, event.server, event.user);
          break;
        case "reauth:failed":
          instruments.reauths.add(1, { ...serverAttributes(event.server), outcome: "failure" });
          fail(reauths, event.server, errorType(event.error), event.error.message, event.user);
          break;
      }
    },
    stop(): void {
      connects.endAll();
      reauths.endAll();
    },
  };
}
