/**
 * The building blocks this module's own packages share with the core:
 * `@elasticache-iam/node-redis`, `@elasticache-iam/ioredis` and
 * `@elasticache-iam/emulator` import them from here, so each rule has one home.
 *
 * Not for applications: nothing here follows semantic versioning, and any of
 * it may change in a patch release (as Deno's `@std/internal`). Applications
 * import from the main entry point.
 *
 * @example The one way a value given in an option is shown in a message
 * ```ts
 * import { describe } from "./internal.ts";
 *
 * console.log(describe("rediss://user:secret@example.com")); // "a string of 32 characters (not shown: it may hold credentials)"
 * ```
 *
 * @module
 */

export { checkHost, describe, isLoopback } from "./_checks.ts";
export {
  ConnectionAuth,
  type ConnectionAuthOptions,
  type Reauthentication,
  type SendAuth,
} from "./auth/connection_auth.ts";
export { AUTH_STEP_TIMEOUT, reauthAfterOption } from "./auth/policy.ts";
export { isRefusal } from "./auth/refusal.ts";
export type { AuthCredentials, AuthProvider } from "./auth/types.ts";
export { backgroundTimers, backoffDelay, type Timers, withTimeout } from "./client/timers.ts";
export { keySlot, SLOT_COUNT } from "./cluster/slot.ts";
export { type ReadOptions, RespDecoder } from "./resp/decoder.ts";
export { encodeCommand, encodeCommands } from "./resp/encoder.ts";
export { CACHE_NAME_PATTERN, REGION_PATTERN, USER_ID_PATTERN } from "./token.ts";
export { type CommandLoader, dispatch, wantsHelp, writeStderr, writeStdout } from "./cli/io.ts";
export { endpointAuth } from "./client/url_options.ts";
export { publish } from "./observe/hub.ts";
