import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { allPass, clauseLabel, formatSloVerdicts, judgeSlo, parseSlo } from "./slo.ts";
import type { Stat } from "./histogram.ts";
import type { Summary } from "./summary.ts";

const stat = (over: Partial<Stat> = {}): Stat => ({
  count: 100,
  mean: 6.1,
  min: 5.2,
  max: 12.5,
  p50: 6.0,
  p90: 6.9,
  p95: 7.3,
  p99: 8.23,
  p999: 11.0,
  ...over,
});

const steady: Summary = {
  test: "01_steady",
  total: 1000,
  ok: 999,
  failed: 1,
  successPct: 99.9,
  byCode: { OK: 999, DEADLINE_EXCEEDED: 1 },
  latency: stat(),
  service: stat({ p99: 7.5 }),
  lag: stat({ p99: 0.12 }),
  durationS: 5,
  achievedRate: 200,
};

const cold: Summary = {
  test: "02_coldconn",
  total: 10,
  ok: 10,
  failed: 0,
  successPct: 100,
  byCode: { OK: 10 },
  phases: { connect: stat({ p99: 21 }), total: stat({ p50: 25.5, p99: 31 }) },
  tlsVersions: { "TLSv1.3": 10 },
};

Deno.test("parseSlo() reads the issue's example into three clauses", () => {
  const c = parseSlo("p99<10ms,p50<7ms,success>=99.9%");
  deepStrictEqual(c.map(clauseLabel), ["p99 < 10ms", "p50 < 7ms", "success >= 99.9%"]);
  deepStrictEqual(c[0], {
    text: "p99<10ms",
    op: "<",
    kind: "latency",
    series: undefined,
    stat: "p99",
    threshold: 10,
    shown: "10ms",
  });
  deepStrictEqual(c[2], {
    text: "success>=99.9%",
    op: ">=",
    kind: "success",
    threshold: 99.9,
    shown: "99.9%",
  });
});

Deno.test("parseSlo() converts s and us to ms, and takes spaces and capitals", () => {
  const c = parseSlo(" p99.9 <= 10000us , P90 < 0.01s,max>2.5 MS ");
  deepStrictEqual(c.map((x) => x.threshold), [10, 10, 2.5]);
  deepStrictEqual(c.map(clauseLabel), ["p99.9 <= 10000us", "p90 < 0.01s", "max > 2.5ms"]);
});

Deno.test("parseSlo() reads p999 as p99.9, series and phases before a dot, errors and rate", () => {
  const c = parseSlo("p999<20ms,connect.p99<30ms,tls.p99.9<5ms,lag.mean<1ms,errors<=3,rate>=990/s");
  deepStrictEqual(c.map(clauseLabel), [
    "p99.9 < 20ms",
    "connect.p99 < 30ms",
    "tls.p99.9 < 5ms",
    "lag.mean < 1ms",
    "errors <= 3",
    "rate >= 990/s",
  ]);
});

Deno.test("parseSlo() names a malformed clause and the form it expects", () => {
  const cases: [string, RegExp][] = [
    ["", /^empty SLO: expected METRIC OP VALUE/],
    ["p99", /^SLO clause "p99": expected METRIC OP VALUE, e\.g\. p99<10ms/],
    ["p99<10", /^SLO clause "p99<10": a latency needs a unit: 10ms, 10s or 10us$/],
    ["p99<10m", /^SLO clause "p99<10m": unknown unit "m"; expected ms, s or us$/],
    ["p75<3ms", /^SLO clause "p75<3ms": unknown metric "p75"; metrics: p50 p90/],
    ["disk.p99<3ms", /^SLO clause "disk\.p99<3ms": unknown series "disk"; steady has/],
    ["p99 =< 3ms", /^SLO clause "p99 =< 3ms": expected METRIC OP VALUE/],
    ["p99<-3ms", /^SLO clause "p99<-3ms": expected METRIC OP VALUE/],
    ["success>=99ms", /^SLO clause "success>=99ms": success is a percentage/],
    ["success>=101%", /^SLO clause "success>=101%": success is a percentage from 0 to 100$/],
    ["errors<1%", /^SLO clause "errors<1%": errors is a count, without a unit/],
    ["rate>5ms", /^SLO clause "rate>5ms": rate is per second/],
    ["p99<10ms,", /^SLO "p99<10ms,": empty clause \(a doubled or trailing comma\)$/],
  ];
  for (const [text, message] of cases) throws(() => parseSlo(text), { message }, text);
});

Deno.test("judgeSlo() passes and fails steady clauses on their exact boundaries", () => {
  const v = judgeSlo(
    steady,
    parseSlo(
      "p99<8.23ms,p99<=8.23ms,p50<7ms,success>=99.9%,success>99.9%,errors<=1,errors<1,rate>=200/s,service.p99<8ms,lag.p99<0.1ms",
    ),
  );
  deepStrictEqual(v.map((x) => [clauseLabel(x.clause), x.pass, x.measured]), [
    ["p99 < 8.23ms", false, 8.23],
    ["p99 <= 8.23ms", true, 8.23],
    ["p50 < 7ms", true, 6],
    ["success >= 99.9%", true, 99.9],
    ["success > 99.9%", false, 99.9],
    ["errors <= 1", true, 1],
    ["errors < 1", false, 1],
    ["rate >= 200/s", true, 200],
    ["service.p99 < 8ms", true, 7.5],
    ["lag.p99 < 0.1ms", false, 0.12],
  ]);
  equal(allPass(v), false);
  equal(allPass(v.filter((x) => x.pass)), true);
});

Deno.test("judgeSlo() reads plain percentiles of a coldconn summary as total time", () => {
  const v = judgeSlo(cold, parseSlo("p50<26ms,p99<30ms,connect.p99<30ms"));
  deepStrictEqual(v.map((x) => [x.pass, x.measured]), [[true, 25.5], [false, 31], [true, 21]]);
});

Deno.test("judgeSlo() fails a clause whose figure the summary lacks, and says why", () => {
  const v = judgeSlo(steady, parseSlo("connect.p99<30ms,df.p99<6ms"));
  deepStrictEqual(v.map((x) => [x.pass, x.measured, x.reason]), [
    [false, null, "connect is not measured by 01_steady"],
    [false, null, "no successful calls with this figure"],
  ]);
  const none: Summary = { ...cold, total: 0, ok: 0, phases: {} };
  deepStrictEqual(judgeSlo(none, parseSlo("success>=99%,p99<1s,rate>1/s")).map((x) => x.reason), [
    "no results",
    "no successful attempt",
    "no duration known (no send times and no #META duration)",
  ]);
});

Deno.test("formatSloVerdicts() prints one line per clause, with enough decimals to explain a FAIL", () => {
  const v = judgeSlo(
    { ...steady, latency: stat({ p99: 8.234 }) },
    parseSlo("p99<10ms,p99<8.23ms,success>=99.95%,errors<=0,rate>=199.95/s,connect.p99<1ms"),
  );
  equal(
    formatSloVerdicts(v),
    [
      "PASS  p99 < 10ms  (measured 8.23ms)",
      "FAIL  p99 < 8.23ms  (measured 8.234ms)",
      "FAIL  success >= 99.95%  (measured 99.90%)",
      "FAIL  errors <= 0  (measured 1)",
      "PASS  rate >= 199.95/s  (measured 200.0/s)",
      "FAIL  connect.p99 < 1ms  (not measured: connect is not measured by 01_steady)",
    ].join("\n"),
  );
});
