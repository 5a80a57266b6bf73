/**
 * The emulator's credential endpoints on loopback, each handing out its own
 * STS temporary credentials for a configured role (so the gateway accepts
 * tokens signed with them):
 *
 * - a **container credentials endpoint**, as ECS and EKS Pod Identity serve
 *   one: `GET /v1/credentials` with the `Authorization` token it issued (EKS
 *   Pod Identity's path, for `AWS_CONTAINER_CREDENTIALS_FULL_URI`), and
 *   `GET /v2/credentials/<id>` (ECS's path, for
 *   `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`; the id is the capability, as on
 *   ECS), answering `{"RoleArn", "AccessKeyId", "SecretAccessKey", "Token",
 *   "Expiration", "AccountId"}`;
 * - an **EC2 instance metadata endpoint**, IMDSv2 as EC2 serves it with
 *   tokens required: `PUT /latest/api/token` with
 *   `X-aws-ec2-metadata-token-ttl-seconds` (1 to 21600) gives a session
 *   token; `GET /latest/meta-data/iam/security-credentials/` answers the role
 *   name and `…/<role>` its credentials (`Code`, `LastUpdated`, `Type`,
 *   `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`); a `GET` without
 *   a token, or with an unknown or expired one (emulator clock), gets 401.
 *
 * Each hands out the same credentials until 15 minutes before they expire
 * (they last 6 hours on the emulator clock), then new ones, as ECS and EC2
 * rotate theirs.
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";
import type { LocalServiceOptions } from "./local_service.ts";
import type {
  ContainerCredentialsConfig,
  EmulatorConfig,
  InstanceMetadataConfig,
  Principal,
  ResolvedConfig,
  ResolvedRole,
} from "./config.ts";
import { randomString, type StoredCredentials } from "./credential_store.ts";

/** How long the credentials the endpoints hand out last, in ms (ECS and EC2 hand out 6-hour ones). */
export const ENDPOINT_CREDENTIALS_LIFETIME_MS = 6 * 60 * 60 * 1000;
/** How long before they expire the endpoints hand out new ones, in ms. */
const ROTATE_BEFORE_MS = 15 * 60 * 1000;
/** The longest IMDSv2 token life a client may ask for, in seconds (EC2's). */
const MAX_TOKEN_TTL_SECONDS = 21600;
/** How many IMDSv2 tokens are kept at once; the oldest go first. */
const MAX_TOKENS = 10_000;
/** The instance id in the role session's ARN (AWS's documentation example). */
const INSTANCE_ID = "i-0123456789abcdef0";

/** The container credentials endpoint, as `startEmulator` exposes it. */
export interface ContainerCredentialsEndpoint {
  /** Where it listens: `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /**
   * EKS Pod Identity's form: `http://127.0.0.1:<port>/v1/credentials`, for
   * `AWS_CONTAINER_CREDENTIALS_FULL_URI`. Requests need `authorizationToken`.
   */
  readonly fullUri: string;
  /**
   * The `Authorization` value `fullUri` requires, made afresh at each start
   * (what `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or the file named by
   * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, holds).
   */
  readonly authorizationToken: string;
  /**
   * ECS's form: `/v2/credentials/<id>`, a path that needs no header (its
   * random id is the capability, as on ECS). ECS serves it at
   * `http://169.254.170.2`; here it is at `origin`.
   */
  readonly relativeUri: string;
  /** The ARN of the role whose credentials it hands out, or `undefined` when no role is configured. */
  readonly roleArn: string | undefined;
}

/** The EC2 instance metadata endpoint (IMDSv2), as `startEmulator` exposes it. */
export interface InstanceMetadataEndpoint {
  /** Its URL, `http://127.0.0.1:<port>`: pass it as `AWS_EC2_METADATA_SERVICE_ENDPOINT`. */
  readonly endpoint: string;
  /** The instance profile's role name, or `undefined` when no role is configured. */
  readonly roleName: string | undefined;
  /** Its ARN. */
  readonly roleArn: string | undefined;
}

/** Both endpoints with their servers, owned by the emulator. */
export interface RunningCredentialEndpoints {
  /** The container credentials endpoint. */
  readonly containerCredentials: ContainerCredentialsEndpoint;
  /** The instance metadata endpoint. */
  readonly instanceMetadata: InstanceMetadataEndpoint;
  /** Stops both servers. */
  close(): Promise<void>;
}

/**
 * Finds the roles the endpoints hand out, checking the configuration's
 * `containerCredentials` and `instanceMetadata` sections.
 *
 * @param config The configuration as given.
 * @param resolved It, resolved.
 * @returns The container endpoint's role and the instance's, or `undefined` when no role is configured.
 * @throws {TypeError} When a section is not an object, or a `roleName` names no configured role.
 */
