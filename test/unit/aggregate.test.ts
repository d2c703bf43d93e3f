import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Aggregator, addCounters, errorCount } from '../../src/metrics/aggregate.js';
import { decodeHistogram, encodeHistogram, newHistogram, recordNs, summarize, type Histogram } from '../../src/metrics/histogram.js';
import type { IntervalSnapshot, PhaseCounters, PhaseSnapshot } from '../../src/load/messages.js';

const WARMUP_MS = 1000;
const INTERVAL_MS = 1000;

/** [value µs, times] pairs recorded into a new histogram. */
function hist(...pairs: Array<[number, number]>): Histogram {
  const h = newHistogram();
  for (const [v, n] of pairs) h.recordValueWithCount(v, n);
  return h;
}

function phase(
  response: Array<[number, number]>, counters: Partial<PhaseCounters> = {}, service = response, lag: Array<[number, number]> = [],
  connectionWait: Array<[number, number]> = [],
): PhaseSnapshot {
  const ops = response.reduce((a, [, n]) => a + n, 0);
  return {
    ops,
    rows: ops,
    late: 0,
    dropped: 0,
    errors: {},
    ...counters,
    response: encodeHistogram(hist(...response)),
    service: encodeHistogram(hist(...service)),
    lag: encodeHistogram(hist(...lag)),
    timerLag: encodeHistogram(hist(...lag)),
    connectionWait: encodeHistogram(hist(...connectionWait)),
  };
}

function snap(workerIndex: number, index: number, p: { warmup?: PhaseSnapshot; measure?: PhaseSnapshot }, over: Partial<IntervalSnapshot> = {}): IntervalSnapshot {
  return {
    type: 'interval',
    workerIndex,
    index,
    startMs: (index - 1) * INTERVAL_MS,
    endMs: index * INTERVAL_MS,
    ...p,
    elu: 0.5,
    loopDelayP99Us: 1000,
    connectionsUp: 4,
    reconnects: 0,
    ...over,
  };
}

/** Interval 1 is warm-up, 2..3 measure. */
function phaseOf(index: number, body: PhaseSnapshot): { warmup?: PhaseSnapshot; measure?: PhaseSnapshot } {
  return index === 1 ? { warmup: body } : { measure: body };
}

describe('histogram helpers', () => {
  test('encode/decode round trip keeps counts and percentiles', () => {
    const h = hist([100, 1000], [10_000, 10]);
    const d = decodeHistogram(encodeHistogram(h));
    assert.equal(d.totalCount, 1010);
    // Decoding keeps counts per bucket, so the max comes back as its bucket's top (10000 -> 10007 at 3 digits).
    assert.deepEqual({ ...summarize(d), maxUs: 0 }, { ...summarize(h), maxUs: 0 });
    assert.ok(d.maxValue >= 10_000 && d.maxValue <= 10_010, String(d.maxValue));
  });

  test('recordNs records whole microseconds, never negative', () => {
    const h = newHistogram();
    recordNs(h, 1_999);
    recordNs(h, -5);
    assert.equal(h.totalCount, 2);
    assert.equal(h.minNonZeroValue, 1);
    assert.equal(h.maxValue, 1);
    assert.equal(h.getValueAtPercentile(1), 0);
  });

  test('summarize of an empty histogram is all zeros', () => {
    assert.deepEqual(summarize(newHistogram()), { count: 0, p50Us: 0, p90Us: 0, p95Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, meanUs: 0 });
  });
});

