/**
 * A throwaway certificate authority and a server certificate for `localhost`
 * and `127.0.0.1`, made at start-up with the `openssl` program (ECDSA P-256,
 * valid for two days). Keys stay in memory: the temporary directory openssl
 * writes them to is removed before this returns.
 *
 * @module
 */

/** A CA certificate and a server certificate with its key, all PEM. */
export interface TlsMaterial {
  /** The CA certificate, to hand to clients. */
  caCertPem: string;
  /** The server certificate chain (leaf, then CA). */
  cert: string;
  /** The server's private key (PKCS #8). */
  key: string;
}

/**
 * Makes a CA and a server certificate signed by it.
 *
 * @param openssl The `openssl` program.
 * @returns The certificates and the server key.
 * @throws {Error} If `openssl` is missing or fails.
 */
export async function createTlsMaterial(openssl = "openssl"): Promise<TlsMaterial> {
  const dir = await Deno.makeTempDir({ prefix: "elasticache-emulator-tls-" });
  try {
    const common = ["-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await run(openssl, [
      "req",
      ...common,
      "-keyout",
      `${dir}/ca.key`,
      "-out",
      `${dir}/ca.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=ElastiCache IAM emulator CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await run(openssl, [
      "req",
      ...common,
      "-keyout",
      `${dir}/server.key`,
      "-out",
      `${dir}/server.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "keyUsage=critical,digitalSignature",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ]);
    const caCertPem = await Deno.readTextFile(`${dir}/ca.pem`);
    const leaf = await Deno.readTextFile(`${dir}/server.pem`);
    const key = await Deno.readTextFile(`${dir}/server.key`);
    return { caCertPem, cert: leaf + caCertPem, key };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(program: string, args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    })
      .output();
  } catch (error) {
    throw new Error(
      error instanceof Deno.errors.NotFound
        ? `Cannot make the emulator's TLS certificate: '${program}' was not found; install OpenSSL (Debian/Ubuntu: apt-get install openssl)`
        : `Cannot make the emulator's TLS certificate with '${program}'`,
      { cause: error },
    );
  }
  if (!output.success) {
    const reason = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-2).join(" ");
    throw new Error(
      `Cannot make the emulator's TLS certificate: openssl ${args[0]} failed: ${reason}`,
    );
  }
}
