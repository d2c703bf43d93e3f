/**
 * A panel's latency before, during and after a fault. The fault's window runs
 * from the first fault's start to the later of its end and the end of the last
 * outage the load saw after it began (a restart's server comes back after
 * `pg_ctl` returns; a user's switchover command may return before the outage
 * even starts). Each execution falls in the phase of its refresh's due time;
 * misses (refreshes never started or run without a connection) are counted in
 * their phase, beside the percentiles. Pure: times are ms after the step's
 * schedule origin, as the caller converts them.
 */
import type { OutageSpan } from './availability.js';

/** [startMs, endMs) after the schedule origin. */
export interface FaultWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/** Response percentiles (µs, nearest rank) of one phase, and its misses. */
export interface PhaseLatency {
  readonly count: number;
  readonly p50Us: number | null;
  readonly p95Us: number | null;
  readonly p99Us: number | null;
  readonly maxUs: number | null;
  /** Executions due in this phase that never ran. */
  readonly missed: number;
}

export interface AroundFault {
  readonly before: PhaseLatency;
  readonly during: PhaseLatency;
  readonly after: PhaseLatency;
}

/** One panel's executions: due times (ms after the origin) with responses (µs), and the due times of its misses. */
export interface PanelExecutions {
  readonly dueMs: readonly number[];
  readonly responseUs: readonly number[];
  readonly missedDueMs: readonly number[];
}

/**
 * The fault window, or null when no fault ran. `stepEndMs` closes an outage that did not end.
 */
export function faultWindow(
  faults: ReadonlyArray<{ readonly startMs: number | null; readonly endMs: number | null }>,
  outages: readonly OutageSpan[],
  stepEndMs: number,
): FaultWindow | null {
  const ran = faults.filter((f): f is { startMs: number; endMs: number | null } => f.startMs !== null);
  if (ran.length === 0) return null;
  const startMs = Math.min(...ran.map((f) => f.startMs));
  let endMs = Math.max(...ran.map((f) => f.endMs ?? stepEndMs));
  for (const o of outages) {
    const end = o.endMs ?? stepEndMs;
    if (end >= startMs) endMs = Math.max(endMs, end);
  }
  return { startMs, endMs: Math.max(endMs, startMs) };
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function phaseOf(values: number[], missed: number): PhaseLatency {
  values.sort((a, b) => a - b);
  return {
    count: values.length,
    p50Us: rank(values, 0.5),
    p95Us: rank(values, 0.95),
    p99Us: rank(values, 0.99),
    maxUs: values.length > 0 ? values[values.length - 1]! : null,
    missed,
  };
}

/** Split one panel's executions by the phase of their due time. */
export function splitAroundFault(x: PanelExecutions, w: FaultWindow): AroundFault {
  const parts = { before: [] as number[], during: [] as number[], after: [] as number[] };
  const missed = { before: 0, during: 0, after: 0 };
  const which = (dueMs: number): 'before' | 'during' | 'after' => (dueMs < w.startMs ? 'before' : dueMs < w.endMs ? 'during' : 'after');
  x.dueMs.forEach((d, i) => parts[which(d)].push(x.responseUs[i]!));
  for (const d of x.missedDueMs) missed[which(d)] += 1;
  return { before: phaseOf(parts.before, missed.before), during: phaseOf(parts.during, missed.during), after: phaseOf(parts.after, missed.after) };
}
