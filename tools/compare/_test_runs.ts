/**
 * Test support for `tools/compare/`: synthetic steady and coldconn runs as results file text.
 * Private to the comparison's tests.
 *
 * @internal
 * @module
 */
import { seededRandom } from "../random.ts";
import { lines } from "../test_files.ts";

/**
 * A synthetic steady run, 60 s at 100/s: 5 ms plus a slow swell shared by each second (what
 * makes single requests autocorrelated) plus per-request noise with a long tail. `shift` is
 * added to every latency; `shuffle` deals the same latencies out to the requests in another order.
 */
export function steadyRun(
  seed: number,
  opts: { shift?: number; shuffle?: number; shard?: string; valid?: boolean } = {},
): string {
  const rnd = seededRandom(seed);
  const latencies: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const swell = 0.4 * Math.sin(Math.floor(i / 100) / 4);
    const noise = -Math.log(1 - rnd()) * 0.5;
    latencies.push(5 + swell + noise);
  }
  if (opts.shuffle !== undefined) {
    const r = seededRandom(opts.shuffle);
    for (let i = latencies.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [latencies[i], latencies[j]] = [latencies[j], latencies[i]];
    }
  }
  const body = latencies.map((l, i) =>
    JSON.stringify({
      ok: true,
      latency_ms: Number((l + (opts.shift ?? 0)).toFixed(3)),
      t_ms: i * 10,
    })
  );
  const meta = {
    rate: 100,
    duration_s: 60,
    ...(opts.shard ? { run_id: "b", shard: opts.shard } : {}),
  };
  const end = { count: 6000, ...(opts.valid !== undefined ? { valid: opts.valid } : {}) };
  return lines(
    "#TEST=01_steady",
    `#META=${JSON.stringify(meta)}`,
    ...body,
    `#END=${JSON.stringify(end)}`,
  );
}

/** A synthetic coldconn run: `n` independent attempts. */
export function coldRun(seed: number, n: number, totalShift = 0): string {
  const rnd = seededRandom(seed);
  const body: string[] = [];
  for (let i = 0; i < n; i++) {
    const connect = Number((15 + rnd() * 5).toFixed(3));
    const rpc = Number((5 + rnd() * 2).toFixed(3));
    body.push(JSON.stringify({
      ok: true,
      t_connect_ms: connect,
      t_first_rpc_ms: rpc,
      t_total_ms: Number((connect + rpc + totalShift).toFixed(3)),
      t_ms: i * 1000,
    }));
  }
  return lines("#TEST=02_coldconn", ...body);
}

/** The run most tests compare against. */
export const A: string = steadyRun(7);
