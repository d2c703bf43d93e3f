/**
 * From a step's aggregates and counters to its Summary. Pure: no I/O, no
 * clock; the step runner gathers the inputs and this module decides what they
 * mean (the self-check, acked vs rows in table, the notes).
 */
import { errorCount, type Aggregator, type IntervalRow } from '../metrics/aggregate.js';
import { summarize, type Histogram } from '../metrics/histogram.js';
import { availabilitySummary, describeOutage } from '../metrics/availability.js';
import { loopDelayNotes, selfCheck, type SelfCheckInput } from '../metrics/self-check.js';
import { clientTail, clientTailNotes } from '../metrics/client-tail.js';
import { RESULT_FORMAT_VERSION, type DashboardSummary, type ServerSummary, type Summary } from '../results/run-record.js';
import type { RunConfig } from '../config/types.js';
import type { StepContribution } from './observer.js';

/** Everything a step measured, as numbers. */
export interface StepAggregates {
  readonly config: RunConfig;
  readonly runId: string;
  /** Completed intervals, warm-up and measure. */
  readonly intervals: readonly IntervalRow[];
  readonly aggregator: Aggregator;
  /** Operations still in flight when the workers gave up waiting for them. */
  readonly unfinished: number;
  readonly workerFailures: readonly string[];
  /** Per worker: p99 event-loop delay over the measure phase, µs. */
  readonly measureLoopDelayP99Us: readonly number[];
  /** Per worker: p50 of the same, µs (absent: not measured). */
  readonly measureLoopDelayP50Us?: readonly number[];
  readonly interrupted: boolean;
  /** The step was ended early on purpose (decided): figures are over the time it ran, not marked interrupted. */
  readonly endedEarly?: boolean;
  /** Rows this step added to http_request (this instance's sites); null when they could not be counted. */
  readonly rowsInTable: number | null;
  /** Client CPU over the measure phase, µs (user + system, whole process). */
  readonly measureCpuUs: number;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
  readonly cores: number;
  /** The dashboard's share of the summary (rollup, probes, freshness, audit…), when it ran. */
  readonly dashboard?: { readonly summary: DashboardSummary; readonly notes: readonly string[] } | null;
  /** A note when the dashboard side failed (its results are then missing). */
  readonly dashboardFailure?: string | null;
  /** What other observers added. */
  readonly contributions?: readonly StepContribution[];
}

/** The target rate of this instance (its share with --instance i/N), rows/s; null for a closed loop. */
export function targetRateOf(config: RunConfig): number | null {
  return config.rateHz === 'max' ? null : config.rateHz / (config.instance?.count ?? 1);
}

