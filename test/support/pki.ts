// Certificates for TLS tests, made with openssl in a temporary directory (P-256 keys: the whole
// set takes a few tens of milliseconds): a CA, a switch and a controller certificate it signed,
// and a second CA with a certificate of its own (a peer the first CA does not vouch for). File
// names follow ovs-pki's (NAME-privkey.pem, NAME-cert.pem, cacert.pem). One CA for both ends
// keeps tests short; ovs-pki's layout (a switch CA and a controller CA) works the same way.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A key and the certificate for it. */
export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestPki {
  dir: string;
  /** The CA both ends trust. */
  caCert: string;
  switch: KeyPair;
  controller: KeyPair;
  /** Signed by another CA. */
  foreign: KeyPair;
  foreignCaCert: string;
  /** A certificate the CA signed that expired before the test began. */
  expired: KeyPair;
  /** Removes the directory (idempotent). */
  remove(): void;
}

const LEAF_EXTENSIONS =
  "basicConstraints=critical,CA:FALSE\n" +
  "keyUsage=critical,digitalSignature,keyAgreement\n" +
  "extendedKeyUsage=serverAuth,clientAuth\n";

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe", timeout: 10_000 });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}-privkey.pem`);
  const cert = join(dir, `${name}-cacert.pem`);
  openssl(
    dir,
    "req",
    "-x509",
    "-new",
    ...EC,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=ofswitch test ${name}`,
  );
  return { cert, key };
}

function makeLeaf(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  validity: string[] = ["-days", "2"],
): KeyPair {
  const key = join(dir, `${name}-privkey.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  const csr = join(dir, `${name}-req.pem`);
  const ext = join(dir, "leaf.ext");
  writeFileSync(ext, LEAF_EXTENSIONS);
  openssl(dir, "req", "-new", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`);
  if (validity[0] === "-days") {
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      "-CAcreateserial",
      "-out",
      cert,
      "-extfile",
      ext,
      ...validity,
    );
  } else {
    // `openssl ca` is the tool that takes explicit start and end dates.
    const db = join(dir, "index.txt");
    writeFileSync(db, "");
    const conf = join(dir, "ca.cnf");
    writeFileSync(
      conf,
      [
        "[ca]",
        "default_ca = test",
        "[test]",
        `database = ${db}`,
        `new_certs_dir = ${dir}`,
        `serial = ${join(dir, "serial.txt")}`,
        "default_md = sha256",
        "policy = any",
        "copy_extensions = none",
        "[any]",
        "commonName = supplied",
        "[leaf]",
        ...LEAF_EXTENSIONS.trim().split("\n"),
      ].join("\n"),
    );
    writeFileSync(join(dir, "serial.txt"), "1000\n");
    openssl(
      dir,
      "ca",
      "-batch",
      "-config",
      conf,
      "-extensions",
      "leaf",
      "-cert",
      ca.cert,
      "-keyfile",
      ca.key,
      "-in",
      csr,
      "-out",
      cert,
      "-notext",
      ...validity,
    );
  }
  return { key, cert };
}

/** ofswitch's and ofcontroller's options for a key pair and the CA. */
export function tlsArgs(pki: TestPki, who: KeyPair, caCert = pki.caCert): string[] {
  return ["--private-key", who.key, "--certificate", who.cert, "--ca-cert", caCert];
}

/** ovs-ofctl's and ovs-testcontroller's spelling of the same. */
export function ovsTlsArgs(pki: TestPki, who: KeyPair, caCert = pki.caCert): string[] {
  return [`--private-key=${who.key}`, `--certificate=${who.cert}`, `--ca-cert=${caCert}`];
}

/** Makes the whole set in a new temporary directory. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "ofswitch-pki-"));
  try {
    const ca = makeCa(dir, "test");
    const other = makeCa(dir, "other");
    return {
      dir,
      caCert: ca.cert,
      switch: makeLeaf(dir, "switch", ca),
      controller: makeLeaf(dir, "controller", ca),
      foreign: makeLeaf(dir, "foreign", other),
      foreignCaCert: other.cert,
      expired: makeLeaf(dir, "expired", ca, [
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20200102000000Z",
      ]),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Open vSwitch's layout, made by ovs-pki as docs/user-guide.md ("TLS, step by step") tells:
 * a switch CA and a controller CA, `sw1` signed by the first and `ctl` by the second. Slower
 * than makeTestPki (RSA keys: about 2 s). */
export interface OvsPki {
  dir: string;
  sw1: KeyPair;
  ctl: KeyPair;
  /** What switches trust (it signed the controllers), and what controllers trust. */
  controllerCa: string;
  switchCa: string;
  remove(): void;
}

export function makeOvsPki(): OvsPki {
  const dir = mkdtempSync(join(tmpdir(), "ofswitch-ovspki-"));
  const pkiDir = join(dir, "pki");
  const run = (...args: string[]) =>
    execFileSync("ovs-pki", [`--dir=${pkiDir}`, ...args], {
      cwd: dir,
      stdio: "pipe",
      timeout: 60_000,
    });
  try {
    run("init");
    run("req+sign", "sw1", "switch");
    run("req+sign", "ctl", "controller");
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pair = (name: string) => ({
    key: join(dir, `${name}-privkey.pem`),
    cert: join(dir, `${name}-cert.pem`),
  });
  return {
    dir,
    sw1: pair("sw1"),
    ctl: pair("ctl"),
    controllerCa: join(pkiDir, "controllerca", "cacert.pem"),
    switchCa: join(pkiDir, "switchca", "cacert.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
