import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newHistogram } from '../../src/metrics/histogram.js';
import { probeFigures, ratio, relativeError, type ProbeResultsLike } from '../../src/probe/figures.js';

function task(probe: string, window: string, p50Us: number, count = 10, errors = 0) {
  return { probe, window, summary: { p50Us, p99Us: p50Us * 2, count, errors } };
}

const results: ProbeResultsLike = {
  granularity: '1m',
  windows: ['5m', '1h', '1d'],
  tasks: [
    task('raw-minutes', '5m', 1000),
    task('rollup-minutes', '5m', 250),
    task('raw-minutes', '1h', 2000),
    task('rollup-minutes', '1h', 0), // division by zero: absent
    task('raw-minutes', '1d', 9000),
    task('rollup-minutes', '1d', 900, 0, 3), // no successful execution: absent
    task('distinct-exact', '1d', 5000),
    task('country-raw', '5m', 600),
    task('country-rollup', '5m', 200),
  ],
  skipped: ['skipped: probe distinct-hll (install postgresql-15-hll)'],
};

describe('probeFigures', () => {
  const f = probeFigures({
    results,
    idle: {
      tasks: [
        { probe: 'raw-minutes', window: '5m', p50Us: 500, samples: 10 },
        { probe: 'rollup-minutes', window: '5m', p50Us: 0, samples: 10 },
        { probe: 'raw-minutes', window: '1h', p50Us: null, samples: 0 },
      ],
      skipped: ['skipped: probe distinct-hll (install postgresql-15-hll)'],
    },
    hllError: [
      { window: '5m', relativeError: null },
      { window: '1d', relativeError: -0.02 },
    ],
    sizes: { rawTableBytes: 100, rollupTableBytes: 10, hllColumnBytes: 4 },
    probes: [
      { name: 'raw-minutes', reads: 'raw', pair: 'rollup-minutes' },
      { name: 'rollup-minutes', reads: 'rollup', pair: 'raw-minutes' },
      { name: 'country-raw', reads: 'raw', pair: 'country-rollup' },
      { name: 'country-rollup', reads: 'rollup', pair: 'country-raw' },
    ],
    minSamples: 5,
  });

  test('speedups are raw p50 / rollup p50; zero, missing or failed sides leave the window out', () => {
    assert.deepEqual(f.rollupSpeedup, { '5m': 4 });
    assert.deepEqual(f.countrySpeedup, { '5m': 3 });
  });

  test('a pair with one side missing is absent altogether', () => {
    assert.equal('hllSpeedup' in f, false);
  });

  test('byProbe carries the summary, the idle p50 and load/idle where both exist', () => {
    const idle = { idleCount: 10, idleInsufficient: false };
    assert.deepEqual(f.byProbe['raw-minutes']?.['5m'], { p50Us: 1000, p99Us: 2000, count: 10, errors: 0, insufficient: false, service: { p50Us: 1000, p99Us: 2000, count: 10 }, idleP50Us: 500, ...idle, loadOverIdle: 2, loadOverIdleCi95: null },
      'no histograms given: no interval');
    assert.deepEqual(f.byProbe['rollup-minutes']?.['5m'], { p50Us: 250, p99Us: 500, count: 10, errors: 0, insufficient: false, service: { p50Us: 250, p99Us: 500, count: 10 }, idleP50Us: 0, ...idle }, 'idle 0: no ratio');
    assert.deepEqual(f.byProbe['raw-minutes']?.['1h'], { p50Us: 2000, p99Us: 4000, count: 10, errors: 0, insufficient: false, service: { p50Us: 2000, p99Us: 4000, count: 10 } }, 'idle failed: nothing');
    assert.deepEqual(f.byProbe['rollup-minutes']?.['1d'], { p50Us: 900, p99Us: 1800, count: 0, errors: 3, insufficient: true, service: { p50Us: 900, p99Us: 1800, count: 0 } });
  });

  test('HLL error keeps measured windows only; sizes, windows, granularity, skipped pass through (deduplicated)', () => {
    assert.deepEqual(f.hllRelativeError, { '1d': -0.02 });
    assert.deepEqual(f.sizes, { rawTableBytes: 100, rollupTableBytes: 10, hllColumnBytes: 4 });
    assert.deepEqual(f.windows, ['5m', '1h', '1d']);
    assert.equal(f.granularity, '1m');
    assert.deepEqual(f.skipped, ['skipped: probe distinct-hll (install postgresql-15-hll)']);
  });

  test('generic speedups cover every raw/rollup pair given', () => {
    assert.deepEqual(f.speedups, { 'raw-minutes/rollup-minutes': { '5m': 4 }, 'country-raw/country-rollup': { '5m': 3 } });
  });

  test('nothing measured: empty byProbe, no ratios, and the result is JSON-clean', () => {
    const empty = probeFigures({ results: { granularity: '5m', windows: ['5m'], tasks: [], skipped: [] } });
    assert.deepEqual(empty, { windows: ['5m'], granularity: '5m', minSamples: 20, byProbe: {}, skipped: [], notes: [] });
    assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
  });
});

