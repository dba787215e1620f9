/**
 * `--merge`: files a user knows are one run (the seed's files of two load hosts, files from before
 * run_id) are merged exactly, as shards are, and say so; files of different tests are refused.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { summarizeCommand } from "./summarize.ts";
import { compareCommand } from "./compare/command.ts";
import { reportCommand } from "./report/command.ts";
import { lines, withFiles } from "./test_files.ts";

/** Lines of the whole seed-format file: 20,000 results, 280 of them failed. */
const N = 20_000;
/** Successful results: every latency from 1.000 ms to 20.719 ms (1 µs apart) exactly once. */
const OK = 19_720;

/**
 * The seed's Python clients' lines: `{"ok":true,"latency_ms":…}` or `{"ok":false,"code":…}`.
 * Every 100th line misses its deadline, 80 others are UNAVAILABLE; the k-th successful line gets
 * 1 + (k · 7919 mod 19,720) / 1000 ms (7919 is prime to 19,720, so each value once, shuffled).
 */
function seedLines(): string[] {
  const out: string[] = [];
  let k = 0;
  for (let i = 0; i < N; i++) {
    if (i % 100 === 99) out.push('{"ok":false,"code":"DEADLINE_EXCEEDED"}');
    else if (i % 250 === 137) out.push('{"ok":false,"code":"UNAVAILABLE"}');
    else out.push(`{"ok":true,"latency_ms":${1 + ((k++ * 7919) % OK) / 1000}}`);
  }
  equal(k, OK);
  return out;
}

const SEED = seedLines();
/** The whole file, and its two halves as two load hosts would have written them. */
const SEED_FILES = {
  "whole.txt": lines("#TEST=01_steady", ...SEED),
  "host1.txt": lines("#TEST=01_steady", ...SEED.slice(0, N / 2)),
  "host2.txt": lines("#TEST=01_steady", ...SEED.slice(N / 2)),
};

/** A steady file of this suite from before run_id: #META without one, shard 1/1, its #END. */
function oldFile(rate: number, start: number, latency: number, valid: boolean): string {
  const n = rate * 2;
  return lines(
    "#TEST=01_steady",
    `#META=${
      JSON.stringify({
        test: "01_steady",
        target: "10.0.0.5:50051",
        rate,
        duration_s: 2,
        start_epoch_ms: start,
        shard: "1/1",
      })
    }`,
    ...Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        ok: true,
        latency_ms: latency,
        service_ms: latency,
        lag_ms: valid ? 0.01 : 2.5,
        t_ms: i * 1000 / rate,
      })),
    `#END=${
      JSON.stringify({
        count: n,
        valid,
        ...(valid ? {} : { verdict_reasons: ["lag p99 2.50 ms (limit 1 ms)"] }),
      })
    }`,
  );
}

const COLD = lines(
  "#TEST=02_coldconn",
  '{"ok":true,"t_connect_ms":3.2,"t_first_rpc_ms":6.1,"t_total_ms":9.3}',
);

/** Runs `deno run -A tools/main.ts <args>` from the repository root, as a user would. */
async function mainTs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/main.ts", ...args],
    env: { NO_COLOR: "1" },
    cwd: root,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("summarize --merge of two seed-format halves gives exactly the whole file's figures", async () => {
  await withFiles(SEED_FILES, async (p) => {
    const whole = JSON.parse((await summarizeCommand([p("whole.txt"), "--json"])).stdout);
    const r = await summarizeCommand([p("host1.txt"), p("host2.txt"), "--merge", "--json"]);
    equal(r.code, 0, r.stderr);
    const merged = JSON.parse(r.stdout);
    // Every figure: counts, errors by code, exact mean, min, max, and every percentile.
    deepStrictEqual(merged.summary, whole.summary);
    const s = merged.summary;
    deepStrictEqual([s.total, s.ok, s.failed], [N, OK, N - OK]);
    deepStrictEqual(s.byCode, { OK, DEADLINE_EXCEEDED: 200, UNAVAILABLE: 80 });
    const l = s.latency;
    equal(l.count, OK);
    equal(l.min, 1);
    equal(l.max, 20.719);
    // The mean of 1.000 … 20.719 ms, summed in integer microseconds: exact.
    equal(l.mean, 1 + (OK - 1) / 2000);
    // Nearest rank: the value at rank ⌈p/100 × 19,720⌉ is 1 + (rank − 1) / 1000 ms; the
    // histogram gives the top of its bucket, at most one bucket (≤ 16 µs here) above it.
    for (const [p, got] of [[50, l.p50], [90, l.p90], [99, l.p99]]) {
      const exact = 1 + (Math.ceil((p / 100) * OK) - 1) / 1000;
      ok(got >= exact && got - exact <= 0.016, `p${p}: ${got}, exact ${exact}`);
    }
    // It says the merge was asked for, and which files it took.
    equal(merged.mergeAsked, true);
    equal(merged.run, "merged as asked (--merge): read as shards of one run");
    deepStrictEqual(merged.files.map((f: { path: string }) => f.path), [
      p("host1.txt"),
      p("host2.txt"),
    ]);
    deepStrictEqual(merged.files.map((f: { format: string }) => f.format), ["seed", "seed"]);
    equal(whole.mergeAsked, undefined);

    const text = await summarizeCommand([p("host1.txt"), p("host2.txt"), "--merge"]);
    equal(text.code, 0, text.stderr);
    const wholeText = (await summarizeCommand([p("whole.txt")])).stdout;
    const head = "2 files of 01_steady, merged as asked (--merge), read as shards of one run:";
    ok(text.stdout.startsWith(`${head}\n${wholeText}\n\nPer file:\n`), text.stdout);
    ok(text.stdout.includes(`\n  ${p("host1.txt")}: 10000 requests, 98.6% ok, p50 `));
    ok(text.stdout.includes(`\n  ${p("host2.txt")}: 10000 requests, 98.6% ok, p50 `));
  });
});

