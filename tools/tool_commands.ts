/**
 * The tools as commands, for both entry points: `tools/main.ts` (the `summarize`, `report` and
 * `compare` tasks) and `smft` (so a load host needs one binary).
 *
 * @module
 */
import { compareCommand } from "./compare/command.ts";
import { reportCommand } from "./report/command.ts";
import { summarizeCommand } from "./summarize.ts";
import type { CommandResult } from "./command_result.ts";

export type { CommandResult };

/** Each command takes its arguments and returns its exit code and text. */
export const TOOL_COMMANDS: Record<string, (args: string[]) => Promise<CommandResult>> = {
  summarize: summarizeCommand,
  report: reportCommand,
  compare: compareCommand,
};
