/**
 * The far end of the I/O probe (`io_probe.ts`), in a thread of its own: it listens on 127.0.0.1,
 * and once the probed thread has connected, sends it one byte at random instants (Poisson) and
 * times each until it comes back. The probed thread echoes what it reads at once, so a round trip
 * is the loopback, this thread's own prompt wake-up (it sleeps in its event loop's poll), and the
 * probed thread's reading and writing, late or not. Round trips are kept here and handed over
 * when asked: the probed thread does no more per probe than echo a byte.
 *
 * Messages in: `"start"` (count from now), `"stop"` (answer the round trips counted, ms, and stop
 * counting), `"close"`. Out: `{ port }` once listening, `{ rtts }` for each `"stop"`.
 *
 * @module
 */
/// <reference lib="deno.worker" />

/** Mean gap between probes, ms: ~200 a second. */
const MEAN_GAP_MS = 5;
/** At most this many probes in flight: a thread stalled for long is not sent a burst. */
const MAX_IN_FLIGHT = 8;

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
let conn: Deno.TcpConn | undefined;
let counting = false;
let rtts: number[] = [];
const sent: number[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
const BYTE = new Uint8Array([0x2a]);

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
  if (sent.length < MAX_IN_FLIGHT) {
    sent.push(performance.now());
    conn.write(BYTE).catch(() => {});
  }
  next();
}

self.postMessage({ port: listener.addr.port });
try {
  conn = await listener.accept() as Deno.TcpConn;
  conn.setNoDelay(true);
  next();
  const buf = new Uint8Array(64);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      const at = sent.shift();
      if (at !== undefined && counting) rtts.push(now - at);
    }
  }
} catch { /* the probed thread went away, or close */ }
