/**
 * `smft steady --find-capacity`: one run per rate the planner (`capacity.ts`) asks for, each kept
 * under the ladder's file name, then the answer, the steps, and a ladder report.
 *
 * @module
 */
import type { SteadyConfig } from "./settings.ts";
import { runSteady, type SteadyResult } from "./steady.ts";
import { ResultsWriter } from "./record.ts";
import { insertBeforeExtension, resultsPath } from "./results_path.ts";
import { formatProgress, logLine } from "./progress.ts";
import { formatSummary } from "./summary_text.ts";
import { findCapacity, formatCapacitySteps } from "./capacity.ts";
import { versionLine } from "./shared/version.ts";
import { EXIT } from "./exit_codes.ts";
import { prepare } from "./command_setup.ts";
import { resolveMethod } from "./method.ts";
import { steadyRunOf } from "./steady_run.ts";
import { placementLines, print, printVerdicts } from "./command_output.ts";

/**
 * What the entry point (`tools/main.ts`) hands in: smft never imports the tools, so the report
 * writer comes from there, and `--find-capacity` ends with a report.
 */
export interface SmftHooks {
  /** Writes an HTML report of `files` to `out`; resolves to an error line, or undefined. */
  writeReport: (
    files: string[],
    out: string,
    slo: string | undefined,
  ) => Promise<string | undefined>;
}

/** Runs `steady --find-capacity` within `bounds`; resolves to its exit code. */
export async function capacityCommand(
  c: SteadyConfig,
  bounds: NonNullable<SteadyConfig["capacity"]>,
  hooks: SmftHooks,
): Promise<number> {
  const { clauses, display, target, signal, cancel } = prepare(c);
  const method = await resolveMethod(c, target, c.connectTimeoutMs);
  logLine(
    display,
    `smft steady --find-capacity -> ${c.host}:${c.port} from ${c.rates[0]}/s (x2 up, then ` +
      `bisect to ${bounds.precision * 100} %, at most ${bounds.maxSteps} steps, ` +
      `${bounds.maxRate}/s max), SLO ${c.slo}; each step: warm-up ${c.warmupS} s, measure ` +
      `${c.durationS} s; ${versionLine("smft")}`,
  );
  const runsAt = new Map<number, number>();
  const answer = await findCapacity(
    {
      slo: clauses,
      start: c.rates[0],
      precision: bounds.precision,
      maxRate: bounds.maxRate,
      maxSteps: bounds.maxSteps,
      signal,
      onStep: (s, next) =>
        logLine(
          display,
          `smft: capacity step ${s.rate}/s: ${s.valid ? "VALID" : "INVALID"}, SLO ${
            s.sloPass ? "met" : "failed"
          }${next.done ? "" : ` -> next ${next.next}/s`}`,
        ),
    },
    async (rate) => {
      // A rate run again (its first run was INVALID) gets a file of its own: `_<rate>rps_2`.
      const n = (runsAt.get(rate) ?? 0) + 1;
      runsAt.set(rate, n);
      const first = resultsPath(c.out, rate, c.shard);
      const out = n === 1 ? first : insertBeforeExtension(first, `_${n}`);
      const writer = ResultsWriter.reserve(out, "01_steady");
      let r: SteadyResult;
      try {
        r = await runSteady({
          ...steadyRunOf(c, rate, out, writer, { target, display, signal, cancel, method }),
          onProgress: (p) => display.update(formatProgress(p, `[${rate}/s] `)),
        });
      } catch (e) {
        writer.discard();
        throw e;
      }
      placementLines(display, r, out);
      print(`\n== 01_steady at ${rate}/s -> ${r.file}`);
      print(formatSummary(r.summary));
      printVerdicts(r, clauses);
      return r;
    },
  );
  print(`\n${formatCapacitySteps(answer)}`);
  print(`Capacity: ${answer.text}`);
  const files = answer.steps.map((s) => s.file).filter((f): f is string => f !== undefined);
  if (files.length > 0) {
    const out = resultsPath(insertBeforeExtension(c.out, "_capacity", ".html"), undefined, c.shard);
    const problem = await hooks.writeReport(files, out, c.slo);
    print(
      problem === undefined
        ? `Report: ${out}`
        : `Report not written (${problem}); draw it with: smft report ${
          files.join(" ")
        } --slo "${c.slo}"`,
    );
  }
  if (signal.aborted) return EXIT.interrupted;
  return answer.capacity === null ? EXIT.slo : EXIT.ok;
}
