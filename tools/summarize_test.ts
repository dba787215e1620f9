import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { summarizeCommand } from "./summarize.ts";
import { reportCommand } from "./report/command.ts";
import { PERCENTILE_DEFINITION } from "../smft/histogram.ts";
import { lines, withFiles } from "./test_files.ts";

/** The seed's example: latencies 1..100 ms, bare format. */
const SEED = lines(
  "#TEST=01_steady",
  ...Array.from({ length: 100 }, (_, i) => `{"ok":true,"latency_ms":${i + 1}}`),
);

/**
 * A load host's file in the new format: `n` requests at 100/s, every `failEvery`-th failing;
 * shard `shard` of run `r1`.
 */
function host(name: string, base: number, n: number, failEvery = 0, shard = "1/1"): string {
  const meta = {
    run_id: "r1",
    test: "01_steady",
    rate: 100,
    duration_s: n / 100,
    host: name,
    shard,
  };
  const out = ["#TEST=01_steady", `#META=${JSON.stringify(meta)}`];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const t = i * 10;
    if (failEvery && i % failEvery === failEvery - 1) {
      out.push(JSON.stringify({
        ok: false,
        code: "DEADLINE_EXCEEDED",
        latency_ms: 1000.5,
        service_ms: 1000.4,
        lag_ms: 0.1,
        t_ms: t,
        error: "Deadline exceeded",
      }));
    } else {
      ok++;
      const lat = Math.round((base + (i % 10) * 0.1) * 1000) / 1000;
      out.push(JSON.stringify({
        ok: true,
        latency_ms: lat,
        service_ms: Math.round((lat - 0.05) * 1000) / 1000,
        lag_ms: 0.05,
        t_ms: t,
        df_ms: 5.01,
      }));
    }
  }
  out.push(
    `#END=${JSON.stringify({ count: n, ok, interrupted: false, elapsed_s: n / 100, valid: true })}`,
  );
  return lines(...out);
}

const HOSTS = {
  "h1.txt": host("h1", 5.5, 200, 0, "1/2"),
  "h2.txt": host("h2", 6.0, 300, 100, "2/2"),
};

Deno.test("summarize prints the seed's lines for a seed-format file", async () => {
  await withFiles({ "seed.txt": SEED }, async (p) => {
    const r = await summarizeCommand([p("seed.txt")]);
    deepStrictEqual(r, {
      code: 0,
      stderr: "",
      stdout: [
        "Total Requests: 100",
        "Successful: 100 (100.0%)",
        "Mean Latency: 50.50ms",
        "P50: 50.02ms | P90: 90.05ms | P95: 95.04ms | P99: 99.01ms",
        "P99.9: 100.00ms | Max: 100.00ms | Min: 1.00ms",
      ].join("\n"),
    });
  });
});

Deno.test("summarize merges the shards of one run: the combined summary, then one line per file", async () => {
  await withFiles(HOSTS, async (p) => {
    const r = await summarizeCommand([p("h1.txt"), p("h2.txt")]);
    equal(r.code, 0);
    equal(r.stderr, "");
    equal(
      r.stdout,
      [
        "2 files of 01_steady, merged (2 of 2 shards of run_id r1):",
        "Total Requests: 500",
        "Successful: 497 (99.4%)",
        "Mean Latency: 6.25ms",
        "P50: 6.20ms | P90: 6.80ms | P95: 6.90ms | P99: 6.90ms",
        "P99.9: 6.90ms | Max: 6.90ms | Min: 5.50ms",
        "Errors: 3 (DEADLINE_EXCEEDED=3)",
        "Latency, all outcomes: mean 12.21ms | P50 6.20ms | P90 6.80ms | P99 6.90ms | Max 1000.50ms",
        "Service time (issued to done): mean 6.20ms | P50 6.15ms | P90 6.75ms | P99 6.85ms | Max 6.85ms",
        "df handling time: mean 5.01ms | P50 5.01ms | P90 5.01ms | P99 5.01ms | Max 5.01ms",
        "Generator lag (intended to issued): mean 0.05ms | P50 0.05ms | P90 0.05ms | P99 0.05ms | Max 0.10ms",
        "Generator's own delay: send p50 0.05 / p99 0.05 ms, read side not measured (moves the p50 6.20 ms by 0.05 ms, the p99 6.90 ms by 0.05 ms)",
        "Top failure reasons (of 3):",
        "        3 x DEADLINE_EXCEEDED: Deadline exceeded",
        // 500 requests over the longest host's 3 s: the hosts ran side by side.
        "Achieved rate: 166.7/s over 3.0 s",
        "Run verdict: VALID: every shard kept its schedule, its own delay a small part of the figures",
        "",
        "Per file:",
        `  ${p("h1.txt")}: 200 requests, 100.0% ok, p50 5.90ms, p99 6.40ms, rate 100.0/s`,
        `  ${p("h2.txt")}: 300 requests, 99.0% ok, p50 6.40ms, p99 6.90ms, rate 100.0/s`,
      ].join("\n"),
    );
  });
});

