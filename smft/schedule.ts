/**
 * The open-loop plan: when each request should be sent. Pure functions of the plan and the
 * clock, counted from the start (never from the last send), so the schedule cannot drift.
 *
 * With `--shard k/n`, host k sends the requests k-1, k-1+n, k-1+2n, ... of one combined
 * schedule at the total rate, so n hosts together send an even stream.
 *
 * @module
 */

/** A schedule. Times are on one monotonic clock, in ms. */
export interface Plan {
  /** When request 0 of the combined schedule is due. */
  t0: number;
  /** Combined rate of all shards, per second. */
  rate: number;
  /** Warm-up at the start: requests due before `t0 + warmupMs` are sent but not recorded. */
  warmupMs: number;
  /** Measurement after warm-up. */
  durationMs: number;
  /** This host's shard, 0-based. @default 0 */
  shardIndex?: number;
  /** Number of shards. @default 1 */
  shardCount?: number;
}

/** Intended send time of this host's request `j`. */
export function intendedAt(p: Plan, j: number): number {
  const n = p.shardCount ?? 1;
  const k = p.shardIndex ?? 0;
  return p.t0 + ((j * n + k) * 1000) / p.rate;
}

/** How many of this host's requests have intended times strictly before `t` (ms). */
function countBefore(p: Plan, t: number): number {
  const n = p.shardCount ?? 1;
  const k = p.shardIndex ?? 0;
  // Combined index i is before t when i < (t - t0) * rate / 1000; this host owns i = j*n + k.
  const x = ((t - p.t0) * p.rate) / 1000;
  const combined = Math.ceil(x - 1e-9); // indexes 0..combined-1 are before t
  return Math.max(0, Math.ceil((combined - k) / n));
}

/** This host's requests due at or before `now`. */
export function dueBy(p: Plan, now: number): number {
  const n = p.shardCount ?? 1;
  const k = p.shardIndex ?? 0;
  const x = ((now - p.t0) * p.rate) / 1000;
  if (x < k) return 0;
  return Math.floor((Math.floor(x + 1e-9) - k) / n) + 1;
}

/** This host's requests in the whole run (warm-up and measurement). */
export function totalRequests(p: Plan): number {
  return countBefore(p, p.t0 + p.warmupMs + p.durationMs);
}

/** This host's requests in the warm-up; request `j` is measured when `j >= warmupRequests`. */
export function warmupRequests(p: Plan): number {
  return countBefore(p, p.t0 + p.warmupMs);
}

/** What to do now, given how many requests were already sent. */
export interface Pace {
  /** Requests to send now: everything owed, however late (catch-up). */
  send: number;
  /** When the next request is due, or `undefined` when the plan is complete. */
  nextAt?: number;
}

/** The pacing decision: everything owed now, and when to look again. */
export function pace(p: Plan, now: number, sent: number): Pace {
  const total = totalRequests(p);
  const owed = Math.min(dueBy(p, now), total);
  const send = Math.max(0, owed - sent);
  const next = sent + send;
  return { send, nextAt: next < total ? intendedAt(p, next) : undefined };
}
