/**
 * The generator's own verdict on a run: are its figures the server's? The rules live here only;
 * smft judges its runs with them and the tools read them to explain a figure.
 *
 * `VALID` is calibrated against an independent client (`deno task bench`, the matrix): smft
 * beside the grpc-go client at the same rate against the same server, over 200–2000/s, one and
 * two connections, both pacing modes, df and the grpc-go server. A run counts as the server's
 * when its p50 is within +0.3 ms and its p99 within 1.3× of the grpc-go client's. Lag alone did
 * not tell: 8 of 32 runs had lag p99 under 1 ms and a p99 1.3–1.95× the grpc-go client's (the
 * rest of a generator's delay is in reading responses late, which lag cannot see). What did
 * tell, in all 32: the share of the reported p99 that is not the server's own handling time
 * (the `df-handling-us` trailer): `p99 ≤ 1.3 × the server's p99` (smft/README.md has the
 * matrix).
 *
 * @module
 */

/** The rules a run must meet to be `VALID`. */
export const RUN_RULES = {
  /** Achieved rate within this fraction of the target. */
  rateTolerance: 0.01,
  /** Generator lag p99 below this, in ms. */
  lagP99LimitMs: 1,
  /**
   * Lag p99 is judged only on at least this many measured calls (or attempts). Below it, p99 is
   * the slowest call or one of the few slowest (at 20 calls, p99 is the maximum: usually the
   * first call after start-up), which says nothing about whether the generator keeps its
   * schedule; the verdict then says "too few calls to judge lag" and judges the rate only.
   */
  minCallsForLag: 100,
  /**
   * Steady, when the server reports its own handling time: latency p99 at most this times the
   * server's own p99, i.e. the generator and the network add at most 30 % to it.
   */
  p99OverServerMax: 1.3,
} as const;

/**
 * The share rule's reason ends so. It does not blame the generator alone: the time outside the
 * server's handling is also both gRPC stacks and the network (against df on a 2-core host, the
 * grpc-go client's own p99 was 1.4-3.3x df's handling p99).
 */
const SHARE_REASON = "more is outside the server's own handling than the generator and the " +
  "network may add";

/** What the generator's share of the p99 is judged on: both p99s, ms. */
export interface P99Share {
  /** Latency (done − intended) p99 of the run. */
  p99: number;
  /** The server's own handling time p99 (its trailer). */
  serverP99: number;
}

/** Whether the generator kept its schedule. */
export interface RunVerdict {
  valid: boolean;
  /** This host's target rate (its share of the total). */
  targetRate: number;
  achievedRate: number;
  lagP99: number;
  reasons: string[];
  /** Measured calls (or attempts) the verdict rests on; undefined when not given. */
  calls?: number;
  /** Whether the lag rule was applied (false: too few calls). */
  lagJudged: boolean;
  /** The p99s the generator's share was judged on; undefined when not judged (no server time). */
  share?: P99Share;
  /** The run was stopped by a signal: the verdict covers the part that ran. */
  interrupted: boolean;
}

