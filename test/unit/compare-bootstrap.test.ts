import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapRatio, bootstrapStats, bootstrapValues, diffInterval, mergedStats, quantile, ratioInterval, toBlocks, toSparseSet, type Stat,
} from '../../src/compare/bootstrap.js';
import { compareRuns, type CompareRow, type RunInput } from '../../src/compare/compare.js';
import { comparisonHeader, comparisonTable } from '../../src/compare/table.js';
import { decodeHistogram, encodeHistogram, newHistogram, summarize, type Histogram } from '../../src/metrics/histogram.js';
import { RESULT_FORMAT_VERSION, type Summary } from '../../src/results/run-record.js';
import { Prng } from '../../src/workload/prng.js';

const STATS: Stat[] = [
  { kind: 'percentile', p: 50 },
  { kind: 'percentile', p: 90 },
  { kind: 'percentile', p: 99 },
  { kind: 'percentile', p: 99.9 },
  { kind: 'percentile', p: 100 },
  { kind: 'mean' },
];

/**
 * `n` one-second intervals of `perInterval` latencies around 2 ms with a long
 * tail (seeded), each multiplied by `scale`; some intervals are "slow" (×3) as
 * real runs have checkpoints and rollups.
 */
function intervals(seed: number, n: number, perInterval: number, scale = 1): Histogram[] {
  const prng = new Prng(seed, 7);
  const out: Histogram[] = [];
  for (let i = 0; i < n; i++) {
    const h = newHistogram();
    const slow = i % 7 === 3 ? 3 : 1;
    for (let k = 0; k < perInterval; k++) {
      const u = prng.next();
      const us = 1500 + 1000 * -Math.log(1 - u) * (u > 0.98 ? 20 : 1);
      h.recordValue(Math.round(us * slow * scale));
    }
    out.push(h);
  }
  return out;
}

function summaryOf(runId: string, hs: readonly Histogram[]): Summary {
  const merged = newHistogram();
  for (const h of hs) merged.add(h);
  const l = summarize(merged);
  return {
    formatVersion: RESULT_FORMAT_VERSION,
    runId,
    valid: true,
    invalidReasons: [],
    notes: [],
    durationMs: hs.length * 1000,
    ingest: {
      targetRateHz: 500, achievedRateHz: 500, acked: l.count, ackedMeasure: l.count, rowsInTable: l.count, operations: l.count,
      late: 0, dropped: 0, unfinished: 0, errorsBySqlstate: {}, errors: 0, reconnects: 0,
      response: l, service: l, lag: l, warmup: { rows: 0, errors: 0, response: l },
    },
    client: { cpuUsPerRow: 10, cpuCoresMean: 0.1, maxWorkerEluMean: 0.1, loopDelayP99MaxUs: 100, rssStartBytes: 1, rssEndBytes: 1 },
  };
}

function run(label: string, hs: Histogram[], rowsPerInterval: number[] = hs.map((h) => h.totalCount)): RunInput {
  return {
    label,
    summary: summaryOf(label, hs),
    intervals: new Map([['response', hs], ['service', hs], ['lag', hs]]),
    rates: rowsPerInterval.map((rows, i) => ({ startS: i, endS: i + 1, rows })),
  };
}

function byFigure(rows: readonly CompareRow[]): Map<string, CompareRow> {
  return new Map(rows.map((r) => [r.figure, r]));
}

test('sparse merge gives exactly the add()-merged percentiles and mean (as recorded and as decoded from a log)', () => {
  for (const hs of [intervals(1, 30, 200), intervals(1, 30, 200).map((h) => decodeHistogram(encodeHistogram(h)))]) sparseMatchesAdd(hs);
});

function sparseMatchesAdd(hs: Histogram[]): void {
  const merged = newHistogram();
  for (const h of hs) merged.add(h);
  const set = toSparseSet([hs]);
  const got = mergedStats(set.groups[0]!, set, STATS);
  for (const [i, s] of STATS.entries()) {
    if (s.kind === 'percentile') assert.equal(got[i], merged.getValueAtPercentile(s.p), `p${s.p}`);
    else assert.ok(Math.abs(got[i]! - merged.mean) < 1e-9 * merged.mean, 'mean');
  }
  // Blocks of consecutive intervals merge to the same figures.
  const blocks = toBlocks(set.groups[0]!, 7, set.highs.length);
  assert.equal(blocks.length, 7);
  assert.equal(blocks.reduce((n, b) => n + b.total, 0), merged.totalCount);
  assert.deepEqual(mergedStats(blocks, set, STATS), got);
}

