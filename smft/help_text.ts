/**
 * The `--help` texts of `steady` and `coldconn`: what each test does, its exit codes and its
 * option table, with the verdict's rule worded from the rule itself.
 *
 * @module
 */
import { formatOptions } from "./shared/layered_config.ts";
import { type Command, OPTIONS } from "./option_table.ts";
import { RUN_RULES } from "./verdict.ts";

/**
 * The verdict steady applies, in words, from the rules themselves ({@link RUN_RULES}): the help
 * cannot describe another.
 */
function verdictHelp(): string {
  const r = RUN_RULES;
  const text = `The run judges the generator, never the server or the link: it is INVALID (exit ` +
    `3) when the achieved rate is more than ${r.rateTolerance * 100} % off, or when the ` +
    `generator's own delay (sending late: lag; reading late: responses waiting for its thread) ` +
    `can move the p50 by over ${r.ownP50MaxMs} ms or the p99 by over ${
      r.ownP99MaxShare * 100
    } % of it (${r.ownP99FloorMs} ms at least; the send side exactly, the read side by adding ` +
    `its distribution to every call once more), or when the load host was short of CPU (Linux ` +
    `PSI: some thread waiting for one over ${r.hostPressureBasePct} % of the time plus ` +
    `${r.hostPressurePer100Pct} % per ` +
    `100 calls/s, ${r.hostPressureMaxPct} % at most), or when it ` +
    `was paced by spin against a server on the same host (the spinning core is one the server ` +
    `needs); the own delay ` +
    `is judged on ${r.minCallsForLag} ` +
    `measured calls or more. The summary's "Generator's own delay" line gives both sides. A run ` +
    `none of whose calls got through exits 1.`;
  // Wrapped as the rest of the help: at most 95 columns.
  const lines: string[] = [];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= 95) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join("\n");
}

/** `--help` text of a subcommand. */
export function helpText(cmd: Command): string {
  const intro = cmd === "steady"
    ? `smft steady: a fixed request rate, open loop, over one reused HTTP/2 channel.

Request i is due at t0 + i/rate (--arrival poisson: at the i-th instant of a seeded Poisson
sequence) and is sent then, however late (nothing is skipped). Without --call it calls df's
score.ScoreService/GetScore; with --call and --proto or --reflect, any unary method. Each
result line records latency_ms = done - intended (response time, free of coordinated
omission), service_ms = done - issued, lag_ms = issued - intended (the generator's own error).

${verdictHelp()}`
    : `smft coldconn: a brand-new TLS 1.3 + mTLS channel per attempt, timed phase by phase.

Attempt i starts at t0 + i/rate even when earlier ones are slow (overlaps are reported). Each
line records t_start_ms, t_dns_ms, t_tcp_ms, t_tls_ms, t_h2_ms, t_connect_ms (channel ready),
t_first_rpc_ms (ready to response: the call's own time) and t_total_ms, all but t_first_rpc_ms
from the attempt's start. The first --warmup-attempts (default 1) are made on the same schedule and
not recorded: a process's first attempt also times its own start-up. The run is INVALID
(exit 3) on steady's rule, judged on t_total_ms.`;
  return `${intro}

Usage: deno task ${cmd} [options]    (or ./smft ${cmd} [options])

Settings come from flags, then the environment, then a .env file (--env-file, else smft/.env,
else ./.env), then defaults.${
    cmd === "coldconn"
      ? "\ncoldconn reads its rate from --rps or COLD_RPS (default 1/s), never from N_RPS (steady's)."
      : ""
  }

Exit codes (the first that applies):
  130  interrupted (SIGINT/SIGTERM); the file is kept, marked interrupted
  4    a results file could not be written during the run (disk full, ...): the .partial
       keeps every whole line
  1    bad configuration, results path unusable, df unreachable at start, or no call
       (attempt) got through: every result an error
  5    the run is INVALID and an SLO clause failed
  3    the run is INVALID, SLO clauses passed or none given
  2    an SLO clause failed in a VALID run
  0    a VALID run, every SLO clause passed
Both verdicts are always printed. The own delay is judged on ${RUN_RULES.minCallsForLag} measured calls or more.

Options:
${formatOptions(OPTIONS[cmd])}
`;
}
