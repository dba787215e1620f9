/**
 * One gRPC channel to df, with the TLS identity smft was given and nothing shared with any
 * other channel (own subchannel pool, own credentials), so a test controls its connections.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
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

/** The reason a channel could not connect, from grpc-js's connectivity error and the trace. */
export function connectFailure(err: Error, trace?: ConnectionTrace): string {
  if (trace?.tlsError) return `TLS handshake failed: ${trace.tlsError}`;
  return err.message.replace(
    /^Failed to connect before the deadline$/,
    "no connection before the deadline",
  );
}
