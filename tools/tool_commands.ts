/**
 * The tools as commands (`summarize`, `report`, `compare`), by name, for the one entry,
 * `tools/main.ts`, which also hands `report` to `steady --find-capacity`.
 *
 * @module
 */
import { compareCommand } from "./compare/command.ts";
import { reportCommand } from "./report/command.ts";
import { summarizeCommand } from "./summarize.ts";
import type { CommandResult } from "./command_result.ts";

/** Each command takes its arguments and returns its exit code and text. */
export const TOOL_COMMANDS: Record<string, (args: string[]) => Promise<CommandResult>> = {
  summarize: summarizeCommand,
  report: reportCommand,
  compare: compareCommand,
};
