import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readIntervalLog, readTimeseries } from '../../src/compare/interval-log.js';
import { KINDS, type IntervalRow } from '../../src/metrics/aggregate.js';
import { encodeHistogram, newHistogram } from '../../src/metrics/histogram.js';
import type { RunRecord } from '../../src/results/run-record.js';
import { toIntervalLog, toTimeseriesCsv } from '../../src/results/write.js';

/** Interval `index` (1-based) holds `index * 10` values of response, `index` of service, 1 of lag. */
function row(index: number, phase: 'warmup' | 'measure'): IntervalRow {
  const enc = (n: number, base: number): string => {
    const h = newHistogram();
    for (let i = 0; i < n; i++) h.recordValue(base + i);
    return encodeHistogram(h);
  };
  return {
    index, startMs: (index - 1) * 1000, endMs: index * 1000, phase, targetRowsHz: 100, rows: index * 10, achievedRowsHz: index * 10, ops: index * 10,
    responseP50Us: 0, responseP99Us: 0, serviceP99Us: 0, lagP99Us: 0, errors: 0, late: 0, dropped: 0, connectionsUp: 1, reconnects: 0,
    maxWorkerElu: 0, maxLoopDelayP99Us: 0, cpuCores: 0, rssBytes: 0,
    encoded: { response: enc(index * 10, 1000), service: enc(index, 500), lag: enc(1, 10) },
  };
}

/** The parts of a RunRecord toIntervalLog reads. */
function record(rows: IntervalRow[]): RunRecord {
  return { run: { runId: 'r-1' }, startEpochMs: 1_795_851_272_782, intervals: rows, kinds: KINDS } as unknown as RunRecord;
}

const ROWS = [row(1, 'warmup'), row(2, 'warmup'), row(3, 'measure'), row(4, 'measure'), row(5, 'measure')];

test('readIntervalLog: the measure-phase interval histograms per tag, warm-up left out', () => {
  const log = readIntervalLog(toIntervalLog(record(ROWS)));
  assert.equal(log.measureFromS, 2);
  assert.deepEqual([...log.byTag.keys()].sort(), ['lag', 'response', 'service']);
  const response = log.byTag.get('response')!;
  assert.deepEqual(response.map((i) => i.histogram.totalCount), [30, 40, 50]);
  assert.deepEqual(response.map((i) => [Math.round(i.startS * 1000), Math.round(i.endS * 1000)]), [[2000, 3000], [3000, 4000], [4000, 5000]]);
  assert.deepEqual(log.byTag.get('service')!.map((i) => i.histogram.totalCount), [3, 4, 5]);
  assert.equal(response[0]!.histogram.getValueAtPercentile(100), response[0]!.histogram.maxValue);
  assert.ok(response[0]!.histogram.maxValue >= 1029, 'values are µs as recorded');
});

test('readIntervalLog: without the measure comment, the fallback start is used; with neither, nothing', () => {
  const text = toIntervalLog(record(ROWS)).split('\n').filter((l) => !l.startsWith('#measure phase')).join('\n');
  assert.equal(readIntervalLog(text).byTag.size, 0);
  const withFallback = readIntervalLog(text, 3);
  assert.equal(withFallback.measureFromS, 3);
  assert.deepEqual(withFallback.byTag.get('response')!.map((i) => i.histogram.totalCount), [40, 50]);
  // A run with no measure interval writes no comment: no intervals.
  assert.equal(readIntervalLog(toIntervalLog(record(ROWS.slice(0, 2)))).byTag.size, 0);
});

test('readTimeseries: measure rows by header name', () => {
  const ts = readTimeseries(toTimeseriesCsv(ROWS));
  assert.equal(ts.measureFromS, 2);
  assert.deepEqual(ts.measure, [{ startS: 2, endS: 3, rows: 30 }, { startS: 3, endS: 4, rows: 40 }, { startS: 4, endS: 5, rows: 50 }]);
  assert.deepEqual(readTimeseries(toTimeseriesCsv(ROWS.slice(0, 2))), { measureFromS: null, measure: [] });
  assert.throws(() => readTimeseries('index,start_s\n1,0\n'), /timeseries.csv: no column phase/);
  assert.throws(() => readTimeseries('phase,start_s,end_s,rows\nmeasure,2,x,5\n'), /line 2 is malformed/);
  assert.throws(() => readTimeseries('phase,start_s,end_s,rows\nmeasure,3,2,5\n'), /line 2 is malformed/);
  // A run's final flush can fall exactly on a tick: an interval empty in time is skipped, not an error.
  assert.deepEqual(readTimeseries('phase,start_s,end_s,rows\nmeasure,2,3,5\nmeasure,3,3,0\n').measure, [{ startS: 2, endS: 3, rows: 5 }]);
});
