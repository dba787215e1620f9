/**
 * smft's load commands, `steady` and `coldconn`: picks the command and turns what it throws into
 * one line and an exit code. Its only caller is `tools/main.ts`, the one entry of the tasks, the
 * compiled `./smft` and the tests, which holds the usage and `--version` and hands in the report
 * writer (smft never imports the tools).
 *
 * @module
 */
import { ConfigError } from "./shared/layered_config.ts";
import { TlsFileError } from "../certs/tls.ts";
import { UnreachableError } from "./channel.ts";
import { ConnectionFailedError } from "./connections.ts";
import { ResultsPathError, ResultsWriteError } from "./record.ts";
import { EXIT } from "./exit_codes.ts";
import { printError } from "./command_output.ts";
import { steadyCommand } from "./steady_command.ts";
import { coldconnCommand } from "./coldconn_command.ts";
import type { SmftHooks } from "./capacity_command.ts";

function fail(message: string): never {
  printError(`smft: ${message}`);
  Deno.exit(EXIT.config);
}

function dispatch(command: "steady" | "coldconn", args: string[], hooks: SmftHooks) {
  return command === "steady" ? steadyCommand(args, hooks) : coldconnCommand(args);
}

/** Runs `smft steady|coldconn <args>` and exits with its code; configuration errors are one line. */
export function smftMain(
  command: "steady" | "coldconn",
  args: string[],
  hooks: SmftHooks,
): Promise<never> {
  return dispatch(command, args, hooks).then((code) => Deno.exit(code), (e) => {
    if (e instanceof ResultsWriteError) {
      printError(`smft: ${e.message}`);
      Deno.exit(EXIT.writeError);
    }
    if (
      e instanceof ConfigError || e instanceof TlsFileError || e instanceof UnreachableError ||
      e instanceof ResultsPathError || e instanceof ConnectionFailedError
    ) {
      fail(e.message);
    }
    fail(`unexpected error: ${(e as Error).stack ?? e}`);
  });
}
