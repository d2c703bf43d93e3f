/**
 * A run as a session and its measure steps. The session is set up once
 * (server description, schema, Citus distribution, rollup install, preload,
 * idle baseline, the rendezvous of a group); each step then runs its own
 * warm-up and measure window on that set-up, tells the observers its caller
 * registered of phase boundaries and intervals, and returns a RunRecord.
 * `rtbench run` is a session with one step; `rtbench capacity` runs many
 * trials and owns what happens between them (src/runner/trial-rows.ts).
 * Provenance is src/runner/provenance.ts. Emits events and returns records;
 * never prints and never writes files.
 */
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { siteSlice, type RunConfig } from '../config/types.js';
import { LoadPool } from '../load/pool.js';
import { KINDS, type Aggregator, type IntervalRow } from '../metrics/aggregate.js';
import { sqlPath } from '../paths.js';
import { RESULT_FORMAT_VERSION, type CitusInfo, type RunInfo, type RunRecord, type ServerInfo } from '../results/run-record.js';
import type { Histogram } from '../metrics/histogram.js';
import { connect, countRows, countRowsWithRetry, describeServer, ensureSchema } from '../targets/postgres.js';
import { DashboardSession } from './dashboard.js';
import { activeWorkers, citusInfo, distributeTables, ensureHllOnAllNodes, isCitus, sitePlacement } from '../targets/citus.js';
import { withNodeFigures, type SitePlacement } from '../metrics/node-load.js';
import { maskUrl } from '../targets/url.js';
import { Rendezvous, localEpochMs, type AgreedStart } from '../targets/rendezvous.js';
import type { RunObserver, SessionInfo, StepContribution, StepInfo, StepPhase, StepTiming } from './observer.js';
import { ClientMeter } from './client-meter.js';
import { buildSummary } from './summary.js';
import type pg from 'pg';
import { provenance } from './provenance.js';
import type { OnProgress, ProgressEvent } from '../schedule/progress.js';
import { ensurePartitions, partitionWindow } from '../targets/partitions.js';

