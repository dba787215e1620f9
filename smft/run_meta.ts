/**
 * A run's identity and `#META`: its run id, its plan on the monotonic clock, the `#META` fields
 * both tests write, and the meter of this process's CPU and memory for `#END`.
 *
 * @module
 */
import { hostname } from "node:os";
import { createHash, randomBytes } from "node:crypto";
import type { Arrival, Plan } from "./schedule.ts";
import type { Shard } from "./option_parsers.ts";
import { type Target, targetString } from "./channel.ts";
import type { ConnectionTrace } from "./tap.ts";
import { grpcJsVersion, SMFT_CLIENT, TOOL_VERSION } from "./shared/version.ts";
import { DEFAULT_PACING, type PacingMode } from "./shared/pacer.ts";
import type { Meta, TestName } from "./results_format.ts";
import { r3 } from "./results_format.ts";

/**
 * The run id written in `#META`: the same for every shard of one run. With a shared `--start-at`
 * it is derived from the shared plan (start instant, rate, shard count, test, target, duration,
 * warm-up), so hosts that were given the same plan agree without talking; without one it is
 * random. 12 hex digits.
 */
export function runId(o: {
  test: TestName;
  target: string;
  rate: number;
  shardCount: number;
  durationS: number;
  warmupS?: number;
  attempts?: number;
  startAt?: number;
}): string {
  if (o.startAt === undefined) return randomBytes(6).toString("hex");
  const plan = JSON.stringify([
    o.test,
    o.target,
    o.startAt,
    o.rate,
    o.shardCount,
    o.durationS,
    o.warmupS ?? 0,
    o.attempts ?? null,
  ]);
  return createHash("sha256").update(plan).digest("hex").slice(0, 12);
}

/** Builds the plan; `startAt` (epoch ms) maps onto the monotonic clock. */
export function makePlan(o: {
  rate: number;
  warmupS: number;
  durationS: number;
  shard: Shard;
  startAt?: number;
  arrival?: Arrival;
  seed?: number;
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
      ...(o.arrival === "poisson" ? { arrival: o.arrival, seed: o.seed } : {}),
    },
    startEpochMs: Math.round(nowEpoch + (t0 - nowMono)),
  };
}

/** The `#META` fields both tests write. */
export function runMeta(o: {
  test: TestName;
  target: Target;
  rate: number;
  shard: Shard;
  durationS: number;
  deadlineMs: number;
  startEpochMs: number;
  trace?: ConnectionTrace;
  startAt?: number;
  warmupS?: number;
  attempts?: number;
  pacing?: PacingMode;
}): Meta {
  return {
    run_id: runId({
      test: o.test,
      target: targetString(o.target),
      rate: o.rate,
      shardCount: o.shard.count,
      durationS: o.durationS,
      warmupS: o.warmupS,
      attempts: o.attempts,
      startAt: o.startAt,
    }),
    test: o.test,
    target: targetString(o.target),
    server_name: o.target.serverName,
    tls_mode: o.target.tlsMode,
    rate: o.rate,
    host_rate: o.rate / o.shard.count,
    duration_s: o.durationS,
    deadline_ms: o.deadlineMs,
    start_epoch_ms: o.startEpochMs,
    tls: o.trace && o.target.tlsMode !== "insecure"
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
    client: SMFT_CLIENT,
    host: hostname(),
    shard: `${o.shard.index}/${o.shard.count}`,
    pacing: o.pacing ?? DEFAULT_PACING,
    ...(o.trace?.serverOnThisHost !== undefined
      ? { server_on_this_host: o.trace.serverOnThisHost }
      : {}),
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
