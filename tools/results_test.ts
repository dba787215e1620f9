import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { ConfigError } from "../smft/shared/layered_config.ts";
import { combinedDuration, durationOf, readResults, type ResultsFile } from "./results.ts";
import { notesOf } from "./results_notes.ts";
import { readResultsMany } from "./runs.ts";
import { lines, withFiles } from "./test_files.ts";

const steadyOk = (latency: number, t?: number) =>
  JSON.stringify({ ok: true, latency_ms: latency, ...(t !== undefined ? { t_ms: t } : {}) });
const free = (...files: ResultsFile[]) => files.forEach((f) => f.acc.destroy());

Deno.test("readResults() reads a seed-format file and reports nearest-rank percentiles at HDR resolution", async () => {
  const body = Array.from({ length: 100 }, (_, i) => steadyOk(i + 1));
  await withFiles({ "seed.txt": lines("#TEST=01_steady", ...body) }, async (p) => {
    const f = await readResults(p("seed.txt"));
    equal(f.test, "01_steady");
    equal(f.seedFormat, true);
    equal(f.truncated, false);
    equal(f.lines, 100);
    // Ranks 50, 90, 95, 99, 100 of 1..100 ms; above 32.768 ms buckets are 32 µs wide, above
    // 65.536 ms 64 µs, and a percentile is its bucket's top: 50 ms lies in [49.984, 50.015].
    deepStrictEqual(f.acc.summary().latency, {
      count: 100,
      mean: 50.5,
      min: 1,
      max: 100,
      p50: 50.015,
      p90: 90.047,
      p95: 95.039,
      p99: 99.007,
      p999: 100, // the bucket's top (100.031) is capped at the exact maximum
    });
    free(f);
  });
});

Deno.test("percentiles are exact below 2.048 ms and the top of a 2 or 4 µs bucket above", async () => {
  await withFiles({
    "exact.txt": lines(
      "#TEST=01_steady",
      ...Array.from({ length: 1000 }, (_, i) => steadyOk((i + 1) / 1000)),
    ),
    "two.txt": lines("#TEST=01_steady", steadyOk(2.048), steadyOk(3)),
    "four.txt": lines("#TEST=01_steady", steadyOk(4.097), steadyOk(5)),
  }, async (p) => {
    const exact = await readResults(p("exact.txt"));
    const e = exact.acc.summary().latency!;
    deepStrictEqual([e.p50, e.p90, e.p99, e.p999, e.max], [0.5, 0.9, 0.99, 0.999, 1]);
    const two = await readResults(p("two.txt"));
    equal(two.acc.summary().latency!.p50, 2.049); // [2.048, 2.049]
    const four = await readResults(p("four.txt"));
    equal(four.acc.summary().latency!.p50, 4.099); // [4.096, 4.099]
    equal(four.acc.summary().latency!.p99, 5); // in [5.000, 5.003], capped at the exact max
    free(exact, two, four);
  });
});

Deno.test("readResults() reads #META and #END and takes the duration from META", async () => {
  const meta = { test: "01_steady", rate: 2, duration_s: 2 };
  const end = { count: 4, ok: 3, interrupted: false, elapsed_s: 2.01 };
  const text = lines(
    "#TEST=01_steady",
    `#META=${JSON.stringify(meta)}`,
    steadyOk(5, 0),
    steadyOk(6, 500),
    JSON.stringify({ ok: false, code: "UNAVAILABLE", latency_ms: 1, t_ms: 1000 }),
    steadyOk(7, 1500),
    `#END=${JSON.stringify(end)}`,
  );
  await withFiles({ "new.txt": text }, async (p) => {
    const f = await readResults(p("new.txt"));
    deepStrictEqual(f.meta, meta);
    deepStrictEqual(f.end, end);
    equal(f.seedFormat, false);
    equal(f.truncated, false);
    equal(f.lines, 4);
    equal(durationOf(f), 2);
    const s = f.acc.summary(durationOf(f));
    deepStrictEqual([s.total, s.ok, s.failed, s.achievedRate], [4, 3, 1, 2]);
    deepStrictEqual(s.byCode, { OK: 3, UNAVAILABLE: 1 });
    deepStrictEqual(notesOf(f), []);
    free(f);
  });
});

Deno.test("a file with #META but no #END is truncated, and its note says so", async () => {
  const text = lines(
    "#TEST=01_steady",
    '#META={"duration_s":10}',
    steadyOk(5, 0),
    steadyOk(5, 999),
  );
  await withFiles({ "cut.txt": text }, async (p) => {
    const f = await readResults(p("cut.txt"));
    equal(f.truncated, true);
    equal(durationOf(f), undefined, "a truncated file's planned duration is not believed");
    deepStrictEqual(notesOf(f), [
      "file has no #END: the run was interrupted or the file is truncated",
    ]);
    free(f);
  });
});

