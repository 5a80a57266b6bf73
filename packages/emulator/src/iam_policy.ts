/**
 * IAM policy documents and their evaluation, as far as the emulator needs:
 * identity policies (`elasticache:Connect`, `memorydb:Connect`,
 * `sts:AssumeRole`) and role trust policies (`Principal`, string conditions
 * on OIDC claims). An explicit `Deny` always wins; without an `Allow` the
 * answer is an implicit deny.
 *
 * Anything this evaluator cannot decide (an unknown condition operator, a
 * `NotPrincipal`) makes an `Allow` statement not apply and a `Deny` statement
 * apply, so the emulator errs on refusing, never on accepting.
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";

/** A value that is one string or a list of them, as IAM writes them. */
export type OneOrMany<T> = T | T[];

/** One statement of a policy document. */
export interface PolicyStatement {
  /** An optional statement id. */
  Sid?: string;
  /** Whether the statement grants or refuses. */
  Effect: "Allow" | "Deny";
  /** Who the statement is about (trust and other resource policies only). */
  Principal?: "*" | Record<string, OneOrMany<string>>;
  /** Everyone except these principals (not evaluated: see the module doc). */
  NotPrincipal?: "*" | Record<string, OneOrMany<string>>;
  /** Actions, with `*` and `?` wildcards, compared without regard to case. */
  Action?: OneOrMany<string>;
  /** Every action except these. */
  NotAction?: OneOrMany<string>;
  /** Resource ARNs, with `*` and `?` wildcards. */
  Resource?: OneOrMany<string>;
  /** Every resource except these. */
  NotResource?: OneOrMany<string>;
  /** Conditions: operator → condition key → expected value(s). */
  Condition?: Record<string, Record<string, OneOrMany<string | number | boolean>>>;
}

/** An IAM policy document, as in the seed's `policy.json` and `trust-policy.json`. */
export interface PolicyDocument {
  /** The policy language version, `2012-10-17`. */
  Version?: string;
  /** An optional policy id. */
  Id?: string;
  /** The statements. */
  Statement: OneOrMany<PolicyStatement>;
}

/** The outcome of evaluating policies for one request. */
export type PolicyDecision = "allow" | "explicit-deny" | "implicit-deny";

/** What is being asked for. */
export interface PolicyRequest {
  /** The action, such as `elasticache:Connect`. */
  action: string;
  /** The resource ARN; absent when evaluating a trust policy. */
  resource?: string;
  /**
   * The caller, for trust policies: the principal type (`AWS`, `Federated`,
   * `Service`) and every identifier that names it (an IAM user's ARN, an
   * account id, `arn:aws:iam::<account>:root`, an OIDC provider's ARN).
   */
  principal?: { type: string; ids: readonly string[] };
  /** Condition keys (any case) and their values. */
  context?: Readonly<Record<string, string | readonly string[]>>;
}

const STATEMENT_KEYS = new Set([
  "Sid",
  "Effect",
  "Principal",
  "NotPrincipal",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Condition",
]);

/**
 * Checks that a value is a policy document the evaluator understands, parsing
 * it first when it is JSON text.
 *
 * @param input The document, as an object or as JSON text.
 * @param what What the document is, for the error message (`role 'app' trust policy`).
 * @returns The document.
 * @throws {TypeError} If the document is not a well-formed policy.
 *
 * @example
 * ```ts
 * import { parsePolicyDocument } from "./iam_policy.ts";
 *
 * const policy = parsePolicyDocument(
 *   '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}',
 *   "test policy",
 * );
 * console.log(Array.isArray(policy.Statement)); // false
 * ```
 */
export function parsePolicyDocument(input: unknown, what: string): PolicyDocument {
  let doc = input;
  if (typeof input === "string") {
    try {
      doc = JSON.parse(input);
    } catch (error) {
      throw new TypeError(`Cannot load ${what}: it is not valid JSON`, { cause: error });
    }
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new TypeError(`Cannot load ${what}: expected a policy document object`);
  }
  const statements = (doc as { Statement?: unknown }).Statement;
  if (statements === undefined) {
    throw new TypeError(`Cannot load ${what}: it has no 'Statement'`);
  }
  for (const [index, statement] of toArray(statements).entries()) {
    checkStatement(statement, `${what} statement ${index + 1}`);
  }
  return doc as PolicyDocument;
}

