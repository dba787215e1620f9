/**
 * The generator's own verdict on a run: are its figures the server's and the network's? The rules
 * and their wording live here only; smft judges its runs with them and the tools word a file's
 * verdict with them too ({@link verdictFromEnd}).
 *
 * A run is judged by the generator's own delay and by nothing of the server or the network: the
 * rate it achieved, and how much its own delay can move the reported p50 and p99. The own delay
 * has two sides (`own_delay.ts`): sending late (lag) and reading late (responses waiting for the
 * thread that owns their channel). So a slow link, a slow server or `DELAY_MS=0` never make a run
 * INVALID; a generator that sends or reads late does, whatever the server.
 *
 * The bounds are calibrated against an independent client (`deno task bench`, the matrix): smft
 * beside the grpc-go client at the same rate, through the same link, against the same server. A
 * run's figures count as the server's when its p50 is within +0.3 ms and its p99 within 1.3× of
 * the grpc-go client's; the bounds below keep false VALID at zero over that matrix
 * (smft/README.md has it).
 *
 * @module
 */
import { ownAt, type OwnDelay, readAt } from "./own_delay.ts";
import { finite } from "./results_format.ts";

/** The rules a run must meet to be `VALID`. */
export const RUN_RULES = {
  /** Achieved rate within this fraction of the target. */
  rateTolerance: 0.01,
  /**
   * The own delay is judged only on at least this many measured calls (or attempts). Below it, a
   * p99 is the slowest call or one of the few slowest (at 20 calls, the maximum: usually the first
   * call after start-up), which says nothing about the generator; the verdict then says so and
   * judges the rate only.
   */
  minCallsForLag: 100,
  /** How much the own delay moves the p50 (both sides) at most, ms. */
  ownP50MaxMs: 0.2,
  /**
   * How much the own delay moves the p99 (both sides, `own_delay.ts`) at most, as a share of the
   * p99 ... Chosen over four matrices (`deno task bench`, 114 cells, 2026-12-07 and 08, recounted
   * from their files): at 10 % no run was VALID that the earlier rule (the two sides' p99s added,
   * at most 15 %) did not also pass wrongly, and 6 fewer were needlessly INVALID (39 against 45);
   * at 12.5 % one more was wrongly VALID (a 2 ms relay run at 200/s, p50 +0.3 ms).
   */
  ownP99MaxShare: 0.1,
  /**
   * ... or, where only the two sides' percentiles are known (coldconn, whose attempts keep no
   * time from issue to end; files from before the moves), their p99s added at most this share:
   * the bound that sum was calibrated at (two matrices, 58 cells, 2026-12-08).
   */
  ownP99SumMaxShare: 0.15,
  /** ... or this many ms, whichever is larger (a sub-millisecond p99 on loopback). */
  ownP99FloorMs: 0.15,
  /**
   * The load host's CPU pressure (Linux PSI "some": the share of the measurement in which some
   * thread waited for a CPU) at most `hostPressureBasePct` + `hostPressurePer100Pct` per 100
   * calls/s of this host's rate, and at most `hostPressureMaxPct`, where the kernel reports it.
   * A host short of CPU delays what the generator's own measures cannot see: a call's own
   * processing cut into slices, a server or a link on the same cores, the kernel's network path. Every wake-up on
   * this VM waits ~15–45 µs for its core, and `wake` pacing wakes threads per call, so a healthy
   * host's pressure grows with the rate: 1–8 % at 100–200/s, 9–22 % at 1000/s, 18–26 % at
   * 2000/s; a generator pinned beside a busy process reads 15–21 % at 200/s and 38–57 % at
   * 1000/s (`deno task bench`, four matrices, 2026-12-07 and 08). A flat 15 % called healthy
   * runs at 1000/s INVALID (4 of 58 cells) and let a starved one at 200/s (15.0 %) through.
   * (A thread's own scheduling wait, from `/proc/thread-self/schedstat`, separates better, but
   * Deno lets a program read it only with every permission.) 1.5 % per 100/s rather than 1 %
   * (2026-12-08): over six matrices (162 decided cells) it was needlessly INVALID 4 times fewer
   * (the 2 ms relay, a third process on the load host, reads 20–28 % at 1000/s) and let no more
   * through; the starved runs read 14.6 % at 200/s at the least, over its 13 %.
   */
  hostPressureBasePct: 10,
  hostPressurePer100Pct: 1.5,
  hostPressureMaxPct: 30,
} as const;

