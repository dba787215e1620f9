import assert from "node:assert/strict";
import { join } from "node:path";
import {
  phaseSegments,
  renderReport,
  reportCommand,
  type ReportRun,
  reportRunFromAccumulator,
  spectrumOf,
} from "./report.ts";
import { Series } from "../smft/histogram.ts";
import { Accumulator } from "../smft/summary.ts";

/** A deterministic steady run: 20 s at 100/s, latencies 5–9 ms, four failures. */
function steadyLines(opts: { seconds?: number; rate?: number; shift?: number } = {}) {
  const seconds = opts.seconds ?? 20;
  const rate = opts.rate ?? 100;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < seconds * rate; i++) {
    const t = (i * 1000) / rate;
    const lag = 0.02 + (i % 7) * 0.01;
    const service = 5.2 + ((i * 37) % 100) / 25 + (opts.shift ?? 0);
    out.push(
      i % 500 === 499
        ? { ok: false, code: "UNAVAILABLE", latency_ms: 1.5, service_ms: 1.4, lag_ms: lag, t_ms: t }
        : {
          ok: true,
          latency_ms: service + lag,
          service_ms: service,
          lag_ms: lag,
          t_ms: t,
          df_ms: 5.01,
        },
    );
  }
  return out;
}

function coldLines(n = 12) {
  return Array.from(
    { length: n },
    (_, i) =>
      i === 5
        ? {
          ok: false,
          phase: "tls",
          code: "UNAVAILABLE",
          t_ms: i * 500,
          t_dns_ms: 0.1,
          t_tcp_ms: 0.4,
        }
        : {
          ok: true,
          t_dns_ms: 0.1,
          t_tcp_ms: 0.4,
          t_tls_ms: 2.1 + i * 0.01,
          t_h2_ms: 3.0 + i * 0.01,
          t_connect_ms: 3.3 + i * 0.01,
          t_first_rpc_ms: 6.1,
          t_total_ms: 9.4 + i * 0.01,
          t_ms: i * 500,
          tls: "TLSv1.3",
        },
  );
}

const META = {
  test: "01_steady",
  target: "df.internal:50051",
  rate: 100,
  duration_s: 20,
  tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", alpn: "h2" },
  tool: "smft 0.1.0",
  deno: "2.9.3",
  grpc_js: "1.14.7",
  host: "loadhost-7",
};

function steadyRun(name = "steady_a.jsonl", opts: { shift?: number } = {}): ReportRun {
  const acc = new Accumulator("01_steady");
  for (const r of steadyLines(opts)) acc.add(r);
  try {
    return reportRunFromAccumulator(name, "01_steady", acc, META, [
      { text: "p99 < 10ms  (measured 9.12ms)", pass: true },
      { text: "success >= 99.9%  (measured 99.80%)", pass: false },
    ]);
  } finally {
    acc.destroy();
  }
}

function coldRun(name = "cold_a.jsonl", n = 12): ReportRun {
  const acc = new Accumulator("02_coldconn");
  for (const r of coldLines(n)) acc.add(r);
  try {
    return reportRunFromAccumulator(name, "02_coldconn", acc, { target: "df.internal:50051" });
  } finally {
    acc.destroy();
  }
}

