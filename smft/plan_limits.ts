/**
 * What one smft process may plan: a rate and deadline whose calls in flight fit its memory.
 *
 * @module
 */
import { ConfigError } from "./shared/layered_config.ts";
import type { Command } from "./option_table.ts";

/**
 * How much one smft process is allowed to plan, and why. Calls in flight are bounded by this
 * host's rate × the deadline (a call that never answers is held until its deadline), and each
 * holds grpc-js and HTTP/2 state: a plan far above what one process can issue or hold died out of
 * memory instead of being refused (issue 11). The host rate is capped well above what one
 * process can keep to (a larger rate can only be INVALID: split it with --shard over several load
 * hosts), the calls in flight at what fits in memory, and a cold attempt's also at the file
 * descriptors it holds (`ulimit -n` is often 1024). The measurements behind the figures are in
 * smft/README.md ("Plans that cannot fit", "CPU per call").
 */
const PLAN_LIMITS = {
  steady: { maxHostRate: 20_000, maxInflight: 50_000, unit: "calls" },
  coldconn: { maxHostRate: 500, maxInflight: 1_000, unit: "attempts" },
} as const;

/**
 * Refuses a plan that cannot fit one process ({@link PLAN_LIMITS}), naming the limit and why.
 */
export function checkPlan(cmd: Command, hostRate: number, deadlineMs: number, label: string): void {
  const l = PLAN_LIMITS[cmd];
  if (hostRate > l.maxHostRate) {
    throw new ConfigError(
      `${label}: ${hostRate}/s on this host is above smft's limit of ${l.maxHostRate}/s per host ` +
        `(one process issues ~${
          cmd === "steady" ? "2,000 calls" : "a few hundred handshakes"
        }/s; ` +
        `beyond the limit the plan cannot be kept and holds up to rate x deadline ${l.unit} in ` +
        `memory): split the rate with --shard k/n over several load hosts`,
    );
  }
  const inflight = Math.ceil(hostRate * deadlineMs / 1000);
  if (inflight > l.maxInflight) {
    throw new ConfigError(
      `${label}: ${hostRate}/s x deadline ${deadlineMs} ms allows ${inflight} ${l.unit} in ` +
        `flight, above smft's limit of ${l.maxInflight} (each holds memory${
          cmd === "coldconn" ? " and a socket" : ", ~25 KiB"
        }): lower --deadline-ms or the rate, or use --shard`,
    );
  }
}

/**
 * Refuses a plan with fewer than one call (or attempt) due on this host in its measurement:
 * `host rate x duration < 1` (a rate like 1e-9/s, or a shard whose turn falls after the end).
 * Such a run measures a call or none, and judges it over a window of 1 / rate (10^9 s).
 */
export function checkCallsDue(
  o: { rate: number; durationS: number; shard: { index: number; count: number } },
  label: string,
): void {
  const due = o.rate / o.shard.count * o.durationS;
  if (due >= 1 - 1e-9) return;
  const shard = o.shard.count > 1 ? ` (shard ${o.shard.index}/${o.shard.count})` : "";
  throw new ConfigError(
    `${label}: ${o.rate}/s for ${o.durationS} s has fewer than one call due on this host${shard} ` +
      `(${Number(due.toPrecision(3))}): raise the rate or the duration`,
  );
}
