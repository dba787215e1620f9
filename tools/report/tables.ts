/**
 * The report's HTML tables and text blocks: overviews, statistics, phase durations, failures,
 * SLO verdicts and notes (the run metadata table is `meta_table.ts`). Pure: runs in, HTML
 * fragments out (every text escaped).
 *
 * Private to `tools/report/`.
 *
 * @internal
 * @module
 */
import type { Stat } from "../../smft/histogram.ts";
import type { Summary } from "../../smft/summary.ts";
import { formatOwnDelay, ownAt, type OwnDelay, readAt } from "../../smft/own_delay.ts";
import type { Phase } from "../../smft/results_format.ts";
import { esc, f1, f2, int, msCell, runCell, SEGMENTS, str } from "./_format.ts";
import { phaseSegments, type ReportRun, targetRate } from "./model.ts";
import type { Ladder } from "./ladder.ts";

/** A ladder's runs by offered rate: rates, errors, percentiles, verdict, SLO; the knee marked. */
export function ladderTable(l: Ladder): string {
  const slo = l.rule === "slo";
  const rows = l.points.map((p, i) => {
    const verdict = p.valid === null
      ? `<span class="muted">unknown</span>`
      : p.valid
      ? `<span class="badge pass">VALID</span>`
      : `<span class="badge fail">INVALID</span>`;
    const sloCell = !slo
      ? ""
      : `<td class="c">${
        p.slo === undefined
          ? "–"
          : p.slo.pass
          ? `<span class="badge pass">PASS</span>`
          : `<span class="badge fail">FAIL</span>`
      }</td>`;
    const mark = i === l.knee ? `<span class="knee-mark">knee</span>` : "";
    return `<tr class="${i === l.knee ? "knee-row" : ""}"><td class="n">${int(p.rate)}</td>` +
      `<td class="n">${p.achieved === undefined ? "–" : f1(p.achieved)}</td>` +
      `<td class="n${p.failed ? " bad" : ""}">${f2(p.errorPct)} %</td>` +
      [p.p50, p.p90, p.p99, p.p999].map((v, j) =>
        `<td class="n${j === 2 ? " strong" : ""}">${msCell(v)}</td>`
      ).join("") +
      `<td class="c">${verdict}</td>${sloCell}<td>${mark}</td>` +
      `<td title="${esc(p.files.join(" + "))}">${esc(p.name)}</td></tr>`;
  });
  return `<div class="scroll"><table class="overview"><thead><tr>` +
    `<th class="n">offered /s</th><th class="n">achieved /s</th><th class="n">errors</th>` +
    `<th class="n">p50 ms</th><th class="n">p90 ms</th><th class="n">p99 ms</th>` +
    `<th class="n">p99.9 ms</th><th class="c">run</th>${slo ? `<th class="c">SLO</th>` : ""}` +
    `<th></th><th>results file</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>` +
    `<p class="caption">The knee rule: ${
      slo
        ? "the highest rate that met every SLO clause on a VALID run, below the first rate that did not."
        : "without --slo, the highest rate whose p99 stayed within 1.5× (and 1 ms) of the lowest " +
          "VALID rate's p99, with errors within 1 point of it, below the first rate that did not."
    } An INVALID run (or one without a verdict) stops the walk: above it the generator, not the ` +
    `server, is measured.</p>`;
}

const STAT_COLS = ["count", "mean", "min", "p50", "p90", "p95", "p99", "p99.9", "max"];
const statCells = (st: Stat | undefined): string =>
  st
    ? [
      int(st.count),
      f2(st.mean),
      f2(st.min),
      f2(st.p50),
      f2(st.p90),
      f2(st.p95),
      f2(st.p99),
      f2(st.p999),
      f2(st.max),
    ]
      .map((v) => `<td class="n">${v}</td>`).join("")
    : `<td class="n" colspan="9">–</td>`;

/** A run's rows of a table, its name once (spanning them) rather than on every row. */
function grouped(r: ReportRun, i: number, cells: string[]): string[] {
  return cells.map((c, j) =>
    j === 0
      ? `<tr class="first">${
        runCell(r, i).replace("<td", `<td rowspan="${cells.length}"`)
      }${c}</tr>`
      : `<tr>${c}</tr>`
  );
}

