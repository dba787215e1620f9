import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { compareCommand } from "./command.ts";
import type { CompareRow } from "./model.ts";
import { lines, withFiles } from "../test_files.ts";
import { A, coldRun, steadyRun } from "./_test_runs.ts";

async function compareJson(args: string[]): Promise<{ rows: CompareRow[]; [k: string]: unknown }> {
  const r = await compareCommand([...args, "--json"]);
  equal(r.stderr, "");
  equal(r.code, 0);
  return JSON.parse(r.stdout);
}

Deno.test("compareCommand() finds B slower when B = A + 2 ms, with an interval that excludes 0", async () => {
  await withFiles({ "a.txt": A, "b.txt": steadyRun(7, { shift: 2 }) }, async (p) => {
    const j = await compareJson([p("a.txt"), p("b.txt")]);
    deepStrictEqual(j.rows.map((r) => [r.metric, r.p, r.verdict]), [
      ["latency", 50, "B slower"],
      ["latency", 90, "B slower"],
      ["latency", 99, "B slower"],
    ]);
    for (const r of j.rows) {
      // Bucket tops move by up to one bucket (4 µs below 8.192 ms, 8 µs above).
      ok(Math.abs(r.diff! - 2) <= 0.008, `p${r.p}: B − A = ${r.diff}`);
      ok(r.lo! > 0 && r.lo! <= r.diff! && r.diff! <= r.hi!, `p${r.p}: [${r.lo}, ${r.hi}]`);
    }
  });
});

Deno.test("compareCommand() finds B faster when B = A − 2 ms", async () => {
  await withFiles({ "a.txt": A, "b.txt": steadyRun(7, { shift: -2 }) }, async (p) => {
    const j = await compareJson([p("a.txt"), p("b.txt")]);
    deepStrictEqual(j.rows.map((r) => r.verdict), ["B faster", "B faster", "B faster"]);
    ok(j.rows.every((r) => r.hi! < 0));
  });
});

Deno.test("compareCommand() finds no significant difference between A and A shuffled", async () => {
  await withFiles({ "a.txt": A, "b.txt": steadyRun(7, { shuffle: 99 }) }, async (p) => {
    const j = await compareJson([p("a.txt"), p("b.txt")]);
    deepStrictEqual(j.rows.map((r) => [r.p, r.diff, r.verdict]), [
      [50, 0, "no significant difference"],
      [90, 0, "no significant difference"],
      [99, 0, "no significant difference"],
    ]);
    ok(j.rows.every((r) => r.lo! <= 0 && r.hi! >= 0));
  });
});

Deno.test("compareCommand() gives the same intervals for the same seed, and other ones for another", async () => {
  await withFiles({ "a.txt": A, "b.txt": steadyRun(8) }, async (p) => {
    const one = await compareCommand([p("a.txt"), p("b.txt"), "--json"]);
    const again = await compareCommand([p("a.txt"), p("b.txt"), "--json"]);
    equal(one.stdout, again.stdout);
    const other = await compareCommand([p("a.txt"), p("b.txt"), "--json", "--seed", "2"]);
    ok(one.stdout !== other.stdout);
    deepStrictEqual(JSON.parse(other.stdout).bootstrap, {
      resamples: 1000,
      seed: 2,
      confidence: 0.95,
      unit: "second",
    });
  });
});

Deno.test("compareCommand() prints a table with B − A, its interval and a verdict per percentile", async () => {
  await withFiles({ "a.txt": A, "b.txt": steadyRun(7, { shift: 2 }) }, async (p) => {
    const r = await compareCommand([p("a.txt"), p("b.txt")]);
    equal(r.code, 0);
    const out = r.stdout.split("\n");
    deepStrictEqual(out.slice(0, 6), [
      "compare 01_steady",
      `A: ${p("a.txt")}  (6000 requests, 100.0% ok, 60 seconds)`,
      `B: ${p("b.txt")}  (6000 requests, 100.0% ok, 60 seconds)`,
      "A verdict: unknown: #END has no valid field",
      "B verdict: unknown: #END has no valid field",
      "",
    ]);
    ok(out[6].startsWith("latency of successful calls"));
    for (const [i, p] of [[7, 50], [8, 90], [9, 99]]) {
      ok(
        new RegExp(
          `^  p${p} +\\d+\\.\\d{3} +\\d+\\.\\d{3} +\\+2\\.\\d{3} +\\+\\d+\\.\\d% +\\[\\+\\d\\.\\d{3}, \\+\\d\\.\\d{3}\\] +B slower$`,
        ).test(out[i]),
        out[i],
      );
    }
    equal(out[11], "Intervals: percentile bootstrap, 1000 resamples of whole seconds, seed 1.");
  });
});

Deno.test("compareCommand() resamples coldconn attempts: a slower total is found, an unchanged connect is not", async () => {
  await withFiles({ "a.txt": coldRun(3, 300), "b.txt": coldRun(3, 300, 5) }, async (p) => {
    const j = await compareJson([p("a.txt"), p("b.txt")]);
    deepStrictEqual(j.rows.map((r) => [r.metric, r.p, r.verdict]), [
      ["total", 50, "B slower"],
      ["total", 90, "B slower"],
      ["total", 99, "B slower"],
      ["connect", 50, "no significant difference"],
      ["connect", 90, "no significant difference"],
      ["connect", 99, "no significant difference"],
    ]);
    deepStrictEqual((j.bootstrap as { unit: string }).unit, "attempt");
  });
});

