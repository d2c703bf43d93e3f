/**
 * The observers every measure step of rtbench's own commands registers with
 * the session, ahead of the caller's: the dashboard (rollup driver,
 * freshness, viewers, audit), expiry when configured, and the scale figures.
 * The session names none of them; `runIngest` and the capacity search ask
 * for them here, so a caller that wants a bare load step can leave them out.
 */
import type { RunConfig } from '../config/types.js';
import { rollupTable } from '../rollup/strategies.js';
import type { DashboardSession } from './dashboard.js';
import { ExpiryObserver } from './expiry-observer.js';
import type { RunObserver, StepContribution, StepInfo, StepPhase, StepTiming } from './observer.js';
import { ScaleObserver } from './scale-observer.js';

/**
 * The dashboard as an observer of the step: started with the load, the
 * viewers with the measure phase, finished after the rows are counted
 * (expiry deletes old raw rows). Its outcome reaches the summary as the
 * contribution's `dashboard`.
 */
export class DashboardObserver implements RunObserver {
  readonly name = 'dashboard';

  constructor(private readonly dashboard: DashboardSession) {}

  async stepStart(): Promise<void> {
    await this.dashboard.startLoadPhase();
  }

  phase(phase: StepPhase): void {
    if (phase === 'measure') this.dashboard.startProbes();
  }

  async stepEnd(_step: StepInfo, timing: StepTiming): Promise<StepContribution> {
    // The dashboard side never costs the run its results: a failure here becomes a note.
    try {
      const outcome = await this.dashboard.finish(timing.startEpochMs);
      return { dashboard: { summary: outcome.summary, notes: outcome.notes }, histograms: outcome.histograms };
    } catch (err) {
      return { dashboardFailure: `rollup audit, probes and freshness not reported: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

/**
 * The standard observers of one step of `config` on a session whose set-up
 * made `dashboard` (null without a rollup), in the order they must be told:
 * the dashboard first (its rollup driver starts with the load), then expiry
 * (the audit leaves out what it removes), then the scale figures.
 */
export function standardStepObservers(dashboard: DashboardSession | null, config: RunConfig): RunObserver[] {
  const table = config.dashboard.rollup === 'none' ? null : rollupTable(config.dashboard.granularityMin);
  const expiry = config.dashboard.expiry ? new ExpiryObserver(config.dashboard.expiry, table) : null;
  dashboard?.setAuditFloor(expiry ? () => expiry.expiredBefore() : null);
  return [
    ...(dashboard ? [new DashboardObserver(dashboard)] : []),
    ...(expiry ? [expiry] : []),
    // Density, storage, cache hit ratio and rows per window (a few queries at the step's end).
    new ScaleObserver(table),
  ];
}
