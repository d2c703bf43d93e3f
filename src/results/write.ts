/**
 * Writes and reads results/<run-id>/. A run streams into its dir as it goes
 * (stream.ts); at the end completeRunDir writes every final file whole (temp
 * file, fsync, rename) and run.json, with its status, last. A dir made at once
 * (merge, capacity steps) is written into a hidden temp directory next to it,
 * each file fsynced, then the directory is renamed into place (writeRunDir).
 */
import { lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HistogramLogWriter } from 'hdr-histogram-js';
import { stringify } from 'csv-stringify/sync';
import { UsageError } from '../errors.js';
import { decodeHistogram, encodeHistogram, toHgrm, type Histogram } from '../metrics/histogram.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import { maskSecrets } from '../targets/url.js';
import { reportHtml } from '../report/html.js';
import { reportMarkdown } from '../report/markdown.js';
import { fsyncDir, randomSuffix, writeFileAtomic, writeFileSynced } from './atomic.js';
import { RESULT_FORMAT_VERSION, type RunInfo, type RunRecord, type RunStatus, type Summary } from './run-record.js';

/** Names usable as one path component: no separators, not hidden, not `.`/`..`. */
export const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Pretty JSON with a trailing newline; every string passes through maskSecrets (defence in depth). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? maskSecrets(v) : v), 2) + '\n';
}

/**
 * The HdrHistogram interval log: one line per interval and kind, tagged with the
 * kind, timestamps in seconds relative to the schedule start. Values are µs.
 */
export function toIntervalLog(record: RunRecord): string {
  const chunks: string[] = [];
  const writer = new HistogramLogWriter((s) => {
    chunks.push(s);
  });
  writer.outputLogFormatVersion();
  writer.outputStartTime(record.startEpochMs);
  writer.outputComment(`rtbench run ${record.run.runId}`);
  writer.outputComment('values are microseconds; Interval_Max is in milliseconds; Tag is the kind (response, service, lag)');
  const firstMeasure = record.intervals.find((r) => r.phase === 'measure');
  if (firstMeasure) writer.outputComment(`measure phase from ${(firstMeasure.startMs / 1000).toFixed(3)} s; earlier intervals are warm-up`);
  writer.outputLegend();
  for (const row of record.intervals) {
    for (const kind of record.kinds) {
      const h = decodeHistogram(row.encoded[kind]);
      h.tag = kind;
      writer.outputIntervalHistogram(h, row.startMs / 1000, row.endMs / 1000, 1000);
    }
  }
  return chunks.join('');
}

export const TIMESERIES_COLUMNS = [
  'index',
  'phase',
  'start_s',
  'end_s',
  'target_rows_per_s',
  'achieved_rows_per_s',
  'rows',
  'ops',
  'response_p50_us',
  'response_p99_us',
  'service_p99_us',
  'lag_p99_us',
  'errors',
  'late',
  'dropped',
  'connections_up',
  'reconnects',
  'max_worker_elu',
  'loop_delay_p99_us',
  'cpu_cores',
  'rss_mb',
  'unavailable_ms',
] as const;

/** timeseries.csv: a header and one line per interval row. */
export function toTimeseriesCsv(rows: readonly IntervalRow[]): string {
  return stringify([[...TIMESERIES_COLUMNS], ...rows.map(timeseriesFields)]);
}

/** One interval's line of timeseries.csv (the streamed file appends these). */
export function toTimeseriesLine(r: IntervalRow): string {
  return stringify([timeseriesFields(r)]);
}

