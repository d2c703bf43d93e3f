/**
 * The ingest run: setup → warm-up → measure → count → summary. Emits events
 * and returns a RunRecord; never prints and never writes files.
 */
import os from 'node:os';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { siteSlice, type RunConfig } from '../config/types.js';
import { LoadPool } from '../load/pool.js';
import { KINDS, errorCount, type IntervalRow } from '../metrics/aggregate.js';
import { summarize } from '../metrics/histogram.js';
import { selfCheck } from '../metrics/self-check.js';
import { PACKAGE_ROOT, RTBENCH_VERSION, sqlPath } from '../paths.js';
import { RESULT_FORMAT_VERSION, type CitusInfo, type RunRecord, type ServerInfo, type Summary } from '../results/run-record.js';
import { connect, countRows, countRowsWithRetry, describeServer, ensureSchema } from '../targets/postgres.js';
import { DashboardSession } from './dashboard.js';
import { activeWorkers, citusInfo, distributeTables, ensureHllOnAllNodes, isCitus } from '../targets/citus.js';
import { maskUrl } from '../targets/url.js';
import { Rendezvous, localEpochMs, type AgreedStart } from '../targets/rendezvous.js';

export interface IngestEvents {
  /** A completed interval (progress line material). */
  onInterval?(row: IntervalRow): void;
  /** Something the user should read (schema created, outage noticed…). */
  onNotice?(line: string): void;
  /** Connected and the schema is in place: the load is about to start. */
  onReady?(server: ServerInfo): void;
}

export interface IngestOptions {
  readonly config: RunConfig;
  /** URL to connect with (may hold a password: never put it in the record unmasked). */
  readonly url: string;
  readonly targetKind: 'embedded' | 'url';
  readonly runId: string;
  readonly events?: IngestEvents;
  /** Aborting stops the load early; the run still completes and is marked interrupted. */
  readonly signal?: AbortSignal;
}

const require = createRequire(import.meta.url);
const versionOf = (pkg: string): string => {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

function gitOutput(args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd: PACKAGE_ROOT, timeout: 5000 }, (err, out) => {
      resolve(err ? null : out.trim() || null);
    });
  });
}

const gitRevision = (): Promise<string | null> => gitOutput(['rev-parse', 'HEAD']);

/** The checked-out branch; null when HEAD is detached. */
async function gitBranch(): Promise<string | null> {
  const b = await gitOutput(['rev-parse', '--abbrev-ref', 'HEAD']);
  return b === 'HEAD' ? null : b;
}

