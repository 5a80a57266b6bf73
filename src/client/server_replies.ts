/**
 * What the server and connection commands operators type return (`INFO`,
 * `HELLO`), and the parsers that make it from the replies, the same over
 * RESP2 and RESP3. Values stay strings unless the server sends numbers.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { RespValue } from "../resp/types.ts";
import { elements, fieldMap, integer, text } from "./replies.ts";

/**
 * `INFO`, by section: each section's name in lower case (`server`,
 * `clients`, `memory`, `keyspace`, …) and its `name:value` lines, values as
 * the server wrote them (`used_memory: "1048576"`, `db0: "keys=1,expires=0,avg_ttl=0"`).
 */
export type InfoSections = Record<string, Record<string, string>>;

/** `HELLO`: the server and the connection, as the server describes them. */
export interface HelloReply {
  /** `redis` or `valkey`. */
  server: string;
  /** The server's version, such as `7.0.15`. */
  version: string;
  /** The connection's protocol: 2 or 3. */
  proto: number;
  /** The connection's id (`CLIENT ID`). */
  id: number;
  /** `standalone`, `cluster` or `sentinel`. */
  mode: string;
  /** `master` or `replica`. */
  role: string;
  /** The modules loaded: their names and versions. */
  modules: { name: string; version: number }[];
}

/**
 * An `INFO` reply.
 *
 * @param value The reply: text of `# Section` headers and `name:value` lines.
 * @returns The values by section; lines before any header go to the section `""`.
 */
export function info(value: RespValue): InfoSections {
  const sections: [string, [string, string][]][] = [];
  let current: [string, string][] | undefined;
  for (const line of text(value).split(/\r?\n/)) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      current = [];
      sections.push([line.slice(1).trim().toLowerCase(), current]);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    if (current === undefined) {
      current = [];
      sections.push(["", current]);
    }
    current.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  // fromEntries defines own properties: a name such as "__proto__" stays a value.
  return Object.fromEntries(sections.map(([name, lines]) => [name, Object.fromEntries(lines)]));
}

/**
 * A `HELLO` reply.
 *
 * @param value The reply: a RESP3 map, or the flat array RESP2 sends.
 * @returns The server's and connection's description.
 */
export function hello(value: RespValue): HelloReply {
  const fields = fieldMap(value, "a HELLO reply");
  const required = (name: string): RespValue => {
    const item = fields.get(name);
    if (item === undefined) {
      throw new ProtocolError(`Cannot read reply: the HELLO reply lacks '${name}'`);
    }
    return item;
  };
  const modules = fields.get("modules");
  return {
    server: text(required("server")),
    version: text(required("version")),
    proto: integer(required("proto")),
    id: integer(required("id")),
    mode: text(required("mode")),
    role: text(required("role")),
    modules: modules === undefined || modules === null
      ? []
      : elements(modules, "an array of modules").map((item) => {
        const module = fieldMap(item, "a module");
        return { name: text(module.get("name") ?? ""), version: integer(module.get("ver") ?? 0) };
      }),
  };
}