Deno.test("an #END whose count differs from the result lines marks the file truncated", async () => {
  const text = lines("#TEST=01_steady", steadyOk(5), '#END={"count":3}');
  await withFiles({ "short.txt": text }, async (p) => {
    const f = await readResults(p("short.txt"));
    equal(f.truncated, true);
    deepStrictEqual(notesOf(f), [
      "#END counts 3 results but the file holds 1: the file is damaged or incomplete",
    ]);
    free(f);
  });
});

Deno.test("an interrupted run's duration is the elapsed time its #END gives", async () => {
  const text = lines(
    "#TEST=01_steady",
    '#META={"duration_s":10}',
    steadyOk(5, 0),
    '#END={"count":1,"interrupted":true,"elapsed_s":2.5}',
  );
  await withFiles({ "int.txt": text }, async (p) => {
    const f = await readResults(p("int.txt"));
    equal(durationOf(f), 2.5);
    deepStrictEqual(notesOf(f), [
      "the run was interrupted after 2.5 s of 10 s planned: figures cover only what ran",
    ]);
    free(f);
  });
});

Deno.test("malformed lines are counted with their line numbers and do not stop reading", async () => {
  const text = lines(
    "#TEST=01_steady", // 1
    steadyOk(5), // 2
    "{not json", // 3
    "", // 4: blank lines are not malformed
    '{"latency_ms":5}', // 5: no ok
    '{"ok":"yes"}', // 6: ok is not a boolean
    "[1,2]", // 7
    "null", // 8
    "# a comment", // 9
    "x".repeat(500), // 10
    "42", // 11: the sixth, counted but not kept
    steadyOk(6), // 12
  );
  await withFiles({ "bad.txt": text }, async (p) => {
    const f = await readResults(p("bad.txt"));
    equal(f.lines, 2);
    equal(f.malformed.count, 7);
    deepStrictEqual(f.malformed.first.map((m) => m.line), [3, 5, 6, 7, 8]);
    equal(f.malformed.first[0].text, "{not json");
    equal(f.acc.summary().latency!.count, 2);
    const [note] = notesOf(f);
    ok(
      note.startsWith(
        '7 malformed lines skipped (not JSON, or no boolean "ok"):\n  line 3: {not json',
      ),
    );
    ok(note.endsWith("\n  … and 2 more"));
    free(f);
  });
});

Deno.test("a kept malformed line is cut to 120 characters", async () => {
  await withFiles({ "long.txt": lines("#TEST=01_steady", "y".repeat(500)) }, async (p) => {
    const f = await readResults(p("long.txt"));
    equal(f.malformed.first[0].text, `${"y".repeat(120)}…`);
    free(f);
  });
});

Deno.test("the #TEST line may carry trailing spaces, and CRLF line ends and a missing last newline are read", async () => {
  const text = "\n#TEST=02_coldconn   \r\n" +
    '{"ok":true,"t_connect_ms":19.4,"t_first_rpc_ms":6.1,"t_total_ms":25.5}\r\n' +
    '{"ok":true,"t_connect_ms":18.2,"t_first_rpc_ms":5.8,"t_total_ms":24.1}';
  await withFiles({ "cold.txt": text }, async (p) => {
    const f = await readResults(p("cold.txt"));
    equal(f.test, "02_coldconn");
    equal(f.lines, 2);
    equal(f.malformed.count, 0);
    const s = f.acc.summary();
    equal(s.phases!.total!.max, 25.5);
    equal(s.phases!.connect!.min, 18.2);
    free(f);
  });
});

Deno.test("lines split across read chunks, multi-byte characters included, are read whole", async () => {
  const body = Array.from({ length: 20_000 }, (_, i) =>
    JSON.stringify({
      ok: i % 10 !== 0,
      code: i % 10 ? "OK" : "UNAVAILABLE",
      latency_ms: 1 + (i % 7),
      t_ms: i,
      error: "délai dépassé ✓",
    }));
  await withFiles({ "many.txt": lines("#TEST=01_steady", ...body) }, async (p) => {
    const f = await readResults(p("many.txt"));
    equal(f.lines, 20_000);
    equal(f.malformed.count, 0);
    deepStrictEqual([f.acc.total, f.acc.ok], [20_000, 18_000]);
    equal(f.acc.seconds.size, 20);
    free(f);
  });
});

