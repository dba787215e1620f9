/**
 * smft's one entry: what the tasks (`deno task steady`, `coldconn`, `summarize`, ...), the
 * compiled `./smft` and the end-to-end tests start, so that a load host needs one binary. It
 * holds the usage, `--version` and the exit code of a bare `smft` (1, with the usage). `steady`
 * and `coldconn` are `smft/cli.ts`'s (loaded only then, so the tools need no network or
 * environment permissions), handed the report writer `steady --find-capacity` ends with; the
 * tools' commands return their text and exit code, and this is the only place they print.
 *
 * @module
 */
import { TOOL_COMMANDS as COMMANDS } from "./tool_commands.ts";
import { TOOL_VERSION } from "../smft/shared/version.ts";
import { printable } from "../smft/shared/printable.ts";

const USAGE = `smft: gRPC latency load generator for df (TLS 1.3 + mutual TLS), and its tools

Usage: smft <command> [options]      (deno task <command> [options])

Commands:
  steady      a fixed request rate over one reused channel
  coldconn    a new TLS channel per attempt, timed phase by phase
  summarize   FILE... [--json] [--slo CLAUSES] [--merge]   summary of results files, SLO verdicts
  report      FILE... [--out PATH] [--slo ...] [--merge]   one self-contained HTML page of results files
  compare     A B [--json] [--merge]                       how run B differs from run A, with 95 % intervals

"smft <command> --help" tells more. "smft --version" prints the version.`;

async function main(): Promise<number> {
  const [name, ...rest] = Deno.args;
  if (name === "steady" || name === "coldconn") {
    const { smftMain } = await import("../smft/cli.ts");
    return await smftMain(name, rest, {
      // `steady --find-capacity` ends with a ladder report of its steps.
      writeReport: async (files, out, slo) => {
        const r = await COMMANDS.report([...files, "--out", out, ...(slo ? ["--slo", slo] : [])]);
        // Only 1 is "not written"; 2, 3 and 5 are the gate of a page that was written.
        return r.code === 1 ? r.stderr.trim() : undefined;
      },
    });
  }
  if (name === "--version" || name === "version") {
    console.log(`smft ${TOOL_VERSION}`);
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(
      `smft: unknown command ${
        JSON.stringify(name)
      }; expected steady, coldconn, summarize, report or compare`,
    );
    return 1;
  }
  const r = await command(rest);
  // What the commands print comes from files (and so from servers): never raw control codes.
  if (r.stdout) console.log(printable(r.stdout));
  if (r.stderr) console.error(printable(r.stderr));
  return r.code;
}

Deno.exit(await main());
