import assert from "node:assert/strict";
import {
  achievedRate,
  formatRunVerdict,
  hostPressureLimit,
  invalidCause,
  judgeRun,
  ownP99Limit,
  RUN_RULES,
  verdictFromEnd,
} from "./verdict.ts";
import type { OwnDelay } from "./own_delay.ts";

Deno.test("achievedRate() gives exactly the target to a generator that kept its plan", () => {
  // 1000 requests at 500/s, the last issued at 1998 ms after the start: the window is 2 s.
  const r = achievedRate({
    issued: 1000,
    firstDue: 10_000,
    lastIssued: 10_000 + 1998,
    hostRate: 500,
  });
  assert.equal(r.windowS, 2);
  assert.equal(r.rate, 500);
  assert.deepEqual(achievedRate({ issued: 0, firstDue: 0, lastIssued: 0, hostRate: 500 }), {
    rate: 0,
    windowS: 0,
  });
});

Deno.test("achievedRate() shows a generator that finished late", () => {
  // The same 1000 requests, the last one issued 500 ms late.
  const r = achievedRate({ issued: 1000, firstDue: 0, lastIssued: 2498, hostRate: 500 });
  assert.ok(r.rate < 401 && r.rate > 399, String(r.rate));
});

const quiet: OwnDelay = { sendP50: 0.01, sendP99: 0.12, readP50: 0, readP99: 0.1 };
const lat = (p50: number, p99: number) => ({ p50, p99 });

Deno.test("judgeRun() is VALID when the rate is held and the own delay is a small part of the figures, whatever the server or link", () => {
  // DELAY_MS=0 on loopback: a sub-millisecond p99 and a df that handles in 0.01 ms.
  const bare = judgeRun({
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own: quiet,
    latency: lat(0.55, 1.9),
  });
  assert.equal(bare.valid, true, bare.reasons.join());
  // A 2 ms link each way: p99 far above the server's handling, still the server's and the link's.
  const far = judgeRun({
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own: quiet,
    latency: lat(9.6, 11.2),
  });
  assert.equal(far.valid, true);
  assert.match(
    formatRunVerdict(far),
    /^VALID: .*own delay at p50 0\.01 ms, at p99 0\.22 ms of 11\.20 ms; on 1200 measured calls\)$/,
  );
});

