import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveFigure } from '../../src/check/figure-path.js';
import { evaluateThresholds, parseThreshold, parseThresholds, type Threshold } from '../../src/check/threshold.js';
import { checkMarkdown, checkStatus } from '../../src/check/markdown.js';
import { newHistogram, summarize } from '../../src/metrics/histogram.js';
import { RESULT_FORMAT_VERSION, type Summary } from '../../src/results/run-record.js';

function latency(from: number, to: number): ReturnType<typeof summarize> {
  const h = newHistogram();
  for (let v = from; v <= to; v += 1) h.recordValue(v);
  return summarize(h);
}

/** A summary.json with ingest, rollup, freshness, audit and probes sections. */
function summary(responseMaxUs = 10_000, over: Record<string, unknown> = {}): Summary {
  const none = { count: 0, p50Us: 0, p90Us: 0, p95Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, meanUs: 0 };
  return {
    formatVersion: RESULT_FORMAT_VERSION,
    runId: 'r-1',
    valid: true,
    invalidReasons: [],
    notes: [],
    durationMs: 60_000,
    ingest: {
      targetRateHz: 500, achievedRateHz: 499.5, acked: 30_000, ackedMeasure: 29_000, rowsInTable: null, operations: 29_000,
      late: 3, dropped: 0, unfinished: 0, errorsBySqlstate: {}, errors: 0, reconnects: 0,
      response: latency(1, responseMaxUs), service: latency(1, 500), lag: latency(1, 100),
      warmup: { rows: 1000, errors: 0, response: latency(1, 1000) },
    },
    client: { cpuUsPerRow: 12.5, cpuCoresMean: 0.2, maxWorkerEluMean: 0.1, loopDelayP99MaxUs: 900, rssStartBytes: 1, rssEndBytes: 2 },
    rollup: {
      strategy: 'incremental', granularity: '1m', table: 'http_request_1min', hll: true, scheduler: 'harness', intervalMs: 5000,
      runs: 4, overruns: 0, historyRollupMs: 3.5, duration: latency(20_000, 30_000), errorsBySqlstate: {},
    },
    freshness: { ...latency(1_000_000, 5_000_000), markersInserted: 9, markersSeen: 9, markersUnseen: 0, overCounted: 0, errorsBySqlstate: {} },
    audit: { periods: [], lostEvents: 0, duplicatedEvents: 0, periodsChecked: 3, from: 'x', to: null, acked: 30_000, rowsInTable: 30_000 },
    probes: {
      windows: ['5m', '1h', '1d'],
      granularity: '1m',
      byProbe: {
        'rollup-minutes': {
          '5m': { p50Us: 1169, p99Us: 1500, count: 12, errors: 0, idleP50Us: 300 },
          '1d': { ...none, errors: 0, idleP50Us: 213 },
        },
      },
      rollupSpeedup: { '5m': 6.2, '1h': 12.7 },
      hllRelativeError: { '5m': 0.0077 },
    },
    ...over,
  } as unknown as Summary;
}

const t = (expr: string): Threshold => {
  const r = parseThreshold(expr);
  assert.ok(r.ok, `parses: ${expr}`);
  return r.threshold;
};

test('parseThreshold: operators, relative and absolute limits, units', () => {
  assert.deepEqual(t('ingest.response.p99 < +10%'), { source: 'ingest.response.p99 < +10%', figure: 'ingest.response.p99', op: '<', limit: { kind: 'relative', pct: 10 } });
  assert.deepEqual(t('  ingest.lag.p50<=-5%  ').limit, { kind: 'relative', pct: -5 });
  assert.deepEqual(t('ingest.lag.p50 <= 5%').limit, { kind: 'relative', pct: 5 });
  assert.deepEqual(t('probes.rollup-minutes.5m.p50 < 20ms').limit, { kind: 'absolute', value: 20, unit: 'ms' });
  assert.deepEqual(t('freshness.p99 < 1.5s').limit, { kind: 'absolute', value: 1.5, unit: 's' });
  assert.deepEqual(t('freshness.p99 < 900us').limit, { kind: 'absolute', value: 900, unit: 'us' });
  assert.deepEqual(t('freshness.p99 < 900µs').limit, { kind: 'absolute', value: 900, unit: 'us' });
  assert.deepEqual(t('audit.lostEvents == 0').limit, { kind: 'absolute', value: 0, unit: null });
  assert.deepEqual(t('probes.hllRelativeError.1h <= 0.02').limit, { kind: 'absolute', value: 0.02, unit: null });
  assert.deepEqual(t('ingest.achievedRateHz >= 1e3').limit, { kind: 'absolute', value: 1000, unit: null });
  for (const op of ['<', '<=', '>', '>=', '==', '!='] as const) assert.equal(t(`audit.lostEvents ${op} 0`).op, op);
  assert.equal(t('probes.speedups.raw-minutes/rollup-minutes.1h > 2').figure, 'probes.speedups.raw-minutes/rollup-minutes.1h');
});

