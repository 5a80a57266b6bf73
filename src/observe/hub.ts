/**
 * Where events and command traces go: the observers registered with
 * {@linkcode observe} (every runtime), and `diagnostics_channel`, under the
 * names `elasticache-iam:<event type>` for lifecycle events and the tracing
 * channels `elasticache-iam:command` (one command) and `elasticache-iam:batch`
 * (a pipeline or transaction), as node-redis (`node-redis:command`) and
 * ioredis (`ioredis:command`) name theirs.
 *
 * Nothing is loaded while no one listens: on Node.js, Bun and Workers with
 * Node compatibility, `node:diagnostics_channel` is taken from
 * `process.getBuiltinModule` at the first event or client, never imported; on
 * Deno, where loading it costs about 5 ms, it is used once the application
 * imports `@elasticache-iam/connector/diagnostics-channel`. A command costs
 * one check when no one traces.
 *
 * @module
 */

import { nodeBuiltin } from "../_node_builtin.ts";
import { raiseUncaught } from "../errors.ts";
import type { CommandContext, IamEvent } from "./events.ts";

/**
 * What an observer may receive: lifecycle events, and the start and end of
 * every command (and of every pipeline or transaction, as one).
 */
export interface Observer {
  /**
   * Receives each lifecycle event. It must not throw (an error it throws is
   * reported as uncaught, and the client goes on).
   */
  event?(event: IamEvent): void;
  /**
   * A command was sent; what it returns is handed to `commandEnd`.
   *
   * @param context The command and its server.
   */
  commandStart?(context: CommandContext): unknown;
  /**
   * The command's reply came (or its error, when `error` is set).
   *
   * @param state What `commandStart` returned.
   * @param error The command's error, if it failed.
   */
  commandEnd?(state: unknown, error: Error | undefined): void;
}

/** The part of `node:diagnostics_channel` used here, declared structurally. */
export interface DiagnosticsChannelModule {
  /** A named channel. */
  channel(name: string): { readonly hasSubscribers: boolean; publish(message: unknown): void };
  /** A named tracing channel (Node.js 19.9 and later, Bun, Deno). */
  tracingChannel?(name: string): {
    readonly hasSubscribers?: boolean;
    tracePromise<T>(fn: () => Promise<T>, context: object): Promise<T>;
  };
}

type Channel = ReturnType<DiagnosticsChannelModule["channel"]>;
type TracingChannel = ReturnType<NonNullable<DiagnosticsChannelModule["tracingChannel"]>>;

/** The prefix of every channel name. */
export const CHANNEL_PREFIX = "elasticache-iam";

let eventObservers: Observer[] = [];
let commandObservers: Observer[] = [];
/** `undefined`: not looked up yet; `null`: this runtime has none (or, on Deno, not enabled). */
let dc: DiagnosticsChannelModule | null | undefined;
const channels = new Map<string, Channel>();
let commandChannel: TracingChannel | undefined;
let batchChannel: TracingChannel | undefined;

/**
 * Registers an observer of every client, token manager and integration in
 * this process (or a function that receives the lifecycle events).
 *
 * @param observer A function called with each event, or an {@linkcode Observer}.
 * @returns A function that removes it.
 * @throws {TypeError} When `observer` is neither.
 *
 * @example Log what happens to tokens and connections
 * ```ts
 * import { observe } from "./hub.ts";
 *
 * const stop = observe((event) => {
 *   if (event.type === "auth:refused") console.warn(`refused by ${event.server}: ${event.code}`);
 * });
 * stop();
 * ```
 */
export function observe(observer: Observer | ((event: IamEvent) => void)): () => void {
  const entry: Observer = typeof observer === "function" ? { event: observer } : observer;
  if (entry === null || typeof entry !== "object") {
    throw new TypeError(
      `Cannot observe: pass a function or an object with event, commandStart and commandEnd methods, got ${typeof observer}`,
    );
  }
  const traces = typeof entry.commandStart === "function" ||
    typeof entry.commandEnd === "function";
  if (typeof entry.event === "function") eventObservers = [...eventObservers, entry];
  if (traces) commandObservers = [...commandObservers, entry];
  return () => {
    eventObservers = eventObservers.filter((o) => o !== entry);
    commandObservers = commandObservers.filter((o) => o !== entry);
  };
}

/**
 * Publishes through the `node:diagnostics_channel` given, for runtimes where
 * this module does not take it itself (Deno). Its module
 * `@elasticache-iam/connector/diagnostics-channel` calls it.
 *
 * @param module The `node:diagnostics_channel` module.
 */
export function useDiagnosticsChannel(module: DiagnosticsChannelModule): void {
  dc = module;
  channels.clear();
  commandChannel = module.tracingChannel?.(`${CHANNEL_PREFIX}:command`);
  batchChannel = module.tracingChannel?.(`${CHANNEL_PREFIX}:batch`);
}

/**
 * Looks `node:diagnostics_channel` up once, where that costs nothing: through
 * `process.getBuiltinModule` outside Deno (on Deno, reading `process` loads
 * the Node compatibility layer). Clients call it when they are made, so that
 * their commands need no lookup.
 */
export function lookUpDiagnosticsChannel(): void {
  if (dc !== undefined) return;
  dc = null;
  const module = nodeBuiltin<DiagnosticsChannelModule>("node:diagnostics_channel");
  if (module !== undefined) useDiagnosticsChannel(module);
}

/**
 * Tells observers and channel subscribers about an event.
 *
 * @param event The event.
 */
export function publish(event: IamEvent): void {
  for (const observer of eventObservers) {
    try {
      observer.event!(event);
    } catch (error) {
      raiseUncaught(error);
    }
  }
  lookUpDiagnosticsChannel();
  if (dc === null || dc === undefined) return;
  const name = `${CHANNEL_PREFIX}:${event.type}`;
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = dc.channel(name);
    channels.set(name, channel);
  }
  if (channel.hasSubscribers) channel.publish(event);
}

/**
 * Whether anyone traces commands: the one check a command makes.
 *
 * @returns `true` when an observer or a tracing channel subscriber listens.
 */
export function tracingCommands(): boolean {
  return commandObservers.length > 0 || commandChannel?.hasSubscribers === true ||
    batchChannel?.hasSubscribers === true;
}

/**
 * Runs a command (or a batch) under the observers' and the tracing channel's
 * watch. Call it only when {@linkcode tracingCommands} is true.
 *
 * @param context The command and its server.
 * @param run Sends it; settles with its reply.
 * @returns What `run` returns.
 */
export function traceCommand<T>(context: CommandContext, run: () => Promise<T>): Promise<T> {
  const started = (): Promise<T> => {
    const observers = commandObservers;
    if (observers.length === 0) return run();
    const states = observers.map((observer) => {
      try {
        return observer.commandStart?.(context);
      } catch (error) {
        raiseUncaught(error);
        return undefined;
      }
    });
    const end = (error: Error | undefined) => {
      observers.forEach((observer, i) => {
        try {
          observer.commandEnd?.(states[i], error);
        } catch (failure) {
          raiseUncaught(failure);
        }
      });
    };
    let sent: Promise<T>;
    try {
      sent = run();
    } catch (error) {
      end(error as Error);
      throw error;
    }
    return sent.then((value) => {
      end(undefined);
      return value;
    }, (error: Error) => {
      end(error);
      throw error;
    });
  };
  const channel = context.batchSize === undefined ? commandChannel : batchChannel;
  if (channel?.hasSubscribers !== true) return started();
  const traced = channel.tracePromise(started, context);
  traced.catch(() => {}); // The caller's own promise chain sees the rejection.
  return traced;
}
