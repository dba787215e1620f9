/**
 * The tools' entry point: `main.ts <summarize|report|compare> ...`. The only place the tools print;
 * each command returns its text and exit code.
 *
 * @module
 */
import { TOOL_COMMANDS as COMMANDS } from "./commands.ts";

const USAGE = `Usage: main.ts <command> [options]

Commands:
  summarize FILE... [--json] [--slo CLAUSES]   summary of results files, SLO verdicts
  report FILE... [--out PATH] [--slo CLAUSES]  one self-contained HTML page of results files
  compare A B [--json]                         how run B differs from run A, with 95 % intervals

"main.ts <command> --help" tells more.`;

async function main(): Promise<number> {
  const [name, ...rest] = Deno.args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(
      `tools: unknown command ${JSON.stringify(name)}; expected summarize, report or compare`,
    );
    return 1;
  }
  const r = await command(rest);
  if (r.stdout) console.log(r.stdout);
  if (r.stderr) console.error(r.stderr);
  return r.code;
}

Deno.exit(await main());
