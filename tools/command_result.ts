/**
 * What every tools command shares: its result (exit code and text) and how an error becomes one
 * line. Printing is `main.ts`'s job.
 *
 * @module
 */

/** What a tools command hands back to `main.ts`: the exit code and the text of each stream. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The one line an error becomes on stderr: its message, never a stack trace. */
export function errorLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0];
}

/** Wraps `text` at spaces to lines of at most `width` characters (help texts). */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}
