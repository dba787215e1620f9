/**
 * The live progress line on stderr: redrawn in place on a terminal, one plain line per second
 * otherwise (CI logs). It only renders what the run reports; it holds no logic of its own.
 *
 * @module
 */
import type { Progress } from "./open_loop.ts";
import { printable } from "./shared/printable.ts";

/**
 * A figure of the last second, or `-` when that second had none: the loop reports 0 for a second
 * without a successful result (a real latency never rounds to 0.00 ms), and 0.00 would read as a
 * measurement.
 */
function figure(v: number, none: boolean): string {
  return none ? "-" : v.toFixed(2);
}

/** Formats one progress report (pure). */
export function formatProgress(p: Progress, label = ""): string {
  const pct = p.totalS > 0 ? Math.min(100, (p.elapsedS / p.totalS) * 100) : 0;
  const noValue = p.p50 === 0 && p.p99 === 0;
  const noLag = p.rate === 0 && p.lagP99 === 0;
  return `${label}${p.phase.padEnd(8)} ${p.elapsedS.toFixed(0).padStart(4)}/${
    p.totalS.toFixed(0)
  } s ${pct.toFixed(0).padStart(3)}% | ${p.rate.toFixed(0).padStart(5)}/s | in flight ${
    String(p.inflight).padStart(4)
  } | ok ${p.ok} err ${p.errors} | p50 ${figure(p.p50, noValue)} p99 ${
    figure(p.p99, noValue)
  } ms | lag p99 ${figure(p.lagP99, noLag)} ms`;
}

/** A progress sink for stderr. */
export interface ProgressDisplay {
  update(line: string): void;
  /** Ends a redrawn line so that what follows starts on its own line. */
  done(): void;
}

const encoder = new TextEncoder();

/** Progress on stderr; silent when `quiet`. */
export function stderrProgress(quiet: boolean): ProgressDisplay {
  if (quiet) return { update() {}, done() {} };
  const tty = Deno.stderr.isTerminal();
  let drawn = false;
  return {
    update(text) {
      const line = printable(text);
      if (tty) {
        Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
        drawn = true;
      } else {
        Deno.stderr.writeSync(encoder.encode(`${line}\n`));
      }
    },
    done() {
      if (drawn) Deno.stderr.writeSync(encoder.encode("\n"));
      drawn = false;
    },
  };
}

/** Writes one log line to stderr, ending a redrawn progress line first. */
export function logLine(display: ProgressDisplay, line: string): void {
  display.done();
  Deno.stderr.writeSync(encoder.encode(`${printable(line)}\n`));
}
