/**
 * TLS 1.3 credentials for df (server) and smft (client), built from certificate files.
 *
 * grpc-js's `ServerCredentials.createSsl` cannot set a minimum TLS version, so the server side
 * passes its own constructor options (`minVersion: "TLSv1.3"`) through a small subclass.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { statSync } from "node:fs";
import * as tls from "node:tls";
import { BoundedReadError, readBoundedFile } from "./bounded_read.ts";

/**
 * The most a certificate, key or CA file may hold: a large CA bundle (Mozilla's ~220 KB) fits
 * many times over; `/dev/zero` or a wrong file does not.
 */
export const MAX_PEM_BYTES = 1024 * 1024;

/** `mtls`: both sides prove who they are; `tls`: only the server; `insecure`: plaintext. */
export type TlsMode = "mtls" | "tls" | "insecure";

/** A certificate or key file that cannot be used: one line naming the file and the setting. */
export class TlsFileError extends Error {
  override name = "TlsFileError";
}

/** Paths of the PEM files a side uses. */
export interface TlsPaths {
  ca: string;
  cert: string;
  key: string;
}

/** PEM contents, read and checked. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Subject of the own certificate, for start-up lines. */
  subject?: string;
  /** Warnings to print (e.g. a private key others can read). */
  warnings: string[];
}

function readPem(path: string, what: string, setting: string): Buffer {
  let buf: Buffer;
  try {
    buf = readBoundedFile(path, MAX_PEM_BYTES);
  } catch (e) {
    const why = e instanceof BoundedReadError
      ? `is ${e.message}`
      : e instanceof Deno.errors.NotFound
      ? "not found (run `deno task certs` to make test certificates)"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message;
    throw new TlsFileError(`${setting} ${path}: ${what} ${why}`);
  }
  if (!buf.includes("-----BEGIN ")) {
    throw new TlsFileError(`${setting} ${path}: not a PEM ${what}`);
  }
  return buf;
}

/**
 * Reads the files a mode needs and checks that the key belongs to the certificate.
 * In `tls` mode a client needs only the CA; a server needs its certificate and key.
 */
export function loadTls(
  mode: TlsMode,
  paths: TlsPaths,
  side: "server" | "client",
): TlsMaterial {
  const out: TlsMaterial = { warnings: [] };
  if (mode === "insecure") return out;
  const needCa = side === "client" || mode === "mtls";
  const needPair = side === "server" || mode === "mtls";
  if (needCa) out.ca = readPem(paths.ca, "CA certificate", "TLS_CA");
  if (!needPair) return out;
  out.cert = readPem(paths.cert, "certificate", "TLS_CERT");
  out.key = readPem(paths.key, "private key", "TLS_KEY");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(out.cert);
  } catch (e) {
    throw new TlsFileError(
      `TLS_CERT ${paths.cert}: cannot parse certificate (${(e as Error).message})`,
    );
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(out.key));
  } catch (e) {
    throw new TlsFileError(
      `TLS_KEY ${paths.key}: cannot parse private key (${(e as Error).message})`,
    );
  }
  if (!matches) {
    throw new TlsFileError(
      `TLS_KEY ${paths.key} does not match the certificate TLS_CERT ${paths.cert}`,
    );
  }
  if (new Date(cert.validTo).getTime() < Date.now()) {
    out.warnings.push(`certificate ${paths.cert} expired on ${cert.validTo}`);
  }
  // A clock or a --days mistake: the peer refuses it until then, as it refuses an expired one.
  if (new Date(cert.validFrom).getTime() > Date.now()) {
    out.warnings.push(`certificate ${paths.cert} is not valid before ${cert.validFrom}`);
  }
  out.subject = cert.subject.replace(/\n/g, ", ");
  // A world-readable key is a leak waiting to happen; warn rather than refuse, because
  // Kubernetes secrets and some CI volumes mount files 0644 by default.
  try {
    const mode = statSync(paths.key).mode & 0o777;
    if (mode & 0o044) {
      out.warnings.push(
        `private key ${paths.key} is readable by others (mode ${
          mode.toString(8).padStart(4, "0")
        }); run: chmod 600 ${paths.key}`,
      );
    }
  } catch { /* mode checks are advisory */ }
  return out;
}

/** Server credentials that accept TLS 1.3 only and, in `mtls`, require a client certificate. */
class Tls13ServerCredentials extends grpc.ServerCredentials {
  constructor(mode: "mtls" | "tls", m: TlsMaterial, handshakeTimeoutMs?: number) {
    super(
      {
        minVersion: "TLSv1.3",
        requestCert: mode === "mtls",
        rejectUnauthorized: mode === "mtls",
        // Deno 2.9.3's TLS server keeps every connection (~20 KB, with its socket) until this
        // timer fires, closed or not: 120 s by default. df's own handshake limit is far shorter.
        ...(handshakeTimeoutMs !== undefined ? { handshakeTimeout: handshakeTimeoutMs } : {}),
      },
      { ca: mode === "mtls" ? m.ca : undefined, cert: m.cert, key: m.key },
    );
  }
  // One instance per server; identity is equality.
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Credentials for df. `handshakeTimeoutMs`: the TLS server's own handshake timeout (Node's
 * `handshakeTimeout`, 120 s by default), which bounds how long a closed connection is held.
 */
export function serverCredentials(
  mode: TlsMode,
  m: TlsMaterial,
  handshakeTimeoutMs?: number,
): grpc.ServerCredentials {
  return mode === "insecure"
    ? grpc.ServerCredentials.createInsecure()
    : new Tls13ServerCredentials(mode, m, handshakeTimeoutMs);
}

/** A TLS 1.3 client context; `tls` mode omits the client certificate. */
export function clientSecureContext(mode: TlsMode, m: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext({
    minVersion: "TLSv1.3",
    ca: m.ca,
    cert: mode === "mtls" ? m.cert : undefined,
    key: mode === "mtls" ? m.key : undefined,
  });
}

/** Credentials for smft. A new object per call gives a channel that shares nothing. */
export function clientCredentials(mode: TlsMode, m: TlsMaterial): grpc.ChannelCredentials {
  return mode === "insecure"
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createFromSecureContext(clientSecureContext(mode, m));
}

/**
 * How an error names the CA that issued df's certificate and the CAs in `TLS_CA`: by subject, and
 * where a subject in `TLS_CA` is the same as the issuer's (two test CAs of one name), by SHA-256
 * fingerprint too, so the message never reads "issued by X, not by the CA in TLS_CA (X)".
 *
 * @example
 * ```ts
 * caMismatch("CN=a", [ca]); // "issued by CN=a, not by the CA in TLS_CA (CN=b)"
 * caMismatch("CN=a", [caNamedA]);
 * // "issued by another CA named CN=a, not by the CA in TLS_CA of that name (SHA-256 5F:3A:…)"
 * ```
 */
export function caMismatch(issuer: string, cas: X509Certificate[]): string {
  const name = (c: X509Certificate) => c.subject.replace(/\n/g, ", ");
  const iss = issuer.replace(/\n/g, ", ");
  const same = cas.filter((c) => name(c) === iss);
  if (same.length === 0) {
    return `issued by ${iss}, not by the CA in TLS_CA (${cas.map(name).join("; ")})`;
  }
  const fps = cas.map((c) => `${name(c)}, SHA-256 ${c.fingerprint256}`).join("; ");
  return `issued by another CA named ${iss}, not by the CA in TLS_CA of that name (${fps})`;
}
