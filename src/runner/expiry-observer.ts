/**
 * Expiry as a measured workload (`--expire delete|drop-partitions`): an
 * observer of the step that expires old raw (and rollup) rows on a schedule
 * during the measure phase (src/schedule/expiry-schedule.ts), times each
 * expiry with the rows or partitions it removed and the WAL it wrote, and
 * compares what ingest and the dashboard felt while expiry ran against the
 * rest of the measure phase:
 * - ingest: the per-second response histograms of the intervals that
 *   overlapped an expiry, merged, vs those of the other measure intervals;
 * - dashboard: the observer times two panels (rollup-minutes over 1 h and
 *   raw-minutes over 5 min) once a second on its own connection, and splits
 *   those samples the same way.
 * It stops before the rows are counted, reports the rows of the run's sites
 * it removed (added back to acked vs table), and the audit leaves out the
 * periods it expired (DashboardSession.auditFloor). When the server goes away
 * both connections are reopened (an expiry is tried again with backoff until
 * the next one is due, the panels at their next second) and the outage is
 * named once (`survival`), not per failed attempt.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { siteSlice, type ExpiryScheduleConfig } from '../config/types.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import { decodeHistogram, newHistogram, summarize, type Histogram, type LatencySummary } from '../metrics/histogram.js';
import { loadProbes } from '../probe/loader.js';
import { probeParams, renderProbe, type ProbeDef } from '../probe/definition.js';
import { expireOnce, type ExpiryEvent } from '../rollup/expiry.js';
import { installPartitionFunctions } from '../targets/partitions.js';
import { connect } from '../targets/postgres.js';
import { connectionGone, isConnectionLost, sqlstateOf } from '../targets/sqlstate.js';
import { SurvivalTracker, survivalNote, type PartSurvival } from '../metrics/part-survival.js';
import { ExpirySchedule, splitByExpiry, type Span } from '../schedule/expiry-schedule.js';
import type { RunObserver, SessionInfo, StepContribution, StepInfo, StepPhase, StepTiming } from './observer.js';

/** A latency figure with its sample count; null figures when the samples are too few. */
export interface SplitLatency {
  readonly duringExpiry: LatencySummary & { readonly insufficient: boolean };
  readonly rest: LatencySummary & { readonly insufficient: boolean };
  /** during / rest p99 (null when either side is insufficient). */
  readonly p99Ratio: number | null;
}

/** summary.json `expiryDuringMeasure`. */
export interface ExpiryDuringMeasure {
  readonly method: 'delete' | 'drop-partitions';
  readonly retentionMs: number;
  readonly rollupRetentionMs: number;
  readonly everyMs: number;
  readonly runs: readonly ExpiryEvent[];
  readonly skippedRuns: number;
  readonly totals: { readonly rawRowsRemoved: number; readonly partitionsDropped: number; readonly rollupRowsRemoved: number; readonly walBytes: number; readonly durationMs: number };
  /** Raw rows older than this were removed by the step's expiries (ISO time); the audit starts after it. */
  readonly expiredBefore: string | null;
  readonly ingestResponse: SplitLatency;
  /** Per panel (`rollup-minutes@1h`, `raw-minutes@5m`). */
  readonly dashboard: Record<string, SplitLatency>;
  readonly errors: readonly string[];
  /** Expiries and panel reads across outages (ms after the schedule origin). Absent in runs of older rtbench. */
  readonly survival?: PartSurvival;
}

interface PanelSample {
  readonly panel: string;
  readonly startEpochMs: number;
  readonly endEpochMs: number;
  readonly us: number;
}

