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

/** Two decimals. */
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

/** Phase segments of a cold connection, bottom of the bar first. */
export const SEGMENTS: readonly { key: SegmentKey; label: string; color: string }[] = [
  { key: "dns", label: "DNS", color: "#9ecae1" },
  { key: "tcp", label: "TCP connect", color: "#4292c6" },
  { key: "tls", label: "TLS handshake", color: "#fd8d3c" },
  { key: "h2", label: "HTTP/2 settings", color: "#74c476" },
  { key: "rest", label: "rest of connect", color: "#bdbdbd" },
  { key: "first_rpc", label: "first RPC", color: "#756bb1" },
];