describe('Aggregator', () => {
  test('emits a row only when both workers reported, in order', () => {
    const agg = new Aggregator(2, WARMUP_MS, 2000);
    const body = (): PhaseSnapshot => phase([[100, 10]]);
    assert.deepEqual(agg.add(snap(0, 1, phaseOf(1, body()))), []);
    assert.deepEqual(agg.add(snap(0, 2, phaseOf(2, body()))), []);
    const first = agg.add(snap(1, 1, phaseOf(1, body())));
    assert.equal(first.length, 1);
    assert.equal(first[0]!.index, 1);
    assert.equal(first[0]!.phase, 'warmup');
    const second = agg.add(snap(1, 2, phaseOf(2, body())));
    assert.equal(second.length, 1);
    assert.equal(second[0]!.index, 2);
    assert.equal(second[0]!.phase, 'measure');
    assert.deepEqual(agg.flush(), []);
  });

  test('a late interval releases every interval that waited on it, in order', () => {
    const agg = new Aggregator(2, WARMUP_MS, null);
    for (const i of [1, 2, 3]) assert.deepEqual(agg.add(snap(0, i, phaseOf(i, phase([[100, 1]])))), []);
    assert.deepEqual(agg.add(snap(1, 3, phaseOf(3, phase([[100, 1]])))), []);
    assert.deepEqual(agg.add(snap(1, 2, phaseOf(2, phase([[100, 1]])))), []);
    const out = agg.add(snap(1, 1, phaseOf(1, phase([[100, 1]]))));
    assert.deepEqual(out.map((r) => r.index), [1, 2, 3]);
    assert.deepEqual(out.map((r) => r.phase), ['warmup', 'measure', 'measure']);
    assert.deepEqual(out.map((r) => [r.startMs, r.endMs]), [[0, 1000], [1000, 2000], [2000, 3000]]);
  });

  test('merged percentiles come from the combined histogram, never averaged', () => {
    const agg = new Aggregator(2, WARMUP_MS, null);
    agg.add(snap(0, 1, phaseOf(1, phase([[1, 1]]))));
    agg.add(snap(1, 1, phaseOf(1, phase([[1, 1]]))));
    const w0 = hist([100, 1000]);
    const w1 = hist([10_000, 10]);
    agg.add(snap(0, 2, { measure: phase([[100, 1000]]) }));
    const [row] = agg.add(snap(1, 2, { measure: phase([[10_000, 10]]) }));
    assert.ok(row);

    const combined = hist([100, 1000], [10_000, 10]);
    const mergedP99 = combined.getValueAtPercentile(99);
    const meanOfP99s = (w0.getValueAtPercentile(99) + w1.getValueAtPercentile(99)) / 2;
    assert.ok(mergedP99 < 200, `sanity: the combined p99 is the 100 µs bucket, got ${mergedP99}`);
    assert.ok(meanOfP99s > 5000, `sanity: averaging would give ~5050 µs, got ${meanOfP99s}`);
    assert.equal(row.responseP99Us, mergedP99);
    assert.equal(row.responseP50Us, combined.getValueAtPercentile(50));
    assert.equal(row.serviceP99Us, mergedP99);
    const merged = decodeHistogram(row.encoded.response);
    assert.equal(merged.totalCount, 1010);
    assert.equal(merged.maxValue, combined.getValueAtPercentile(100));
    assert.equal(row.ops, 1010);
    assert.equal(row.rows, 1010);

    // The phase totals merge the same way.
    assert.equal(agg.measure.histograms.response.getValueAtPercentile(99), mergedP99);
    assert.equal(agg.measure.histograms.response.totalCount, 1010);
  });

  test('p99 follows the tail when the slow worker holds more than 1%', () => {
    const agg = new Aggregator(2, 0, null);
    agg.add(snap(0, 1, { measure: phase([[100, 1000]]) }));
    const [row] = agg.add(snap(1, 1, { measure: phase([[10_000, 20]]) }));
    const combined = hist([100, 1000], [10_000, 20]);
    assert.equal(row!.responseP99Us, combined.getValueAtPercentile(99));
    assert.ok(row!.responseP99Us >= 10_000);
  });

  test('per-phase totals, errors summed by SQLSTATE, worker gauges', () => {
    const agg = new Aggregator(2, WARMUP_MS, 1000);
    const rows = [
      ...agg.add(snap(0, 1, { warmup: phase([[50, 100]], { rows: 1000, late: 1, errors: { '08006': 1 } }) }, { elu: 0.3 })),
      ...agg.add(snap(1, 1, { warmup: phase([[60, 100]], { rows: 1000, dropped: 2 }) }, { elu: 0.4, reconnects: 1 })),
      ...agg.add(snap(0, 2, { measure: phase([[200, 50]], { rows: 500, errors: { '23505': 2, '08006': 1 } }) }, { elu: 0.7, loopDelayP99Us: 3000, connectionsUp: 3 })),
      ...agg.add(snap(1, 2, { measure: phase([[300, 70]], { rows: 700, late: 4, errors: { '23505': 1 } }) }, { elu: 0.6, loopDelayP99Us: 9000 })),
      ...agg.add(snap(0, 3, { measure: phase([[400, 10]], { rows: 100, dropped: 5 }) }, { elu: 0.8, loopDelayP99Us: 100 })),
      ...agg.add(snap(1, 3, { measure: phase([[500, 10]], { rows: 100 }) }, { elu: 0.9, loopDelayP99Us: 200 })),
    ];
    assert.deepEqual(rows.map((r) => r.index), [1, 2, 3]);

    assert.deepEqual(agg.warmup.counters, { ops: 200, rows: 2000, late: 1, dropped: 2, errors: { '08006': 1 } });
    assert.deepEqual(agg.measure.counters, { ops: 140, rows: 1400, late: 4, dropped: 5, errors: { '23505': 3, '08006': 1 } });
    assert.equal(agg.warmup.histograms.response.totalCount, 200);
    assert.equal(agg.measure.histograms.response.totalCount, 140);
    assert.equal(agg.measure.histograms.response.minNonZeroValue, 200);
    assert.equal(errorCount(agg.measure.counters), 4);

    const [r1, r2, r3] = rows;
    assert.equal(r1!.phase, 'warmup');
    assert.equal(r1!.errors, 1);
    assert.equal(r1!.late, 1);
    assert.equal(r1!.dropped, 2);
    assert.equal(r1!.reconnects, 1);
    assert.equal(r1!.targetRowsHz, 1000);
    assert.equal(r2!.errors, 4);
    assert.equal(r2!.rows, 1200);
    assert.equal(r2!.ops, 120);
    assert.equal(r2!.connectionsUp, 7);
    assert.equal(r2!.maxWorkerElu, 0.7);
    assert.equal(r2!.maxLoopDelayP99Us, 9000);
    assert.equal(r3!.dropped, 5);
    assert.equal(r3!.maxWorkerElu, 0.9);

    // Only measure intervals feed the self-check samples.
    assert.deepEqual(agg.measureElu, [[0.7, 0.8], [0.6, 0.9]]);
    assert.deepEqual(agg.measureLoopDelayP99Us, [9000, 200]);
  });

  test('the lag split (timer lateness, connection wait) is added up per phase from both workers', () => {
    const agg = new Aggregator(2, WARMUP_MS, 1000);
    agg.add(snap(0, 1, { warmup: phase([[50, 10]], {}, undefined, [[5, 10]], [[0, 10]]) }));
    agg.add(snap(1, 1, { warmup: phase([[50, 10]], {}, undefined, [[7, 10]], [[0, 10]]) }));
    agg.add(snap(0, 2, { measure: phase([[900, 5]], {}, undefined, [[30, 5]], [[800, 5]]) }));
    agg.add(snap(1, 2, { measure: phase([[100, 95]], {}, undefined, [[40, 95]], [[0, 95]]) }));
    assert.equal(agg.warmup.lagParts.timerLag.totalCount, 20);
    assert.equal(agg.measure.lagParts.timerLag.totalCount, 100);
    assert.equal(agg.measure.lagParts.connectionWait.totalCount, 100);
    assert.equal(agg.measure.lagParts.timerLag.maxValue, 40);
    // 5 of 100 waited 800 µs for a connection: the p90 is 0, the p99 is the wait.
    assert.equal(summarize(agg.measure.lagParts.connectionWait).p90Us, 0);
    assert.ok(Math.abs(summarize(agg.measure.lagParts.connectionWait).p99Us - 800) <= 1);
  });

  test('achievedRowsHz = rows / interval seconds', () => {
    const agg = new Aggregator(2, WARMUP_MS, 2000);
    agg.add(snap(0, 1, { warmup: phase([[100, 10]], { rows: 700 }) }));
    const [full] = agg.add(snap(1, 1, { warmup: phase([[100, 10]], { rows: 500 }) }));
    assert.equal(full!.achievedRowsHz, 1200);
    // A shorter last interval (500 ms).
    agg.add(snap(0, 2, { measure: phase([[100, 10]], { rows: 300 }) }, { endMs: 1500 }));
    const [short] = agg.add(snap(1, 2, { measure: phase([[100, 10]], { rows: 300 }) }, { endMs: 1500 }));
    assert.equal(short!.endMs, 1500);
    assert.equal(short!.achievedRowsHz, 1200);
  });

  test('flush returns intervals not every worker reported, in order', () => {
    const agg = new Aggregator(2, WARMUP_MS, null);
    agg.add(snap(0, 1, phaseOf(1, phase([[100, 1]]))));
    agg.add(snap(1, 1, phaseOf(1, phase([[100, 1]]))));
    // Worker 1 died after interval 1.
    assert.deepEqual(agg.add(snap(0, 3, phaseOf(3, phase([[100, 3]], { rows: 30 })))), []);
    assert.deepEqual(agg.add(snap(0, 2, phaseOf(2, phase([[100, 2]], { rows: 20 })))), []);
    const rest = agg.flush();
    assert.deepEqual(rest.map((r) => r.index), [2, 3]);
    assert.deepEqual(rest.map((r) => r.rows), [20, 30]);
    assert.deepEqual(agg.flush(), [], 'flush empties the pending intervals');
  });

  test('addCounters merges error maps', () => {
    const into: PhaseCounters = { ops: 1, rows: 2, late: 3, dropped: 4, errors: { a: 1 } };
    addCounters(into, { ops: 10, rows: 20, late: 30, dropped: 40, errors: { a: 2, b: 5 } });
    assert.deepEqual(into, { ops: 11, rows: 22, late: 33, dropped: 44, errors: { a: 3, b: 5 } });
  });
});