Deno.test("summarize --json gives the same figures under stable keys", async () => {
  await withFiles(HOSTS, async (p) => {
    const r = await summarizeCommand([p("h1.txt"), p("h2.txt"), "--json", "--slo", "p99<7ms"]);
    equal(r.code, 0);
    const j = JSON.parse(r.stdout);
    deepStrictEqual(Object.keys(j), ["test", "summary", "files", "verdict", "run", "slo"]);
    deepStrictEqual(j.verdict, {
      valid: true,
      reasons: [],
      text: "VALID: every shard kept its schedule, its own delay a small part of the figures",
    });
    equal(j.test, "01_steady");
    deepStrictEqual(
      [j.summary.total, j.summary.ok, j.summary.failed, j.summary.durationS],
      [500, 497, 3, 3],
    );
    deepStrictEqual(j.summary.latency, {
      count: 497,
      mean: 3104300 / 497 / 1000, // exact: integer microseconds summed
      min: 5.5,
      max: 6.9,
      p50: 6.203,
      p90: 6.803,
      p95: 6.9,
      p99: 6.9,
      p999: 6.9,
    });
    deepStrictEqual(Object.keys(j.files[0]), [
      "path",
      "format",
      "lines",
      "truncated",
      "interrupted",
      "malformed",
      "meta",
      "summary",
      "notes",
      "verdict",
    ]);
    deepStrictEqual(
      j.files.map((f: { path: string; format: string; lines: number }) => [
        f.path,
        f.format,
        f.lines,
      ]),
      [[p("h1.txt"), "new", 200], [p("h2.txt"), "new", 300]],
    );
    equal(j.files[1].summary.achievedRate, 100);
    deepStrictEqual(j.slo, {
      pass: true,
      verdicts: [{
        clause: "p99 < 7ms",
        metric: "p99",
        op: "<",
        threshold: 7,
        unit: "ms",
        measured: 6.9,
        pass: true,
        line: "PASS  p99 < 7ms  (measured 6.90ms)",
      }],
    });
  });
});

Deno.test("summarize exits 2 when an SLO clause fails, and 0 when all pass", async () => {
  await withFiles({ "seed.txt": SEED }, async (p) => {
    const pass = await summarizeCommand([p("seed.txt"), "--slo", "p99<=99.007ms,success>=99.9%"]);
    equal(pass.code, 0);
    ok(pass.stdout.endsWith(
      [
        "SLO:",
        "PASS  p99 <= 99.007ms  (measured 99.007ms)",
        "PASS  success >= 99.9%  (measured 100.00%)",
        "SLO passed (2 of 2 clauses)",
      ].join("\n"),
    ));
    const fail = await summarizeCommand([p("seed.txt"), "--slo=p99<10ms,p50<70ms"]);
    equal(fail.code, 2);
    equal(fail.stderr, "");
    ok(fail.stdout.endsWith(
      [
        "SLO:",
        "FAIL  p99 < 10ms  (measured 99.01ms)",
        "PASS  p50 < 70ms  (measured 50.02ms)",
        "SLO failed (1 of 2 clauses)",
      ].join("\n"),
    ));
    const json = await summarizeCommand([p("seed.txt"), "--json", "--slo", "p99<10ms"]);
    equal(json.code, 2);
    equal(JSON.parse(json.stdout).slo.pass, false);
  });
});