Deno.test("onResult sees each result with its line number", async () => {
  const text = lines("#TEST=01_steady", "# note", steadyOk(1), "junk", steadyOk(2));
  await withFiles({ "cb.txt": text }, async (p) => {
    const seen: [number, unknown][] = [];
    const f = await readResults(p("cb.txt"), {
      onResult: (r, line) => seen.push([line, r.latency_ms]),
    });
    deepStrictEqual(seen, [[3, 1], [5, 2]]);
    free(f);
  });
});

Deno.test("a file that does not start with #TEST= is not a results file", async () => {
  await withFiles({
    "other.txt": lines('{"ok":true}', "#TEST=01_steady"),
    "unknown.txt": lines("#TEST=03_burst", steadyOk(1)),
  }, async (p) => {
    await rejects(readResults(p("other.txt")), {
      name: "ConfigError",
      message: `${
        p("other.txt")
      }: not a results file (first line must be #TEST=01_steady or #TEST=02_coldconn)`,
    });
    await rejects(readResults(p("unknown.txt")), {
      message: `${
        p("unknown.txt")
      }: unknown test "03_burst" on its first line (expected #TEST=01_steady or #TEST=02_coldconn)`,
    });
  });
});

Deno.test("an empty file, a missing file and a folder are refused in one line each", async () => {
  await withFiles({ "empty.txt": "", "blank.txt": "\n \n\n" }, async (p) => {
    for (const name of ["empty.txt", "blank.txt"]) {
      await rejects(readResults(p(name)), new ConfigError(`${p(name)}: empty file`));
    }
    await rejects(readResults(p("none.txt")), new ConfigError(`${p("none.txt")}: file not found`));
    const dir = p("");
    await rejects(readResults(dir), new ConfigError(`${dir}: is a directory, not a results file`));
  });
});

Deno.test("readResultsMany() merges exactly: the summary equals that of the files' concatenation", async () => {
  const a = Array.from({ length: 900 }, (_, i) => steadyOk(2 + ((i * 37) % 97) / 10, i * 3));
  const b = Array.from(
    { length: 700 },
    (_, i) =>
      i % 50 === 0
        ? JSON.stringify({ ok: false, code: "DEADLINE_EXCEEDED", latency_ms: 1000.5, t_ms: i * 4 })
        : steadyOk(4 + ((i * 53) % 89) / 7, i * 4),
  );
  const meta = (k: number) => `#META={"run_id":"r","shard":"${k}/2"}`;
  await withFiles({
    "a.txt": lines("#TEST=01_steady", meta(1), ...a),
    "b.txt": lines("#TEST=01_steady", meta(2), ...b),
    "ab.txt": lines("#TEST=01_steady", ...a, ...b),
  }, async (p) => {
    const set = await readResultsMany([p("a.txt"), p("b.txt")]);
    const whole = await readResults(p("ab.txt"));
    deepStrictEqual(set.combined.summary(), whole.acc.summary());
    deepStrictEqual(set.combined.perSecond(), whole.acc.perSecond());
    equal(set.files.length, 2);
    free(whole, ...set.files);
    set.combined.destroy();
  });
});

Deno.test("readResultsMany() refuses files of different tests, and a file named twice", async () => {
  await withFiles({
    "s.txt": lines("#TEST=01_steady", steadyOk(1)),
    "c.txt": lines("#TEST=02_coldconn", '{"ok":true,"t_total_ms":3}'),
  }, async (p) => {
    await rejects(readResultsMany([p("s.txt"), p("c.txt")]), {
      message: `${p("c.txt")}: 02_coldconn results cannot be combined with 01_steady results (${
        p("s.txt")
      })`,
    });
    await rejects(readResultsMany([p("s.txt"), p("s.txt")]), {
      message: `${p("s.txt")}: given twice`,
    });
  });
});

Deno.test("shards that ran together take the longest duration", async () => {
  const shard = (d: number, k: number) =>
    lines(
      "#TEST=01_steady",
      `#META={"duration_s":${d},"run_id":"r","shard":"${k}/3"}`,
      steadyOk(1, 0),
      '#END={"count":1}',
    );
  await withFiles(
    { "1.txt": shard(10, 1), "2.txt": shard(12, 2), "3.txt": shard(11, 3) },
    async (p) => {
      const set = await readResultsMany([p("1.txt"), p("2.txt"), p("3.txt")]);
      equal(set.durationS, 12);
      equal(combinedDuration(set.files), 12);
      free(...set.files);
      set.combined.destroy();
    },
  );
});
