/**
 * The dashboard side of a run: rollup install (rebuilt from raw), preload of
 * history, the idle probe baseline, then during the load the rollup driver,
 * the freshness probe and the dashboard probes, and after it the audit, HLL
 * accuracy, table sizes and expiry. Emits notices; never prints.
 */
import type pg from 'pg';
import type { DashboardConfig, RunConfig } from '../config/types.js';
import { summarize, type Histogram, type LatencySummary } from '../metrics/histogram.js';
import {
  DEFAULT_WINDOWS, ProbeRunner, idleBaseline, loadProbes, measureHllError, measureParallelSpeedup, probeFigures, probeRouting, tableSizes,
  type IdleBaseline, type ProbeDef, type ProbeResults,
} from '../probe/index.js';
import { audit } from '../rollup/audit.js';
import { RollupDriver, type RollupDriverResult } from '../rollup/driver.js';
import { expire, installExpiry } from '../rollup/expiry.js';
import { FreshnessProbe, type FreshnessResult } from '../rollup/freshness.js';
import { preloadHistory } from '../rollup/preload.js';
import { auditStartAfterExpiry } from '../schedule/expiry-schedule.js';
import {
  HLL_SKIPPED, coveredUntil, hllAvailable, installRollup, latestRollupTable, rollupTable, runRollupOnce,
  type InstalledRollup,
} from '../rollup/strategies.js';
import { selectRunnable } from '../probe/requirements.js';
import { quoteIdent } from '../sql-quote.js';
import { connect, connectRetrying } from '../targets/postgres.js';
import { survivalNote, type PartSurvival } from '../metrics/part-survival.js';
import { UsageError } from '../errors.js';
import type { OnProgress } from '../schedule/progress.js';
import { inPhase } from './phase.js';
import type { DashboardSummary, ExpiryResult, PreloadResult, ProbeFigures } from '../results/run-record.js';

/** site_id of the freshness markers: outside the load's range, left out of acked-vs-table counts. */
export const MARKER_SITE_ID = -1;

export interface DashboardOutcome {
  readonly summary: DashboardSummary;
  readonly histograms: Record<string, Histogram>;
  readonly notes: string[];
}

async function tableExists(client: pg.Client, name: string): Promise<boolean> {
  const r = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [quoteIdent(name)]);
  return r.rows[0]?.t !== null && r.rows[0]?.t !== undefined;
}

/**
 * Empty the rollup of this granularity and this strategy's bookkeeping, so the
 * rollup is rebuilt from the raw table and the audit compares like with like
 * (rollup tables are derived data; the raw table is never touched).
 */
async function resetRollup(client: pg.Client, d: DashboardConfig): Promise<void> {
  const table = rollupTable(d.granularityMin);
  if (await tableExists(client, table)) await client.query(`TRUNCATE ${quoteIdent(table)}`);
  if (d.rollup === 'tutorial') {
    const latest = latestRollupTable(d.granularityMin);
    if (await tableExists(client, latest)) await client.query(`TRUNCATE ${quoteIdent(latest)}`);
  } else {
    const book = d.rollup === 'closed-minute' ? 'rtbench_rollup_window' : 'rtbench_rollup_state';
    if (await tableExists(client, book)) {
      await client.query(`DELETE FROM ${quoteIdent(book)} WHERE rollup_name = $1`, [`${d.rollup}:${table}`]);
    }
  }
}

export class DashboardSession {
  private driver: RollupDriver | null = null;
  private freshness: FreshnessProbe | null = null;
  private probeRunner: ProbeRunner | null = null;
  private probeStart: Promise<void> | null = null;
  /** Notes of the current step; set-up notes are kept apart and given with every step. */
  private notes: string[] = [];
  private readonly setupNotes: readonly string[];
  /** Where the long phases (the audit) report progress; set by {@link setup}. */
  onProgress: OnProgress | undefined;
  private loadStartedAt = new Date();
  private auditFloor: (() => number | null) | null = null;

  /** Raw rows older than what this returns (ms since the epoch) were expired during the step: the audit starts after them. */
  setAuditFloor(floor: (() => number | null) | null): void {
    this.auditFloor = floor;
  }

