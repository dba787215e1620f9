/**
 * One gRPC channel to df, with the TLS identity smft was given and nothing shared with any
 * other channel (own subchannel pool, own credentials), so a test controls its connections; and
 * a run's channel connected before its calls ({@link connectForRun}), or why it cannot be.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { caMismatch, clientSecureContext, type TlsMaterial, type TlsMode } from "../certs/tls.ts";
import { type ConnectionTrace, installTap, watchContext, withTrace } from "./tap.ts";

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

/**
 * How soon a failed connection is tried again: from the first wait to the longest, each wait
 * 1.6 times the last (grpc-js's own factor). Steady's grpc-js channel was set so; its own client
 * (`h2_channel.ts`) and the run's first connect (`connectForRun`) wait so.
 */
export const RECONNECT_BACKOFF = { firstMs: 100, maxMs: 1000 } as const;

/** The wait after `ms` in {@link RECONNECT_BACKOFF}. */
export function nextBackoffMs(ms: number): number {
  return Math.min(RECONNECT_BACKOFF.maxMs, ms * 1.6);
}

/** Opens a new channel; it connects when asked (`waitForReady`) or on the first call. */
export function openChannel(t: Target, extra: grpc.ChannelOptions = {}): Channel {
  const options: grpc.ChannelOptions = {
    "grpc.use_local_subchannel_pool": 1,
    // A measurement must see each failure, not a transparent retry.
    "grpc.enable_retries": 0,
    "grpc.initial_reconnect_backoff_ms": RECONNECT_BACKOFF.firstMs,
    "grpc.max_reconnect_backoff_ms": RECONNECT_BACKOFF.maxMs,
    ...extra,
  };
  if (t.tlsMode === "insecure") {
    installTap();
    return {
      client: new grpc.Client(targetString(t), grpc.credentials.createInsecure(), options),
      trace: {},
    };
  }
  if (t.serverName !== t.host) options["grpc.ssl_target_name_override"] = t.serverName;
  const ctx = clientSecureContext(t.tlsMode, t.tls);
  const trace = watchContext(ctx);
  const creds = grpc.credentials.createFromSecureContext(ctx);
  return { client: new grpc.Client(targetString(t), creds, options), trace };
}

/** Why a connection failed, from its trace, and whether trying again could help. */
export interface ConnectCause {
  text: string;
  /** Retrying cannot succeed (refused, unknown name, a certificate problem, ...): fail at once. */
  certain: boolean;
}

/** TLS errors that say the other side does not speak TLS at all (a plaintext df). */
const NOT_TLS =
  /InvalidContentType|corrupt message|wrong version number|record overflow|packet length too long|InvalidMessage/i;

/**
 * What the trace says about a failed connection, in words, or undefined when it says nothing
 * (still connecting, or timed out with no error seen).
 */
export function connectCause(
  trace: ConnectionTrace | undefined,
  t: { host: string; port: number; tlsMode: TlsMode },
): ConnectCause | undefined {
  if (!trace) return undefined;
  if (trace.dnsError && trace.tcpStart === undefined) {
    const certain = /ENOTFOUND|ENODATA|EAI_NONAME|not known|No address/i.test(trace.dnsError);
    return { text: `cannot resolve ${t.host}: ${trace.dnsError}`, certain };
  }
  if (trace.tcpErrorCode || trace.tcpError) {
    const at = trace.tcpTarget ?? targetString(t);
    switch (trace.tcpErrorCode) {
      case "ECONNREFUSED":
        return {
          text: `connection refused by ${at}: df is not running there, or not on port ${t.port}`,
          certain: true,
        };
      case "EHOSTUNREACH":
      case "ENETUNREACH":
      case "EADDRNOTAVAIL":
        return { text: `${at} cannot be reached (${trace.tcpErrorCode})`, certain: true };
      default:
        return { text: `TCP connect to ${at} failed: ${trace.tcpError}`, certain: false };
    }
  }
  if (refusedAfterHandshake(trace) && trace.closedBeforeSettings) {
    return {
      text: "df closed the connection after the TLS handshake, before HTTP/2 SETTINGS: " +
        `client certificate refused?${trace.tlsError ? ` (${trace.tlsError})` : ""}`,
      certain: true,
    };
  }
  if (trace.tlsError && trace.tlsDone === undefined) {
    if (NOT_TLS.test(trace.tlsError)) {
      return {
        text:
          `TLS handshake failed: ${trace.tlsError}: df does not answer in TLS on port ${t.port}` +
          " (a plaintext df, TLS_MODE=insecure?)",
        certain: true,
      };
    }
    const certain = isCertificateVerifyError(trace.tlsError) ||
      /ProtocolVersion|Tls12|protocol version|certificate|alert/i.test(trace.tlsError);
    return { text: `TLS handshake failed: ${trace.tlsError}`, certain };
  }
  if (t.tlsMode === "insecure" && trace.tcpDone !== undefined && trace.closedBeforeSettings) {
    return {
      text: "df closed the connection before HTTP/2 SETTINGS: smft speaks plaintext " +
        "(TLS_MODE=insecure); is df serving TLS on this port?",
      certain: true,
    };
  }
  return undefined;
}

