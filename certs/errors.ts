/**
 * The certs task's one kind of error, and how any error becomes one line of it.
 *
 * @module
 */

/** A problem worth one line to the user; its message never needs a stack trace. */
export class CertsError extends Error {
  override name = "CertsError";
}

/** The first line of an error's message: the user sees one line, never a stack trace. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0];
}
