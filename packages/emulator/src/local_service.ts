/**
 * What the emulator's loopback services that hand out its own STS credentials
 * (the container-credentials and IMDSv2 endpoints, the SSO portal) need from
 * it: one shape for all of them.
 *
 * @module
 */

import type { EmulatorClock } from "./clock.ts";
import type { EmulatorConfig, ResolvedConfig } from "./config.ts";
import type { CredentialStore } from "./credential_store.ts";

/** What a loopback credentials service needs from the emulator. */
export interface LocalServiceOptions {
  /** The configuration as given (for the service's section: ports and role names). */
  config: EmulatorConfig;
  /** The resolved configuration. */
  resolved: ResolvedConfig;
  /** The key store the credentials are issued into. */
  credentials: CredentialStore;
  /** The emulator clock. */
  clock: EmulatorClock;
  /** The log. */
  log: (line: string) => void;
  /**
   * Turns a listener's start failure into the error to throw (naming a port in use).
   *
   * @default the failure itself
   */
  startFailure?: (
    error: unknown,
    what: string,
    port: number | undefined,
    option: string,
  ) => unknown;
}
