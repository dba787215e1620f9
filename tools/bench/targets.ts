/**
 * The bench's last table: each performance target of issue 18, the figure this run measured
 * for it, and whether it is met. Pure: the bench hands in the figures.
 *
 * @module
 */

/** One target and what was measured. */
export interface Target {
  /** What is aimed at, in words (`smft CPU per call ≤ 1.2x the floor at 1000/s`). */
  target: string;
  /** The figure measured, in words (`1056 µs = 2.81x`). */
  figure: string;
  /** Met, not met, or not measured in this run (`undefined`). */
  met?: boolean;
}

/** The targets as a table (pure). */
export function formatTargets(targets: Target[]): string {
  const rows = [["target", "measured", "met"]].concat(
    targets.map((t) => [t.target, t.figure, t.met === undefined ? "-" : t.met ? "yes" : "no"]),
  );
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`).join("\n");
}

/** `a / b` as a ratio in words (`2.81x`), `-` when either is unknown (pure). */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !Number.isFinite(a / b)
    ? "-"
    : `${(a / b).toFixed(2)}x`;
}