Deno.test("without --merge the two seed-format halves stay two runs, each saying why", async () => {
  await withFiles(SEED_FILES, async (p) => {
    const r = await summarizeCommand([p("host1.txt"), p("host2.txt")]);
    equal(r.code, 0, r.stderr);
    ok(r.stdout.startsWith("2 runs of 01_steady, not merged: "), r.stdout);
    ok(!r.stdout.includes("--merge"), r.stdout);
    ok(
      r.stdout.includes(
        `${p("host2.txt")}: seed format (no #META): a run of its own, never merged`,
      ),
    );
    const j = JSON.parse(
      (await summarizeCommand([p("host1.txt"), p("host2.txt"), "--json"])).stdout,
    );
    deepStrictEqual(j.runs.map((x: { summary: { total: number } }) => x.summary.total), [
      N / 2,
      N / 2,
    ]);
    equal(j.notMerged.length, 2);
    ok(j.runs.every((x: { mergeAsked?: boolean }) => x.mergeAsked === undefined));
  });
});

Deno.test("a --merge of a steady and a coldconn file is refused: exit 1, one line on stderr", async () => {
  await withFiles({ ...SEED_FILES, "cold.txt": COLD }, async (p) => {
    const r = await mainTs(["summarize", p("host1.txt"), p("cold.txt"), "--merge"]);
    equal(r.code, 1);
    equal(r.stdout, "");
    equal(
      r.stderr,
      `summarize: --merge: ${p("cold.txt")} holds 02_coldconn results and ${
        p("host1.txt")
      } 01_steady results: files of different tests are not one run, so not merged\n`,
    );
    // The same refusal from report (nothing written) and from one side of compare.
    const out = join(p(""), "r.html");
    const rep = await reportCommand([p("host1.txt"), p("cold.txt"), "--merge", "--out", out]);
    equal(rep.code, 1);
    ok(rep.stderr.startsWith("report: --merge: ") && !rep.stderr.includes("\n"), rep.stderr);
    equal(await Deno.stat(out).then(() => true, () => false), false);
    const cmp = await compareCommand([
      `${p("host1.txt")},${p("cold.txt")}`,
      p("whole.txt"),
      "--merge",
    ]);
    equal(cmp.code, 1);
    ok(cmp.stderr.startsWith("compare: --merge: ") && !cmp.stderr.includes("\n"), cmp.stderr);
  });
});

