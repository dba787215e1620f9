/**
 * The verdict's calibration: over a matrix of what users run (servers, `DELAY_MS`, a link with a
 * delay, rates, connection counts, pacing modes, and a starved generator), smft runs beside the
 * grpc-go client (`native/client/`, the independent reference) at the same rate, through the same
 * link, against the same server. The truth of a cell is that client, unimpeded, run twice (before
 * smft and after it): smft's figures are the server's and the link's when its p50 is within +0.3 ms
 * and its p99 within 1.3× of both sittings' ({@link truthOf}), not when outside both, and the cell
 * is undecided in between. The grpc-go client against itself is outside that criterion in 3 of 29
 * cells of one sitting, and in 85 of 580 pairs of sittings hours apart (five matrices, 2026-12-07
 * and 08), so one sitting alone would call a perfect generator's run wrong about that often. The
 * bench counts how often smft's own verdict agrees, both kinds of error, and the same counts for
 * other bounds on the own delay ({@link CANDIDATE_RULES}), which is how the verdict's bound was
 * chosen. Everything here is pure
 * and tested without a network (`matrix_test.ts`); `calibrate.ts` runs the cells.
 *
 * @module
 */
import type { Summary } from "../../smft/summary.ts";
import { ownAt, type OwnDelay } from "../../smft/own_delay.ts";
import { hostPressureLimit, RUN_RULES, SPIN_REASON } from "../../smft/verdict.ts";
import { DEFAULT_PACING, type PacingMode } from "../../smft/shared/pacer.ts";
import { f2OrDash } from "./table.ts";
import { textTable } from "../../smft/shared/text_table.ts";

/** One cell of the matrix. */
export interface Cell {
  server: "df" | "grpc-go";
  delayMs: number;
  /** `loopback`, or `relay` (a TCP relay holding each chunk {@link RELAY_DELAY_MS} each way). */
  link: "loopback" | "relay";
  rate: number;
  connections: number;
  pacing: PacingMode;
  /** smft pinned to one core with a busy process on it (the reference is never starved). */
  starved: boolean;
}

/** The relay's hold in each direction, ms. */
export const RELAY_DELAY_MS = 2;

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
  /** The generator's own delay (smft's summary). */
  own?: OwnDelay;
  /** The load host's CPU pressure over the measurement (`#END.host_cpu_pressure_pct`), %. */
  hostPressurePct?: number;
}

/** One measured cell: smft and the reference client against the same server. */
export interface CellResult {
  cell: Cell;
  smft: RunFigures;
  ref: RunFigures;
  /** The reference client again, after smft (the truth's own noise); absent in older runs. */
  ref2?: RunFigures;
  /** Hypervisor steal over the cell, %. */
  steal?: number;
  /** smft's `#END.alloc_kb_per_call` and `spins_per_call`. */
  allocKbPerCall?: number;
  spinsPerCall?: number;
  /** The server's own handling time as the reference client saw it (its trailer), ms. */
  refServer?: { p50: number; p99: number };
}

/**
 * KiB one spinning turn of the event loop allocates (Deno's `setImmediate`: 690 B measured with
 * the pacer alone, nothing else running, 2026-12-06).
 */
export const SPIN_TURN_KIB = 0.67;

/** How far smft may be from the reference for its figures to count as the server's. */
const CALIBRATION = { p50PlusMs: 0.3, p99Ratio: 1.3 } as const;

/**
 * The cells (pure). The full matrix: both servers × `DELAY_MS` 0 and 5 × loopback and the relay
 * at 200 and 1000/s (the default pacing, one connection); then spin pacing, two connections, 100 and 2000/s,
 * and a starved generator at 200 and 1000/s. `quick`: a third of it.
 */