export function credentialEndpointRoles(
  config: EmulatorConfig,
  resolved: ResolvedConfig,
): { container: ResolvedRole | undefined; instance: ResolvedRole | undefined } {
  const roles = [...resolved.roles.values()];
  const roleOf = (name: "containerCredentials" | "instanceMetadata") => {
    const section: ContainerCredentialsConfig | InstanceMetadataConfig | undefined = config[name];
    const roleName = section?.roleName;
    if (roleName === undefined) return roles[0];
    if (typeof roleName !== "string") {
      throw new TypeError(
        `Cannot start the emulator: '${name}.roleName' must be a role name, got ${
          describe(roleName)
        }`,
      );
    }
    const role = roles.find((candidate) => candidate.roleName === roleName);
    if (role === undefined) {
      throw new TypeError(
        `Cannot start the emulator: '${name}.roleName' is ${
          describe(roleName)
        }, which is not a configured role (${
          roles.map((candidate) => `'${candidate.roleName}'`).join(", ") || "none"
        })`,
      );
    }
    return role;
  };
  return { container: roleOf("containerCredentials"), instance: roleOf("instanceMetadata") };
}

/**
 * Starts both endpoints on `127.0.0.1`.
 *
 * @param options The configuration, key store, clock and log.
 * @returns The running endpoints.
 * @throws {TypeError} When a section names no configured role.
 * @throws {Error} When a port is taken (through `startFailure`).
 */
