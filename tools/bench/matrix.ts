/**
 * The verdict's calibration: over a matrix of rates, connection counts and pacing modes, against
 * df and against the grpc-go server, smft runs beside the grpc-go client (`native/client/`, the
 * independent reference) at the same rate against the same server. A run's figures are the
 * server's when smft's p50 is within +0.3 ms and its p99 within 1.3× of the grpc-go client's
 * ({@link serversFigures}); the bench counts how often smft's own verdict agrees, and both kinds
 * of error. The pure parts (truth, counting, the table) are tested without a network.
 *
 * @module
 */
import type { Summary } from "../../smft/summary.ts";

/** One cell of the matrix. */
export interface Cell {
  server: "df" | "grpc-go";
  rate: number;
  connections: number;
  pacing: string;
}

/** What a run of one client gave. */
export interface RunFigures {
  p50: number;
  p99: number;
  lagP50: number;
  lagP99: number;
  /** The run's own verdict (`#END.valid`). */
  valid: boolean;
  reasons: string[];
  cpuUsPerCall?: number;
}

/** One measured cell: smft and the reference client against the same server. */
export interface CellResult {
  cell: Cell;
  smft: RunFigures;
  ref: RunFigures;
  /** Hypervisor steal over the cell, %. */
  steal?: number;
  /** smft's `#END.alloc_kb_per_call` and `spins_per_call`. */
  allocKbPerCall?: number;
  spinsPerCall?: number;
}

/**
 * KiB one spinning turn of the event loop allocates (Deno's `setImmediate`: 690 B measured with
 * the pacer alone, nothing else running, 2026-12-06).
 */
export const SPIN_TURN_KIB = 0.67;

/** How far smft may be from the reference for its figures to count as the server's. */
export const CALIBRATION = { p50PlusMs: 0.3, p99Ratio: 1.3 } as const;

/** The figures a run's summary gives (pure). */
export function figuresOf(s: Summary, end: Record<string, unknown>): RunFigures {
  return {
    p50: s.latency?.p50 ?? NaN,
    p99: s.latency?.p99 ?? NaN,
    lagP50: s.lag?.p50 ?? NaN,
    lagP99: s.lag?.p99 ?? NaN,
    valid: end.valid === true,
    reasons: Array.isArray(end.verdict_reasons) ? end.verdict_reasons.map(String) : [],
    cpuUsPerCall: typeof end.cpu_us_per_call === "number" ? end.cpu_us_per_call : undefined,
  };
}

/** Whether smft's figures are the server's: close enough to the independent client's (pure). */
export function serversFigures(r: CellResult): boolean {
  return r.smft.p50 <= r.ref.p50 + CALIBRATION.p50PlusMs &&
    r.smft.p99 <= r.ref.p99 * CALIBRATION.p99Ratio;
}

/** How smft's verdicts compare with the truth over the matrix. */
export interface Confusion {
  /** VALID, and the figures are the server's. */
  validRight: number;
  /** VALID, but the figures are not the server's: the error that matters most. */
  falseValid: number;
  /** INVALID, and the figures are not the server's. */
  invalidRight: number;
  /** INVALID, though the figures are the server's: an honest but needless refusal. */
  falseInvalid: number;
}

/** Counts both kinds of error of a verdict (by default, smft's own) over the results (pure). */
export function confusion(
  results: CellResult[],
  valid: (r: CellResult) => boolean = (r) => r.smft.valid,
): Confusion {
  const c: Confusion = { validRight: 0, falseValid: 0, invalidRight: 0, falseInvalid: 0 };
  for (const r of results) {
    const truth = serversFigures(r);
    if (valid(r)) truth ? c.validRight++ : c.falseValid++;
    else truth ? c.falseInvalid++ : c.invalidRight++;
  }
  return c;
}

const f2 = (v: number) => Number.isFinite(v) ? v.toFixed(2) : "-";

/** The matrix as a table, one line per cell, then the counts (pure). */
export function formatMatrix(results: CellResult[]): string {
  const head = [
    "server",
    "rate/s",
    "N",
    "pacing",
    "go p50",
    "go p99",
    "smft p50",
    "smft p99",
    "p50 -go",
    "p99 /go",
    "lag p50",
    "lag p99",
    "server's?",
    "verdict",
    "agrees",
    "steal %",
  ];
  const rows = [head];
  for (const r of results) {
    const truth = serversFigures(r);
    rows.push([
      r.cell.server,
      String(r.cell.rate),
      String(r.cell.connections),
      r.cell.pacing,
      f2(r.ref.p50),
      f2(r.ref.p99),
      f2(r.smft.p50),
      f2(r.smft.p99),
      `${r.smft.p50 - r.ref.p50 >= 0 ? "+" : ""}${f2(r.smft.p50 - r.ref.p50)}`,
      `${f2(r.smft.p99 / r.ref.p99)}x`,
      r.smft.lagP50.toFixed(3),
      r.smft.lagP99.toFixed(3),
      truth ? "yes" : "no",
      r.smft.valid ? "VALID" : "INVALID",
      r.smft.valid === truth ? "yes" : r.smft.valid ? "FALSE VALID" : "false INVALID",
      r.steal === undefined ? "-" : r.steal.toFixed(1),
    ]);
  }
  const w = head.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const table = rows.map((row) =>
    row.map((c, i) => i < 4 && i !== 1 && i !== 2 ? c.padEnd(w[i]) : c.padStart(w[i])).join("  ")
  ).join("\n");
  const c = confusion(results);
  return `${table}\n\nsmft's verdict over ${results.length} cells: ${c.validRight} VALID and the ` +
    `server's, ${c.invalidRight} INVALID and not; errors: ${c.falseValid} false VALID, ` +
    `${c.falseInvalid} false INVALID`;
}
