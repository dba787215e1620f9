/**
 * CPU time the hypervisor gave to other guests ("steal", `/proc/stat`), over a stretch of a
 * benchmark. On a shared VM it comes and goes (0–1 % idle, 16–36 % seen under load on this
 * project's machine), and while it is high every lag and latency figure is worse for reasons
 * outside both programs: the bench prints it beside each section so a reader can tell.
 *
 * Linux only; Deno reads `/proc/stat` only with `--allow-all` (the bench task has it).
 *
 * @module
 */

/** Jiffies of the `cpu` line of `/proc/stat`: all of them, and steal. */
export interface CpuTimes {
  total: number;
  steal: number;
}

/** Reads the aggregate `cpu` line (pure): `cpu user nice system idle iowait irq softirq steal ...`. */
export function parseCpuLine(stat: string): CpuTimes | undefined {
  const line = stat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((v) => !Number.isFinite(v))) return undefined;
  // guest and guest_nice (fields 9, 10) are already counted in user and nice.
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] };
}

/** Steal as a percentage of all CPU time between two readings (pure). */
export function stealPercent(a: CpuTimes, b: CpuTimes): number | undefined {
  const total = b.total - a.total;
  return total > 0 ? ((b.steal - a.steal) / total) * 100 : undefined;
}

function read(): CpuTimes | undefined {
  try {
    return parseCpuLine(Deno.readTextFileSync("/proc/stat"));
  } catch {
    return undefined;
  }
}

/** Starts measuring; the function returned gives the steal since, %, when known. */
export function stealSince(): () => number | undefined {
  const a = read();
  return () => {
    const b = read();
    return a && b ? stealPercent(a, b) : undefined;
  };
}

/** Starts measuring; the function returned gives the steal since, in words (empty when unknown). */
export function stealMeter(): () => string {
  const since = stealSince();
  return () => {
    const p = since();
    if (p === undefined) return "";
    return `host: steal ${p.toFixed(1)} % of CPU time over this section${
      p >= 5 ? " (the VM's host gave the cores to other guests: lag and latency above suffer)" : ""
    }`;
  };
}
