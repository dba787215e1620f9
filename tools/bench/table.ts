/**
 * How the bench writes a figure (its tables are `smft/shared/text_table.ts`'s). Pure.
 *
 * @module
 */

/**
 * A figure with two decimals, `-` when unknown or not finite (a bench cell may have no run behind
 * it; the report's `f2` is given only figures it has).
 */
export function f2OrDash(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(2);
}