/** A step's summary.json. */
export function buildSummary(a: StepAggregates): Summary {
  const { config, aggregator: agg } = a;
  const m = agg.measure.counters;
  const w = agg.warmup.counters;
  const measureRows = a.intervals.filter((r) => r.phase === 'measure');
  const measureMs = measureRows.reduce((acc, r) => acc + (r.endMs - r.startMs), 0);
  // The achieved rate is over the scheduled measure window (ops finishing just after the end still count).
  const short = (a.interrupted || a.endedEarly === true) && measureMs > 0;
  const windowS = short ? measureMs / 1000 : config.durationMs / 1000;
  const achievedRateHz = m.rows / windowS;
  // With --instance i/N this run's target is its share; `merge` adds the shares back up.
  const targetRateHz = targetRateOf(config);
  const cpuCoresMean = measureMs > 0 ? a.measureCpuUs / (measureMs * 1000) : 0;
  const eluMeans = agg.measureElu.map((s) => (s.length ? s.reduce((x, y) => x + y, 0) / s.length : 0));

  const response = summarize(agg.measure.histograms.response);
  const service = summarize(agg.measure.histograms.service);
  const lag = summarize(agg.measure.histograms.lag);
  const timerLag = summarize(agg.measure.lagParts.timerLag);
  // Open loop only: a closed loop has no due times (response = service).
  const tail = targetRateHz === null || response.count === 0 ? null : clientTail({ response, service, lag, timerLag });
  const selfInput: SelfCheckInput = {
    targetRowsHz: targetRateHz,
    achievedRowsHz: achievedRateHz,
    workerElu: agg.measureElu,
    loopDelayP99Us: a.measureLoopDelayP99Us,
    ...(a.measureLoopDelayP50Us ? { loopDelayP50Us: a.measureLoopDelayP50Us } : {}),
    responseP50Us: response.count > 0 ? response.p50Us : null,
    responseP99Us: response.count > 0 ? response.p99Us : null,
    cpuCoresMean,
    cores: a.cores,
    interrupted: a.interrupted,
    timerLagP99Us: agg.measure.lagParts.timerLag.totalCount > 0 ? summarize(agg.measure.lagParts.timerLag).p99Us : null,
    lateThresholdUs: config.lateThresholdMs * 1000,
    warmupMs: config.warmupMs,
    localServerCpuPressure: localServerCpuPressure(a.contributions),
    clientTail: tail,
  };
  const invalidReasons = selfCheck(selfInput);
  for (const f of a.workerFailures) invalidReasons.push(f);
  for (const c of a.contributions ?? []) invalidReasons.push(...(c.invalidReasons ?? []));

  const errorsBySqlstate: Record<string, number> = { ...w.errors };
  for (const [k, v] of Object.entries(m.errors)) errorsBySqlstate[k] = (errorsBySqlstate[k] ?? 0) + v;
  const errors = errorCount(m) + errorCount(w);
  const reconnects = a.intervals.reduce((acc, r) => acc + r.reconnects, 0);
  const acked = m.rows + w.rows;
  const { rowsInTable } = a;
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
  if (a.interrupted) notes.push('interrupted: the measure phase was cut short');
  const availability = availabilitySummary(a.intervals);
  for (const o of availability.outages) {
    const back = o.recoveryMs === null ? (o.endMs === null ? '' : '; the rate did not come back to target within the step') : `; the rate was back at target ${(o.recoveryMs / 1000).toFixed(1)} s after (to the interval)`;
    notes.push(`${describeOutage(o)}${back}`);
  }
  const censored = censoredSummary(agg.measure.censored);
  if (censored.count > 0) {
    notes.push(`${censored.count} operations fell due while no connection was up and were never sent: censored, their response would have been ≥ ${ms(censored.atLeastMinUs)}` +
      `${censored.atLeastMaxUs > censored.atLeastMinUs ? ` (up to ≥ ${ms(censored.atLeastMaxUs)})` : ''}; not in the percentiles`);
  }
  if (a.unfinished > 0) notes.push(`${a.unfinished} operations were still unanswered 30 s after the schedule ended: unfinished, not in the percentiles`);
  if (tail) notes.push(...clientTailNotes(tail));
  notes.push(...loopDelayNotes(selfInput));
  if (a.dashboard) notes.push(...a.dashboard.notes);
  if (a.dashboardFailure) notes.push(a.dashboardFailure);
  for (const c of a.contributions ?? []) notes.push(...(c.notes ?? []));

  const extra: Record<string, unknown> = {};
  for (const c of a.contributions ?? []) Object.assign(extra, c.summary ?? {});
  const dash = a.dashboard;
  return {
    ...extra,
    formatVersion: RESULT_FORMAT_VERSION,
    runId: a.runId,
    valid: invalidReasons.length === 0,
    invalidReasons,
    notes,
    durationMs: a.endedEarly === true && measureMs > 0 ? measureMs : config.durationMs,
    ingest: {
      targetRateHz,
      achievedRateHz,
      acked,
      ackedMeasure: m.rows,
      rowsInTable,
      operations: m.ops,
      late: m.late,
      dropped: m.dropped,
      unfinished: a.unfinished,
      errorsBySqlstate,
      errors,
      reconnects,
      response,
      service,
      lag,
      timerLag,
      connectionWait: summarize(agg.measure.lagParts.connectionWait),
      pipeline: config.pipeline,
      censored,
      warmup: { rows: w.rows, errors: errorCount(w), response: summarize(agg.warmup.histograms.response) },
    },
    ...(availability.outages.length > 0 || availability.errorsOverTime.length > 0 ? { availability } : {}),
    ...(dash ? {
      ...dash.summary,
      audit: { ...dash.summary.audit, acked, rowsInTable },
    } : {}),
    client: {
      cpuUsPerRow: m.rows > 0 ? a.measureCpuUs / m.rows : null,
      cpuCoresMean,
      maxWorkerEluMean: Math.max(0, ...eluMeans),
      loopDelayP99MaxUs: Math.max(0, ...a.measureLoopDelayP99Us),
      ...(a.measureLoopDelayP50Us ? { loopDelayP50MaxUs: Math.max(0, ...a.measureLoopDelayP50Us) } : {}),
      rssStartBytes: a.rssStartBytes,
      rssEndBytes: a.rssEndBytes,
    },
  } as Summary;
}

/** CPU pressure over the measure phase when the server sampler found the server on this host (its `server.machine`). */
function localServerCpuPressure(contributions: readonly StepContribution[] | undefined): number | null {
  for (const c of contributions ?? []) {
    const server = (c.summary as { server?: ServerSummary } | undefined)?.server;
    if (server?.machine?.cpuPressure != null) return server.machine.cpuPressure;
  }
  return null;
}

/** "1.53 s" / "12.0 ms" */
function ms(us: number): string {
  return us >= 1_000_000 ? `${(us / 1e6).toFixed(2)} s` : `${(us / 1000).toFixed(1)} ms`;
}

/**
 * Operations that were never sent because no connection was up, shown beside the percentiles
 * rather than in them: each one's response is only known to be at least its wait (due → a
 * connection back), so folding the bound into the histogram would understate it.
 */
export function censoredSummary(h: Histogram): { count: number; atLeastMinUs: number; atLeastP50Us: number; atLeastMaxUs: number } {
  if (h.totalCount === 0) return { count: 0, atLeastMinUs: 0, atLeastP50Us: 0, atLeastMaxUs: 0 };
  return { count: h.totalCount, atLeastMinUs: h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue, atLeastP50Us: h.getValueAtPercentile(50), atLeastMaxUs: h.maxValue };
}
