/**
 * Text for a terminal from what others supplied (a server's status message, a results file,
 * a client's certificate): control characters shown as escapes, never acted on. ESC could clear
 * the screen or rewrite earlier lines, NUL and CR hide text, bidirectional overrides reorder it.
 *
 * @module
 */

/** C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character but newline and tab written as an escape (`\x1b`,
 * `\u202e`), so that it prints as what it is.
 *
 * @example
 * ```ts
 * printable("a\x1b[2Jb\0"); // "a\\x1b[2Jb\\x00"
 * ```
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16)}`;
  });
}
