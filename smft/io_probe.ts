/**
 * The generator's own delay on the socket path. A thread can be free to run JavaScript and still
 * read and write its sockets late: Deno polls them between turns of its event loop, and a busy or
 * starved loop polls them late (seen with tcpdump against the grpc-go server at 1000/s: responses
 * on the wire 5.7 ms before grpc-js saw them, requests issued on time that left 1.5 ms later,
 * while the pacer kept turning). Turn gaps (`own_delay.ts`'s `ReadGaps`) cannot see that; a probe
 * on the same path can.
 *
 * A thread of its own (`io_probe_worker.ts`) sends the thread that owns a channel a stamp at random
 * instants (Poisson, ~200 a second) over a `node:net` socket (the client's own stack): the instant
 * it wrote it, on a clock the process's threads share. The owning thread times each stamp when it
 * reads it and echoes it. The sender is another thread, so stamps arrive whatever the owning thread
 * is doing, as responses do; Poisson arrivals see time averages (PASTA). The fastest of the run is
 * the floor (loopback); the excess over it is how late this thread read at a random instant. The
 * sender times the echo too: a round trip also holds the sender's own wake-up to read it, which on
 * a busy host is as long as what it measures, so the verdict uses the one-way figure and the round
 * trip is kept beside it (`histograms.io_probe_rtt_us`) for the calibration. The probe never
 * touches the server or the link.
 *
 * @module
 */
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { HIGHEST_TRACKABLE_US, type Histogram, newHistogram } from "./histogram.ts";

/** What a probe measured over its window, µs. */
export interface ProbeRecord {
  /** Each stamp's wait until this thread read it, over the fastest. */
  hist: Histogram;
  samples: number;
  /** The fastest, µs (the floor taken off; it includes the clocks' offset). */
  floorUs: number;
  /** Each round trip (to the echo back at the sender) over the fastest; absent when none. */
  rttHist?: Histogram;
}

/** A stamp's size, bytes (a float64: see `io_probe_worker.ts`). */
const STAMP = 8;

/** Excess over the fastest of `ms`, as a µs histogram (undefined when empty). */
function excessOf(ms: readonly number[]): { hist: Histogram; floorUs: number } | undefined {
  if (ms.length === 0) return undefined;
  let floor = Infinity;
  for (const v of ms) floor = Math.min(floor, v);
  const hist = newHistogram();
  for (const v of ms) {
    hist.recordValue(Math.min(Math.max(0, Math.round((v - floor) * 1000)), HIGHEST_TRACKABLE_US));
  }
  return { hist, floorUs: Math.round(floor * 1000) };
}

/** The I/O probe of one thread (see the module's description). */
export class IoProbe {
  #worker: Worker;
  #socket: net.Socket;
  #closed = false;
  #answer: ((rtts: number[]) => void) | undefined;
  #counting = false;
  #waits: number[] = [];
  #partial: Buffer = Buffer.alloc(0);

  private constructor(worker: Worker, socket: net.Socket) {
    this.#worker = worker;
    this.#socket = socket;
    // Each whole stamp is timed as read, then echoed; a stamp split across reads waits for its
    // rest (a read is timed when it completes a stamp).
    socket.on("data", (chunk: Buffer) => {
      const now = performance.timeOrigin + performance.now();
      const bytes = this.#partial.length > 0 ? Buffer.concat([this.#partial, chunk]) : chunk;
      const whole = bytes.length - bytes.length % STAMP;
      if (this.#counting) {
        for (let at = 0; at < whole; at += STAMP) this.#waits.push(now - bytes.readDoubleLE(at));
      }
      this.#partial = bytes.subarray(whole);
      if (whole > 0) socket.write(bytes.subarray(0, whole));
    });
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

  /** Stamps from now on count (the first measured call). */
  start(): void {
    if (this.#closed) return;
    this.#counting = true;
    this.#worker.postMessage("start");
  }

  /** Ends the window: the excess over the fastest, or undefined if no stamp was timed. */
  async stop(): Promise<ProbeRecord | undefined> {
    if (this.#closed) return undefined;
    this.#counting = false;
    const rtts = await new Promise<number[]>((resolve) => {
      this.#answer = resolve;
      this.#worker.postMessage("stop");
      // A worker that cannot answer (ended) must not hold the run.
      const t = setTimeout(() => resolve([]), 1000);
      Deno.unrefTimer(t as unknown as number);
    });
    const waits = this.#waits;
    this.#waits = [];
    const oneWay = excessOf(waits);
    if (!oneWay) return undefined;
    return { ...oneWay, samples: waits.length, rttHist: excessOf(rtts)?.hist };
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
