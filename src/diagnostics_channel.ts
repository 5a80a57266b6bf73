/**
 * Publishes this module's events and command traces on
 * `node:diagnostics_channel` on Deno, where loading that module costs about
 * 5 ms of start-up and so is left to the application: import this entry
 * once (with the APM agent or tracer that subscribes). On Node.js, Bun and
 * Workers with Node compatibility the channels are used without it.
 *
 * The channels: `elasticache-iam:<event type>` (such as
 * `elasticache-iam:token:minted`, see `IamEvent`) for lifecycle events, and
 * the tracing channels `elasticache-iam:command` and `elasticache-iam:batch`.
 *
 * @example Subscribe to token mints on Deno
 * ```ts
 * import "./diagnostics_channel.ts";
 * import diagnostics from "node:diagnostics_channel";
 *
 * diagnostics.subscribe("elasticache-iam:token:minted", (event) => {
 *   console.log("minted", (event as { cache: string }).cache);
 * });
 * ```
 *
 * @module
 */

import * as diagnostics from "node:diagnostics_channel";
import { type DiagnosticsChannelModule, useDiagnosticsChannel } from "./observe/hub.ts";

useDiagnosticsChannel(diagnostics as unknown as DiagnosticsChannelModule);
