/**
 * Finding capacity: the highest steady rate at which df still meets an SLO, measured by runs the
 * generator itself judged VALID. `planCapacity` is pure (results so far in, the next rate or the
 * answer out); `findCapacity` drives it with a function that runs one rate.
 *
 * The search: start at `start`; while every rate tried meets the SLO, multiply by `factor` (up to
 * `maxRate`); once a rate fails, bisect between the highest rate that met it and the lowest rate
 * that did not, until they are within `precision` of each other (and `minStep` rates per second);
 * when even `start` fails, divide by `factor` (down to `minRate`). A rate "meets" the SLO only when
 * every clause passed AND the run was VALID (the generator kept its schedule, smft's own rule in
 * `verdict.ts`): above the rate where the generator falls behind nothing can be said of df, so an
 * INVALID run bounds the search like a failed SLO, and the answer says which of the two stopped it.
 *
 * @module
 */
import { allPass, judgeSlo, type SloClause } from "./slo.ts";
import type { Summary } from "./summary.ts";
import { textTable } from "./shared/text_table.ts";

/** Settings of a capacity search; every field has a default a user would choose. */
export interface CapacityOptions {
  /** First rate tried, per second. @default 500 */
  start?: number;
  /** While every rate passes, the next is this many times the highest that passed. @default 2 */
  factor?: number;
  /**
   * Stop bisecting when the failing rate is within this fraction of the passing one
   * (`hi − lo <= precision × lo`). @default 0.05
   */
  precision?: number;
  /** …and within this many requests per second (whichever is wider). @default 10 */
  minStep?: number;
  /** Never try a rate above this; reaching it with a pass ends the search. @default 20000 */
  maxRate?: number;
  /** Never try a rate below this when stepping down from a failing start. @default 10 */
  minRate?: number;
  /** Runs at most this many rates. @default 12 */
  maxSteps?: number;
}

/** The defaults of {@link CapacityOptions}. */
const CAPACITY_DEFAULTS: Required<CapacityOptions> = {
  start: 500,
  factor: 2,
  precision: 0.05,
  minStep: 10,
  maxRate: 20000,
  minRate: 10,
  maxSteps: 12,
};

/** What one rate's run said. */
export interface StepResult {
  rate: number;
  /** Every SLO clause passed. */
  sloPass: boolean;
  /** The generator kept its schedule (smft's VALID), and the run was not interrupted. */
  valid: boolean;
  /** The run's summary, when there is one (for the answer's figures). */
  summary?: Summary;
  /** The results file of this step. */
  file?: string;
  /** Why INVALID (smft's reasons), or which clauses failed. */
  why?: string[];
}

/** Why a search stopped. */
export type StopReason =
  /** The next rate up failed the SLO on a VALID run (bracket narrow enough). */
  | "slo-failed"
  /** The next rate up was INVALID: the generator could not keep its schedule. */
  | "generator-limit"
  /** `maxRate` met the SLO: the capacity is at least that. */
  | "max-rate"
  /** Even the lowest rate tried (down to `minRate`) did not meet it. */
  | "failed-at-lowest"
  /** `maxSteps` rates were run before the bracket was narrow enough. */
  | "max-steps"
  /** A run was interrupted (SIGINT/SIGTERM). */
  | "interrupted";

/** The answer of a search. */
export interface CapacityAnswer {
  done: true;
  /** The highest rate that met the SLO with a VALID run, below every rate that did not; null: none. */
  capacity: number | null;
  reason: StopReason;
  /** The lowest rate that did not meet it (the bracket's top), when one was run. */
  failedAt?: number;
  /** Every step, in the order run. */
  steps: StepResult[];
  /** Rates above `failedAt` that met the SLO again (noise, or a service that recovers). */
  passedAbove: number[];
  /** One sentence: `capacity 1400/s: p99<10ms,... met up to 1400/s; at 1500/s ...`. */
  text: string;
}

/** The next rate to run. */
export interface CapacityNext {
  done: false;
  next: number;
  /**
   * `up` while every rate passed, `down` while none did, `bisect` between the two, `retry` to
   * run an INVALID rate once more.
   */
  phase: "up" | "down" | "bisect" | "retry";
}