export function matrixCells(quick: boolean): Cell[] {
  const c = (o: Partial<Cell> & Pick<Cell, "server" | "rate">): Cell => ({
    delayMs: 5,
    link: "loopback",
    connections: 1,
    pacing: DEFAULT_PACING,
    starved: false,
    ...o,
  });
  const cells: Cell[] = [];
  const servers = ["grpc-go", "df"] as const;
  for (const server of servers) {
    for (const delayMs of [0, 5]) {
      for (const link of ["loopback", "relay"] as const) {
        for (const rate of quick ? [200] : [200, 1000]) {
          if (quick && server === "df" && link === "relay") continue;
          cells.push(c({ server, delayMs, link, rate }));
        }
      }
    }
  }
  for (const server of servers) {
    if (!quick) cells.push(c({ server, rate: 2000 }));
    cells.push(c({ server, rate: 200, starved: true }));
    if (!quick) cells.push(c({ server, rate: 1000, starved: true }));
  }
  cells.push(c({ server: "grpc-go", rate: 100, delayMs: 0 }));
  for (const rate of quick ? [500] : [100, 500]) {
    cells.push(c({ server: "grpc-go", rate, pacing: "spin" }));
    if (!quick) cells.push(c({ server: "grpc-go", rate, pacing: "spin", link: "relay" }));
  }
  if (!quick) {
    for (const rate of [1000, 2000]) cells.push(c({ server: "grpc-go", rate, connections: 2 }));
  }
  return cells;
}

/** A cell in a few words, for file names and progress lines (pure). */
export function cellTag(c: Cell): string {
  return `${c.server}_d${c.delayMs}_${c.link}_${c.rate}_${c.connections}_${c.pacing}${
    c.starved ? "_starved" : ""
  }`;
}

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
    own: s.ownDelay,
    hostPressurePct: typeof end.host_cpu_pressure_pct === "number"
      ? end.host_cpu_pressure_pct
      : undefined,
  };
}

/** Whether `a`'s figures are `b`'s: p50 within +0.3 ms and p99 within 1.3× (pure). */
function closeTo(a: RunFigures, b: RunFigures): boolean {
  return a.p50 <= b.p50 + CALIBRATION.p50PlusMs && a.p99 <= b.p99 * CALIBRATION.p99Ratio;
}

/** Whether smft's figures are the server's, by the reference's sittings (pure; module doc). */
export type Truth = "yes" | "no" | "undecided";

/**
 * The truth of a cell (pure): "yes" when smft's figures are close to every sitting of the
 * reference, "no" when close to none, "undecided" when the sittings disagree about them.
 */
export function truthOf(r: CellResult): Truth {
  const refs = r.ref2 ? [r.ref, r.ref2] : [r.ref];
  const close = refs.filter((ref) => closeTo(r.smft, ref)).length;
  return close === refs.length ? "yes" : close === 0 ? "no" : "undecided";
}

/** Whether smft's figures are the server's by every sitting of the reference (pure). */
export function serversFigures(r: CellResult): boolean {
  return truthOf(r) === "yes";
}

/**
 * Whether the reference's two sittings are outside the criterion of each other (pure): the
 * truth's own noise, which no verdict can do better than. False with one sitting.
 */
export function referenceDisagrees(r: CellResult): boolean {
  return r.ref2 !== undefined && !(closeTo(r.ref, r.ref2) && closeTo(r.ref2, r.ref));
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
  /** Cells left out: the reference's sittings disagree about smft's figures. */
  undecided: number;
}

/** Counts both kinds of error of a verdict (by default, smft's own) over the results (pure). */
export function confusion(
  results: CellResult[],
  valid: (r: CellResult) => boolean = (r) => r.smft.valid,
): Confusion {
  const c: Confusion = {
    validRight: 0,
    falseValid: 0,
    invalidRight: 0,
    falseInvalid: 0,
    undecided: 0,
  };
  for (const r of results) {
    const t = truthOf(r);
    if (t === "undecided") {
      c.undecided++;
      continue;
    }
    const truth = t === "yes";
    if (valid(r)) truth ? c.validRight++ : c.falseValid++;
    else truth ? c.falseInvalid++ : c.invalidRight++;
  }
  return c;
}

