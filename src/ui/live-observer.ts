/**
 * The observer that feeds the live page: each step's start, phases and
 * intervals as page events (page-model.ts). The step number is given by the
 * caller, so the trials of a two-target search do not share numbers.
 */
import type { RunObserver, StepInfo, StepPhase } from '../runner/observer.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import { pageInterval } from '../report/run-page.js';
import type { PageHub } from './page-hub.js';
import type { OnProgress } from '../schedule/progress.js';

export class LiveObserver implements RunObserver {
  readonly name = 'live-page';

  /** `stepNumber`: the page's number of this step (a run: 0; a search: its trial count so far); `side`: 'a'/'b' or ''. */
  constructor(private readonly hub: PageHub, private readonly stepNumber: number, private readonly side = '') {}

  stepStart(step: StepInfo): void {
    const c = step.config;
    this.hub.publish({
      type: 'step',
      step: { index: this.stepNumber, runId: step.runId, side: this.side, rateHz: typeof c.rateHz === 'number' ? c.rateHz : null, warmupS: c.warmupMs / 1000, durationS: c.durationMs / 1000 },
    });
  }

  phase(phase: StepPhase, atMs: number): void {
    this.hub.publish({ type: 'phase', name: phase, step: this.stepNumber, atS: atMs / 1000 });
  }

  interval(row: IntervalRow): void {
    this.hub.publish({ type: 'interval', row: pageInterval(row, this.stepNumber) });
  }
}

/** Phase progress (preload, the probes' idle baseline, serial vs parallel…) as page events: the live page's status line. */
export function liveProgress(hub: PageHub): OnProgress {
  return (e) => hub.publish({ type: 'progress', phase: e.phase, done: e.done, total: e.total, unit: e.unit, etaMs: e.etaMs, end: e.kind === 'end' });
}
