/**
 * Connect to Amazon ElastiCache (Valkey / Redis OSS) and Amazon MemoryDB with
 * IAM authentication from AWS Lambda, Deno, Deno Deploy, Bun and Workers.
 *
 * This entry point loads no `node:*` or `cloudflare:*` module and no Redis
 * client library: signing uses WebCrypto through `aws4fetch`.
 *
 * - {@linkcode connect} opens a client from the endpoint URL the AWS console shows
 *   (`rediss://USER@HOST:PORT`): the user is the IAM user id, and the cache's kind, name
 *   and region are read from the host ({@linkcode parseEndpoint}).
 * - {@linkcode createAuthToken} signs one IAM auth token (valid 15 minutes).
 * - {@linkcode IamAuth} caches tokens and hands out `{username, password}` for each connection.
 * - {@linkcode fromEnv}, {@linkcode fromWebIdentity} and {@linkcode defaultCredentials} resolve AWS keys;
 *   any AWS SDK credential provider works too.
 * - {@linkcode observe} reports what happens to tokens and connections (also on
 *   `node:diagnostics_channel`; `@elasticache-iam/otel` turns it into OpenTelemetry).
 *
 * @example A token for `AUTH iam-user-01 <token>`
 * ```ts
 * import { createAuthToken, fromEnv } from "./mod.ts";
 *
 * const token = await createAuthToken({
 *   replicationGroupId: "replication-group-01",
 *   userId: "iam-user-01",
 *   region: "us-east-1",
 *   credentials: fromEnv({ env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" } }),
 * });
 * console.log(token.split("?")[0]); // "replication-group-01/"
 * ```
 *
 * @module
 */
export {
  type AuthTokenOptions,
  type CacheTarget,
  createAuthToken,
  MAX_TOKEN_LIFETIME_SECONDS,
} from "./src/token.ts";
export {
  IamAuth,
  type IamAuthOptions,
  type RedisCredentials,
  type RetryOptions,
} from "./src/iam_auth.ts";
export { type CacheEndpoint, type ParsedEndpoint, parseEndpoint } from "./src/endpoint.ts";
export type {
  AwsCredentials,
  AwsCredentialsProvider,
  CredentialsInput,
} from "./src/credentials/types.ts";
export { fromEnv, type FromEnvOptions } from "./src/credentials/env.ts";
export { fromWebIdentity, type FromWebIdentityOptions } from "./src/credentials/web_identity.ts";
export { defaultCredentials, type DefaultCredentialsOptions } from "./src/credentials/chain.ts";
export { cacheCredentials, type CacheCredentialsOptions } from "./src/credentials/cache.ts";
export {
  fromContainerMetadata,
  fromInstanceMetadata,
  fromProcess,
  fromProfile,
  fromSso,
} from "./src/credentials/lazy_sources.ts";
export type { FromProfileOptions } from "./src/credentials/profile.ts";
export type { FromSsoOptions } from "./src/credentials/sso.ts";
export type { FromProcessOptions } from "./src/credentials/process.ts";
export type { FromContainerMetadataOptions } from "./src/credentials/container.ts";
export type { FromInstanceMetadataOptions } from "./src/credentials/instance_metadata.ts";
export {
  AuthenticationError,
  ConnectionClosedError,
  CredentialsError,
  ProtocolError,
  ReplyError,
  TimeoutError,
} from "./src/errors.ts";
export { connect, RedisClient } from "./src/client.ts";
export type { ConnectOptions, ReconnectOptions } from "./src/client/options.ts";
export type { AuthCredentials, AuthProvider } from "./src/auth/types.ts";
export type { Transaction } from "./src/client/multi.ts";
export type { Pipeline } from "./src/client/pipeline.ts";
export type { Subscription } from "./src/client/pubsub.ts";
export type { Timers } from "./src/client/timers.ts";
export type { RespValue } from "./src/resp/types.ts";
export { observe, type Observer } from "./src/observe/hub.ts";
export type { CommandContext, IamEvent } from "./src/observe/events.ts";
