/**
 * merge: interval data read back from an instance's intervals.hlog and
 * timeseries.csv (written by our own writers), then merged by time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KINDS, type IntervalRow, type Kind } from '../../src/metrics/aggregate.js';
import { decodeHistogram, encodeHistogram, newHistogram, summarize, type Histogram } from '../../src/metrics/histogram.js';
import type { RunRecord } from '../../src/results/run-record.js';
import { toIntervalLog, toTimeseriesCsv } from '../../src/results/write.js';
import { mergeIntervals, readInstanceIntervals, sumPhase, type TimedIntervals } from '../../src/merge/intervals.js';

/** A histogram holding `n` values spread evenly over [from, to) µs. */
function spread(n: number, from: number, to: number): Histogram {
  const h = newHistogram();
  for (let i = 0; i < n; i++) h.recordValue(Math.floor(from + ((to - from) * i) / n));
  return h;
}

/** One interval row; each kind's histogram holds `rows` values in [fromUs, toUs). */
function row(index: number, phase: 'warmup' | 'measure', rows: number, fromUs: number, toUs: number, extra: Partial<IntervalRow> = {}): IntervalRow {
  const encoded = {} as Record<Kind, string>;
  for (const k of KINDS) encoded[k] = encodeHistogram(spread(rows, fromUs, toUs));
  const r = summarize(spread(rows, fromUs, toUs));
  return {
    index, startMs: (index - 1) * 1000, endMs: index * 1000, phase, targetRowsHz: 100, rows, achievedRowsHz: rows, ops: rows,
    responseP50Us: r.p50Us, responseP99Us: r.p99Us, serviceP99Us: r.p99Us, lagP99Us: r.p99Us,
    errors: 0, late: 0, dropped: 0, connectionsUp: 4, reconnects: 0, maxWorkerElu: 0.1, maxLoopDelayP99Us: 1000,
    cpuCores: 0.25, rssBytes: 100 * 1048576, encoded, ...extra,
  };
}

/** The two files an instance's run dir holds for its intervals, from our own writers. */
function files(rows: IntervalRow[], startEpochMs = 1_800_000_000_000): { hlog: string; csv: string } {
  const record = { run: { runId: 'r' }, intervals: rows, startEpochMs, kinds: KINDS } as unknown as RunRecord;
  return { hlog: toIntervalLog(record), csv: toTimeseriesCsv(rows) };
}

/** Intervals whose times count from `originEpochMs`. */
const at = (originEpochMs: number, intervals: TimedIntervals['intervals']): TimedIntervals => ({ originEpochMs, intervals });

const a = [
  row(1, 'warmup', 50, 100, 200),
  row(2, 'measure', 100, 100, 300, { errors: 1, late: 2, maxWorkerElu: 0.5, cpuCores: 0.5 }),
  row(3, 'measure', 100, 100, 300),
];
const b = [
  row(1, 'warmup', 50, 5000, 6000),
  row(2, 'measure', 100, 20_000, 40_000, { dropped: 3, maxLoopDelayP99Us: 9000, reconnects: 1 }),
  row(3, 'measure', 100, 20_000, 40_000),
  row(4, 'measure', 30, 20_000, 40_000, { endMs: 3500 }),
];

test('readInstanceIntervals: rows and histograms come back as written', () => {
  const { hlog, csv } = files(a, 1_800_000_000_123);
  const back = readInstanceIntervals(hlog, csv);
  assert.equal(back.startEpochMs, 1_800_000_000_123);
  assert.equal(back.intervals.length, 3);
  const r2 = back.intervals[1]!;
  assert.deepEqual(
    { index: r2.index, phase: r2.phase, startMs: r2.startMs, endMs: r2.endMs, rows: r2.rows, errors: r2.errors, late: r2.late, target: r2.targetRowsHz },
    { index: 2, phase: 'measure', startMs: 1000, endMs: 2000, rows: 100, errors: 1, late: 2, target: 100 },
  );
  assert.equal(r2.rssBytes, 100 * 1048576);
  for (const k of KINDS) assert.equal(decodeHistogram(r2.encoded[k]).totalCount, 100);
  assert.equal(sumPhase(back.intervals, 'measure', 'response').totalCount, 200);
  assert.equal(sumPhase(back.intervals, 'warmup', 'lag').totalCount, 50);
});

test('readInstanceIntervals: a row without histograms, or a missing column, is an error naming it', () => {
  const { hlog, csv } = files(a);
  const fewer = files(a.slice(0, 2)).hlog;
  assert.throws(() => readInstanceIntervals(fewer, csv), /intervals\.hlog: no response histogram for interval 3/);
  assert.throws(() => readInstanceIntervals(hlog, csv.replace('rss_mb', 'rss')), /timeseries\.csv: no column rss_mb/);
});

