/**
 * Progress of a long phase (preload, the idle baseline, serial vs parallel,
 * a rollup rebuild, the audit, …): how far it is and the time left, as
 * events. Pure: the clock is injected, nothing is printed; the CLI formats
 * the events (src/report/phase-progress.ts) and a live page can subscribe to
 * the same ones.
 */

/** One report of a phase's progress. */
export interface ProgressEvent {
  /** What runs, e.g. `probes: idle baseline`. */
  readonly phase: string;
  /** Units done so far (0 ≤ done; ≤ total when total is known). */
  readonly done: number;
  /** Units in all; null when not known in advance. */
  readonly total: number | null;
  /** What is counted, plural: `rows`, `panels`, `executions`. */
  readonly unit: string;
  /** Ms since the phase began (≥ 0). */
  readonly elapsedMs: number;
  /** Units per second so far; null before any unit is done or any time has passed. */
  readonly ratePerS: number | null;
  /** Ms left at the rate so far; null when it cannot be estimated (no total, nothing done yet); 0 when done. */
  readonly etaMs: number | null;
  /** `start` when the phase begins, `update` as it goes, `end` once when it is over (done or failed). */
  readonly kind: 'start' | 'update' | 'end';
  /** True when the phase also prints its own lines (the preload's, through onNotice): a console receiver skips it. */
  readonly echoed?: boolean;
}

/** A receiver of progress events; it must not throw. */
export type OnProgress = (event: ProgressEvent) => void;

/**
 * Rate and time left from `done` of `total` units after `elapsedMs`.
 * The rate is the mean so far (done / elapsed), so the estimate is steady for
 * units of similar cost and converges as the phase goes on.
 */
export function progressEstimate(done: number, total: number | null, elapsedMs: number): { ratePerS: number | null; etaMs: number | null } {
  const ratePerS = done > 0 && elapsedMs > 0 ? (done * 1000) / elapsedMs : null;
  if (total === null) return { ratePerS, etaMs: null };
  if (done >= total) return { ratePerS, etaMs: 0 };
  if (done <= 0 || elapsedMs <= 0) return { ratePerS, etaMs: null };
  return { ratePerS, etaMs: Math.round(((total - done) * elapsedMs) / done) };
}

/** Options of {@link PhaseProgress}. */
export interface PhaseProgressOptions {
  /** What runs, e.g. `probes: serial vs parallel`. */
  readonly phase: string;
  /** What is counted, plural. */
  readonly unit: string;
  /** Units in all, when known. */
  readonly total?: number | null;
  /** Where events go; without it the tracker does nothing. */
  readonly onProgress?: OnProgress;
  /** Clock in ms (any origin; `performance.now` in production, a fake in tests). */
  readonly nowMs: () => number;
  /** At most one `update` event per this many ms (default 1000); `start` and `end` always go out. */
  readonly everyMs?: number;
  /** The phase prints its own console lines: events carry `echoed: true`. */
  readonly echoed?: boolean;
}

/**
 * Tracks one phase and emits throttled {@link ProgressEvent}s: `start` at
 * construction, `update` at most every `everyMs` when {@link advance} or
 * {@link tick} is called, `end` once from {@link finish}.
 */
export class PhaseProgress {
  private readonly startMs: number;
  private lastEmitMs: number;
  private doneUnits = 0;
  private ended = false;
  private readonly everyMs: number;
  private totalUnits: number | null;

  constructor(private readonly opts: PhaseProgressOptions) {
    this.everyMs = opts.everyMs ?? 1000;
    this.totalUnits = opts.total ?? null;
    this.startMs = opts.nowMs();
    this.lastEmitMs = this.startMs;
    this.emit('start', this.startMs);
  }

  /** Units done so far. */
  get done(): number {
    return this.doneUnits;
  }

  /** Change the total once it is known (e.g. after the runnable probes are chosen). */
  setTotal(total: number | null): void {
    this.totalUnits = total;
  }

  /** `units` more are done (default 1); emits an update when `everyMs` has passed since the last event. */
  advance(units = 1): void {
    this.doneUnits += units;
    this.tick();
  }

  /** No unit finished, but time passed (e.g. inside a long unit): emits an update when due, so a slow unit still shows. */
  tick(): void {
    if (this.ended) return;
    const now = this.opts.nowMs();
    if (now - this.lastEmitMs >= this.everyMs) this.emit('update', now);
  }

  /** The phase is over (done, or stopped by an error): one `end` event; later calls do nothing. */
  finish(): void {
    if (this.ended) return;
    this.emit('end', this.opts.nowMs());
    this.ended = true;
  }

  private emit(kind: ProgressEvent['kind'], now: number): void {
    this.lastEmitMs = now;
    if (!this.opts.onProgress) return;
    const elapsedMs = Math.max(0, now - this.startMs);
    const { ratePerS, etaMs } = progressEstimate(this.doneUnits, this.totalUnits, elapsedMs);
    this.opts.onProgress({
      phase: this.opts.phase, done: this.doneUnits, total: this.totalUnits, unit: this.opts.unit, elapsedMs, ratePerS, etaMs, kind,
      ...(this.opts.echoed ? { echoed: true } : {}),
    });
  }
}
