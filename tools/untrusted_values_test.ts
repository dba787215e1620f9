/**
 * Results files are untrusted input: crafted or extreme values, lines after `#END` and huge
 * lines give a note naming the file and line, and everything else is still summarised.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { summarizeCommand } from "./summarize.ts";
import { reportCommand } from "./report/command.ts";
import { readResults } from "./results.ts";
import { MAX_LINE_CHARS } from "./results_lines.ts";
import { lines, withFiles } from "./test_files.ts";

const okLine = (latency: number, t: number) =>
  JSON.stringify({ ok: true, latency_ms: latency, service_ms: latency, lag_ms: 0.01, t_ms: t });

const META = '#META={"test":"01_steady","rate":10,"duration_s":1}';

Deno.test("latency_ms 1e300, a negative latency and a string are left out with file and line; the rest is summarised", async () => {
  const text = lines(
    "#TEST=01_steady",
    META,
    okLine(5, 0),
    '{"ok":true,"latency_ms":1e300,"service_ms":5,"lag_ms":0,"t_ms":100}',
    '{"ok":true,"latency_ms":-4,"service_ms":5,"lag_ms":0,"t_ms":200}',
    '{"ok":true,"latency_ms":"7","service_ms":5,"lag_ms":0,"t_ms":300}',
    okLine(6, 400),
    '#END={"count":5,"valid":true}',
  );
  await withFiles({ "crafted.txt": text }, async (p) => {
    const r = await summarizeCommand([p("crafted.txt")]);
    equal(r.stderr, "");
    equal(r.code, 0);
    ok(r.stdout.includes("Total Requests: 5"), r.stdout);
    ok(r.stdout.includes("Max: 6.00ms | Min: 5.00ms"), r.stdout);
    ok(
      r.stdout.includes(
        `note: ${
          p("crafted.txt")
        }: 3 time values out of range (not a number from 0 to 604800000 ms) ` +
          "left out of the figures; their lines still count:\n  line 4: latency_ms = 1e+300\n" +
          '  line 5: latency_ms = -4\n  line 6: latency_ms = "7"',
      ),
      r.stdout,
    );
    const j = JSON.parse((await summarizeCommand([p("crafted.txt"), "--json"])).stdout);
    equal(j.summary.latency.count, 2);
    const out = join(p(""), "r.html");
    const rep = await reportCommand([p("crafted.txt"), "--out", out]);
    equal(rep.stderr, "");
    equal(rep.code, 0);
    ok((await Deno.readTextFile(out)).includes("line 4: latency_ms = 1e+300"));
  });
});

Deno.test("a time above the histograms' 60 s ceiling counts as 60 s, with a note saying the percentile is a lower bound", async () => {
  await withFiles({
    "slow.txt": lines("#TEST=01_steady", okLine(5, 0), okLine(90_000, 100)),
  }, async (p) => {
    const r = await summarizeCommand([p("slow.txt")]);
    equal(r.code, 0, r.stderr);
    ok(r.stdout.includes("Max: 60000.00ms"), r.stdout);
    ok(r.stdout.includes("counted as 60 s: percentiles that reach them are lower bounds (line"));
  });
});

Deno.test("lines after #END are not counted, and are noted with the first line number", async () => {
  const text = lines(
    "#TEST=01_steady",
    META,
    okLine(5, 0),
    '#END={"count":1,"valid":true}',
    okLine(9, 100),
    "AAAAbase64fragment",
  );
  await withFiles({ "two.txt": text }, async (p) => {
    const f = await readResults(p("two.txt"));
    f.acc.destroy();
    equal(f.lines, 1);
    equal(f.truncated, false);
    deepStrictEqual(f.afterEnd, { count: 2, firstLine: 5 });
    const r = await summarizeCommand([p("two.txt")]);
    ok(r.stdout.includes("Total Requests: 1\n"), r.stdout);
    ok(r.stdout.includes("2 lines after #END (from line 5) not counted"), r.stdout);
  });
});

Deno.test("a line longer than 64 Ki characters is skipped with a note, and the lines around it are read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tools_test_" });
  try {
    const path = join(dir, "huge.txt");
    const f = await Deno.open(path, { write: true, create: true });
    const enc = new TextEncoder();
    await f.write(enc.encode(`#TEST=01_steady\n${okLine(5, 0)}\n{"ok":true,"pad":"`));
    const block = enc.encode("x".repeat(1 << 20));
    for (let i = 0; i < 5; i++) await f.write(block);
    await f.write(enc.encode(`"}\n${okLine(6, 100)}\n`));
    f.close();
    const r = await readResults(path);
    r.acc.destroy();
    equal(r.lines, 2);
    deepStrictEqual(r.tooLong, { count: 1, first: [{ line: 3, chars: 5 * (1 << 20) + 20 }] });
    const s = await summarizeCommand([path]);
    ok(
      s.stdout.includes(
        `1 line longer than ${MAX_LINE_CHARS} characters (4194304 for a # line) skipped unread: line 3 (5242900 characters)`,
      ),
      s.stdout,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a long last line without a newline, and a long # line under its own limit, are handled", async () => {
  const big = "y".repeat(MAX_LINE_CHARS + 10);
  const end = `#END=${JSON.stringify({ count: 1, valid: true, histograms: { x: big } })}`;
  await withFiles({
    "a.txt": `#TEST=01_steady\n${okLine(5, 0)}\n${end}\n`,
    "b.txt": `#TEST=01_steady\n${okLine(5, 0)}\n{"ok":true,"x":"${big}"}`,
  }, async (p) => {
    const a = await readResults(p("a.txt"));
    a.acc.destroy();
    equal(a.end?.valid, true, "a #END of over 64 Ki characters is still read");
    equal(a.tooLong.count, 0);
    const b = await readResults(p("b.txt"));
    b.acc.destroy();
    equal(b.lines, 1);
    deepStrictEqual(b.tooLong.first.map((t) => t.line), [3]);
  });
});