Deno.test("judgeRun() names the read side when responses wait for the thread, and says what to do", () => {
  const own: OwnDelay = { sendP50: 0.01, sendP99: 0.1, readP50: 0.02, readP99: 2.4 };
  const v = judgeRun({
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own,
    latency: lat(0.7, 4.1),
  });
  assert.equal(v.valid, false);
  assert.match(
    v.reasons[0],
    /^own delay at p99 2\.50 ms \(send 0\.10 \+ read 2\.40\) is over 15 % of the p99 4\.10 ms \(limit 0\.6[12] ms\): mostly the read side$/,
  );
  const text = formatRunVerdict(v);
  assert.match(text, /^INVALID: the generator's own delay can move the figures \(read side\) \(/);
  assert.match(text, /Try: fewer calls per connection \(--connections N\), a quieter load host/);
  assert.equal(
    invalidCause(v.reasons),
    "the generator's own delay can move the figures (read side)",
  );
});

Deno.test("an INVALID verdict on a host short of CPU says so (Linux PSI), whichever side", () => {
  const own: OwnDelay = { sendP50: 0.01, sendP99: 3, readP50: 0.02, readP99: 3 };
  const v = judgeRun({
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own,
    latency: lat(1, 9),
    hostPressurePct: 63.4,
  });
  assert.match(
    formatRunVerdict(v),
    /The load host was short of CPU \(some thread waited for one 63 % of the time\)/,
  );
});

Deno.test("judgeRun() is INVALID on a load host short of CPU (PSI over 10 % + 1.5 % per 100/s) even when its own delay looks small", () => {
  const v = judgeRun({
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own: quiet,
    latency: lat(0.6, 1.9),
    hostPressurePct: 19.3,
  });
  assert.equal(v.valid, false);
  assert.deepEqual(v.reasons, [
    "host: the load host was short of CPU (some thread waited for one 19.3 % of the measurement, limit 13 % at 200/s)",
  ]);
  assert.match(formatRunVerdict(v), /^INVALID: the load host was short of CPU \(host: /);
  assert.equal(
    judgeRun({
      targetRate: 200,
      achievedRate: 200,
      calls: 1200,
      own: quiet,
      latency: lat(0.6, 1.9),
      hostPressurePct: 12.9,
    }).valid,
    true,
  );
  // The limit grows with the rate (a wake-up per call waits for its core), up to 30 %.
  assert.equal(hostPressureLimit(1000), 25);
  assert.equal(hostPressureLimit(5000), 30);
});

Deno.test("judgeRun() names the send side, and judges the p50 by an absolute bound", () => {
  const own: OwnDelay = { sendP50: 0.35, sendP99: 0.5, readP50: 0.01, readP99: 0.05 };
  const v = judgeRun({
    targetRate: 1000,
    achievedRate: 1000,
    calls: 6000,
    own,
    latency: lat(5.6, 7.0),
  });
  assert.equal(v.valid, false);
  assert.equal(v.reasons.length, 1);
  assert.match(
    v.reasons[0],
    /^own delay at p50 0\.36 ms .* is over 0\.2 ms: mostly the send side$/,
  );
  assert.equal(
    invalidCause(v.reasons),
    "the generator's own delay can move the figures (send side)",
  );
});

Deno.test("judgeRun() allows a small own delay on a sub-millisecond p99 (the floor)", () => {
  assert.equal(ownP99Limit(0.5), RUN_RULES.ownP99FloorMs);
  assert.equal(ownP99Limit(10), 1);
  // Without the moves (coldconn, older files), the two sides' p99s added, at the sum's share.
  assert.equal(ownP99Limit(10, { sendP50: 0, sendP99: 0.1 }), 1.5);
  const own: OwnDelay = { sendP50: 0.01, sendP99: 0.08, readP50: 0, readP99: 0.06 };
  assert.equal(
    judgeRun({ targetRate: 100, achievedRate: 100, calls: 600, own, latency: lat(0.3, 0.5) }).valid,
    true,
  );
});

Deno.test("judgeRun() says the generator fell behind when the rate was not held", () => {
  const slow = judgeRun({
    targetRate: 1000,
    achievedRate: 980,
    calls: 6000,
    own: quiet,
    latency: lat(5, 7),
  });
  assert.equal(slow.valid, false);
  assert.match(
    slow.reasons[0],
    /^rate: achieved 980\.0\/s vs target 1000\.0\/s \(2\.0 % off, limit 1 %\)$/,
  );
  assert.match(formatRunVerdict(slow), /^INVALID: the generator fell behind \(rate: /);
});

Deno.test("judgeRun() judges the own delay only on 100 calls or more, and says how many calls it rests on", () => {
  const own: OwnDelay = { sendP50: 30, sendP99: 35, readP50: 0, readP99: 0 };
  const short = judgeRun({
    targetRate: 20,
    achievedRate: 20,
    calls: 20,
    own,
    latency: lat(40, 50),
  });
  assert.equal(short.valid, true);
  assert.equal(short.lagJudged, false);
  assert.match(
    formatRunVerdict(short),
    /too few calls to judge the own delay \(20 < 100; not judged\); on 20 measured calls/,
  );
  const enough = judgeRun({
    targetRate: 100,
    achievedRate: 100,
    calls: 100,
    own,
    latency: lat(40, 50),
  });
  assert.equal(enough.valid, false);
  assert.match(formatRunVerdict(enough), /on 100 measured calls\)/);
});

Deno.test("formatRunVerdict() says interrupted, not 'fell behind', for a stopped run", () => {
  const none = judgeRun({ targetRate: 50, achievedRate: 0, calls: 0, interrupted: true });
  assert.equal(
    formatRunVerdict(none),
    "INTERRUPTED before the first measured call: nothing to judge",
  );
  const some = formatRunVerdict(
    judgeRun({ targetRate: 50, achievedRate: 50, calls: 40, interrupted: true }),
  );
  assert.match(
    some,
    /^INTERRUPTED: stopped by a signal; on 40 measured calls; the part that ran is VALID/,
  );
  assert.equal(
    formatRunVerdict(judgeRun({ targetRate: 5, achievedRate: 0, calls: 0 })),
    "INVALID: no measured calls",
  );
});

Deno.test("verdictFromEnd() words a file's verdict as smft did; files of the earlier rules keep their cause", () => {
  const own: OwnDelay = { sendP50: 0.01, sendP99: 0.1, readP50: 0.02, readP99: 2.4 };
  const v = judgeRun({
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own,
    latency: lat(0.7, 4.1),
  });
  const end = {
    valid: v.valid,
    verdict_reasons: v.reasons,
    verdict_calls: 1200,
    lag_judged: true,
    achieved_rps: 200,
    interrupted: false,
    own_delay: { send_p50_ms: 0.01, send_p99_ms: 0.1, read_p50_ms: 0.02, read_p99_ms: 2.4 },
  };
  const back = verdictFromEnd(end, { host_rate: 200 }, lat(0.7, 4.1));
  assert.equal(formatRunVerdict(back!), formatRunVerdict(v));
  assert.equal(verdictFromEnd({ count: 3 }, {}), undefined);
  assert.equal(invalidCause(["lag p99 1.20 ms (limit 1 ms)"]), "the generator fell behind");
  assert.match(
    invalidCause([
      "p99 9 ms is 3x the server's own 3 ms (limit 1.3x): more is outside the server's own handling than the generator and the network may add",
    ]),
    /an earlier rule/,
  );
});

Deno.test("judgeRun(): steady spinning beside its server is INVALID on that alone, worded so, with what to do", () => {
  const own = { sendP50: 0.01, sendP99: 0.1, readP50: 0.01, readP99: 0.1 };
  const healthy = {
    targetRate: 200,
    achievedRate: 200,
    calls: 1200,
    own,
    latency: { p50: 5.6, p99: 6.8 },
  };
  assert.equal(judgeRun(healthy).valid, true);
  const v = judgeRun({ ...healthy, spinBesideServer: true });
  assert.equal(v.valid, false);
  assert.equal(v.reasons.length, 1);
  assert.equal(invalidCause(v.reasons), "a spinning generator shares the server's host");
  assert.match(formatRunVerdict(v), /^INVALID: a spinning generator shares the server's host \(/);
  assert.match(formatRunVerdict(v), /Try: --pacing wake/);
  assert.match(formatRunVerdict(v), /these figures include what its spinning took from the server/);
  // With another reason too, the cause names the generator's own side.
  const both = judgeRun({ ...healthy, spinBesideServer: true, own: { ...own, readP50: 0.5 } });
  assert.match(invalidCause(both.reasons), /own delay/);
});