/** The run's own verdict. */
export interface RunVerdict {
  valid: boolean;
  /** This host's target rate (its share of the total). */
  targetRate: number;
  achievedRate: number;
  reasons: string[];
  /** Measured calls (or attempts) the verdict rests on; undefined when not given. */
  calls?: number;
  /** Whether the own delay was judged (false: too few calls). */
  lagJudged: boolean;
  /** The generator's own delay, when known. */
  own?: OwnDelay;
  /** The reported p50 and p99 it was judged against (steady: latency; coldconn: total time). */
  latency?: { p50: number; p99: number };
  /** The run was stopped by a signal: the verdict covers the part that ran. */
  interrupted: boolean;
  /** The load host's CPU pressure over the measurement, %, when known (words the advice). */
  hostPressurePct?: number;
}

/** What a run is judged on. */
export interface VerdictInput {
  targetRate: number;
  achievedRate: number;
  /** Measured calls (or attempts). */
  calls?: number;
  interrupted?: boolean;
  own?: OwnDelay;
  latency?: { p50: number; p99: number };
  hostPressurePct?: number;
  /**
   * Steady with `--pacing spin` is never VALID against a server on the load host itself: the
   * spinning thread keeps a core busy for the whole run, which the server (or a link emulated
   * on this host) needs, and none of the generator's own measures can see what that does to the
   * server. Two matrices (`deno task bench`, 2026-12-07) judged the same two of their four `spin`
   * cells wrongly VALID (through a 2 ms relay at 100/s: p50 +1.1 ms against the grpc-go client;
   * loopback at 500/s: p99 1.33-1.44x), every one of them against a server on the same host;
   * no `wake` cell was.
   */
  spinBesideServer?: boolean;
}

/** Whether `calls` measured calls are enough to judge the own delay ({@link RUN_RULES}). */
export function lagJudgeable(calls: number): boolean {
  return calls >= RUN_RULES.minCallsForLag;
}

/** The most CPU pressure a load host may show at `rate` calls/s, % ({@link RUN_RULES}). */
export function hostPressureLimit(rate: number): number {
  return Math.min(
    RUN_RULES.hostPressureMaxPct,
    RUN_RULES.hostPressureBasePct + RUN_RULES.hostPressurePer100Pct * rate / 100,
  );
}

/**
 * The most own delay a reported p99 allows, ms ({@link RUN_RULES}): how much it moves the p99
 * when that is known (`own.moves`), else the two sides' p99s added.
 */
export function ownP99Limit(p99: number, own?: OwnDelay): number {
  return Math.max(ownP99Share(own) * p99, RUN_RULES.ownP99FloorMs);
}

/** The share of the p99 the own delay may take ({@link ownP99Limit}). */
export function ownP99Share(own?: OwnDelay): number {
  return own && !own.moves ? RUN_RULES.ownP99SumMaxShare : RUN_RULES.ownP99MaxShare;
}

const f2 = (v: number) => v.toFixed(2);

/** Each side's part at p50 and p99: its moves when known, else its percentiles (ms). */
function sidesAt(
  d: OwnDelay,
): { send50: number; send99: number; read50?: number; read99?: number } {
  if (d.moves) {
    const { sendP50, sendP99, readP50, readP99 } = d.moves;
    const measured = readAt(d) !== undefined;
    return {
      send50: sendP50,
      send99: sendP99,
      read50: measured ? readP50 : undefined,
      read99: measured ? readP99 : undefined,
    };
  }
  const read = readAt(d);
  return { send50: d.sendP50, send99: d.sendP99, read50: read?.p50, read99: read?.p99 };
}

