/**
 * The far end of the I/O probe (`io_probe.ts`), in a thread of its own: it listens on 127.0.0.1,
 * and once the probed thread has connected, sends it a stamp at random instants (Poisson): the
 * instant it was written, 8 bytes, on a clock every thread of the process shares
 * (`performance.timeOrigin + performance.now()`). The probed thread times each stamp when it reads
 * it (one way: this thread's wake-up does not count) and echoes it at once; the round trip this
 * thread then times also holds its own wake-up to read the echo, and is kept beside it for the
 * verdict's calibration (`histograms.io_probe_rtt_us`).
 *
 * Messages in: `"start"` (count round trips from now), `"stop"` (answer those counted, ms, and
 * stop counting), `"close"`. Out: `{ port }` once listening, `{ rtts }` for each `"stop"`.
 *
 * @module
 */
/// <reference lib="deno.worker" />

/** Mean gap between probes, ms: ~200 a second. */
const MEAN_GAP_MS = 5;
/** At most this many probes in flight: a thread stalled for long is not sent a burst. */
const MAX_IN_FLIGHT = 8;
/** A stamp's size, bytes (a float64). */
const STAMP = 8;

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
let conn: Deno.TcpConn | undefined;
let counting = false;
let rtts: number[] = [];
let inFlight = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
const stamp = new Uint8Array(STAMP);
const stampView = new DataView(stamp.buffer);

self.onmessage = (e: MessageEvent<string>) => {
  if (e.data === "start") {
    counting = true;
  } else if (e.data === "stop") {
    counting = false;
    self.postMessage({ rtts });
    rtts = [];
  } else {
    clearTimeout(timer);
    try {
      listener.close();
    } catch { /* closed already */ }
    try {
      conn?.close();
    } catch { /* closed already */ }
    self.close();
  }
};

function next(): void {
  timer = setTimeout(fire, -Math.log(1 - Math.random()) * MEAN_GAP_MS);
}

function fire(): void {
  if (!conn) return;
  if (inFlight < MAX_IN_FLIGHT) {
    inFlight++;
    stampView.setFloat64(0, performance.timeOrigin + performance.now(), true);
    conn.write(stamp.slice()).catch(() => {});
  }
  next();
}

self.postMessage({ port: listener.addr.port });
try {
  conn = await listener.accept() as Deno.TcpConn;
  conn.setNoDelay(true);
  next();
  const buf = new Uint8Array(64 * STAMP);
  let have = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) break;
    const now = performance.timeOrigin + performance.now();
    have += n;
    const whole = have - have % STAMP;
    const view = new DataView(buf.buffer, 0, whole);
    for (let at = 0; at < whole; at += STAMP) {
      inFlight--;
      if (counting) rtts.push(now - view.getFloat64(at, true));
    }
    buf.copyWithin(0, whole, have);
    have -= whole;
  }
} catch { /* the probed thread went away, or close */ }
