/**
 * Recovering a run dir whose load generator died (kill -9, the OOM killer, an evicted pod)
 * while results streamed into it (stream.ts): the summary, histograms and reports are rebuilt
 * from the intervals that reached the disk, the run is marked `valid: false` with the reason,
 * and run.json says `status: "recovered"`. A dir whose owner still lives is refused.
 */
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { KINDS, derivedFigures, type IntervalRow, type Kind } from '../metrics/aggregate.js';
import { decodeHistogram, summarize, type Histogram } from '../metrics/histogram.js';
import { readInstanceIntervals, sumPhase, type InstanceInterval } from '../merge/intervals.js';
import { processAlive } from '../targets/watchdog.js';
import { completeRunDir, readRunDir } from './write.js';
import { RESULT_FORMAT_VERSION, type RunInfo, type RunRecord, type RunRecovered, type Summary } from './run-record.js';

/** A run dir streamed from another host counts as abandoned when its interval log is this much older than now, ms. */
export const FOREIGN_STALE_MS = 30_000;

/** Text up to and including its last newline: a line torn by the crash is dropped. */
function wholeLines(text: string): string {
  const i = text.lastIndexOf('\n');
  return i < 0 ? '' : text.slice(0, i + 1);
}

/**
 * The streamed intervals that are whole in both files. A time-series row whose histograms did
 * not reach the log (the crash fell between the two writes) is dropped, as is a torn last line.
 */
export function readStreamedIntervals(hlogText: string, csvText: string): { intervals: InstanceInterval[]; startEpochMs: number | null } {
  const hlog = wholeLines(hlogText);
  const csvLines = wholeLines(csvText).split('\n').filter((l) => l !== '');
  for (let keep = csvLines.length; keep >= 1; keep--) {
    try {
      const r = readInstanceIntervals(hlog, csvLines.slice(0, keep).join('\n') + '\n');
      return { intervals: [...r.intervals], startEpochMs: r.startEpochMs };
    } catch (err) {
      if (keep === 1) throw err;
    }
  }
  return { intervals: [], startEpochMs: null };
}