test('quantile interpolates and ignores NaN', () => {
  assert.equal(quantile([3, 1, 2, Number.NaN], 0.5), 2);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('bootstrap: identical runs are within noise on every figure', () => {
  const hs = intervals(2, 20, 300);
  const c = compareRuns(run('a', hs), run('b', hs), { resamples: 400 });
  const rows = c.rows.filter((r) => r.noise);
  assert.ok(rows.length >= 19, `verdicts on the 18 latency figures and the rate, got ${rows.length}`);
  for (const r of rows) {
    assert.equal(r.noise!.verdict, 'within noise', r.figure);
    assert.ok(r.noise!.low <= 0 && r.noise!.high >= 0, `${r.figure}: interval includes 0`);
    assert.equal(r.changePct, 0);
  }
});

test('bootstrap: a 2x latency shift is slower, a halving faster; a doubled rate is faster', () => {
  const a = intervals(3, 20, 300);
  const b = intervals(3, 20, 300, 2);
  const slower = byFigure(compareRuns(run('a', a), run('b', b), { resamples: 400 }).rows);
  for (const f of ['p50', 'p90', 'p99', 'mean']) {
    const r = slower.get(`ingest.response.${f}`)!;
    assert.equal(r.source, 'intervals');
    assert.equal(r.noise?.verdict, 'slower', f);
    assert.ok(r.noise!.low > 0);
    assert.ok(Math.abs(r.changePct! - 100) < 2, `${f}: about +100%, got ${r.changePct}`);
  }
  const faster = byFigure(compareRuns(run('b', b), run('a', a), { resamples: 400 }).rows);
  assert.equal(faster.get('ingest.response.p50')!.noise?.verdict, 'faster');
  assert.ok(faster.get('ingest.response.p50')!.noise!.high < 0);

  const rate = byFigure(compareRuns(run('a', a, a.map(() => 500)), run('b', a, a.map((_, i) => 1000 + (i % 3))), { resamples: 400 }).rows);
  assert.equal(rate.get('ingest.achievedRateHz')!.noise?.verdict, 'faster', 'higher rate is better');
});

test('bootstrap: seeded, so the same inputs and seed give the same intervals', () => {
  const a = intervals(4, 15, 200);
  const b = intervals(5, 15, 200);
  const one = compareRuns(run('a', a), run('b', b), { resamples: 300, seed: 42 });
  const two = compareRuns(run('a', a), run('b', b), { resamples: 300, seed: 42 });
  assert.deepEqual(one, two);
  const other = compareRuns(run('a', a), run('b', b), { resamples: 300, seed: 43 });
  assert.notDeepEqual(one.rows.map((r) => r.noise), other.rows.map((r) => r.noise));

  const set = toSparseSet([a]);
  const d1 = bootstrapStats(set.groups[0]!, set, STATS, 50, new Prng(9, 1));
  const d2 = bootstrapStats(set.groups[0]!, set, STATS, 50, new Prng(9, 1));
  assert.deepEqual(d1, d2);
  assert.deepEqual(bootstrapRatio([{ num: 1, den: 1 }, { num: 3, den: 1 }], 20, new Prng(1)), bootstrapRatio([{ num: 1, den: 1 }, { num: 3, den: 1 }], 20, new Prng(1)));
});

test('diffInterval: verdict follows which side of 0 the interval lies on', () => {
  const a = Float64Array.from({ length: 100 }, (_, i) => 100 + (i % 10));
  const up = Float64Array.from(a, (v) => v + 50);
  assert.equal(diffInterval(a, up, 0.95, 'lower')?.verdict, 'slower');
  assert.equal(diffInterval(a, up, 0.95, 'higher')?.verdict, 'faster');
  assert.equal(diffInterval(up, a, 0.95, 'lower')?.verdict, 'faster');
  assert.equal(diffInterval(a, a, 0.95, 'lower')?.verdict, 'within noise');
  assert.equal(diffInterval(Float64Array.from([Number.NaN]), Float64Array.from([1]), 0.95, 'lower'), null);
});

test('compareRuns: too few intervals or no interval log give no verdict but a reason; summary-only figures compared as they are', () => {
  const few = intervals(6, 2, 100);
  const c = byFigure(compareRuns(run('a', few), run('b', few)).rows);
  const p99 = c.get('ingest.response.p99')!;
  assert.equal(p99.noise, null);
  assert.match(p99.noVerdictReason!, /too few measure intervals \(2 vs 2; need 3\)/);
  assert.equal(p99.source, 'intervals');

  const hs = intervals(7, 10, 100);
  const noLog: RunInput = { ...run('b', hs), intervals: new Map(), rates: [] };
  const d = byFigure(compareRuns(run('a', hs), noLog).rows);
  assert.equal(d.get('ingest.response.p99')!.source, 'summary');
  assert.match(d.get('ingest.response.p99')!.noVerdictReason!, /no interval log/);
  assert.match(d.get('ingest.achievedRateHz')!.noVerdictReason!, /no timeseries.csv/);
  assert.equal(d.get('ingest.targetRateHz')!.noVerdictReason, null, 'no direction, no reason');
  assert.equal(d.get('ingest.errors')!.changePct, null, 'a change from 0 has no percent');
  assert.equal(d.has('audit.lostEvents'), false, 'figures neither run holds are left out');
});

test('compareRuns: probe, rollup and audit figures both runs hold, with ratios', () => {
  const hs = intervals(8, 5, 50);
  const probes = (p50: number): Record<string, unknown> => ({
    windows: ['5m', '1h'],
    granularity: '1m',
    byProbe: {
      'raw-minutes': { '5m': { p50Us: p50 * 6, p99Us: p50 * 7, count: 3, errors: 0 } },
      'rollup-minutes': { '5m': { p50Us: p50, p99Us: p50 * 2, count: 3, errors: 0 }, '1h': { p50Us: 0, p99Us: 0, count: 0, errors: 0 } },
    },
    rollupSpeedup: { '5m': 6 },
    hllRelativeError: { '5m': 0.01 },
    speedups: { 'raw-minutes/rollup-minutes': { '5m': 6 }, 'a/b': { '5m': 2 } },
  });
  const withDash = (label: string, p50: number, lost: number): RunInput => {
    const r = run(label, hs);
    return { ...r, summary: { ...r.summary, probes: probes(p50), audit: { lostEvents: lost, duplicatedEvents: 0 } } as unknown as Summary };
  };
  const c = compareRuns(withDash('a', 1000, 0), withDash('b', 1500, 4));
  const rows = byFigure(c.rows);
  assert.equal(rows.get('probes.rollup-minutes.5m.p50')!.changePct, 50);
  assert.equal(rows.get('probes.rollup-minutes.5m.p50')!.noise, null);
  assert.match(rows.get('probes.rollup-minutes.5m.p50')!.noVerdictReason!, /no histograms\.json in both runs/);
  assert.deepEqual(rows.get('probes.rollup-minutes.5m.p50')!.n, { a: 3, b: 3 });
  assert.equal(rows.has('probes.rollup-minutes.1h.p50'), false, 'no samples: not compared');
  assert.equal(rows.get('probes.rollupSpeedup.5m')!.display, 'ratio');
  assert.equal(rows.get('probes.hllRelativeError.5m')!.display, 'fraction');
  assert.ok(rows.has('probes.speedups.a/b.5m'), 'other pairs listed');
  assert.equal(rows.has('probes.speedups.raw-minutes/rollup-minutes.5m'), false, 'named pairs not listed twice');
  assert.equal(rows.get('audit.lostEvents')!.b, 4);

  const text = comparisonTable(c);
  assert.match(text, /figure .*A .*B .*change .*95% interval of B − A .*verdict/);
  assert.match(text, /ingest\.response\.p99 .*within noise/);
  assert.match(text, /probes\.rollup-minutes\.5m\.p50 .*1ms .*1\.5ms .*\+50%/);
  assert.match(text, /probes\.hllRelativeError\.5m .*1\.00%/);
  const header = comparisonHeader(c).join('\n');
  assert.match(header, /^A: a \(run a, 5 measure intervals\)/);
  assert.match(header, /1000 resamples, seed 1/);
  assert.doesNotMatch(header, /note:/);
  const other = run('b', hs);
  const differentLoad = compareRuns(run('a', hs), { ...other, summary: { ...other.summary, valid: false, ingest: { ...other.summary.ingest, targetRateHz: null } } });
  const notes = comparisonHeader(differentLoad).join('\n');
  assert.match(notes, /note: the target rates differ \(500 vs closed loop rows\/s\)/);
  assert.match(notes, /note: run B failed its self-check/);
});

describe('bootstrapValues and ratioInterval (probe cells)', () => {
  const P50 = [{ kind: 'percentile', p: 50 }] as const;
  test('resampling one histogram: every resample of a constant is the constant; a spread gives a spread around its median', () => {
    const constant = newHistogram();
    for (let i = 0; i < 30; i++) constant.recordValue(1234);
    const [d] = bootstrapValues(constant, P50, 200, new Prng(3));
    assert.ok(d!.every((v) => v === constant.getValueAtPercentile(50)));

    const h = newHistogram();
    for (let i = 1; i <= 41; i++) h.recordValue(i * 100); // median 2100
    const [s] = bootstrapValues(h, P50, 1000, new Prng(3));
    const lo = quantile(s!, 0.025);
    const hi = quantile(s!, 0.975);
    assert.ok(lo < 2100 && hi > 2100 && lo >= 1400 && hi <= 2800, `95% of resampled medians in [${lo}, ${hi}]`);
    assert.deepEqual(bootstrapValues(h, P50, 50, new Prng(9)), bootstrapValues(h, P50, 50, new Prng(9)), 'seeded');
    assert.ok(Number.isNaN(bootstrapValues(newHistogram(), P50, 3, new Prng(1))[0]![0]!), 'empty: NaN');
  });

  test('ratioInterval: quantiles of num/den per resample; null when most resamples have no ratio', () => {
    const num = Float64Array.from({ length: 101 }, (_, i) => 100 + i);
    const den = new Float64Array(101).fill(10);
    assert.deepEqual(ratioInterval(num, den, 0.9), [10.5, 19.5]);
    assert.equal(ratioInterval(num, new Float64Array(101), 0.95), null);
  });
});

test('compareRuns: probe cells get a verdict from their executions, with n per side; a cell under --min-samples gets none', () => {
  const hs = intervals(8, 5, 50);
  const cell = (center: number, n: number): Histogram => {
    const h = newHistogram();
    for (let i = 0; i < n; i++) h.recordValue(Math.round(center * (0.95 + (0.1 * i) / (n - 1))));
    return h;
  };
  const withCells = (label: string, fast: number, slow: number, nSlow: number): RunInput => {
    const r = run(label, hs);
    const histograms = { 'probe-rollup-minutes-5m': cell(fast, 40), 'probe-raw-minutes-5m': cell(slow, nSlow) };
    const byProbe = Object.fromEntries(Object.entries(histograms).map(([k, h]) => [k.slice('probe-'.length, -'-5m'.length), {
      '5m': { p50Us: h.getValueAtPercentile(50), p99Us: h.getValueAtPercentile(99), count: h.totalCount, errors: 0, insufficient: h.totalCount < 20 },
    }]));
    return { ...r, histograms, summary: { ...r.summary, probes: { windows: ['5m'], granularity: '1m', minSamples: 20, byProbe, skipped: [], notes: [] } } as unknown as Summary };
  };
  const c = compareRuns(withCells('a', 1000, 9000, 5), withCells('b', 2000, 9000, 40));
  const rows = byFigure(c.rows);
  const p50 = rows.get('probes.rollup-minutes.5m.p50')!;
  assert.equal(p50.noise?.verdict, 'slower', JSON.stringify(p50));
  assert.deepEqual(p50.n, { a: 40, b: 40 });
  assert.ok(p50.ratioCi95 && p50.ratioCi95[0] > 1.8 && p50.ratioCi95[1] < 2.2, `b/a interval about 2: ${JSON.stringify(p50.ratioCi95)}`);
  const raw = rows.get('probes.raw-minutes.5m.p50')!;
  assert.equal(raw.noise, null);
  assert.equal(raw.noVerdictReason, 'too few samples (n 5 vs 40; need 20)');
  assert.match(comparisonTable(c), /slower \(n 40\/40\)/);
  assert.deepEqual(compareRuns(withCells('a', 1000, 9000, 5), withCells('b', 2000, 9000, 40)).rows, c.rows, 'seeded: the same verdicts again');
});
