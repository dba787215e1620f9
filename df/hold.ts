/**
 * The precise hold: each call waits `delayMs` from when it was received, to the microsecond, not
 * rounded to Deno's 1 ms timer wheel: df's pacer (`smft/shared/pacer.ts`) on df's own thread.
 *
 * @module
 */
import { Pacer, type PacingMode } from "../smft/shared/pacer.ts";

/** Holds callbacks for a fixed delay. */
export interface Hold {
  /** Settles when the hold keeps its instants (`wake`: its alarm thread has started). */
  ready(): Promise<void>;
  /** Runs `release` at `receivedAt + delayMs` (`performance.now()` clock), never before. */
  hold(receivedAt: number, release: () => void): void;
  close(): void;
}

/** A hold of `delayMs` (fractional allowed; 0 releases at once), paced by `mode`. */
export function createHold(delayMs: number, mode: PacingMode): Hold {
  if (delayMs === 0) {
    return { ready: () => Promise.resolve(), hold: (_at, release) => release(), close() {} };
  }
  const pacer = new Pacer(mode);
  return {
    ready: () => pacer.ready(),
    hold: (at, release) => pacer.at(at + delayMs, release),
    close: () => pacer.close(),
  };
}
