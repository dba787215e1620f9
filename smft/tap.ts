/**
 * Watches the sockets grpc-js opens, to time each phase of a connection and read what TLS
 * negotiated (and lets grpc-js reach a df addressed by IP, see below). grpc-js exposes neither,
 * so `net.connect`, `tls.connect` and `http2.connect` are wrapped once per process; the
 * `http2.connect` wrapper is also where each session's statuses are checked (`grpc_status.ts`).
 * Connections are matched to the caller by their `SecureContext`: every cold-connection attempt
 * builds new credentials, so the context identifies it.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import http2 from "node:http2";
import dns from "node:dns";
import { AsyncLocalStorage } from "node:async_hooks";
import { checkStatusesOf } from "./grpc_status.ts";

/** One name lookup: when it began and ended (`performance.now()`), and whether it failed. */
export interface Lookup {
  start: number;
  end?: number;
  failed?: boolean;
}

/** What one connection went through; times are `performance.now()` values. */
export interface ConnectionTrace {
  /** TCP connect started (the resolved address is known). */
  tcpStart?: number;
  /** TCP established. */
  tcpDone?: number;
  /** TLS handshake done (`secureConnect`). */
  tlsDone?: number;
  /** The server's HTTP/2 SETTINGS arrived. */
  h2Done?: number;
  /** Remote address, `host:port`. */
  remote?: string;
  /**
   * The server answered on this very host: a loopback address, or the socket's own address on
   * both ends. What smft does to its host's CPU then also happens to the server.
   */
  serverOnThisHost?: boolean;
  tlsVersion?: string;
  cipher?: string;
  alpn?: string;
  resumed?: boolean;
  /** Subject of the server certificate, e.g. `CN=localhost`. */
  peerSubject?: string;
  /** The TLS error, if the handshake failed. */
  tlsError?: string;
  /** The name lookup failed: its error, e.g. `getaddrinfo ENOTFOUND nosuch.invalid`. */
  dnsError?: string;
  /** Name lookups (none for an IP target, which grpc-js does not look up): began, ended. */
  lookups?: Lookup[];
  /** The first TCP connect began (a later one, to another address, does not move it). */
  firstTcpStart?: number;
  /** The TCP connect failed: the OS error code (`ECONNREFUSED`) and message. */
  tcpErrorCode?: string;
  tcpError?: string;
  /** Address the last TCP connect was made to, `host:port`. */
  tcpTarget?: string;
  /** The connection closed before the server's HTTP/2 SETTINGS arrived (any TLS mode). */
  closedBeforeSettings?: boolean;
  /** TCP connects tried (reconnects included). */
  tcpAttempts?: number;
}

/**
 * The trace of the connection being made in the current asynchronous context. grpc-js opens its
 * TCP socket (`net.connect`) and looks names up without anything that names the channel; a
 * connect started inside {@link withTrace} carries its trace through grpc-js's promise chain, so
 * a refused connect or a failed lookup is recorded on the right attempt even when attempts
 * overlap.
 */
const scope = new AsyncLocalStorage<ConnectionTrace>();

/** Whether a connection's far end is this host (pure): loopback, or the same address both ends. */
export function onThisHost(remote: string, local: string | undefined): boolean {
  const r = remote.replace(/^::ffff:/, "");
  return r === "::1" || r.startsWith("127.") || r === local?.replace(/^::ffff:/, "");
}

/** Runs `fn` (which makes a channel connect) so that its connection is recorded on `trace`. */
export function withTrace<T>(trace: ConnectionTrace | undefined, fn: () => T): T {
  if (!trace) return fn();
  installTap();
  return scope.run(trace, fn);
}

/**
 * Set on `http2.connect`'s options by a client that reads statuses itself (`h2_channel.ts`): its
 * streams are not given grpc-js's status check.
 */
export const OWN_STATUS_CHECK = Symbol("smft.ownStatusCheck");

const TCP_START = Symbol("smft.tcpStart");
const TCP_DONE = Symbol("smft.tcpDone");
const TRACE = Symbol("smft.trace");

type Stamped = net.Socket & {
  [TCP_START]?: number;
  [TCP_DONE]?: number;
  [TRACE]?: ConnectionTrace;
};

const watched = new WeakMap<tls.SecureContext, ConnectionTrace>();
let installed = false;

function subjectOf(s: tls.TLSSocket): string | undefined {
  const subject = s.getPeerCertificate()?.subject as unknown as Record<string, string> | undefined;
  if (!subject) return undefined;
  return Object.entries(subject).map(([k, v]) => `${k}=${v}`).join(", ");
}