function sloCell(r: ReportRun): string {
  if (!r.verdicts?.length) return `<td class="c muted">–</td>`;
  const failed = r.verdicts.filter((v) => !v.pass).length;
  return failed === 0
    ? `<td class="c"><span class="badge pass">PASS</span></td>`
    : `<td class="c"><span class="badge fail">FAIL</span> <span class="muted">${failed}/${r.verdicts.length}</span></td>`;
}

function errorsText(s: Summary): string {
  if (s.failed === 0) return "0";
  const codes = Object.entries(s.byCode).filter(([k]) => k !== "OK").sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${esc(k)} ${int(v)}`).join(", ");
  return `<span class="bad">${int(s.failed)}</span> <span class="codes">${codes}</span>`;
}

/** The summary table of steady runs: rates, success, errors, response time, SLO. */
export function steadyOverview(runs: ReportRun[]): string {
  const rows = runs.map((r, i) => {
    const s = r.summary;
    const l = s.latency;
    const target = targetRate(r);
    const rate = s.achievedRate === undefined ? "–" : f1(s.achievedRate);
    return `<tr>${runCell(r, i)}<td>${esc(str(r.meta?.target) ?? "–")}</td>` +
      `<td class="n">${target === undefined ? "–" : int(target)}</td><td class="n">${rate}</td>` +
      `<td class="n">${int(s.total)}</td><td class="n">${successPct(s)}</td><td>${
        errorsText(s)
      }</td>` +
      `<td class="n">${msCell(l?.p50)}</td><td class="n">${msCell(l?.p90)}</td>` +
      `<td class="n strong">${msCell(l?.p99)}</td><td class="n">${msCell(l?.p999)}</td>` +
      `<td class="n">${msCell(l?.max)}</td>${sloCell(r)}</tr>`;
  });
  return `<div class="scroll"><table class="overview"><thead><tr><th rowspan="2">results file</th>` +
    `<th rowspan="2">target</th><th class="c grp" colspan="2">rate (requests/s)</th>` +
    `<th class="n" rowspan="2">requests</th><th class="n" rowspan="2">success</th>` +
    `<th rowspan="2">errors</th><th class="c grp" colspan="5">response time (ms)</th>` +
    `<th class="c" rowspan="2">SLO</th></tr><tr><th class="n">target</th><th class="n">achieved</th>` +
    `<th class="n">p50</th><th class="n">p90</th><th class="n">p99</th><th class="n">p99.9</th>` +
    `<th class="n">max</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>` +
    `<p class="caption">Response time of successful calls, measured from when each request should ` +
    `have been sent (no coordinated omission). Full statistics further down.</p>`;
}

/** The summary table of cold-connection runs: attempts, success, phase times, SLO. */
export function coldOverview(runs: ReportRun[]): string {
  const rows = runs.map((r, i) => {
    const s = r.summary;
    const p = s.phases ?? {};
    return `<tr>${runCell(r, i)}<td>${esc(str(r.meta?.target) ?? "–")}</td>` +
      `<td class="n">${int(s.total)}</td><td class="n">${successPct(s)}</td><td>${
        errorsText(s)
      }</td>` +
      `<td class="n">${msCell(p.connect?.p50)}</td><td class="n">${msCell(p.connect?.p99)}</td>` +
      `<td class="n">${msCell(p.first_rpc?.p50)}</td><td class="n">${
        msCell(p.first_rpc?.p99)
      }</td>` +
      `<td class="n">${msCell(p.total?.p50)}</td><td class="n strong">${
        msCell(p.total?.p99)
      }</td>` +
      `<td class="n">${msCell(p.total?.max)}</td><td class="n">${msCell(p.total?.mean)}</td>${
        sloCell(r)
      }</tr>`;
  });
  return `<div class="scroll"><table class="overview"><thead><tr><th rowspan="2">results file</th><th rowspan="2">target</th>` +
    `<th class="n" rowspan="2">attempts</th><th class="n" rowspan="2">success</th><th rowspan="2">errors</th>` +
    `<th class="c grp" colspan="2">connect ms</th><th class="c grp" colspan="2">first RPC ms</th>` +
    `<th class="c grp" colspan="4">connect + first RPC ms</th><th class="c" rowspan="2">SLO</th></tr>` +
    `<tr><th class="n">p50</th><th class="n">p99</th><th class="n">p50</th><th class="n">p99</th>` +
    `<th class="n">p50</th><th class="n">p99</th><th class="n">max</th><th class="n">mean</th></tr>` +
    `</thead><tbody>${rows.join("")}</tbody></table></div>`;
}

const successPct = (s: Summary): string =>
  `<span class="${s.failed ? "bad" : ""}">${
    s.successPct === 100 ? "100" : s.successPct.toFixed(2)
  } %</span>`;

/**
 * The generator's own delay as one row: how far it moves the p50 and p99 (or, without the calls'
 * times, both sides' percentiles added), send + read (the columns a partial figure has; the
 * others say what they are not).
 */
function ownDelayCells(d: OwnDelay): string {
  const at = ownAt(d);
  const read = `${d.moves ? "how far it moves them, " : ""}${
    readAt(d) === undefined ? "read side not measured" : "send + read"
  }`;
  return `<td title="${esc(formatOwnDelay(d))}">generator's own delay (${read})</td>` +
    STAT_COLS.map((c) =>
      c === "p50"
        ? `<td class="n">${f2(at.p50)}</td>`
        : c === "p99"
        ? `<td class="n">${f2(at.p99)}</td>`
        : `<td class="n">–</td>`
    ).join("");
}

