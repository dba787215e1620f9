/**
 * Never make a figure up: files merge only as shards of one run, and every run carries its own
 * verdict (VALID or INVALID) wherever its figures go: summarize, --json, compare, report.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { summarizeCommand } from "./summarize.ts";
import { compareCommand } from "./compare/command.ts";
import { reportCommand } from "./report/command.ts";
import { steadyRun } from "./compare/_test_runs.ts";
import { lines, withFiles } from "./test_files.ts";

/** A steady file of `n` requests at `rate`/s with the given #META fields and #END verdict. */
function steady(meta: Record<string, unknown>, n: number, base: number, end = {}): string {
  const rate = Number(meta.host_rate ?? meta.rate ?? 100);
  const body = Array.from(
    { length: n },
    (_, i) =>
      JSON.stringify({
        ok: true,
        latency_ms: base,
        service_ms: base,
        lag_ms: 0.01,
        t_ms: i * 1000 / rate,
      }),
  );
  return lines(
    "#TEST=01_steady",
    `#META=${JSON.stringify({ test: "01_steady", target: "localhost:50051", ...meta })}`,
    ...body,
    `#END=${JSON.stringify({ count: n, valid: true, ...end })}`,
  );
}

const PLAN = { start_epoch_ms: 1_795_577_906_833, duration_s: 1 };
/** A ladder: one file per rate, each a whole run (shard 1/1) of its own. */
const LADDER = Object.fromEntries(
  [500, 1000, 1500, 1700].map((r, i) => [
    `01_steady_results_${r}rps.txt`,
    steady(
      { ...PLAN, start_epoch_ms: PLAN.start_epoch_ms + i * 2000, rate: r, shard: "1/1" },
      r,
      5 + i,
    ),
  ]),
);

Deno.test("a ladder's four files are four runs side by side, not one merged run of 4700/s", async () => {
  await withFiles(LADDER, async (p) => {
    const names = Object.keys(LADDER);
    const r = await summarizeCommand(names.map(p));
    equal(r.code, 0, r.stderr);
    ok(!r.stdout.includes("merged ("), r.stdout);
    ok(!r.stdout.includes("4700"), r.stdout);
    ok(
      r.stdout.startsWith("4 runs of 01_steady, not merged: files merge only as shards of one run"),
    );
    // A ladder's steps are apart by their rates: no list of run ids that says nothing more.
    ok(
      r.stdout.includes(
        "Why apart:\n  4 are steps of a ladder, one run per rate (below): apart by their rates\n",
      ),
      r.stdout,
    );
    ok(
      !r.stdout.includes(`${p(names[0])}: a whole run (shard 1/1), started 2026-11-25T`),
      r.stdout,
    );
    for (const n of names) ok(r.stdout.includes(`== 01_steady: ${p(n)}\nTotal Requests:`), n);
    const j = JSON.parse((await summarizeCommand([...names.map(p), "--json"])).stdout);
    deepStrictEqual(j.runs.map((x: { summary: { total: number } }) => x.summary.total), [
      500,
      1000,
      1500,
      1700,
    ]);
    equal(j.notMerged.length, 4);
  });
});

