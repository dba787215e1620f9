import assert from "node:assert/strict";
import { phaseSegments, reportRunFromAccumulator, spectrumOf } from "./model.ts";
import { Series } from "../../smft/histogram.ts";
import { Accumulator } from "../../smft/summary.ts";
import { steadyRun } from "./_test_fixtures.ts";

Deno.test("spectrumOf() runs from the minimum to the exact maximum at rank n", () => {
  const s = new Series(false);
  for (let i = 1; i <= 1000; i++) s.record(i / 100);
  const sp = spectrumOf(s);
  assert.deepEqual(sp[0], [0, 0.01]);
  const [pLast, vLast] = sp[sp.length - 1];
  assert.equal(vLast, 10);
  assert.ok(Math.abs(pLast - 99.9) < 1e-9);
  for (let i = 1; i < sp.length; i++) {
    assert.ok(sp[i][0] > sp[i - 1][0] && sp[i][1] >= sp[i - 1][1], `not monotonic at ${i}`);
  }
  assert.ok(sp.length > 25, "dense enough for a smooth curve");
  assert.deepEqual(spectrumOf(new Series(false)), []);
});

Deno.test("phaseSegments() turns cumulative phase times into durations", () => {
  const s = phaseSegments({ dns: 0.1, tcp: 0.4, tls: 2.1, h2: 3.0, connect: 3.3, first_rpc: 6.1 });
  const round = (v: number) => Math.round(v * 1000) / 1000;
  assert.deepEqual(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v)])), {
    start: 0,
    dns: 0.1,
    tcp: 0.3,
    tls: 1.7,
    h2: 0.9,
    rest: 0.3,
    first_rpc: 6.1,
  });
  // Seed files have no phases: all of connect is "rest"; clock noise never goes negative.
  assert.equal(phaseSegments({ connect: 19.4, first_rpc: 6 }).rest, 19.4);
  assert.equal(phaseSegments({ dns: 0.5, tcp: 0.4 }).tcp, 0);
  // grpc-js's start-up is its own segment; an IP target (no lookup) has no DNS time.
  const ip = phaseSegments({ start: 0.9, dns: 0.9, tcp: 1.2, connect: 5 });
  assert.equal(round(ip.start), 0.9);
  assert.equal(ip.dns, 0);
  assert.equal(round(ip.tcp), 0.3);
});

Deno.test("reportRunFromAccumulator() warns when the generator fell behind", () => {
  const acc = new Accumulator("01_steady");
  for (let i = 0; i < 200; i++) {
    acc.add({
      ok: true,
      latency_ms: 8,
      service_ms: 5,
      lag_ms: i % 10 === 0 ? 3 : 0.05,
      t_ms: i * 10,
    });
  }
  const run = reportRunFromAccumulator("late.jsonl", "01_steady", acc);
  acc.destroy();
  assert.ok(run.notes?.some((n) => n.includes("fell behind")), JSON.stringify(run.notes));
  assert.equal(steadyRun().notes?.length, 0);
});
