/**
 * Test support for `tools/report/`: deterministic runs (as result lines and as report runs) and
 * the check that a page reaches no network. Private to the report's tests.
 *
 * @internal
 * @module
 */
import assert from "node:assert/strict";
import { type ReportRun, reportRunFromAccumulator } from "./model.ts";
import { Accumulator } from "../../smft/summary.ts";

/** A deterministic steady run: 20 s at 100/s, latencies 5–9 ms, four failures. */
export function steadyLines(opts: { seconds?: number; rate?: number; shift?: number } = {}) {
  const seconds = opts.seconds ?? 20;
  const rate = opts.rate ?? 100;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < seconds * rate; i++) {
    const t = (i * 1000) / rate;
    const lag = 0.02 + (i % 7) * 0.01;
    const service = 5.2 + ((i * 37) % 100) / 25 + (opts.shift ?? 0);
    out.push(
      i % 500 === 499
        ? { ok: false, code: "UNAVAILABLE", latency_ms: 1.5, service_ms: 1.4, lag_ms: lag, t_ms: t }
        : {
          ok: true,
          latency_ms: service + lag,
          service_ms: service,
          lag_ms: lag,
          t_ms: t,
          df_ms: 5.01,
        },
    );
  }
  return out;
}

/** A deterministic cold-connection run of `n` attempts, the sixth failing in TLS. */
export function coldLines(n = 12) {
  return Array.from(
    { length: n },
    (_, i) =>
      i === 5
        ? {
          ok: false,
          phase: "tls",
          code: "UNAVAILABLE",
          t_ms: i * 500,
          t_dns_ms: 0.1,
          t_tcp_ms: 0.4,
        }
        : {
          ok: true,
          t_dns_ms: 0.1,
          t_tcp_ms: 0.4,
          t_tls_ms: 2.1 + i * 0.01,
          t_h2_ms: 3.0 + i * 0.01,
          t_connect_ms: 3.3 + i * 0.01,
          t_first_rpc_ms: 6.1,
          t_total_ms: 9.4 + i * 0.01,
          t_ms: i * 500,
          tls: "TLSv1.3",
        },
  );
}

/** Run metadata of a steady file. */
export const META = {
  test: "01_steady",
  target: "df.internal:50051",
  rate: 100,
  duration_s: 20,
  tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", alpn: "h2" },
  tool: "smft 0.1.0",
  deno: "2.9.3",
  grpc_js: "1.14.7",
  host: "loadhost-7",
};

/** {@link steadyLines} as a report run, with one passing and one failing SLO verdict. */
export function steadyRun(name = "steady_a.jsonl", opts: { shift?: number } = {}): ReportRun {
  const acc = new Accumulator("01_steady");
  for (const r of steadyLines(opts)) acc.add(r);
  try {
    return reportRunFromAccumulator(name, "01_steady", acc, META, [
      { text: "p99 < 10ms  (measured 9.12ms)", pass: true },
      { text: "success >= 99.9%  (measured 99.80%)", pass: false },
    ]);
  } finally {
    acc.destroy();
  }
}

/** {@link coldLines} as a report run. */
export function coldRun(name = "cold_a.jsonl", n = 12): ReportRun {
  const acc = new Accumulator("02_coldconn");
  for (const r of coldLines(n)) acc.add(r);
  try {
    return reportRunFromAccumulator(name, "02_coldconn", acc, { target: "df.internal:50051" });
  } finally {
    acc.destroy();
  }
}

/** Render options with a fixed date. */
export const FIXED = { generatedAt: new Date("2026-11-25T03:00:00Z") };
/** UTF-8 size. */
export const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Every way a page could reach the network: none may appear. */
export function assertOffline(html: string) {
  assert.doesNotMatch(html, /https?:\/\//i, "an http(s) address is in the page");
  assert.doesNotMatch(
    html,
    /\b(src|href|action|poster|srcset)\s*=/i,
    "an element loads a resource",
  );
  assert.doesNotMatch(html, /<(link|img|iframe|object|embed|video|audio|source)\b/i);
  assert.doesNotMatch(html, /@import|url\(\s*["']?(?!data:)/i, "CSS loads a resource");
  assert.doesNotMatch(
    html,
    /\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts/,
  );
}
