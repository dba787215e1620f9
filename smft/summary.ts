/**
 * The one summary accumulator: smft feeds it each result as it is written, `summarize` feeds it
 * the lines of results files; both get the same `Summary` (its text is `summary_text.ts`).
 *
 * @module
 */
import { type Histogram, newHistogram, Series, type Stat } from "./histogram.ts";
import { type OwnDelay, ownDelayOf } from "./own_delay.ts";
import {
  type ColdLine,
  finite,
  type Phase,
  PHASES,
  type SteadyLine,
  type TestName,
  type UntrustedLine,
} from "./results_format.ts";

/** One second of a steady run (seconds counted from the start of measurement). */
export interface SecondStats {
  s: number;
  n: number;
  ok: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  lagP99: number;
}

/** One cold-connection attempt, for per-attempt plots. */
export interface AttemptRow {
  t: number;
  ok: boolean;
  phases: Partial<Record<Phase, number>>;
}

/** Everything a summary says, as numbers; rendering is separate. */
export interface Summary {
  test: TestName;
  /** Results counted (requests or attempts). */
  total: number;
  ok: number;
  failed: number;
  /** ok / total × 100; 0 when there are none. */
  successPct: number;
  byCode: Record<string, number>;
  /** Response time of successful calls (done − intended), ms. */
  latency?: Stat;
  /** Response time of every call that has one, failures included, ms. */
  latencyAll?: Stat;
  /** Service time (done − issued), ms. */
  service?: Stat;
  /** Generator lag (issued − intended), ms. */
  lag?: Stat;
  /** df's own handling time from its trailing metadata, ms. */
  df?: Stat;
  /** Cold-connection phases of successful attempts, ms. */
  phases?: Partial<Record<Phase, Stat>>;
  /** Failed attempts by the phase they reached. */
  failedByPhase?: Record<string, number>;
  /** Negotiated TLS versions seen, with counts. */
  tlsVersions?: Record<string, number>;
  /** Seconds of measurement the results span. */
  durationS?: number;
  /** Results per second over the measurement. */
  achievedRate?: number;
  /** The most frequent failure reasons (`phase: error`, or `code: error`), most first. */
  topReasons?: { reason: string; count: number }[];
  /** Lines whose `df-handling-us` trailer was malformed or out of range. */
  badTrailers?: number;
  /** The generator's own delay: send side (lag) and, when measured, read side. */
  ownDelay?: OwnDelay;
}

/**
 * Addresses and `host:port`s, which name where a failure happened, and numbers, which say how
 * long it took: the first kept, the second taken out ({@link reasonKey}).
 */
const ADDRESS_OR_NUMBER =
  /(\[[0-9a-f:.]+\](?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?|\b[a-z][\w-]*(?:\.[\w-]+)*:\d+\b)|(?<![\w.])\d+(?:\.\d+)*/gi;

/**
 * A failure's group: its code (and, for an attempt, the phase it failed in) and its error text
 * with what changes from one failure to the next taken out: timestamps, and every number but
 * those of an address (grpc-js writes each call's own timings into its messages: "Deadline
 * exceeded after 1.001s,LB pick: 0.000s,remote_addr=..." becomes "Deadline exceeded after
 * Ns,remote_addr=...").
 */
export function reasonKey(r: UntrustedLine): string {
  const code = typeof r.code === "string" ? r.code : "UNKNOWN";
  const what = typeof r.phase === "string" ? `${code} (${r.phase})` : code;
  const error = typeof r.error === "string"
    ? r.error.replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, "").replace(/\s+/g, " ").slice(0, 300)
      .replace(ADDRESS_OR_NUMBER, (_m, keep) => keep ?? "N")
      // grpc-js lists some of a call's stages with their times ("LB pick: Ns"), not always the
      // same ones: a stage's timing alone is no different failure.
      .replace(/,\s*[a-z][\w ]*: N(?:ms|s|us)?(?=,|$)/gi, "")
    : "";
  return error ? `${what}: ${error}` : what;
}

/**
 * Collects results into histograms. `add` takes one parsed result line; `merge` adds another
 * accumulator exactly (same buckets, same sums), which is how several load hosts combine.
 */