Deno.test("the SLO is judged per run: a report of two separate runs judges each, not their merge", async () => {
  await withFiles({
    "fast.txt": steady({ ...PLAN, rate: 100, shard: "1/1" }, 100, 5),
    "slow.txt": steady({ ...PLAN, rate: 100, shard: "1/1" }, 100, 50),
  }, async (p) => {
    const out = join(p(""), "r.html");
    const r = await reportCommand([
      p("fast.txt"),
      p("slow.txt"),
      "--out",
      out,
      "--slo",
      "p99<10ms",
    ]);
    equal(r.code, 2, r.stderr);
    const html = await Deno.readTextFile(out);
    ok(!html.includes("shards merged") && !html.includes("files merged"), "no merged row");
    // One verdict per run, each file judged on its own figures.
    const pass = html.match(/badge pass">PASS/g)?.length ?? 0;
    ok(pass > 0 && pass === html.match(/badge fail">FAIL/g)?.length, html.slice(0, 300));
    ok(/<h3>fast\.txt<\/h3><ul class="plain"><li><span class="badge pass">/.test(html));
    ok(/<h3>slow\.txt<\/h3><ul class="plain"><li><span class="badge fail">/.test(html));
    ok(html.includes("not merged with the other 01_steady files, a separate run"));
    const s = await summarizeCommand([p("fast.txt"), p("slow.txt"), "--slo", "p99<10ms"]);
    equal(s.code, 2);
    equal(s.stdout.match(/SLO passed/g)?.length, 1);
    equal(s.stdout.match(/SLO failed/g)?.length, 1);
  });
});

Deno.test("shards k/n without a run_id merge only with the same n, distinct k and the same plan", async () => {
  const shard = (k: string, extra = {}) =>
    steady({ ...PLAN, rate: 200, host_rate: 100, shard: k, ...extra }, 100, 5);
  await withFiles({
    "s1.txt": shard("1/2"),
    "s2.txt": shard("2/2"),
    "again.txt": shard("2/2"),
    "later.txt": shard("1/2", { start_epoch_ms: PLAN.start_epoch_ms + 1 }),
    "seed.txt": lines("#TEST=01_steady", '{"ok":true,"latency_ms":5}'),
  }, async (p) => {
    const one = await summarizeCommand([p("s1.txt"), p("s2.txt")]);
    ok(
      one.stdout.startsWith("2 files of 01_steady, merged (2 of 2 shards of one plan, started"),
      one.stdout,
    );
    const dup = await summarizeCommand([p("s1.txt"), p("s2.txt"), p("again.txt")]);
    ok(
      dup.stdout.includes("shard 2/2 appears twice (a copy, or two runs): not merged"),
      dup.stdout,
    );
    ok(dup.stdout.startsWith("3 runs of 01_steady"), dup.stdout);
    const other = await summarizeCommand([p("s2.txt"), p("later.txt")]);
    ok(other.stdout.startsWith("2 runs of 01_steady"), other.stdout);
    const seed = await summarizeCommand([p("seed.txt"), p("s1.txt"), p("s2.txt")]);
    ok(
      seed.stdout.includes(
        `${p("seed.txt")}: seed format (no #META): a run of its own, never merged`,
      ),
    );
    ok(seed.stdout.includes("2 files of 01_steady, merged"), seed.stdout);
    // compare refuses comma-joined files that are not shards of one run.
    const c = await compareCommand([p("s1.txt"), `${p("s2.txt")},${p("later.txt")}`]);
    equal(c.code, 1);
    ok(
      c.stderr.startsWith(`compare: ${p("s2.txt")}, ${p("later.txt")}: not shards of one run`),
      c.stderr,
    );
  });
});

Deno.test("files with one run_id and distinct shards merge; different run_ids do not", async () => {
  await withFiles({
    "a1.txt": steady({ ...PLAN, rate: 200, run_id: "aaa", shard: "1/2" }, 100, 5),
    "a2.txt": steady({ ...PLAN, rate: 200, run_id: "aaa", shard: "2/2" }, 100, 6),
    "b1.txt": steady({ ...PLAN, rate: 200, run_id: "bbb", shard: "1/2" }, 100, 7),
  }, async (p) => {
    const r = await summarizeCommand([p("a1.txt"), p("a2.txt"), p("b1.txt"), "--json"]);
    const j = JSON.parse(r.stdout);
    deepStrictEqual(j.runs.map((x: { run: string }) => x.run), [
      "2 of 2 shards of run_id aaa",
      "run_id bbb, shard 1/2",
    ]);
  });
});

Deno.test("summarize of an INVALID run prints its verdict and reasons, and --json carries them", async () => {
  const reasons = ["lag p99 2.31 ms (limit 1 ms)"];
  await withFiles({
    "bad.txt": steady({ ...PLAN, rate: 100, shard: "1/1" }, 100, 5, {
      valid: false,
      verdict_reasons: reasons,
    }),
  }, async (p) => {
    const r = await summarizeCommand([p("bad.txt"), "--slo", "p99<10ms"]);
    // The SLO passed on an INVALID run: the gate exits 3, as the run itself did.
    equal(r.code, 3);
    ok(
      r.stdout.includes(
        "Run verdict: INVALID: the generator fell behind (lag p99 2.31 ms (limit 1 ms)); these figures include its own delay",
      ),
      r.stdout,
    );
    ok(r.stdout.includes("note: the SLO was judged on an INVALID run"), r.stdout);
    const j = JSON.parse((await summarizeCommand([p("bad.txt"), "--json"])).stdout);
    equal(j.verdict.valid, false);
    deepStrictEqual(j.verdict.reasons, reasons);
    equal(j.files[0].verdict.valid, false);
  });
});

Deno.test("compare warns when either run is INVALID", async () => {
  await withFiles({
    "a.txt": steadyRun(7),
    "b.txt": steadyRun(9, { shift: 1, valid: false }),
  }, async (p) => {
    const r = await compareCommand([p("a.txt"), p("b.txt")]);
    equal(r.code, 0, r.stderr);
    ok(
      r.stdout.split("\n")[5].startsWith(`WARNING: B (${p("b.txt")}) is an INVALID run`),
      r.stdout,
    );
    const j = JSON.parse((await compareCommand([p("a.txt"), p("b.txt"), "--json"])).stdout);
    equal(j.b.valid, false);
    equal(j.a.valid, null);
  });
});

Deno.test("the report's 'read with care' box lists an INVALID coldconn file", async () => {
  const cold = lines(
    "#TEST=02_coldconn",
    '#META={"test":"02_coldconn","rate":5,"duration_s":4}',
    ...Array.from(
      { length: 20 },
      (_, i) =>
        JSON.stringify({
          ok: true,
          t_connect_ms: 3,
          t_first_rpc_ms: 6,
          t_total_ms: 9,
          lag_ms: 0.1,
          t_ms: i * 200,
        }),
    ),
    `#END=${
      JSON.stringify({
        count: 20,
        valid: false,
        verdict_reasons: ["achieved 4.0/s vs target 5.0/s"],
      })
    }`,
  );
  await withFiles({ "cold.txt": cold }, async (p) => {
    const out = join(p(""), "r.html");
    const r = await reportCommand([p("cold.txt"), "--out", out]);
    equal(r.code, 0, r.stderr);
    const html = await Deno.readTextFile(out);
    const box = html.slice(html.indexOf("Read with care"));
    ok(
      box.includes(
        "smft judged this run INVALID: the generator fell behind (achieved 4.0/s vs target 5.0/s)",
      ),
      box.slice(0, 500),
    );
  });
});
