/**
 * What one smft process may plan: a rate and deadline whose calls in flight fit its memory.
 *
 * @module
 */
import { ConfigError } from "./shared/config.ts";
import type { Command } from "./option_table.ts";

/**
 * How much one smft process is allowed to plan, and why. Calls in flight are bounded by this
 * host's rate × the deadline (a call that never answers is held until its deadline): each holds
 * grpc-js and HTTP/2 state. Measured here (2026-11-28, Deno 2.9.3, 2 cores): 12,000 steady calls
 * held in flight by a slow df used no more memory than 12,000 fast ones (~300 MiB peak, i.e. at
 * most ~25 KiB each), so 50,000 calls in flight stay near 1.2 GiB. A rate of 1,000,000/s with a
 * 1 s deadline plans 1,000,000 calls in flight (~25 GiB) and died out of memory (issue 11). One
 * process issues at most ~3,000 calls/s (~0.35 ms of CPU per call), so a host rate above 20,000/s
 * can only be INVALID: split it with --shard over several load hosts. A cold-connection attempt
 * holds a socket and a TLS state (a file descriptor each, `ulimit -n` is often 1024): at most
 * 1,000 in flight and 500 attempts/s per host.
 */
export const PLAN_LIMITS = {
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
          cmd === "steady" ? "3,000 calls" : "a few hundred handshakes"
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
