/**
 * node-redis's own types, under their own names, for the signatures of
 * `createClient` and `createCluster`.
 *
 * Why local aliases: `deno doc --lint` reports a type from an npm package as a
 * private type (denoland/deno#27364: npm packages resolve to `file:` modules),
 * and re-exporting node-redis's types would put node-redis's own declarations
 * under this package's lint. Each alias is `@internal`: it is node-redis's
 * type, documented by node-redis, with the same name, type parameters and
 * defaults.
 *
 * @module
 */

import type * as NodeRedis from "redis";

/**
 * node-redis's `RedisModules`: the module commands a client has.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisModules = NodeRedis.RedisModules;

/**
 * node-redis's `RedisFunctions`: the Redis functions a client calls as methods.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisFunctions = NodeRedis.RedisFunctions;

/**
 * node-redis's `RedisScripts`: the Lua scripts a client calls as methods.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisScripts = NodeRedis.RedisScripts;

/**
 * node-redis's `RespVersions`: the protocol versions, `2 | 3`.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RespVersions = NodeRedis.RespVersions;

/**
 * node-redis's `TypeMapping`: the JavaScript types replies decode to.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type TypeMapping = NodeRedis.TypeMapping;

/**
 * node-redis's `RedisClientOptions`: the options of its `createClient`.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisClientOptions<
  M extends RedisModules = RedisModules,
  F extends RedisFunctions = RedisFunctions,
  S extends RedisScripts = RedisScripts,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = TypeMapping,
> = NodeRedis.RedisClientOptions<M, F, S, RESP, TYPE_MAPPING>;

/**
 * node-redis's `RedisClientType`: the client its `createClient` returns.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisClientType<
  // deno-lint-ignore ban-types
  M extends RedisModules = {},
  // deno-lint-ignore ban-types
  F extends RedisFunctions = {},
  // deno-lint-ignore ban-types
  S extends RedisScripts = {},
  RESP extends RespVersions = 3,
  // deno-lint-ignore ban-types
  TYPE_MAPPING extends TypeMapping = {},
> = NodeRedis.RedisClientType<M, F, S, RESP, TYPE_MAPPING>;

/**
 * node-redis's `RedisClusterOptions`: the options of its `createCluster`.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisClusterOptions<
  M extends RedisModules = RedisModules,
  F extends RedisFunctions = RedisFunctions,
  S extends RedisScripts = RedisScripts,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = TypeMapping,
> = NodeRedis.RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING>;

/**
 * node-redis's `RedisClusterType`: the cluster client its `createCluster` returns.
 *
 * @internal node-redis's own type, aliased for `deno doc` (denoland/deno#27364).
 */
export type RedisClusterType<
  // deno-lint-ignore ban-types
  M extends RedisModules = {},
  // deno-lint-ignore ban-types
  F extends RedisFunctions = {},
  // deno-lint-ignore ban-types
  S extends RedisScripts = {},
  RESP extends RespVersions = 3,
  // deno-lint-ignore ban-types
  TYPE_MAPPING extends TypeMapping = {},
> = NodeRedis.RedisClusterType<M, F, S, RESP, TYPE_MAPPING>;