Deno.test("summarize and report --slo exit as the run did: INVALID 3, INVALID and SLO failed 5, VALID and SLO failed 2", async () => {
  const invalid = host("h1", 5.5, 200).replace(
    '"valid":true}',
    '"valid":false,"verdict_reasons":["lag p99 1.20 ms (limit 1 ms)"]}',
  );
  const stopped = invalid.replace('"interrupted":false', '"interrupted":true');
  const files = {
    "invalid.txt": invalid,
    "valid.txt": host("h1", 5.5, 200),
    "stopped.txt": stopped,
  };
  await withFiles(files, async (p) => {
    const code = async (f: string, slo?: string) =>
      (await summarizeCommand([p(f), ...(slo ? ["--slo", slo] : [])])).code;
    equal(await code("invalid.txt", "p99<1s"), 3);
    equal(await code("invalid.txt", "p99<1ms"), 5);
    equal(await code("valid.txt", "p99<1ms"), 2);
    equal(await code("valid.txt", "p99<1s"), 0);
    // No SLO, no gate: a summary of an INVALID run is still a summary.
    equal(await code("invalid.txt"), 0);
    // An interrupted run's verdict covers only the part that ran: the SLO alone gates it.
    equal(await code("stopped.txt", "p99<1s"), 0);
    const report = (slo: string) =>
      reportCommand([p("invalid.txt"), "--out", p("r.html"), "--slo", slo]);
    equal((await report("p99<1s")).code, 3);
    equal((await report("p99<1ms")).code, 5);
  });
});

Deno.test("summarize refuses a malformed SLO clause with exit 1 and one line", async () => {
  await withFiles({ "seed.txt": SEED }, async (p) => {
    deepStrictEqual(await summarizeCommand([p("seed.txt"), "--slo", "p99<10"]), {
      code: 1,
      stdout: "",
      stderr: 'summarize: --slo="p99<10": SLO clause "p99<10": a latency needs a unit: ' +
        "10ms, 10s or 10us",
    });
  });
});

Deno.test("summarize reports malformed lines with their numbers and a missing #END", async () => {
  const text = lines(
    "#TEST=01_steady",
    '#META={"duration_s":1}',
    '{"ok":true,"latency_ms":5,"t_ms":0}',
    "{oops",
    '{"ok":true,"latency_ms":6,"t_ms":500}',
    '{"latency_ms":7}',
  );
  await withFiles({ "cut.txt": text }, async (p) => {
    const r = await summarizeCommand([p("cut.txt")]);
    equal(r.code, 0);
    ok(
      r.stdout.endsWith(
        [
          "",
          `note: ${p("cut.txt")}: 2 malformed lines skipped (not JSON, or no boolean "ok"):`,
          "  line 4: {oops",
          '  line 6: {"latency_ms":7}',
          `note: ${
            p("cut.txt")
          }: file has no #END: the run was interrupted or the file is truncated`,
        ].join("\n"),
      ),
      r.stdout,
    );
    const j = JSON.parse((await summarizeCommand([p("cut.txt"), "--json"])).stdout);
    deepStrictEqual(j.files[0].malformed, {
      count: 2,
      first: [{ line: 4, text: "{oops" }, { line: 6, text: '{"latency_ms":7}' }],
    });
    equal(j.files[0].truncated, true);
  });
});

