/**
 * Bad input: calls df cannot serve get the right status and leave every other call alone, and the
 * tools say clearly what is wrong with a file that is not a complete results file.
 *
 * Invalid JSON alone (INVALID_ARGUMENT) is in tests/df_test.ts.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { encodeJsonVector, passBytes } from "../proto/score.ts";
import {
  type CallResult,
  run,
  type ScoreClient,
  scoreClient,
  startDfProcess,
  tempResults,
} from "./helpers.ts";

/** Runs `deno run -A tools/main.ts <args>` (the compiled `./smft` binary's entry), ended (SIGKILL) if it takes over 60 s. */
const smftTool = (args: string[]) =>
  run(["run", "-A", "tools/main.ts", ...args], {}, { timeoutMs: 60_000 });

/** A unary call to any method, over the client's channel; bytes in, status out. */
function callMethod(client: ScoreClient, path: string, body: Buffer): Promise<CallResult> {
  return new Promise((resolve) => {
    client.raw.makeUnaryRequest(
      path,
      passBytes,
      passBytes,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (e) => resolve(e ? { ok: false, code: e.code, details: e.details } : { ok: true }),
    );
  });
}

/** A JSON array of about `bytes` bytes. */
function bigJson(bytes: number): string {
  return `[${"0.5,".repeat(Math.floor(bytes / 4) - 1)}0.5]`;
}

Deno.test("df answers an oversized message, an unknown method and invalid JSON with their codes, and every other call succeeds", async () => {
  const df = await startDfProcess({ DELAY_MS: "5" });
  const a = await scoreClient(df.port);
  const b = await scoreClient(df.port);
  try {
    assert.equal((await a.call()).ok, true); // both connections up before the mix
    assert.equal((await b.call()).ok, true);
    const max = 4 * 1024 * 1024;
    const good = [
      ...Array.from({ length: 100 }, () => a.call()),
      ...Array.from({ length: 100 }, () => b.call()),
      // Just under the limit is fine.
      a.call(bigJson(max - 1024), 10_000),
    ];
    const oversized = Array.from({ length: 3 }, () => a.call(bigJson(max + 1024), 10_000));
    const unknown = Array.from(
      { length: 3 },
      () => callMethod(a, "/score.ScoreService/Nope", encodeJsonVector("[1]")),
    );
    const unknownService = callMethod(a, "/other.Service/GetScore", encodeJsonVector("[1]"));
    const invalid = Array.from({ length: 3 }, () => a.call("{not json"));

    for (const r of await Promise.all(oversized)) {
      assert.equal(r.code, grpc.status.RESOURCE_EXHAUSTED, JSON.stringify(r));
      assert.match(String(r.details), /^Received message larger than max \(\d+ vs 4194304\)/);
    }
    for (const r of [...await Promise.all(unknown), await unknownService]) {
      assert.equal(r.code, grpc.status.UNIMPLEMENTED, JSON.stringify(r));
    }
    for (const r of await Promise.all(invalid)) {
      assert.equal(r.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(r));
    }
    const results = await Promise.all(good);
    const failed = results.filter((r) => !r.ok);
    assert.equal(failed.length, 0, JSON.stringify(failed.slice(0, 3)));
    // The same connections go on serving.
    assert.equal((await a.call()).ok, true);
    assert.equal((await b.call()).ok, true);
  } finally {
    a.close();
    b.close();
    await df.stop();
  }
  // Nothing was dropped: two connections, every GetScore df saw was answered.
  assert.match(df.stdout, /calls=208 \(OK=205 INVALID_ARGUMENT=3\) connections=2 refused=0/);
});

const STEADY_META = JSON.stringify({
  test: "01_steady",
  target: "localhost:50051",
  rate: 100,
  host_rate: 100,
  duration_s: 1,
  deadline_ms: 1000,
  start_epoch_ms: 1_700_000_000_000,
});

function resultLine(i: number): string {
  return JSON.stringify({
    ok: true,
    latency_ms: 6.1 + (i % 7) / 10,
    service_ms: 6,
    lag_ms: 0.1,
    t_ms: i * 10,
    df_ms: 5.05,
  });
}

/** What a crash or a full disk leaves: META, some lines, one cut in half, no END. */
function truncatedFile(): string {
  const lines = Array.from({ length: 20 }, (_, i) => resultLine(i));
  return `#TEST=01_steady\n#META=${STEADY_META}\n${lines.join("\n")}\n${
    resultLine(20).slice(0, 25)
  }`;
}

Deno.test("summarize and report say what is wrong with a bad results file in one line, never a stack trace", async (t) => {
  const dir = await tempResults("bad-results-");
  const files: [name: string, content: string | Uint8Array, expected: RegExp][] = [
    ["an empty file", "", /: empty file$/],
    [
      "a text file that is not a results file",
      "hello, world\nthis is not a results file\n",
      /: not a results file \(first line must be #TEST=01_steady or #TEST=02_coldconn\)$/,
    ],
    [
      "binary bytes",
      crypto.getRandomValues(new Uint8Array(2048)),
      /: not a results file/,
    ],
  ];
  for (const [name, content, expected] of files) {
    await t.step(name, async () => {
      const path = join(dir, `${name.replaceAll(" ", "_")}.txt`);
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
      const html = join(dir, `${name.replaceAll(" ", "_")}.html`);
      for (
        const [tool, args] of [
          ["summarize", ["summarize", path]],
          ["report", ["report", path, "--out", html]],
        ] as const
      ) {
        const r = await smftTool([...args]);
        assert.equal(r.code, 1, `${tool}: exit code\n${r.stderr}`);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, `${tool}: one line\n${r.stderr}`);
        assert.ok(lines[0].startsWith(`${tool}: ${path}`), `${tool} names the file: ${lines[0]}`);
        assert.match(lines[0], expected);
        assert.doesNotMatch(r.stderr, /\n\s+at |Error:|\.ts:\d+/, "no stack trace");
        assert.equal(r.stdout.trim(), "", `${tool} prints no figures`);
      }
      await assert.rejects(Deno.stat(html), "no report is written");
    });
  }

  await t.step("a truncated file: summarised with notes saying what is missing", async () => {
    const path = join(dir, "truncated.txt");
    await Deno.writeTextFile(path, truncatedFile());
    const r = await smftTool(["summarize", path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Total Requests: 20\n/);
    assert.match(r.stdout, /1 malformed line skipped/);
    assert.match(r.stdout, /line 23: /);
    assert.match(r.stdout, /no #END: the run was interrupted or the file is truncated/);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);

    const html = join(dir, "truncated.html");
    const rep = await smftTool(["report", path, "--out", html]);
    assert.equal(rep.code, 0, rep.stderr);
    const page = await Deno.readTextFile(html);
    assert.match(page, /interrupted or the file is truncated/);
    assert.match(page, /malformed/);
  });

  await t.step(
    "a file cut inside its #META line: no figures, and a note naming the line",
    async () => {
      const path = join(dir, "cut-meta.txt");
      await Deno.writeTextFile(path, `#TEST=01_steady\n#META=${STEADY_META.slice(0, 30)}`);
      const r = await smftTool(["summarize", path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Total Requests: 0\n/);
      assert.match(r.stdout, /1 malformed line skipped/);
      assert.match(r.stdout, /line 2: #META=\{"test"/);
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
    },
  );
});
