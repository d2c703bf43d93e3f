/**
 * When expiry runs during the measure phase, and what each run overlapped.
 * Pure: the clock is injected (ms), nothing here does I/O.
 *
 * Expiry k (k = 0, 1, …) is due at measureStart + (k + 1)·every and only
 * while it is due before the measure phase ends; a run that overruns its
 * successor's due time makes the successor skip (counted), never queue.
 */

/** A clock in ms (performance.now() in the observer, a hand-moved one in tests). */
export interface MsClock {
  nowMs(): number;
}

/** Due times of the expiries of a measure window [startMs, endMs), every `everyMs`. */
export function expiryDueTimes(startMs: number, endMs: number, everyMs: number): number[] {
  if (!(everyMs > 0)) throw new RangeError(`expiry period ${everyMs} ms must be positive`);
  const due: number[] = [];
  for (let t = startMs + everyMs; t < endMs; t += everyMs) due.push(t);
  return due;
}

/** The open-loop schedule of expiries on an injected clock. */
export class ExpirySchedule {
  private k = 0;
  private skippedRuns = 0;
  private readonly startMs: number;

  constructor(private readonly clock: MsClock, private readonly everyMs: number, private readonly endMs: number, startMs?: number) {
    if (!(everyMs > 0)) throw new RangeError(`expiry period ${everyMs} ms must be positive`);
    this.startMs = startMs ?? clock.nowMs();
  }

  /** Due time of the next expiry, or null when none is left before the end. */
  nextDueMs(): number | null {
    const t = this.startMs + (this.k + 1) * this.everyMs;
    return t < this.endMs ? t : null;
  }

  /** Ms to wait before the next expiry (0 when due), or null when none is left. */
  waitMs(): number | null {
    const due = this.nextDueMs();
    return due === null ? null : Math.max(0, due - this.clock.nowMs());
  }

  /**
   * An expiry just finished: move on to the next due time still ahead of
   * now; due times that passed while it ran are skipped (and counted).
   */
  done(): void {
    this.k++;
    const now = this.clock.nowMs();
    for (let due = this.nextDueMs(); due !== null && due < now - 0.5 * this.everyMs; due = this.nextDueMs()) {
      this.k++;
      this.skippedRuns++;
    }
  }

  /** Expiries skipped because the previous one overran. */
  get skipped(): number {
    return this.skippedRuns;
  }
}

/** A span of time, ms on the step's schedule (as IntervalRow.startMs/endMs). */
export interface Span {
  readonly startMs: number;
  readonly endMs: number;
}

/** Whether [a.startMs, a.endMs) and [b.startMs, b.endMs) overlap. */
export function overlaps(a: Span, b: Span): boolean {
  return a.startMs < b.endMs && b.startMs < a.endMs;
}

/**
 * Split measure intervals into those overlapping any expiry and the rest
 * (returns indexes into `rows`). Pure.
 */
export function splitByExpiry<T extends Span & { readonly phase: string }>(rows: readonly T[], expiries: readonly Span[]): { during: number[]; rest: number[] } {
  const during: number[] = [];
  const rest: number[] = [];
  rows.forEach((r, i) => {
    if (r.phase !== 'measure') return;
    (expiries.some((e) => overlaps(r, e)) ? during : rest).push(i);
  });
  return { during, rest };
}

/**
 * The audit's start when expiry removed raw rows before `expiredBeforeMs`:
 * the first whole period at or after it (the period holding the cutoff lost
 * part of its rows), or `fromMs` when that is later. `clipped` says whether
 * periods were left out. Periods are aligned to the epoch (UTC minutes). Pure.
 */
export function auditStartAfterExpiry(fromMs: number, expiredBeforeMs: number | null, periodMin: number): { fromMs: number; clipped: boolean } {
  if (expiredBeforeMs === null) return { fromMs, clipped: false };
  const p = periodMin * 60_000;
  const firstWhole = Math.ceil(expiredBeforeMs / p) * p;
  // The period holding fromMs is the audit's first: it is clipped when it starts before the first whole one.
  const fromPeriod = Math.floor(fromMs / p) * p;
  return fromPeriod < firstWhole ? { fromMs: firstWhole, clipped: true } : { fromMs, clipped: false };
}
