/** The emulator's IAM policy evaluation: wildcards, explicit Deny, principals, conditions. */

import assert from "node:assert/strict";
import {
  evaluatePolicies,
  globMatch,
  parsePolicyDocument,
  type PolicyDocument,
} from "../src/iam_policy.ts";

const GROUP = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:replication-group-01";
const USER = "arn:aws:elasticache:us-east-1:123456789012:user:iam-user-01";
const seedPolicy = parsePolicyDocument(
  await Deno.readTextFile(new URL("./fixtures/emulator_policy.json", import.meta.url)),
  "policy.json",
);
const seedTrust = parsePolicyDocument(
  await Deno.readTextFile(new URL("./fixtures/emulator_trust_policy.json", import.meta.url)),
  "trust-policy.json",
);

Deno.test("the seed's policy.json allows Connect on its group and user only", () => {
  const connect = (resource: string) =>
    evaluatePolicies([seedPolicy], { action: "elasticache:Connect", resource });
  assert.equal(connect(GROUP), "allow");
  assert.equal(connect(USER), "allow");
  assert.equal(connect(GROUP.replace("-01", "-02")), "implicit-deny");
  assert.equal(connect(USER.replace("us-east-1", "us-west-2")), "implicit-deny");
  assert.equal(
    evaluatePolicies([seedPolicy], { action: "elasticache:DescribeUsers", resource: USER }),
    "implicit-deny",
  );
});

Deno.test("actions match without regard to case, resources with it; * and ? are wildcards", () => {
  assert.ok(globMatch("elasticache:*", "ElastiCache:Connect", true));
  assert.ok(globMatch("elasticache:Conn?ct", "elasticache:Connect", true));
  assert.ok(!globMatch("elasticache:Conn?ct", "elasticache:Connnect", true));
  assert.ok(globMatch("arn:aws:elasticache:*:123456789012:user:*", USER, false));
  assert.ok(!globMatch("arn:aws:elasticache:*:123456789012:USER:*", USER, false));
  assert.ok(globMatch("a.b+c(d)", "a.b+c(d)", false));
  assert.ok(!globMatch("a.b", "axb", false));
});

Deno.test("an explicit Deny wins over any Allow, in any policy", () => {
  const allowAll: PolicyDocument = { Statement: { Effect: "Allow", Action: "*", Resource: "*" } };
  const denyUser: PolicyDocument = {
    Statement: [{ Effect: "Deny", Action: "elasticache:*", Resource: USER }],
  };
  const request = { action: "elasticache:Connect", resource: USER };
  assert.equal(evaluatePolicies([allowAll], request), "allow");
  assert.equal(evaluatePolicies([allowAll, denyUser], request), "explicit-deny");
  assert.equal(evaluatePolicies([denyUser, allowAll], request), "explicit-deny");
  assert.equal(evaluatePolicies([allowAll, denyUser], { ...request, resource: GROUP }), "allow");
});

Deno.test("NotAction and NotResource exclude what they name", () => {
  const policy: PolicyDocument = {
    Statement: [
      { Effect: "Allow", NotAction: "elasticache:Delete*", Resource: "*" },
      { Effect: "Deny", Action: "*", NotResource: ["arn:aws:elasticache:us-east-1:*"] },
    ],
  };
  assert.equal(
    evaluatePolicies([policy], { action: "elasticache:Connect", resource: GROUP }),
    "allow",
  );
  assert.equal(
    evaluatePolicies([policy], { action: "elasticache:DeleteUser", resource: USER }),
    "implicit-deny",
  );
  assert.equal(
    evaluatePolicies([policy], {
      action: "elasticache:Connect",
      resource: GROUP.replace("us-east-1", "eu-west-1"),
    }),
    "explicit-deny",
  );
});

Deno.test("the seed's trust-policy.json trusts principals of account 123456789012 for sts:AssumeRole", () => {
  const ask = (ids: string[], action = "sts:AssumeRole") =>
    evaluatePolicies([seedTrust], { action, principal: { type: "AWS", ids } });
  assert.equal(ask(["123456789012", "arn:aws:iam::123456789012:root"]), "allow");
  assert.equal(ask(["arn:aws:iam::123456789012:user/developer"]), "implicit-deny");
  assert.equal(ask(["999999999999", "arn:aws:iam::999999999999:root"]), "implicit-deny");
  assert.equal(
    ask(["123456789012", "arn:aws:iam::123456789012:root"], "sts:AssumeRoleWithWebIdentity"),
    "implicit-deny",
  );
});

