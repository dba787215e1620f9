/**
 * df's graceful close: refuse new calls, let held ones finish and their answers reach the
 * kernel within the grace period, close the sessions (GOAWAY), then destroy what is left.
 *
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import type * as net from "node:net";
import type { Connections } from "./connections.ts";
import type { InFlight } from "./get_score.ts";
import type { Hold } from "./hold.ts";

/** What a running df closes. */
export interface DfParts {
  server: grpc.Server;
  injector: { destroy(): void };
  listener: net.Server;
  conns: Connections;
  inFlight: InFlight;
  hold: Hold;
  /** The connection sweep's interval. */
  sweep: ReturnType<typeof setInterval>;
  /** Refuses new calls and flips health to NOT_SERVING. */
  startDraining: () => void;
}

/** Closes `p`, letting calls in flight finish for up to `graceMs`. */
export async function shutdown(p: DfParts, graceMs: number): Promise<void> {
  // Deno's Http2Session.close() drops open streams instead of draining them, so df
  // drains itself: refuse new calls, wait for held ones, then close everything.
  p.startDraining();
  p.listener.close();
  const deadline = performance.now() + graceMs;
  await p.inFlight.idle(graceMs);
  // An answered call is not yet sent: wait until every stream has closed and every socket
  // has handed its bytes to the kernel, within the grace period, then close the sessions
  // gracefully (GOAWAY) before anything is destroyed.
  while (performance.now() < deadline && p.conns.busy()) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(
      resolve,
      Math.max(100, Math.min(1000, deadline - performance.now())),
    );
    p.server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  clearInterval(p.sweep);
  p.server.forceShutdown();
  p.injector.destroy();
  p.conns.destroyAll();
  p.hold.close();
}