test('mergeIntervals: common origin: histograms added per interval (percentiles of the union, not averaged), counts summed, maxes kept', () => {
  const ia = readInstanceIntervals(files(a).hlog, files(a).csv).intervals;
  const ib = readInstanceIntervals(files(b).hlog, files(b).csv).intervals;
  const merged = mergeIntervals([at(0, ia), at(0, ib)]);
  assert.deepEqual(merged.map((r) => [r.index, r.phase]), [[1, 'warmup'], [2, 'measure'], [3, 'measure'], [4, 'measure']]);

  const m2 = merged[1]!;
  const union = spread(100, 100, 300);
  union.add(spread(100, 20_000, 40_000));
  const expect = summarize(union);
  const h = decodeHistogram(m2.encoded.response);
  assert.equal(h.totalCount, 200);
  const { maxUs, ...percentiles } = summarize(h);
  const { maxUs: expectMax, ...expectPercentiles } = expect;
  assert.deepEqual(percentiles, expectPercentiles);
  assert.ok(Math.abs(maxUs - expectMax) <= expectMax / 1000, `max within HDR precision: ${maxUs} vs ${expectMax}`);
  assert.equal(m2.responseP99Us, expect.p99Us);
  assert.equal(m2.responseP50Us, expect.p50Us);
  const avgP99 = (summarize(spread(100, 100, 300)).p99Us + summarize(spread(100, 20_000, 40_000)).p99Us) / 2;
  assert.notEqual(m2.responseP99Us, avgP99, 'not the mean of the two p99s');

  assert.equal(m2.rows, 200);
  assert.equal(m2.ops, 200);
  assert.equal(m2.achievedRowsHz, 200);
  assert.equal(m2.targetRowsHz, 200);
  assert.equal(m2.errors, 1);
  assert.equal(m2.late, 2);
  assert.equal(m2.dropped, 3);
  assert.equal(m2.reconnects, 1);
  assert.equal(m2.connectionsUp, 8);
  assert.equal(m2.cpuCores, 0.75);
  assert.equal(m2.rssBytes, 200 * 1048576);
  assert.equal(m2.maxWorkerElu, 0.5);
  assert.equal(m2.maxLoopDelayP99Us, 9000);

  // Interval 4 only exists in b (the longer run): b's rows alone, over its own half second.
  const m4 = merged[3]!;
  assert.equal(m4.rows, 30);
  assert.equal(m4.achievedRowsHz, 60);
  assert.equal(decodeHistogram(m4.encoded.lag).totalCount, 30);

  // Every merged interval's counts add up to the two instances' counts.
  const total = (rows: readonly { encoded: Record<Kind, string> }[]): number => rows.reduce((s, r) => s + decodeHistogram(r.encoded.service).totalCount, 0);
  assert.equal(total(merged), total(ia) + total(ib));
});

test('mergeIntervals: the phase is that of the first instance listed', () => {
  const ia = readInstanceIntervals(files([row(1, 'warmup', 5, 1, 2)]).hlog, files([row(1, 'warmup', 5, 1, 2)]).csv).intervals;
  const ib = readInstanceIntervals(files([row(1, 'measure', 5, 1, 2)]).hlog, files([row(1, 'measure', 5, 1, 2)]).csv).intervals;
  assert.equal(mergeIntervals([at(0, ia), at(0, ib)])[0]!.phase, 'warmup');
  assert.equal(mergeIntervals([at(0, ib), at(0, ia)])[0]!.phase, 'measure');
});

test('mergeIntervals: aligned by absolute start, not by index: an instance whose origin is 1 s later fills the next slots', () => {
  const ia = readInstanceIntervals(files(a).hlog, files(a).csv).intervals;
  const ib = readInstanceIntervals(files(b).hlog, files(b).csv).intervals;
  const merged = mergeIntervals([at(1_800_000_000_000, ia), at(1_800_000_001_000, ib)]);
  // b's interval k (its own index) lands in slot k + 1 of a's clock.
  assert.deepEqual(merged.map((r) => [r.index, r.startMs, r.rows]), [[1, 0, 50], [2, 1000, 100 + 50], [3, 2000, 100 + 100], [4, 3000, 100], [5, 4000, 30]]);
  assert.equal(merged[4]!.endMs, 4500);
  // By index, interval 2 would have held a's 100 and b's 100 rows.
  const byIndex = mergeIntervals([at(0, ia), at(0, ib)]);
  assert.notEqual(byIndex[1]!.rows, merged[1]!.rows);
  // A sub-interval difference (timer jitter, clock error) still pairs the same intervals.
  assert.deepEqual(mergeIntervals([at(0, ia), at(3, ib)]).map((r) => r.rows), byIndex.map((r) => r.rows));
});

test('readInstanceIntervals and mergeIntervals carry a histogram kind this rtbench does not know', () => {
  const withExtra = (rows: IntervalRow[]): IntervalRow[] => rows.map((r) => ({ ...r, encoded: { ...r.encoded, timerLag: encodeHistogram(spread(r.rows, 1, 9)) } }));
  const file = (rows: IntervalRow[]): { hlog: string; csv: string } => {
    const record = { run: { runId: 'r' }, intervals: rows, startEpochMs: 1_800_000_000_000, kinds: [...KINDS, 'timerLag'] } as unknown as RunRecord;
    return { hlog: toIntervalLog(record), csv: toTimeseriesCsv(rows) };
  };
  const fa = file(withExtra(a));
  const fb = file(withExtra(b));
  const ra = readInstanceIntervals(fa.hlog, fa.csv);
  assert.deepEqual(ra.kinds, [...KINDS, 'timerLag']);
  const merged = mergeIntervals([at(0, ra.intervals), at(0, readInstanceIntervals(fb.hlog, fb.csv).intervals)]);
  const extra = (r: IntervalRow): number => decodeHistogram((r.encoded as Record<string, string>)['timerLag']!).totalCount;
  assert.deepEqual(merged.map(extra), [100, 200, 200, 30]);
});