Deno.test("summarize answers exit 1 and one line for a file that is missing, empty or not results", async () => {
  await withFiles({ "empty.txt": "", "notes.md": "# Notes\n" }, async (p) => {
    const cases: [string[], string][] = [
      [[p("none.txt")], `summarize: ${p("none.txt")}: file not found`],
      [[p("empty.txt")], `summarize: ${p("empty.txt")}: empty file`],
      [
        [p("notes.md")],
        `summarize: ${
          p("notes.md")
        }: not a results file (first line must be #TEST=01_steady or #TEST=02_coldconn)`,
      ],
      [[], "summarize: no results file given; usage: summarize FILE... [--json] [--slo ...]"],
      [["--frobnicate", p("empty.txt")], "summarize: Unknown option '--frobnicate'"],
    ];
    for (const [args, stderr] of cases) {
      deepStrictEqual(await summarizeCommand(args), { code: 1, stdout: "", stderr });
    }
  });
});

Deno.test("summarize takes steady and coldconn files together: one section per run", async () => {
  await withFiles(
    { "s.txt": SEED, "c.txt": lines("#TEST=02_coldconn", '{"ok":true,"t_total_ms":3}') },
    async (p) => {
      const r = await summarizeCommand([p("s.txt"), p("c.txt")]);
      equal(r.code, 0, r.stderr);
      ok(r.stdout.startsWith(`== 01_steady: ${p("s.txt")}\nTotal Requests: 100`), r.stdout);
      ok(r.stdout.includes(`\n\n== 02_coldconn: ${p("c.txt")}\nTotal Attempts: 1`), r.stdout);
      const j = JSON.parse((await summarizeCommand([p("s.txt"), p("c.txt"), "--json"])).stdout);
      deepStrictEqual(j.runs.map((x: { test: string }) => x.test), ["01_steady", "02_coldconn"]);
    },
  );
});

Deno.test("summarize --help states the percentile definition and the exit codes", async () => {
  const r = await summarizeCommand(["--help"]);
  equal(r.code, 0);
  const flat = r.stdout.replace(/\s+/g, " ");
  ok(flat.includes(PERCENTILE_DEFINITION), "the definition, word for word");
  ok(flat.includes("0 summarised (with --slo: every run VALID and every clause passed)"));
  ok(flat.includes("1 bad input or options"));
  ok(flat.includes("2 an SLO clause failed, 3 a run is INVALID (its #END says so), 5 both"));
  ok(!r.stdout.includes("--env-file"), "these commands read no environment");
});

Deno.test("summarize summarises a coldconn file by phase", async () => {
  const text = lines(
    "#TEST=02_coldconn",
    '{"ok":true,"t_connect_ms":19.4,"t_first_rpc_ms":6.1,"t_total_ms":25.5,"tls":"TLSv1.3"}',
    '{"ok":true,"t_connect_ms":18.2,"t_first_rpc_ms":5.8,"t_total_ms":24.1,"tls":"TLSv1.3"}',
    '{"ok":false,"phase":"tls","code":"UNAVAILABLE","t_tcp_ms":0.3}',
  );
  await withFiles({ "cold.txt": text }, async (p) => {
    const r = await summarizeCommand([p("cold.txt"), "--slo", "p50<25ms,connect.p99<20ms"]);
    equal(r.code, 0);
    ok(r.stdout.startsWith(
      [
        "Total Attempts: 3",
        "Successful: 2 (66.7%)",
        "Mean Connect Time: 18.80ms",
        "Mean First RPC Time: 5.95ms",
        "Mean Total Time: 24.80ms",
      ].join("\n"),
    ));
    ok(r.stdout.includes("Errors: 1 (UNAVAILABLE=1; by phase: tls=1)"));
    // 24.1 ms lies in the 16 µs bucket [24.096, 24.111]; 19.4 ms is capped at the exact maximum.
    ok(r.stdout.includes("PASS  p50 < 25ms  (measured 24.11ms)"), r.stdout);
    ok(r.stdout.includes("PASS  connect.p99 < 20ms  (measured 19.40ms)"), r.stdout);
  });
});

Deno.test("summarize says so when a file holds only its header", async () => {
  await withFiles({ "h.txt": lines("#TEST=01_steady") }, async (p) => {
    const r = await summarizeCommand([p("h.txt")]);
    equal(r.code, 0);
    ok(r.stdout.includes("Total Requests: 0"));
    ok(r.stdout.includes("file holds no results"), r.stdout);
  });
});