function timeseriesFields(r: IntervalRow): Array<string | number> {
  return [
      r.index,
      r.phase,
      (r.startMs / 1000).toFixed(3),
      (r.endMs / 1000).toFixed(3),
      r.targetRowsHz === null ? '' : r.targetRowsHz,
      r.achievedRowsHz.toFixed(2),
      r.rows,
      r.ops,
      r.responseP50Us,
      r.responseP99Us,
      r.serviceP99Us,
      r.lagP99Us,
      r.errors,
      r.late,
      r.dropped,
      r.connectionsUp,
      r.reconnects,
      r.maxWorkerElu.toFixed(3),
      r.maxLoopDelayP99Us,
      r.cpuCores.toFixed(3),
      (r.rssBytes / 1048576).toFixed(1),
      Math.round(r.unavailableMs ?? 0),
  ];
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Write a complete run directory `<resultsDir>/<runId>` atomically and return its
 * path. Files: run.json, summary.json, one `<name>.hgrm` per histogram (ms),
 * intervals.hlog (µs), timeseries.csv, report.md and report.html. Fails with a UsageError if the run
 * directory already exists; on any failure nothing is left behind.
 */
export async function writeRunDir(resultsDir: string, record: RunRecord): Promise<string> {
  const runId = record.run.runId;
  if (!SAFE_NAME.test(runId)) throw new UsageError(`run id ${JSON.stringify(runId)}: must be one path component of letters, digits, '.', '_' or '-'`);
  checkNames(record);
  const finalDir = join(resultsDir, runId);
  await mkdir(resultsDir, { recursive: true });
  if (await exists(finalDir)) throw new UsageError(`results dir ${resultsDir}: run ${runId} already exists`);

  const tmpDir = join(resultsDir, `.tmp-${runId}-${randomSuffix()}`);
  await mkdir(tmpDir);
  try {
    const subDirs = new Set<string>();
    for (const [rel, text] of [['run.json', toJson(record.run)] as const, ...finalFiles(record)]) {
      const parts = rel.split('/');
      if (parts.length === 2 && !subDirs.has(parts[0]!)) {
        subDirs.add(parts[0]!);
        await mkdir(join(tmpDir, parts[0]!));
      }
      await writeFileSynced(join(tmpDir, rel), text);
    }
    for (const d of subDirs) await fsyncDir(join(tmpDir, d));
    await fsyncDir(tmpDir);
    // rename() would silently replace an empty directory created meanwhile; check again.
    if (await exists(finalDir)) throw new UsageError(`results dir ${resultsDir}: run ${runId} already exists`);
    await rename(tmpDir, finalDir);
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(resultsDir);
  return finalDir;
}

/** The files of a complete run dir other than run.json, by relative path, in writing order. */
function finalFiles(record: RunRecord): Array<readonly [string, string]> {
  const files: Array<readonly [string, string]> = [['summary.json', toJson(record.summary)]];
  for (const [name, h] of Object.entries(record.histograms)) files.push([`${name}.hgrm`, toHgrm(h)]);
  // The same histograms, mergeable: .hgrm text cannot be added up, these can (merge, compare).
  files.push(['histograms.json', toJson(Object.fromEntries(Object.entries(record.histograms).map(([name, h]) => [name, encodeHistogram(h)])))]);
  files.push(['intervals.hlog', toIntervalLog(record)], ['timeseries.csv', toTimeseriesCsv(record.intervals)]);
  files.push(['report.md', reportMarkdown(record)], ['report.html', reportHtml(record)]);
  // Observers' files (server.csv, plans/…).
  for (const [rel, text] of Object.entries(record.files ?? {})) files.push([rel, maskSecrets(text)]);
  return files;
}

function checkNames(record: RunRecord): void {
  for (const name of Object.keys(record.histograms)) {
    if (!SAFE_NAME.test(name)) throw new Error(`histogram name ${JSON.stringify(name)} is not a safe file name`);
  }
  for (const rel of Object.keys(record.files ?? {})) {
    if (!rel.split('/').every((part) => SAFE_NAME.test(part)) || rel.split('/').length > 2) {
      throw new Error(`extra file ${JSON.stringify(rel)} is not a safe relative path`);
    }
  }
}

/**
 * Complete a run dir that results were streamed into (see stream.ts): every final file is
 * written whole (temp file, fsync, rename; intervals.hlog and timeseries.csv replace their
 * streamed versions the same way), and run.json, with `status`, last. A crash or a full disk
 * midway leaves run.json saying `running`: readers then recover the dir from the streamed
 * intervals, never read half a set. Returns `dir`.
 */
export async function completeRunDir(dir: string, record: RunRecord, status: Exclude<RunStatus, 'running'>, extra: Record<string, unknown> = {}): Promise<string> {
  checkNames(record);
  const subDirs = new Set<string>();
  for (const [rel, text] of finalFiles(record)) {
    const parts = rel.split('/');
    if (parts.length === 2 && !subDirs.has(parts[0]!)) {
      subDirs.add(parts[0]!);
      await mkdir(join(dir, parts[0]!), { recursive: true });
    }
    await writeFileAtomic(join(dir, rel), text);
  }
  await writeFileAtomic(join(dir, 'run.json'), toJson({ ...record.run, ...extra, status }));
  return dir;
}

async function readJsonObject(dir: string, file: string): Promise<Record<string, unknown>> {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : 'unreadable';
    throw new UsageError(`${dir}: not an rtbench run directory (${file}: ${code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${path}: invalid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${path}: not a JSON object`);
  const obj = parsed as Record<string, unknown>;
  if (typeof obj['formatVersion'] !== 'number' || typeof obj['runId'] !== 'string') {
    throw new UsageError(`${path}: missing formatVersion or runId`);
  }
  if (obj['formatVersion'] > RESULT_FORMAT_VERSION) {
    throw new UsageError(`${path}: format version ${obj['formatVersion']} is newer than this rtbench understands (${RESULT_FORMAT_VERSION})`);
  }
  return obj;
}

/** Read run.json and summary.json of a run directory; UsageError if missing or invalid. */
export async function readRunDir(dir: string): Promise<{ run: RunInfo; summary: Summary }> {
  const run = await readJsonObject(dir, 'run.json');
  const summary = await readJsonObject(dir, 'summary.json');
  if (typeof summary['valid'] !== 'boolean' || summary['ingest'] === null || typeof summary['ingest'] !== 'object') {
    throw new UsageError(`${join(dir, 'summary.json')}: missing valid or ingest`);
  }
  if (run['runId'] !== summary['runId']) {
    throw new UsageError(`${dir}: run.json and summary.json name different runs (${String(run['runId'])} vs ${String(summary['runId'])})`);
  }
  return { run: run as unknown as RunInfo, summary: summary as unknown as Summary };
}

const errCode = (err: unknown): string => (err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err));

/** histograms.json of a run dir: name -> histogram; null if the file is absent (older runs). @throws Error naming the problem. */
export async function readHistograms(dir: string): Promise<Record<string, Histogram> | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'histograms.json'), 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw new Error(`histograms.json: ${errCode(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('histograms.json: invalid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('histograms.json: not a JSON object');
  const out: Record<string, Histogram> = {};
  for (const [name, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new Error(`histograms.json: ${name} is not an encoded histogram`);
    try {
      out[name] = decodeHistogram(v);
    } catch {
      throw new Error(`histograms.json: ${name} does not decode`);
    }
  }
  return out;
}