function checkStatement(statement: unknown, what: string): void {
  if (statement === null || typeof statement !== "object" || Array.isArray(statement)) {
    throw new TypeError(`Cannot load ${what}: expected an object`);
  }
  const s = statement as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!STATEMENT_KEYS.has(key)) {
      throw new TypeError(`Cannot load ${what}: unknown element '${key}'`);
    }
  }
  if (s.Effect !== "Allow" && s.Effect !== "Deny") {
    throw new TypeError(
      `Cannot load ${what}: 'Effect' must be "Allow" or "Deny", got ${describe(s.Effect)}`,
    );
  }
  if ((s.Action === undefined) === (s.NotAction === undefined)) {
    throw new TypeError(`Cannot load ${what}: give exactly one of 'Action' and 'NotAction'`);
  }
  if (s.Resource !== undefined && s.NotResource !== undefined) {
    throw new TypeError(`Cannot load ${what}: give at most one of 'Resource' and 'NotResource'`);
  }
  for (const key of ["Action", "NotAction", "Resource", "NotResource"]) {
    const value = s[key];
    if (value !== undefined && !isStringList(value)) {
      throw new TypeError(`Cannot load ${what}: '${key}' must be a string or a list of strings`);
    }
  }
  for (const key of ["Principal", "NotPrincipal"]) {
    const value = s[key];
    if (value === undefined || value === "*") continue;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`Cannot load ${what}: '${key}' must be "*" or an object`);
    }
    for (const [type, ids] of Object.entries(value)) {
      if (!isStringList(ids)) {
        throw new TypeError(
          `Cannot load ${what}: '${key}.${type}' must be a string or a list of strings`,
        );
      }
    }
  }
  if (s.Condition !== undefined) {
    if (s.Condition === null || typeof s.Condition !== "object" || Array.isArray(s.Condition)) {
      throw new TypeError(`Cannot load ${what}: 'Condition' must be an object`);
    }
    for (const [operator, block] of Object.entries(s.Condition)) {
      if (block === null || typeof block !== "object" || Array.isArray(block)) {
        throw new TypeError(`Cannot load ${what}: condition '${operator}' must be an object`);
      }
    }
  }
}

/**
 * Evaluates policies for one request: any applicable `Deny` gives
 * `explicit-deny`, else any applicable `Allow` gives `allow`, else
 * `implicit-deny`.
 *
 * @param policies The documents that apply to the caller or the resource.
 * @param request The action, resource, caller and condition context.
 * @returns The decision.
 *
 * @example The seed's policy allows connecting to its replication group
 * ```ts
 * import { evaluatePolicies } from "./iam_policy.ts";
 *
 * const decision = evaluatePolicies([{
 *   Version: "2012-10-17",
 *   Statement: [{
 *     Effect: "Allow",
 *     Action: ["elasticache:Connect"],
 *     Resource: ["arn:aws:elasticache:us-east-1:123456789012:replicationgroup:replication-group-01"],
 *   }],
 * }], {
 *   action: "elasticache:Connect",
 *   resource: "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:replication-group-01",
 * });
 * console.log(decision); // "allow"
 * ```
 */
export function evaluatePolicies(
  policies: readonly PolicyDocument[],
  request: PolicyRequest,
): PolicyDecision {
  const context = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(request.context ?? {})) {
    context.set(key.toLowerCase(), typeof value === "string" ? [value] : value);
  }
  let allowed = false;
  for (const policy of policies) {
    for (const statement of toArray(policy.Statement)) {
      const deny = statement.Effect === "Deny";
      if (!applies(statement, request, context, deny)) continue;
      if (deny) return "explicit-deny";
      allowed = true;
    }
  }
  return allowed ? "allow" : "implicit-deny";
}

/**
 * Whether a statement applies to the request. `pessimistic` is true for
 * `Deny` statements: what cannot be decided then counts as applying.
 */
