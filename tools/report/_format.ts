/**
 * Private to `tools/report/`: HTML escaping, number formats, and the colours of runs and of
 * connection phases, shared by the charts and the tables.
 *
 * @internal
 * @module
 */
import type { ReportRun, SegmentKey } from "./model.ts";

/** Escapes text for HTML content and double-quoted attributes. */
export const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Two decimals, of a figure that is there (`msCell` says `–` for one that is not). */
export const f2 = (v: number): string => v.toFixed(2);
/** One decimal. */
export const f1 = (v: number): string => v.toFixed(1);
/** A whole number with thousands separators. */
export const int = (v: number): string => Math.round(v).toLocaleString("en-US");
/** Milliseconds to two decimals, or a dash. */
export const msCell = (v: number | undefined): string => v === undefined ? "–" : f2(v);

/** A metadata value as text: strings, numbers and booleans; anything else is undefined. */
export const str = (v: unknown): string | undefined =>
  typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
    ? String(v)
    : undefined;

/** `2026-11-25 03:00:00 UTC`. */
export function isoUtc(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** Colour per run (Okabe–Ito-like, readable for colour-blind viewers); merged runs are black. */
export const RUN_COLORS = [
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#8c564b",
];
const MERGED_COLOR = "#222222";

/** The colour of the `i`-th run of a chart or table. */
export const runColor = (r: ReportRun, i: number): string =>
  r.merged ? MERGED_COLOR : r.color ?? RUN_COLORS[i % RUN_COLORS.length];

const RUN_DASHES = [[7, 3], [2, 2], [12, 3, 2, 3]];

/**
 * The dash of the `i`-th run's lines: solid while colours last, then a dash per round of the
 * palette, so no two runs of a chart look alike.
 */
export const runDash = (i: number): number[] | undefined => {
  const round = Math.floor(i / RUN_COLORS.length);
  return round === 0 ? undefined : [...RUN_DASHES[(round - 1) % RUN_DASHES.length]];
};

/** The name of a run in chart legends: what tells it from the others. */
export const runLabel = (r: ReportRun): string => r.label ?? r.name;

/** A table cell naming a run, with its colour swatch. */
export function runCell(r: ReportRun, i: number): string {
  return `<td class="run"><span class="swatch" style="background:${runColor(r, i)}"></span>${
    esc(r.name)
  }</td>`;
}

/**
 * Names shortened to what differs between them: the common leading and trailing parts (split at
 * `/`, `_`, `-`, `.`) are dropped, and the extension. `["r/01_steady_results_500rps.txt",
 * "r/01_steady_results_1000rps.txt"]` gives `["500rps", "1000rps"]`. Names that would become
 * empty or alike keep more: the basename, else the whole path.
 *
 * @example
 * ```ts
 * shortNames(["before.txt", "after.txt"]); // ["before", "after"]
 * ```
 */
export function shortNames(paths: string[]): string[] {
  if (paths.length < 2) return paths.map(baseName);
  const bases = paths.map(baseName);
  const source = new Set(bases).size === bases.length ? bases : paths;
  const noExt = source.map((p) => p.replace(/(?<=[^/])\.[A-Za-z0-9]{1,6}$/, ""));
  const tokens = noExt.map((p) => p.split(/(?<=[/_.-])|(?=[/_.-])/));
  const same = (a: string[][], at: (t: string[], k: number) => string | undefined) => {
    let k = 0;
    while (tokens.every((t) => t.length > k) && a.every((t) => at(t, k) === at(a[0], k))) k++;
    return k;
  };
  const pre = same(tokens, (t, k) => t[k]);
  const suf = same(tokens, (t, k) => t[t.length - 1 - k]);
  const trim = (s: string) => s.replace(/^[/_.-]+|[/_.-]+$/g, "");
  for (const [a, b] of [[pre, suf], [pre, 0], [0, suf], [0, 0]]) {
    const out = tokens.map((t) => trim(t.slice(a, Math.max(a, t.length - b)).join("")));
    if (out.every((o) => o !== "") && new Set(out).size === out.length) return out;
  }
  return source;
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** Phase segments of a cold connection, bottom of the bar first. */
export const SEGMENTS: readonly { key: SegmentKey; label: string; color: string }[] = [
  { key: "start", label: "channel start-up", color: "#dadaeb" },
  { key: "dns", label: "DNS", color: "#9ecae1" },
  { key: "tcp", label: "TCP connect", color: "#4292c6" },
  { key: "tls", label: "TLS handshake", color: "#fd8d3c" },
  { key: "h2", label: "HTTP/2 settings", color: "#74c476" },
  { key: "rest", label: "rest of connect", color: "#bdbdbd" },
  { key: "first_rpc", label: "first RPC", color: "#756bb1" },
];
