import assert from "node:assert/strict";
import { formatLadder, type LadderInput, laddersOf } from "./ladder.ts";
import { shortNames } from "./_format.ts";
import { perSecondCharts } from "./charts.ts";
import { steadySpectrum } from "./spectrum_charts.ts";
import { ladderCharts } from "./ladder_charts.ts";
import { coldRun, steadyRun } from "./_test_fixtures.ts";
import { coldSpectrum } from "./spectrum_charts.ts";
import { parseSlo } from "../../smft/slo.ts";
import type { Summary } from "../../smft/summary.ts";

function point(rate: number, p99: number, o: Partial<LadderInput> & { failed?: number } = {}) {
  const stat = {
    count: 1000,
    mean: 5,
    min: 4,
    max: p99 * 2,
    p50: 5,
    p90: 6,
    p95: 7,
    p99,
    p999: p99 * 1.5,
  };
  const summary = {
    test: "01_steady",
    total: 1000,
    ok: 1000 - (o.failed ?? 0),
    failed: o.failed ?? 0,
    successPct: 100 - (o.failed ?? 0) / 10,
    byCode: {},
    latency: stat,
    achievedRate: rate,
  } as Summary;
  return {
    name: `${rate}rps`,
    files: [`r_${rate}rps.txt`],
    meta: { rate, target: "df:50051" },
    summary,
    valid: true,
    ...o,
  } as LadderInput;
}

