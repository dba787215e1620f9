/**
 * What df tells about itself: its counters, live ({@link DfStats}), and the events worth a log
 * line ({@link DfEvent}).
 *
 * @module
 */

/** Something worth a log line. */
export type DfEvent =
  /** A connection refused before or during its handshake, or at a connection limit. */
  | { type: "refused"; peer: string; reason: string }
  /** An established connection df closed (the client does not read, idle). */
  | { type: "closed"; peer: string; reason: string }
  | { type: "error"; message: string }
  /** A change of state worth a line (the memory bound reached or left). */
  | { type: "notice"; message: string };

/** Counters, live. */
export interface DfStats {
  calls: number;
  /** V8's `total_allocated_bytes` when the first call arrived (0 before). */
  allocAtFirstCall: number;
  byCode: Record<string, number>;
  connectionsAccepted: number;
  connectionsOpen: number;
  /** Connections refused: at a limit, or before their handshake finished. */
  handshakesRefused: number;
  refusedByReason: Record<string, number>;
  /** Established connections df closed, by cause. */
  closedByReason: Record<string, number>;
  /** Held calls whose wait was cut short: their connection closed, or the client cancelled. */
  heldDropped: { connectionClosed: number; cancelledByClient: number };
  /**
   * Calls df answered OK whose answer never reached the client's side of the connection (it
   * closed first, or its flow-control window stayed shut): not counted OK.
   */
  unwritten: number;
  /** Highest resident memory seen, sampled once a second, MiB. */
  rssPeakMb: number;
  /** Connections accepted per peer address (the first 100 addresses seen). */
  connectionsByPeer: Record<string, number>;
}

/** Counters at zero. */
export function newStats(): DfStats {
  return {
    calls: 0,
    allocAtFirstCall: 0,
    byCode: {},
    connectionsAccepted: 0,
    connectionsOpen: 0,
    handshakesRefused: 0,
    refusedByReason: {},
    closedByReason: {},
    heldDropped: { connectionClosed: 0, cancelledByClient: 0 },
    unwritten: 0,
    rssPeakMb: 0,
    connectionsByPeer: {},
  };
}

/** Counts one call that ended with `code`. */
export function countCall(stats: DfStats, code: string): void {
  stats.calls++;
  stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
}
