/**
 * GetScore, the call df serves: it checks the request, holds the call for df's delay
 * (df/hold.ts) and answers with a score and df's handling time in trailing metadata. A held call
 * whose client is gone is let go at once and counted.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";
import * as grpc from "@grpc/grpc-js";
import { HANDLING_METADATA_KEY, type JsonVector, type ScoreResponse } from "../proto/score.ts";
import type { Hold } from "./hold.ts";
import { countCall, type DfStats } from "./stats.ts";

/** The calls being held, and a wait for none (shutdown lets them finish). */
export class InFlight {
  #n = 0;
  #onIdle: (() => void) | undefined;

  start(): void {
    this.#n++;
  }

  end(): void {
    if (--this.#n === 0) this.#onIdle?.();
  }

  /** Resolves once no call is held (at once when none is), or after `graceMs`. */
  idle(graceMs: number): Promise<void> {
    if (this.#n === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.#onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** What GetScore works with. */
export interface ScoreDeps {
  stats: DfStats;
  hold: Hold;
  inFlight: InFlight;
  /** df is shutting down: new calls are refused. */
  draining: () => boolean;
  /** Whether the connection of grpc-js's peer (`call.getPeer()`) is gone. */
  connectionGone: (peer: string) => boolean;
}

/** The GetScore handler. */
export function getScore(d: ScoreDeps): grpc.handleUnaryCall<JsonVector, ScoreResponse> {
  const { stats, hold, inFlight } = d;
  return (call, callback) => {
    const received = performance.now();
    if (stats.allocAtFirstCall === 0) {
      stats.allocAtFirstCall = getHeapStatistics().total_allocated_bytes;
    }
    if (d.draining()) {
      countCall(stats, "UNAVAILABLE");
      callback({ code: grpc.status.UNAVAILABLE, details: "df is shutting down" });
      return;
    }
    try {
      JSON.parse(call.request.json);
    } catch {
      countCall(stats, "INVALID_ARGUMENT");
      callback({ code: grpc.status.INVALID_ARGUMENT, details: "field json is not valid JSON" });
      return;
    }
    inFlight.start();
    // The hold keeps only this small record; a call whose client is gone is let go at once
    // (its stream and session can be collected), and the timer's entry fires as a no-op.
    let pending: { call: typeof call; callback: typeof callback } | undefined = {
      call,
      callback,
    };
    const release = () => {
      pending = undefined;
      inFlight.end();
    };
    call.once("cancelled", () => {
      if (!pending) return;
      // Looked up only here: a peer string per call is work the common path does not need.
      if (d.connectionGone(call.getPeer())) stats.heldDropped.connectionClosed++;
      else stats.heldDropped.cancelledByClient++;
      countCall(stats, "CANCELLED");
      release();
    });
    hold.hold(received, () => {
      const p = pending;
      if (!p) return;
      release();
      if (p.call.cancelled) {
        countCall(stats, "CANCELLED");
        return;
      }
      const trailer = new grpc.Metadata();
      trailer.set(
        HANDLING_METADATA_KEY,
        String(Math.round((performance.now() - received) * 1000)),
      );
      // Counted OK only once its answer is written (df/observe.ts: the stream's wantTrailers).
      p.callback(null, { score: Math.random() }, trailer);
    });
  };
}
