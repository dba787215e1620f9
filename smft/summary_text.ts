/**
 * A summary as text: the lines smft prints after a run and `summarize` prints for a results file,
 * from the numbers `summary.ts` counts.
 *
 * @module
 */
import type { Stat } from "./histogram.ts";
import { formatOwnDelay } from "./own_delay.ts";
import { type Phase, PHASES } from "./results_format.ts";
import { textTable } from "./shared/text_table.ts";
import type { Summary } from "./summary.ts";

/** coldconn's line about its warm-up attempts (`#META.warmup_attempts`). */
export function warmupLine(n: number): string {
  return n > 0
    ? `Warm-up: ${attemptsText(n)} before these, not recorded (--warmup-attempts)`
    : "Warm-up: none (--warmup-attempts 0): the first attempt also times smft's own start-up";
}

/** `1 attempt`, `3 attempts`. */
export function attemptsText(n: number): string {
  return `${n} attempt${n === 1 ? "" : "s"}`;
}

/** Milliseconds with two decimals, as the seed printed them. */
export function ms(v: number): string {
  return `${v.toFixed(2)}ms`;
}

function statLine(label: string, st: Stat): string {
  return `${label}: mean ${ms(st.mean)} | P50 ${ms(st.p50)} | P90 ${ms(st.p90)} | P99 ${
    ms(st.p99)
  } | Max ${ms(st.max)}`;
}

function codes(byCode: Record<string, number>): string {
  return Object.entries(byCode).filter(([k]) => k !== "OK").sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v}`).join(", ");
}

/**
 * Row labels of the console's phase table: each phase's name, and for `first_rpc`, the one that
 * is not counted from the attempt's start, what it is.
 */
const PHASE_LABELS: Record<Phase, string> = Object.fromEntries(
  PHASES.map((p) => [p, p === "first_rpc" ? "first_rpc (READY to status)" : p]),
) as Record<Phase, string>;

/** The summary as text: the seed's lines first, then what this suite adds. */
export function formatSummary(s: Summary): string {
  const out: string[] = [];
  const pct = s.successPct.toFixed(1);
  if (s.test === "01_steady") {
    out.push(`Total Requests: ${s.total}`);
    out.push(`Successful: ${s.ok} (${pct}%)`);
    if (s.latency) {
      const l = s.latency;
      out.push(`Mean Latency: ${ms(l.mean)}`);
      out.push(`P50: ${ms(l.p50)} | P90: ${ms(l.p90)} | P95: ${ms(l.p95)} | P99: ${ms(l.p99)}`);
      out.push(`P99.9: ${ms(l.p999)} | Max: ${ms(l.max)} | Min: ${ms(l.min)}`);
    }
    if (s.failed > 0) {
      out.push(`Errors: ${s.failed} (${codes(s.byCode)})`);
      if (s.latencyAll) out.push(statLine("Latency, all outcomes", s.latencyAll));
    }
    if (s.service) out.push(statLine("Service time (issued to done)", s.service));
    if (s.df) out.push(statLine("df handling time", s.df));
    if (s.lag) out.push(statLine("Generator lag (intended to issued)", s.lag));
    if (s.ownDelay) out.push(formatOwnDelay(s.ownDelay, s.latency));
  } else {
    out.push(`Total Attempts: ${s.total}`);
    out.push(`Successful: ${s.ok} (${pct}%)`);
    const p = s.phases ?? {};
    if (p.connect) out.push(`Mean Connect Time: ${ms(p.connect.mean)}`);
    if (p.first_rpc) out.push(`Mean First RPC Time: ${ms(p.first_rpc.mean)}`);
    if (p.total) out.push(`Mean Total Time: ${ms(p.total.mean)}`);
    const rows = PHASES.filter((k) => p[k]).map((k) => {
      const st = p[k]!;
      return [
        `  ${PHASE_LABELS[k]}`,
        ...[st.mean, st.p50, st.p90, st.p99, st.max].map((x) => x.toFixed(2)),
      ];
    });
    if (rows.length) {
      // Each header right-aligned over its column; first_rpc is no time from the attempt's start.
      // Least widths keep the columns where they have always been (9 characters a figure) up
      // to 9999.99 ms; a wider figure widens its column instead of running into the next.
      const head = ["phase (ms from attempt start)", "mean", "p50", "p90", "p99", "max"];
      out.push(textTable([head, ...rows], { left: [0], minWidth: [32, 7, 7, 7, 7, 7] }));
    }
    if (s.failed > 0) {
      const phases = Object.entries(s.failedByPhase ?? {}).map(([k, v]) => `${k}=${v}`).join(", ");
      out.push(`Errors: ${s.failed} (${codes(s.byCode)}; by phase: ${phases})`);
    }
    const tls = Object.entries(s.tlsVersions ?? {}).map(([k, v]) => `${k}=${v}`).join(", ");
    if (tls) out.push(`TLS versions: ${tls}`);
    if (s.lag) out.push(statLine("Generator lag (intended to start)", s.lag));
    if (s.ownDelay) out.push(formatOwnDelay(s.ownDelay, s.phases?.total));
  }
  if (s.topReasons?.length) {
    out.push(`Top failure reasons (of ${s.failed}):`);
    for (const r of s.topReasons) out.push(`  ${String(r.count).padStart(7)} x ${r.reason}`);
  }
  if (s.badTrailers) {
    out.push(
      `Malformed df-handling-us trailers: ${s.badTrailers} (recorded as absent, see df_bad)`,
    );
  }
  if (s.achievedRate !== undefined) {
    out.push(`Achieved rate: ${s.achievedRate.toFixed(1)}/s over ${s.durationS!.toFixed(1)} s`);
  }
  return out.join("\n");
}
