/**
 * Test PKI for the suite: a CA, a `localhost` server certificate and an `smft-client` client
 * certificate, made by shelling out to `openssl` (3.x). Also {@link issueCert} and
 * {@link createCa} for negative-case certificates (expired, not yet valid, wrong usage, foreign CA).
 *
 * Intermediates (requests, configs, serials) live in a private temp dir that is always removed,
 * and the output files are installed only after every openssl step succeeded. The steps are
 * `openssl.ts`, the files `install.ts`; this module decides what is made.
 *
 * @module
 */

import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { CertsError } from "./errors.ts";
import { type CertKind, type CertPair, makeCa, makeLeaf } from "./openssl.ts";
import { ensureDir, exists, installCert, installKey, withTempDir } from "./install.ts";

export { CertsError };
export type { CertKind, CertPair };

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
