/**
 * The types the client's methods name, for annotations and extensions: the
 * options and replies of commands, the command methods' base class shared by
 * the client, pipelines, transactions and the cluster client, push frames, and
 * the transport interface. Programs rarely need them: the main entry point
 * exports what they write.
 *
 * @example Annotating a helper that takes any client, pipeline or transaction's command options
 * ```ts
 * import type { SetOptions } from "./types.ts";
 *
 * const session: SetOptions = { ex: 3600, nx: true };
 * console.log(session.ex); // 3600
 * ```
 *
 * @module
 */

export type { CommandBase } from "./client/command_base.ts";
export type { StreamCommands } from "./client/stream_commands.ts";
export type { SortedSetCommands } from "./client/sorted_set_commands.ts";
export type {
  Chain,
  Commands,
  CopyOptions,
  Dispatch,
  ExpireCondition,
  GetExOptions,
  Key,
  ListSide,
  NoExpiry,
  Reply,
  ScanMatchOptions,
  ScanOptions,
  SendOptions,
  SetCondition,
  SetExpiry,
  SetOptions,
  ZAddOptions,
  ZMember,
  ZRangeOptions,
} from "./client/commands.ts";
export type { ScoreMember } from "./client/replies.ts";
export type {
  StreamTrim,
  StreamTrimBy,
  StreamTrimPrecision,
  XAddOptions,
  XAutoClaimOptions,
  XClaimOptions,
  XGroupCreateOptions,
  XPendingRangeOptions,
  XRangeOptions,
  XReadGroupOptions,
  XReadOptions,
} from "./client/stream_options.ts";
export type {
  AutoClaimed,
  AutoClaimedIds,
  GroupEntry,
  PendingEntry,
  PendingSummary,
  StreamEntry,
  StreamInfo,
} from "./client/stream_replies.ts";
export type { HelloReply, InfoSections } from "./client/server_replies.ts";
export type { BatchSender, ExecOptions } from "./client/pipeline.ts";
export type { MessageListener, PatternListener } from "./client/pubsub.ts";
export type { DecoderLimits } from "./resp/decoder.ts";
export type { Parser } from "./client/connection.ts";
export type { Transport, TransportFactory, TransportOptions } from "./transport/types.ts";
export { type CommandArg, Push } from "./resp/types.ts";
export type { TokenTargetOptions } from "./token.ts";
export type { UrlOptions } from "./client/url_options.ts";
export type { Environment } from "./credentials/env.ts";
export type { SharedFilesOptions } from "./credentials/shared_config.ts";
export type { CacheKind, EndpointRole } from "./endpoint.ts";
export type {
  AuthAcceptedEvent,
  AuthRefusedEvent,
  ConnectEvent,
  ConnectionClosedEvent,
  CredentialsResolvedEvent,
  ReauthDoneEvent,
  ReauthDueEvent,
  ReauthFailedEvent,
  ReconnectScheduledEvent,
  ReconnectSucceededEvent,
  ServerLabel,
  TokenFailedEvent,
  TokenMintedEvent,
  TopologyRefreshedEvent,
} from "./observe/events.ts";
export type { DiagnosticsChannelModule } from "./observe/hub.ts";
