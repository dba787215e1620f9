/**
 * The generator's own delay on the socket path. A thread can be free to run JavaScript and still
 * read and write its sockets late: Deno polls them between turns of its event loop, and a busy or
 * starved loop polls them late (seen with tcpdump against the grpc-go server at 1000/s: responses
 * on the wire 5.7 ms before grpc-js saw them, requests issued on time that left 1.5 ms later,
 * while the pacer kept turning). Turn gaps (`own_delay.ts`'s `ReadGaps`) cannot see that; a probe
 * on the same path can.
 *
 * An echo thread (`io_probe_worker.ts`) sends the thread that owns a channel one byte at random
 * instants (Poisson, ~200 a second), over a `node:net` socket (grpc-js's own stack), and times it
 * until the owning thread has read it and written it back. The sender is another thread, so bytes
 * arrive whatever the owning thread is doing, as responses do; Poisson arrivals see time averages
 * (PASTA). The fastest round trip of the run is the floor (loopback, the echo thread's wake-up);
 * the excess over it is how late this thread read, and wrote, at a random instant. The probe never
 * touches the server or the link.
 *
 * @module
 */
import * as net from "node:net";
import type { Buffer } from "node:buffer";
import { HIGHEST_TRACKABLE_US, type Histogram, newHistogram } from "./histogram.ts";

/** What a probe measured over its window: the excess of each round trip over the fastest, µs. */
export interface ProbeRecord {
  hist: Histogram;
  samples: number;
  /** The fastest round trip, µs (the floor taken off). */
  floorUs: number;
}

/** The I/O probe of one thread (see the module's description). */
export class IoProbe {
  #worker: Worker;
  #socket: net.Socket;
  #closed = false;
  #answer: ((rtts: number[]) => void) | undefined;

  private constructor(worker: Worker, socket: net.Socket) {
    this.#worker = worker;
    this.#socket = socket;
    // The echo: what this thread reads, it writes back at once.
    socket.on("data", (chunk: Buffer) => socket.write(chunk));
    socket.on("error", () => this.close());
    worker.onmessage = (e: MessageEvent<{ rtts?: number[] }>) => {
      if (e.data.rtts) this.#answer?.(e.data.rtts);
    };
  }

  /**
   * Starts the echo thread and connects to it; undefined when it cannot (no permission to start
   * a worker or to listen): the run then goes on without the probe, and says so by its absence.
   */
  static async start(): Promise<IoProbe | undefined> {
    let worker: Worker | undefined;
    try {
      worker = new Worker(new URL("./io_probe_worker.ts", import.meta.url), { type: "module" });
      const w = worker;
      const port = await new Promise<number>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<{ port: number }>) => resolve(e.data.port);
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
      });
      const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      return new IoProbe(w, socket);
    } catch {
      worker?.terminate();
      return undefined;
    }
  }

  /** Round trips from now on count (the first measured call). */
  start(): void {
    if (!this.#closed) this.#worker.postMessage("start");
  }

  /** Ends the window: the excess over the fastest round trip, or undefined if none was timed. */
  async stop(): Promise<ProbeRecord | undefined> {
    if (this.#closed) return undefined;
    const rtts = await new Promise<number[]>((resolve) => {
      this.#answer = resolve;
      this.#worker.postMessage("stop");
      // A worker that cannot answer (ended) must not hold the run.
      const t = setTimeout(() => resolve([]), 1000);
      Deno.unrefTimer(t as unknown as number);
    });
    if (rtts.length === 0) return undefined;
    const floor = Math.min(...rtts);
    const hist = newHistogram();
    for (const rtt of rtts) {
      hist.recordValue(Math.min(Math.round((rtt - floor) * 1000), HIGHEST_TRACKABLE_US));
    }
    return { hist, samples: rtts.length, floorUs: Math.round(floor * 1000) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#worker.postMessage("close");
    // The echo thread ends itself; one that does not is ended shortly after.
    const t = setTimeout(() => this.#worker.terminate(), 200);
    Deno.unrefTimer(t as unknown as number);
  }
}
