/**
 * Parsing Linux /proc files: a process's CPU ticks and the CPU pressure
 * (PSI) total. Pure: the caller reads the files.
 */

/** CPU of one /proc/<pid>/stat line. */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime, clock ticks. */
  readonly ticks: number;
  /** cutime + cstime: ticks of children that ended and were waited for. */
  readonly childTicks: number;
}

/** Parse /proc/<pid>/stat (the comm may hold spaces and parentheses: fields follow the last ')'). */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // Fields after comm start at field 3 (state); ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const f = text.slice(close + 2).trim().split(/\s+/);
  const at = (field: number): number => Number(f[field - 3] ?? NaN);
  const ppid = at(4);
  const ticks = at(14) + at(15);
  const childTicks = at(16) + at(17);
  if (![pid, ppid, ticks, childTicks].every(Number.isFinite)) return null;
  return { pid, ppid, ticks, childTicks };
}

/** CPU ticks of a server: the postmaster's own and ended children's, plus each live child's. */
export function serverTicks(postmasterPid: number, stats: readonly ProcStat[]): number {
  let t = 0;
  for (const s of stats) {
    if (s.pid === postmasterPid) t += s.ticks + s.childTicks;
    else if (s.ppid === postmasterPid) t += s.ticks;
  }
  return t;
}

/** The `some … total=<µs>` of /proc/pressure/cpu: µs runnable tasks waited for a CPU, since boot. */
export function parsePressureTotalUs(text: string): number | null {
  const m = /^some\b.*\btotal=(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}
