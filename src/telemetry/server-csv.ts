/**
 * server.csv: one row per second of the step, beside timeseries.csv: active
 * sessions per role and wait class, WAL and buffers per second, and on a
 * local server the CPU of server and client and the CPU pressure. Pure.
 */
import type { ServerRole } from '../results/run-record.js';
import type { CounterSecond } from './counters.js';
import { ROLES, waitClass } from './roles.js';
import type { WaitSecond } from './waits.js';

/** One second of /proc readings (cores: CPU seconds per second). */
export interface MachineSecond {
  readonly second: number;
  readonly serverCores: number | null;
  readonly clientCores: number | null;
  readonly clientMainCores: number | null;
  /** Share of the second runnable tasks waited for a CPU (PSI `some`). */
  readonly cpuPressure: number | null;
  readonly samplerServerCores: number | null;
}

export interface ServerCsvInput {
  readonly waits: readonly WaitSecond[];
  readonly counters: readonly CounterSecond[];
  readonly machine: readonly MachineSecond[];
  readonly measureStartMs: number;
  readonly measureEndMs: number;
}

const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined ? '' : Number(v.toFixed(digits)).toString());

/** Column name of a role × wait class (`ingest_Lock`, `viewers_CPU`). */
export const activeColumn = (role: ServerRole, cls: string): string => `${role}_${cls}`;

/** The CSV text (header + one row per second that has any reading). */
export function serverCsv(input: ServerCsvInput): string {
  const pairs: [ServerRole, string][] = [];
  for (const role of ROLES) {
    const classes = new Set<string>();
    for (const s of input.waits) for (const w of Object.keys(s.active[role] ?? {})) classes.add(waitClass(w));
    for (const c of [...classes].sort()) pairs.push([role, c]);
  }
  const header = ['second', 'phase', 'samples', ...pairs.map(([r, c]) => activeColumn(r, c)),
    'wal_bytes_per_s', 'wal_fpi_per_s', 'buffers_written_per_s', 'commits_per_s',
    'server_cores', 'client_cores', 'client_main_cores', 'cpu_pressure', 'sampler_server_cores'];
  const seconds = new Set<number>([...input.waits.map((w) => w.second), ...input.counters.map((c) => c.second), ...input.machine.map((m) => m.second)]);
  const byW = new Map(input.waits.map((w) => [w.second, w]));
  const byC = new Map(input.counters.map((c) => [c.second, c]));
  const byM = new Map(input.machine.map((m) => [m.second, m]));
  const lines = [header.join(',')];
  for (const s of [...seconds].sort((a, b) => a - b)) {
    const ms = s * 1000;
    const phase = ms < input.measureStartMs ? 'warmup' : ms < input.measureEndMs ? 'measure' : 'after';
    const w = byW.get(s);
    const c = byC.get(s);
    const m = byM.get(s);
    const cells = pairs.map(([role, cls]) => {
      const r = w?.active[role];
      if (!r) return w ? '0' : '';
      let sum = 0;
      for (const [label, v] of Object.entries(r)) if (waitClass(label) === cls) sum += v;
      return fmt(sum);
    });
    lines.push([String(s), phase, String(w?.samples ?? 0), ...cells,
      fmt(c?.walBytesPerS, 0), fmt(c?.fpiPerS, 1), fmt(c?.buffersWrittenPerS, 1), fmt(c?.commitsPerS, 1),
      fmt(m?.serverCores), fmt(m?.clientCores), fmt(m?.clientMainCores), fmt(m?.cpuPressure), fmt(m?.samplerServerCores, 4)].join(','));
  }
  return `${lines.join('\n')}\n`;
}