/** Full statistics of every steady measure (response, service, df, lag, own delay), per run. */
export function steadyStatsTable(runs: ReportRun[]): string {
  const kinds: [keyof Summary, string][] = [
    ["latency", "response time (ok)"],
    ["latencyAll", "response time (all outcomes)"],
    ["service", "service time"],
    ["df", "df handling"],
    ["lag", "generator lag"],
  ];
  const rows = runs.flatMap((r, i) =>
    grouped(
      r,
      i,
      kinds.filter(([k]) => r.summary[k]).map(([k, label]) =>
        `<td>${label}</td>${statCells(r.summary[k] as Stat)}`
      ).concat(r.summary.ownDelay ? [ownDelayCells(r.summary.ownDelay)] : []),
    )
  );
  return `<table class="stats"><thead><tr><th>results file</th><th>measure (ms)</th>` +
    STAT_COLS.map((c) => `<th class="n">${c}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const PHASE_LABELS: Record<Phase, string> = {
  start: "channel started (grpc-js)",
  dns: "DNS resolved (TCP begins)",
  tcp: "TCP connected",
  tls: "TLS handshake done",
  h2: "HTTP/2 settings received",
  connect: "channel ready (connect)",
  first_rpc: "first RPC (own duration)",
  total: "connect + first RPC",
};

/** Percentiles of the cumulative phase times of cold connections, per run. */
export function coldPhaseTable(runs: ReportRun[]): string {
  const rows = runs.flatMap((r, i) => {
    const p = r.summary.phases ?? {};
    return grouped(
      r,
      i,
      (Object.keys(PHASE_LABELS) as Phase[]).filter((k) => p[k]).map((k) =>
        `<td>${PHASE_LABELS[k]}</td>${statCells(p[k])}`
      ),
    );
  });
  return `<table class="stats"><thead><tr><th>results file</th><th>phase (ms from attempt start)</th>` +
    STAT_COLS.map((c) => `<th class="n">${c}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>` +
    `<p class="caption">DNS, TCP, TLS and HTTP/2 are cumulative: the time from the start of the ` +
    `attempt until that phase finished. First RPC is the first call's own duration.</p>`;
}

/**
 * Per-phase durations of successful attempts (the segments of the bars), from the attempt rows:
 * the summary holds cumulative times only. Nearest-rank percentiles of the exact values.
 */
export function coldDurationTable(runs: ReportRun[]): string {
  const rows = runs.flatMap((r, i) => {
    const ok = (r.attempts ?? []).filter((a) => a.ok).map((a) => phaseSegments(a.phases));
    if (ok.length === 0) return [];
    return grouped(
      r,
      i,
      SEGMENTS.filter((seg) => ok.some((v) => v[seg.key] > 0)).map((seg) => {
        const v = ok.map((o) => o[seg.key]).sort((a, b) => a - b);
        const at = (p: number) => v[Math.max(1, Math.ceil((p / 100) * v.length)) - 1];
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const cells = [int(v.length), f2(mean), f2(v[0]), f2(at(50)), f2(at(90)), f2(at(95))]
          .concat([f2(at(99)), f2(at(99.9)), f2(v[v.length - 1])]);
        return `<td><span class="swatch" style="background:${seg.color}"></span>${seg.label}</td>` +
          cells.map((c) => `<td class="n">${c}</td>`).join("");
      }),
    );
  });
  if (rows.length === 0) return "";
  return `<table class="stats"><thead><tr><th>results file</th><th>phase duration (ms)</th>` +
    STAT_COLS.map((c) => `<th class="n">${c}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>` +
    `<p class="caption">How long each phase itself took (the segments of the bars above), over ` +
    `the successful attempts the report holds.</p>`;
}

/** Failed attempts by status and by the phase they reached; empty when none failed. */
export function coldFailures(runs: ReportRun[]): string {
  const count = (o: Record<string, number>) =>
    Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${esc(k)} ${int(v)}`).join(", ");
  const rows = runs.filter((r) => r.summary.failed > 0).map((r, i) => {
    const codes = Object.fromEntries(Object.entries(r.summary.byCode).filter(([k]) => k !== "OK"));
    return `<tr>${runCell(r, i)}<td class="n bad">${int(r.summary.failed)}</td>` +
      `<td>${count(codes)}</td><td>${count(r.summary.failedByPhase ?? {}) || "–"}</td></tr>`;
  });
  return rows.length
    ? `<h3>Failed attempts</h3><table class="stats narrow"><thead><tr><th>results file</th>` +
      `<th class="n">failed</th><th>status codes</th><th>phase reached when it failed</th></tr></thead>` +
      `<tbody>${rows.join("")}</tbody></table>`
    : "";
}

/** The SLO verdicts of each judged run, with PASS and FAIL badges; empty when none. */
export function verdictBlock(runs: ReportRun[]): string {
  const withV = runs.filter((r) => r.verdicts?.length);
  if (withV.length === 0) return "";
  const items = withV.map((r) =>
    `<div class="verdicts"><h3>${esc(r.name)}</h3><ul class="plain">` +
    r.verdicts!.map((v) =>
      `<li><span class="badge ${v.pass ? "pass" : "fail"}">${v.pass ? "PASS" : "FAIL"}</span> ${
        esc(v.text)
      }</li>`
    ).join("") + `</ul></div>`
  );
  return `<section><h2>SLO verdicts</h2><div class="verdict-grid">${
    items.join("")
  }</div></section>`;
}

/** The "read with care" notes of every run; empty when there are none. */
export function notesBlock(runs: ReportRun[]): string {
  const items = runs.flatMap((r) =>
    (r.notes ?? []).map((n) => `<li><b>${esc(r.name)}</b>: ${esc(n)}</li>`)
  );
  return items.length
    ? `<div class="notes"><h3>Read with care</h3><ul>${items.join("")}</ul></div>`
    : "";
}

/** The banner saying whether every SLO clause passed; empty when nothing was judged. */
export function sloBanner(runs: ReportRun[]): string {
  const judged = runs.filter((r) => r.verdicts?.length);
  if (judged.length === 0) return "";
  const failed = judged.filter((r) => r.verdicts!.some((v) => !v.pass));
  const clauses = (r: ReportRun) => {
    const n = r.verdicts!.length;
    const bad = r.verdicts!.filter((v) => !v.pass).length;
    return `${esc(r.name)} (${bad} of ${n} clause${n === 1 ? "" : "s"} failed)`;
  };
  return failed.length === 0
    ? `<div class="banner pass">SLO met: every clause passed for ${
      judged.map((r) => esc(r.name)).join(", ")
    }.</div>`
    : `<div class="banner fail">SLO not met: ${failed.map(clauses).join(", ")}.</div>`;
}
