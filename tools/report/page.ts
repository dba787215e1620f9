/**
 * The report page: one self-contained HTML page of report runs (tables, SLO verdicts and uPlot
 * charts with the library, styles and scripts inlined), so it opens offline in any browser and
 * can be mailed or attached to a ticket as a single file. Pure: runs in, HTML out.
 *
 * @module
 */
// Inlined at build time (text imports), so the page never fetches anything.
import UPLOT_JS from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import UPLOT_CSS from "uplot/dist/uPlot.min.css" with { type: "text" };
import PAGE_CSS from "./page.css" with { type: "text" };
import ERROR_HOOK_JS from "./page_errors.js" with { type: "text" };
import PAGE_JS from "./page_script.js" with { type: "text" };
import type { SloClause } from "../../smft/slo.ts";
import { esc, isoUtc, RUN_COLORS, runLabel } from "./_format.ts";
import type { ReportRun } from "./model.ts";
import { attemptChart, type ChartSpec, perSecondCharts } from "./charts.ts";
import { coldSpectrum, steadySpectrum } from "./spectrum_charts.ts";
import { ladderCharts } from "./ladder_charts.ts";
import { type Ladder, laddersOf } from "./ladder.ts";
import {
  coldDurationTable,
  coldFailures,
  coldOverview,
  coldPhaseTable,
  ladderTable,
  notesBlock,
  sloBanner,
  steadyOverview,
  steadyStatsTable,
  verdictBlock,
} from "./tables.ts";
import { metaTable } from "./meta_table.ts";

/** The uPlot release inlined into every report (kept in step with deno.json). */
export const UPLOT_VERSION = "1.6.32";

/** Options of `renderReport`. */
export interface RenderOptions {
  /** Page title. @default "gRPC latency report" */
  title?: string;
  /** Shown in the header. @default new Date() */
  generatedAt?: Date;
  /** The SLO the runs' verdicts come from: a ladder draws its latency thresholds. */
  slo?: SloClause[];
}

/**
 * The ladders among the runs of a report: steady runs (a merge of shards, not its shards) of one
 * target at two or more rates. The knee follows the SLO when the runs were judged.
 */
function reportLadders(runs: ReportRun[], withSlo: boolean): Ladder[] {
  return laddersOf(
    runs.filter((r) => r.test === "01_steady" && !r.inMerge).map((r) => ({
      name: runLabel(r),
      files: [r.path ?? r.name],
      meta: r.meta,
      summary: r.summary,
      valid: typeof r.end?.valid === "boolean" ? r.end.valid : null,
      reasons: Array.isArray(r.end?.verdict_reasons)
        ? r.end.verdict_reasons.filter((x): x is string => typeof x === "string")
        : [],
      slo: r.verdicts && {
        pass: r.verdicts.every((v) => v.pass),
        failed: r.verdicts.filter((v) => !v.pass).map((v) => v.text.replace(/\s{2,}/g, " ")),
      },
    })),
    withSlo,
  );
}

/** A chart's title, the element the page script draws it in, and its caption. */
function chartBox(c: ChartSpec): string {
  return `<figure class="chart"><figcaption class="chart-title">${esc(c.title)}</figcaption>` +
    `<div class="plot" id="${c.id}" style="min-height:${c.height + 30}px"></div>` +
    `<p class="caption">${esc(c.caption)}</p></figure>`;
}

/**
 * Renders the report: one HTML page with everything inlined, no network requests.
 *
 * @example
 * ```ts
 * const html = renderReport([run], { title: "Nightly", generatedAt: new Date(0) });
 * html.startsWith("<!DOCTYPE html>"); // true
 * ```
 */
