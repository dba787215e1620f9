/**
 * df's entry point: the only place df reads arguments and the environment, and prints.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";
import { ConfigError } from "../smft/shared/layered_config.ts";
import { loadTls, TlsFileError } from "../certs/tls.ts";
import { HTTP2_ABORT_VERSIONS, TOOL_VERSION, versionLine } from "../smft/shared/version.ts";
import { dfHelp, resolveDfOptions } from "./options.ts";
import { startDf } from "./server.ts";
import { CauseLog } from "./log.ts";
import { printable } from "../smft/shared/printable.ts";

function fail(message: string): never {
  console.error(`df: ${message}`);
  Deno.exit(1);
}

async function main(): Promise<void> {
  const cfg = resolveDfOptions(Deno.args, Deno.env.toObject());
  const o = cfg.values;
  if (cfg.help) {
    console.log(dfHelp());
    return;
  }
  if (o.version) {
    console.log(`df ${TOOL_VERSION}`);
    return;
  }
  for (const w of cfg.warnings) console.error(`df: WARNING: ${w}`);
  if (o.tlsMode === "insecure" && !o.allowInsecure) {
    throw new ConfigError(
      "TLS_MODE=insecure serves plaintext; add --allow-insecure (or DF_ALLOW_INSECURE=1) to mean it",
    );
  }
  if (HTTP2_ABORT_VERSIONS.includes(Deno.version.deno)) {
    console.error(
      `df: WARNING: Deno ${Deno.version.deno} aborts in node:http2 when a busy client closes its connection (denoland/deno#36788); use Deno 2.9.3`,
    );
  }
  const material = loadTls(o.tlsMode, { ca: o.ca, cert: o.cert, key: o.key }, "server");
  for (const w of material.warnings) console.error(`df: WARNING: ${w}`);
  if (o.tlsMode === "insecure") {
    console.error(
      "df: WARNING: TLS_MODE=insecure: plaintext HTTP/2, no authentication; debugging only",
    );
  }

  // Connection events, one line per cause per interval (df/log.ts).
  const log = new CauseLog({
    intervalMs: o.logIntervalMs,
    // Causes carry what clients sent (certificate subjects, TLS errors): escaped.
    emit: (line) => console.error(printable(line)),
    now: performance.now(),
  });
  // 0: every event gets its own line at once (no timer needed).
  const logTimer = o.logIntervalMs > 0
    ? setInterval(() => log.tick(performance.now()), o.logIntervalMs)
    : undefined;
  const df = await startDf({
    host: o.host,
    port: o.port,
    delayMs: o.delayMs,
    pacing: o.pacing,
    tlsMode: o.tlsMode,
    tls: material,
    limits: {
      maxStreams: o.maxStreams,
      maxConnectionsPerAddress: o.maxConnectionsPerAddress,
      maxConnections: o.maxConnections,
      maxHandshakesPerAddress: o.maxHandshakesPerAddress,
      maxHandshakes: o.maxHandshakes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxBufferedBytes: o.maxBufferedBytes,
      maxRssMb: o.maxRssMb,
    },
    onEvent: (e) => {
      if (e.type === "error" || e.type === "notice") console.error(printable(`df: ${e.message}`));
      else log.record({ kind: e.type, peer: e.peer, cause: e.reason }, performance.now());
    },
  }).catch((e) => fail((e as Error).message));

  const policy = o.tlsMode === "mtls"
    ? `TLS 1.3 only, client certificate required (CA ${o.ca})`
    : o.tlsMode === "tls"
    ? "TLS 1.3 only, no client certificate"
    : "plaintext";
  // The one start-up line; tests and scripts read the port from it.
  console.log(
    `df listening on ${o.host}:${df.port} tls=${o.tlsMode} (${policy}) delay=${o.delayMs}ms ${
      versionLine("df")
    }`,
  );
  const l = df.limits;
  console.error(
    `df: limits: ${l.maxStreams} streams per connection, ${l.maxConnectionsPerAddress} connections per address, ${l.maxConnections} in all; unfinished handshakes ${l.maxHandshakesPerAddress} per address, ${l.maxHandshakes} in all, ${l.handshakeTimeoutMs} ms, idle ${l.idleTimeoutMs} ms, ${l.maxBufferedBytes} bytes unread per client; ${
      l.maxRssMb > 0 ? `no new connection above ${l.maxRssMb} MiB resident` : "no memory bound"
    }`,
  );

  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => stop(sig));
  const signal = await stopped;
  console.error(`df: ${signal}: stopping, letting calls in flight finish (up to ${o.graceMs} ms)`);
  await df.close(o.graceMs);
  clearInterval(logTimer);
  log.flush(performance.now());
  const s = df.stats;
  const cpu = process.cpuUsage();
  const cpuPerCall = s.calls > 0
    ? ` cpu=${((cpu.user + cpu.system) / 1e6).toFixed(2)}s (${
      Math.round((cpu.user + cpu.system) / s.calls)
    } µs per call, ${
      ((getHeapStatistics().total_allocated_bytes - s.allocAtFirstCall) / 1024 / s.calls).toFixed(1)
    } KiB allocated per call)`
    : "";
  const codes = Object.entries(s.byCode).map(([k, v]) => `${k}=${v}`).join(" ") || "none";
  const byCause = (r: Record<string, number>) =>
    Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join("; ");
  const refused = byCause(s.refusedByReason);
  const closedN = Object.values(s.closedByReason).reduce((a, b) => a + b, 0);
  const closed = byCause(s.closedByReason);
  const { connectionClosed, cancelledByClient } = s.heldDropped;
  const peers = Object.entries(s.connectionsByPeer).map(([k, v]) => `${k}=${v}`).join(" ");
  console.log(
    `df stopped: calls=${s.calls} (${codes}) connections=${s.connectionsAccepted} refused=${s.handshakesRefused}${
      refused ? ` (${refused})` : ""
    } closed=${closedN}${closed ? ` (${closed})` : ""} held-dropped=${
      connectionClosed + cancelledByClient
    } (connection closed: ${connectionClosed}; cancelled by the client: ${cancelledByClient}) unwritten=${s.unwritten} rss=${
      Math.round(Deno.memoryUsage().rss / 1048576)
    } MiB (peak ${s.rssPeakMb} MiB)${peers ? ` peers: ${peers}` : ""}${cpuPerCall}`,
  );
  Deno.exit(0);
}

main().catch((e) => {
  if (e instanceof ConfigError || e instanceof TlsFileError) fail(e.message);
  fail(`unexpected error: ${(e as Error).stack ?? e}`);
});
