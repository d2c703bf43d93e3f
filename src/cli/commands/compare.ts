/**
 * `rtbench compare A B`: load two result directories (summary.json,
 * intervals.hlog, timeseries.csv), compare them (src/compare, pure) and print
 * the table. Writes nothing unless `--json FILE` is given. Returns the exit code.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { compareRuns, type RunInput } from '../../compare/compare.js';
import { readIntervalLog, readTimeseries, type Timeseries } from '../../compare/interval-log.js';
import { comparisonHeader, comparisonTable } from '../../compare/table.js';
import type { Histogram } from '../../metrics/histogram.js';
import { writeFileAtomic } from '../../results/atomic.js';
import { readHistograms } from '../../results/write.js';
import { readRunDirForTool } from '../run-dir.js';

/** A file's text, or null if it does not exist; other read errors are a UsageError. */
async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : 'unreadable';
    if (code === 'ENOENT') return null;
    throw new UsageError(`${file}: cannot read it (${code})`);
  }
}

/** Everything compare needs from one run directory. */
export async function loadRun(dir: string): Promise<{ input: RunInput; notes: string[] }> {
  const { summary } = await readRunDirForTool(dir);
  const notes: string[] = [];
  const csvText = await readOptional(path.join(dir, 'timeseries.csv'));
  let ts: Timeseries = { measureFromS: null, measure: [] };
  if (csvText === null) notes.push(`${dir}: no timeseries.csv; no verdict on the rate`);
  else {
    try {
      ts = readTimeseries(csvText);
    } catch (err) {
      throw new UsageError(`${dir}: ${(err as Error).message}`);
    }
  }
  const intervals = new Map<string, Histogram[]>();
  const hlogText = await readOptional(path.join(dir, 'intervals.hlog'));
  if (hlogText === null) notes.push(`${dir}: no intervals.hlog; ingest latencies from summary.json, no verdicts`);
  else {
    try {
      const log = readIntervalLog(hlogText, ts.measureFromS);
      for (const [tag, list] of log.byTag) intervals.set(tag, list.map((i) => i.histogram));
    } catch (err) {
      throw new UsageError(`${path.join(dir, 'intervals.hlog')}: cannot decode it (${(err as Error).message})`);
    }
  }
  let histograms: Record<string, Histogram> | null;
  try {
    histograms = await readHistograms(dir);
  } catch (err) {
    throw new UsageError(`${dir}: ${(err as Error).message}`);
  }
  if (histograms === null && summary.probes) notes.push(`${dir}: no histograms.json; probe cells get no verdict`);
  return { input: { label: dir, summary, intervals, rates: ts.measure, histograms }, notes };
}

function intOption(v: unknown, flag: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

export async function compareCommand(args: Record<string, unknown>): Promise<number> {
  const dirA = String(args['a']);
  const dirB = String(args['b']);
  const resamples = intOption(args['resamples'], '--resamples', 100, 100_000, 1000);
  const seed = intOption(args['seed'], '--seed', 0, 2 ** 32 - 1, 1);
  const jsonFile = args['json'] === undefined ? undefined : String(args['json']);
  if (jsonFile !== undefined && jsonFile.trim() === '') throw new UsageError('--json: needs a file name');

  const [a, b] = await Promise.all([loadRun(dirA), loadRun(dirB)]);
  const comparison = compareRuns(a.input, b.input, { resamples, seed });
  const out: string[] = [...comparisonHeader(comparison), comparisonTable(comparison)];
  for (const n of [...a.notes, ...b.notes]) out.push(`note: ${n}`);
  process.stdout.write(out.join('\n') + '\n');
  if (jsonFile !== undefined) {
    try {
      await writeFileAtomic(jsonFile, JSON.stringify(comparison, null, 2) + '\n');
    } catch (err) {
      const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : (err as Error).message;
      throw new UsageError(`--json ${jsonFile}: cannot write it (${code})`);
    }
    process.stderr.write(`rtbench: comparison written to ${jsonFile}\n`);
  }
  return ExitCode.ok;
}