Deno.test("compareCommand() resamples a seed-format run in blocks of consecutive lines, and says so", async () => {
  const seed = (shift: number) =>
    lines(
      "#TEST=01_steady",
      ...Array.from({ length: 500 }, (_, i) =>
        `{"ok":true,"latency_ms":${5 + (i % 13) / 10 + shift}}`),
    );
  await withFiles({ "a.txt": seed(0), "b.txt": seed(1) }, async (p) => {
    const j = await compareJson([p("a.txt"), p("b.txt")]);
    deepStrictEqual(j.notes, [
      `A: ${
        p("a.txt")
      } has no send times (seed format): its results are resampled in blocks of 5 consecutive lines`,
      `B: ${
        p("b.txt")
      } has no send times (seed format): its results are resampled in blocks of 5 consecutive lines`,
    ]);
    deepStrictEqual(j.rows.map((r) => r.verdict), ["B slower", "B slower", "B slower"]);
    equal((j.bootstrap as { unit: string }).unit, "block");
  });
});

Deno.test("compareCommand() says 'too little data' when a run has a single second", async () => {
  const one = lines(
    "#TEST=01_steady",
    '{"ok":true,"latency_ms":5,"t_ms":1}',
    '{"ok":true,"latency_ms":6,"t_ms":2}',
  );
  await withFiles({ "a.txt": A, "b.txt": one }, async (p) => {
    const j = await compareJson([p("a.txt"), p("b.txt")]);
    deepStrictEqual(j.rows.map((r) => [r.verdict, r.lo, r.hi]), [
      ["too little data", null, null],
      ["too little data", null, null],
      ["too little data", null, null],
    ]);
  });
});

Deno.test("compareCommand() merges comma-joined shards of one run", async () => {
  await withFiles({
    "a.txt": A,
    "b1.txt": steadyRun(7, { shift: 2, shard: "1/2" }),
    "b2.txt": steadyRun(9, { shift: 2, shard: "2/2" }),
  }, async (p) => {
    const j = await compareJson([p("a.txt"), `${p("b1.txt")},${p("b2.txt")}`]);
    deepStrictEqual(j.b as { paths: string[]; total: number; blocks: number }, {
      paths: [p("b1.txt"), p("b2.txt")],
      total: 12000,
      ok: 12000,
      successPct: 100,
      blocks: 60,
      valid: null,
      verdicts: ["unknown: #END has no valid field", "unknown: #END has no valid field"],
    });
    deepStrictEqual(j.rows.map((r) => r.verdict), ["B slower", "B slower", "B slower"]);
  });
});

Deno.test("compareCommand() answers exit 1 and one line for bad input", async () => {
  await withFiles({ "a.txt": A, "c.txt": coldRun(1, 5) }, async (p) => {
    const cases: [string[], string][] = [
      [[p("a.txt")], "compare: expected two runs to compare, A and B (got 1); see --help"],
      [
        [p("a.txt"), p("c.txt")],
        "compare: A is 01_steady results and B is 02_coldconn results: compare needs two runs of one test",
      ],
      [[p("a.txt"), p("x.txt")], `compare: ${p("x.txt")}: file not found`],
      [
        [p("a.txt"), p("a.txt"), "--resamples", "5"],
        'compare: --resamples="5": expected an integer from 100 to 100000',
      ],
    ];
    for (const [args, stderr] of cases) {
      deepStrictEqual(await compareCommand(args), { code: 1, stdout: "", stderr });
    }
  });
});

Deno.test("compare says what the reader noticed in each file, and each run's verdict, as summarize does", async () => {
  // B: INVALID, a malformed line, a value out of range, and cut short (no #END).
  const b = steadyRun(9, { valid: false }).split("\n").filter((l) => !l.startsWith("#END"));
  b.splice(5, 0, "not json", JSON.stringify({ ok: true, latency_ms: -4, t_ms: 45 }));
  await withFiles({ "a.txt": steadyRun(7, { valid: true }), "b.txt": b.join("\n") }, async (p) => {
    const r = await compareCommand([p("a.txt"), p("b.txt")]);
    equal(r.code, 0, r.stderr);
    ok(r.stdout.includes("A verdict: VALID: the generator kept its schedule"), r.stdout);
    ok(r.stdout.includes("B verdict: unknown: the file has no #END"), r.stdout);
    for (
      const note of [
        `note: B (${p("b.txt")}): 1 malformed line skipped`,
        `note: B (${p("b.txt")}): 1 time value out of range`,
        `note: B (${
          p("b.txt")
        }): file has no #END: the run was interrupted or the file is truncated`,
      ]
    ) ok(r.stdout.includes(note), `${note}\n${r.stdout}`);
    const j = JSON.parse((await compareCommand([p("a.txt"), p("b.txt"), "--json"])).stdout);
    ok((j.notes as string[]).some((n) => n.includes("malformed line")));
  });
});
