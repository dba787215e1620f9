import assert from "node:assert/strict";
import { IoProbe } from "./io_probe.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Blocks this thread for `ms` (as a long callback or a GC pause would). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
}

Deno.test("IoProbe times its stamps from their send until this thread reads them, from start() to stop(), and their round trips beside", async () => {
  const probe = await IoProbe.start();
  assert.ok(probe, "the probe starts (a worker and a loopback socket)");
  try {
    await sleep(100); // before start(): not counted
    probe.start();
    await sleep(400);
    const r = await probe.stop();
    assert.ok(r, "some probes were timed");
    // ~200 a second: well over 20 in 0.4 s, whatever the machine.
    assert.ok(r.samples >= 20, `${r.samples} probes`);
    assert.ok(Number.isFinite(r.floorUs), `floor ${r.floorUs} µs`);
    assert.equal(r.hist.totalCount, r.samples);
    assert.ok(r.rttHist && r.rttHist.totalCount >= 20, "the echoes came back and were timed");
    r.hist.destroy();
    r.rttHist.destroy();
  } finally {
    probe.close();
  }
});

Deno.test("IoProbe sees a thread that cannot read its sockets: blocked 40 ms at a time, its slowest probe waits for it", async () => {
  const probe = await IoProbe.start();
  assert.ok(probe);
  try {
    probe.start();
    for (let i = 0; i < 5; i++) {
      await sleep(20);
      block(40);
    }
    await sleep(50);
    const r = (await probe.stop())!;
    // Bytes keep arriving while the thread is blocked (another thread sends them): those wait
    // for the block to end, up to 40 ms, and 5 blocks of 40 ms in ~0.35 s are over 1/2 the time.
    assert.ok(r.hist.maxValue >= 20_000, `slowest excess ${r.hist.maxValue} µs`);
    assert.ok(
      r.hist.getValueAtPercentile(75) >= 5_000,
      `p75 ${r.hist.getValueAtPercentile(75)} µs`,
    );
    r.hist.destroy();
  } finally {
    probe.close();
  }
});
