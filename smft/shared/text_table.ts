/**
 * The one text-table formatter of smft and its tools: rows of cells, columns aligned, figures
 * right and text left, no trailing spaces. Pure.
 *
 * @module
 */

/** How a table is laid out. */
export interface TableLayout {
  /** Columns whose cells are left-aligned (text); negative counts from the end. Others: right. */
  left?: number[];
  /** Put before every line (a table under a heading). */
  indent?: string;
  /** Least width of each column (a layout that stays put whatever the figures); unset: none. */
  minWidth?: (number | undefined)[];
}

/** Rows of text (the first is usually the header) as aligned lines joined by newlines. */
export function textTable(rows: string[][], layout: TableLayout = {}): string {
  if (rows.length === 0) return "";
  const n = Math.max(...rows.map((r) => r.length));
  const left = new Set((layout.left ?? []).map((c) => c < 0 ? n + c : c));
  const width = Array.from(
    { length: n },
    (_, c) => Math.max(layout.minWidth?.[c] ?? 0, ...rows.map((r) => (r[c] ?? "").length)),
  );
  return rows.map((r) =>
    (layout.indent ?? "") +
    r.map((cell, c) => left.has(c) ? cell.padEnd(width[c]) : cell.padStart(width[c])).join("  ")
      .trimEnd()
  ).join("\n");
}
