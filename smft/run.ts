/**
 * What `steady` and `coldconn` share: the plan from the options, the open loop that drives it,
 * the common `#META` fields, the run's own verdict, and CPU/memory figures.
 *
 * @module
 */
import { hostname } from "node:os";
import { pace, type Plan } from "./schedule.ts";
import type { PreciseTimer } from "./shared/precise_timer.ts";
import { Series } from "./histogram.ts";
import type { Accumulator, Summary } from "./summary.ts";
import type { Shard } from "./options.ts";
import { type Target, targetString } from "./channel.ts";
import type { ConnectionTrace } from "./tap.ts";
import { grpcJsVersion, TOOL_VERSION } from "./shared/version.ts";
import { r3 } from "./results_format.ts";
import type { RunVerdict } from "./verdict.ts";

/** What the progress display shows, once a second. */
export interface Progress {
  phase: "warm-up" | "measure" | "draining";
  elapsedS: number;
  totalS: number;
  /** Requests (or attempts) started in the last second. */
  rate: number;
  inflight: number;
  ok: number;
  errors: number;
  /** Latency (steady) or total attempt time (coldconn) in the last second, ms. */
  p50: number;
  p99: number;
  lagP99: number;
}

/** What a run of either test hands back. */
export interface RunResult {
  file: string;
  summary: Summary;
  acc: Accumulator;
  verdict: RunVerdict;
  interrupted: boolean;
  meta: Record<string, unknown>;
  end: Record<string, unknown>;
}

/** Builds the plan; `startAt` (epoch ms) maps onto the monotonic clock. */
export function makePlan(o: {
  rate: number;
  warmupS: number;
  durationS: number;
  shard: Shard;
  startAt?: number;
}): { plan: Plan; startEpochMs: number } {
  const leadMs = 20;
  const nowMono = performance.now();
  const nowEpoch = Date.now();
  const t0 = nowMono + (o.startAt !== undefined ? Math.max(0, o.startAt - nowEpoch) : leadMs);
  return {
    plan: {
      t0,
      rate: o.rate,
      warmupMs: o.warmupS * 1000,
      durationMs: o.durationS * 1000,
      shardIndex: o.shard.index - 1,
      shardCount: o.shard.count,
    },
    startEpochMs: Math.round(nowEpoch + (t0 - nowMono)),
  };
}

/** `#META` fields both tests write. */
export function commonMeta(o: {
  test: string;
  target: Target;
  rate: number;
  shard: Shard;
  durationS: number;
  deadlineMs: number;
  startEpochMs: number;
  trace?: ConnectionTrace;
}): Record<string, unknown> {
  return {
    test: o.test,
    target: targetString(o.target),
    server_name: o.target.serverName,
    tls_mode: o.target.tlsMode,
    rate: o.rate,
    host_rate: o.rate / o.shard.count,
    duration_s: o.durationS,
    deadline_ms: o.deadlineMs,
    start_epoch_ms: o.startEpochMs,
    tls: o.trace
      ? {
        version: o.trace.tlsVersion,
        cipher: o.trace.cipher,
        alpn: o.trace.alpn,
        peer_subject: o.trace.peerSubject,
      }
      : null,
    tool: `smft ${TOOL_VERSION}`,
    deno: Deno.version.deno,
    grpc_js: grpcJsVersion(),
    host: hostname(),
    shard: `${o.shard.index}/${o.shard.count}`,
  };
}

/** CPU seconds and peak RSS of this process over a run. */
export class ResourceMeter {
  #cpu0 = process.cpuUsage();
  #rssMax = 0;

  /** Samples memory (call once a second). */
  sample(): void {
    this.#rssMax = Math.max(this.#rssMax, Deno.memoryUsage().rss);
  }