/** Which side of the own delay is the larger at a percentile, in words. */
function side(send: number, read: number | undefined): string {
  if (read === undefined) return "the send side (the read side was not measured)";
  return send >= read ? "mostly the send side" : "mostly the read side";
}

/**
 * Judges a run by {@link RUN_RULES} (pure).
 *
 * @example
 * ```ts
 * const own = { sendP50: 0.01, sendP99: 0.12, readP50: 0, readP99: 0.1 };
 * judgeRun({ targetRate: 200, achievedRate: 200, calls: 1200, own, latency: { p50: 0.6, p99: 1.9 } })
 *   .valid; // true
 * ```
 */
export function judgeRun(i: VerdictInput): RunVerdict {
  const reasons: string[] = [];
  const base = {
    targetRate: i.targetRate,
    achievedRate: i.achievedRate,
    calls: i.calls,
    own: i.own,
    latency: i.latency,
    interrupted: i.interrupted === true,
    hostPressurePct: i.hostPressurePct,
  };
  if (i.calls === 0) {
    return { ...base, valid: false, reasons: ["no measured calls"], lagJudged: false };
  }
  if (i.spinBesideServer) {
    reasons.push(
      `${SPIN_REASON}: --pacing spin keeps a core of this host busy for the whole run, and the ` +
        `server answered on this host too`,
    );
  }
  const off = Math.abs(i.achievedRate - i.targetRate) / i.targetRate;
  if (off > RUN_RULES.rateTolerance) {
    reasons.push(
      `rate: achieved ${i.achievedRate.toFixed(1)}/s vs target ${i.targetRate.toFixed(1)}/s (${
        (off * 100).toFixed(1)
      } % off, limit ${RUN_RULES.rateTolerance * 100} %)`,
    );
  }
  const lagJudged = i.calls === undefined || lagJudgeable(i.calls);
  if (lagJudged && i.own) {
    const at = ownAt(i.own);
    const parts = sidesAt(i.own);
    const verb = i.own.moves ? "moves the" : "at";
    if (at.p50 > RUN_RULES.ownP50MaxMs) {
      reasons.push(
        `own delay ${verb} p50 ${i.own.moves ? "by " : ""}${f2(at.p50)} ms (send ${
          f2(parts.send50)
        } + read ${f2(parts.read50 ?? 0)}) is over ${RUN_RULES.ownP50MaxMs} ms: ${
          side(parts.send50, parts.read50)
        }`,
      );
    }
    const limit = i.latency ? ownP99Limit(i.latency.p99, i.own) : undefined;
    const pressureLimit = hostPressureLimit(i.targetRate);
    if (i.hostPressurePct !== undefined && i.hostPressurePct > pressureLimit) {
      reasons.push(
        `host: the load host was short of CPU (some thread waited for one ${
          i.hostPressurePct.toFixed(1)
        } % of the measurement, limit ${+pressureLimit.toFixed(1)} % at ${+i.targetRate.toFixed(
          1,
        )}/s)`,
      );
    }
    if (limit !== undefined && at.p99 > limit) {
      reasons.push(
        `own delay ${verb} p99 ${i.own.moves ? "by " : ""}${f2(at.p99)} ms (send ${
          f2(parts.send99)
        } + read ${f2(parts.read99 ?? 0)}) is over ${ownP99Share(i.own) * 100} % of the p99 ${
          f2(i.latency!.p99)
        } ms (limit ${f2(limit)} ms): ${side(parts.send99, parts.read99)}`,
      );
    }
  }
  return { ...base, valid: reasons.length === 0, reasons, lagJudged };
}

/** How the reason of a spinning run beside its server begins. */
export const SPIN_REASON = "spin beside the server";
/** What a run INVALID for that alone comes to, in words. */
const SPIN_CAUSE = "a spinning generator shares the server's host";

/** The own delay in a verdict's words: both sides at p50 and p99. */
function ownWords(v: RunVerdict): string {
  if (!v.own) return "";
  const at = ownAt(v.own);
  const of = v.latency ? ` of ${f2(v.latency.p99)} ms` : "";
  return v.own.moves
    ? `own delay moves the p50 by ${f2(at.p50)} ms, the p99 by ${f2(at.p99)} ms${of}`
    : `own delay at p50 ${f2(at.p50)} ms, at p99 ${f2(at.p99)} ms${of}`;
}

