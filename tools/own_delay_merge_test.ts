/**
 * The generator's own delay travels in `#END` (`own_delay`, `histograms.read_gap_us` over
 * `read_window_ms`) and merges across shards like every other histogram: the tools show the
 * merged read side, never one shard's.
 */
import { equal, ok } from "node:assert/strict";
import { summarizeCommand } from "./summarize.ts";
import { reportCommand } from "./report/command.ts";
import { lines, withFiles } from "./test_files.ts";
import { encodeHistogram, newHistogram } from "../smft/histogram.ts";

/** A shard's busy intervals: `turns` 2 µs turns and one stall of `stallUs`. */
function gaps(turns: number, stallUs: number): string {
  const h = newHistogram();
  h.recordValueWithCount(2, turns);
  if (stallUs > 0) h.recordValue(stallUs);
  const enc = encodeHistogram(h);
  h.destroy();
  return enc;
}

function shard(k: number, stallUs: number, readP99: number): string {
  const meta = {
    run_id: "r1",
    test: "01_steady",
    target: "10.0.0.5:50051",
    rate: 200,
    host_rate: 100,
    duration_s: 1,
    start_epoch_ms: 1_795_577_906_833,
    shard: `${k}/2`,
  };
  const body = Array.from(
    { length: 100 },
    (_, i) =>
      JSON.stringify({ ok: true, latency_ms: 2, service_ms: 2, lag_ms: 0.01, t_ms: i * 10 + k }),
  );
  const end = {
    count: 100,
    valid: true,
    verdict_calls: 100,
    achieved_rps: 100,
    own_delay: { send_p50_ms: 0.01, send_p99_ms: 0.01, read_p50_ms: 0, read_p99_ms: readP99 },
    read_window_ms: 1000,
    histograms: { read_gap_us: gaps(400_000, stallUs) },
  };
  return lines(
    "#TEST=01_steady",
    `#META=${JSON.stringify(meta)}`,
    ...body,
    `#END=${JSON.stringify(end)}`,
  );
}

Deno.test("merged shards keep the generator's own delay: the read side is the merged histogram's over both windows", async () => {
  // Shard 1 stalled 40 ms in its 1 s, shard 2 never: over 2 s of thread time, 2 % of arrivals
  // fall in the stall, so the merged read p99 is (40 − 20) ms = 20 ms (shard 1 alone: 30 ms).
  await withFiles({ "a.txt": shard(1, 40_000, 30), "b.txt": shard(2, 0, 0) }, async (p) => {
    const one = await summarizeCommand([p("a.txt")]);
    ok(/read p50 0\.00 \/ p99 30\.0\d ms/.test(one.stdout), one.stdout);
    const both = await summarizeCommand([p("a.txt"), p("b.txt")]);
    equal(both.code, 0, both.stderr);
    ok(both.stdout.includes("merged (2 of 2 shards of run_id r1)"), both.stdout);
    ok(/read p50 0\.00 \/ p99 20\.0\d ms/.test(both.stdout), both.stdout);
    const json = JSON.parse((await summarizeCommand([p("a.txt"), p("b.txt"), "--json"])).stdout);
    ok(Math.abs(json.summary.ownDelay.readP99 - 20) < 0.05, JSON.stringify(json.summary.ownDelay));
    equal(json.summary.ownDelay.readWindowS, 2);
    // Every call took 2 ms: the merged read delay added to each moves the p99 by its own p99.
    const moves = json.summary.ownDelay.moves;
    // (The read delay is sampled at 10,000 levels: on this tail, 0.2 ms a level.)
    ok(Math.abs(moves.readP99 - 20) < 0.15 && moves.sendP99 === 0, JSON.stringify(moves));
    ok(
      /moves the p50 2\.00 ms by 0\.00 ms, the p99 2\.00 ms by (19\.9|20\.0)\d ms/.test(
        both.stdout,
      ),
      both.stdout,
    );
    const out = p("r.html");
    const r = await reportCommand([p("a.txt"), p("b.txt"), "--out", out]);
    equal(r.code, 0, r.stderr);
    ok(
      (await Deno.readTextFile(out)).includes(
        "generator's own delay (how far it moves them, send + read)",
      ),
    );
  });
});
