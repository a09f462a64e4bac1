// TLS credentials as Open vSwitch takes them (--private-key, --certificate, --ca-cert: PEM
// files), read once at start and checked, so that a wrong file is one clear line at start-up
// and not a handshake failure on every attempt later.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";

export interface TlsFiles {
  privateKey?: string;
  certificate?: string;
  caCert?: string;
}

/** What a TLS endpoint presents (key, certificate) and trusts (the CA certificates). */
export interface TlsCredentials {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
}

/** The command-line flag of each file, as Open vSwitch spells them. */
export const TLS_FLAGS = {
  privateKey: "--private-key",
  certificate: "--certificate",
  caCert: "--ca-cert",
} as const;
const FLAGS = TLS_FLAGS;

/** Reads a file given with `flag`; throws an Error with a one-line message. */
export function readPemFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (e as Error).message;
    throw new Error(`${flag} ${file}: ${why}`);
  }
}

/** The first line of an error's message (OpenSSL's are long). */
const firstLine = (e: unknown) => String((e as Error).message ?? e).split("\n")[0];

/**
 * Reads and checks the three files for `user` (e.g. `ssl:10.0.0.1:6653`, for the message when
 * one is missing). Throws an Error with a one-line message. `warnings` gets what does not stop
 * a start but will stop peers from accepting this certificate (expired, not yet valid).
 */
export function loadTlsCredentials(
  files: TlsFiles,
  user: string,
  warnings: string[] = [],
): TlsCredentials {
  const missing = (Object.keys(FLAGS) as (keyof TlsFiles)[]).filter((k) => !files[k]);
  if (missing.length > 0) {
    throw new Error(
      `${user} needs --private-key, --certificate and --ca-cert (missing: ${missing.map((k) => FLAGS[k]).join(", ")})`,
    );
  }
  const key = readPemFile(files.privateKey!, FLAGS.privateKey);
  const cert = readPemFile(files.certificate!, FLAGS.certificate);
  const ca = readPemFile(files.caCert!, FLAGS.caCert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new Error(
      `--private-key ${files.privateKey}: not a usable PEM private key (${firstLine(e)})`,
    );
  }
  let own: X509Certificate;
  try {
    own = new X509Certificate(cert);
  } catch (e) {
    throw new Error(`--certificate ${files.certificate}: not a PEM certificate (${firstLine(e)})`);
  }
  try {
    new X509Certificate(ca);
  } catch (e) {
    throw new Error(`--ca-cert ${files.caCert}: not a PEM certificate (${firstLine(e)})`);
  }
  if (!own.checkPrivateKey(privateKey)) {
    throw new Error(
      `--private-key ${files.privateKey} is not the key of --certificate ${files.certificate}`,
    );
  }
  const now = Date.now();
  if (Date.parse(own.validTo) < now)
    warnings.push(
      `--certificate ${files.certificate} expired on ${own.validTo}: peers will refuse it`,
    );
  if (Date.parse(own.validFrom) > now)
    warnings.push(
      `--certificate ${files.certificate} is not valid before ${own.validFrom}: peers will refuse it`,
    );
  return { key, cert, ca };
}
