import assert from "node:assert/strict";
import { renderReport } from "./page.ts";
import { reportRunFromAccumulator } from "./model.ts";
import { Accumulator } from "../../smft/summary.ts";
import {
  assertOffline,
  bytes,
  coldRun,
  FIXED,
  META,
  steadyLines,
  steadyRun,
} from "./_test_fixtures.ts";

Deno.test("renderReport() makes one offline page under 1 MB with every run's name", () => {
  const html = renderReport([steadyRun(), coldRun()], FIXED);
  assertOffline(html);
  assert.ok(bytes(html) < 1_000_000, `${bytes(html)} bytes`);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok(html.includes("steady_a.jsonl"));
  assert.ok(html.includes("cold_a.jsonl"));
  // The charting library is inlined, not referenced.
  assert.ok(html.includes("uPlot"));
  assert.ok(/var uPlot=function/.test(html));
});

Deno.test("renderReport() shows the summary's figures, two decimals in ms", () => {
  const run = steadyRun();
  const html = renderReport([run], FIXED);
  const l = run.summary.latency!;
  for (const v of [l.p50, l.p90, l.p99, l.p999, l.max, l.mean, run.summary.service!.p99]) {
    assert.ok(html.includes(`>${v.toFixed(2)}<`), `${v.toFixed(2)} is not in the page`);
  }
  assert.ok(html.includes(">2,000<"), "request count");
  assert.ok(html.includes("99.80 %"), "success percentage");
  assert.ok(html.includes("UNAVAILABLE 4"), "errors by code");
  assert.ok(html.includes("df.internal:50051") && html.includes("TLS_AES_256_GCM_SHA384"));
  assert.ok(html.includes("loadhost-7") && html.includes("1.14.7") && html.includes("2.9.3"));
});

Deno.test("renderReport() shows each SLO verdict with a PASS or FAIL badge", () => {
  const html = renderReport([steadyRun()], FIXED);
  assert.match(html, /badge pass">PASS<\/span> p99 &lt; 10ms {2}\(measured 9\.12ms\)/);
  assert.match(html, /badge fail">FAIL<\/span> success &gt;= 99\.9% {2}\(measured 99\.80%\)/);
  assert.ok(html.includes("SLO not met"), "an overall banner");
});

Deno.test("renderReport() draws a chart per view and records how many it expects", () => {
  const steady = renderReport([steadyRun()], FIXED);
  assert.match(steady, /data-expected="4"/);
  for (
    const id of ["steady-latency-time", "steady-rate-time", "steady-errors-time", "steady-spectrum"]
  ) {
    assert.ok(steady.includes(`id="${id}"`), id);
  }
  const both = renderReport([steadyRun(), steadyRun("b.jsonl", { shift: 1 }), coldRun()], FIXED);
  // Two steady runs: a panel each for p50, p99 and max, requests, errors, the spectrum; cold: 2.
  assert.match(both, /data-expected="8"/);
  for (const id of ["steady-p50-time", "steady-p99-time", "steady-max-time"]) {
    assert.ok(both.includes(`id="${id}"`), id);
  }
  assert.ok(both.includes('id="cold-attempts-0"') && both.includes('id="cold-spectrum"'));
});

Deno.test("renderReport() escapes names, so a file name cannot inject markup or script", () => {
  const evil = `x</script><script>alert(1)</script><b>.jsonl`;
  const html = renderReport([steadyRun(evil), steadyRun()], FIXED);
  assert.ok(!html.includes("<script>alert(1)"));
  assert.ok(html.includes("x&lt;/script&gt;&lt;script&gt;alert(1)"));
  // Inside the chart data (legends) the name is JSON with "<" escaped, and reads back whole.
  const data = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s);
  assert.ok(data, "the chart data block ends where it should");
  assert.ok(JSON.stringify(JSON.parse(data[1])).includes(evil));
});

Deno.test("renderReport() stays under 1 MB for 4 hours of load and 20,000 attempts", () => {
  const acc = new Accumulator("01_steady");
  for (let s = 0; s < 4 * 3600; s++) {
    for (let k = 0; k < 2; k++) {
      acc.add({
        ok: true,
        latency_ms: 5 + k + (s % 13) * 0.2,
        lag_ms: 0.05,
        t_ms: s * 1000 + k * 500,
      });
    }
  }
  const long = reportRunFromAccumulator("hours.jsonl", "01_steady", acc, { rate: 2 });
  acc.destroy();
  // Seconds are grouped into windows, merged exactly: 14,400 s in 8 s windows.
  assert.equal(long.windowS, 8);
  assert.equal(long.perSecond.length, 1800);
  // Seconds 8–15: 16 values from 5.0 to 8.4 ms; the median is the 8th, 6.8 ms.
  const w = long.perSecond[1];
  assert.deepEqual([w.s, w.n, w.ok, w.errors, w.max, w.p99], [8, 16, 16, 0, 8.4, 8.4]);
  assert.ok(Math.abs(w.p50 - 6.8) < 0.01, `p50 ${w.p50}`);
  const html = renderReport([long, coldRun("many.jsonl", 20_000)], FIXED);
  assert.ok(bytes(html) < 1_000_000, `${bytes(html)} bytes`);
  assert.match(html, /per 8 s window/);
  assert.match(html, /each bar: mean of 34 attempts/);
});

Deno.test("renderReport() names every #META field smft writes in words: no raw keys", () => {
  const acc = new Accumulator("01_steady");
  for (const r of steadyLines()) acc.add(r);
  const run = reportRunFromAccumulator("steady_b.txt", "01_steady", acc, {
    ...META,
    connections: 2,
    pacing: "timer",
  });
  acc.destroy();
  const cold = coldRun();
  cold.meta = { ...cold.meta, warmup_attempts: 1 };
  const html = renderReport([run, cold], FIXED);
  // A field the report does not know is shown under its raw key; these are known now.
  for (const key of ["connections", "pacing", "warmup_attempts"]) {
    assert.ok(!html.includes(`<code class="muted">${key}</code>`), `${key} shown raw`);
  }
  assert.match(html, /<th>connections \(a thread each\)<\/th><td>2<\/td>/);
  assert.match(html, /<th>pacing \(how each connection's thread waited\)<\/th><td>timer<\/td>/);
  assert.match(html, /<th>warm-up attempts \(not recorded\)<\/th><td>–<\/td><td>1<\/td>/);
});