export async function runIngest(opts: IngestOptions): Promise<RunRecord> {
  const { config, url } = opts;
  const notice = (l: string): void => opts.events?.onNotice?.(l);
  const startedAt = new Date().toISOString();

  const admin = await connect(url, 'rtbench-setup');
  let server: ServerInfo;
  let rowsBefore: number;
  let dashboard: DashboardSession | null = null;
  let citus: CitusInfo | undefined;
  const sites = siteSlice(config);
  try {
    server = await describeServer(admin);
    const onCitus = await isCitus(admin);
    let hllMissingOn: string[] = [];
    if (onCitus) {
      const workers = await activeWorkers(admin);
      notice(`citus: coordinator with ${workers.length} active workers`);
      hllMissingOn = await ensureHllOnAllNodes(admin);
    } else if (config.shardCount !== null) {
      notice('--shard-count ignored: the target is not a Citus coordinator');
    }
    const action = await ensureSchema(admin, config.reset);
    if (action === 'created') notice('schema: created the tutorial tables');
    else if (action === 'reset') notice('schema: --reset dropped and recreated the tutorial tables');
    const distributed = ['http_request'];
    const shardOpts = config.shardCount === null ? {} : { shardCount: config.shardCount };
    if (config.dashboard.rollup !== 'none') {
      dashboard = await DashboardSession.setup(url, config, notice, {
        hllMissingOn,
        citus: onCitus,
        // Distribute after the rollup install (it may add event_id to http_request) and before any data.
        afterInstall: onCitus ? async (client, installed) => {
          distributed.push(installed.table);
          await distributeTables(client, distributed, shardOpts);
        } : undefined,
      });
    } else if (onCitus) {
      await distributeTables(admin, distributed, shardOpts);
    }
    if (onCitus) {
      citus = await citusInfo(admin, distributed);
      notice(`citus: ${distributed.join(', ')} distributed by site_id, ${citus.shardCount} shards each, colocation ${citus.colocationId}`);
    }
    rowsBefore = await countRows(admin, sites);
  } finally {
    await admin.end().catch(() => undefined);
  }
  // Claimed before anything is printed about the load, so a refused second claim is the one line the user sees.
  const group = config.instance?.group ?? null;
  let agreed: AgreedStart | null = null;
  const rendezvous = config.instance && group !== null
    ? await Rendezvous.claim({ url, group, index: config.instance.index, count: config.instance.count, timeoutMs: config.rendezvousTimeoutMs, onNotice: notice })
    : null;
  if (rendezvous && config.instance) {
    notice(`rendezvous: group ${group}: instance ${config.instance.index}/${config.instance.count} registered; ` +
      `waiting for the others (up to ${config.rendezvousTimeoutMs / 1000} s)`);
  } else {
    opts.events?.onReady?.(server);
  }

  const tutorialTemplate = await readFile(sqlPath('workload', 'tutorial-insert.sql'), 'utf8');
  const intervals: IntervalRow[] = [];
  let cpuPrev = process.cpuUsage();
  let cpuPrevAt = process.hrtime.bigint();
  let measureCpuUs = 0;
  let rssStartBytes = 0;
  let sawOutage = false;
  const pool = new LoadPool({
    config,
    url,
    tutorialTemplate,
    // After set-up (and instance 1's preload) and with every worker connected: meet the group, then start the rollup.
    beforeStart: async () => {
      if (rendezvous && config.instance && group !== null) {
        const { index, count } = config.instance;
        agreed = await rendezvous.waitForStart();
        const inMs = agreed.localStartEpochMs - localEpochMs();
        notice(`rendezvous: group ${group}: all ${count} registered; common start ${new Date(agreed.startEpochMs).toISOString()} ` +
          `(database clock) in ${inMs.toFixed(0)} ms; clock offset ${agreed.clock.offsetMs.toFixed(1)} ms ± ${(agreed.clock.roundTripMs / 2).toFixed(1)} ms`);
        // Only now is the load about to start: a Ctrl-C while waiting quits at once (the claim ends with the process).
        opts.events?.onReady?.(server);
      }
      await dashboard?.startLoadPhase();
      return agreed?.localStartEpochMs ?? null;
    },
    onInterval: (row) => {
      const now = process.hrtime.bigint();
      const cpu = process.cpuUsage(cpuPrev);
      const cpuUs = cpu.user + cpu.system;
      row.cpuCores = cpuUs / Math.max(1, Number(now - cpuPrevAt) / 1000);
      cpuPrev = process.cpuUsage();
      cpuPrevAt = now;
      row.rssBytes = process.memoryUsage().rss;
      if (row.phase === 'measure') {
        dashboard?.startProbes();
        measureCpuUs += cpuUs;
        if (rssStartBytes === 0) rssStartBytes = process.memoryUsage().rss;
      }
      if (row.errors > 0 && !sawOutage && row.connectionsUp < config.workers * config.connections) {
        sawOutage = true;
        notice(`database errors at ${(row.endMs / 1000).toFixed(0)} s: connections are being re-established, the run goes on`);
      }
      intervals.push(row);
      opts.events?.onInterval?.(row);
    },
  });
  const onAbort = (): void => pool.stop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let load;
  try {
    load = await pool.run();
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await rendezvous?.close();
  }
  const started = agreed as AgreedStart | null;
  if (started && load.lateStartMs > 0) {
    notice(`rendezvous: this instance started its schedule ${load.lateStartMs.toFixed(1)} ms after the common start (its operations due before were late)`);
  }
  const rssEndBytes = process.memoryUsage().rss;
  const interrupted = opts.signal?.aborted ?? false;

  // Counted before the dashboard's finish: --expire deletes old raw rows.
  const rowsAfter = await countRowsWithRetry(url, 30_000, sites);
  // The dashboard side never costs the run its results: a failure here becomes a note.
  let dashFailure: string | null = null;
  const dash = dashboard
    ? await dashboard.finish().catch((err: unknown) => {
      dashFailure = `rollup audit, probes and freshness not reported: ${err instanceof Error ? err.message : String(err)}`;
      return null;
    })
    : null;
  const rowsInTable = rowsAfter === null ? null : rowsAfter - rowsBefore;

  const agg = load.aggregator;
  const m = agg.measure.counters;
  const w = agg.warmup.counters;
  const measureRows = intervals.filter((r) => r.phase === 'measure');
  const measureMs = measureRows.reduce((a, r) => a + (r.endMs - r.startMs), 0);
  // The achieved rate is over the scheduled measure window (ops finishing just after the end still count).
  const windowS = interrupted && measureMs > 0 ? measureMs / 1000 : config.durationMs / 1000;
  const achievedRateHz = m.rows / windowS;
  // With --instance i/N this run's target is its share; `merge` adds the shares back up.
  const targetRateHz = config.rateHz === 'max' ? null : config.rateHz / (config.instance?.count ?? 1);
  const cpuCoresMean = measureMs > 0 ? measureCpuUs / (measureMs * 1000) : 0;
  const eluMeans = agg.measureElu.map((s) => (s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0));

  const invalidReasons = selfCheck({
    targetRowsHz: targetRateHz,
    achievedRowsHz: achievedRateHz,
    workerElu: agg.measureElu,
    loopDelayP99Us: load.measureLoopDelayP99Us,
    cpuCoresMean,
    cores: os.cpus().length,
    interrupted,
    timerLagP99Us: agg.measure.lagParts.timerLag.totalCount > 0 ? summarize(agg.measure.lagParts.timerLag).p99Us : null,
    lateThresholdUs: config.lateThresholdMs * 1000,
  });
  for (const f of load.workerFailures) invalidReasons.push(f);

  const errorsBySqlstate: Record<string, number> = { ...w.errors };
  for (const [k, v] of Object.entries(m.errors)) errorsBySqlstate[k] = (errorsBySqlstate[k] ?? 0) + v;
  const errors = errorCount(m) + errorCount(w);
  const reconnects = intervals.reduce((a, r) => a + r.reconnects, 0);
  const acked = m.rows + w.rows;
  const notes: string[] = [];
  if (errors > 0) notes.push(`${errors} operations failed (by SQLSTATE: ${Object.entries(errorsBySqlstate).map(([k, v]) => `${k}=${v}`).join(', ')}); ${reconnects} reconnects`);
  if (rowsInTable === null) notes.push('rows in table could not be counted: the server did not come back within 30 s');
  else if (rowsInTable !== acked) {
    notes.push(
      rowsInTable > acked
        ? `${rowsInTable - acked} rows are in the table but were never acknowledged (committed before a connection was lost, or another writer)`
        : `${acked - rowsInTable} acknowledged rows are missing from the table`,
    );
  }
  if (interrupted) notes.push('interrupted: the measure phase was cut short');
  if (dash) notes.push(...dash.notes);
  if (dashFailure) notes.push(dashFailure);

  const summary: Summary = {
    formatVersion: RESULT_FORMAT_VERSION,
    runId: opts.runId,
    valid: invalidReasons.length === 0,
    invalidReasons,
    notes,
    durationMs: config.durationMs,
    ingest: {
      targetRateHz,
      achievedRateHz,
      acked,
      ackedMeasure: m.rows,
      rowsInTable,
      operations: m.ops,
      late: m.late,
      dropped: m.dropped,
      unfinished: load.unfinished,
      errorsBySqlstate,
      errors,
      reconnects,
      response: summarize(agg.measure.histograms.response),
      service: summarize(agg.measure.histograms.service),
      lag: summarize(agg.measure.histograms.lag),
      timerLag: summarize(agg.measure.lagParts.timerLag),
      connectionWait: summarize(agg.measure.lagParts.connectionWait),
      pipeline: config.pipeline,
      warmup: { rows: w.rows, errors: errorCount(w), response: summarize(agg.warmup.histograms.response) },
    },
    ...(dash ? {
      ...dash.summary,
      audit: { ...dash.summary.audit, acked, rowsInTable },
    } : {}),
    client: {
      cpuUsPerRow: m.rows > 0 ? measureCpuUs / m.rows : null,
      cpuCoresMean,
      maxWorkerEluMean: Math.max(0, ...eluMeans),
      loopDelayP99MaxUs: Math.max(0, ...load.measureLoopDelayP99Us),
      rssStartBytes,
      rssEndBytes,
    },
  };

  const cpus = os.cpus();
  return {
    run: {
      formatVersion: RESULT_FORMAT_VERSION,
      runId: opts.runId,
      startedAt,
      finishedAt: new Date().toISOString(),
      config: { ...config, url: config.url === undefined ? undefined : maskUrl(config.url) },
      seed: config.seed,
      target: { kind: opts.targetKind, url: maskUrl(url) },
      gitRevision: await gitRevision(),
      gitBranch: await gitBranch(),
      versions: { rtbench: RTBENCH_VERSION, node: process.version, pg: versionOf('pg'), hdrHistogramJs: versionOf('hdr-histogram-js') },
      server,
      ...(citus ? { citus } : {}),
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
      machine: {
        hostname: os.hostname(),
        platform: os.platform(),
        release: os.release(),
        arch: os.arch(),
        cpus: cpus.length,
        cpuModel: cpus[0]?.model ?? 'unknown',
        memoryBytes: os.totalmem(),
      },
    },
    summary,
    histograms: {
      'ingest-response': agg.measure.histograms.response,
      'ingest-service': agg.measure.histograms.service,
      'ingest-lag': agg.measure.histograms.lag,
      'ingest-timer-lag': agg.measure.lagParts.timerLag,
      'ingest-connection-wait': agg.measure.lagParts.connectionWait,
      'warmup-response': agg.warmup.histograms.response,
      ...(dash?.histograms ?? {}),
    },
    intervals,
    startEpochMs: load.startEpochMs,
    kinds: KINDS,
  };
}
