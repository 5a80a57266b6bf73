/**
 * A throwaway CA and a server certificate for `localhost` / `127.0.0.1`,
 * made with the `openssl` binary, for TLS tests against `redis-server`.
 *
 * @module
 */

/** Certificate files in a temporary directory. */
export interface TestCertificates extends AsyncDisposable {
  /** The CA certificate, PEM. */
  readonly caPem: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Arguments that make `redis-server` listen with TLS on `port` as well. */
  redisArgs(port: number): string[];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

/**
 * Creates the CA and the server certificate.
 *
 * @returns The files; dispose to delete them.
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "client-tls-" });
  const days = ["-days", "2"];
  await openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      ...days,
      "-subj",
      "/CN=Client Test CA",
    ],
    dir,
  );
  await openssl(
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    ],
    dir,
  );
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      ...days,
      "-extfile",
      "ext.cnf",
    ],
    dir,
  );
  const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
  const files = {
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
  };
  return {
    caPem,
    ...files,
    redisArgs: (port) => [
      "--tls-port",
      String(port),
      "--tls-cert-file",
      files.certFile,
      "--tls-key-file",
      files.keyFile,
      "--tls-ca-cert-file",
      files.caFile,
      "--tls-auth-clients",
      "no",
    ],
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * A port that was free a moment ago.
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