export interface RecoverFacts {
  /** run.json as streamed (status running). */
  readonly run: RunInfo;
  readonly intervals: readonly InstanceInterval[];
  /** The interval log's StartTime (schedule origin), ms since the epoch. */
  readonly startEpochMs: number | null;
  /** Rows of the run's sites in the table now, when the target could be asked; null otherwise. */
  readonly rowsNow: number | null;
  /** Why rows could not be counted (embedded target gone, no --url). */
  readonly rowsNote?: string;
  readonly nowMs: number;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * The record of a recovered run: its intervals as streamed, the measure-phase histograms added
 * up from them, counters summed, valid: false with the reason. Pure.
 */
export function recoveredRecord(f: RecoverFacts): { record: RunRecord; recovered: RunRecovered; line: string } {
  const { run } = f;
  const cfg = run.config as Record<string, unknown>;
  const instance = cfg['instance'] as { count?: number } | null | undefined;
  const rateHz = cfg['rateHz'];
  const durationMs = typeof cfg['durationMs'] === 'number' ? cfg['durationMs'] : 0;
  const warmupMs = typeof cfg['warmupMs'] === 'number' ? cfg['warmupMs'] : 0;
  const intervalMs = run.recovery?.intervalMs ?? 1000;
  const planned = run.recovery?.plannedIntervals ?? Math.ceil((warmupMs + durationMs) / intervalMs);
  const startEpochMs = f.startEpochMs ?? Date.parse(run.startedAt);
  const rows: IntervalRow[] = f.intervals.map((r) => {
    const hs = Object.fromEntries(KINDS.map((k) => [k, decodeHistogram(r.encoded[k])])) as Record<Kind, Histogram>;
    return { ...r, ...derivedFigures(hs, r.rows, r.startMs, r.endMs) };
  });
  const last = rows[rows.length - 1];
  const stoppedAtMs = last ? startEpochMs + last.endMs : Date.parse(run.startedAt);
  const stoppedAt = new Date(stoppedAtMs).toISOString();
  const reason = `interrupted: the load generator stopped at ${stoppedAt}; last interval ${last?.index ?? 0} of ${planned}`;

  const measure = rows.filter((r) => r.phase === 'measure');
  const warm = rows.filter((r) => r.phase === 'warmup');
  const measureMs = sum(measure.map((r) => r.endMs - r.startMs));
  const mRows = sum(measure.map((r) => r.rows));
  const acked = sum(rows.map((r) => r.rows));
  const errors = sum(rows.map((r) => r.errors));
  const targetRateHz = typeof rateHz === 'number' ? rateHz / (instance?.count ?? 1) : null;
  const rowsAtStart = run.recovery?.rowsAtStart ?? null;
  const rowsInTable = f.rowsNow !== null && rowsAtStart !== null ? f.rowsNow - rowsAtStart : null;

  const notes: string[] = [
    `recovered by rtbench recover at ${new Date(f.nowMs).toISOString()} from ${rows.length} streamed intervals of ${planned} ` +
    `(${(measureMs / 1000).toFixed(0)} s of the ${(durationMs / 1000).toFixed(0)} s measure phase)`,
    'not streamed, so not in this summary: errors by SQLSTATE, the lag split by cause, and the dashboard (rollup, probes, freshness, audit)',
  ];
  if (rowsInTable === null) {
    const why = f.rowsNow !== null && rowsAtStart === null ? 'the rows at this step\'s start were not recorded (a later step of a session)' : f.rowsNote ?? 'the target was not asked';
    notes.push(`rows in table not counted: ${why}`);
  } else if (rowsInTable > acked) {
    notes.push(`${rowsInTable - acked} rows are in the table beyond the ${acked} acknowledged up to the last durable interval: unknown (sent after it), not lost`);
  } else if (rowsInTable < acked) {
    notes.push(`${acked - rowsInTable} rows acknowledged up to the last durable interval are missing from the table`);
  } else {
    notes.push(`all ${acked} rows acknowledged up to the last durable interval are in the table`);
  }
  const h = (phase: 'warmup' | 'measure', kind: Kind): Histogram => sumPhase(f.intervals, phase, kind);
  const histograms: Record<string, Histogram> = {
    'ingest-response': h('measure', 'response'),
    'ingest-service': h('measure', 'service'),
    'ingest-lag': h('measure', 'lag'),
    'warmup-response': h('warmup', 'response'),
  };
  const cpuUs = sum(measure.map((r) => r.cpuCores * (r.endMs - r.startMs) * 1000));
  const summary: Summary = {
    formatVersion: RESULT_FORMAT_VERSION,
    runId: run.runId,
    valid: false,
    invalidReasons: [reason],
    notes,
    durationMs,
    ingest: {
      targetRateHz,
      achievedRateHz: measureMs > 0 ? mRows / (measureMs / 1000) : 0,
      acked,
      ackedMeasure: mRows,
      rowsInTable,
      operations: sum(measure.map((r) => r.ops)),
      late: sum(measure.map((r) => r.late)),
      dropped: sum(measure.map((r) => r.dropped)),
      unfinished: 0,
      errorsBySqlstate: {},
      errors,
      reconnects: sum(rows.map((r) => r.reconnects)),
      response: summarize(histograms['ingest-response']!),
      service: summarize(histograms['ingest-service']!),
      lag: summarize(histograms['ingest-lag']!),
      warmup: { rows: sum(warm.map((r) => r.rows)), errors: sum(warm.map((r) => r.errors)), response: summarize(histograms['warmup-response']!) },
    },
    client: {
      cpuUsPerRow: mRows > 0 ? cpuUs / mRows : null,
      cpuCoresMean: measureMs > 0 ? cpuUs / (measureMs * 1000) : 0,
      maxWorkerEluMean: measure.length ? sum(measure.map((r) => r.maxWorkerElu)) / measure.length : 0,
      loopDelayP99MaxUs: Math.max(0, ...measure.map((r) => r.maxLoopDelayP99Us)),
      rssStartBytes: measure[0]?.rssBytes ?? 0,
      rssEndBytes: last?.rssBytes ?? 0,
    },
  };
  const recovered: RunRecovered = {
    at: new Date(f.nowMs).toISOString(),
    reason,
    intervals: rows.length,
    plannedIntervals: planned,
    measureS: measureMs / 1000,
    plannedMeasureS: durationMs / 1000,
  };
  const record: RunRecord = {
    run: { ...run, finishedAt: stoppedAt, recovered },
    summary,
    histograms,
    intervals: rows,
    startEpochMs,
    kinds: KINDS,
  };
  const line = `recovered ${run.runId}: ${rows.length} of ${planned} intervals (${(measureMs / 1000).toFixed(0)} s of ${(durationMs / 1000).toFixed(0)} s measured, ` +
    `${acked} rows acknowledged${rowsInTable === null ? '' : `, ${rowsInTable} in the table`}); the load generator stopped at ${stoppedAt}; marked invalid`;
  return { record, recovered, line };
}

async function readRunJson(dir: string): Promise<RunInfo> {
  let text: string;
  try {
    text = await readFile(join(dir, 'run.json'), 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : 'unreadable';
    throw new UsageError(`${dir}: not an rtbench run directory (run.json: ${code})`);
  }
  try {
    return JSON.parse(text) as RunInfo;
  } catch {
    throw new UsageError(`${join(dir, 'run.json')}: invalid JSON`);
  }
}

/**
 * Why a `running` dir is not abandoned, in one line; null when its owner is gone (same host: the
 * pid is dead; another host: nothing was streamed for {@link FOREIGN_STALE_MS}).
 */
export async function liveOwner(dir: string, run: RunInfo, nowMs: number = Date.now()): Promise<string | null> {
  const owner = run.owner;
  if (!owner) return null;
  if (owner.host === os.hostname()) {
    // This very process never reads its own run dir as live (tests recover dirs they streamed).
    return processAlive(owner.pid) && owner.pid !== process.pid ? `${dir}: run ${run.runId} is still running (rtbench pid ${owner.pid}); wait for it, or recover it once that process is gone` : null;
  }
  const mtimeMs = await stat(join(dir, 'intervals.hlog')).then((s) => s.mtimeMs, () => 0);
  if (nowMs - mtimeMs < FOREIGN_STALE_MS) {
    return `${dir}: run ${run.runId} may still be running on host ${owner.host} (streamed ${((nowMs - mtimeMs) / 1000).toFixed(0)} s ago); recover it once ${FOREIGN_STALE_MS / 1000} s have passed without a write`;
  }
  return null;
}

export interface RecoverOptions {
  /** Count the rows of the run's sites in the target now; null when it cannot be asked. */
  readonly countRows?: (sites: { offset: number; count: number }) => Promise<number | null>;
  /** Why rows are not counted, when countRows is absent. */
  readonly rowsNote?: string;
  readonly nowMs?: number;
}

/**
 * Recover `dir` in place: rebuild its final files from the streamed intervals and mark it
 * invalid. @throws UsageError when the dir is not a running one, or its owner still lives.
 */
export async function recoverRunDir(dir: string, opts: RecoverOptions = {}): Promise<{ record: RunRecord; line: string }> {
  const run = await readRunJson(dir);
  if (run.status !== 'running') {
    throw new UsageError(`${dir}: run ${String(run.runId)} is ${run.status ?? 'finished'}: nothing to recover`);
  }
  const nowMs = opts.nowMs ?? Date.now();
  const live = await liveOwner(dir, run, nowMs);
  if (live) throw new UsageError(live);
  const [hlog, csv] = await Promise.all(['intervals.hlog', 'timeseries.csv'].map((f) => readFile(join(dir, f), 'utf8').catch(() => '')));
  let streamed: ReturnType<typeof readStreamedIntervals>;
  try {
    streamed = readStreamedIntervals(hlog ?? '', csv ?? '');
  } catch (err) {
    throw new UsageError(`${dir}: the streamed intervals do not read back (${err instanceof Error ? err.message : String(err)})`);
  }
  let rowsNow: number | null = null;
  let rowsNote = opts.rowsNote;
  if (opts.countRows && run.recovery) {
    try {
      rowsNow = await opts.countRows(run.recovery.sites);
    } catch (err) {
      rowsNote = `the target did not answer (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  const { record, line } = recoveredRecord({ run, intervals: streamed.intervals, startEpochMs: streamed.startEpochMs, rowsNow, ...(rowsNote ? { rowsNote } : {}), nowMs });
  await completeRunDir(dir, record, 'recovered');
  return { record, line };
}

/**
 * readRunDir for the tools that read run dirs (compare, check, merge, history add, export): a
 * dir still `running` whose owner is gone is recovered first, and the one line saying so is
 * returned; one whose owner lives is refused (UsageError).
 */
export async function readRunDirRecovering(dir: string): Promise<Awaited<ReturnType<typeof readRunDir>> & { recoveredLine: string | null }> {
  let recoveredLine: string | null = null;
  const run = await readRunJson(dir).catch(() => null);
  if (run?.status === 'running') {
    const target = run.target?.kind === 'url' ? 'its target was not asked for the rows in the table (rtbench recover DIR --url URL counts them)' : 'its throwaway database is gone';
    ({ line: recoveredLine } = await recoverRunDir(dir, { rowsNote: target }));
  }
  return { ...(await readRunDir(dir)), recoveredLine };
}