const PANELS: readonly { probe: string; window: string; label: string }[] = [
  { probe: 'rollup-minutes', window: '1 hour', label: 'rollup-minutes@1h' },
  { probe: 'raw-minutes', window: '5 minutes', label: 'raw-minutes@5m' },
];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function split(h: { during: Histogram; rest: Histogram }, minSamples: number): SplitLatency {
  const d = summarize(h.during);
  const r = summarize(h.rest);
  const di = d.count < minSamples;
  const ri = r.count < minSamples;
  return { duringExpiry: { ...d, insufficient: di }, rest: { ...r, insufficient: ri }, p99Ratio: di || ri || r.p99Us === 0 ? null : d.p99Us / r.p99Us };
}

export class ExpiryObserver implements RunObserver {
  readonly name = 'expiry';
  private client: pg.Client | null = null;
  private panelClient: pg.Client | null = null;
  private panels: { def: ProbeDef; window: string; label: string; sql: string }[] = [];
  private events: ExpiryEvent[] = [];
  private samples: PanelSample[] = [];
  private errors: string[] = [];
  private intervals: IntervalRow[] = [];
  private stopping = false;
  private loops: Promise<void>[] = [];
  private schedule: ExpirySchedule | null = null;
  private sites = { offset: 0, count: 0 };
  private minSamples = 20;
  private expiredBeforeMs: number | null = null;
  private url = '';
  private survival = new SurvivalTracker();

  constructor(private readonly cfg: ExpiryScheduleConfig, private readonly rollupTable: string | null) {}

  /** Raw rows older than this (ms since the epoch) were removed during the step; null when none. */
  expiredBefore(): number | null {
    return this.expiredBeforeMs;
  }

  async stepStart(step: StepInfo, session: SessionInfo): Promise<void> {
    this.events = [];
    this.samples = [];
    this.errors = [];
    this.intervals = [];
    this.stopping = false;
    this.loops = [];
    this.expiredBeforeMs = null;
    this.url = session.url;
    this.survival = new SurvivalTracker();
    this.sites = siteSlice(step.config);
    this.minSamples = step.config.dashboard.minSamples;
    this.client = await connect(session.url, 'rtbench-expiry');
    if (this.cfg.method === 'drop-partitions') await installPartitionFunctions(this.client);
    if (this.rollupTable !== null) {
      const defs = await loadProbes();
      this.panels = PANELS.flatMap((p) => {
        const def = defs.find((d) => d.name === p.probe);
        return def ? [{ def, window: p.window, label: p.label, sql: renderProbe(def, this.rollupTable!) }] : [];
      });
      if (this.panels.length > 0) this.panelClient = await connect(session.url, 'rtbench-expiry-panels');
    }
  }

  phase(phase: StepPhase, _atMs: number, step: StepInfo): void {
    if (phase !== 'measure' || this.loops.length > 0) return;
    // Told at the end of the first measure interval: the measure phase has about durationMs − 1 s left.
    const clock = { nowMs: () => performance.now() };
    this.schedule = new ExpirySchedule(clock, this.cfg.everyMs, clock.nowMs() + step.config.durationMs - 1000);
    this.loops.push(this.expiryLoop(this.schedule));
    if (this.panelClient) this.loops.push(this.panelLoop());
  }

  interval(row: IntervalRow): void {
    if (row.phase === 'measure') this.intervals.push(row);
  }