/** A bound on the own delay, as the verdict could apply it. */
export interface CandidateRule {
  name: string;
  p50MaxMs: number;
  p99MaxShare: number;
  p99FloorMs: number;
  /** Judge the send side only (lag), as a generator that cannot see its reads would. */
  sendOnly?: boolean;
  /** Add the two sides' percentiles (the rule before 2026-12-08) instead of their moves. */
  sum?: boolean;
  /** The read side from one measure only: the turn gaps, or the I/O probe. */
  readBy?: "gaps" | "probe";
  /** Also INVALID when the host's CPU pressure was over this, %, or the verdict's limit. */
  maxHostPressurePct?: number | "the verdict's";
  /** Also INVALID when steady spun beside its server (the verdict's reason says so). */
  spinBesideServer?: boolean;
}

const OWN = {
  p50MaxMs: RUN_RULES.ownP50MaxMs,
  p99MaxShare: RUN_RULES.ownP99MaxShare,
  p99FloorMs: RUN_RULES.ownP99FloorMs,
};

/**
 * The verdict's own bound first, then others around it (printed side by side); every rule but
 * the first and the last judges the own delay alone, as the verdict would without its host rule
 * (the last: the verdict without its rule on spinning beside the server).
 */
export const CANDIDATE_RULES: CandidateRule[] = [
  {
    name: "the verdict's",
    ...OWN,
    maxHostPressurePct: "the verdict's",
    spinBesideServer: true,
  },
  { name: "moves p99 7.5 %", ...OWN, p99MaxShare: 0.075 },
  { name: "moves p99 12.5 %", ...OWN, p99MaxShare: 0.125 },
  { name: "moves p99 15 %", ...OWN, p99MaxShare: 0.15 },
  {
    name: "the two sides' p99s added, 15 % (the rule before 2026-12-08)",
    ...OWN,
    p99MaxShare: RUN_RULES.ownP99SumMaxShare,
    sum: true,
  },
  { name: "p50 0.1 ms", ...OWN, p50MaxMs: 0.1 },
  { name: "send side only", ...OWN, sendOnly: true },
  {
    name: "read by turn gaps only (p99s added)",
    ...OWN,
    p99MaxShare: RUN_RULES.ownP99SumMaxShare,
    readBy: "gaps",
    sum: true,
  },
  {
    name: "read by the I/O probe only (p99s added)",
    ...OWN,
    p99MaxShare: RUN_RULES.ownP99SumMaxShare,
    readBy: "probe",
    sum: true,
  },
  { name: "no host CPU pressure rule", ...OWN },
  { name: "host CPU pressure <= 10 %", ...OWN, maxHostPressurePct: 10 },
  { name: "host CPU pressure <= 20 %", ...OWN, maxHostPressurePct: 20 },
  {
    name: "the verdict's without its spin rule",
    ...OWN,
    maxHostPressurePct: "the verdict's",
  },
];

/**
 * What a candidate rule would have said of a cell (pure): the rate as smft judged it (a reason
 * starting `rate:` or the older `achieved`), and the own delay against the rule's bounds.
 */
export function candidateValid(rule: CandidateRule, r: CellResult): boolean {
  if (r.smft.reasons.some((x) => x.startsWith("rate:") || x.startsWith("achieved"))) return false;
  if (rule.spinBesideServer && r.smft.reasons.some((x) => x.startsWith(SPIN_REASON))) return false;
  const pressureLimit = rule.maxHostPressurePct === "the verdict's"
    ? hostPressureLimit(r.cell.rate)
    : rule.maxHostPressurePct;
  if (pressureLimit !== undefined && (r.smft.hostPressurePct ?? 0) > pressureLimit) return false;
  const own = r.smft.own;
  if (!own) return r.smft.valid;
  const send = { sendP50: own.sendP50, sendP99: own.sendP99 };
  const moves = own.moves;
  const at = rule.sendOnly && moves ? { p50: moves.sendP50, p99: moves.sendP99 } : ownAt(
    rule.sendOnly
      ? send
      : rule.readBy === "gaps"
      ? { ...send, readP50: own.readP50, readP99: own.readP99 }
      : rule.readBy === "probe"
      ? { ...send, ioP50: own.ioP50, ioP99: own.ioP99 }
      : rule.sum
      ? { ...own, moves: undefined }
      : own,
  );
  return at.p50 <= rule.p50MaxMs &&
    at.p99 <= Math.max(rule.p99MaxShare * r.smft.p99, rule.p99FloorMs);
}

