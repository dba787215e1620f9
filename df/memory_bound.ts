/**
 * df's resident memory, sampled: its peak for the totals, and the bound (--max-rss-mb) over
 * which new connections are refused, until it falls under 90 % of the bound.
 *
 * @module
 */
import type { DfEvent, DfStats } from "./stats.ts";

/** Samples resident memory; `over` says the bound is reached. */
export class MemoryBound {
  over = false;

  constructor(
    readonly stats: DfStats,
    /** MiB; 0 for no bound. */
    readonly maxRssMb: number,
    readonly onEvent?: (e: DfEvent) => void,
  ) {}

  /** Takes one sample: the peak, and a notice when the bound is reached or left. */
  check(): void {
    const mb = Deno.memoryUsage().rss / 1048576;
    const stats = this.stats;
    stats.rssPeakMb = Math.max(stats.rssPeakMb, Math.round(mb));
    const max = this.maxRssMb;
    if (max <= 0) return;
    if (!this.over && mb > max) {
      this.over = true;
      this.onEvent?.({
        type: "notice",
        message: `resident memory ${mb.toFixed(0)} MiB is over --max-rss-mb ${max}: ` +
          `refusing new connections, serving the ${stats.connectionsOpen} open ones`,
      });
    } else if (this.over && mb < 0.9 * max) {
      this.over = false;
      this.onEvent?.({
        type: "notice",
        message: `resident memory ${mb.toFixed(0)} MiB, under 90 % of --max-rss-mb ` +
          `${max}: accepting new connections again`,
      });
    }
  }
}
