/**
 * The bench's last table: each performance target of issue 18, the figure this run measured
 * for it, and whether it is met. Pure: the bench hands in the figures.
 *
 * @module
 */
import { textTable } from "../../smft/shared/text_table.ts";

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
  return textTable(rows, { left: [0, 1, 2] });
}

/** `a / b` as a ratio in words (`2.81x`), `-` when either is unknown (pure). */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !Number.isFinite(a / b)
    ? "-"
    : `${(a / b).toFixed(2)}x`;
}
