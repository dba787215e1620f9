/**
 * The openssl (3.x) steps that make a key and a certificate: a self-signed CA, or a leaf signed
 * by one, written into a temporary folder the caller owns. Every failure is one
 * {@link CertsError} line.
 *
 * @module
 */
import { join } from "node:path";
import { CertsError, oneLine } from "./errors.ts";

/**
 * Usage a leaf certificate is made for. `"none"` has no extendedKeyUsage, which TLS stacks treat
 * as "any usage"; for a client certificate that must be refused, use `"server"`.
 */
export type CertKind = "server" | "client" | "none";

/** Paths of a certificate and its key. */
export interface CertPair {
  crt: string;
  key: string;
}

/** A certificate's validity, from `start` to `end`. */
export interface Window {
  start: Date;
  end: Date;
}

/** What a leaf certificate is made with. */
export interface LeafSpec {
  cn: string;
  kind: CertKind;
  sans: string[];
  days: number;
  rsaBits: number | undefined;
  window?: Window;
}

/** Makes a self-signed CA `<name>.key`/`<name>.crt` in `tmp`. */
export async function makeCa(
  tmp: string,
  name: string,
  cn: string,
  days: number,
  rsaBits: number | undefined,
): Promise<CertPair> {
  const key = join(tmp, `${name}.key`);
  const crt = join(tmp, `${name}.crt`);
  const cnf = join(tmp, `${name}.cnf`);
  await genKey(`${name} key`, key, rsaBits);
  await Deno.writeTextFile(
    cnf,
    [
      "[req]",
      "distinguished_name = dn",
      "x509_extensions = ext",
      "prompt = no",
      "[dn]",
      `CN = ${cn}`,
      "[ext]",
      "basicConstraints = critical, CA:TRUE, pathlen:0",
      "keyUsage = critical, keyCertSign, cRLSign",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid:always",
      "",
    ].join("\n"),
  );
  await openssl(`${name} certificate`, [
    "req",
    "-x509",
    "-new",
    "-config",
    cnf,
    "-key",
    key,
    "-sha256",
    "-days",
    String(days),
    "-set_serial",
    randomSerial(),
    "-out",
    crt,
  ]);
  return { crt, key };
}

/** Makes a leaf `<name>.key`/`<name>.crt` in `tmp`, signed by `ca`. */
export async function makeLeaf(
  tmp: string,
  name: string,
  ca: CertPair,
  spec: LeafSpec,
): Promise<CertPair> {
  const key = join(tmp, `${name}.key`);
  const csr = join(tmp, `${name}.csr`);
  const crt = join(tmp, `${name}.crt`);
  const reqCnf = join(tmp, `${name}-req.cnf`);
  const extCnf = join(tmp, `${name}-ext.cnf`);
  await genKey(`${name} key`, key, spec.rsaBits);
  await Deno.writeTextFile(reqCnf, "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n");
  await openssl(`${name} request`, [
    "req",
    "-new",
    "-config",
    reqCnf,
    "-key",
    key,
    "-subj",
    `/CN=${spec.cn}`,
    "-out",
    csr,
  ]);

  const usage = spec.rsaBits ? "digitalSignature, keyEncipherment" : "digitalSignature";
  const ext = [
    "[ext]",
    "basicConstraints = critical, CA:FALSE",
    `keyUsage = critical, ${usage}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid, issuer",
  ];
  if (spec.kind === "server") ext.push("extendedKeyUsage = serverAuth");
  if (spec.kind === "client") ext.push("extendedKeyUsage = clientAuth");
  if (spec.sans.length > 0) ext.push(`subjectAltName = ${spec.sans.join(", ")}`);
  await Deno.writeTextFile(extCnf, ext.join("\n") + "\n");

  if (!spec.window) {
    await openssl(`${name} certificate`, [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.crt,
      "-CAkey",
      ca.key,
      "-set_serial",
      randomSerial(),
      "-sha256",
      "-days",
      String(spec.days),
      "-extfile",
      extCnf,
      "-extensions",
      "ext",
      "-out",
      crt,
    ]);
    return { crt, key };
  }

  // openssl 3.0 `x509` cannot set notBefore (`-not_before` is 3.4+); `ca` can, with a throwaway db.
  const db = join(tmp, `${name}-db`);
  await Deno.mkdir(db);
  await Deno.writeTextFile(join(db, "index.txt"), "");
  const caCnf = join(tmp, `${name}-ca.cnf`);
  await Deno.writeTextFile(
    caCnf,
    [
      "[ca]",
      "default_ca = tmp_ca",
      "[tmp_ca]",
      `dir = ${db}`,
      "database = $dir/index.txt",
      "new_certs_dir = $dir",
      "serial = $dir/serial",
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "copy_extensions = none",
      "[any]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  await openssl(`${name} certificate`, [
    "ca",
    "-batch",
    "-config",
    caCnf,
    "-cert",
    ca.crt,
    "-keyfile",
    ca.key,
    "-in",
    csr,
    "-rand_serial",
    "-preserveDN",
    "-notext",
    "-startdate",
    asn1Time(spec.window.start),
    "-enddate",
    asn1Time(spec.window.end),
    "-extfile",
    extCnf,
    "-extensions",
    "ext",
    "-out",
    crt,
  ]);
  return { crt, key };
}

// genpkey writes PKCS#8 PEM ("BEGIN PRIVATE KEY") for both key types.
function genKey(step: string, path: string, rsaBits: number | undefined): Promise<void> {
  const algo = rsaBits ? ["-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${rsaBits}`] : [
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-pkeyopt",
    "ec_param_enc:named_curve",
  ];
  return openssl(step, ["genpkey", ...algo, "-out", path]);
}

/** Run openssl; a spawn ENOENT or a non-zero exit becomes one {@link CertsError} line. */
async function openssl(step: string, args: string[]): Promise<void> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("openssl", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CertsError(
        "openssl not found on PATH; install it (Debian: apt-get install openssl)",
      );
    }
    throw new CertsError(`cannot run openssl (${step}): ${oneLine(err)}`);
  }
  if (!result.success) {
    const lines = new TextDecoder().decode(result.stderr).split("\n").map((l) => l.trim())
      .filter((l) => l !== "");
    const last = lines.at(-1) ?? `exit code ${result.code}`;
    throw new CertsError(`openssl step "${step}" failed: ${last}`);
  }
}

// 127 random bits, top bit clear: a positive serial that never repeats in practice.
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function asn1Time(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}