export function startCredentialEndpoints(
  options: LocalServiceOptions,
): RunningCredentialEndpoints {
  const { config, resolved, credentials, clock, log } = options;
  const roles = credentialEndpointRoles(config, resolved);
  const startFailure = options.startFailure ?? ((error: unknown) => error);

  /** The credentials an endpoint hands out now: the current ones, or new ones near their end. */
  const rotating = (role: ResolvedRole, session: string, what: string) => {
    let current: StoredCredentials | undefined;
    return (): StoredCredentials => {
      if (current === undefined || current.expiration! - clock.now() <= ROTATE_BEFORE_MS) {
        const principal: Principal = {
          kind: "assumed-role",
          arn:
            `arn:${resolved.partition}:sts::${resolved.accountId}:assumed-role/${role.roleName}/${session}`,
          baseArn: role.arn,
          accountId: resolved.accountId,
          policies: role.policies,
        };
        current = credentials.issue(principal, clock.now() + ENDPOINT_CREDENTIALS_LIFETIME_MS);
        log(
          `${what}: issued ${current.accessKeyId} for ${role.arn} (until ${
            rfc3339(current.expiration!)
          })`,
        );
      }
      return current;
    };
  };

  const servers: Deno.HttpServer[] = [];
  const close = async () => {
    await Promise.all(servers.splice(0).map((server) => server.shutdown()));
  };
  try {
    // Container credentials: EKS Pod Identity's path with a token, ECS's with a capability path.
    const authorizationToken = randomString(
      43,
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    );
    const relativeUri = `/v2/credentials/${crypto.randomUUID()}`;
    const containerRole = roles.container;
    const containerCredentials = containerRole === undefined
      ? undefined
      : rotating(containerRole, `ecs-task-${randomString(32, "0123456789abcdef")}`, "container");
    const containerPort = config.containerCredentials?.port ?? 0;
    let containerServer: Deno.HttpServer<Deno.NetAddr>;
    try {
      containerServer = Deno.serve({
        hostname: "127.0.0.1",
        port: containerPort,
        onListen: () => {},
      }, (request) => {
        const { pathname } = new URL(request.url);
        const refuse = (status: number, code: string, message: string, reason: string) => {
          log(`container: ${request.method} refused (HTTP ${status}): ${reason}`);
          return json({ Code: code, Message: message }, status);
        };
        if (pathname !== "/v1/credentials" && pathname !== relativeUri) {
          return refuse(
            404,
            "NotFound",
            "No credentials are served at this path",
            `no credentials at a path of ${pathname.length} characters`,
          );
        }
        if (request.method !== "GET") {
          return refuse(405, "MethodNotAllowed", "Use GET", `method ${describe(request.method)}`);
        }
        if (pathname === "/v1/credentials") {
          const given = request.headers.get("authorization");
          if (given === null || given === "") {
            return refuse(
              401,
              "AccessDenied",
              "The Authorization header is missing",
              "no Authorization header",
            );
          }
          if (given !== authorizationToken) {
            return refuse(
              401,
              "AccessDenied",
              "The Authorization header is not the token this endpoint issued",
              "an Authorization header that is not the issued token",
            );
          }
        }
        if (containerCredentials === undefined) {
          return refuse(
            404,
            "NoRole",
            "No role is associated with this container",
            "no role is configured",
          );
        }
        const issued = containerCredentials();
        return json({
          RoleArn: containerRole!.arn,
          AccessKeyId: issued.accessKeyId,
          SecretAccessKey: issued.secretAccessKey,
          Token: issued.sessionToken,
          Expiration: rfc3339(issued.expiration!),
          AccountId: resolved.accountId,
        });
      });
    } catch (error) {
      throw startFailure(
        error,
        "container credentials endpoint",
        containerPort,
        "'containerCredentials.port'",
      );
    }
    servers.push(containerServer);
    const containerOrigin = `http://127.0.0.1:${containerServer.addr.port}`;

    // EC2 instance metadata, IMDSv2: session tokens on the emulator clock.
    const tokens = new Map<string, number>();
    const instanceRole = roles.instance;
    const instanceCredentials = instanceRole === undefined
      ? undefined
      : rotating(instanceRole, INSTANCE_ID, "imds");
    const metadataPort = config.instanceMetadata?.port ?? 0;
    let metadataServer: Deno.HttpServer<Deno.NetAddr>;
    try {
      metadataServer = Deno.serve({
        hostname: "127.0.0.1",
        port: metadataPort,
        onListen: () => {},
      }, (request) => {
        const { pathname } = new URL(request.url);
        const refuse = (status: number, reason: string) => {
          log(`imds: ${request.method} refused (HTTP ${status}): ${reason}`);
          return text(STATUS_TEXT[status] ?? "Error", status);
        };
        if (pathname === "/latest/api/token") {
          if (request.method !== "PUT") return refuse(405, "a token is asked for with PUT");
          // EC2 refuses token requests that went through a proxy.
          if (request.headers.has("x-forwarded-for")) {
            return refuse(403, "a token request with X-Forwarded-For");
          }
          const ttlText = request.headers.get("x-aws-ec2-metadata-token-ttl-seconds");
          const ttl = ttlText !== null && /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : NaN;
          if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) {
            return refuse(
              400,
              `X-aws-ec2-metadata-token-ttl-seconds must be 1 to ${MAX_TOKEN_TTL_SECONDS}, got ${
                describe(ttlText)
              }`,
            );
          }
          const now = clock.now();
          for (const [token, expires] of tokens) {
            if (expires <= now || tokens.size >= MAX_TOKENS) tokens.delete(token);
          }
          const token = `AQAEA${
            randomString(51, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
          }==`;
          tokens.set(token, now + ttl * 1000);
          return text(token, 200, { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) });
        }
        if (request.method !== "GET") return refuse(405, `method ${describe(request.method)}`);
        const token = request.headers.get("x-aws-ec2-metadata-token");
        if (token === null) return refuse(401, "no X-aws-ec2-metadata-token (IMDSv2 requires one)");
        const expires = tokens.get(token);
        if (expires === undefined) {
          return refuse(401, "a metadata token this endpoint never issued");
        }
        if (expires <= clock.now()) {
          tokens.delete(token);
          return refuse(401, "an expired metadata token");
        }
        const base = "/latest/meta-data/iam/security-credentials/";
        if (pathname === base || pathname === base.slice(0, -1)) {
          if (instanceRole === undefined) return refuse(404, "no role is configured");
          return text(instanceRole.roleName);
        }
        if (
          pathname.startsWith(base) && instanceRole !== undefined &&
          decodeURIComponent(pathname.slice(base.length)) === instanceRole.roleName
        ) {
          const issued = instanceCredentials!();
          return json({
            Code: "Success",
            LastUpdated: rfc3339(issued.expiration! - ENDPOINT_CREDENTIALS_LIFETIME_MS),
            Type: "AWS-HMAC",
            AccessKeyId: issued.accessKeyId,
            SecretAccessKey: issued.secretAccessKey,
            Token: issued.sessionToken,
            Expiration: rfc3339(issued.expiration!),
          });
        }
        return refuse(404, `nothing at a path of ${pathname.length} characters`);
      });
    } catch (error) {
      throw startFailure(
        error,
        "instance metadata endpoint",
        metadataPort,
        "'instanceMetadata.port'",
      );
    }
    servers.push(metadataServer);

    return {
      containerCredentials: {
        origin: containerOrigin,
        fullUri: `${containerOrigin}/v1/credentials`,
        authorizationToken,
        relativeUri,
        roleArn: containerRole?.arn,
      },
      instanceMetadata: {
        endpoint: `http://127.0.0.1:${metadataServer.addr.port}`,
        roleName: instanceRole?.roleName,
        roleArn: instanceRole?.arn,
      },
      close,
    };
  } catch (error) {
    void close();
    throw error;
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function text(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });
}

/** RFC 3339 without fractional seconds, as ECS and EC2 write `Expiration`. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
