/**
 * The emulator's OIDC issuer: an RS256 key pair made at start-up, a discovery
 * document and a JWKS served on loopback, and a way to mint web-identity
 * tokens (JWTs) for tests and demos. Its `iat` and `exp` follow the emulator
 * clock.
 *
 * @module
 */

import { describe } from "@elasticache-iam/connector/internal";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Jwk } from "./config.ts";
import type { EmulatorClock } from "./clock.ts";

/** Options of {@linkcode OidcIssuer.mintToken}. */
export interface MintTokenOptions {
  /** The subject (`sub`), such as `repo:acme/app:ref:refs/heads/main`. */
  sub: string;
  /** The audience (`aud`); STS accepts the provider's client ids, by default `sts.amazonaws.com`. */
  aud: string | string[];
  /**
   * How long the token is valid, in seconds of emulator time.
   *
   * @default {3600}
   */
  expiresIn?: number;
  /** More claims to put in the token. @default none */
  claims?: Record<string, unknown>;
}

/** The emulator's OIDC issuer, as `startEmulator` exposes it. */
export interface OidcIssuer {
  /** The issuer URL: the tokens' `iss` claim, `http://127.0.0.1:<port>`. */
  readonly issuer: string;
  /** The provider name IAM derives from it (`127.0.0.1:<port>`): the prefix of its condition keys. */
  readonly providerName: string;
  /** The JWKS URL. */
  readonly jwksUri: string;
  /** The public keys. */
  readonly jwks: { keys: Jwk[] };
  /**
   * Mints a signed RS256 web-identity token.
   *
   * @param options The subject, audience and lifetime.
   * @returns The JWT. It is a credential: do not log it.
   */
  mintToken(options: MintTokenOptions): Promise<string>;
}

/** The issuer with its server, owned by the emulator. */
export interface RunningOidcIssuer extends OidcIssuer {
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts the issuer on `127.0.0.1`.
 *
 * @param clock The emulator clock.
 * @param port The port, or 0 for a free one.
 * @returns The running issuer.
 */
export async function startOidcIssuer(
  clock: EmulatorClock,
  port = 0,
): Promise<RunningOidcIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `emulator-${crypto.randomUUID().slice(0, 8)}`;
  const publicJwk: Jwk = {
    ...(await exportJWK(publicKey)) as JsonWebKey,
    kid,
    alg: "RS256",
    use: "sig",
  };
  const jwks = { keys: [publicJwk] };
  let issuer = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== "GET") return new Response("Method Not Allowed", { status: 405 });
      if (path === "/.well-known/openid-configuration") {
        return Response.json({
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          response_types_supported: ["id_token"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          claims_supported: ["sub", "aud", "exp", "iat", "iss"],
        });
      }
      if (path === "/.well-known/jwks.json") return Response.json(jwks);
      return new Response("Not Found", { status: 404 });
    },
  );
  issuer = `http://127.0.0.1:${server.addr.port}`;
  const providerName = issuer.replace(/^https?:\/\//, "");
  return {
    issuer,
    providerName,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    jwks,
    async mintToken(options: MintTokenOptions): Promise<string> {
      if (options === null || typeof options !== "object") {
        throw new TypeError("Cannot mint a web identity token: options must be an object");
      }
      if (typeof options.sub !== "string" || options.sub === "") {
        throw new TypeError(
          `Cannot mint a web identity token: 'sub' must be a non-empty string, got ${
            describe(options.sub)
          }`,
        );
      }
      const audiences = Array.isArray(options.aud) ? options.aud : [options.aud];
      if (audiences.length === 0 || !audiences.every((a) => typeof a === "string" && a !== "")) {
        throw new TypeError(
          `Cannot mint a web identity token: 'aud' must be a string or a list of strings, got ${
            describe(options.aud)
          }`,
        );
      }
      const expiresIn = options.expiresIn ?? 3600;
      if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn)) {
        throw new RangeError(
          `Cannot mint a web identity token: 'expiresIn' must be a number of seconds, got ${
            describe(expiresIn)
          }`,
        );
      }
      const now = Math.floor(clock.now() / 1000);
      return await new SignJWT({ ...options.claims })
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .setIssuer(issuer)
        .setSubject(options.sub)
        .setAudience(options.aud)
        .setIssuedAt(now)
        .setExpirationTime(now + expiresIn)
        .setJti(crypto.randomUUID())
        .sign(privateKey);
    },
    async close(): Promise<void> {
      await server.shutdown();
    },
  };
}