  /** `#END` fields. */
  figures(): { cpu_s: number; rss_max_mb: number } {
    this.sample();
    const cpu = process.cpuUsage(this.#cpu0);
    return {
      cpu_s: r3((cpu.user + cpu.system) / 1e6),
      rss_max_mb: Math.round(this.#rssMax / 1048576),
    };
  }
}

/** What an {@link OpenLoop} needs from the test it drives. */
export interface OpenLoopOptions {
  plan: Plan;
  /** This host's requests (or attempts) in the whole run. */
  total: number;
  timer: PreciseTimer;
  /** Aborting stops scheduling; what is in flight still finishes (bounded). */
  signal?: AbortSignal;
  /** Starts request (or attempt) `j`; it calls `began` and, later, `ended`. */
  launch: (j: number) => void;
  /** After a tick that leaves more to come (coldconn prepares its next channel here). */
  afterTick?: () => void;
  /** When scheduling stops, for good or by interrupt. */
  onScheduleEnd?: () => void;
  /** Ends whatever is still in flight once `boundMs` has passed after the plan. */
  abandon: () => void;
  /** How long in-flight work may take after the plan ends: its deadline and some slack. */
  boundMs: number;
  /** Largest number launched in one turn of the event loop while catching up. */
  burst: number;
  warmupS: number;
  totalS: number;
  onProgress?: (p: Progress) => void;
}

/**
 * The open loop both tests share: launches by the plan (everything owed, however late), counts
 * what is in flight, reports progress once a second, and when the plan ends (or on interrupt)
 * waits for what is in flight, abandoning it only after a bound.
 */
export class OpenLoop {
  sent = 0;
  inflight = 0;
  maxInflight = 0;
  ok = 0;
  errors = 0;
  readonly meter = new ResourceMeter();
  #o: OpenLoopOptions;
  #scheduling = true;
  #ended = Promise.withResolvers<void>();
  #drained = Promise.withResolvers<void>();
  // The progress line's figures for the last second.
  #started = 0;
  #value = new Series(false);
  #lag = new Series(false);

  constructor(o: OpenLoopOptions) {
    this.#o = o;
  }

  /** One request or attempt began `lagMs` after it was due; returns how many others were in flight. */
  began(lagMs: number): number {
    const others = this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    this.#started++;
    this.#lag.record(lagMs);
    return others;
  }

  /** It ended; `valueMs` (latency, or an attempt's total time) counts when it succeeded. */
  ended(ok: boolean, valueMs?: number): void {
    this.inflight--;
    if (ok) {
      this.ok++;
      if (valueMs !== undefined) this.#value.record(valueMs);
    } else this.errors++;
    if (!this.#scheduling && this.inflight === 0) this.#drained.resolve();
  }

  #finish = (): void => {
    if (!this.#scheduling) return;
    this.#scheduling = false;
    this.#o.onScheduleEnd?.();
    this.#ended.resolve();
    if (this.inflight === 0) this.#drained.resolve();
  };

  #tick = (): void => {
    const o = this.#o;
    if (o.signal?.aborted) return this.#finish();
    const now = performance.now();
    const { send, nextAt } = pace(o.plan, now, this.sent);
    const n = Math.min(send, o.burst, o.total - this.sent);
    for (let i = 0; i < n; i++) o.launch(this.sent++);
    if (this.sent >= o.total || (nextAt === undefined && send === n)) return this.#finish();
    o.afterTick?.();
    o.timer.at(send > n ? now : nextAt!, this.#tick);
  };

  #report(): void {
    const o = this.#o;
    this.meter.sample();
    const elapsed = (performance.now() - o.plan.t0) / 1000;
    const value = this.#value.count ? this.#value.stat() : undefined;
    o.onProgress?.({
      phase: !this.#scheduling ? "draining" : elapsed < o.warmupS ? "warm-up" : "measure",
      elapsedS: Math.max(0, Math.min(elapsed, o.totalS)),
      totalS: o.totalS,
      rate: this.#started,
      inflight: this.inflight,
      ok: this.ok,
      errors: this.errors,
      p50: value?.p50 ?? 0,
      p99: value?.p99 ?? 0,
      lagP99: this.#lag.count ? this.#lag.stat().p99 : 0,
    });
    this.#started = 0;
    this.#value.reset();
    this.#lag.reset();
  }

  /** Runs the plan to its end (or an interrupt) and waits for what is in flight. */
  async run(): Promise<{ interrupted: boolean }> {
    const o = this.#o;
    o.timer.at(o.plan.t0, this.#tick);
    o.signal?.addEventListener("abort", this.#finish, { once: true });
    const progress = setInterval(() => this.#report(), 1000);
    try {
      await this.#ended.promise;
      let bound: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<boolean>((r) => bound = setTimeout(() => r(true), o.boundMs));
      if (await Promise.race([this.#drained.promise.then(() => false), late])) {
        o.abandon();
        // Abandoned work reports its end asynchronously; give it a moment to be written.
        await Promise.race([this.#drained.promise, new Promise((r) => setTimeout(r, 500))]);
      }
      clearTimeout(bound);
    } finally {
      clearInterval(progress);
      o.signal?.removeEventListener("abort", this.#finish);
      this.#value.destroy();
      this.#lag.destroy();
    }
    return { interrupted: o.signal?.aborted ?? false };
  }
}