/** Steady's own channel (`h2_channel.ts`), as connecting sees it: one attempt at a time. */
export interface Attempting {
  trace: ConnectionTrace;
  /** One attempt; rejects when it failed (the trace says why). */
  connect: (timeoutMs: number) => Promise<void>;
}

/**
 * Connects a channel and resolves when it is ready; rejects at once when the connection failed
 * for a reason that retrying cannot change ({@link connectCause}), else after `timeoutMs` with
 * the last reason seen. The error's `cause` is the {@link ConnectCause}.
 */
async function connectOrFail(
  ch: Channel | Attempting,
  t: { host: string; port: number; tlsMode: TlsMode },
  timeoutMs: number,
): Promise<void> {
  if ("client" in ch) return await connectGrpc(ch, t, timeoutMs);
  const deadline = performance.now() + timeoutMs;
  for (let backoff: number = RECONNECT_BACKOFF.firstMs;; backoff = nextBackoffMs(backoff)) {
    try {
      return await ch.connect(Math.max(1, deadline - performance.now()));
    } catch (e) {
      const cause = connectCause(ch.trace, t);
      if (cause?.certain) throw new Error(cause.text, { cause });
      const left = deadline - performance.now();
      if (left <= 0) {
        const text = cause?.text ?? connectFailure((e as Error).message, ch.trace);
        throw new Error(text, { cause });
      }
      await new Promise((r) => setTimeout(r, Math.min(backoff, left)));
    }
  }
}

/** {@link connectOrFail} for a grpc-js channel, which retries by itself. */
function connectGrpc(
  ch: Channel,
  t: { host: string; port: number; tlsMode: TlsMode },
  timeoutMs: number,
): Promise<void> {
  const channel = ch.client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      const state = withTrace(ch.trace, () => channel.getConnectivityState(true));
      if (state === grpc.connectivityState.READY) return resolve();
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) {
        const cause = connectCause(ch.trace, t);
        if (cause?.certain) return reject(new Error(cause.text, { cause }));
      }
      if (Date.now() >= deadline) {
        const cause = connectCause(ch.trace, t);
        return reject(new Error(cause?.text ?? "no connection before the deadline", { cause }));
      }
      channel.watchConnectivityState(state, deadline, () => check());
    };
    check();
  });
}

/**
 * The reason a channel could not connect, from grpc-js's message and the trace. A socket error
 * counts as a handshake failure only while the handshake was still under way.
 */
export function connectFailure(
  message: string,
  trace?: ConnectionTrace,
  t?: { host: string; port: number; tlsMode: TlsMode },
): string {
  const cause = t ? connectCause(trace, t) : undefined;
  if (cause) return cause.text;
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

/** Thrown when df cannot be reached before the run starts. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

/** Connects a run's channel, or throws {@link UnreachableError} saying why it cannot. */
export async function connectForRun(
  channel: Channel | Attempting,
  run: { target: Target; connectTimeoutMs: number },
): Promise<void> {
  const t0 = performance.now();
  try {
    await connectOrFail(channel, run.target, run.connectTimeoutMs);
  } catch (e) {
    const trace = channel.trace;
    const cause = (e as Error).cause as ConnectCause | undefined;
    const after = `after ${(performance.now() - t0).toFixed(0)} ms`;
    // A certificate or TLS-version failure gets its explanation (what is wrong with df's
    // certificate, or that df does not offer TLS 1.3); other causes are named as they are.
    const why = trace?.tlsError && trace.tlsDone === undefined &&
        (isCertificateVerifyError(trace.tlsError) ||
          /ProtocolVersion|Tls12|protocol version/i.test(trace.tlsError))
      ? await explainTlsError(trace.tlsError, run.target)
      : (e as Error).message;
    throw new UnreachableError(
      `cannot reach df at ${targetString(run.target)} within ${run.connectTimeoutMs} ms: ${why}${
        cause?.certain ? ` (${after}, certain: not retried)` : ""
      }`,
    );
  }
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
    problems.push(`df's certificate (${subject}) is ${caMismatch(cert.issuer, cas)}`);
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
function explainServerCertificate(
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
