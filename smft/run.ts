/**
 * What `steady` and `coldconn` share around their own loop: the plan from the options, the
 * common `#META` fields, the run's own verdict, and CPU/memory figures.
 *
 * @module
 */
import { hostname } from "node:os";
import type { Plan } from "./schedule.ts";
import type { Shard } from "./options.ts";
import { type Target, targetString } from "./channel.ts";
import type { ConnectionTrace } from "./tap.ts";
import { grpcJsVersion, TOOL_VERSION } from "./version.ts";
import { r3 } from "./record.ts";

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

/** Whether the generator kept its schedule. */
export interface RunVerdict {
  valid: boolean;
  /** This host's target rate (its share of the total). */
  targetRate: number;
  achievedRate: number;
  lagP99: number;
  reasons: string[];
}

/** The generator's own verdict: rate within 1 % and lag p99 under 1 ms. */
export function judgeRun(targetRate: number, achievedRate: number, lagP99: number): RunVerdict {
  const reasons: string[] = [];
  const off = Math.abs(achievedRate - targetRate) / targetRate;
  if (off > 0.01) {
    reasons.push(
      `achieved ${achievedRate.toFixed(1)}/s vs target ${targetRate.toFixed(1)}/s (${
        (off * 100).toFixed(1)
      } % off, limit 1 %)`,
    );
  }
  if (lagP99 >= 1) reasons.push(`lag p99 ${lagP99.toFixed(2)} ms (limit 1 ms)`);
  return { valid: reasons.length === 0, targetRate, achievedRate, lagP99, reasons };
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
