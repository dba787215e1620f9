/**
 * Where a ladder run on one host stops being a fair load generator, in words (the demo's last
 * line). Pure.
 *
 * @module
 */
import { invalidCause } from "../smft/verdict.ts";

/** One rung of a ladder: its rate and its run's verdict. */
export interface Rung {
  rate: number;
  valid: boolean;
  reasons: readonly string[];
}

/**
 * The highest rate up to which every rung was VALID, the first INVALID one and why; a VALID rung
 * above an INVALID one is named too, since the verdict is then at its bound on this host.
 *
 * @example
 * ```ts
 * fairUpTo([{ rate: 100, valid: true, reasons: [] }, { rate: 200, valid: false, reasons: ["rate: ..."] }]);
 * // "VALID up to 100/s on this machine; at 200/s the generator fell behind: ..."
 * ```
 */
export function fairUpTo(rungs: readonly Rung[]): string {
  const sorted = [...rungs].sort((a, b) => a.rate - b.rate);
  const first = sorted.find((r) => !r.valid);
  const below = sorted.filter((r) => !first || r.rate < first.rate);
  const above = first ? sorted.filter((r) => r.valid && r.rate > first.rate) : [];
  const top = below.length
    ? `VALID up to ${below.at(-1)!.rate}/s on this machine`
    : "no rate VALID from the lowest up";
  if (!first) return `${top}: every rate's figures are df's and the loopback's`;
  const again = above.length
    ? ` (VALID again at ${above.map((r) => r.rate).join(", ")}/s: the verdict is at its bound ` +
      "on this host; longer runs decide)"
    : "";
  return `${top}; at ${first.rate}/s ${invalidCause(first.reasons)}: with df on the same ` +
    `cores, this host stops being a fair load generator there (df on another host moves it up)` +
    again;
}
