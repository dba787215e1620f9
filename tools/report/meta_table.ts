/**
 * The report's run metadata table: each file's `#META` and `#END` facts side by side, fields this
 * report does not know included. Pure: runs in, an HTML fragment out (every text escaped).
 *
 * Private to `tools/report/`.
 *
 * @internal
 * @module
 */
import { finite } from "../../smft/results_format.ts";
import { esc, f1, int, isoUtc, runCell, str } from "./_format.ts";
import type { ReportRun } from "./model.ts";

/** A finite number to one decimal, else undefined. */
function oneDecimal(v: unknown): string | undefined {
  const n = finite(v);
  return n === undefined ? undefined : f1(n);
}

/** Metadata rows: label and how to read it from (meta, end). */
const META_ROWS: [
  string,
  (m: Record<string, unknown>, e: Record<string, unknown>) => string | undefined,
][] = [
  ["test", (m) => str(m.test)],
  ["target", (m) => str(m.target)],
  ["server name (SNI)", (m) => str(m.server_name)],
  ["TLS mode", (m) => str(m.tls_mode)],
  ["TLS version", (m) => str(obj(m.tls).version)],
  // coldconn negotiates per attempt: its #META has no tls, its lines say which version.
  ["TLS version (per attempt)", (m) => str(m.__tls_versions)],
  ["TLS cipher", (m) => str(obj(m.tls).cipher)],
  ["ALPN", (m) => str(obj(m.tls).alpn)],
  ["server certificate", (m) => str(obj(m.tls).peer_subject)],
  ["rate (requests/s)", (m) => str(m.rate)],
  ["rate from this host (requests/s)", (m) => str(m.host_rate)],
  ["duration (s)", (m) => str(m.duration_s)],
  ["warm-up (s)", (m) => str(m.warmup_s)],
  ["warm-up attempts (not recorded)", (m) => str(m.warmup_attempts)],
  ["connections (a thread each)", (m) => str(m.connections)],
  ["pacing (how each connection's thread waited)", (m) => str(m.pacing)],
  ["deadline (ms)", (m) => str(m.deadline_ms)],
  ["attempts", (m) => m.attempts === null ? "until duration" : str(m.attempts)],
  ["TLS resumption", (m) => str(m.resumption)],
  ["method", (m) => str(m.method)],
  ["method's schema from", (m) => str(m.schema)],
  ["payload (bytes)", (m) => str(m.payload_bytes)],
  ["arrivals", (m) => m.seed === undefined ? str(m.arrival) : `${str(m.arrival)} (seed ${m.seed})`],
  ["planned requests", (m) => str(m.planned_requests)],
  ["planned attempts", (m) => str(m.planned_attempts)],
  ["run id", (m) => str(m.run_id)],
  [
    "started (UTC)",
    (m) => {
      const t = finite(m.start_epoch_ms);
      return t === undefined ? undefined : isoUtc(new Date(t));
    },
  ],
  ["load host", (m) => str(m.host)],
  ["shard", (m) => str(m.shard)],
  ["tool", (m) => str(m.tool)],
  ["Deno", (m) => str(m.deno)],
  ["grpc-js", (m) => str(m.grpc_js)],
  ["gRPC client", (m) => str(m.client)],
  ["results written", (_, e) => str(e.count)],
  ["sent (measured)", (_, e) => str(e.sent)],
  ["elapsed (s)", (_, e) => oneDecimal(e.elapsed_s)],
  [
    "achieved rate (file's #END)",
    (_, e) => oneDecimal(e.achieved_rps),
  ],
  ["interrupted", (_, e) => str(e.interrupted)],
  ["generator kept schedule (valid)", (_, e) => str(e.valid)],
  ["generator CPU (s)", (_, e) => str(e.cpu_s)],
  ["generator peak RSS (MB)", (_, e) => str(e.rss_max_mb)],
];
const KNOWN_META = new Set([
  "test",
  "target",
  "server_name",
  "tls_mode",
  "tls",
  "rate",
  "duration_s",
  "warmup_s",
  "warmup_attempts",
  "connections",
  "pacing",
  "deadline_ms",
  "attempts",
  "resumption",
  "payload_bytes",
  "method",
  "schema",
  "arrival",
  "seed",
  "start_epoch_ms",
  "host",
  "shard",
  "tool",
  "deno",
  "grpc_js",
  "client",
  "host_rate",
  "planned_requests",
  "planned_attempts",
  "run_id",
  "measure_start_epoch_ms",
]);

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}

/** Each file's `#META` and `#END` facts side by side, unknown fields included. */
export function metaTable(runs: ReportRun[]): string {
  const files = runs.filter((r) => !r.merged);
  const rows: string[] = [];
  const tlsVersions = (r: ReportRun) => {
    const v = Object.entries(r.summary.tlsVersions ?? {});
    return v.length
      ? v.map(([k, n]) => `${k} (${int(n)} attempt${n === 1 ? "" : "s"})`).join(", ")
      : undefined;
  };
  for (const [label, get] of META_ROWS) {
    const vals = files.map((r) =>
      get(
        { ...r.meta, __tls_versions: r.test === "02_coldconn" ? tlsVersions(r) : undefined },
        r.end ?? {},
      )
    );
    if (vals.every((v) => v === undefined)) continue;
    rows.push(`<tr><th>${label}</th>${vals.map((v) => `<td>${esc(v ?? "–")}</td>`).join("")}</tr>`);
  }
  // Fields this report does not know yet still belong in the record.
  const extra = [...new Set(files.flatMap((r) => Object.keys(r.meta ?? {})))].filter((k) =>
    !KNOWN_META.has(k)
  );
  for (const k of extra.sort()) {
    const vals = files.map((r) => r.meta?.[k]);
    rows.push(
      `<tr><th>${esc(k.replace(/_/g, " "))} <code class="muted">${esc(k)}</code></th>${
        vals.map((v) => `<td>${esc(v === undefined ? "–" : str(v) ?? JSON.stringify(v))}</td>`)
          .join("")
      }</tr>`,
    );
  }
  if (rows.length === 0) {
    return `<p class="muted">No run metadata (seed-format files carry none).</p>`;
  }
  // One column per file: a ladder or a capacity search has many, so the table scrolls in its
  // own box rather than making the page scroll sideways.
  return `<div class="scroll"><table class="meta"><thead><tr><th></th>${
    files.map((r, i) => runCell(r, i).replace("<td", "<th").replace("</td>", "</th>")).join("")
  }</tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table></div>`;
}
