// deno-lint-ignore-file no-console -- examples print what they do
/**
 * A GitHub Actions step that reaches ElastiCache with no stored AWS secret:
 * the job's OIDC token (audience `sts.amazonaws.com`) is exchanged with STS
 * `AssumeRoleWithWebIdentity` for the role's temporary credentials, which
 * sign the IAM auth token.
 *
 * The workflow needs `permissions: id-token: write` (GitHub then sets
 * `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`), and
 * the role a trust policy whose `Federated` principal is the
 * `token.actions.githubusercontent.com` OIDC provider, with conditions on
 * `token.actions.githubusercontent.com:aud` (`sts.amazonaws.com`) and `:sub`
 * (such as `repo:my-org/my-repo:ref:refs/heads/main`):
 *
 * ```yaml
 * permissions:
 *   id-token: write
 * steps:
 *   - uses: denoland/setup-deno@v2
 *   - run: deno run --allow-net --allow-env examples/github_actions_oidc.ts
 *     env:
 *       AWS_ROLE_ARN: arn:aws:iam::123456789012:role/elasticache-iam-auth-app
 *       AWS_REGION: us-east-1
 *       ELASTICACHE_URL: rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379
 *       ELASTICACHE_CACHE_NAME: my-cache
 *       ELASTICACHE_USER_ID: my-user
 * ```
 *
 * The OIDC token is asked for again whenever the credentials must be renewed.
 * `AWS_ENDPOINT_URL_STS` and `ELASTICACHE_CA_FILE` point it at the local
 * emulator in this repository's tests.
 *
 * @module
 */

import { connect, fromWebIdentity, IamAuth } from "@elasticache-iam/connector";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Set ${name} (see the comment at the top of this file)`);
  return value;
}

/**
 * Asks GitHub for the job's OIDC token.
 *
 * @param audience The `aud` claim STS expects.
 * @returns The JWT.
 */
async function gitHubIdToken(audience: string): Promise<string> {
  const url = new URL(env("ACTIONS_ID_TOKEN_REQUEST_URL"));
  url.searchParams.set("audience", audience);
  const response = await fetch(url, {
    headers: { authorization: `bearer ${env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")}` },
  });
  if (!response.ok) {
    throw new Error(`GitHub refused an OIDC token (${response.status}): is id-token: write set?`);
  }
  const { value } = await response.json() as { value: string };
  return value;
}

const region = env("AWS_REGION");
using auth = new IamAuth({
  replicationGroupId: env("ELASTICACHE_CACHE_NAME"),
  userId: env("ELASTICACHE_USER_ID"),
  region,
  credentials: fromWebIdentity({
    roleArn: env("AWS_ROLE_ARN"),
    webIdentityToken: () => gitHubIdToken("sts.amazonaws.com"),
    roleSessionName: `github-${Deno.env.get("GITHUB_RUN_ID") ?? "local"}`,
    region,
  }),
});
const url = new URL(env("ELASTICACHE_URL"));
const caFile = Deno.env.get("ELASTICACHE_CA_FILE");
await using client = await connect({
  host: url.hostname.replace(/^\[|\]$/g, ""),
  port: Number(url.port || 6379),
  tls: url.protocol === "rediss:",
  auth,
  ...(caFile ? { caCerts: await Deno.readTextFile(caFile) } : {}),
});
console.log(`connected as ${await client.send(["ACL", "WHOAMI"])}`);
console.log(`INCR example:ci:runs -> ${await client.incr("example:ci:runs")}`);