/** A histogram of `n` values spread evenly over [center·0.9, center·1.1]. */
function spread(center: number, n: number) {
  const h = newHistogram();
  for (let i = 0; i < n; i++) h.recordValue(Math.round(center * (0.9 + (0.2 * i) / Math.max(1, n - 1))));
  return h;
}

function cell(probe: string, window: string, center: number, n: number) {
  const histogram = spread(center, n);
  return { probe, window, histogram, summary: { p50Us: histogram.getValueAtPercentile(50), p99Us: histogram.getValueAtPercentile(99), count: n, errors: 0 } };
}

describe('insufficient cells and bootstrap intervals', () => {
  const input = {
    results: {
      granularity: '1m',
      windows: ['5m', '1h'],
      tasks: [
        cell('raw-minutes', '5m', 10_000, 40), cell('rollup-minutes', '5m', 1_000, 40),
        cell('raw-minutes', '1h', 50_000, 3), cell('rollup-minutes', '1h', 2_000, 40),
      ],
      skipped: [],
    },
    idle: { tasks: [{ probe: 'raw-minutes', window: '5m', p50Us: 8_000, histogram: spread(8_000, 25) }] },
    minSamples: 20,
    seed: 7,
  };
  const f = probeFigures(input);

  test('a cell under --min-samples is marked, its ratio is null and the notes say why', () => {
    assert.equal(f.byProbe['raw-minutes']?.['1h']?.insufficient, true);
    assert.equal(f.byProbe['raw-minutes']?.['5m']?.insufficient, false);
    assert.equal(f.rollupSpeedup?.['1h'], null);
    assert.equal(f.rollupSpeedupCi95?.['1h'], null);
    assert.deepEqual(f.notes, ['probes.rollupSpeedup.1h is null: raw-minutes @ 1h has 3 samples (< --min-samples 20)']);
  });

  test('a sufficient ratio carries a 95% interval around it, the same for the same seed', () => {
    const r = f.rollupSpeedup?.['5m'];
    const ci = f.rollupSpeedupCi95?.['5m'];
    assert.ok(typeof r === 'number' && ci, `ratio ${r}, interval ${JSON.stringify(ci)}`);
    assert.ok(ci[0] <= r && r <= ci[1], `${ci[0]} <= ${r} <= ${ci[1]}`);
    assert.ok(ci[0] > 8 && ci[1] < 12.5, `the interval of about 10x is narrow for 40 samples a side: ${JSON.stringify(ci)}`);
    assert.ok(ci[1] > ci[0], 'resampling varies the ratio');
    assert.deepEqual(probeFigures(input).rollupSpeedupCi95, f.rollupSpeedupCi95);
    const lo = f.byProbe['raw-minutes']?.['5m'];
    assert.ok(lo?.loadOverIdle && lo.loadOverIdleCi95 && lo.loadOverIdleCi95[0] <= lo.loadOverIdle && lo.loadOverIdle <= lo.loadOverIdleCi95[1], JSON.stringify(lo));
  });
});

describe('ratio and relativeError', () => {
  test('guarded', () => {
    assert.equal(ratio(10, 4), 2.5);
    assert.equal(ratio(10, 0), undefined);
    assert.equal(ratio(undefined, 1), undefined);
    assert.equal(ratio(Number.NaN, 1), undefined);
    assert.equal(ratio(1, Number.POSITIVE_INFINITY), undefined);
    assert.equal(relativeError(102, 100), 0.02);
    assert.equal(relativeError(5, 0), null);
    assert.equal(relativeError(Number.NaN, 10), null);
  });
});