  /** The load ended: let a running expiry finish, stop, before the rows are counted. */
  async stepDrained(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /**
   * A failed attempt on `which`: counted for survival, the connection dropped when it is gone
   * (reopened at the next attempt). True when it was the server going away (worth retrying).
   */
  private async failed(which: 'client' | 'panelClient', err: unknown): Promise<boolean> {
    const state = sqlstateOf(err);
    this.survival.failure(state);
    const c = this[which];
    if (c && connectionGone(err, state)) {
      this[which] = null;
      await c.end().catch(() => undefined);
    }
    return isConnectionLost(state);
  }

  private async reopen(which: 'client' | 'panelClient'): Promise<pg.Client> {
    const c = this[which] ?? await connect(this.url, which === 'client' ? 'rtbench-expiry' : 'rtbench-expiry-panels');
    this[which] = c;
    return c;
  }

  private async expiryLoop(schedule: ExpirySchedule): Promise<void> {
    for (let wait = schedule.waitMs(); wait !== null && !this.stopping; wait = schedule.waitMs()) {
      // Sleep in short slices so that the end of the load stops the loop promptly.
      const until = performance.now() + wait;
      while (!this.stopping && performance.now() < until) await sleep(Math.min(200, until - performance.now()));
      if (this.stopping) break;
      // The server went away: try again with backoff until it is back or the next expiry is due.
      const giveUpAt = performance.now() + this.cfg.everyMs;
      for (let backoff = 250; !(await this.expireNow()) && !this.stopping && performance.now() + backoff < giveUpAt; backoff = Math.min(4000, backoff * 2)) {
        await sleep(backoff);
      }
      schedule.done();
    }
  }

  /** One expiry; false when the server could not be reached (retry), true when done or failed otherwise. */
  private async expireNow(): Promise<boolean> {
    try {
      const c = await this.reopen('client');
      const now = (await c.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now.getTime();
      const ev = await expireOnce(c, {
        method: this.cfg.method,
        rawCutoff: new Date(now - this.cfg.retentionMs),
        rollupTable: this.rollupTable,
        rollupCutoff: new Date(now - this.cfg.rollupRetentionMs),
        sites: this.sites,
      });
      this.events.push(ev);
      if (ev.rawExpiredBefore !== null) {
        const t = Date.parse(ev.rawExpiredBefore);
        // The rollup's own expiry can also take periods away from the audit.
        const floor = Math.max(t, this.rollupTable !== null && ev.rollupRowsRemoved > 0 ? now - this.cfg.rollupRetentionMs : -Infinity);
        this.expiredBeforeMs = Math.max(this.expiredBeforeMs ?? -Infinity, floor);
      }
      this.survival.success();
      return true;
    } catch (err) {
      // Failures while the server is away are named once, in the survival note.
      if (await this.failed('client', err)) return false;
      this.errors.push(`expiry failed: ${(err as Error).message}`);
      return true;
    }
  }

  private async panelLoop(): Promise<void> {
    let k = 0;
    const t0 = performance.now();
    while (!this.stopping) {
      for (const p of this.panels) {
        const start = Date.now();
        const h0 = process.hrtime.bigint();
        try {
          const c = await this.reopen('panelClient');
          await c.query(p.sql, probeParams(p.def, p.window, k % 32));
          this.samples.push({ panel: p.label, startEpochMs: start, endEpochMs: Date.now(), us: Number((process.hrtime.bigint() - h0) / 1000n) });
          this.survival.success();
        } catch (err) {
          // The server away: reopened at the next second, named once in the survival note.
          if (await this.failed('panelClient', err)) break;
          if (this.errors.length < 20) this.errors.push(`panel ${p.label} failed: ${(err as Error).message}`);
        }
      }
      k++;
      // Once a second, open loop; a slow round is not made up for.
      const next = t0 + k * 1000;
      while (!this.stopping && performance.now() < next) await sleep(Math.min(200, next - performance.now()));
    }
  }

  async stepEnd(_step: StepInfo, timing: StepTiming): Promise<StepContribution> {
    await this.stepDrained();
    await Promise.all([this.client?.end().catch(() => undefined), this.panelClient?.end().catch(() => undefined)]);
    this.client = null;
    this.panelClient = null;
    const spans: Span[] = this.events.map((e) => ({ startMs: e.startEpochMs - timing.startEpochMs, endMs: e.endEpochMs - timing.startEpochMs }));
    const { during, rest } = splitByExpiry(this.intervals, spans);
    const ingest = { during: newHistogram(), rest: newHistogram() };
    for (const i of during) ingest.during.add(decodeHistogram(this.intervals[i]!.encoded.response));
    for (const i of rest) ingest.rest.add(decodeHistogram(this.intervals[i]!.encoded.response));
    const epochSpans: Span[] = this.events.map((e) => ({ startMs: e.startEpochMs, endMs: e.endEpochMs }));
    const dashboard: Record<string, SplitLatency> = {};
    for (const p of this.panels) {
      const h = { during: newHistogram(), rest: newHistogram() };
      for (const s of this.samples.filter((x) => x.panel === p.label)) {
        const inExpiry = epochSpans.some((e) => s.startEpochMs < e.endMs && e.startMs < s.endEpochMs);
        (inExpiry ? h.during : h.rest).recordValue(Math.max(1, s.us));
      }
      dashboard[p.label] = split(h, this.minSamples);
    }
    const totals = {
      rawRowsRemoved: this.events.reduce((a, e) => a + e.rawRowsRemoved, 0),
      partitionsDropped: this.events.reduce((a, e) => a + e.partitionsDropped, 0),
      rollupRowsRemoved: this.events.reduce((a, e) => a + e.rollupRowsRemoved, 0),
      walBytes: this.events.reduce((a, e) => a + e.walBytes, 0),
      durationMs: this.events.reduce((a, e) => a + e.durationMs, 0),
    };
    const out: ExpiryDuringMeasure = {
      method: this.cfg.method,
      retentionMs: this.cfg.retentionMs,
      rollupRetentionMs: this.cfg.rollupRetentionMs,
      everyMs: this.cfg.everyMs,
      runs: this.events,
      skippedRuns: this.schedule?.skipped ?? 0,
      totals,
      expiredBefore: this.expiredBeforeMs === null ? null : new Date(this.expiredBeforeMs).toISOString(),
      ingestResponse: split(ingest, 1),
      dashboard,
      errors: this.errors,
      survival: this.survival.result(timing.startEpochMs),
    };
    const notes = expiryNotes(out);
    const lost = survivalNote('expiry', 'expire or read its panels', 'expiries and panel reads', out.survival!);
    if (lost) notes.push(lost);
    return {
      summary: { expiryDuringMeasure: out },
      notes,
      rowsRemoved: this.events.reduce((a, e) => a + e.rawRowsRemovedOfSites, 0),
    };
  }
}

const ms = (us: number): string => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;

/** The notes a reader sees about the step's expiries. Pure. */
export function expiryNotes(e: ExpiryDuringMeasure): string[] {
  const notes: string[] = [];
  const t = e.totals;
  notes.push(`expiry (${e.method}, retention ${e.retentionMs / 3_600_000} h, every ${e.everyMs / 1000} s): ${e.runs.length} runs, ` +
    `${t.rawRowsRemoved.toLocaleString('en-US')} raw rows${e.method === 'drop-partitions' ? ` in ${t.partitionsDropped} partitions` : ''} and ` +
    `${t.rollupRowsRemoved.toLocaleString('en-US')} rollup rows removed in ${t.durationMs.toFixed(0)} ms, ${(t.walBytes / 1048576).toFixed(1)} MB of WAL` +
    (e.skippedRuns > 0 ? `; ${e.skippedRuns} runs skipped (the previous one overran)` : ''));
  const side = (s: SplitLatency, what: string): string => s.duringExpiry.insufficient || s.rest.insufficient
    ? `${what}: insufficient (n = ${s.duringExpiry.count} during expiry, ${s.rest.count} otherwise)`
    : `${what} p99 ${ms(s.duringExpiry.p99Us)} during expiry vs ${ms(s.rest.p99Us)} otherwise (n = ${s.duringExpiry.count} / ${s.rest.count})`;
  notes.push(`expiry: ${side(e.ingestResponse, 'ingest response')}; ${Object.entries(e.dashboard).map(([k, v]) => side(v, k)).join('; ')}`);
  if (e.expiredBefore !== null) notes.push(`audit: raw rows before ${e.expiredBefore} were expired during the run; periods holding expired rows are left out of the audit by design`);
  notes.push(...e.errors);
  return notes;
}
