import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistogramLogReader, listTags } from 'hdr-histogram-js';
import { UsageError } from '../../src/errors.js';
import { decodeHistogram, encodeHistogram, newHistogram, summarize, type Histogram } from '../../src/metrics/histogram.js';
import { KINDS, type IntervalRow, type Kind } from '../../src/metrics/aggregate.js';
import { RESULT_FORMAT_VERSION, type RunRecord, type Summary } from '../../src/results/run-record.js';
import { readRunDir, writeRunDir } from '../../src/results/write.js';
import { checkWritableDir, writeFileAtomic } from '../../src/results/atomic.js';

function histogramOf(from: number, to: number): Histogram {
  const h = newHistogram();
  for (let v = from; v <= to; v++) h.recordValue(v);
  return h;
}

function row(index: number, phase: 'warmup' | 'measure', counts: Record<Kind, number>): IntervalRow {
  const histograms = {
    response: histogramOf(1, counts.response),
    service: histogramOf(1, counts.service),
    lag: histogramOf(1, counts.lag),
  };
  return {
    index,
    startMs: (index - 1) * 1000,
    endMs: index * 1000,
    phase,
    targetRowsHz: index === 3 ? null : 2000,
    rows: 2000,
    achievedRowsHz: 1999.987,
    ops: 200,
    responseP50Us: 500,
    responseP99Us: 990,
    serviceP99Us: 400,
    lagP99Us: 80,
    errors: 0,
    late: 1,
    dropped: 0,
    connectionsUp: 4,
    reconnects: 0,
    maxWorkerElu: 0.12345,
    maxLoopDelayP99Us: 1500,
    cpuCores: 0.5,
    rssBytes: 64 * 1048576,
    encoded: { response: encodeHistogram(histograms.response), service: encodeHistogram(histograms.service), lag: encodeHistogram(histograms.lag) },
  };
}

function makeSummary(runId: string): Summary {
  const s = summarize(histogramOf(1, 1000));
  return {
    formatVersion: RESULT_FORMAT_VERSION,
    runId,
    valid: true,
    invalidReasons: [],
    notes: ['connection to postgresql://bench:hunter2@db.example/x lost once'],
    durationMs: 3000,
    ingest: {
      targetRateHz: 2000,
      achievedRateHz: 1999.5,
      acked: 6000,
      ackedMeasure: 4000,
      rowsInTable: 6000,
      operations: 600,
      late: 3,
      dropped: 0,
      unfinished: 0,
      errorsBySqlstate: {},
      errors: 0,
      reconnects: 0,
      response: s,
      service: s,
      lag: s,
      warmup: { rows: 2000, errors: 0, response: s },
    },
    client: { cpuUsPerRow: 12.5, cpuCoresMean: 0.4, maxWorkerEluMean: 0.2, loopDelayP99MaxUs: 1200, rssStartBytes: 50e6, rssEndBytes: 60e6 },
  };
}