export class Accumulator {
  readonly test: TestName;
  total = 0;
  ok = 0;
  byCode: Record<string, number> = {};
  failedByPhase: Record<string, number> = {};
  tlsVersions: Record<string, number> = {};
  readonly latency = new Series();
  readonly latencyAll = new Series();
  readonly service = new Series();
  readonly lag = new Series();
  readonly df = new Series();
  readonly phases = new Map<Phase, Series>();
  /** Steady: per-second figures, keyed by second of measurement. */
  readonly seconds = new Map<number, { n: number; ok: number; latency: Series; lag: Series }>();
  /** Cold connection: attempts in order, for plots (bounded). */
  readonly attempts: AttemptRow[] = [];
  /** Largest intended send offset seen (ms from start of measurement). */
  lastTMs = 0;
  /** Lines whose `df-handling-us` trailer was malformed or out of range (`df_bad`). */
  badTrailers = 0;
  /** Failures by reason ({@link reasonKey}); at most `MAX_REASONS` distinct ones, the rest "other". */
  readonly reasons = new Map<string, number>();
  /**
   * The read side's busy intervals (µs) over `readWindowMs` of thread time, from the run (or its
   * `#END`): not in the result lines, so added with {@link Accumulator.addReadGaps}.
   */
  readGaps: Histogram | undefined;
  readWindowMs = 0;
  /** How late the I/O probes' stamps were read, over their floors (µs), from the run or `#END`. */
  ioProbe: Histogram | undefined;
  /** The same probes' round trips over their floors (µs): the calibration's comparison. */
  ioProbeRtt: Histogram | undefined;

  static readonly MAX_REASONS = 100;
  /** Per-second series cost memory; tools that only need totals turn them off. */
  readonly keepSeries: boolean;

  static readonly MAX_ATTEMPT_ROWS = 20_000;

  constructor(test: TestName, opts: { keepSeries?: boolean } = {}) {
    this.test = test;
    this.keepSeries = opts.keepSeries ?? true;
  }

  /** Adds one result line (already parsed). */
  add(line: UntrustedLine | SteadyLine | ColdLine): void {
    const r = line as UntrustedLine;
    this.total++;
    const ok = r.ok === true;
    if (ok) this.ok++;
    const code = typeof r.code === "string" ? r.code : ok ? "OK" : "UNKNOWN";
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    const t = finite(r.t_ms);
    if (t !== undefined && t > this.lastTMs) this.lastTMs = t;
    if (r.df_bad !== undefined) this.badTrailers++;
    if (!ok) this.#countReason(reasonKey(r), 1);
    if (this.test === "01_steady") this.#addSteady(r, ok, t);
    else this.#addCold(r, ok, t);
  }

