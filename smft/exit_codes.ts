/**
 * smft's exit codes, and the rule that picks one: shared by `steady`/`coldconn` (`cli.ts`) and by
 * the tools' SLO gates (`summarize`, `report`), so that a gate on a results file exits as the
 * run did.
 *
 * @module
 */

/**
 * Exit codes. One precedence, the first that applies: interrupted 130, write error 4, bad
 * configuration or df unreachable (no call got through) 1, INVALID and an SLO failed 5, INVALID
 * 3, SLO failed 2, ok 0. A CI gate can tell an SLO failure (2) from a generator that fell behind
 * (3) and from both (5).
 */
export const EXIT = {
  ok: 0,
  config: 1,
  slo: 2,
  invalid: 3,
  writeError: 4,
  invalidAndSlo: 5,
  interrupted: 130,
} as const;

/** The exit code of finished runs (see {@link EXIT}). */
export function exitCode(
  o: { interrupted: boolean; invalid: boolean; sloFailed: boolean; noneThrough?: boolean },
): number {
  if (o.interrupted) return EXIT.interrupted;
  if (o.noneThrough) return EXIT.config;
  if (o.invalid && o.sloFailed) return EXIT.invalidAndSlo;
  if (o.invalid) return EXIT.invalid;
  if (o.sloFailed) return EXIT.slo;
  return EXIT.ok;
}