const FIXED = { generatedAt: new Date("2026-11-25T03:00:00Z") };
const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Every way a page could reach the network: none may appear. */
function assertOffline(html: string) {
  assert.doesNotMatch(html, /https?:\/\//i, "an http(s) address is in the page");
  assert.doesNotMatch(
    html,
    /\b(src|href|action|poster|srcset)\s*=/i,
    "an element loads a resource",
  );
  assert.doesNotMatch(html, /<(link|img|iframe|object|embed|video|audio|source)\b/i);
  assert.doesNotMatch(html, /@import|url\(\s*["']?(?!data:)/i, "CSS loads a resource");
  assert.doesNotMatch(
    html,
    /\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts/,
  );
}

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
  assert.match(steady, /data-expected="3"/);
  for (const id of ["steady-latency-time", "steady-rate-time", "steady-spectrum"]) {
    assert.ok(steady.includes(`id="${id}"`), id);
  }
  const both = renderReport([steadyRun(), steadyRun("b.jsonl", { shift: 1 }), coldRun()], FIXED);
  assert.match(both, /data-expected="5"/);
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

// The command, on real files.

async function writeResults(path: string, test: string, lines: unknown[], meta?: unknown) {
  const head = [`#TEST=${test}`, ...(meta ? [`#META=${JSON.stringify(meta)}`] : [])];
  const end = meta ? [`#END=${JSON.stringify({ count: lines.length })}`] : [];
  await Deno.writeTextFile(
    path,
    [...head, ...lines.map((l) => JSON.stringify(l)), ...end, ""].join("\n"),
  );
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "report-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("reportCommand() writes the page, creating folders, and prints its path", async () => {
  await withDir(async (dir) => {
    const a = join(dir, "a.jsonl");
    const c = join(dir, "c.jsonl");
    await writeResults(a, "01_steady", steadyLines(), META);
    await writeResults(c, "02_coldconn", coldLines());
    const out = join(dir, "deep", "er", "r.html");
    const r = await reportCommand([a, c, "--out", out, "--title", "Nightly <run>"]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, out);
    const html = await Deno.readTextFile(out);
    assertOffline(html);
    assert.ok(html.includes("<title>Nightly &lt;run&gt;</title>"));
    assert.ok(html.includes("a.jsonl") && html.includes("c.jsonl"));
    // The seed-format cold file says what it lacks.
    assert.ok(html.includes("seed (bare) format"));
  });
});

Deno.test("reportCommand() merges files of one test and judges the SLO on the merge", async () => {
  await withDir(async (dir) => {
    const a = join(dir, "host1.jsonl");
    const b = join(dir, "host2.jsonl");
    await writeResults(a, "01_steady", steadyLines(), META);
    await writeResults(b, "01_steady", steadyLines({ shift: 3 }), META);
    const out = join(dir, "r.html");
    const pass = await reportCommand([a, b, "--out", out, "--slo", "p50<20ms"]);
    assert.equal(pass.code, 0, pass.stderr);
    const html = await Deno.readTextFile(out);
    assert.ok(html.includes("2 files merged"));
    assert.match(html, /badge pass">PASS<\/span> p50 &lt; 20ms/);
    const fail = await reportCommand([a, b, "--out", out, "--slo", "p99<1ms"]);
    assert.equal(fail.code, 2, "a failed clause still writes the page, and says so by exit code");
    assert.match(await Deno.readTextFile(out), /badge fail">FAIL<\/span> p99 &lt; 1ms/);
  });
});

Deno.test("reportCommand() answers bad input with one line and exit 1", async () => {
  await withDir(async (dir) => {
    const empty = join(dir, "empty.jsonl");
    const notResults = join(dir, "notes.txt");
    const good = join(dir, "good.jsonl");
    await Deno.writeTextFile(empty, "");
    await Deno.writeTextFile(notResults, "hello\n");
    await writeResults(good, "01_steady", steadyLines({ seconds: 1 }), META);
    const cases: [string[], RegExp][] = [
      [[join(dir, "missing.jsonl")], /missing\.jsonl: file not found/],
      [[empty], /empty\.jsonl: empty file/],
      [[notResults], /notes\.txt: not a results file/],
      [[], /no results file given/],
      [[good, "--slo", "p99<<3"], /SLO clause/],
      [[good, "--bogus"], /bogus/],
      [[good, "--out", join(good, "x.html")], /cannot write/],
    ];
    for (const [args, re] of cases) {
      const r = await reportCommand(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^report: /);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, `more than one line: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "a stack trace");
    }
  });
});

Deno.test("reportCommand() --help explains the command", async () => {
  const r = await reportCommand(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: report FILE\.\.\./);
  assert.match(r.stdout, /--slo/);
});
