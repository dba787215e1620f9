/**
 * How short of CPU the load host was during a run: Linux's pressure stall information
 * (`/proc/pressure/cpu`, "some": the time in which at least one runnable thread of the host waited
 * for a CPU). The generator's own delay sees only its own threads; a host that is short of CPU
 * also delays what shares it (a server or a relay on the same machine, the kernel's network
 * path), which the bench's calibration measures. Read twice a run; absent where the kernel has no
 * PSI.
 *
 * @module
 */

/** The path Linux reports CPU pressure at. */
export const PSI_CPU = "/proc/pressure/cpu";

/** The cumulative "some" stall time, µs, from the text of `/proc/pressure/cpu` (pure). */
export function parseSomeTotal(text: string): number | undefined {
  const m = /^some\b.*\btotal=(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The host's cumulative CPU stall, µs, and when it was read; undefined without PSI. */
export function readCpuPressure(
  path = PSI_CPU,
): { totalUs: number; at: number } | undefined {
  try {
    const totalUs = parseSomeTotal(Deno.readTextFileSync(path));
    return totalUs === undefined ? undefined : { totalUs, at: performance.now() };
  } catch {
    return undefined;
  }
}

/** The share of the time between two readings in which some thread waited for a CPU, % (pure). */
export function pressurePct(
  from: { totalUs: number; at: number },
  to: { totalUs: number; at: number },
): number | undefined {
  const wallUs = (to.at - from.at) * 1000;
  if (!(wallUs > 0)) return undefined;
  return Math.max(0, Math.min(100, ((to.totalUs - from.totalUs) / wallUs) * 100));
}
