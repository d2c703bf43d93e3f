/**
 * Open-loop due-time arithmetic (k6's arrival-rate executor, wrk2, pgbench -R):
 * operation i is due at start + i / rate, computed from the start every time so
 * the schedule never drifts. Times are nanoseconds relative to the run's start.
 * Pure: the clock is injected.
 */

/** A monotonic clock in nanoseconds since the run's start. */
export interface Clock {
  nowNs(): number;
}

/** Clock over process.hrtime.bigint(), relative to `startNs` (shared by all threads of a process). */
export function hrClock(startNs: bigint): Clock {
  return { nowNs: () => Number(process.hrtime.bigint() - startNs) };
}

export class OpenLoopSchedule {
  /** Nanoseconds between consecutive operations. */
  readonly intervalNs: number;

  /** @param opsPerSecond operations (not rows) per second for this schedule, > 0 */
  constructor(readonly opsPerSecond: number, private readonly offsetNs = 0) {
    if (!(opsPerSecond > 0)) throw new RangeError('opsPerSecond must be > 0');
    this.intervalNs = 1e9 / opsPerSecond;
  }

  /** Due time of operation i. */
  dueNs(i: number): number {
    return this.offsetNs + Math.round(i * this.intervalNs);
  }

  /** The first operation index due at or after t (used to skip ahead after an outage). */
  firstIndexAtOrAfter(tNs: number): number {
    const i = Math.ceil((tNs - this.offsetNs) / this.intervalNs);
    return Math.max(0, this.dueNs(i - 1) >= tNs ? i - 1 : i);
  }

  /** Number of operations due in [fromNs, toNs). */
  countDue(fromNs: number, toNs: number): number {
    return Math.max(0, this.firstIndexAtOrAfter(toNs) - this.firstIndexAtOrAfter(fromNs));
  }
}

/** Run phases a due time falls into. */
export type Phase = 'warmup' | 'measure';

/** Which phase an operation due at `dueNs` belongs to (warm-up is recorded apart and left out of the summary). */
export function phaseAt(dueNs: number, warmupNs: number): Phase {
  return dueNs < warmupNs ? 'warmup' : 'measure';
}