test('parseThreshold: bad expressions give one problem each, naming the expression', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['ingest.response.p99', /no operator/],
    ['ingest.response.p99 = 5', /use "=="/],
    ['< 5ms', /no figure/],
    ['ingest.response.p99 <', /no limit/],
    ['ingest.response.p99 < 5 sec', /expected a number/],
    ['ingest.response.p99 < 5m', /expected a number/],
    ['ingest.response.p99 < fast', /expected a number/],
    ['ingest.response.p99 < 1.2.3ms', /not a number/],
    ['ingest.response.p99 < +5ms', /signed limit is relative/],
    ['ingest.response.p99 < < 5', /more than one operator/],
    ['ingest.response.p99 <> 5', /more than one operator/],
    ['ingest response p99 < 5', /not a figure path/],
    ['ingest.response.p99 < -100%', /above -100%/],
  ];
  for (const [expr, re] of bad) {
    const r = parseThreshold(expr);
    assert.equal(r.ok, false, `rejects ${JSON.stringify(expr)}`);
    if (!r.ok) {
      assert.match(r.problem, re, expr);
      assert.ok(r.problem.startsWith('threshold "'), r.problem);
      assert.ok(!r.problem.includes('\n'));
    }
  }
  const all = parseThresholds(['audit.lostEvents == 0', 'x', 'y = 1']);
  assert.equal(all.thresholds.length, 1);
  assert.equal(all.problems.length, 2, 'every bad expression is reported');
});

test('resolveFigure: aliases for unit suffixes, p99.9, probes.<probe>', () => {
  const s = summary();
  const v = (path: string): number => {
    const r = resolveFigure(s, path);
    assert.ok(r.ok, `${path}: ${r.ok ? '' : r.problem}`);
    return r.figure.value;
  };
  assert.equal(v('ingest.response.p99'), s.ingest.response.p99Us);
  assert.equal(v('ingest.response.p99Us'), s.ingest.response.p99Us);
  assert.equal(v('ingest.lag.p99.9'), s.ingest.lag.p999Us);
  assert.equal(v('ingest.lag.p999'), s.ingest.lag.p999Us);
  assert.equal(v('ingest.achievedRateHz'), 499.5);
  assert.equal(v('ingest.achievedRate'), 499.5);
  assert.equal(v('rollup.duration.p99'), s.rollup!.duration.p99Us);
  assert.equal(v('rollup.historyRollup'), 3.5);
  assert.equal(v('freshness.p99'), s.freshness!.p99Us);
  assert.equal(v('audit.lostEvents'), 0);
  assert.equal(v('probes.rollup-minutes.5m.p50'), 1169);
  assert.equal(v('probes.byProbe.rollup-minutes.5m.p50Us'), 1169);
  assert.equal(v('probes.rollupSpeedup.1h'), 12.7);
  assert.equal(v('client.cpuUsPerRow'), 12.5);
  const r = resolveFigure(s, 'probes.rollup-minutes.5m.p50');
  assert.ok(r.ok);
  assert.equal(r.figure.jsonPath, 'probes.byProbe.rollup-minutes.5m.p50Us');
  assert.equal(r.figure.unit, 'us');
  const units = (p: string): string => {
    const x = resolveFigure(s, p);
    assert.ok(x.ok);
    return x.figure.unit;
  };
  assert.equal(units('ingest.achievedRateHz'), 'hz');
  assert.equal(units('rollup.historyRollup'), 'ms');
  assert.equal(units('audit.lostEvents'), 'number');
  assert.equal(units('client.cpuUsPerRow'), 'us');
});

