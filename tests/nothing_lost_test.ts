/**
 * Nothing lost: SIGINT and SIGTERM at random moments of steady and coldconn runs always leave a
 * complete results file. smft writes to `<file>.partial` and renames it into place after `#END`
 * (smft/record.ts), so a file under its final name is always whole.
 *
 * The moments come from a seeded generator, a new seed each run (printed, and in every failure
 * message): `NOTHING_LOST_SEED=<n>` replays the same moments.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readResultsFile, startDfProcess, startSmft, tempResults } from "./helpers.ts";
import { seededRandom } from "../tools/random.ts";

const SEED = Number(Deno.env.get("NOTHING_LOST_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const REPEATS = 4;
/** Runs at once: two keep the 16 runs short on a 2-core machine without starving df. */
const PARALLEL = 2;

const STEADY_RATE = 500;
const COLD_RATE = 20;

interface Run {
  test: "steady" | "coldconn";
  signal: "SIGINT" | "SIGTERM";
  delayMs: number;
  out: string;
}

Deno.test(`SIGINT and SIGTERM at random moments leave every steady and coldconn file complete (seed ${SEED})`, async (t) => {
  const random = seededRandom(SEED);
  const dir = await tempResults("nothing-lost-");
  const runs: Run[] = [];
  for (const test of ["steady", "coldconn"] as const) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      for (let i = 0; i < REPEATS; i++) {
        runs.push({
          test,
          signal,
          delayMs: Math.round(300 + random() * 1700),
          out: join(dir, `${test}-${signal}-${i}.txt`),
        });
      }
    }
  }
  console.log(
    `  NOTHING_LOST_SEED=${SEED} replays these moments: delays ${
      runs.map((r) => r.delayMs).join(", ")
    } ms`,
  );

  // A 50 ms hold keeps ~25 steady calls in flight when the signal lands: the drain is exercised.
  const df = await startDfProcess({ DELAY_MS: "50" });
  const outcomes = new Map<Run, { code: number; stderr: string }>();
  try {
    const one = async (r: Run) => {
      // Long runs: the signal always comes first (in steady, sometimes during the warm-up).
      const args = r.test === "steady"
        ? ["steady", "--rps", String(STEADY_RATE), "--duration", "60", "--warmup", "0.5"]
        : ["coldconn", "--rps", String(COLD_RATE), "--duration", "60"];
      const smft = await startSmft([...args, "--out", r.out, "--quiet"], {
        DF_PORT: String(df.port),
      });
      try {
        // From the start line on, smft handles signals (they are installed before it prints it).
        await smft.waitFor(/^smft (steady|coldconn) ->/m, "stderr", 30_000);
        await new Promise((res) => setTimeout(res, r.delayMs));
        smft.kill(r.signal);
        const timer = setTimeout(() => smft.kill("SIGKILL"), 20_000);
        const status = await smft.wait();
        clearTimeout(timer);
        outcomes.set(r, { code: status.code, stderr: smft.stderr });
      } finally {
        smft.kill("SIGKILL");
        await smft.wait();
      }
    };
    const queue = [...runs];
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) await one(r);
    }));
  } finally {
    await df.stop();
  }

  for (const [i, r] of runs.entries()) {
    await t.step(`${r.test} ${r.signal} after ${r.delayMs} ms (#${i % REPEATS + 1})`, async () => {
      const o = outcomes.get(r)!;
      assert.equal(o.code, 130, o.stderr);
      await assert.rejects(Deno.stat(`${r.out}.partial`), "the .partial file was renamed");
      const text = await Deno.readTextFile(r.out);
      assert.ok(text.endsWith("\n"), "the file ends with a whole line");
      const all = text.slice(0, -1).split("\n");
      assert.equal(all.at(-1)?.startsWith("#END="), true, "the last line is #END");
      // Every line parses: none was cut in half.
      const parsed = await readResultsFile(r.out);
      assert.equal(parsed.test, r.test === "steady" ? "01_steady" : "02_coldconn");
      assert.equal(
        all.length,
        parsed.lines.length + 3,
        "#TEST, #META, results, #END, nothing else",
      );
      const end = parsed.end!;
      assert.equal(end.interrupted, true);
      assert.equal(end.count, parsed.lines.length, "#END count = result lines");
      assert.equal(end.sent, parsed.lines.length, "one line per request sent");
      for (const l of parsed.lines) assert.equal(typeof l.ok, "boolean", JSON.stringify(l));
      // Each planned request at most once, on the plan.
      const step = 1000 / (r.test === "steady" ? STEADY_RATE : COLD_RATE);
      const t = parsed.lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
      t.forEach((v, k) => assert.ok(Math.abs(v - k * step) < 0.002, `request ${k} at ${v} ms`));
    });
  }
});
