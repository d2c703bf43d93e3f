import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFigures, shortName } from '../../src/check/figures.js';
import { gateFigure, gateLimit, median, minTailSamples, percentileOf, statisticalMargin, stats, DEFAULT_GATE, MIN_HISTORY, type GateOptions } from '../../src/check/gate.js';
import { gateRun, historyMarkdown, historyStatus } from '../../src/check/history-gate.js';
import { canonicalJson, scenarioFingerprint, FINGERPRINT_EXCLUDED } from '../../src/history/fingerprint.js';
import { buildRecord, parseRecord, selectRecords, windowValues, type HistoryRecord } from '../../src/history/record.js';
import { trends } from '../../src/history/trend.js';
import { formatBytes } from '../../src/check/markdown.js';
import { toBmf, toGithubActionBenchmark } from '../../src/export/formats.js';
import { historyReportHtml, historyReportMarkdown } from '../../src/report/history-report.js';
import type { PageModel } from '../../src/report/page-model.js';
import { defaultThresholds, gateOptions, parseMinEffect } from '../../src/cli/commands/check.js';
import { UsageError } from '../../src/errors.js';
import type { RunInfo, Summary } from '../../src/results/run-record.js';

const lat = (count: number, p50Us: number, p99Us: number): Record<string, number> => ({ count, p50Us, p90Us: p99Us, p99Us, p999Us: p99Us, maxUs: p99Us, meanUs: p50Us });

function summary(over: Record<string, unknown> = {}): Summary {
  return {
    formatVersion: 1, runId: 'r', valid: true, invalidReasons: [], notes: [], durationMs: 4000,
    ingest: { achievedRateHz: 200, errors: 0, response: lat(800, 1000, 4000) },
    ...over,
  } as unknown as Summary;
}

const T: GateOptions = { ...DEFAULT_GATE, test: 't' };