test('resolveFigure: unknown, null, section, non-number and no-sample figures do not resolve', () => {
  const s = summary();
  const problem = (path: string): string => {
    const r = resolveFigure(s, path);
    assert.equal(r.ok, false, path);
    return r.ok ? '' : r.problem;
  };
  assert.match(problem('ingest.respons.p99'), /unknown figure "ingest.respons.p99": ingest has no "respons" \(it has: targetRateHz/);
  assert.match(problem('nothing'), /summary.json has no "nothing"/);
  assert.match(problem('ingest.response.p98'), /ingest.response has no "p98"/);
  assert.match(problem('probes.nope.5m.p50'), /probes has no "nope"/);
  assert.match(problem('probes.rollupSpeedup.1d'), /no "1d"/);
  assert.match(problem('ingest.rowsInTable'), /not measured in this run/);
  assert.match(problem('ingest.response'), /is a section/);
  assert.match(problem('rollup.strategy'), /a string, not a number/);
  assert.match(problem('ingest.achievedRateHz.x'), /is a number, not a section/);
  assert.match(problem('probes.rollup-minutes.1d.p50'), /no samples in this run \(count 0\)/);
  assert.match(problem('ingest..p99'), /malformed/);
  assert.match(problem('constructor'), /unknown figure/);
  assert.match(problem('ingest.response.toString'), /unknown figure/);
  // The idle baseline of a probe with no load samples is still a figure.
  assert.ok(resolveFigure(s, 'probes.rollup-minutes.1d.idleP50').ok);
});

test('evaluateThresholds: relative limits use the baseline, absolute ones the run alone', () => {
  const base = summary(10_000);
  const slower = summary(20_000); // every response percentile about doubles
  const ths = ['ingest.response.p99 < +10%', 'ingest.response.p50 <= +110%', 'probes.rollup-minutes.5m.p50 < 20ms', 'freshness.p99 < 6s', 'audit.lostEvents == 0', 'ingest.achievedRateHz < 1', 'probes.rollupSpeedup.1h >= 10']
    .map((e) => t(e));
  const { results, problems } = evaluateThresholds(ths, slower, base);
  assert.deepEqual(problems, []);
  const byExpr = new Map(results.map((r) => [r.threshold.source, r]));
  const p99 = byExpr.get('ingest.response.p99 < +10%')!;
  assert.equal(p99.baseline?.value, base.ingest.response.p99Us);
  assert.ok(Math.abs(p99.limit - base.ingest.response.p99Us * 1.1) < 1e-6);
  assert.equal(p99.pass, false);
  assert.equal(byExpr.get('ingest.response.p50 <= +110%')!.pass, true);
  const probe = byExpr.get('probes.rollup-minutes.5m.p50 < 20ms')!;
  assert.equal(probe.limit, 20_000, 'ms converted to the figure unit (µs)');
  assert.equal(probe.pass, true);
  assert.equal(byExpr.get('freshness.p99 < 6s')!.limit, 6_000_000);
  assert.equal(byExpr.get('audit.lostEvents == 0')!.pass, true);
  assert.equal(byExpr.get('ingest.achievedRateHz < 1')!.pass, false);
  assert.equal(byExpr.get('probes.rollupSpeedup.1h >= 10')!.pass, true);

  // The same run against itself passes a relative limit.
  const self = evaluateThresholds([t('ingest.response.p99 < +10%')], base, base);
  assert.equal(self.results[0]!.pass, true);
  // A ms figure: a limit in seconds becomes ms.
  const ms = evaluateThresholds([t('rollup.historyRollup < 1s')], base, null);
  assert.equal(ms.results[0]!.limit, 1000);
});

test('evaluateThresholds: unknown figures, missing baseline and unit mismatches are problems, never passes', () => {
  const run = summary();
  const noRollup = summary(10_000, { rollup: undefined, audit: undefined });
  const cases: Array<[string, unknown, RegExp]> = [
    ['ingest.nope < 5', null, /unknown figure "ingest.nope".*\(in the run\)/],
    ['ingest.response.p99 < +10%', null, /relative limit needs --baseline/],
    ['rollup.duration.p99 < +10%', noRollup, /summary.json has no "rollup".*\(in the baseline\)/],
    ['audit.lostEvents < 5ms', null, /not a duration/],
    ['ingest.achievedRateHz > 3s', null, /not a duration/],
  ];
  for (const [expr, baseline, re] of cases) {
    const e = evaluateThresholds([t(expr)], run, baseline);
    assert.equal(e.results.length, 0, expr);
    assert.equal(e.problems.length, 1, expr);
    assert.match(e.problems[0]!, re);
  }
  const absent = evaluateThresholds([t('audit.lostEvents == 0')], noRollup, null);
  assert.equal(absent.results.length, 0, 'a run without an audit does not pass audit.lostEvents == 0');
  assert.match(absent.problems[0]!, /has no "audit"/);
  // An absolute threshold shows the baseline value when the baseline holds the figure, and tolerates its absence.
  const shown = evaluateThresholds([t('audit.lostEvents == 0')], run, noRollup);
  assert.equal(shown.problems.length, 0);
  assert.equal(shown.results[0]!.baseline, null);
});

test('checkMarkdown: table with threshold, baseline, run, limit and verdict; status ranks invalid over fail', () => {
  const base = summary(10_000);
  const run = summary(20_000);
  const { results } = evaluateThresholds([t('ingest.response.p99 < +10%'), t('audit.lostEvents == 0')], run, base);
  assert.equal(checkStatus(results, true), 'fail');
  assert.equal(checkStatus(results, false), 'invalid');
  assert.equal(checkStatus(results.slice(1), true), 'pass');
  const md = checkMarkdown({ results, run: { runId: 'run-2', valid: true, invalidReasons: [] }, baseline: { runId: 'run-1', valid: true } });
  assert.match(md, /^### rtbench check: FAIL\n/);
  assert.match(md, /\| threshold \| baseline \| run \| limit \| verdict \|/);
  assert.match(md, /\| `ingest.response.p99 < \+10%` \| 9.9ms \| 19.8ms \| < 10.9ms \| \*\*FAIL\*\* \|/);
  assert.match(md, /\| `audit.lostEvents == 0` \| 0 \| 0 \| == 0 \| PASS \|/);
  assert.match(md, /1 of 2 thresholds failed\./);
  assert.ok(md.endsWith('\n'));
  const invalid = checkMarkdown({ results: results.slice(1), run: { runId: 'run-2', valid: false, invalidReasons: ['client-limited | busy'] } });
  assert.match(invalid, /^### rtbench check: INVALID RUN/);
  assert.match(invalid, /- client-limited \\\| busy/);
  assert.match(invalid, /no baseline/);
});
