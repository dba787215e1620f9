/**
 * The bench's text tables: rows of cells, columns aligned, text columns left and figures right.
 * Pure.
 *
 * @module
 */

/** A figure with two decimals, `-` when unknown or not finite. */
export function f2(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(2);
}

/** Rows of text, columns aligned: the `leftColumns` padded right, the rest padded left. */
export function alignRows(rows: string[][], leftColumns: number[] = [0]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    row.map((c, i) => leftColumns.includes(i) ? c.padEnd(w[i]) : c.padStart(w[i])).join("  ")
  ).join("\n");
}