/** Wraps the three connect functions (once). */
export function installTap(): void {
  if (installed) return;
  installed = true;
  const mutableNet = net as { connect: typeof net.connect };
  const mutableLookup = dns.promises as { lookup: typeof dns.promises.lookup };
  const lookup = dns.promises.lookup;
  mutableLookup.lookup = function (this: unknown, ...args: unknown[]) {
    const trace = scope.getStore();
    const began = performance.now();
    const p = (lookup as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    if (trace) {
      const l: Lookup = { start: began };
      (trace.lookups ??= []).push(l);
      p.then(() => l.end = performance.now(), (e: Error) => {
        l.end = performance.now();
        l.failed = true;
        trace.dnsError ??= e.message;
      });
    }
    return p;
  } as typeof dns.promises.lookup;
  const mutableTls = tls as { connect: typeof tls.connect };
  const mutableHttp2 = http2 as { connect: typeof http2.connect };
  const netConnect = net.connect;
  const tlsConnect = tls.connect;
  const http2Connect = http2.connect;

  mutableNet.connect = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const socket = (netConnect as (...a: unknown[]) => Stamped).apply(this, args);
    socket[TCP_START] = started;
    socket.once("connect", () => socket[TCP_DONE] = performance.now());
    // The connect attempt is recorded now, before it can fail: a refused connect is a `tcp`
    // failure, not `dns`.
    const trace = scope.getStore();
    if (trace) {
      const to = args[0] as { host?: string; port?: number } | undefined;
      trace.tcpStart = started;
      trace.firstTcpStart ??= started;
      trace.tcpDone = undefined;
      trace.tcpErrorCode = undefined;
      trace.tcpError = undefined;
      trace.tcpAttempts = (trace.tcpAttempts ?? 0) + 1;
      if (to && typeof to === "object" && to.host !== undefined) {
        trace.tcpTarget = `${to.host.includes(":") ? `[${to.host}]` : to.host}:${to.port}`;
      }
      socket.once("connect", () => {
        trace.tcpDone = socket[TCP_DONE] ?? performance.now();
        if (socket.remoteAddress) {
          trace.serverOnThisHost = onThisHost(socket.remoteAddress, socket.localAddress);
        }
      });
      socket.once("error", (e: Error & { code?: string }) => {
        if (trace.tcpDone !== undefined) return;
        trace.tcpErrorCode = e.code;
        trace.tcpError = e.message;
      });
    }
    return socket;
  } as typeof net.connect;

  mutableTls.connect = function (this: unknown, ...args: unknown[]) {
    const opts = (typeof args[0] === "object" ? args[0] : args[1]) as tls.ConnectionOptions;
    // grpc-js sends the target host as SNI even when it is an IP address, which Deno's
    // tls.connect rejects outright; an address is verified through `host` instead.
    if (opts?.servername && net.isIP(opts.servername)) {
      opts.host = opts.servername;
      delete opts.servername;
    }
    const trace = opts?.secureContext ? watched.get(opts.secureContext) : undefined;
    const socket = (tlsConnect as (...a: unknown[]) => tls.TLSSocket & Stamped).apply(this, args);
    if (trace) {
      const raw = opts.socket as Stamped | undefined;
      trace.tcpStart = raw?.[TCP_START] ?? trace.tcpStart;
      trace.tcpDone = raw?.[TCP_DONE] ?? performance.now();
      if (raw?.remoteAddress) {
        trace.remote = `${raw.remoteAddress}:${raw.remotePort}`;
        trace.serverOnThisHost = onThisHost(raw.remoteAddress, raw.localAddress);
      }
      socket[TRACE] = trace;
      socket.once("secureConnect", () => {
        trace.tlsDone = performance.now();
        trace.tlsVersion = socket.getProtocol() ?? undefined;
        trace.cipher = socket.getCipher()?.name;
        trace.alpn = socket.alpnProtocol || undefined;
        trace.resumed = socket.isSessionReused();
        trace.peerSubject = subjectOf(socket);
      });
      socket.once("error", (e: Error) => trace.tlsError ??= e.message);
    }
    return socket;
  } as typeof tls.connect;

  mutableHttp2.connect = function (this: unknown, ...args: unknown[]) {
    const session = (http2Connect as (...a: unknown[]) => http2.ClientHttp2Session).apply(
      this,
      args,
    );
    const opts = args[1] as http2.SecureClientSessionOptions | undefined;
    // grpc-js hands over its already-connected socket through createConnection.
    const socket = opts?.createConnection?.(new URL(String(args[0])), opts) as
      | Stamped
      | undefined;
    const trace = socket?.[TRACE] ?? scope.getStore();
    if (trace) {
      let settings = false;
      session.once("remoteSettings", () => {
        settings = true;
        trace.h2Done ??= performance.now();
      });
      session.once("close", () => {
        if (!settings) trace.closedBeforeSettings = true;
      });
    }
    // Here, before grpc-js adds its own listeners to the session's streams.
    if (!(opts as Record<symbol, unknown> | undefined)?.[OWN_STATUS_CHECK]) {
      checkStatusesOf(session);
    }
    return session;
  } as typeof http2.connect;
}

/** Starts recording the connection that will use `ctx`. */
export function watchContext(ctx: tls.SecureContext): ConnectionTrace {
  installTap();
  const trace: ConnectionTrace = {};
  watched.set(ctx, trace);
  return trace;
}
