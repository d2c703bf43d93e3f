/**
 * Reading this machine's /proc: the local server's CPU, the client's main
 * thread, and CPU pressure. Linux only; elsewhere every reading is null.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parsePressureTotalUs, parseProcStat, serverTicks, type ProcStat } from './proc-stat.js';

/** Linux's USER_HZ (clock ticks per second in /proc/<pid>/stat) is 100 on every mainstream architecture. */
export const CLOCK_TICKS_HZ = 100;

function readStat(file: string): ProcStat | null {
  try {
    return parseProcStat(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The parent of a process (for a backend: its postmaster), or null when /proc cannot tell. */
export function parentPid(pid: number): number | null {
  return readStat(`/proc/${pid}/stat`)?.ppid ?? null;
}

/** Whether `pid` on this host is a PostgreSQL process (its comm is `postgres`). */
export function isLocalPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return false;
  }
}

/** CPU seconds used so far by the servers of these postmasters (their processes, live and ended). */
export function serversCpuS(postmasters: readonly number[]): number | null {
  if (postmasters.length === 0) return null;
  let names: string[];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
  const stats: ProcStat[] = [];
  for (const n of names) {
    const s = readStat(`/proc/${n}/stat`);
    if (s && (postmasters.includes(s.pid) || postmasters.includes(s.ppid))) stats.push(s);
  }
  return postmasters.reduce((a, pm) => a + serverTicks(pm, stats), 0) / CLOCK_TICKS_HZ;
}

/** CPU seconds of this process's main thread (viewers, rollup driver, sampler, progress: not the load workers). */
export function mainThreadCpuS(): number | null {
  const s = readStat(`/proc/self/task/${process.pid}/stat`);
  return s ? s.ticks / CLOCK_TICKS_HZ : null;
}

/** /proc/pressure/cpu `some` total, µs; null where PSI is not available. */
export function cpuPressureTotalUs(): number | null {
  try {
    return parsePressureTotalUs(readFileSync('/proc/pressure/cpu', 'utf8'));
  } catch {
    return null;
  }
}

/** CPU seconds of one process so far (utime + stime), or null. */
export function pidCpuS(pid: number): number | null {
  const s = readStat(`/proc/${pid}/stat`);
  return s ? s.ticks / CLOCK_TICKS_HZ : null;
}