/** Create the partitions a load of `config` writes into, from `historyMs` before the server's now to past the step's end. */
async function ensurePartitionsAhead(client: pg.Client, config: RunConfig, citus: boolean, historyMs: number): Promise<{ created: number; total: number }> {
  if (config.partition === 'none') return { created: 0, total: 0 };
  const nowMs = (await client.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now.getTime();
  const w = partitionWindow({ partition: config.partition, nowMs, preloadSpanMs: historyMs, runMs: config.warmupMs + config.durationMs });
  return ensurePartitions(client, { partition: config.partition, from: new Date(w.fromMs), to: new Date(w.toMs), citus });
}

/** Events of a session and its steps (progress material; the CLI prints them). */
export interface SessionEvents {
  /** Something the user should read (schema created, outage noticed…). */
  onNotice?(line: string): void;
  /** Connected, the schema is in place and (in a group) the others met: the load is about to start. */
  onReady?(server: ServerInfo): void;
  /**
   * A long phase's progress (history rollup, idle baseline, serial vs parallel,
   * the audit; in a capacity search the work between trials): what runs, how far
   * it is and the time left. Throttled to about one event a second per phase;
   * one `start` and one `end` event per phase. See src/schedule/progress.ts.
   */
  onProgress?(event: ProgressEvent): void;
}

export interface SessionOptions {
  readonly config: RunConfig;
  /** URL to connect with (may hold a password: never put it in the record unmasked). */
  readonly url: string;
  readonly targetKind: 'embedded' | 'url';
  readonly events?: SessionEvents;
}

/** What a step overrides of the session's config. */
export interface StepSpec {
  readonly runId: string;
  readonly rateHz?: RunConfig['rateHz'];
  readonly durationMs?: number;
  readonly warmupMs?: number;
}

export interface StepOptions {
  /** Observers of this step, told in order (the session adds none of its own: see standardStepObservers). */
  readonly observers?: readonly RunObserver[];
  /** Aborting stops the load early; the step still completes and is marked interrupted. */
  readonly signal?: AbortSignal;
  /**
   * Aborting ends the step early because it is decided (a capacity trial's
   * verdict is known): the step completes normally over the time it ran, not
   * marked interrupted.
   */
  readonly until?: AbortSignal;
  /** A database error the step's own set-up retried (counting its rows while the server restarts): the caller counts it. */
  readonly onRetry?: (err: unknown) => void;
}

/** Every observer's stepEnd, in order; one that throws costs only its own contribution (a note says so). */
async function collectContributions(observers: readonly RunObserver[], step: StepInfo, timing: StepTiming): Promise<StepContribution[]> {
  const contributions: StepContribution[] = [];
  for (const o of observers) {
    try {
      const c = await o.stepEnd?.(step, timing);
      if (c) contributions.push(c);
    } catch (err) {
      contributions.push({ notes: [`${o.name}: not reported: ${err instanceof Error ? err.message : String(err)}`] });
    }
  }
  return contributions;
}

/** The step's histograms (ingest, warm-up, the dashboard's, the observers') and the observers' extra files. */
function stepOutputs(agg: Aggregator, contributions: readonly StepContribution[]): { histograms: Record<string, Histogram>; files: Record<string, string> } {
  const histograms: Record<string, Histogram> = {
    'ingest-response': agg.measure.histograms.response,
    'ingest-service': agg.measure.histograms.service,
    'ingest-lag': agg.measure.histograms.lag,
    'ingest-timer-lag': agg.measure.lagParts.timerLag,
    'ingest-connection-wait': agg.measure.lagParts.connectionWait,
    'warmup-response': agg.warmup.histograms.response,
  };
  const files: Record<string, string> = {};
  for (const c of contributions) {
    Object.assign(histograms, c.histograms ?? {});
    Object.assign(files, c.files ?? {});
  }
  return { histograms, files };
}

/**
 * Tells the observers the measure and drain phases once each, at the first report of each: the pool's timer at
 * the phase's instant, or (a timer the event loop held back) the first interval that shows it. A measure phase
 * reported after the drain is not told.
 */
export function phaseTeller(tell: (phase: 'measure' | 'drain', atMs: number) => void): (phase: 'measure' | 'drain', atMs: number) => void {
  const told = new Set<'measure' | 'drain'>();
  return (phase, atMs) => {
    if (told.has(phase) || (phase === 'measure' && told.has('drain'))) return;
    told.add(phase);
    tell(phase, atMs);
  };
}

export class RunSession {
  private stepsRun = 0;
  private readonly tutorialTemplate: Promise<string>;

  private constructor(
    private readonly opts: SessionOptions,
    readonly info: SessionInfo,
    private readonly startedAt: string,
    /** What the set-up made of the dashboard (rollup installed, history preloaded); null without a rollup. */
    readonly dashboard: DashboardSession | null,
    private readonly rendezvous: Rendezvous | null,
    private readonly onCitus: boolean,
    /** On Citus: each site's node (per-node ingest figures); null elsewhere. */
    private readonly placement: SitePlacement | null = null,
  ) {
    this.tutorialTemplate = readFile(sqlPath('workload', 'tutorial-insert.sql'), 'utf8');
  }

  /** The receiver of progress events the session was opened with (callers that run phases of their own report there too). */
  get onProgress(): OnProgress | undefined {
    const events = this.opts.events;
    return events?.onProgress ? (e) => events.onProgress?.(e) : undefined;
  }

  private get notice(): (l: string) => void {
    return (l) => this.opts.events?.onNotice?.(l);
  }

  /** Set up the target: describe it, create the schema, distribute on Citus, install the rollup and preload. */
  static async open(opts: SessionOptions): Promise<RunSession> {
    const { config, url } = opts;
    const notice = (l: string): void => opts.events?.onNotice?.(l);
    const startedAt = new Date().toISOString();
    const admin = await connect(url, 'rtbench-setup');
    let server: ServerInfo;
    let rowsBefore: number;
    let dashboard: DashboardSession | null = null;
    let citus: CitusInfo | undefined;
    let onCitusAtSetup = false;
    let placement: SitePlacement | null = null;
    try {
      server = await describeServer(admin);
      const onCitus = await isCitus(admin);
      onCitusAtSetup = onCitus;
      let hllMissingOn: string[] = [];
      if (onCitus) {
        const workers = await activeWorkers(admin);
        notice(`citus: coordinator with ${workers.length} active workers`);
        hllMissingOn = await ensureHllOnAllNodes(admin);
      } else if (config.shardCount !== null) {
        notice('--shard-count ignored: the target is not a Citus coordinator');
      }
      const action = await ensureSchema(admin, config.reset, config.partition);
      if (action === 'created') notice('schema: created the tutorial tables');
      else if (action === 'reset') notice('schema: --reset dropped and recreated the tutorial tables');
      const distributed = ['http_request'];
      // --partition: the partitions exist before any row is written (on Citus once http_request is distributed).
      const partitionsFor = async (client: pg.Client): Promise<void> => {
        if (config.partition === 'none') return;
        const made = await ensurePartitionsAhead(client, config, onCitus, config.dashboard.preloadRows > 0 ? config.dashboard.preloadSpanMs : 0);
        notice(`schema: http_request partitioned by ${config.partition}: ${made.created} partitions created ahead of the load (${made.total} in all)`);
      };
      if (!onCitus) await partitionsFor(admin);
      const shardOpts = config.shardCount === null ? {} : { shardCount: config.shardCount };
      if (config.dashboard.rollup !== 'none') {
        dashboard = await DashboardSession.setup(url, config, notice, {
          hllMissingOn,
          citus: onCitus,
          ...(opts.events?.onProgress ? { onProgress: (e: ProgressEvent) => opts.events?.onProgress?.(e) } : {}),
          // Distribute after the rollup install (it may add event_id to http_request) and before any data.
          afterInstall: onCitus ? async (client, installed) => {
            distributed.push(installed.table);
            await distributeTables(client, distributed, shardOpts);
            await partitionsFor(client);
          } : undefined,
        });
      } else if (onCitus) {
        await distributeTables(admin, distributed, shardOpts);
        await partitionsFor(admin);
      }
      if (onCitus) {
        citus = await citusInfo(admin, distributed);
        notice(`citus: ${distributed.join(', ')} distributed by site_id, ${citus.shardCount} shards each, colocation ${citus.colocationId}`);
        // Per-node ingest figures need each row's site: the tutorial-sql statement picks it on the server.
        if (config.statement !== 'tutorial-sql') placement = await sitePlacement(admin, config.workload.sites);
      }
      rowsBefore = await countRows(admin, siteSlice(config));
    } finally {
      await admin.end().catch(() => undefined);
    }
    // Claimed before anything is printed about the load, so a refused second claim is the one line the user sees.
    const group = config.instance?.group ?? null;
    const rendezvous = config.instance && group !== null
      ? await Rendezvous.claim({ url, group, index: config.instance.index, count: config.instance.count, timeoutMs: config.rendezvousTimeoutMs, onNotice: notice })
      : null;
    if (rendezvous && config.instance) {
      notice(`rendezvous: group ${group}: instance ${config.instance.index}/${config.instance.count} registered; ` +
        `waiting for the others (up to ${config.rendezvousTimeoutMs / 1000} s)`);
    } else {
      opts.events?.onReady?.(server);
    }
    const liveDash = dashboard;
    const info: SessionInfo = {
      config, url, targetKind: opts.targetKind, server, ...(citus ? { citus } : {}), rowsAtSetup: rowsBefore,
      ...(liveDash ? { live: { panels: () => liveDash.livePanelResponses(), freshness: () => liveDash.liveFreshness() } } : {}),
    };
    return new RunSession(opts, info, startedAt, dashboard, rendezvous, onCitusAtSetup, placement);
  }

  /** Release what the session holds (the rendezvous claim). Never throws. */
  async close(): Promise<void> {
    await this.rendezvous?.close().catch(() => undefined);
  }

  /** Run one measure step (warm-up, measure, count, summary) and return its record. */
  async step(spec: StepSpec, stepOpts: StepOptions = {}): Promise<RunRecord> {
    const index = this.stepsRun++;
    if (index > 0 && this.rendezvous) throw new Error('a group instance (--instance) runs one step only');
    const base = this.opts.config;
    const config: RunConfig = {
      ...base,
      ...(spec.rateHz !== undefined ? { rateHz: spec.rateHz } : {}),
      ...(spec.durationMs !== undefined ? { durationMs: spec.durationMs } : {}),
      ...(spec.warmupMs !== undefined ? { warmupMs: spec.warmupMs } : {}),
    };
    const { url } = this.opts;
    const notice = this.notice;
    const sites = siteSlice(config);
    // Reassigned once a group instance knows its common start (observers see it from stepStart on).
    let step: StepInfo = { index, runId: spec.runId, config };
    const observers: readonly RunObserver[] = stepOpts.observers ?? [];
    if (config.partition !== 'none') {
      // Partitions for this step's load (a later step of a long session may need new ones).
      const admin = await connect(url, 'rtbench-setup');
      try {
        await ensurePartitionsAhead(admin, config, this.onCitus, 0);
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    const startedAt = index === 0 ? this.startedAt : new Date().toISOString();
    // Later steps count from where the previous one left the table (expiry may have removed rows since set-up).
    const rowsBefore = index === 0 ? this.info.rowsAtSetup : await countRowsWithRetry(url, 30_000, sites, stepOpts.onRetry);

    const group = config.instance?.group ?? null;
    let agreed: AgreedStart | null = null;
    const intervals: IntervalRow[] = [];
    const meter = new ClientMeter();
    let sawOutage = false;
    const tell = (f: (o: RunObserver) => void): void => {
      for (const o of observers) f(o);
    };
    const tellPhase = phaseTeller((phase, atMs) => tell((o) => o.phase?.(phase, atMs, step)));
    const pool = new LoadPool({
      config,
      url,
      tutorialTemplate: await this.tutorialTemplate,
      ...(this.placement ? { placement: this.placement } : {}),
      // After set-up (and instance 1's preload) and with every worker connected: meet the group, then start the observers.
      beforeStart: async () => {
        if (this.rendezvous && config.instance && group !== null) {
          const { count } = config.instance;
          agreed = await this.rendezvous.waitForStart();
          step = {
            ...step,
            groupStart: {
              startEpochMs: agreed.startEpochMs, localStartEpochMs: agreed.localStartEpochMs, clockOffsetMs: agreed.clock.offsetMs,
              clockRoundTripMs: agreed.clock.roundTripMs, registeredAtEpochMs: agreed.registeredAtEpochMs,
            },
          };
          const inMs = agreed.localStartEpochMs - localEpochMs();
          notice(`rendezvous: group ${group}: all ${count} registered; common start ${new Date(agreed.startEpochMs).toISOString()} ` +
            `(database clock) in ${inMs.toFixed(0)} ms; clock offset ${agreed.clock.offsetMs.toFixed(1)} ms ± ${(agreed.clock.roundTripMs / 2).toFixed(1)} ms`);
          // Only now is the load about to start: a Ctrl-C while waiting quits at once (the claim ends with the process).
          this.opts.events?.onReady?.(this.info.server);
        }
        for (const o of observers) await o.stepStart?.(step, this.info);
        tell((o) => o.phase?.('warmup', 0, step));
        return agreed?.localStartEpochMs ?? null;
      },
      // The measure window's boundaries at their instants (timers on the origin), not at the end of its
      // first interval: the sampler's start snapshot and the measure rows then cover the same time, and
      // the viewers run from the window's start to its end, not through the drain.
      onPhase: tellPhase,
      onInterval: (row) => {
        meter.interval(row);
        // A timer the event loop held back: the first measure interval says it all the same.
        if (row.phase === 'measure') tellPhase('measure', row.startMs);
        if (row.errors > 0 && !sawOutage && row.connectionsUp < config.workers * config.connections) {
          sawOutage = true;
          notice(`database errors at ${(row.endMs / 1000).toFixed(0)} s: connections are being re-established, the run goes on`);
        }
        intervals.push(row);
        tell((o) => o.interval?.(row, step));
      },
    });
    const onAbort = (): void => pool.stop();
    stepOpts.signal?.addEventListener('abort', onAbort, { once: true });
    stepOpts.until?.addEventListener('abort', onAbort, { once: true });
    let load;
    try {
      load = await pool.run();
    } finally {
      stepOpts.signal?.removeEventListener('abort', onAbort);
      stepOpts.until?.removeEventListener('abort', onAbort);
      // A group meets once: the claim is not needed after the first step started.
      if (this.rendezvous) await this.rendezvous.close();
    }
    const started = agreed as AgreedStart | null;
    if (started && load.lateStartMs > 0) {
      notice(`rendezvous: this instance started its schedule ${load.lateStartMs.toFixed(1)} ms after the common start (its operations due before were late)`);
    }
    const lastRow = intervals[intervals.length - 1];
    tellPhase('drain', lastRow?.endMs ?? 0);
    const rssEndBytes = process.memoryUsage().rss;
    const interrupted = stepOpts.signal?.aborted ?? false;
    const endedEarly = !interrupted && (stepOpts.until?.aborted ?? false);

    for (const o of observers) {
      try {
        await o.stepDrained?.(step);
      } catch {
        // Reported by the observer's own stepEnd.
      }
    }
    // Counted before the dashboard's finish: --expire deletes old raw rows.
    const rowsAfter = await countRowsWithRetry(url, 30_000, sites, stepOpts.onRetry);
    const firstMeasure = intervals.find((r) => r.phase === 'measure');
    const timing = {
      startEpochMs: load.startEpochMs,
      measureStartMs: firstMeasure?.startMs ?? config.warmupMs,
      measureEndMs: lastRow?.endMs ?? config.warmupMs + config.durationMs,
      interrupted,
    };
    const contributions = await collectContributions(observers, step, timing);
    const dash = contributions.find((c) => c.dashboard)?.dashboard ?? null;
    const built = buildSummary({
      config,
      runId: spec.runId,
      intervals,
      aggregator: load.aggregator,
      unfinished: load.unfinished,
      workerFailures: load.workerFailures,
      measureLoopDelayP99Us: load.measureLoopDelayP99Us,
      connectionOutages: load.connectionOutages,
      startEpochMs: load.startEpochMs,
      measureLoopDelayP50Us: load.measureLoopDelayP50Us,
      interrupted,
      endedEarly,
      // Rows an observer expired during the step are added back: acked vs table stays exact.
      rowsInTable: rowsAfter === null || rowsBefore === null ? null : rowsAfter - rowsBefore + contributions.reduce((a, c) => a + (c.rowsRemoved ?? 0), 0),
      measureCpuUs: meter.measureCpuUs,
      rssStartBytes: meter.rssStartBytes,
      rssEndBytes,
      cores: os.cpus().length,
      dashboard: dash,
      dashboardFailure: contributions.find((c) => c.dashboardFailure)?.dashboardFailure ?? null,
      contributions,
    });
    const summary = this.placement && load.byNode ? withNodeFigures(built, load.byNode, this.placement, config) : built;

    const { histograms, files } = stepOutputs(load.aggregator, contributions);
    const record: RunRecord = {
      run: await this.runInfo(config, spec.runId, startedAt, started, load),
      summary,
      histograms,
      intervals,
      startEpochMs: load.startEpochMs,
      kinds: KINDS,
      ...(Object.keys(files).length > 0 ? { files } : {}),
    };
    for (const o of observers) await o.stepRecord?.(record, step);
    return record;
  }

  private async runInfo(
    config: RunConfig,
    runId: string,
    startedAt: string,
    started: AgreedStart | null,
    load: { lateStartMs: number; firstSentMs: number | null },
  ): Promise<RunInfo> {
    const group = config.instance?.group ?? null;
    const p = await provenance();
    return {
      formatVersion: RESULT_FORMAT_VERSION,
      runId,
      startedAt,
      finishedAt: new Date().toISOString(),
      config: { ...config, url: config.url === undefined ? undefined : maskUrl(config.url) },
      seed: config.seed,
      target: { kind: this.opts.targetKind, url: maskUrl(this.opts.url) },
      gitRevision: p.gitRevision,
      gitBranch: p.gitBranch,
      versions: p.versions,
      server: this.info.server,
      ...(this.info.citus ? { citus: this.info.citus } : {}),
      ...(started && config.instance && group !== null ? {
        instance: {
          index: config.instance.index,
          count: config.instance.count,
          group,
          startEpochMs: started.startEpochMs,
          clockOffsetMs: started.clock.offsetMs,
          clockRoundTripMs: started.clock.roundTripMs,
          registeredAtEpochMs: started.registeredAtEpochMs,
          lateStartMs: load.lateStartMs,
          firstSentMs: load.firstSentMs,
        },
      } : {}),
      machine: p.machine,
    };
  }
}