test('stats: mean, sample standard deviation, median and MAD', () => {
  const s = stats([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.sd - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(s.median, 2.5);
  assert.equal(s.mad, 1);
  assert.deepEqual(stats([7]), { n: 1, mean: 7, sd: 0, median: 7, mad: 0 });
  assert.equal(median([5, 1, 3]), 3);
});

test('t-test limit: mean + t(0.99; n-1) · s · sqrt(1 + 1/n), from the jstat quantile', () => {
  // t(0.99; 4) = 3.7469 (tables); sd of 100..120 by 5 = √62.5.
  const xs = [100, 105, 110, 115, 120];
  const { limit, history } = gateLimit(xs, 'smaller', T);
  assert.ok(Math.abs(history.sd - Math.sqrt(62.5)) < 1e-12);
  assert.ok(Math.abs(limit! - (110 + 3.7469 * Math.sqrt(62.5) * Math.sqrt(6 / 5))) < 0.01, String(limit));
  // Bigger is better: the bound is below the mean.
  const lower = gateLimit(xs, 'bigger', T).limit!;
  assert.ok(Math.abs(lower - (110 - 3.7469 * Math.sqrt(62.5) * Math.sqrt(6 / 5))) < 0.01);
});

test('robust limit (the default): median + t(0.99; n-1) · 1.4826 · MAD · sqrt(1 + 1/n)', () => {
  assert.equal(DEFAULT_GATE.test, 'robust');
  const xs = [100, 104, 110, 200, 111]; // one far record: the median and MAD do not follow it
  const { limit, history } = gateLimit(xs, 'smaller', DEFAULT_GATE);
  assert.equal(history.median, 110);
  assert.equal(history.mad, 6); // |deviations| 10, 6, 0, 90, 1 → 6
  assert.ok(Math.abs(limit! - (110 + 3.7469 * 1.4826 * 6 * Math.sqrt(6 / 5))) < 0.01, String(limit));
  assert.ok(gateLimit(xs, 'smaller', T).limit! > limit! + 50, 'mean ± sd is dragged by the one far record');
});

test('jstat quantiles hold the limits @stdlib gave: t and z to 6 decimals of the tables', () => {
  // Values the gate got from @stdlib before the switch (and printed tables): [p, dof, t].
  const tTable: Array<[number, number, number]> = [[0.99, 2, 6.964557], [0.99, 9, 2.821438], [0.95, 4, 2.131847], [0.999, 29, 3.396240], [0.975, 1, 12.706205], [0.99, 99, 2.364606]];
  const h0 = stats([0]);
  for (const [p, dof, t] of tTable) {
    const h = { ...h0, n: dof + 1, mean: 0, sd: 1 };
    const margin = statisticalMargin(h, { ...T, boundary: p });
    assert.ok(Math.abs(margin / Math.sqrt(1 + 1 / h.n) - t) < 1e-6, `t(${p}; ${dof}) = ${t}, got ${margin / Math.sqrt(1 + 1 / h.n)}`);
  }
  for (const [p, z] of [[0.99, 2.326348], [0.999, 3.090232], [0.95, 1.644854]] as const) {
    const margin = statisticalMargin({ ...h0, n: 5, mean: 0, sd: 1 }, { ...DEFAULT_GATE, test: 'z', boundary: p });
    assert.ok(Math.abs(margin - z) < 1e-6, `z(${p}) = ${z}, got ${margin}`);
  }
});

test('z-test limit uses the normal quantile: z(0.99) = 2.3263', () => {
  const { limit, history } = gateLimit([100, 105, 110, 115, 120], 'smaller', { ...DEFAULT_GATE, test: 'z' });
  assert.ok(Math.abs(limit! - (110 + 2.3263 * history.sd)) < 0.01);
});

test('the minimum effect wins over a tiny spread; percent is the minimum effect alone', () => {
  const quiet = [1000, 1000.5, 999.5, 1000, 1000];
  assert.ok(Math.abs(gateLimit(quiet, 'smaller', DEFAULT_GATE).limit! - 1050) < 1e-9, 'median × 1.05');
  assert.equal(gateFigure(1030, quiet, 'smaller', DEFAULT_GATE).verdict, 'pass', 'a significant 3% change does not fail');
  assert.equal(gateFigure(1060, quiet, 'smaller', DEFAULT_GATE).verdict, 'regression');
  assert.equal(gateFigure(940, quiet, 'bigger', DEFAULT_GATE).verdict, 'regression');
  assert.equal(gateFigure(2000, quiet, 'bigger', DEFAULT_GATE).verdict, 'pass', 'better is never a regression');
  const p = { ...DEFAULT_GATE, test: 'percent' as const, minEffect: 0.2 };
  assert.equal(gateLimit([100, 150, 200, 250, 300], 'smaller', p).limit, 240);
});

test('too short a history cannot fail: fewer than 5 values is insufficient; must-be-zero figures need no history', () => {
  assert.equal(MIN_HISTORY, 5);
  for (const h of [[], [1], [1, 1], [1, 1, 1], [1, 1, 1, 1]]) {
    const r = gateFigure(1e9, h, 'smaller', DEFAULT_GATE);
    assert.equal(r.verdict, 'insufficient', `n=${h.length}`);
    assert.equal(r.limit, null);
    assert.match(r.reason!, new RegExp(`insufficient history \\(n=${h.length} < 5\\)`));
  }
  assert.equal(gateFigure(0, [], 'zero', DEFAULT_GATE).verdict, 'pass');
  assert.equal(gateFigure(2, [], 'zero', DEFAULT_GATE).verdict, 'regression');
});

/** Seeded run-to-run noise: roughly lognormal (sd ≈ 6%), as a short run's p50 on a loaded box. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
function noisy(n: number, centre: number, seed: number, farShare = 0): number[] {
  const rnd = rng(seed);
  return Array.from({ length: n }, () => {
    const u = rnd() + rnd() + rnd() - 1.5; // sum of three uniforms: sd 0.5
    const far = rnd() < farShare ? 1 + rnd() : 0; // a far run: up to 2x off (a checkpoint, another job)
    return centre * Math.exp(0.12 * u) * (1 + far);
  });
}

test('injected histories: a noisy unchanged series passes, a shifted one fails (robust gate, window 10)', () => {
  let falseAlarms = 0;
  let detected = 0;
  let checks = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const series = noisy(30, 1000, seed);
    for (let i = 10; i < 30; i++) {
      const window = series.slice(i - 10, i);
      checks++;
      if (gateFigure(series[i]!, window, 'smaller', DEFAULT_GATE).verdict === 'regression') falseAlarms++;
      // The same run on a server 3x slower (the 3 ms trigger on a ~1 ms p50).
      if (gateFigure(series[i]! * 3, window, 'smaller', DEFAULT_GATE).verdict === 'regression') detected++;
    }
  }
  assert.ok(falseAlarms / checks <= 0.05, `false alarms ${falseAlarms}/${checks}`);
  assert.equal(detected, checks, `detections ${detected}/${checks}`);
});

test('far runs in the history neither widen nor shift the robust bound as they do mean ± sd', () => {
  let robustDetected = 0;
  let tDetected = 0;
  let robustAlarms = 0;
  let checks = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const history = noisy(10, 1000, seed, 0.2); // two far runs in ten, on average
    const run = noisy(2, 1000, seed + 1000);
    checks++;
    if (gateFigure(run[0]!, history, 'smaller', DEFAULT_GATE).verdict === 'regression') robustAlarms++;
    if (gateFigure(run[1]! * 1.5, history, 'smaller', DEFAULT_GATE).verdict === 'regression') robustDetected++;
    if (gateFigure(run[1]! * 1.5, history, 'smaller', T).verdict === 'regression') tDetected++;
  }
  assert.ok(robustAlarms / checks <= 0.05, `false alarms ${robustAlarms}/${checks}`);
  assert.ok(robustDetected > tDetected, `+50% detected: robust ${robustDetected}/${checks}, t ${tDetected}/${checks}`);
});

test('a tail percentile needs 10 records and enough samples; a p50 needs neither', () => {
  const h = [4000, 4200, 3900, 4100, 4050, 3950];
  const p99 = gateFigure(40_000, h, 'smaller', DEFAULT_GATE, { path: 'ingest.response.p99Us', samples: 5000 });
  assert.equal(p99.verdict, 'insufficient');
  assert.match(p99.reason!, /insufficient history \(n=6 < 10 for a tail percentile\)/);
  const ten = [...h, 4000, 4100, 3980, 4020];
  assert.equal(gateFigure(40_000, ten, 'smaller', DEFAULT_GATE, { path: 'ingest.response.p99Us', samples: 5000 }).verdict, 'regression');
  const few = gateFigure(40_000, ten, 'smaller', DEFAULT_GATE, { path: 'ingest.response.p99Us', samples: 200 });
  assert.equal(few.verdict, 'insufficient');
  assert.match(few.reason!, /insufficient samples for a p99 \(n=200 < 299\)/);
  assert.equal(minTailSamples(95), 59);
  assert.equal(minTailSamples(99), 299);
  assert.equal(gateFigure(40_000, h, 'smaller', DEFAULT_GATE, { path: 'ingest.response.p50Us', samples: 20 }).verdict, 'regression');
  assert.equal(percentileOf('probes.byProbe.x.5m.p50Us'), 50);
  assert.equal(percentileOf('ingest.achievedRateHz'), null);
});

test('default figures: the documented set, probe cells, insufficient cells skipped and named', () => {
  const s = summary({
    rollup: { duration: lat(6, 2000, 5000) },
    freshness: lat(0, 0, 0),
    audit: { lostEvents: 0, duplicatedEvents: 1 },
    probes: { byProbe: { 'rollup-minutes': { '5m': { ...lat(40, 800, 900), errors: 0 }, '1d': { ...lat(2, 900, 900), insufficient: true } } } },
  });
  const { figures, skipped } = defaultFigures(s);
  assert.deepEqual(figures.map((f) => `${f.name}:${f.direction}`), [
    'ingest.response.p50:smaller', 'ingest.response.p99:smaller', 'ingest.achievedRateHz:bigger', 'ingest.errors:zero',
    'rollup.duration.p99:smaller', 'probes.rollup-minutes.5m.p50:smaller', 'audit.lostEvents:zero', 'audit.duplicatedEvents:zero',
  ], 'freshness with no samples is absent');
  assert.equal(figures[0]!.path, 'ingest.response.p50Us');
  assert.equal(figures[0]!.samples, 800);
  assert.equal(figures[2]!.samples, null);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!, /probes\.rollup-minutes\.1d\.p50: insufficient samples \(n=2\)/);
  assert.equal(shortName('probes.byProbe.x.5m.p50Us'), 'probes.x.5m.p50');
});

test('fingerprint: excluded keys do not change it; any other key, even a new one, does', () => {
  const base = { name: 'a', seed: 1, resultsDir: '/x', progressS: 1, keep: false, reset: false, rateHz: 200, workers: 2, dashboard: { rollup: 'none' } };
  const fp = scenarioFingerprint(base);
  assert.match(fp, /^[0-9a-f]{16}$/);
  assert.equal(scenarioFingerprint({ ...base, name: 'b', seed: 2, resultsDir: '/y', progressS: 0, keep: true, reset: true, url: 'postgresql://h:1/db', group: 'g' }), fp);
  assert.equal(scenarioFingerprint({ dashboard: { rollup: 'none' }, workers: 2, rateHz: 200, name: 'z' }), fp, 'key order does not matter');
  assert.notEqual(scenarioFingerprint({ ...base, rateHz: 201 }), fp);
  assert.notEqual(scenarioFingerprint({ ...base, dashboard: { rollup: 'incremental' } }), fp);
  assert.notEqual(scenarioFingerprint({ ...base, pipeline: 4 }), fp, 'a setting added later is in by default');
  assert.notEqual(scenarioFingerprint({ ...base, viewers: 3 }), fp);
  assert.ok(FINGERPRINT_EXCLUDED.includes('seed'));
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
});

function runInfo(runId: string, startedAt: string, config: Record<string, unknown> = { rateHz: 200 }): RunInfo {
  return { runId, startedAt, config, gitRevision: 'a'.repeat(40), gitBranch: 'main', machine: { hostname: 'box' } } as unknown as RunInfo;
}

function record(runId: string, minute: number, p50Us: number, branch = 'main'): HistoryRecord {
  return buildRecord(runInfo(runId, `2026-12-01T10:${String(minute).padStart(2, '0')}:00.000Z`), summary({ runId, ingest: { achievedRateHz: 200, errors: 0, response: lat(800, p50Us, p50Us * 4) } }), { branch });
}

test('records: built from a run, parsed back, foreign JSON refused with a reason', () => {
  const r = record('r1', 1, 1000);
  assert.equal(r.kind, 'rtbench-history-record');
  assert.equal(r.testbed, 'box');
  assert.equal(r.branch, 'main');
  assert.equal(r.figures['ingest.response.p50Us']!.value, 1000);
  assert.deepEqual(parseRecord(JSON.parse(JSON.stringify(r))), r);
  assert.match(String(parseRecord({ hello: 1 })), /not an rtbench history record/);
  assert.match(String(parseRecord([])), /not a JSON object/);
  assert.match(String(parseRecord({ ...r, formatVersion: 99 })), /newer/);
  assert.match(String(parseRecord({ ...r, figures: { x: { value: 'NaN', unit: 'us', direction: 'smaller', samples: null } } })), /figure x: no finite value/);
  assert.match(String(parseRecord({ ...r, runId: '../x' })), /runId/);
});

test('selection and window: same fingerprint, testbed and branch; the run itself excluded; last N', () => {
  const recs = [record('r3', 3, 1020), record('r1', 1, 1000), record('r2', 2, 1010), record('pr', 4, 5000, 'feature'), record('r4', 5, 990)];
  const sel = selectRecords(recs, { fingerprint: recs[0]!.fingerprint, testbed: 'box', branch: 'main' }, 'r4');
  assert.deepEqual(sel.map((r) => r.runId), ['r1', 'r2', 'r3']);
  assert.deepEqual(windowValues(sel, 'ingest.response.p50Us', 2).values, [1010, 1020]);
});

test('gateRun + markdown: a slower run fails with median ± MAD, run, limit; an unchanged one passes', () => {
  const history = [record('r1', 1, 1000), record('r2', 2, 1040), record('r3', 3, 980), record('r4', 4, 1020), record('r5', 5, 1010)];
  const slow = defaultFigures(summary({ ingest: { achievedRateHz: 200, errors: 0, response: lat(800, 5000, 20000) } })).figures;
  const rows = gateRun(slow, history, 10, DEFAULT_GATE);
  assert.equal(historyStatus(rows, true), 'fail');
  const md = historyMarkdown({ rows, run: { runId: 'slow', valid: true, invalidReasons: [] }, store: 'st', selection: { fingerprint: 'f', testbed: 'box', branch: 'main' }, matching: 5, window: 10, options: DEFAULT_GATE, skipped: [] });
  assert.match(md, /^### rtbench check --history: FAIL/);
  assert.match(md, /history median ± 1\.4826·MAD/);
  assert.match(md, /\| `ingest.response.p50` \| smaller \| 5 \| 1\.01ms ± [^|]+ \| 5ms \(n=800\) \| \+39\d% \| <= [^|]+ \| \*\*FAIL\*\* \|/);
  assert.match(md, /\| `ingest.response.p99` \| smaller \| 5 \|.*\| insufficient history \(n=5 < 10 for a tail percentile\) \|/);
  assert.match(md, /\| `ingest.achievedRateHz` \| bigger \| 5 \|.*\| PASS \|/);
  const same = defaultFigures(summary({ ingest: { achievedRateHz: 200, errors: 0, response: lat(800, 1010, 4040) } })).figures;
  assert.equal(historyStatus(gateRun(same, history, 10, DEFAULT_GATE), true), 'pass');
  assert.equal(historyStatus(gateRun(same, history, 10, DEFAULT_GATE), false), 'invalid');
  const short = gateRun(slow, history.slice(0, 2), 10, DEFAULT_GATE);
  assert.equal(historyStatus(short, true), 'pass', 'two records: insufficient history is neutral');
  assert.match(historyMarkdown({ rows: short, run: { runId: 's', valid: true, invalidReasons: [] }, store: 'st', selection: { fingerprint: 'f', testbed: 'b', branch: 'main' }, matching: 2, window: 10, options: DEFAULT_GATE, skipped: [] }), /insufficient history \(n=2 < 5\)/);
});

test('watched figures (WAL and buffers per row) are shown and judged but never fail the run; bytes read in B', () => {
  const withWal = (wal: number): Summary => summary({ server: { perRow: { walBytes: wal, buffersWritten: 0.02 } } });
  const history = [210, 190, 205, 200, 195].map((w, i) => buildRecord(runInfo(`w${i}`, `2026-12-01T10:0${i}:00.000Z`), withWal(w), { branch: 'main' }));
  const figs = defaultFigures(withWal(400)).figures;
  const wal = figs.find((f) => f.path === 'server.perRow.walBytes')!;
  assert.equal(wal.gated, false);
  assert.equal(figs.find((f) => f.path === 'ingest.response.p50Us')!.gated, true);
  const rows = gateRun(figs, history, 10, DEFAULT_GATE);
  assert.equal(rows.find((r) => r.figure.path === 'server.perRow.walBytes')!.result.verdict, 'regression');
  assert.equal(historyStatus(rows, true), 'pass', 'a watched figure does not fail the run');
  const md = historyMarkdown({ rows, run: { runId: 'w', valid: true, invalidReasons: [] }, store: 'st', selection: { fingerprint: 'f', testbed: 'b', branch: 'main' }, matching: 5, window: 10, options: DEFAULT_GATE, skipped: [] });
  assert.match(md, /\| `server.perRow.walBytes` \| smaller \| 5 \| 200 B ± 7\.41 B \| 400 B \| \+100% \| <= 2\d\d B \| worse \(watched, not gated\) \|/);
  assert.doesNotMatch(md, /MB/);
  assert.equal(formatBytes(212.4), '212 B');
  assert.equal(formatBytes(0.25), '0.25 B');
  assert.equal(formatBytes(52_428_800), '52.4 MB');
  assert.equal(formatBytes(12_345), '12.3 kB');
});

test('check --baseline default thresholds: min effect either way, zero figures == 0', () => {
  const run = defaultFigures(summary({ audit: { lostEvents: 0, duplicatedEvents: 0 } })).figures;
  assert.deepEqual(defaultThresholds(run, summary(), 0.05), [
    'ingest.response.p50 <= +5%', 'ingest.response.p99 <= +5%', 'ingest.achievedRateHz >= -5%', 'ingest.errors == 0', 'audit.lostEvents == 0', 'audit.duplicatedEvents == 0',
  ]);
});

test('trends: each record against the ones before it; a step up is flagged', () => {
  const recs = [1000, 1010, 990, 1005, 995, 1002, 3000, 1000].map((v, i) => record(`r${i}`, i, v));
  const t = trends(recs, 10, DEFAULT_GATE).find((x) => x.path === 'ingest.response.p50Us')!;
  assert.deepEqual(t.points.map((p) => p.verdict), ['insufficient', 'insufficient', 'insufficient', 'insufficient', 'insufficient', 'pass', 'regression', 'pass']);
  assert.equal(t.points[0]!.mean, null);
  assert.ok(t.points[6]!.limit! > 1005 && t.points[6]!.limit! < 3000);
  const input = { store: 'st', selection: { fingerprint: recs[0]!.fingerprint, testbed: 'box', branch: 'main' }, records: recs, trends: trends(recs, 10, DEFAULT_GATE), window: 10, options: DEFAULT_GATE, storeRecords: 8 };
  const html = historyReportHtml(input);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; [^"]*connect-src 'none'"/);
  const model = JSON.parse(/<script type="application\/json" id="rtbench-model">([^<]*)<\/script>/.exec(html)![1]!) as PageModel;
  assert.equal(model.charts.length, input.trends.length, 'a chart per figure');
  const p50 = model.charts[input.trends.findIndex((x) => x.path === 'ingest.response.p50Us')]!;
  const regression = p50.series.find((x) => x.name === 'regression')!;
  assert.deepEqual(regression.values.map((v) => v !== null), [false, false, false, false, false, false, true, false], 'the regression marked at run 7');
  assert.equal(regression.pointsOnly, true);
  assert.deepEqual(p50.fills, [{ upper: 'gate limit', lower: 'window mean', color: 'rgba(230,159,0,0.18)' }], 'the gate band filled');
  assert.equal(p50.x.categories?.length, 8);
  assert.match(historyReportMarkdown(input), /\| ingest\.response\.p50 \| smaller is better \| 8 \|/);
});

test('exports: BMF {benchmark: {measure: {value}}} in ns for latency; github-action-benchmark split by direction', () => {
  const figs = defaultFigures(summary()).figures;
  const bmf = toBmf(figs, 'quick/');
  assert.deepEqual(bmf['quick/ingest.response.p50'], { latency: { value: 1_000_000 } });
  assert.deepEqual(bmf['quick/ingest.achievedRateHz'], { throughput: { value: 200 } });
  assert.deepEqual(bmf['quick/ingest.errors'], { count: { value: 0 } });
  const smaller = toGithubActionBenchmark(figs, 'smaller', { runId: 'r', revision: null });
  assert.deepEqual(smaller.map((e) => e.name), ['ingest.response.p50', 'ingest.response.p99', 'ingest.errors']);
  assert.equal(smaller[0]!.unit, 'us');
  assert.match(smaller[0]!.extra!, /n=800 samples/);
  const bigger = toGithubActionBenchmark(figs, 'bigger', { runId: 'r', revision: null });
  assert.deepEqual(bigger.map((e) => [e.name, e.unit, e.value]), [['ingest.achievedRateHz', 'rows/s', 200]]);
});

test('gate options from the command line: defaults, and every bad value reported at once', () => {
  assert.deepEqual(gateOptions({}), { options: DEFAULT_GATE, window: 10, branch: 'main', testbed: undefined });
  assert.equal(parseMinEffect('12.5%'), 0.125);
  assert.equal(parseMinEffect('0'), 0);
  assert.throws(() => gateOptions({ test: 'q', window: '0', boundary: '1.5', minEffect: '100%' }), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.problems.length, 4, e.problems.join('\n'));
    assert.match(e.problems[0]!, /^--test: one of robust, t, z, percent/);
    assert.match(e.problems[3]!, /^--min-effect/);
    return true;
  });
});