export function renderReport(input: ReportRun[], opts: RenderOptions = {}): string {
  // One colour per file across every chart and table of the page.
  let k = 0;
  const runs = input.map((r) =>
    r.merged || r.color ? r : { ...r, color: RUN_COLORS[k++ % RUN_COLORS.length] }
  );
  const title = opts.title ?? "gRPC latency report";
  const when = isoUtc(opts.generatedAt ?? new Date());
  const steady = runs.filter((r) => r.test === "01_steady");
  const cold = runs.filter((r) => r.test === "02_coldconn");
  const charts: ChartSpec[] = [];
  const body: string[] = [];

  const files = runs.filter((r) => !r.merged);
  const fileName = (r: ReportRun) => {
    const path = r.path ?? r.name;
    return runLabel(r) === path
      ? `<code>${esc(path)}</code>`
      : `<b>${esc(runLabel(r))}</b> = <code>${esc(path)}</code>`;
  };
  body.push(
    `<header><h1>${esc(title)}</h1><p class="muted">Generated ${esc(when)} from ` +
      `${files.length} results file${files.length === 1 ? "" : "s"}: ` +
      `${files.map(fileName).join(", ")}</p></header>`,
  );
  body.push(sloBanner(runs));

  body.push(`<section><h2>Summary</h2>`);
  if (steady.length) {
    body.push(`<h3>Steady load (fixed rate, one reused channel)</h3>${steadyOverview(steady)}`);
  }
  if (cold.length) {
    body.push(`<h3>Cold connections (new TLS channel per attempt)</h3>${coldOverview(cold)}`);
  }
  if (runs.length === 0) body.push(`<p class="muted">No results.</p>`);
  body.push(notesBlock(runs), `</section>`);
  body.push(verdictBlock(runs));

  const withSlo = opts.slo !== undefined || steady.some((r) => r.verdicts?.length);
  const ladders = reportLadders(steady, withSlo);
  ladders.forEach((l, k) => {
    const lc = ladderCharts(l, k, opts.slo);
    charts.push(...lc);
    body.push(
      `<section><h2>Ladder: ${l.points.length} rates against ${esc(l.target)}</h2>`,
      `<p class="knee"><b>${esc(l.text.slice(0, l.text.indexOf(":")))}</b>${
        esc(l.text.slice(l.text.indexOf(":")))
      }</p>`,
      lc.map(chartBox).join(""),
      ladderTable(l),
      `</section>`,
    );
  });

  if (steady.length) {
    // Merged figures are in the tables and the spectrum; over time they would hide the files.
    const timeRuns = steady.filter((r) => !r.merged && r.perSecond.length);
    const timeCharts = timeRuns.length ? perSecondCharts(timeRuns, "steady") : [];
    const spec = steadySpectrum(steady);
    charts.push(...timeCharts, spec);
    body.push(`<section><h2>Steady load</h2>`);
    body.push(timeCharts.map(chartBox).join(""));
    body.push(chartBox(spec));
    body.push(`<h3>Latency statistics</h3>${steadyStatsTable(steady)}</section>`);
  }
  if (cold.length) {
    const bars = cold.filter((r) => !r.merged).map((r, i) => attemptChart(r, i))
      .filter((c): c is ChartSpec => c !== undefined);
    const spec = coldSpectrum(cold);
    charts.push(...bars, spec);
    body.push(`<section><h2>Cold connections</h2>`);
    body.push(bars.map(chartBox).join(""), chartBox(spec));
    body.push(
      `<h3>Phase durations</h3>${coldDurationTable(cold.filter((r) => !r.merged))}`,
      `<h3>Phase percentiles, from the start of the attempt</h3>${coldPhaseTable(cold)}`,
      `${coldFailures(cold)}</section>`,
    );
  }
  body.push(`<section><h2>Run metadata</h2>${metaTable(runs)}</section>`);
  body.push(
    `<footer><div id="render-status" data-charts="0" data-errors="0" data-expected="${charts.length}"` +
      ` data-done="0"></div><p class="muted">Charts drawn with uPlot ${UPLOT_VERSION} (MIT License, ` +
      `Copyright (c) 2022 Leon Sorokin), inlined: this page makes no network requests. ` +
      `Hover a chart to read values; drag to zoom, double-click to reset; click a legend entry to ` +
      `hide a series.</p></footer>`,
  );

  const data = JSON.stringify(charts).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<script>${ERROR_HOOK_JS}</script>
<style>${UPLOT_CSS}

${PAGE_CSS}</style>
</head>
<body>
<main>
${body.join("\n")}
</main>
<noscript><p class="notes">Charts need JavaScript; the tables above hold every figure.</p></noscript>
<script type="application/json" id="report-data">${data}</script>
<script>/* uPlot ${UPLOT_VERSION} | MIT License | Copyright (c) 2022 Leon Sorokin */
${stripBanner(UPLOT_JS)}</script>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}

/** The library's banner names its home page; the attribution above keeps the license notice. */
function stripBanner(js: string): string {
  return js.replace(/^\/\*![^*]*\*\/\s*/, "");
}

// Counts errors from the very start, so a library failure is reported too; a blocked resource