/** Checks options and fills in defaults; throws an `Error` naming a bad one. */
function capacityOptions(o: CapacityOptions = {}): Required<CapacityOptions> {
  const c = { ...CAPACITY_DEFAULTS, ...stripUndefined(o) };
  const bad = (name: string, why: string): never => {
    throw new Error(`capacity search: ${name} ${why}`);
  };
  if (!(c.start > 0) || !Number.isFinite(c.start)) bad("start", "must be a rate above 0");
  if (!(c.factor > 1) || !Number.isFinite(c.factor)) bad("factor", "must be above 1");
  if (!(c.precision > 0 && c.precision < 1)) bad("precision", "must be between 0 and 1");
  if (!(c.minStep >= 0) || !Number.isFinite(c.minStep)) bad("minStep", "must be 0 or more");
  if (!(c.maxRate >= c.start)) bad("maxRate", `must be at least the start rate (${c.start})`);
  if (!(c.minRate > 0 && c.minRate <= c.start)) {
    bad("minRate", `must be above 0 and at most the start rate (${c.start})`);
  }
  if (!Number.isInteger(c.maxSteps) || c.maxSteps < 1) {
    bad("maxSteps", "must be a whole number ≥ 1");
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Whether a step met the SLO on a run that counts. */
export const meets = (s: StepResult): boolean => s.sloPass && s.valid;

/**
 * The next rate to try, or the answer. Pure: depends only on the steps so far and the options,
 * so a search can be replayed and tested without a network.
 *
 * @example
 * ```ts
 * planCapacity([], { start: 500 }); // { done: false, next: 500, phase: "up" }
 * planCapacity([{ rate: 500, sloPass: true, valid: true }], {}); // next 1000
 * ```
 */
export function planCapacity(
  steps: StepResult[],
  options: CapacityOptions = {},
): CapacityNext | CapacityAnswer {
  const o = capacityOptions(options);
  const rnd = (r: number) => Math.max(1, Math.round(r));
  if (steps.length === 0) return { done: false, next: rnd(o.start), phase: "up" };

  // A run the generator could not keep (INVALID) may be a passing stall of a shared machine: its
  // rate is run once more before it bounds the search, and a VALID run there counts.
  const runsAt = (rate: number) => steps.filter((s) => s.rate === rate);
  const doubt = steps.find((s) => !s.valid && runsAt(s.rate).length === 1);
  if (doubt && steps.length < o.maxSteps) {
    return { done: false, next: doubt.rate, phase: "retry" };
  }
  const effective = [...new Set(steps.map((s) => s.rate))]
    .map((rate) => runsAt(rate).find(meets) ?? runsAt(rate).at(-1)!);

  const failing = effective.filter((s) => !meets(s));
  const hi = failing.length ? failing.reduce((a, b) => b.rate < a.rate ? b : a) : undefined;
  const below = effective.filter((s) => meets(s) && (hi === undefined || s.rate < hi.rate));
  const lo = below.length ? below.reduce((a, b) => b.rate > a.rate ? b : a) : undefined;
  const tried = new Set(steps.map((s) => s.rate));
  const answer = (reason: StopReason): CapacityAnswer => finish(steps, lo, hi, reason, o);

  if (hi === undefined) {
    // Every rate met the SLO: climb.
    const top = lo!.rate;
    if (top >= o.maxRate) return answer("max-rate");
    if (steps.length >= o.maxSteps) return answer("max-steps");
    const next = rnd(Math.min(o.maxRate, Math.max(top * o.factor, top + o.minStep)));
    return tried.has(next) ? answer("max-rate") : { done: false, next, phase: "up" };
  }
  if (lo === undefined) {
    // Nothing below the lowest failure met it: step down.
    if (steps.length >= o.maxSteps) return answer("max-steps");
    const next = rnd(hi.rate / o.factor);
    if (next < o.minRate || hi.rate <= o.minRate || tried.has(next)) {
      return answer("failed-at-lowest");
    }
    return { done: false, next, phase: "down" };
  }
  const width = hi.rate - lo.rate;
  if (width <= Math.max(o.minStep, o.precision * lo.rate, 1)) {
    return answer(hi.valid ? "slo-failed" : "generator-limit");
  }
  if (steps.length >= o.maxSteps) return answer("max-steps");
  const next = rnd((lo.rate + hi.rate) / 2);
  if (next <= lo.rate || next >= hi.rate || tried.has(next)) {
    return answer(hi.valid ? "slo-failed" : "generator-limit");
  }
  return { done: false, next, phase: "bisect" };
}

function finish(
  steps: StepResult[],
  lo: StepResult | undefined,
  hi: StepResult | undefined,
  reason: StopReason,
  o: Required<CapacityOptions>,
): CapacityAnswer {
  const passedAbove = hi
    ? [...new Set(steps.filter((s) => meets(s) && s.rate > hi.rate).map((s) => s.rate))]
    : [];
  const capacity = lo?.rate ?? null;
  const why = (s: StepResult) => s.why?.length ? ` (${s.why.join("; ")})` : "";
  const at = hi
    ? hi.valid
      ? `at ${hi.rate}/s the SLO failed${why(hi)}`
      : `at ${hi.rate}/s the generator could not keep its schedule${why(hi)}: its own limit was ` +
        `reached before df's; more load hosts (--shard) would be needed to go higher`
    : "";
  let text: string;
  switch (reason) {
    case "max-rate":
      text = `capacity at least ${capacity}/s: the SLO was met at every rate tried, up to the ` +
        `highest allowed (${o.maxRate}/s)`;
      break;
    case "failed-at-lowest":
      text = `no capacity found: the SLO was not met even at ${
        Math.min(...steps.map((s) => s.rate))
      }/s (${at})`;
      break;
    case "max-steps":
      text = capacity === null
        ? `no capacity found within ${o.maxSteps} steps${at ? ` (${at})` : ""}`
        : `capacity ${capacity}/s or a little more: ${o.maxSteps} steps run before the search ` +
          `narrowed${hi ? ` (${at})` : ""}`;
      break;
    case "interrupted":
      text = capacity === null
        ? "interrupted before any rate met the SLO"
        : `interrupted: the SLO was met up to ${capacity}/s so far${hi ? ` (${at})` : ""}`;
      break;
    default:
      text = `capacity ${capacity}/s: the highest rate that met the SLO with a VALID run; ${at}`;
  }
  if (passedAbove.length) {
    text += `; note: ${passedAbove.map((r) => `${r}/s`).join(", ")} met it again above ${
      hi!.rate
    }/s: the answer is taken below the first failure`;
  }
  return {
    done: true,
    capacity,
    reason,
    ...(hi ? { failedAt: hi.rate } : {}),
    steps,
    passedAbove,
    text,
  };
}

/** What `findCapacity` needs of a run (smft's `RunResult` has it). */
export interface CapacityRun {
  file: string;
  summary: Summary;
  verdict: { valid: boolean; reasons: string[] };
  interrupted: boolean;
}

/** Options of {@link findCapacity}: the SLO and the search's settings. */
export interface FindCapacityOptions extends CapacityOptions {
  slo: SloClause[];
  /** Called after each step, with the plan's next move (for progress lines). */
  onStep?: (step: StepResult, plan: CapacityNext | CapacityAnswer) => void;
  /** Aborting ends the search after the current step, as "interrupted". */
  signal?: AbortSignal;
}

/** A run judged as a step: SLO clauses on its summary, and its own verdict. */
function stepOf(rate: number, run: CapacityRun, slo: SloClause[]): StepResult {
  const verdicts = judgeSlo(run.summary, slo);
  const sloPass = allPass(verdicts);
  const valid = run.verdict.valid && !run.interrupted;
  const why = !valid
    ? (run.interrupted ? ["interrupted"] : run.verdict.reasons)
    : verdicts.filter((v) => !v.pass).map((v) =>
      `${v.clause.text}: ${v.measured === null ? v.reason : `measured ${round(v.measured)}`}`
    );
  return { rate, sloPass, valid, summary: run.summary, file: run.file, why };
}

const round = (v: number) => String(Math.round(v * 100) / 100);

/**
 * Runs the search: `runOne(rate)` runs one steady test at that rate (and writes its file); the
 * plan decides the next rate until it has the answer. Options are checked before any run.
 *
 * @example
 * ```ts
 * const answer = await findCapacity({ slo: parseSlo("p99<10ms"), start: 500 }, (rate) =>
 *   runSteady({ ...base, rate, out: resultsPath(base.out, rate, shard) }));
 * console.log(answer.text);
 * ```
 */
export async function findCapacity(
  opts: FindCapacityOptions,
  runOne: (rate: number) => Promise<CapacityRun>,
): Promise<CapacityAnswer> {
  if (opts.slo.length === 0) throw new Error("capacity search: an SLO is needed (--slo)");
  const plan = { ...opts };
  capacityOptions(plan);
  const steps: StepResult[] = [];
  while (true) {
    const p = planCapacity(steps, plan);
    if (p.done) return p;
    if (opts.signal?.aborted) return interruptedAnswer(steps, plan);
    const run = await runOne(p.next);
    const step = stepOf(p.next, run, opts.slo);
    steps.push(step);
    if (run.interrupted || opts.signal?.aborted) {
      const a = interruptedAnswer(steps, plan);
      opts.onStep?.(step, a);
      return a;
    }
    opts.onStep?.(step, planCapacity(steps, plan));
  }
}

function interruptedAnswer(steps: StepResult[], o: CapacityOptions): CapacityAnswer {
  const counted = steps.filter((s) => !(s.why?.[0] === "interrupted" && !s.valid));
  const failing = counted.filter((s) => !meets(s));
  const hi = failing.length ? failing.reduce((a, b) => b.rate < a.rate ? b : a) : undefined;
  const below = counted.filter((s) => meets(s) && (hi === undefined || s.rate < hi.rate));
  const lo = below.length ? below.reduce((a, b) => b.rate > a.rate ? b : a) : undefined;
  return finish(steps, lo, hi, "interrupted", capacityOptions(o));
}

/** The search's steps as a table: rate, verdict, SLO, p99, achieved rate, file. */
export function formatCapacitySteps(a: CapacityAnswer): string {
  const rows = [["step", "rate/s", "achieved/s", "p99 ms", "ok %", "run", "SLO", "file"]];
  a.steps.forEach((s, i) => {
    const l = s.summary?.latency;
    rows.push([
      String(i + 1),
      String(s.rate),
      s.summary?.achievedRate === undefined ? "-" : s.summary.achievedRate.toFixed(1),
      l ? l.p99.toFixed(2) : "-",
      s.summary ? s.summary.successPct.toFixed(2) : "-",
      s.valid ? "VALID" : "INVALID",
      s.sloPass ? "pass" : "FAIL",
      s.file ?? "",
    ]);
  });
  return textTable(rows, { left: [-1] });
}