/** The verdict as one line (pure): what it is, why, and what to do when INVALID. */
export function formatRunVerdict(v: RunVerdict): string {
  const none = noneThroughVerdict(v.reasons);
  if (none !== undefined && !v.interrupted) return none;
  const on = v.calls === undefined ? "" : `; on ${v.calls} measured calls`;
  const rate = `achieved ${v.achievedRate.toFixed(1)}/s of ${v.targetRate.toFixed(1)}/s`;
  const own = v.lagJudged
    ? ownWords(v)
    : `too few calls to judge the own delay (${v.calls} < ${RUN_RULES.minCallsForLag}; not judged)`;
  const kept = [rate, own].filter((s) => s !== "").join(", ");
  if (v.interrupted) {
    if (v.calls === 0) return "INTERRUPTED before the first measured call: nothing to judge";
    return `INTERRUPTED: stopped by a signal${on}; the part that ran ${
      v.valid ? `is VALID (${kept})` : `is INVALID (${v.reasons.join("; ")})`
    }`;
  }
  if (v.calls === 0) return "INVALID: no measured calls";
  const cause = invalidCause(v.reasons);
  return v.valid
    ? `VALID: the generator kept its schedule and its own delay is a small part of the figures (${kept}${on})`
    : `INVALID: ${cause} (${v.reasons.join("; ")}${
      v.lagJudged ? "" : `; ${own}`
    }${on}); these figures include ${
      cause === SPIN_CAUSE ? "what its spinning took from the server" : "its own delay"
    }. ${advice(v.reasons, v.hostPressurePct)}`;
}

/**
 * What an INVALID verdict's reasons come to, in words (pure; the tools word a file's verdict with
 * it too). Files written before the own-delay rule say "lag p99" or name the server's share.
 */
export function invalidCause(reasons: readonly string[]): string {
  if (
    reasons.some((r) => r.startsWith("rate:") || r.startsWith("achieved") || r.startsWith("lag"))
  ) {
    return "the generator fell behind";
  }
  if (reasons.length > 0 && reasons.every((r) => r.includes("server's own handling"))) {
    return "too much of the p99 is not the server's own (an earlier rule)";
  }
  const read = reasons.some((r) => r.includes("mostly the read side"));
  const send = reasons.some((r) => r.includes("the send side"));
  if (!read && !send && reasons.some((r) => r.startsWith("host:"))) {
    return "the load host was short of CPU";
  }
  if (!read && !send && reasons.some((r) => r.startsWith(SPIN_REASON))) {
    return SPIN_CAUSE;
  }
  const which = read && send ? "both sides" : read ? "read side" : "send side";
  return `the generator's own delay can move the figures (${which})`;
}

/** What to do about an INVALID run, by its reasons and the host's CPU pressure (pure). */
export function advice(reasons: readonly string[], hostPressurePct?: number): string {
  if (reasons.includes("no measured calls")) return "";
  if (reasons.some((r) => r.startsWith(SPIN_REASON))) {
    return "Try: --pacing wake (the default, which leaves the core free between calls), or smft " +
      "on a host of its own.";
  }
  if (hostPressurePct !== undefined && reasons.some((r) => r.startsWith("host:"))) {
    return `The load host was short of CPU (some thread waited for one ${
      hostPressurePct.toFixed(0)
    } % of the time): try a quieter load host, df on another host, or fewer --connections.`;
  }
  const read = reasons.some((r) => r.includes("mostly the read side"));
  return read
    ? "Try: fewer calls per connection (--connections N), a quieter load host, or df on another host."
    : "Try: fewer calls per connection (--connections N), a load host with more free cores, or a lower rate.";
}

/**
 * The verdict a results file carries, rebuilt from its `#END` and `#META` so that the tools word
 * it as smft did (pure). Undefined when the file has no verdict (`#END.valid`).
 */
