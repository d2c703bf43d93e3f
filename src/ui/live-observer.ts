/**
 * The observer that feeds the live page: each step's start, phases and
 * intervals as page events (page-model.ts), and with each interval what the
 * dashboard measured so far (the panels × windows, freshness readings) and,
 * through `serverSecond`, the server sampler's seconds. The step number is
 * given by the caller, so the trials of a two-target search do not share
 * numbers.
 */
import type { LiveDashboard, RunObserver, SessionInfo, StepInfo, StepPhase } from '../runner/observer.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import { pageInterval } from '../report/run-page.js';
import type { PagePanelCell, PageSink } from '../report/page-model.js';
import type { LiveServerSecond } from '../telemetry/index.js';
import type { OnProgress } from '../schedule/progress.js';

const PANEL_PREFIX = 'panel-response-';

export class LiveObserver implements RunObserver {
  readonly name = 'live-page';
  private live: LiveDashboard | null = null;
  /** Wall clock of the step's origin (ms since the epoch), known from the first phase event. */
  private originEpochMs: number | null = null;
  private freshnessSent = 0;

  /**
   * `stepNumber`: the page's number of this step (a run: 0; a search: its trial count so far, both targets'); `side`: 'a'/'b' or '';
   * `trial`: a capacity trial's number within its target's search.
   */
  constructor(private readonly hub: PageSink, private readonly stepNumber: number, private readonly side = '', private readonly trial?: number) {}

  stepStart(step: StepInfo, session?: SessionInfo): void {
    this.live = session?.live ?? null;
    this.freshnessSent = 0;
    this.originEpochMs = null;
    const c = step.config;
    this.hub.publish({
      type: 'step',
      step: { index: this.stepNumber, runId: step.runId, side: this.side, rateHz: typeof c.rateHz === 'number' ? c.rateHz : null, warmupS: c.warmupMs / 1000, durationS: c.durationMs / 1000, ...(this.trial !== undefined ? { trial: this.trial } : {}) },
    });
  }

  phase(phase: StepPhase, atMs: number): void {
    this.originEpochMs ??= Date.now() - atMs;
    this.hub.publish({ type: 'phase', name: phase, step: this.stepNumber, atS: atMs / 1000 });
  }

  interval(row: IntervalRow): void {
    this.hub.publish({ type: 'interval', row: pageInterval(row, this.stepNumber) });
    this.publishDashboard(row.endMs / 1000);
  }

  /** The sampler's seconds (pass as serverSamplerFor's onSecond). */
  readonly serverSecond = (s: LiveServerSecond): void => {
    this.hub.publish({
      type: 'server',
      row: {
        step: this.stepNumber, t: s.second + 1, waits: s.waits, walMBps: s.walBytesPerS === null ? null : s.walBytesPerS / 1e6,
        serverCores: s.serverCores, clientCores: s.clientCores, clientMainCores: s.clientMainCores, cpuPressure: s.cpuPressure,
      },
    });
  };

  private publishDashboard(atS: number): void {
    if (!this.live) return;
    const cells: PagePanelCell[] = [];
    for (const [name, h] of Object.entries(this.live.panels())) {
      if (!name.startsWith(PANEL_PREFIX)) continue;
      const rest = name.slice(PANEL_PREFIX.length);
      const cut = rest.lastIndexOf('-');
      const n = h.totalCount;
      cells.push({ probe: rest.slice(0, cut), window: rest.slice(cut + 1), p50Us: n > 0 ? h.getValueAtPercentile(50) : null, p95Us: n > 0 ? h.getValueAtPercentile(95) : null, n });
    }
    if (cells.length > 0) this.hub.publish({ type: 'panels', step: this.stepNumber, cells });
    const f = this.live.freshness();
    const origin = this.originEpochMs;
    if (!f || origin === null) return;
    const fresh = f.readings.slice(this.freshnessSent).map(([ms, us, c]) => ({ step: this.stepNumber, t: (ms - origin) / 1000, us, kind: c === 1 ? 'censored' as const : 'seen' as const }));
    this.freshnessSent = f.readings.length;
    const pending = f.oldestUnseenUs === null ? [] : [{ step: this.stepNumber, t: atS, us: f.oldestUnseenUs, kind: 'pending' as const }];
    if (fresh.length + pending.length > 0) this.hub.publish({ type: 'freshness', points: [...fresh, ...pending] });
  }
}

/** Phase progress (preload, the probes' idle baseline, serial vs parallel…) as page events: the live page's status line. */
export function liveProgress(hub: PageSink): OnProgress {
  return (e) => hub.publish({ type: 'progress', phase: e.phase, done: e.done, total: e.total, unit: e.unit, etaMs: e.etaMs, end: e.kind === 'end' });
}

/** Publish to every sink given (none: events are dropped). */
export function teeSink(...sinks: ReadonlyArray<PageSink | null | undefined>): PageSink {
  const all = sinks.filter((s): s is PageSink => s !== null && s !== undefined);
  return { publish: (ev) => { for (const s of all) s.publish(ev); } };
}
