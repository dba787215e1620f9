/**
 * The generator's own verdict on a run: did it keep its schedule? The rules live here only;
 * smft judges its runs with them and the tools read them to explain a figure.
 *
 * @module
 */

/** The rules a run must meet to be `VALID`. */
export const RUN_RULES = {
  /** Achieved rate within this fraction of the target. */
  rateTolerance: 0.01,
  /** Generator lag p99 below this, in ms. */
  lagP99LimitMs: 1,
} as const;

/** Whether the generator kept its schedule. */
export interface RunVerdict {
  valid: boolean;
  /** This host's target rate (its share of the total). */
  targetRate: number;
  achievedRate: number;
  lagP99: number;
  reasons: string[];
}

/**
 * Judges a run by {@link RUN_RULES}.
 *
 * @example
 * ```ts
 * judgeRun(1000, 999.5, 0.4).valid; // true
 * judgeRun(1000, 1000, 1.2).reasons; // ["lag p99 1.20 ms (limit 1 ms)"]
 * ```
 */
export function judgeRun(targetRate: number, achievedRate: number, lagP99: number): RunVerdict {
  const reasons: string[] = [];
  const off = Math.abs(achievedRate - targetRate) / targetRate;
  if (off > RUN_RULES.rateTolerance) {
    reasons.push(
      `achieved ${achievedRate.toFixed(1)}/s vs target ${targetRate.toFixed(1)}/s (${
        (off * 100).toFixed(1)
      } % off, limit ${RUN_RULES.rateTolerance * 100} %)`,
    );
  }
  if (lagGenerated(lagP99)) {
    reasons.push(`lag p99 ${lagP99.toFixed(2)} ms (limit ${RUN_RULES.lagP99LimitMs} ms)`);
  }
  return { valid: reasons.length === 0, targetRate, achievedRate, lagP99, reasons };
}

/** Whether a lag p99 breaks the rule: the figures then include the generator's own delay. */
export function lagGenerated(lagP99: number): boolean {
  return lagP99 >= RUN_RULES.lagP99LimitMs;
}

/** The verdict as one line. */
export function formatRunVerdict(v: RunVerdict): string {
  return v.valid
    ? `VALID: the generator kept its schedule (achieved ${v.achievedRate.toFixed(1)}/s of ${
      v.targetRate.toFixed(1)
    }/s, lag p99 ${v.lagP99.toFixed(3)} ms)`
    : `INVALID: the generator fell behind (${
      v.reasons.join("; ")
    }); these figures include its own delay`;
}

/**
 * The achieved rate: what was issued over the measurement window, which ends one interval after
 * the last issue. A generator that keeps its plan gets exactly the target.
 */
export function achievedRate(
  issued: number,
  measureStart: number,
  lastIssued: number,
  hostRate: number,
): { rate: number; windowS: number } {
  if (issued === 0) return { rate: 0, windowS: 0 };
  const windowS = (lastIssued - measureStart) / 1000 + 1 / hostRate;
  return { rate: issued / windowS, windowS };
}
