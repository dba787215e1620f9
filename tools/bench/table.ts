/**
 * How the bench writes a figure (its tables are `smft/shared/text_table.ts`'s). Pure.
 *
 * @module
 */

/** A figure with two decimals, `-` when unknown or not finite. */
export function f2(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(2);
}
