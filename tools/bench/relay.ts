/**
 * A link with a delay, for a kernel without netem: a TCP relay on loopback that holds every chunk
 * it reads for `delayMs` before it writes it on, in each direction, in order. TLS passes through
 * untouched (the relay never reads it), so df and smft see one another as through a slow
 * network. A hold ends on smft's precise pacer (`wake`, ~0.1 ms late), not on Deno's timer: that
 * one ends ~1 ms late at its millisecond ticks, and calls at a constant rate lock onto those ticks
 * at a phase of their own each sitting, so the link's delay moved by up to ~1 ms from one client's
 * sitting to the next, and the bench's truth with it.
 *
 * Run alone: `deno run --allow-net tools/bench/relay.ts --to 127.0.0.1:50051 --delay-ms 2`
 * (prints `relay listening on 127.0.0.1:PORT` once it accepts).
 *
 * @module
 */
import * as net from "node:net";
import type { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { Pacer } from "../../smft/shared/pacer.ts";

/** A running relay. */
export interface Relay {
  port: number;
  /** Connections relayed so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** What one direction holds: chunks, then perhaps the end of the stream, each with its due time. */
interface Held {
  due: number;
  chunk?: Buffer;
  end?: true;
}

/** When holds end: the relay's pacer while it is open. */
interface HoldClock {
  now(): number;
  at(instant: number, run: () => void): void;
}

/** Moves `from`'s bytes to `to`, each held `delayMs`, in order; holds end on `pacer`. */
function pipeDelayed(from: net.Socket, to: net.Socket, delayMs: number, pacer: HoldClock): void {
  const queue: Held[] = [];
  let armed = false;
  const flush = () => {
    armed = false;
    const now = pacer.now();
    while (queue.length > 0 && queue[0].due <= now) {
      const h = queue.shift()!;
      if (to.destroyed) return;
      if (h.end) to.end();
      else to.write(h.chunk!);
    }
    arm();
  };
  const arm = () => {
    if (armed || queue.length === 0) return;
    armed = true;
    pacer.at(queue[0].due, flush);
  };
  const hold = (h: Held) => {
    queue.push(h);
    arm();
  };
  from.on("data", (chunk: Buffer) => hold({ due: pacer.now() + delayMs, chunk }));
  from.on("end", () => hold({ due: pacer.now() + delayMs, end: true }));
  from.on("close", () => {
    // The other side learns of an abrupt close only after the link's delay too, after what is
    // still held (due no later; the pacer runs equal instants in order).
    pacer.at(pacer.now() + delayMs, () => to.destroy());
  });
}

/**
 * Starts a relay on `127.0.0.1` (port 0: a free one) to `to`, holding each chunk `delayMs` in
 * each direction.
 */
export function startRelay(o: {
  to: { host: string; port: number };
  delayMs: number;
  port?: number;
}): Promise<Relay> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const pacer = new Pacer("wake");
  // Sockets destroyed by close() still report their end afterwards: nothing is held then.
  let closed = false;
  const clock: HoldClock = {
    now: () => pacer.now(),
    at: (instant, run) => {
      if (!closed) pacer.at(instant, run);
    },
  };
  const server = net.createServer({ noDelay: true }, (client) => {
    connections++;
    const upstream = net.connect({ host: o.to.host, port: o.to.port, noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {/* the other side is closed by the close handler */});
      s.on("close", () => sockets.delete(s));
    }
    pipeDelayed(client, upstream, o.delayMs, clock);
    pipeDelayed(upstream, client, o.delayMs, clock);
  });
  return pacer.ready().then(() =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(o.port ?? 0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port;
        resolve({
          port,
          get connections() {
            return connections;
          },
          close: () =>
            new Promise<void>((done) => {
              closed = true;
              for (const s of sockets) s.destroy();
              pacer.close();
              server.close(() => done());
            }),
        });
      });
    })
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      to: { type: "string" },
      "delay-ms": { type: "string", default: "2" },
      port: { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno run --allow-net tools/bench/relay.ts --to HOST:PORT [--delay-ms 2] [--port 0]\n" +
        "A TCP relay on 127.0.0.1 that holds every chunk --delay-ms in each direction (a link's delay).",
    );
    Deno.exit(0);
  }
  const m = /^(.+):(\d+)$/.exec(values.to ?? "");
  const delayMs = Number(values["delay-ms"]);
  if (!m || !Number.isFinite(delayMs) || delayMs < 0) {
    console.error("relay: --to HOST:PORT and a --delay-ms of 0 or more are required");
    Deno.exit(1);
  }
  const relay = await startRelay({
    to: { host: m[1], port: Number(m[2]) },
    delayMs,
    port: Number(values.port),
  });
  console.log(`relay listening on 127.0.0.1:${relay.port} -> ${values.to}, ${delayMs} ms each way`);
  Deno.addSignalListener("SIGTERM", () => relay.close().then(() => Deno.exit(0)));
  Deno.addSignalListener("SIGINT", () => relay.close().then(() => Deno.exit(0)));
}