function makeRecord(runId: string, histograms?: Record<string, Histogram>): RunRecord {
  return {
    run: {
      formatVersion: RESULT_FORMAT_VERSION,
      runId,
      startedAt: '2024-01-01T00:00:00.000Z',
      finishedAt: '2024-01-01T00:00:03.000Z',
      config: { rateHz: 2000 },
      seed: 42,
      target: { kind: 'url', url: 'postgresql://bench:***@db.example/x' },
      gitRevision: null,
      versions: { rtbench: '0.1.0', node: process.version, pg: '8', hdrHistogramJs: '3' },
      server: { version: '16.2', versionNum: 160002, extensions: {}, available: {}, nonDefaultSettings: {} },
      machine: { hostname: 'h', platform: 'linux', release: '6', arch: 'x64', cpus: 4, cpuModel: 'cpu', memoryBytes: 1e9 },
    },
    summary: makeSummary(runId),
    histograms: histograms ?? { 'ingest-response': histogramOf(1, 1000), 'ingest-lag': histogramOf(1, 10) },
    intervals: [
      row(1, 'warmup', { response: 100, service: 50, lag: 10 }),
      row(2, 'measure', { response: 200, service: 60, lag: 20 }),
      row(3, 'measure', { response: 300, service: 70, lag: 30 }),
    ],
    startEpochMs: 1_704_067_200_000,
    kinds: KINDS,
  };
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rtbench-write-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writeRunDir writes every file and nothing else', () =>
  withTmp(async (dir) => {
    const record = makeRecord('run-1');
    const out = await writeRunDir(dir, record);
    assert.equal(out, join(dir, 'run-1'));
    assert.deepEqual(await readdir(dir), ['run-1']);
    assert.deepEqual((await readdir(out)).sort(), [
      'histograms.json',
      'ingest-lag.hgrm',
      'ingest-response.hgrm',
      'intervals.hlog',
      'report.html',
      'report.md',
      'run.json',
      'summary.json',
      'timeseries.csv',
    ]);
    const encoded = JSON.parse(await readFile(join(out, 'histograms.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(encoded).sort(), ['ingest-lag', 'ingest-response']);
    assert.equal(decodeHistogram(encoded['ingest-response']!).totalCount, record.histograms['ingest-response']!.totalCount);
    const runText = await readFile(join(out, 'run.json'), 'utf8');
    assert.ok(runText.endsWith('}\n'));
    assert.ok(runText.includes('\n  "runId": "run-1"'), 'pretty-printed');
  }));

test('summary and run round-trip through readRunDir; secrets are masked', () =>
  withTmp(async (dir) => {
    const record = makeRecord('run-rt');
    const out = await writeRunDir(dir, record);
    const back = await readRunDir(out);
    assert.deepEqual(back.run, record.run);
    const expected = { ...record.summary, notes: ['connection to postgresql://bench:***@db.example/x lost once'] };
    assert.deepEqual(back.summary, expected);
    assert.ok(!(await readFile(join(out, 'summary.json'), 'utf8')).includes('hunter2'));
  }));

test('.hgrm has the percentile header and a p50 near 0.5 ms', () =>
  withTmp(async (dir) => {
    const out = await writeRunDir(dir, makeRecord('run-hgrm'));
    const text = await readFile(join(out, 'ingest-response.hgrm'), 'utf8');
    assert.match(text, /Value\s+Percentile\s+TotalCount\s+1\/\(1-Percentile\)/);
    assert.match(text, /#\[Max\s*=\s*1\.000/);
    assert.match(text, /Total count\s*=\s*1000\]/);
    const p50 = text
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === '0.500000000000');
    assert.ok(p50, 'a 50th-percentile line');
    const valueMs = Number(p50[0]);
    assert.ok(Math.abs(valueMs - 0.5) < 0.002, `p50 ${valueMs} ms`);
  }));

test('intervals.hlog reads back the same total count per tag', () =>
  withTmp(async (dir) => {
    const record = makeRecord('run-hlog');
    const out = await writeRunDir(dir, record);
    const text = await readFile(join(out, 'intervals.hlog'), 'utf8');
    assert.match(text, /^#\[Histogram log format version 1\.3\]/);
    assert.match(text, /#\[StartTime: 1704067200\.000 /);
    assert.match(text, /run-hlog/);
    assert.match(text, /microseconds/);
    assert.deepEqual(listTags(text).sort(), ['lag', 'response', 'service']);

    const totals: Record<string, number> = {};
    const starts: number[] = [];
    const reader = new HistogramLogReader(text);
    for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
      totals[h.tag] = (totals[h.tag] ?? 0) + h.totalCount;
      if (h.tag === 'response') starts.push(h.startTimeStampMsec - record.startEpochMs);
    }
    assert.deepEqual(totals, { response: 600, service: 180, lag: 60 });
    assert.deepEqual(starts, [0, 1000, 2000]);
  }));

test('timeseries.csv has a header and one line per interval', () =>
  withTmp(async (dir) => {
    const out = await writeRunDir(dir, makeRecord('run-csv'));
    const lines = (await readFile(join(out, 'timeseries.csv'), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(
      lines[0],
      'index,phase,start_s,end_s,target_rows_per_s,achieved_rows_per_s,rows,ops,response_p50_us,response_p99_us,service_p99_us,lag_p99_us,errors,late,dropped,connections_up,reconnects,max_worker_elu,loop_delay_p99_us,cpu_cores,rss_mb,unavailable_ms',
    );
    assert.equal(lines[2], '2,measure,1.000,2.000,2000,1999.99,2000,200,500,990,400,80,0,1,0,4,0,0.123,1500,0.500,64.0,0');
    assert.equal(lines[3]?.split(',')[4], '', 'closed loop: empty target');
  }));

test('an existing run directory fails the write and leaves no temp dir', () =>
  withTmp(async (dir) => {
    await mkdir(join(dir, 'run-dup'));
    await writeFile(join(dir, 'run-dup', 'keep'), 'x');
    await assert.rejects(writeRunDir(dir, makeRecord('run-dup')), (err: unknown) => err instanceof UsageError && /already exists/.test(err.message));
    assert.deepEqual(await readdir(dir), ['run-dup']);
    assert.deepEqual(await readdir(join(dir, 'run-dup')), ['keep']);
  }));

test('a histogram that throws mid-write leaves neither temp dir nor run dir', () =>
  withTmp(async (dir) => {
    const bad = {
      outputPercentileDistribution(): string {
        throw new Error('boom');
      },
    } as unknown as Histogram;
    const record = makeRecord('run-bad', { 'a-good': histogramOf(1, 10), 'z-bad': bad });
    await assert.rejects(writeRunDir(dir, record), /boom/);
    assert.deepEqual(await readdir(dir), []);
  }));

test('an unsafe run id is refused before anything is written', () =>
  withTmp(async (dir) => {
    await assert.rejects(writeRunDir(dir, makeRecord('../escape')), UsageError);
    assert.deepEqual(await readdir(dir), []);
  }));

test('readRunDir rejects missing and invalid files with UsageError', () =>
  withTmp(async (dir) => {
    await assert.rejects(readRunDir(dir), (err: unknown) => err instanceof UsageError && /run\.json/.test(err.message));
    await writeFile(join(dir, 'run.json'), '{"formatVersion":1,"runId":"r"}\n');
    await writeFile(join(dir, 'summary.json'), '{not json');
    await assert.rejects(readRunDir(dir), (err: unknown) => err instanceof UsageError && /invalid JSON/.test(err.message));
    await writeFile(join(dir, 'summary.json'), '{"formatVersion":99,"runId":"r","valid":true,"ingest":{}}');
    await assert.rejects(readRunDir(dir), (err: unknown) => err instanceof UsageError && /newer/.test(err.message));
  }));

test('checkWritableDir creates missing dirs and rejects a path under a regular file', () =>
  withTmp(async (dir) => {
    const nested = join(dir, 'a', 'b');
    await checkWritableDir(nested);
    assert.deepEqual(await readdir(nested), [], 'probe file removed');
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    await assert.rejects(checkWritableDir(join(file, 'results')), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /^results dir .*plain\/results: not a directory \(ENOTDIR\)$/);
      return true;
    });
    await assert.rejects(checkWritableDir(file), UsageError);
  }));

test('writeFileAtomic replaces the file and leaves no temp file', () =>
  withTmp(async (dir) => {
    const path = join(dir, 'f.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    assert.equal(await readFile(path, 'utf8'), 'two');
    assert.deepEqual(await readdir(dir), ['f.json']);
    await assert.rejects(writeFileAtomic(join(dir, 'missing', 'f'), 'x'));
    assert.deepEqual(await readdir(dir), ['f.json']);
  }));