  #addSteady(r: UntrustedLine, ok: boolean, t: number | undefined): void {
    const latency = finite(r.latency_ms);
    const lag = finite(r.lag_ms);
    if (latency !== undefined) {
      this.latencyAll.record(latency);
      if (ok) this.latency.record(latency);
    }
    const service = finite(r.service_ms);
    if (service !== undefined && ok) this.service.record(service);
    if (lag !== undefined) this.lag.record(lag);
    const df = finite(r.df_ms);
    if (df !== undefined) this.df.record(df);
    if (t !== undefined && this.keepSeries) {
      const s = Math.floor(t / 1000);
      let sec = this.seconds.get(s);
      if (!sec) {
        // Per-second histograms are many: plain JS ones, which start small and grow as needed.
        sec = { n: 0, ok: 0, latency: new Series(false), lag: new Series(false) };
        this.seconds.set(s, sec);
      }
      sec.n++;
      if (ok) sec.ok++;
      if (latency !== undefined && ok) sec.latency.record(latency);
      if (lag !== undefined) sec.lag.record(lag);
    }
  }

  #addCold(r: UntrustedLine, ok: boolean, t: number | undefined): void {
    if (!ok) {
      const phase = typeof r.phase === "string" ? r.phase : "unknown";
      this.failedByPhase[phase] = (this.failedByPhase[phase] ?? 0) + 1;
    }
    if (typeof r.tls === "string") this.tlsVersions[r.tls] = (this.tlsVersions[r.tls] ?? 0) + 1;
    const row: AttemptRow = { t: t ?? this.total - 1, ok, phases: {} };
    for (const p of PHASES) {
      const v = finite(r[`t_${p}_ms`]);
      if (v === undefined) continue;
      row.phases[p] = v;
      if (!ok) continue;
      let s = this.phases.get(p);
      if (!s) this.phases.set(p, s = new Series());
      s.record(v);
    }
    const lag = finite(r.lag_ms);
    if (lag !== undefined) this.lag.record(lag);
    if (this.keepSeries && this.attempts.length < Accumulator.MAX_ATTEMPT_ROWS) {
      this.attempts.push(row);
    }
  }

  #countReason(key: string, n: number): void {
    if (!this.reasons.has(key) && this.reasons.size >= Accumulator.MAX_REASONS) key = "other";
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + n);
  }

  /** Adds one thread's busy intervals (µs) over `windowMs` (see `own_delay.ts`). */
  addReadGaps(hist: Histogram, windowMs: number): void {
    if (!(windowMs > 0)) return;
    this.readGaps ??= newHistogram();
    this.readGaps.add(hist);
    this.readWindowMs += windowMs;
  }

  /**
   * Adds one thread's I/O probe: how late it read each stamp, over the fastest, µs (see
   * `io_probe.ts`); or, with `"rtt"`, the same probes' round trips (kept for the calibration).
   */
  addIoProbe(hist: Histogram, kind: "one-way" | "rtt" = "one-way"): void {
    if (kind === "rtt") {
      this.ioProbeRtt ??= newHistogram();
      this.ioProbeRtt.add(hist);
      return;
    }
    this.ioProbe ??= newHistogram();
    this.ioProbe.add(hist);
  }

  /** Values recorded at the histograms' highest trackable value instead of their own. */
  clampedValues(): number {
    let n = this.latency.clamped + this.latencyAll.clamped + this.service.clamped +
      this.lag.clamped + this.df.clamped;
    for (const s of this.phases.values()) n += s.clamped;
    return n;
  }

  /** Adds everything `other` collected (another file of the same test). */
  merge(other: Accumulator): void {
    if (other.test !== this.test) {
      throw new Error(`cannot merge ${other.test} results into ${this.test} results`);
    }
    this.total += other.total;
    this.ok += other.ok;
    this.badTrailers += other.badTrailers;
    for (const [k, v] of other.reasons) this.#countReason(k, v);
    addCounts(this.byCode, other.byCode);
    addCounts(this.failedByPhase, other.failedByPhase);
    addCounts(this.tlsVersions, other.tlsVersions);
    if (other.readGaps) this.addReadGaps(other.readGaps, other.readWindowMs);
    if (other.ioProbe) this.addIoProbe(other.ioProbe);
    if (other.ioProbeRtt) this.addIoProbe(other.ioProbeRtt, "rtt");
    this.latency.add(other.latency);
    this.latencyAll.add(other.latencyAll);
    this.service.add(other.service);
    this.lag.add(other.lag);
    this.df.add(other.df);
    for (const [p, s] of other.phases) {
      let mine = this.phases.get(p);
      if (!mine) this.phases.set(p, mine = new Series());
      mine.add(s);
    }
    for (const [k, sec] of other.seconds) {
      const mine = this.seconds.get(k);
      if (!mine) {
        const copy = { n: 0, ok: 0, latency: new Series(false), lag: new Series(false) };
        this.seconds.set(k, copy);
        copy.n = sec.n;
        copy.ok = sec.ok;
        copy.latency.add(sec.latency);
        copy.lag.add(sec.lag);
      } else {
        mine.n += sec.n;
        mine.ok += sec.ok;
        mine.latency.add(sec.latency);
        mine.lag.add(sec.lag);
      }
    }
    // Interleave hosts by plan time before capping, so every host stays in the plot.
    this.attempts.push(...other.attempts);
    this.attempts.sort((a, b) => a.t - b.t);
    this.attempts.length = Math.min(this.attempts.length, Accumulator.MAX_ATTEMPT_ROWS);
    this.lastTMs = Math.max(this.lastTMs, other.lastTMs);
  }

  /**
   * Per-second figures, in order; with `windowS` > 1, per window of that many seconds, merged
   * exactly from the per-second histograms (a long run's report stays small and readable).
   */
  perSecond(windowS = 1): SecondStats[] {
    const groups = new Map<number, { n: number; ok: number; latency: Series[]; lag: Series[] }>();
    for (const [s, sec] of this.seconds) {
      const w = Math.floor(s / windowS) * windowS;
      let g = groups.get(w);
      if (!g) groups.set(w, g = { n: 0, ok: 0, latency: [], lag: [] });
      g.n += sec.n;
      g.ok += sec.ok;
      g.latency.push(sec.latency);
      g.lag.push(sec.lag);
    }
    const mergedStat = (parts: Series[]) => {
      if (parts.length === 1) return parts[0].stat();
      const merged = new Series(false);
      for (const p of parts) merged.add(p);
      return merged.stat();
    };
    return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([s, g]) => {
      const l = mergedStat(g.latency);
      return {
        s,
        n: g.n,
        ok: g.ok,
        errors: g.n - g.ok,
        p50: l.p50,
        p99: l.p99,
        max: l.max,
        lagP99: mergedStat(g.lag).p99,
      };
    });
  }

  /**
   * The summary. `durationS` (from the results file's metadata, or the run) gives the achieved
   * rate; without it the span of intended send times is used.
   */
  summary(durationS?: number): Summary {
    const failed = this.total - this.ok;
    const s: Summary = {
      test: this.test,
      total: this.total,
      ok: this.ok,
      failed,
      successPct: this.total === 0 ? 0 : (this.ok / this.total) * 100,
      byCode: { ...this.byCode },
    };
    if (failed > 0) {
      s.topReasons = [...this.reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)
        .map(([reason, count]) => ({ reason, count }));
    }
    if (this.badTrailers > 0) s.badTrailers = this.badTrailers;
    // Without a stated duration, the last intended send time is one interval short of the span.
    const span = durationS ??
      (this.lastTMs > 0 && this.total > 1
        ? (this.lastTMs / 1000) * (this.total / (this.total - 1))
        : undefined);
    if (span !== undefined && span > 0) {
      s.durationS = span;
      s.achievedRate = this.total / span;
    }
    if (this.test === "01_steady") {
      if (this.latency.count) s.latency = this.latency.stat();
      // Only worth a line when failures carry latencies of their own (seed files do not).
      if (this.latencyAll.count > this.latency.count) s.latencyAll = this.latencyAll.stat();
      if (this.service.count) s.service = this.service.stat();
      if (this.lag.count) s.lag = this.lag.stat();
      if (this.df.count) s.df = this.df.stat();
      if (s.lag) s.ownDelay = this.#ownDelay(s.lag);
    } else {
      s.phases = {};
      for (const p of PHASES) {
        const series = this.phases.get(p);
        if (series?.count) s.phases[p] = series.stat();
      }
      if (failed > 0) s.failedByPhase = { ...this.failedByPhase };
      s.tlsVersions = { ...this.tlsVersions };
      if (this.lag.count) s.lag = this.lag.stat();
      if (s.lag) s.ownDelay = this.#ownDelay(s.lag);
    }
    return s;
  }

  #ownDelay(lag: Stat): OwnDelay {
    return ownDelayOf(
      lag,
      this.readGaps ? { hist: this.readGaps, windowMs: this.readWindowMs } : undefined,
      this.ioProbe,
      // Steady's calls: their latency against their time from issue to read (coldconn has none).
      this.service.count ? { latency: this.latency.hist, service: this.service.hist } : undefined,
    );
  }

  /** Frees the WebAssembly memory of the histograms. */
  destroy(): void {
    for (const s of [this.latency, this.latencyAll, this.service, this.lag, this.df]) s.destroy();
    this.readGaps?.destroy();
    this.ioProbe?.destroy();
    this.ioProbeRtt?.destroy();
    for (const s of this.phases.values()) s.destroy();
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}
