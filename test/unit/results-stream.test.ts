/**
 * Results streamed as the run goes (ResultStream) and read back by recover: the run dir exists
 * from the step start with run.json `running`; each interval reaches both files; a torn last
 * line (the crash mid-write) is dropped; the recovered record is invalid with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/validate.js';
import type { RunConfig } from '../../src/config/types.js';
import { encodeHistogram, newHistogram } from '../../src/metrics/histogram.js';
import type { IntervalRow } from '../../src/metrics/aggregate.js';
import { ResultStream } from '../../src/results/stream.js';
import { readStreamedIntervals, recoveredRecord, recoverRunDir } from '../../src/results/recover.js';
import type { RunInfo } from '../../src/results/run-record.js';
import { UsageError } from '../../src/errors.js';

function config(): RunConfig {
  const { config: c } = validateConfig({ rate: 100, duration: '4s', warmup: '1s', url: 'postgresql://u:hunter2@db.example/x' }, { seed: 7, resultsDir: 'results' });
  assert.ok(c);
  return c;
}

function row(index: number, phase: 'warmup' | 'measure'): IntervalRow {
  const h = newHistogram();
  for (let v = 100; v <= 100 + index * 10; v++) h.recordValue(v);
  const e = encodeHistogram(h);
  return {
    index, startMs: (index - 1) * 1000, endMs: index * 1000, phase, targetRowsHz: 100, rows: 100, achievedRowsHz: 100, ops: 100,
    responseP50Us: 1, responseP99Us: 1, serviceP99Us: 1, lagP99Us: 1, errors: 0, late: 0, dropped: 0, connectionsUp: 8, reconnects: 0,
    maxWorkerElu: 0.1, maxLoopDelayP99Us: 1000, cpuCores: 0.2, rssBytes: 100 * 1048576, encoded: { response: e, service: e, lag: e },
  };
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rtbench-stream-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const session = (c: RunConfig) => ({
  config: c, url: 'postgresql://u:hunter2@db.example/x', targetKind: 'url' as const, rowsAtSetup: 500,
  server: { version: '15', versionNum: 150000, extensions: {}, available: {}, nonDefaultSettings: {} },
});

test('the run dir exists from the step start; each interval is appended to both files; no password anywhere', () =>
  withTmp(async (base) => {
    let now = 1_700_000_000_000;
    const stream = new ResultStream({ resultsDir: base, now: () => now });
    const c = config();
    const step = { index: 0, runId: 'r1', config: c };
    await stream.stepStart(step, session(c));
    const dir = join(base, 'r1');
    const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(run.status, 'running');
    assert.equal(run.owner?.pid, process.pid);
    assert.deepEqual(run.recovery, { rowsAtStart: 500, sites: { offset: 0, count: 32 }, intervalMs: 1000, plannedIntervals: 5, syncEveryMs: 1000 });
    for (let i = 1; i <= 3; i++) {
      now += 1000;
      stream.interval(row(i, i === 1 ? 'warmup' : 'measure'));
    }
    await stream.stepEnd();
    assert.deepEqual(stream.lastDurable, { index: 3, endMs: 3000 });
    const files = await readdir(dir);
    assert.deepEqual(files.sort(), ['intervals.hlog', 'run.json', 'timeseries.csv']);
    const csv = await readFile(join(dir, 'timeseries.csv'), 'utf8');
    assert.equal(csv.trim().split('\n').length, 4);
    for (const f of files) assert.doesNotMatch(await readFile(join(dir, f), 'utf8'), /hunter2/, f);
    const { intervals } = readStreamedIntervals(await readFile(join(dir, 'intervals.hlog'), 'utf8'), csv);
    assert.deepEqual(intervals.map((r) => r.index), [1, 2, 3]);
  }));

test('an existing run dir is one UsageError, nothing written', () =>
  withTmp(async (base) => {
    const c = config();
    await new ResultStream({ resultsDir: base }).stepStart({ index: 0, runId: 'r1', config: c }, session(c));
    await assert.rejects(new ResultStream({ resultsDir: base }).stepStart({ index: 0, runId: 'r1', config: c }, session(c)), (e: unknown) => e instanceof UsageError && /already exists/.test(e.message));
  }));

test('a torn last line (crash mid-write) is dropped; a row without its histograms too', () =>
  withTmp(async (base) => {
    const c = config();
    const stream = new ResultStream({ resultsDir: base });
    await stream.stepStart({ index: 0, runId: 'r2', config: c }, session(c));
    for (let i = 1; i <= 3; i++) stream.interval(row(i, i === 1 ? 'warmup' : 'measure'));
    await stream.stepEnd();
    const dir = join(base, 'r2');
    const hlog = await readFile(join(dir, 'intervals.hlog'), 'utf8');
    const csv = await readFile(join(dir, 'timeseries.csv'), 'utf8');
    // The log lost interval 3's last line halfway: that interval is not read back.
    const torn = hlog.slice(0, hlog.length - 20);
    assert.deepEqual(readStreamedIntervals(torn, csv).intervals.map((r) => r.index), [1, 2]);
    assert.deepEqual(readStreamedIntervals(hlog, csv + '4,measure,3.0').intervals.map((r) => r.index), [1, 2, 3]);
  }));

test('recoveredRecord: invalid with the reason, measure histograms added up, acked vs table with the rest unknown', () => {
  const c = config();
  const run = {
    formatVersion: 1, runId: 'r3', status: 'running', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '',
    config: { ...c, url: 'postgresql://u:***@db.example/x' }, seed: 7, target: { kind: 'url', url: 'postgresql://u:***@db.example/x' },
    recovery: { rowsAtStart: 500, sites: { offset: 0, count: 32 }, intervalMs: 1000, plannedIntervals: 5, syncEveryMs: 1000 },
  } as unknown as RunInfo;
  const intervals = [row(1, 'warmup'), row(2, 'measure'), row(3, 'measure')];
  const startEpochMs = Date.parse('2026-01-01T00:00:00.000Z');
  const { record, recovered, line } = recoveredRecord({ run, intervals, startEpochMs, rowsNow: 500 + 300 + 37, nowMs: startEpochMs + 60_000 });
  assert.equal(record.summary.valid, false);
  assert.deepEqual(record.summary.invalidReasons, ['interrupted: the load generator stopped at 2026-01-01T00:00:03.000Z; last interval 3 of 5']);
  assert.equal(record.summary.ingest.acked, 300);
  assert.equal(record.summary.ingest.ackedMeasure, 200);
  assert.equal(record.summary.ingest.rowsInTable, 337);
  assert.ok(record.summary.notes.some((n) => /^37 rows are in the table beyond the 300 acknowledged up to the last durable interval: unknown \(sent after it\), not lost$/.test(n)));
  assert.equal(record.histograms['ingest-response']!.totalCount, 21 + 31);
  assert.equal(record.summary.ingest.achievedRateHz, 100);
  assert.deepEqual({ ...recovered, at: '' }, { at: '', reason: record.summary.invalidReasons[0], intervals: 3, plannedIntervals: 5, measureS: 2, plannedMeasureS: 4 });
  assert.match(line, /^recovered r3: 3 of 5 intervals \(2 s of 4 s measured, 300 rows acknowledged, 337 in the table\)/);
});

test('recoverRunDir refuses a dir that is not running, and one whose owner (this process) lives', () =>
  withTmp(async (base) => {
    const c = config();
    const stream = new ResultStream({ resultsDir: base });
    await stream.stepStart({ index: 0, runId: 'r4', config: c }, session(c));
    stream.interval(row(1, 'warmup'));
    await stream.stepEnd();
    const dir = join(base, 'r4');
    // Owned by this very process: recover treats its own pid as gone (the CLI never recovers its own run), so use another live pid.
    const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'run.json'), JSON.stringify({ ...run, owner: { pid: process.ppid, host: (run['owner'] as { host: string }).host } }));
    await assert.rejects(recoverRunDir(dir), (e: unknown) => e instanceof UsageError && /still running \(rtbench pid/.test(e.message));
    await writeFile(join(dir, 'run.json'), JSON.stringify({ ...run, owner: { pid: 2 ** 22 + 12345, host: (run['owner'] as { host: string }).host } }));
    const { record } = await recoverRunDir(dir);
    assert.equal(record.summary.valid, false);
    assert.equal((JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo).status, 'recovered');
    await assert.rejects(recoverRunDir(dir), (e: unknown) => e instanceof UsageError && /is recovered: nothing to recover/.test(e.message));
  }));

test('completeRunDir writes the final files whole into the streamed dir, run.json with the status last, no temp file left', () =>
  withTmp(async (base) => {
    const { completeRunDir } = await import('../../src/results/write.js');
    const c = config();
    const stream = new ResultStream({ resultsDir: base });
    await stream.stepStart({ index: 0, runId: 'r5', config: c }, session(c));
    const rows = [row(1, 'warmup'), row(2, 'measure')];
    for (const r of rows) stream.interval(r);
    await stream.stepEnd();
    const dir = join(base, 'r5');
    const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo;
    const { record } = recoveredRecord({ run, intervals: rows, startEpochMs: 1_700_000_000_000, rowsNow: null, nowMs: 1_700_000_010_000 });
    await completeRunDir(dir, { ...record, run: { ...record.run, recovered: undefined } }, 'finished', { owner: run.owner });
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['histograms.json', 'ingest-lag.hgrm', 'ingest-response.hgrm', 'ingest-service.hgrm', 'intervals.hlog', 'report.html', 'report.md', 'run.json', 'summary.json', 'timeseries.csv', 'warmup-response.hgrm']);
    const done = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(done.status, 'finished');
    assert.equal(done.owner?.pid, process.pid);
    // The final log replaced the streamed one: the exact origin and the measure comment.
    assert.match(await readFile(join(dir, 'intervals.hlog'), 'utf8'), /#\[StartTime: 1700000000\.000/);
  }));