function applies(
  s: PolicyStatement,
  request: PolicyRequest,
  context: ReadonlyMap<string, readonly string[]>,
  pessimistic: boolean,
): boolean {
  if (s.Action !== undefined && !matchesAny(s.Action, request.action, true)) return false;
  if (s.NotAction !== undefined && matchesAny(s.NotAction, request.action, true)) return false;
  if (request.resource !== undefined) {
    if (s.Resource !== undefined && !matchesAny(s.Resource, request.resource, false)) return false;
    if (s.NotResource !== undefined && matchesAny(s.NotResource, request.resource, false)) {
      return false;
    }
  }
  if (s.NotPrincipal !== undefined) return pessimistic;
  if (request.principal !== undefined) {
    if (s.Principal === undefined || !principalMatches(s.Principal, request.principal)) {
      return false;
    }
  }
  if (s.Condition !== undefined) {
    for (const [operator, block] of Object.entries(s.Condition)) {
      for (const [key, expected] of Object.entries(block)) {
        const outcome = condition(operator, context.get(key.toLowerCase()), toArray(expected));
        if (outcome === undefined) {
          if (!pessimistic) return false;
        } else if (!outcome) {
          return false;
        }
      }
    }
  }
  return true;
}

function principalMatches(
  principal: "*" | Record<string, OneOrMany<string>>,
  caller: { type: string; ids: readonly string[] },
): boolean {
  if (principal === "*") return true;
  for (const [type, ids] of Object.entries(principal)) {
    if (type !== caller.type) continue;
    for (const id of toArray(ids)) {
      if (id === "*" || caller.ids.includes(id)) return true;
    }
  }
  return false;
}

/** Evaluates one condition key: `undefined` when the operator is not supported. */
function condition(
  rawOperator: string,
  actual: readonly string[] | undefined,
  expectedValues: readonly (string | number | boolean)[],
): boolean | undefined {
  let operator = rawOperator;
  let setOperator: "any" | "all" | undefined;
  if (operator.startsWith("ForAnyValue:")) {
    setOperator = "any";
    operator = operator.slice("ForAnyValue:".length);
  } else if (operator.startsWith("ForAllValues:")) {
    setOperator = "all";
    operator = operator.slice("ForAllValues:".length);
  }
  const ifExists = operator.endsWith("IfExists");
  if (ifExists) operator = operator.slice(0, -"IfExists".length);
  const expected = expectedValues.map(String);
  if (operator === "Null") {
    const wantAbsent = expected[0]?.toLowerCase() === "true";
    return wantAbsent === (actual === undefined || actual.length === 0);
  }
  const test = VALUE_TESTS[operator];
  if (test === undefined) return undefined;
  const negated = operator.includes("Not");
  if (actual === undefined || actual.length === 0) {
    if (setOperator === "all") return true;
    return ifExists || negated;
  }
  const one = (value: string) => {
    const hit = expected.some((pattern) => test(value, pattern));
    return negated ? !hit : hit;
  };
  return setOperator === "all" ? actual.every(one) : actual.some(one);
}

/** Positive value tests; the `Not` operators negate them. */
const VALUE_TESTS: Record<string, (value: string, pattern: string) => boolean> = {
  StringEquals: (v, p) => v === p,
  StringNotEquals: (v, p) => v === p,
  StringEqualsIgnoreCase: (v, p) => v.toLowerCase() === p.toLowerCase(),
  StringNotEqualsIgnoreCase: (v, p) => v.toLowerCase() === p.toLowerCase(),
  StringLike: (v, p) => globMatch(p, v, false),
  StringNotLike: (v, p) => globMatch(p, v, false),
  ArnEquals: (v, p) => v === p,
  ArnNotEquals: (v, p) => v === p,
  ArnLike: (v, p) => globMatch(p, v, false),
  ArnNotLike: (v, p) => globMatch(p, v, false),
  Bool: (v, p) => v.toLowerCase() === p.toLowerCase(),
};

function matchesAny(patterns: OneOrMany<string>, value: string, ignoreCase: boolean): boolean {
  return toArray(patterns).some((pattern) => globMatch(pattern, value, ignoreCase));
}

/**
 * Matches IAM's wildcards: `*` any run of characters, `?` one character.
 *
 * @param pattern The pattern.
 * @param value The value.
 * @param ignoreCase Whether case is ignored (actions) or not (resources, conditions).
 * @returns Whether the value matches.
 */
export function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern.replace(
    /[.+^${}()|[\]\\*?]/g,
    (c) => c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : `\\${c}`,
  );
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

function toArray<T>(value: OneOrMany<T>): T[] {
  return Array.isArray(value) ? value : [value];
}

function isStringList(value: unknown): boolean {
  return typeof value === "string" ||
    (Array.isArray(value) && value.every((item) => typeof item === "string"));
}