export function verdictFromEnd(
  end: Record<string, unknown> | undefined,
  meta: Record<string, unknown> | undefined,
  latency?: { p50: number; p99: number },
): RunVerdict | undefined {
  if (!end || typeof end.valid !== "boolean") return undefined;
  const reasons = Array.isArray(end.verdict_reasons)
    ? end.verdict_reasons.filter((x): x is string => typeof x === "string").map((x) =>
      x.slice(0, 300)
    )
    : [];
  const o = end.own_delay as Record<string, unknown> | undefined;
  const own: OwnDelay | undefined = o && finite(o.send_p50_ms) !== undefined
    ? {
      sendP50: finite(o.send_p50_ms)!,
      sendP99: finite(o.send_p99_ms) ?? 0,
      readP50: finite(o.read_p50_ms),
      readP99: finite(o.read_p99_ms),
      ioP50: finite(o.io_p50_ms),
      ioP99: finite(o.io_p99_ms),
      moves: movesOf(o),
    }
    : undefined;
  const calls = finite(end.verdict_calls);
  return {
    valid: end.valid,
    targetRate: finite(meta?.host_rate) ?? finite(meta?.rate) ?? 0,
    achievedRate: finite(end.achieved_rps) ?? 0,
    reasons,
    calls,
    lagJudged: end.lag_judged !== false,
    own,
    latency,
    interrupted: end.interrupted === true,
    hostPressurePct: finite(end.host_cpu_pressure_pct),
  };
}

/** `#END.own_delay`'s moves, when all four are numbers (files from before them have none). */
function movesOf(o: Record<string, unknown>): OwnDelay["moves"] {
  const [sendP50, sendP99, readP50, readP99] = ["send_p50", "send_p99", "read_p50", "read_p99"]
    .map((k) => finite(o[`moves_${k}_ms`]));
  return sendP50 === undefined || sendP99 === undefined || readP50 === undefined ||
      readP99 === undefined
    ? undefined
    : { sendP50, sendP99, readP50, readP99 };
}

/**
 * The achieved rate: what was issued over the measurement window, from this host's first due
 * call to one interval after the last issue. A generator that keeps its plan gets exactly the
 * target, on any shard.
 */
export function achievedRate(o: {
  /** Calls (or attempts) issued after warm-up. */
  issued: number;
  /** This host's first measured call's intended instant, ms. */
  firstDue: number;
  /** When the last measured call was issued, ms (same clock). */
  lastIssued: number;
  /** This host's target rate, per second. */
  hostRate: number;
}): { rate: number; windowS: number } {
  if (o.issued === 0) return { rate: 0, windowS: 0 };
  const windowS = (o.lastIssued - o.firstDue) / 1000 + 1 / o.hostRate;
  return { rate: o.issued / windowS, windowS };
}

/** How the reason of a run none of whose calls got through begins (see {@link judgeOutcome}). */
const NONE_THROUGH_REASON = "no call got through";

/** Whether every result of a run was an error: then nothing in it is the server's. */
export function noneGotThrough(ok: number, failed: number): boolean {
  return ok === 0 && failed > 0;
}

/**
 * `v`, made INVALID when no call got through (a dead server can be "on schedule": its refusals
 * come back at the plan's rate). Kept apart from {@link judgeRun}: a rule on outcomes, not pace.
 */
export function judgeOutcome(v: RunVerdict, ok: number, failed: number): RunVerdict {
  if (!noneGotThrough(ok, failed)) return v;
  return {
    ...v,
    valid: false,
    reasons: [...v.reasons, `${NONE_THROUGH_REASON}: all ${failed} failed`],
  };
}

/**
 * The verdict line of a run none of whose calls got through, from its reasons (`#END`'s
 * `verdict_reasons` too); undefined for any other run, whose line {@link formatRunVerdict} gives.
 */
export function noneThroughVerdict(reasons: readonly string[]): string | undefined {
  const r = reasons.find((x) => x.startsWith(NONE_THROUGH_REASON));
  return r === undefined
    ? undefined
    : `INVALID: ${r}; no figure here is the server's (is it running and reachable?)`;
}
