import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHistogram, newHistogram, summarize } from '../../src/metrics/histogram.js';
import type { IntervalRow } from '../../src/metrics/aggregate.js';
import { RESULT_FORMAT_VERSION, type Summary } from '../../src/results/run-record.js';
import { formatUs, summaryTable } from '../../src/report/console.js';
import { progressLine } from '../../src/report/progress.js';

function latency(from: number, to: number): ReturnType<typeof summarize> {
  const h = newHistogram();
  for (let v = from; v <= to; v++) h.recordValue(v);
  return summarize(h);
}

function summary(over: Partial<Summary> = {}, ingestOver: Partial<Summary['ingest']> = {}): Summary {
  const l = latency(1, 1000);
  return {
    formatVersion: RESULT_FORMAT_VERSION,
    runId: 'r-1',
    valid: true,
    invalidReasons: [],
    notes: [],
    durationMs: 60_000,
    ingest: {
      targetRateHz: 2000,
      achievedRateHz: 1998.4,
      acked: 120_000,
      ackedMeasure: 100_000,
      rowsInTable: 120_000,
      operations: 12_000,
      late: 7,
      dropped: 0,
      unfinished: 0,
      errorsBySqlstate: {},
      errors: 0,
      reconnects: 0,
      response: l,
      service: latency(1, 500),
      lag: latency(1, 100),
      warmup: { rows: 20_000, errors: 0, response: l },
      ...ingestOver,
    },
    client: { cpuUsPerRow: 8.25, cpuCoresMean: 0.31, maxWorkerEluMean: 0.42, loopDelayP99MaxUs: 2100, rssStartBytes: 80 * 1048576, rssEndBytes: 95.5 * 1048576 },
    ...over,
  };
}

test('formatUs is human-readable with about three significant digits', () => {
  assert.equal(formatUs(0), '0µs');
  assert.equal(formatUs(850), '850µs');
  assert.equal(formatUs(999.4), '999µs');
  assert.equal(formatUs(999.6), '1ms');
  assert.equal(formatUs(1230), '1.23ms');
  assert.equal(formatUs(12_345), '12.3ms');
  assert.equal(formatUs(123_456), '123ms');
  assert.equal(formatUs(2_100_000), '2.1s');
  assert.equal(formatUs(3_600_000_000), '3600s');
  assert.equal(formatUs(Number.NaN), 'n/a');
});

test('a valid summary: VALID, rates, latency block, client; no colour codes', () => {
  const t = summaryTable(summary());
  assert.ok(!t.includes('\x1b['), 'no ANSI escapes by default');
  assert.match(t, /VALID/);
  assert.doesNotMatch(t, /INVALID|MISMATCH/);
  assert.match(t, /target 2,000 rows\/s, achieved 1,998\.4 rows\/s/);
  assert.match(t, /120,000 \/ 120,000/);
  assert.match(t, /p50.*p90.*p99.*p99\.9.*max.*count/);
  const responseLine = t.split('\n').find((l) => l.includes('response'));
  assert.ok(responseLine);
  assert.match(responseLine, /500µs.*900µs.*990µs.*999µs.*1ms.*1,000/);
  assert.match(t, /8\.25 µs\/row/);
  assert.match(t, /0\.420/);
  assert.match(t, /80\.0 → 95\.5 MB/);
});

test('an invalid summary shows INVALID and every reason', () => {
  const t = summaryTable(summary({ valid: false, invalidReasons: ['client CPU-bound: worker ELU 0.97', 'achieved rate 61% of target'] }));
  assert.match(t, /INVALID/);
  assert.match(t, /client CPU-bound: worker ELU 0\.97/);
  assert.match(t, /achieved rate 61% of target/);
});

test('acked differing from rows in table is marked MISMATCH; null is "not counted"', () => {
  assert.match(summaryTable(summary({}, { rowsInTable: 119_990 })), /120,000 \/ 119,990 MISMATCH \(-10\)/);
  const unknown = summaryTable(summary({}, { rowsInTable: null }));
  assert.match(unknown, /not counted/);
  assert.doesNotMatch(unknown, /MISMATCH/);
});

test('errors by SQLSTATE, closed loop, and colour on request', () => {
  const t = summaryTable(
    summary({ valid: false, invalidReasons: ['x'] }, { errors: 4, errorsBySqlstate: { '57P01': 1, '23505': 3 }, targetRateHz: null }),
    { color: true },
  );
  assert.match(t, /23505: 3, 57P01: 1/);
  assert.match(t, /closed loop/);
  assert.ok(t.includes('\x1b[31mINVALID'));
});

function intervalRow(over: Partial<IntervalRow> = {}): IntervalRow {
  return {
    index: 12,
    startMs: 11_000,
    endMs: 12_000,
    phase: 'measure',
    targetRowsHz: 2000,
    rows: 2001,
    achievedRowsHz: 2001,
    ops: 200,
    responseP50Us: 1210,
    responseP99Us: 4370,
    serviceP99Us: 3000,
    lagP99Us: 820,
    errors: 0,
    late: 3,
    dropped: 0,
    connectionsUp: 8,
    reconnects: 0,
    maxWorkerElu: 0.2,
    maxLoopDelayP99Us: 500,
    cpuCores: 0.3,
    rssBytes: 90 * 1048576,
    encoded: { response: encodeHistogram(newHistogram()), service: encodeHistogram(newHistogram()), lag: encodeHistogram(newHistogram()) },
    ...over,
  };
}

test('progressLine matches the pgbench -P style', () => {
  assert.equal(
    progressLine(intervalRow(), 5000, 8),
    'progress: 12.0 s [measure], 2001.0 rows/s (target 2000), resp p50 1.21 ms p99 4.37 ms, lag p99 0.82 ms, late 3, err 0',
  );
});

test('progressLine: closed loop, warm-up, missing connections, drops', () => {
  const line = progressLine(intervalRow({ targetRowsHz: null, startMs: 2000, endMs: 3000, connectionsUp: 6, dropped: 5, errors: 2 }), 5000, 8);
  assert.equal(
    line,
    'progress: 3.0 s [warmup], 2001.0 rows/s (closed loop), resp p50 1.21 ms p99 4.37 ms, lag p99 0.82 ms, late 3, err 2, conn 6/8, dropped 5',
  );
  assert.match(progressLine(intervalRow({ startMs: 4500, endMs: 5500 }), 5000), /\[warmup→measure\]/);
  assert.doesNotMatch(progressLine(intervalRow({ connectionsUp: 6 }), 5000), /conn/);
});

test('regression: the compare-targets table heads its columns a and b; each whole (masked) URL is one line above', async () => {
  const { comparisonTable } = await import('../../src/report/comparison.js');
  const longA = 'postgresql://bench:***@coordinator.analytics-prod.example.internal:5432/dashboards_benchmark?sslmode=require';
  const text = comparisonTable([{ figure: 'ingest achieved rate', path: 'ingest.achievedRateHz', unit: 'rows/s', a: 200, b: 199, ratio: 0.995 }], longA, 'local');
  const lines = text.split('\n');
  assert.equal(lines[0], `a: ${longA}`);
  assert.equal(lines[1], 'b: local');
  const tableWidth = Math.max(...lines.slice(2).map((l) => l.length));
  assert.ok(tableWidth < 100, `table ${tableWidth} columns wide:\n${text}`);
  assert.equal(text.split(longA).length, 2, 'the URL is printed once');
});
