/**
 * One gRPC channel to df, with the TLS identity smft was given and nothing shared with any
 * other channel (own subchannel pool, own credentials), so a test controls its connections.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { clientSecureContext, type TlsMaterial, type TlsMode } from "../certs/tls.ts";
import { type ConnectionTrace, watchContext } from "./tap.ts";

/** Where and how to connect. */
export interface Target {
  host: string;
  port: number;
  /** Name verified against df's certificate. */
  serverName: string;
  tlsMode: TlsMode;
  tls: TlsMaterial;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function targetString(t: { host: string; port: number }): string {
  const h = t.host.includes(":") && !t.host.startsWith("[") ? `[${t.host}]` : t.host;
  return `${h}:${t.port}`;
}

/** A channel and the trace of the connection it makes (TLS modes only). */
export interface Channel {
  client: grpc.Client;
  trace?: ConnectionTrace;
}

/** Opens a new channel; it connects when asked (`waitReady`) or on the first call. */
export function openChannel(t: Target, extra: grpc.ChannelOptions = {}): Channel {
  const options: grpc.ChannelOptions = {
    "grpc.use_local_subchannel_pool": 1,
    // A measurement must see each failure, not a transparent retry.
    "grpc.enable_retries": 0,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    ...extra,
  };
  if (t.tlsMode === "insecure") {
    return { client: new grpc.Client(targetString(t), grpc.credentials.createInsecure(), options) };
  }
  if (t.serverName !== t.host) options["grpc.ssl_target_name_override"] = t.serverName;
  const ctx = clientSecureContext(t.tlsMode, t.tls);
  const trace = watchContext(ctx);
  const creds = grpc.credentials.createFromSecureContext(ctx);
  return { client: new grpc.Client(targetString(t), creds, options), trace };
}

/** Resolves when the channel is ready; rejects with grpc-js's reason after `timeoutMs`. */
export function waitReady(client: grpc.Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (e) => e ? reject(e) : resolve());
  });
}

/**
 * The reason a channel could not connect, from grpc-js's message and the trace. A socket error
 * counts as a handshake failure only while the handshake was still under way.
 */
export function connectFailure(message: string, trace?: ConnectionTrace): string {
  if (refusedAfterHandshake(trace)) {
    return "df closed the connection after the TLS handshake, before HTTP/2 SETTINGS: " +
      `client certificate refused? (${trace?.tlsError ?? message})`;
  }
  if (trace?.tlsError && trace.tlsDone === undefined) {
    return `TLS handshake failed: ${trace.tlsError}`;
  }
  return message.replace(
    /^Failed to connect before the deadline$/,
    "no connection before the deadline",
  );
}

/**
 * TLS 1.3: the client's side of the handshake ends before df has checked the client certificate,
 * so df refusing it shows as a connection closed after the handshake, before HTTP/2 SETTINGS.
 */
export function refusedAfterHandshake(trace?: ConnectionTrace): boolean {
  return trace?.tlsDone !== undefined && trace.h2Done === undefined;
}

/**
 * Deno's TLS client (rustls) reports every failed certificate check as "unable to verify the
 * first certificate" (or "unable to get local issuer certificate"), whatever the cause.
 */
export function isCertificateVerifyError(message: string): boolean {
  return /unable to verify|unable to get local issuer|self[- ]signed|certificate verify failed/i
    .test(message);
}

/** A TLS handshake error in words, with what smft found out about why; for one-line messages. */
export async function explainTlsError(
  message: string,
  t: Target,
  timeoutMs = 2000,
): Promise<string> {
  if (/ProtocolVersion|Tls12|protocol version/i.test(message)) {
    return `TLS handshake failed: ${message} (df does not offer TLS 1.3)`;
  }
  if (isCertificateVerifyError(message)) {
    const why = await explainServerCertificate(t, timeoutMs);
    if (why) return `TLS handshake failed: ${message}: ${why}`;
  }
  return `TLS handshake failed: ${message}`;
}

function pemBlocks(pem: Buffer | undefined): X509Certificate[] {
  const blocks = pem?.toString().match(
    /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
  ) ?? [];
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      out.push(new X509Certificate(b));
    } catch { /* not a certificate smft can read; loadTls has checked the file */ }
  }
  return out;
}

/**
 * What is wrong with df's certificate for this client: outside its validity dates, not signed by
 * any CA in `TLS_CA`, or not naming `serverName`. Empty when smft sees nothing wrong.
 */
export function serverCertificateProblems(
  cert: X509Certificate,
  cas: X509Certificate[],
  serverName: string,
  now: Date = new Date(),
): string[] {
  const problems: string[] = [];
  const subject = cert.subject.replace(/\n/g, ", ");
  if (now.getTime() < new Date(cert.validFrom).getTime()) {
    problems.push(`df's certificate (${subject}) is not valid before ${cert.validFrom}`);
  }
  if (now.getTime() > new Date(cert.validTo).getTime()) {
    problems.push(`df's certificate (${subject}) expired on ${cert.validTo}`);
  }
  const signed = cas.some((ca) => {
    try {
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
  if (cas.length > 0 && !signed) {
    problems.push(
      `df's certificate (${subject}) is issued by ${
        cert.issuer.replace(/\n/g, ", ")
      }, not by the CA in TLS_CA (${cas.map((c) => c.subject.replace(/\n/g, ", ")).join("; ")})`,
    );
  }
  const named = isIP(serverName) ? cert.checkIP(serverName) : cert.checkHost(serverName);
  if (!named) {
    problems.push(
      `df's certificate does not name ${serverName} (${
        cert.subjectAltName ?? "no subjectAltName"
      })`,
    );
  }
  return problems;
}

/**
 * Looks at df's certificate over one extra connection that does not verify it, and names what is
 * wrong with it (see {@link serverCertificateProblems}). Undefined if it cannot tell.
 */
export function explainServerCertificate(
  t: Target,
  timeoutMs = 2000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (why: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const socket = tls.connect({
      host: t.host,
      port: t.port,
      servername: isIP(t.serverName) ? undefined : t.serverName,
      minVersion: "TLSv1.3",
      ALPNProtocols: ["h2"],
      ca: t.tls.ca,
      cert: t.tlsMode === "mtls" ? t.tls.cert : undefined,
      key: t.tlsMode === "mtls" ? t.tls.key : undefined,
      // Only to read the certificate; nothing is sent on this connection.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once("secureConnect", () => {
      let why: string | undefined;
      try {
        const cert = socket.getPeerX509Certificate();
        if (cert) {
          why = serverCertificateProblems(cert, pemBlocks(t.tls.ca), t.serverName).join("; ") ||
            undefined;
        }
      } catch { /* cannot tell */ }
      finish(why);
    });
    socket.once("error", () => finish(undefined));
    socket.once("close", () => finish(undefined));
  });
}
