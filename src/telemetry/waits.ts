/**
 * Aggregation of pg_stat_activity samples: per role, per second, active
 * sessions by wait. Pure: samples come in with their time, figures go out.
 */
import type { RoleWaits, ServerRole } from '../results/run-record.js';
import { ROLES } from './roles.js';

/** One active session seen in a sample. */
export interface ActiveSession {
  readonly role: ServerRole;
  /** `type:event` or 'CPU' (see waitLabel). */
  readonly wait: string;
}

/** One second of samples: the mean active sessions per role and wait over it. */
export interface WaitSecond {
  /** Second index: floor(atMs / 1000) on the step's clock. */
  readonly second: number;
  readonly samples: number;
  /** role → wait → mean active sessions over the second's samples. */
  readonly active: Partial<Record<ServerRole, Record<string, number>>>;
}

interface Bucket {
  samples: number;
  counts: Map<ServerRole, Map<string, number>>;
}

function addCount(into: Map<ServerRole, Map<string, number>>, role: ServerRole, wait: string, n: number): void {
  let m = into.get(role);
  if (!m) into.set(role, (m = new Map()));
  m.set(wait, (m.get(wait) ?? 0) + n);
}

/** Accumulates samples; `summary` and `seconds` read them over any time range. */
export class WaitAggregator {
  private readonly buckets = new Map<number, Bucket>();

  /** Add one sample taken `atMs` after the step's origin (it may hold no active session). */
  add(atMs: number, sessions: readonly ActiveSession[]): void {
    const second = Math.floor(atMs / 1000);
    let b = this.buckets.get(second);
    if (!b) this.buckets.set(second, (b = { samples: 0, counts: new Map() }));
    b.samples += 1;
    for (const s of sessions) addCount(b.counts, s.role, s.wait, 1);
  }

  /** Per-second rows in time order, of seconds in [fromMs, toMs). */
  seconds(fromMs = -Infinity, toMs = Infinity): WaitSecond[] {
    const out: WaitSecond[] = [];
    for (const [second, b] of [...this.buckets.entries()].sort((x, y) => x[0] - y[0])) {
      if (second * 1000 < fromMs || second * 1000 >= toMs) continue;
      const active: Partial<Record<ServerRole, Record<string, number>>> = {};
      for (const [role, m] of b.counts) {
        const r: Record<string, number> = {};
        for (const [w, n] of m) r[w] = n / b.samples;
        active[role] = r;
      }
      out.push({ second, samples: b.samples, active });
    }
    return out;
  }

  /** Per role: average active sessions and wait shares over the seconds in [fromMs, toMs). */
  summary(fromMs = -Infinity, toMs = Infinity): Partial<Record<ServerRole, RoleWaits>> {
    let samples = 0;
    const counts = new Map<ServerRole, Map<string, number>>();
    for (const [second, b] of this.buckets) {
      if (second * 1000 < fromMs || second * 1000 >= toMs) continue;
      samples += b.samples;
      for (const [role, m] of b.counts) for (const [w, n] of m) addCount(counts, role, w, n);
    }
    return summarizeCounts(samples, counts);
  }
}

/** Per-role figures from counts of active-session sightings over `samples` samples. */
export function summarizeCounts(samples: number, counts: ReadonlyMap<ServerRole, ReadonlyMap<string, number>>): Partial<Record<ServerRole, RoleWaits>> {
  const out: Partial<Record<ServerRole, RoleWaits>> = {};
  if (samples === 0) return out;
  for (const role of ROLES) {
    const m = counts.get(role);
    if (!m) continue;
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    const shares: Record<string, number> = {};
    for (const [w, n] of [...m.entries()].sort((x, y) => y[1] - x[1])) shares[w] = n / total;
    out[role] = { samples, avgActiveSessions: total / samples, shares };
  }
  return out;
}

/** "41% CPU, 33% Lock:relation, 12% LWLock:WALWrite": the top `n` waits of a role. */
export function topWaits(w: RoleWaits, n = 3): string {
  return Object.entries(w.shares)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${(v * 100).toFixed(0)}% ${k}`)
    .join(', ');
}