/** Whether `calls` measured calls are enough to judge lag p99 ({@link RUN_RULES}). */
export function lagJudgeable(calls: number): boolean {
  return calls >= RUN_RULES.minCallsForLag;
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
export function judgeRun(
  targetRate: number,
  achievedRate: number,
  lagP99: number,
  opts: { calls?: number; interrupted?: boolean; share?: P99Share } = {},
): RunVerdict {
  const reasons: string[] = [];
  const interrupted = opts.interrupted === true;
  if (opts.calls === 0) {
    reasons.push("no measured calls");
    return {
      valid: false,
      targetRate,
      achievedRate,
      lagP99,
      reasons,
      calls: 0,
      lagJudged: false,
      interrupted,
    };
  }
  const off = Math.abs(achievedRate - targetRate) / targetRate;
  if (off > RUN_RULES.rateTolerance) {
    reasons.push(
      `achieved ${achievedRate.toFixed(1)}/s vs target ${targetRate.toFixed(1)}/s (${
        (off * 100).toFixed(1)
      } % off, limit ${RUN_RULES.rateTolerance * 100} %)`,
    );
  }
  const lagJudged = opts.calls === undefined || lagJudgeable(opts.calls);
  if (lagJudged && lagGenerated(lagP99)) {
    reasons.push(`lag p99 ${lagP99.toFixed(2)} ms (limit ${RUN_RULES.lagP99LimitMs} ms)`);
  }
  const share = lagJudged && opts.share && opts.share.serverP99 > 0 ? opts.share : undefined;
  if (share && share.p99 > RUN_RULES.p99OverServerMax * share.serverP99) {
    reasons.push(
      `p99 ${share.p99.toFixed(2)} ms is ${(share.p99 / share.serverP99).toFixed(2)}x the ` +
        `server's own ${share.serverP99.toFixed(2)} ms (limit ${RUN_RULES.p99OverServerMax}x): ` +
        SHARE_REASON,
    );
  }
  return {
    valid: reasons.length === 0,
    targetRate,
    achievedRate,
    lagP99,
    reasons,
    calls: opts.calls,
    lagJudged,
    share,
    interrupted,
  };
}

/** Whether a lag p99 breaks the rule: the figures then include the generator's own delay. */
export function lagGenerated(lagP99: number): boolean {
  return lagP99 >= RUN_RULES.lagP99LimitMs;
}

/** The verdict as one line. */
export function formatRunVerdict(v: RunVerdict): string {
  const on = v.calls === undefined ? "" : `; on ${v.calls} measured calls`;
  const shareText = v.share
    ? `, p99 ${(v.share.p99 / v.share.serverP99).toFixed(2)}x the server's own`
    : "";
  const lag = v.lagJudged
    ? `lag p99 ${v.lagP99.toFixed(3)} ms${shareText}`
    : `too few calls to judge lag (${v.calls} < ${RUN_RULES.minCallsForLag}; slowest lag ${
      v.lagP99.toFixed(3)
    } ms, not judged)`;
  if (v.interrupted) {
    if (v.calls === 0) return "INTERRUPTED before the first measured call: nothing to judge";
    return `INTERRUPTED: stopped by a signal${on}; the part that ran ${
      v.valid
        ? `kept its schedule (achieved ${v.achievedRate.toFixed(1)}/s of ${
          v.targetRate.toFixed(1)
        }/s, ${lag})`
        : `is INVALID (${v.reasons.join("; ")})`
    }`;
  }
  if (v.calls === 0) return "INVALID: no measured calls";
  return v.valid
    ? `VALID: the generator kept its schedule (achieved ${v.achievedRate.toFixed(1)}/s of ${
      v.targetRate.toFixed(1)
    }/s, ${lag}${on})`
    : `INVALID: ${invalidCause(v.reasons)} (${v.reasons.join("; ")}${
      v.lagJudged ? "" : `; ${lag}`
    }${on}); these figures include its own delay`;
}

/**
 * The achieved rate: what was issued over the measurement window, from this host's first due
 * call to one interval after the last issue. A generator that keeps its plan gets exactly the
 * target, on any shard.
 */
export function achievedRate(
  issued: number,
  firstDue: number,
  lastIssued: number,
  hostRate: number,
): { rate: number; windowS: number } {
  if (issued === 0) return { rate: 0, windowS: 0 };
  const windowS = (lastIssued - firstDue) / 1000 + 1 / hostRate;
  return { rate: issued / windowS, windowS };
}

/**
 * What an INVALID verdict's reasons come to, in words: the share rule alone, or the generator
 * falling behind (pure; the tools word a file's verdict with it too).
 */
export function invalidCause(reasons: readonly string[]): string {
  return reasons.length > 0 && reasons.every((r) => r.includes(SHARE_REASON))
    ? "too much of the p99 is not the server's own"
    : "the generator fell behind";
}