/** The matrix as a table, one line per cell, then the counts for each candidate rule (pure). */
export function formatMatrix(results: CellResult[]): string {
  const head = [
    "server",
    "delay",
    "link",
    "rate/s",
    "N",
    "pacing",
    "go p50 (1, 2)",
    "go p99 (1, 2)",
    "smft p50",
    "smft p99",
    "p50 -go",
    "p99 /go",
    "send p99",
    "gaps p99",
    "probe p99",
    "moves p99",
    "psi %",
    "server's?",
    "verdict",
    "agrees",
    "steal %",
  ];
  const rows = [head];
  for (const r of results) {
    const truth = truthOf(r);
    rows.push([
      r.cell.server,
      String(r.cell.delayMs),
      r.cell.link === "relay" ? `relay ${RELAY_DELAY_MS}ms` : "loopback",
      String(r.cell.rate),
      String(r.cell.connections),
      `${r.cell.pacing}${r.cell.starved ? " starved" : ""}`,
      r.ref2 ? `${f2OrDash(r.ref.p50)} ${f2OrDash(r.ref2.p50)}` : f2OrDash(r.ref.p50),
      r.ref2 ? `${f2OrDash(r.ref.p99)} ${f2OrDash(r.ref2.p99)}` : f2OrDash(r.ref.p99),
      f2OrDash(r.smft.p50),
      f2OrDash(r.smft.p99),
      `${r.smft.p50 - r.ref.p50 >= 0 ? "+" : ""}${f2OrDash(r.smft.p50 - r.ref.p50)}`,
      `${f2OrDash(r.smft.p99 / r.ref.p99)}x`,
      f2OrDash(r.smft.own?.sendP99),
      f2OrDash(r.smft.own?.readP99),
      f2OrDash(r.smft.own?.ioP99),
      r.smft.own?.moves ? f2OrDash(ownAt(r.smft.own).p99) : "-",
      r.smft.hostPressurePct === undefined ? "-" : r.smft.hostPressurePct.toFixed(1),
      truth,
      r.smft.valid ? "VALID" : "INVALID",
      truth === "undecided"
        ? "-"
        : r.smft.valid === (truth === "yes")
        ? "yes"
        : r.smft.valid
        ? "FALSE VALID"
        : "false INVALID",
      r.steal === undefined ? "-" : r.steal.toFixed(1),
    ]);
  }
  const c = confusion(results);
  const rules = [["rule", "VALID right", "INVALID right", "false VALID", "false INVALID"]];
  for (const rule of CANDIDATE_RULES) {
    const k = confusion(results, (r) => candidateValid(rule, r));
    rules.push([
      `${rule.name} (p50 <= ${rule.p50MaxMs} ms, p99 <= ${
        rule.p99MaxShare * 100
      } % or ${rule.p99FloorMs} ms${rule.sendOnly ? ", send side only" : ""}${
        rule.maxHostPressurePct === undefined ? "" : ", host pressure"
      })`,
      String(k.validRight),
      String(k.invalidRight),
      String(k.falseValid),
      String(k.falseInvalid),
    ]);
  }
  const twice = results.filter((r) => r.ref2).length;
  const noise = twice === 0
    ? ""
    : `\nThe truth's own noise: the grpc-go client's two sittings are outside +${CALIBRATION.p50PlusMs} ` +
      `ms / ${CALIBRATION.p99Ratio}x of each other in ${
        results.filter(referenceDisagrees).length
      } of ${twice} cells; ${c.undecided} cells are undecided (smft close to one sitting only) ` +
      `and left out of the counts.`;
  return `${textTable(rows, { left: [0, 2, 5] })}\n\nsmft's verdict over ${
    results.length - c.undecided
  } decided cells: ` +
    `${c.validRight} VALID and the server's, ${c.invalidRight} INVALID and not; errors: ` +
    `${c.falseValid} false VALID, ${c.falseInvalid} false INVALID (targets: 0 false VALID, ` +
    `at most 10 % false INVALID)${noise}\n\nThe same cells under other bounds on the own delay:\n${
      textTable(rules, { left: [0] })
    }`;
}
