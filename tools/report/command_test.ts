import assert from "node:assert/strict";
import { join } from "node:path";
import { reportCommand } from "./command.ts";
import { assertOffline, coldLines, META, steadyLines } from "./_test_fixtures.ts";

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

Deno.test("reportCommand() merges the shards of one run and judges the SLO on the merge", async () => {
  await withDir(async (dir) => {
    const a = join(dir, "host1.jsonl");
    const b = join(dir, "host2.jsonl");
    await writeResults(a, "01_steady", steadyLines(), { ...META, run_id: "r", shard: "1/2" });
    await writeResults(b, "01_steady", steadyLines({ shift: 3 }), {
      ...META,
      run_id: "r",
      shard: "2/2",
    });
    const out = join(dir, "r.html");
    const pass = await reportCommand([a, b, "--out", out, "--slo", "p50<20ms"]);
    assert.equal(pass.code, 0, pass.stderr);
    const html = await Deno.readTextFile(out);
    assert.ok(html.includes("2 shards merged"));
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