Deno.test("trust conditions: StringEquals and StringLike on OIDC claims, IfExists, Null, unknown operators", () => {
  const provider = "token.actions.githubusercontent.com";
  const trust: PolicyDocument = {
    Statement: [{
      Effect: "Allow",
      Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${provider}` },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: { [`${provider}:aud`]: "sts.amazonaws.com" },
        StringLike: {
          [`${provider}:sub`]: ["repo:acme/app:ref:refs/heads/*", "repo:acme/app:env:prod"],
        },
      },
    }],
  };
  const ask = (context: Record<string, string>, federated = provider) =>
    evaluatePolicies([trust], {
      action: "sts:AssumeRoleWithWebIdentity",
      principal: {
        type: "Federated",
        ids: [`arn:aws:iam::123456789012:oidc-provider/${federated}`],
      },
      context,
    });
  const good = {
    [`${provider}:aud`]: "sts.amazonaws.com",
    [`${provider}:sub`]: "repo:acme/app:ref:refs/heads/main",
  };
  assert.equal(ask(good), "allow");
  assert.equal(ask({ ...good, [`${provider}:sub`]: "repo:acme/app:env:prod" }), "allow");
  assert.equal(
    ask({ ...good, [`${provider}:sub`]: "repo:evil/app:ref:refs/heads/main" }),
    "implicit-deny",
  );
  assert.equal(ask({ ...good, [`${provider}:aud`]: "other" }), "implicit-deny");
  assert.equal(ask({ [`${provider}:sub`]: good[`${provider}:sub`]! }), "implicit-deny");
  // Condition keys are case-insensitive.
  assert.equal(
    ask({
      [`${provider.toUpperCase()}:AUD`]: "sts.amazonaws.com",
      [`${provider}:SUB`]: good[`${provider}:sub`]!,
    }),
    "allow",
  );
  assert.equal(ask(good, "accounts.google.com"), "implicit-deny");

  const withCondition = (
    effect: "Allow" | "Deny",
    Condition: Record<string, Record<string, string>>,
  ) =>
    evaluatePolicies([{
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }, {
        Effect: effect,
        Action: "*",
        Resource: "*",
        Condition,
      }],
    }], {
      action: "x:Y",
      resource: "r",
      context: { "k": "v" },
    });
  assert.equal(
    withCondition("Deny", { StringNotEqualsIfExists: { missing: "v" } }),
    "explicit-deny",
  );
  assert.equal(withCondition("Deny", { StringEqualsIfExists: { missing: "v" } }), "explicit-deny");
  assert.equal(withCondition("Deny", { StringEquals: { missing: "v" } }), "allow");
  assert.equal(withCondition("Deny", { Null: { missing: "true" } }), "explicit-deny");
  assert.equal(withCondition("Deny", { Null: { k: "true" } }), "allow");
  // An operator the emulator does not know makes a Deny apply (it errs on refusing).
  assert.equal(
    withCondition("Deny", { DateGreaterThan: { k: "2020-01-01T00:00:00Z" } }),
    "explicit-deny",
  );
});

Deno.test("malformed policies are refused when loaded, naming the problem", () => {
  assert.throws(() => parsePolicyDocument("{", "p"), /Cannot load p: it is not valid JSON/);
  assert.throws(() => parsePolicyDocument({}, "p"), /no 'Statement'/);
  assert.throws(
    () => parsePolicyDocument({ Statement: { Effect: "allow", Action: "*" } }, "p"),
    /'Effect' must be "Allow" or "Deny"/,
  );
  assert.throws(() => parsePolicyDocument({ Statement: [{ Effect: "Allow" }] }, "p"), /'Action'/);
  assert.throws(
    () =>
      parsePolicyDocument({ Statement: [{ Effect: "Allow", Action: "*", Resources: "*" }] }, "p"),
    /unknown element 'Resources'/,
  );
});