Deno.test("--merge of files from before run_id: INVALID when any file is, and the report says so", async () => {
  const start = 1_795_577_906_833;
  await withFiles({
    "a.txt": oldFile(100, start, 5, true),
    "b.txt": oldFile(50, start + 40, 7, false),
    "c.txt": oldFile(50, start + 90, 6, true),
  }, async (p) => {
    // Without --merge: two runs of their own.
    const apart = await summarizeCommand([p("a.txt"), p("b.txt"), "--json"]);
    equal(JSON.parse(apart.stdout).runs.length, 2);

    const j = JSON.parse(
      (await summarizeCommand([p("a.txt"), p("b.txt"), "--merge", "--json"])).stdout,
    );
    equal(j.summary.total, 300);
    equal(j.verdict.valid, false);
    deepStrictEqual(j.verdict.reasons, [`${p("b.txt")}: lag p99 2.50 ms (limit 1 ms)`]);
    const t = await summarizeCommand([p("a.txt"), p("b.txt"), "--merge", "--slo", "p99<10ms"]);
    ok(
      t.stdout.includes(`Run verdict: INVALID: 1 of 2 shards are INVALID (${p("b.txt")}: `),
      t.stdout,
    );
    ok(t.stdout.includes(`  ${p("b.txt")}: 100 requests, 100.0% ok, p50 7.00ms, p99 7.00ms`));
    ok(t.stdout.includes("note: the SLO was judged on an INVALID run"), t.stdout);
    const valid = JSON.parse(
      (await summarizeCommand([p("a.txt"), p("c.txt"), "--merge", "--json"])).stdout,
    );
    equal(
      valid.verdict.text,
      "VALID: every shard kept its schedule, its own delay a small part of the figures",
    );

    const out = join(p(""), "r.html");
    const r = await reportCommand([
      p("a.txt"),
      p("b.txt"),
      "--merge",
      "--out",
      out,
      "--slo",
      "p99<10ms",
    ]);
    // Written; the SLO passed on a run one of whose files is INVALID: the gate exits 3, as smft.
    equal(r.code, 3, r.stderr);
    const html = await Deno.readTextFile(out);
    ok(
      html.includes(
        "<b>2 files merged (--merge)</b>: merged as asked (--merge): a.txt, b.txt read as shards of one run",
      ),
    );
    ok(/<b>2 files merged \(--merge\)<\/b>: [^<]*smft judged this run INVALID/.test(html));
    // The SLO is judged once, on the merge; its asked rate is the files' rates added up.
    ok(
      /<h3>2 files merged \(--merge\)<\/h3><ul class="plain"><li><span class="badge pass">/.test(
        html,
      ),
    );
    equal(html.match(/<div class="verdicts">/g)?.length, 1);
    ok(!html.includes("not merged with the other"), "no file calls itself a separate run");
    ok(
      /2 files merged \(--merge\)<\/td><td>10\.0\.0\.5:50051<\/td><td class="n">150<\/td>/.test(
        html,
      ),
    );
  });
});

Deno.test("report --merge of two seed-format halves draws one merged run beside its files", async () => {
  await withFiles(SEED_FILES, async (p) => {
    const out = join(p(""), "r.html");
    const r = await reportCommand([p("host1.txt"), p("host2.txt"), "--merge", "--out", out]);
    equal(r.code, 0, r.stderr);
    equal(r.stdout, out);
    const html = await Deno.readTextFile(out);
    ok(html.includes("merged as asked (--merge): host1.txt, host2.txt read as shards of one run"));
    ok(!html.includes("2 shards merged"));
    // Without --merge the page has no merged run, and each file says it is a run of its own.
    await reportCommand([p("host1.txt"), p("host2.txt"), "--out", out]);
    const apart = await Deno.readTextFile(out);
    ok(!apart.includes("--merge") && !apart.includes("files merged"), "no merge without --merge");
    ok(apart.includes("<b>host2.txt</b>: not merged with the other 01_steady files"));
  });
});

Deno.test("compare --merge takes each side's files as one run: the halves compare equal to the whole", async () => {
  await withFiles(SEED_FILES, async (p) => {
    const halves = `${p("host1.txt")},${p("host2.txt")}`;
    const refused = await compareCommand([halves, p("whole.txt")]);
    equal(refused.code, 1);
    ok(refused.stderr.includes("not shards of one run, so not merged"), refused.stderr);

    const r = await compareCommand([halves, p("whole.txt"), "--merge", "--json"]);
    equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    equal(j.a.mergeAsked, true);
    equal(j.b.mergeAsked, undefined);
    deepStrictEqual([j.a.total, j.a.ok, j.b.total, j.b.ok], [N, OK, N, OK]);
    deepStrictEqual(j.rows.map((x: { p: number; diff: number }) => [x.p, x.diff]), [
      [50, 0],
      [90, 0],
      [99, 0],
    ]);
    const text = await compareCommand([halves, p("whole.txt"), "--merge"]);
    ok(
      text.stdout.includes(
        `A: ${p("host1.txt")}, ${
          p("host2.txt")
        }  (merged as asked (--merge), 20000 requests, 98.6% ok,`,
      ),
      text.stdout,
    );
    ok(text.stdout.includes(`B: ${p("whole.txt")}  (20000 requests,`), text.stdout);
  });
});

Deno.test("--merge appears in the help of summarize, report and compare", async () => {
  for (const cmd of [summarizeCommand, reportCommand, compareCommand]) {
    const h = await cmd(["--help"]);
    equal(h.code, 0);
    ok(/\n {2}--merge {2,}\S/.test(h.stdout), h.stdout);
    ok(h.stdout.split("\n")[0].endsWith("[--merge]"), h.stdout.split("\n")[0]);
  }
});
