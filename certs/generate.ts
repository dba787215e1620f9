/**
 * Test PKI for the suite: a CA, a `localhost` server certificate and an `smft-client` client
 * certificate, made by shelling out to `openssl` (3.x). Also {@link issueCert} and
 * {@link createCa} for negative-case certificates (expired, not yet valid, wrong usage, foreign CA).
 *
 * Intermediates (requests, configs, serials) live in a private temp dir that is always removed,
 * and the output files are installed only after every openssl step succeeded.
 *
 * @module
 */

import { isIP } from "node:net";
import { join, resolve } from "node:path";

/** Common name of the CA made by {@link generateCerts}. */
export const CA_CN = "smft-latency-test-ca";

/**
 * The common name of a new test CA: {@link CA_CN}, the day it was made and 6 random hex digits,
 * e.g. `smft-latency-test-ca 2026-11-28 3f9a0c`, so that an error naming a CA can tell two of
 * them apart (every CA the certs task made used to be called the same).
 */
export function uniqueCaName(now: Date = new Date()): string {
  const rnd = crypto.getRandomValues(new Uint8Array(3));
  const hex = [...rnd].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${CA_CN} ${now.toISOString().slice(0, 10)} ${hex}`;
}
/** Common name of the server certificate. */
export const SERVER_CN = "localhost";
/** Common name of the client certificate. */
export const CLIENT_CN = "smft-client";
/** Subject alternative names every server certificate carries. */
export const DEFAULT_SANS: readonly string[] = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"];
/** RSA key sizes accepted; without one, keys are ECDSA P-256. */
export const RSA_BITS: readonly number[] = [2048, 3072, 4096];
/** Longest validity accepted, in days. */
export const MAX_DAYS = 36500;

/** File names written by {@link generateCerts}, inside `out`. */
export const FILE_NAMES = {
  caCrt: "ca.crt",
  caKey: "ca.key",
  serverCrt: "server.crt",
  serverKey: "server.key",
  clientCrt: "client.crt",
  clientKey: "client.key",
} as const;

/** Absolute paths of the six files, keyed like {@link FILE_NAMES}. */
export type CertFiles = { [K in keyof typeof FILE_NAMES]: string };

/** A problem worth one line to the user; its message never needs a stack trace. */
export class CertsError extends Error {
  override name = "CertsError";
}

/** Options of {@link generateCerts}. */
export interface GenerateOptions {
  /** Output folder, resolved against the current working directory (created if missing). */
  out: string;
  /** Validity of every certificate, in days. @default {365} */
  days?: number;
  /** RSA key size (2048, 3072 or 4096); without it keys are ECDSA P-256. */
  rsaBits?: number;
  /** Extra server SANs: `DNS:name`, `IP:addr`, or a bare name/address (classified). */
  sans?: string[];
  /** Replace existing files. @default {false} */
  force?: boolean;
  /**
   * Whether the caller asked for something existing files may not have (`--san`, `--days`,
   * `--rsa` given): without `force`, existing files are then refused, not kept. @default {false}
   */
  explicit?: boolean;
}

/** What {@link generateCerts} did. */
export interface GenerateResult {
  /** False when existing files were kept (no `force`). */
  written: boolean;
  /** Absolute output folder. */
  outDir: string;
  files: CertFiles;
  /** Names of the files that already existed before the run. */
  existing: string[];
  /** Server SANs, normalised, defaults first. */
  sans: string[];
}

/**
 * Make (or keep) `ca.crt`/`ca.key`, `server.crt`/`server.key`, `client.crt`/`client.key` in
 * `opts.out`. Without `force`, if any of the six exists, nothing is written.
 */
export async function generateCerts(opts: GenerateOptions): Promise<GenerateResult> {
  const days = checkDays(opts.days ?? 365);
  const rsaBits = checkRsaBits(opts.rsaBits);
  const sans = normalizeSans([...DEFAULT_SANS, ...(opts.sans ?? [])]);
  const outDir = resolve(opts.out);
  const files = Object.fromEntries(
    Object.entries(FILE_NAMES).map(([k, name]) => [k, join(outDir, name)]),
  ) as CertFiles;

  await ensureDir(outDir);
  const existing: string[] = [];
  for (const name of Object.values(FILE_NAMES)) {
    if (await exists(join(outDir, name))) existing.push(name);
  }
  const base = { outDir, files, existing, sans };
  if (existing.length > 0 && !opts.force) {
    if (opts.explicit) {
      throw new CertsError(
        `${outDir} already holds ${existing.join(", ")}: the settings asked for ` +
          "(--san, --days, --rsa) need new certificates; add --force to replace them " +
          "(a new CA too: copy ca.crt and the client files to every load host again)",
      );
    }
    return { ...base, written: false };
  }

  await withTempDir(async (tmp) => {
    const ca = await makeCa(tmp, "ca", uniqueCaName(), days, rsaBits);
    const server = await makeLeaf(tmp, "server", ca, {
      cn: SERVER_CN,
      kind: "server",
      sans,
      days,
      rsaBits,
    });
    const client = await makeLeaf(tmp, "client", ca, {
      cn: CLIENT_CN,
      kind: "client",
      sans: [],
      days,
      rsaBits,
    });
    // Keys first: a failed install then leaves no certificate without its key.
    await installKey(ca.key, files.caKey);
    await installKey(server.key, files.serverKey);
    await installKey(client.key, files.clientKey);
    await installCert(ca.crt, files.caCrt);
    await installCert(server.crt, files.serverCrt);
    await installCert(client.crt, files.clientCrt);
  });
  return { ...base, written: true };
}

/**
 * Usage a leaf certificate is made for. `"none"` has no extendedKeyUsage, which TLS stacks treat
 * as "any usage"; for a client certificate that must be refused, use `"server"`.
 */
export type CertKind = "server" | "client" | "none";

/** Options of {@link issueCert}. */
export interface IssueOptions {
  /** Issuer certificate (PEM path). */
  caCrt: string;
  /** Issuer private key (PEM path). */
  caKey: string;
  /** Path prefix: writes `<out>.crt` and `<out>.key` (replacing them). */
  out: string;
  /** Subject common name. */
  cn: string;
  /** `server` adds serverAuth, `client` adds clientAuth, `none` neither. */
  kind: CertKind;
  /** SANs in the same forms as {@link GenerateOptions.sans}; none by default. */
  sans?: string[];
  /** Start of validity. @default {now} */
  notBefore?: Date;
  /** End of validity. @default {notBefore + days} */
  notAfter?: Date;
  /** Validity when `notAfter` is not given. @default {365} */
  days?: number;
  /** RSA key size; without it the key is ECDSA P-256. */
  rsaBits?: number;
}

/** Paths of a certificate and its key. */
export interface CertPair {
  crt: string;
  key: string;
}

/**
 * Issue one leaf certificate signed by the given CA, for tests that need bad certificates:
 * expired (`notAfter` in the past), not yet valid (`notBefore` in the future), without
 * clientAuth (`kind: "server"` or `"none"`), or from a foreign CA (see {@link createCa}).
 */
export async function issueCert(opts: IssueOptions): Promise<CertPair> {
  const rsaBits = checkRsaBits(opts.rsaBits);
  const days = checkDays(opts.days ?? 365);
  const cn = checkCn(opts.cn);
  const sans = opts.sans && opts.sans.length > 0 ? normalizeSans(opts.sans) : [];
  let window: { start: Date; end: Date } | undefined;
  if (opts.notBefore || opts.notAfter) {
    const start = opts.notBefore ?? new Date();
    const end = opts.notAfter ?? new Date(start.getTime() + days * 86_400_000);
    if (!(start.getTime() < end.getTime())) {
      throw new CertsError("notBefore must be earlier than notAfter");
    }
    window = { start, end };
  }
  const pair = { crt: resolve(`${opts.out}.crt`), key: resolve(`${opts.out}.key`) };
  const ca = { crt: resolve(opts.caCrt), key: resolve(opts.caKey) };
  await withTempDir(async (tmp) => {
    const leaf = await makeLeaf(tmp, "leaf", ca, {
      cn,
      kind: opts.kind,
      sans,
      days,
      rsaBits,
      window,
    });
    await installKey(leaf.key, pair.key);
    await installCert(leaf.crt, pair.crt);
  });
  return pair;
}

/** Options of {@link createCa}. */
export interface CaOptions {
  /** Path prefix: writes `<out>.crt` and `<out>.key` (replacing them). */
  out: string;
  /** @default {"smft-other-test-ca"} */
  cn?: string;
  /** @default {365} */
  days?: number;
  /** RSA key size; without it the key is ECDSA P-256. */
  rsaBits?: number;
}

/** Make a self-signed CA, e.g. a foreign one whose leaves the suite's CA must reject. */
export async function createCa(opts: CaOptions): Promise<CertPair> {
  const days = checkDays(opts.days ?? 365);
  const rsaBits = checkRsaBits(opts.rsaBits);
  const cn = checkCn(opts.cn ?? "smft-other-test-ca");
  const pair = { crt: resolve(`${opts.out}.crt`), key: resolve(`${opts.out}.key`) };
  await withTempDir(async (tmp) => {
    const ca = await makeCa(tmp, "ca", cn, days, rsaBits);
    await installKey(ca.key, pair.key);
    await installCert(ca.crt, pair.crt);
  });
  return pair;
}

/**
 * Turn SAN entries (`DNS:x`, `IP:x`, bare names or addresses; comma separated lists allowed)
 * into openssl form, deduplicated, order kept. Throws {@link CertsError} on a bad one.
 */
export function normalizeSans(entries: string[]): string[] {
  const out: string[] = [];
  for (const entry of entries.flatMap((e) => e.split(","))) {
    const raw = entry.trim();
    if (raw === "") continue;
    const san = classifySan(raw);
    if (!out.includes(san)) out.push(san);
  }
  return out;
}

function classifySan(raw: string): string {
  const m = /^(dns|ip):(.*)$/i.exec(raw);
  if (m) {
    const [, type, value] = m;
    if (type.toUpperCase() === "IP") {
      if (isIP(value) === 0) throw new CertsError(`bad SAN "${raw}": not an IP address`);
      return `IP:${value.toLowerCase()}`;
    }
    if (!isDnsName(value)) throw new CertsError(`bad SAN "${raw}": not a DNS name`);
    return `DNS:${value.toLowerCase()}`;
  }
  if (isIP(raw) !== 0) return `IP:${raw.toLowerCase()}`;
  if (/^[a-z][a-z0-9+.-]*:/i.test(raw) && !raw.includes("::")) {
    throw new CertsError(`bad SAN "${raw}": only DNS: and IP: are supported`);
  }
  if (isDnsName(raw)) return `DNS:${raw.toLowerCase()}`;
  throw new CertsError(`bad SAN "${raw}": neither a DNS name nor an IP address`);
}

function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  return labels.every((label, i) =>
    (i === 0 && label === "*" && labels.length > 2) ||
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(label)
  );
}

function checkDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new CertsError(`days must be a whole number from 1 to ${MAX_DAYS}, got ${days}`);
  }
  return days;
}

function checkRsaBits(bits: number | undefined): number | undefined {
  if (bits !== undefined && !RSA_BITS.includes(bits)) {
    throw new CertsError(`RSA key size must be one of ${RSA_BITS.join(", ")}, got ${bits}`);
  }
  return bits;
}

// Kept to characters that need no escaping in `-subj` or a config file.
function checkCn(cn: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._*-]{0,63}$/.test(cn)) {
    throw new CertsError(`bad common name "${cn}": use letters, digits, space, . _ * -`);
  }
  return cn;
}

// --- openssl steps -----------------------------------------------------------------------------

interface Window {
  start: Date;
  end: Date;
}

interface LeafSpec {
  cn: string;
  kind: CertKind;
  sans: string[];
  days: number;
  rsaBits: number | undefined;
  window?: Window;
}

async function makeCa(
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

async function makeLeaf(
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

// --- files -------------------------------------------------------------------------------------

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  // Deno creates it 0700, so intermediate keys are private too.
  const dir = await Deno.makeTempDir({ prefix: "smft-certs-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function ensureDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new CertsError(`cannot create folder ${dir}: ${oneLine(err)}`);
  }
  const info = await Deno.stat(dir);
  if (!info.isDirectory) throw new CertsError(`cannot use folder ${dir}: not a directory`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw new CertsError(`cannot check ${path}: ${oneLine(err)}`);
  }
}

function installKey(from: string, to: string): Promise<void> {
  return install(from, to, 0o600);
}

function installCert(from: string, to: string): Promise<void> {
  return install(from, to, 0o644);
}

/**
 * Write a new file with its final mode from the first byte (no chmod afterwards), then rename
 * it over the target so a replaced key never passes through a wider mode.
 */
async function install(from: string, to: string, mode: number): Promise<void> {
  const data = await Deno.readFile(from);
  const part = `${to}.part-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(part, data, { mode, createNew: true });
    // A strict umask may narrow a certificate; widening public data afterwards is harmless.
    if (mode !== 0o600) await Deno.chmod(part, mode);
    await Deno.rename(part, to);
  } catch (err) {
    await Deno.remove(part).catch(() => {});
    throw new CertsError(`cannot write ${to}: ${oneLine(err)}`);
  }
}

// --- small helpers -----------------------------------------------------------------------------

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

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0];
}