  private constructor(
    private readonly url: string,
    private readonly config: RunConfig,
    private readonly installed: InstalledRollup,
    private readonly probeDefs: readonly ProbeDef[],
    private readonly preloadResult: PreloadResult | null,
    private readonly historyRollupMs: number | null,
    private readonly idle: IdleBaseline | undefined,
    private readonly parallel: DashboardSummary['parallel'],
    private readonly notice: (line: string) => void,
    setupNotes: string[],
    private readonly routing: Record<string, 'router' | 'multi-shard'> | undefined,
  ) {
    this.setupNotes = setupNotes;
  }

  private get granularity(): '1m' | '5m' | '15m' | '60m' {
    return `${this.config.dashboard.granularityMin}m` as '1m' | '5m' | '15m' | '60m';
  }

  /** Install the rollup, preload and roll up history, and time the probes idle. */
  static async setup(
    url: string,
    config: RunConfig,
    notice: (line: string) => void,
    hooks: {
      /** Nodes lacking hll (Citus): the HLL column and probes are skipped, naming them. */
      readonly hllMissingOn?: readonly string[];
      /** Called once the rollup is installed and before any data is written (Citus distributes here). */
      readonly afterInstall?: (client: pg.Client, installed: InstalledRollup) => Promise<void>;
      /** The target is a Citus coordinator (for the parallel speedup's settings). */
      readonly citus?: boolean;
      /** Progress of the long phases (history rollup, idle baseline, serial vs parallel; later the audit). */
      readonly onProgress?: OnProgress;
    } = {},
  ): Promise<DashboardSession> {
    const d = config.dashboard;
    if (d.rollup === 'none') throw new Error('DashboardSession needs a rollup strategy');
    const notes: string[] = [];
    const client = await connect(url, 'rtbench-dashboard');
    try {
      let hll = await hllAvailable(client);
      if (hll && hooks.hllMissingOn && hooks.hllMissingOn.length > 0) {
        hll = false;
        notes.push(`${HLL_SKIPPED}: hll is missing on ${hooks.hllMissingOn.join(', ')}`);
      } else if (hll) {
        try {
          await client.query('CREATE EXTENSION IF NOT EXISTS hll');
        } catch (err) {
          hll = false;
          notes.push(`${HLL_SKIPPED}: CREATE EXTENSION hll failed (${(err as Error).message})`);
        }
      } else notes.push(HLL_SKIPPED);
      for (const n of notes) notice(n);
      await resetRollup(client, d);
      const installed = await installRollup(client, {
        strategy: d.rollup,
        granularityMin: d.granularityMin,
        hll,
        ...(d.rollup === 'closed-minute' ? { graceS: d.graceS } : {}),
      }).catch((err: unknown) => {
        const e = err as { code?: string; message?: string };
        if (e.code === '0A000' && /serial/i.test(e.message ?? '')) {
          throw new UsageError('the incremental rollup needs an event_id bigserial column that Citus cannot add to an already distributed http_request; rerun with --reset (drops the tutorial tables)');
        }
        throw err;
      });
      notice(`rollup: ${d.rollup} into ${installed.table}${hll ? ' (with HLL)' : ''}, rebuilt from http_request`);
      await hooks.afterInstall?.(client, installed);

      let preloaded: PreloadResult | null = null;
      if (d.preloadRows > 0) {
        preloaded = await preloadHistory(client, {
          rows: d.preloadRows,
          spanMs: d.preloadSpanMs,
          seed: config.seed,
          sites: config.workload.sites,
          countries: config.workload.countries,
          statusCodes: config.workload.statusCodes,
          connections: d.preloadConnections,
          openConnection: () => connect(url, 'rtbench-preload'),
          notice,
          ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
        });
      }
      // The first run rolls up whatever history the table holds (preloaded or earlier runs).
      const historyRollupMs = await inPhase(hooks.onProgress, 'rollup: history', 'runs', 1, async (p) => {
        const ms = await runRollupOnce(client, installed);
        p.advance();
        return ms;
      });
      notice(`rollup: history rolled up in ${(historyRollupMs / 1000).toFixed(2)} s`);

      let defs: ProbeDef[] = [];
      let idle: IdleBaseline | undefined;
      if (d.probes) {
        defs = await loadProbes();
        if (d.idleBaseline) {
          notice(`probes: idle baseline of ${defs.length} probes x ${DEFAULT_WINDOWS.length} windows (tinybench, no load)`);
          idle = await idleBaseline(url, defs, DEFAULT_WINDOWS, {
            granularity: `${d.granularityMin}m` as '1m', rollupTable: installed.table,
            iterations: d.minSamples, timeMs: 0, sites: config.workload.sites, seed: config.seed,
            ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
          });
        }
      }
      let parallel: DashboardSummary['parallel'] = null;
      if (d.probes && d.parallel) {
        const kind = hooks.citus ? 'citus' : 'postgres';
        notice(`probes: serial vs parallel (${kind === 'citus' ? 'one connection per worker vs full parallelism' : 'max_parallel_workers_per_gather 0 vs default'}), no load`);
        const common = {
          kind, granularity: `${d.granularityMin}m` as '1m', rollupTable: installed.table, iterations: d.minSamples, warmupIterations: 1,
          minSamples: d.minSamples, sites: config.workload.sites, seed: config.seed,
          ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
        } as const;
        try {
          const asSpecified = await measureParallelSpeedup(url, defs, common);
          const warmConnections = kind === 'citus' ? await measureParallelSpeedup(url, defs, { ...common, citusCacheParallelConnections: true, progressPhase: 'probes: serial vs parallel (warm connections)' }) : undefined;
          parallel = { asSpecified, ...(warmConnections ? { warmConnections } : {}) };
          for (const [name, r] of [['asSpecified', asSpecified], ['warmConnections', warmConnections]] as const) {
            for (const f of r?.byProbe ?? []) {
              if (f.speedup === null) notes.push(`parallel.${name} ${f.probe} @ ${f.window} speedup is null: ${f.serialCount} serial / ${f.parallelCount} parallel samples (< --min-samples ${d.minSamples})`);
            }
          }
        } catch (err) {
          notes.push(`parallel speedup not measured: ${(err as Error).message}`);
        }
      }
      let routing: Record<string, 'router' | 'multi-shard'> | undefined;
      if (d.probes && hooks.citus) {
        try {
          const { runnable } = await selectRunnable(client, defs, installed.table);
          routing = await probeRouting(client, runnable, installed.table);
        } catch (err) {
          notes.push(`router vs multi-shard not determined: ${(err as Error).message}`);
        }
      }
      const session = new DashboardSession(url, config, installed, defs, preloaded, historyRollupMs, idle, parallel, notice, notes, routing);
      session.onProgress = hooks.onProgress;
      return session;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Empty the rollup and roll the raw table up again from scratch (after a
   * capacity step's rows were removed): the rollup holds exactly what the raw
   * table holds. Returns the rebuild's duration, ms.
   */
  async rebuildRollup(): Promise<number> {
    const client = await connect(this.url, 'rtbench-setup');
    try {
      const d = this.config.dashboard;
      if (d.rollup === 'none') return 0;
      await resetRollup(client, d);
      // The reset removed the strategy's bookkeeping row; installing again (idempotent) puts it back.
      await installRollup(client, {
        strategy: d.rollup,
        granularityMin: d.granularityMin,
        hll: this.installed.hll,
        ...(d.rollup === 'closed-minute' ? { graceS: d.graceS } : {}),
      });
      return await runRollupOnce(client, this.installed);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Start the rollup driver and the freshness probe (with the load, warm-up included). */
  async startLoadPhase(): Promise<void> {
    const d = this.config.dashboard;
    this.loadStartedAt = new Date();
    this.driver = new RollupDriver({
      url: this.url,
      installed: this.installed,
      scheduler: d.rollupScheduler === 'harness' ? 'harness' : 'cron',
      intervalMs: d.rollupIntervalMs,
    });
    await this.driver.start();
    this.freshness = new FreshnessProbe({ url: this.url, table: this.installed.table, granularityMin: d.granularityMin, siteId: MARKER_SITE_ID });
    this.freshness.start();
  }

  /** The panels' response histograms of the running step so far (empty before the viewers start): live, read them only. */
  livePanelResponses(): Record<string, Histogram> {
    return this.probeRunner?.liveResponses() ?? {};
  }

  /** The freshness probe's readings so far and its oldest unseen marker (null before the load starts): live, read them only. */
  liveFreshness(): ReturnType<FreshnessProbe['live']> | null {
    return this.freshness?.live() ?? null;
  }

  /** Start the dashboard probes (at the start of the measure phase). Never throws. */
  startProbes(): void {
    if (!this.config.dashboard.probes || this.config.dashboard.viewers === 0 || this.probeRunner) return;
    this.probeRunner = new ProbeRunner({
      url: this.url,
      probes: this.probeDefs,
      granularity: this.granularity,
      rollupTable: this.installed.table,
      viewers: this.config.dashboard.viewers,
      refreshMs: this.config.dashboard.refreshMs,
      sites: this.config.workload.sites,
      seed: this.config.seed,
      lateThresholdMs: this.config.lateThresholdMs,
    });
    this.probeStart = this.probeRunner.start().catch((err: unknown) => {
      this.notes.push(`probes could not start: ${(err as Error).message}`);
    });
  }

  /**
   * Stop everything, roll up once more, audit, measure HLL accuracy and sizes,
   * expire. The session is then ready for another step (startLoadPhase again).
   */
  async finish(originEpochMs: number = Date.now()): Promise<DashboardOutcome> {
    await this.probeStart;
    const probeRunner = this.probeRunner;
    const driver = this.driver;
    const freshness = this.freshness;
    this.probeRunner = null;
    this.probeStart = null;
    this.driver = null;
    this.freshness = null;
    const notes = [...this.setupNotes, ...this.notes];
    this.notes = notes;
    try {
      return await this.finishStep(probeRunner, driver, freshness, originEpochMs);
    } finally {
      this.notes = [];
    }
  }

  private async finishStep(probeRunner: ProbeRunner | null, driver: RollupDriver | null, freshnessProbe: FreshnessProbe | null, originEpochMs: number): Promise<DashboardOutcome> {
    const probeResults: ProbeResults | null = probeRunner ? await probeRunner.stop() : null;
    const driven: RollupDriverResult | null = driver ? await driver.stop() : null;
    // No new markers; the final rollup below may still make pending ones visible.
    freshnessProbe?.stopMarkers();
    if (driven) this.notes.push(...driven.notes);
    if (probeResults) this.notes.push(...probeResults.skipped);

    const d = this.config.dashboard;
    // The server may be coming back from a fault at the step's end: wait for it (up to a minute).
    const client = await connectRetrying(this.url, 'rtbench-audit', 60_000);
    try {
      // Two steps: the final rollup run, then the audit's count of raw vs rollup per closed period.
      const { fresh, to, from, audited } = await inPhase(this.onProgress, 'audit: final rollup, raw vs rollup', 'steps', 2, async (p) => {
        // A last run so that every period closed by now is covered (closed-minute still honours its grace).
        await runRollupOnce(client, this.installed).catch((err: unknown) => {
          this.notes.push(`final rollup failed: ${(err as Error).message}`);
        });
        p.advance();
        const fresh: FreshnessResult | null = freshnessProbe ? await freshnessProbe.stop() : null;
        const to = await coveredUntil(client, this.installed);
        // Periods whose raw rows expiry removed during the step are left out of the audit, by design (a note says so).
        const clip = auditStartAfterExpiry(this.loadStartedAt.getTime(), this.auditFloor?.() ?? null, d.granularityMin);
        const from = new Date(clip.fromMs);
        if (clip.clipped) this.notes.push(`audit: starts at ${from.toISOString()}, not at the load's start: earlier periods lost raw rows to expiry`);
        const audited = to ? await audit(client, { table: this.installed.table, granularityMin: d.granularityMin, from, to }) :
          { periods: [], lostEvents: 0, duplicatedEvents: 0, periodsChecked: 0 };
        p.advance();
        return { fresh, to, from, audited };
      });
      if (audited.lostEvents > 0 || audited.duplicatedEvents > 0) {
        this.notice(`audit: ${audited.lostEvents} events lost and ${audited.duplicatedEvents} duplicated by the ${d.rollup} rollup over ${audited.periodsChecked} closed periods`);
      } else if (audited.periodsChecked === 0) {
        // A check over nothing says so (a 45 s run closes no 5-minute period).
        const line = `audit: no event lost or duplicated, but over 0 closed periods: nothing was audited (no ${d.granularityMin}-minute period closed during the run; a run must span a whole ${d.granularityMin}-minute period and the rollup after it)`;
        this.notice(line);
        this.notes.push(line);
      } else this.notice(`audit: no event lost or duplicated over ${audited.periodsChecked} closed periods`);

      let figures: ProbeFigures | null = null;
      if (probeResults) {
        const hllError = this.installed.hll && to
          ? await measureHllError(client, this.installed.table, DEFAULT_WINDOWS, { upper: to }).catch((err: unknown) => {
            this.notes.push(`HLL accuracy not measured: ${(err as Error).message}`);
            return undefined;
          })
          : undefined;
        const sizes = await tableSizes(client, this.installed.table);
        figures = probeFigures({
          results: probeResults, idle: this.idle, hllError, sizes, probes: this.probeDefs,
          minSamples: d.minSamples, seed: this.config.seed, ...(this.routing && { routing: this.routing }),
        });
        this.notes.push(...figures.notes);
      }

      let expiry: ExpiryResult | null = null;
      if (d.expire) {
        await installExpiry(client);
        expiry = await expire(client, { rollupTable: this.installed.table });
        this.notice(`expiry: removed ${expiry.rawRowsRemoved} raw and ${expiry.rollupRowsRemoved} rollup rows in ${expiry.ms.toFixed(0)} ms`);
      }

      const histograms: Record<string, Histogram> = {};
      if (driven) histograms['rollup-duration'] = driven.durationHistogram;
      if (fresh) histograms['freshness'] = fresh.histogram;
      for (const t of probeResults?.tasks ?? []) {
        histograms[`probe-${t.probe}-${t.window}`] = t.histogram;
        // Response (due → result) per cell, for quantile SLOs of a capacity search.
        histograms[`panel-response-${t.probe}-${t.window}`] = t.responseHistogram;
      }

      // Each part's outages, named once (one line per part), never per failed attempt.
      const survival: { rollup?: PartSurvival; freshness?: PartSurvival; viewers?: PartSurvival } = {};
      if (driven) survival.rollup = driven.survival.result(originEpochMs);
      if (fresh) survival.freshness = fresh.survival.result(originEpochMs);
      if (probeResults) survival.viewers = probeResults.survival.result(originEpochMs);
      for (const [part, doing, unit] of [
        ['rollup', 'run', 'runs'], ['freshness', 'insert or look for its markers', 'marker inserts and polls'], ['viewers', 'refresh their panels', 'panels served'],
      ] as const) {
        const s = survival[part];
        const line = s ? survivalNote(part, doing, unit, s) : null;
        if (line) this.notes.push(line);
      }

      const summary: DashboardSummary = {
        rollup: {
          strategy: d.rollup,
          granularity: this.granularity,
          table: this.installed.table,
          hll: this.installed.hll,
          scheduler: driven?.scheduler ?? 'harness',
          intervalMs: d.rollupIntervalMs,
          runs: driven?.runs ?? 0,
          overruns: driven?.overruns ?? 0,
          historyRollupMs: this.historyRollupMs,
          duration: summarize(driven?.durationHistogram ?? histograms['rollup-duration']!),
          errorsBySqlstate: driven?.errorsBySqlstate ?? {},
        },
        preload: this.preloadResult,
        freshness: {
          ...summarize(fresh!.histogram),
          markersInserted: fresh?.markersInserted ?? 0,
          markersSeen: fresh?.markersSeen ?? 0,
          markersUnseen: fresh?.markersUnseen ?? 0,
          overCounted: fresh?.overCounted ?? 0,
          errorsBySqlstate: fresh?.errorsBySqlstate ?? {},
          lastSeenMs: fresh?.lastSeenEpochMs == null ? null : fresh.lastSeenEpochMs - originEpochMs,
          ...(fresh ? { timeline: fresh.timeline } : {}),
        },
        audit: { ...audited, from: from.toISOString(), to: to ? to.toISOString() : null },
        probes: figures,
        parallel: this.parallel,
        expiry,
        survival,
      };
      return { summary, histograms, notes: this.notes };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