Deno.test("the knee with an SLO: the highest VALID rate that met it, below the first that did not", () => {
  const slo = (pass: boolean) => ({ pass, failed: pass ? [] : ["p99 < 10ms (measured 14ms)"] });
  const [l] = laddersOf([
    point(1000, 8, { slo: slo(true) }),
    point(500, 6, { slo: slo(true) }),
    point(1500, 14, { slo: slo(false) }),
    point(2000, 9, { slo: slo(true) }),
  ], true);
  assert.deepEqual(l.points.map((p) => p.rate), [500, 1000, 1500, 2000]);
  assert.equal(l.points[l.knee!].rate, 1000);
  assert.equal(l.stop, 2);
  assert.match(
    l.text,
    /^knee at 1000\/s: the highest rate that met the SLO with a VALID run; at 1500\/s the SLO failed \(p99 < 10ms/,
  );
  assert.match(l.text, /2000\/s held again above it/);
  const table = formatLadder(l);
  assert.match(table, /^Ladder: 4 runs of 01_steady against df:50051, by offered rate/);
  assert.match(table, /1000 .* <- knee/);
  assert.match(table, /1500 .* <- stop/);
});

Deno.test("an INVALID run stops the walk: nothing is known of the server above it", () => {
  const [l] = laddersOf([
    point(500, 6, { slo: { pass: true, failed: [] } }),
    point(1000, 7, { slo: { pass: true, failed: [] }, valid: false, reasons: ["lag p99 2 ms"] }),
  ], true);
  assert.equal(l.points[l.knee!].rate, 500);
  assert.match(
    l.text,
    /at 1000\/s smft's own verdict is INVALID: the generator fell behind \(lag p99 2 ms\)/,
  );
});

Deno.test("the knee without an SLO: where p99 leaves 1.5× (and 1 ms) of the lowest rate's", () => {
  const [l] = laddersOf([point(200, 6), point(400, 6.8), point(600, 8.9), point(800, 9.2)], false);
  // Limit max(9, 7) = 9 ms: 8.9 holds, 9.2 does not.
  assert.equal(l.baseline?.limit, 9);
  assert.equal(l.points[l.knee!].rate, 600);
  assert.match(l.text, /^knee at 600\/s: the highest rate whose p99 stayed within 1.5×/);
  assert.match(l.text, /at 800\/s p99 rose to 9.20 ms, above 9.00 ms/);
  // Sub-millisecond p99s: the 1 ms floor, not 1.5×, decides.
  const [small] = laddersOf([point(100, 0.5), point(200, 1.2), point(300, 1.6)], false);
  assert.equal(small.points[small.knee!].rate, 200);
  // Errors count too: one point more than the baseline's error rate.
  const [errs] = laddersOf([point(100, 5), point(200, 5, { failed: 20 })], false);
  assert.equal(errs.knee, 0);
  assert.match(errs.text, /errors rose to 2.00 %/);
  // Every rate held.
  const [all] = laddersOf([point(100, 5), point(200, 5)], false);
  assert.match(all.text, /^knee above 200\/s: every rate held/);
});

Deno.test("laddersOf finds ladders per target, and none among runs at one rate", () => {
  assert.equal(laddersOf([point(500, 5), point(500, 6)], false).length, 0);
  const other = point(800, 5, { meta: { rate: 800, target: "other:1" } });
  assert.equal(laddersOf([point(500, 5), point(600, 6), other], false).length, 1);
});

Deno.test("shortNames keeps only what tells files apart", () => {
  assert.deepEqual(
    shortNames(["r/01_steady_results_500rps.txt", "r/01_steady_results_1000rps.txt"]),
    ["500rps", "1000rps"],
  );
  assert.deepEqual(shortNames(["before.txt", "after.txt"]), ["before", "after"]);
  assert.deepEqual(shortNames(["h1/01_steady.txt", "h2/01_steady.txt"]), ["h1", "h2"]);
  assert.deepEqual(shortNames(["a.txt", "a_x.txt"]), ["a", "a_x"]);
  assert.deepEqual(shortNames(["only/one.txt"]), ["one.txt"]);
});

/** Within one chart, no two series may look alike: the legend could not tell them apart. */
function assertDistinct(
  series: { label: string; color: string; dash?: number[]; bars?: boolean; pointsOnly?: boolean }[],
) {
  const keys = series.map((s) =>
    `${s.color}|${s.pointsOnly ? "ring" : s.bars ? "bar" : "line"}|${s.dash?.join(",") ?? "solid"}`
  );
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
  assert.deepEqual(twice, [], series.map((s) => s.label).join(", "));
}

Deno.test("every chart's series differ in colour or dash, for one run, several, and a ladder", () => {
  const one = steadyRun();
  const many = Array.from(
    { length: 9 },
    (_, i) => ({ ...steadyRun(`s${i}.txt`), color: undefined }),
  );
  for (const c of [...perSecondCharts([one], "s"), steadySpectrum([one])]) assertDistinct(c.series);
  for (const c of [...perSecondCharts(many, "m"), steadySpectrum(many)]) assertDistinct(c.series);
  assertDistinct(coldSpectrum([coldRun(), coldRun("b.jsonl")]).series);
  const [l] = laddersOf([point(500, 6, { valid: false }), point(1000, 9)], false);
  for (const c of ladderCharts(l, 0, parseSlo("p99<10ms,p50<7ms"))) assertDistinct(c.series);
  // "max" and "generator lag p99" no longer share a grey; response and service time differ.
  const [time] = perSecondCharts([one], "s");
  const color = (label: string) => time.series.find((s) => s.label === label)?.color;
  assert.notEqual(color("max"), color("generator lag p99"));
  // Requests and errors are two panels, each from 0 on its own axis.
  assert.deepEqual(perSecondCharts([one], "s").map((c) => c.id), [
    "s-latency-time",
    "s-rate-time",
    "s-errors-time",
  ]);
});

Deno.test("a spectrum of few values is its exact steps, and every curve reaches the right edge", () => {
  const spec = coldSpectrum([coldRun("c.jsonl", 20)]);
  const total = spec.series.find((s) => s.label === "connect + first RPC")!;
  assert.equal(total.stepped, true);
  // The last x is the axis' end (a whole "nine"), and every curve has a value there.
  const top = spec.x[spec.x.length - 1];
  assert.equal(top, 100);
  for (const s of spec.series) assert.notEqual(s.y[s.y.length - 1], null, s.label);
  // The steady spectrum's log axis follows response time, not the generator's tiny lag.
  const st = steadySpectrum([steadyRun()]);
  if (st.logY) assert.ok(st.yRange![0] > 1, `floor ${st.yRange![0]}`);
});

Deno.test("summarize prints a ladder's table and knee, and --json carries it", async () => {
  const { summarizeCommand } = await import("../summarize.ts");
  const { lines, withFiles } = await import("../test_files.ts");
  const file = (rate: number, ms: number, valid = true) =>
    lines(
      "#TEST=01_steady",
      `#META=${
        JSON.stringify({
          test: "01_steady",
          target: "localhost:50051",
          rate,
          duration_s: 1,
          shard: "1/1",
          start_epoch_ms: 1_795_577_906_833 + rate,
        })
      }`,
      ...Array.from({ length: rate }, (_, i) =>
        JSON.stringify({
          ok: true,
          latency_ms: ms,
          service_ms: ms,
          lag_ms: 0.01,
          t_ms: i * 1000 / rate,
        })),
      `#END=${JSON.stringify({ count: rate, valid })}`,
    );
  await withFiles({
    "l_500rps.txt": file(500, 5),
    "l_1000rps.txt": file(1000, 6),
    "l_1500rps.txt": file(1500, 12),
    "l_2000rps.txt": file(2000, 40, false),
  }, async (p) => {
    const names = ["l_500rps.txt", "l_1000rps.txt", "l_1500rps.txt", "l_2000rps.txt"].map(p);
    const r = await summarizeCommand([...names, "--slo", "p99<10ms"]);
    // The 2000/s step is INVALID and fails the SLO: 5, as a steady ladder's worst rate exits.
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stdout,
      /\nLadder: 4 runs of 01_steady against localhost:50051, by offered rate\n/,
    );
    assert.match(
      r.stdout,
      /\n\s+1000\s+1000\.0\s+0\.00\s+6\.00\s+6\.00\s+6\.00\s+6\.00\s+VALID\s+pass\s+<- knee /,
    );
    assert.match(
      r.stdout,
      /\nKnee: knee at 1000\/s: the highest rate that met the SLO with a VALID run; at 1500\/s the SLO failed \(p99 < 10ms \(measured 12\.00ms\)\)/,
    );
    const plain = await summarizeCommand(names);
    assert.match(
      plain.stdout,
      /Knee: knee at 1000\/s: the highest rate whose p99 stayed within 1\.5×/,
    );
    const j = JSON.parse((await summarizeCommand([...names, "--json"])).stdout);
    assert.equal(j.ladders.length, 1);
    assert.deepEqual(j.ladders[0].points.map((x: { rate: number }) => x.rate), [
      500,
      1000,
      1500,
      2000,
    ]);
    assert.equal(j.ladders[0].points[j.ladders[0].knee].rate, 1000);
  });
});
