/**
 * A trial's verdict: quantile SLOs tested on histogram samples, exact SLOs
 * compared, the implied conditions; and the sequential stop of a trial on
 * injected interval streams (certain fail, certain pass, inconclusive then
 * extended), with no database and no real time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSlos } from '../../src/capacity/slo.js';
import { judgeTrial, sloSpecs } from '../../src/capacity/verdict.js';
import { histogramSource, lookCount, looksOf, TrialMonitor } from '../../src/runner/trial-monitor.js';
import { encodeHistogram, newHistogram, type Histogram } from '../../src/metrics/histogram.js';
import type { IntervalRow } from '../../src/metrics/aggregate.js';
import type { StepInfo } from '../../src/runner/observer.js';

/** A histogram of `n` samples, `k` of them at `highUs` and the rest at `lowUs`. */
function hist(n: number, k: number, lowUs = 1000, highUs = 100_000): Histogram {
  const h = newHistogram();
  if (n - k > 0) h.recordValueWithCount(lowUs, n - k);
  if (k > 0) h.recordValueWithCount(highUs, k);
  return h;
}

const okSummary = { valid: true, invalidReasons: [] as string[], ingest: { errors: 0, errorsBySqlstate: {} } };
const slosOf = (xs: string[]) => sloSpecs(parseSlos(xs).slos);

describe('a trial\'s verdict', () => {
  test('a quantile SLO is a binomial test on its samples: pass, fail, inconclusive', () => {
    const specs = slosOf(['ingest.response.p99 <= 50ms']);
    const j = (k: number, n = 20_000) => judgeTrial(specs, okSummary, histogramSource({ 'ingest-response': hist(n, k) }), 0.05);
    assert.equal(j(150).verdict, 'pass');
    assert.equal(j(260).verdict, 'fail');
    assert.equal(j(205).verdict, 'inconclusive');
    assert.match(j(260).misses[0]!, /^ingest\.response\.p99 100\.\d+ ms \(260 of 20000 samples above 50\.00 ms/);
    // Too few samples for any pass: inconclusive, and the line says so.
    assert.equal(j(0, 100).verdict, 'inconclusive');
    assert.match(j(0, 100).undecided[0]!, /n = 100 is too few for a pass/);
  });

  test('a short trial decides on what its samples can decide; a full one must decide every SLO', () => {
    const specs = slosOf(['ingest.response.p99 <= 50ms', 'probes.*.*.response.p50 <= 1s']);
    const src = histogramSource({ 'ingest-response': hist(20_000, 0), 'panel-response-x-1d': hist(3, 0) });
    const full = judgeTrial(specs, okSummary, src, 0.05);
    assert.equal(full.verdict, 'inconclusive', '3 samples cannot show a median pass');
    const short = judgeTrial(specs, okSummary, src, 0.05, { short: true });
    assert.equal(short.verdict, 'pass');
    assert.equal(short.slos[1]!.verdict, 'unmeasured');
    assert.match(short.undecided[0]!, /left to the full-length trials/);
    // Its misses still count.
    const slow = histogramSource({ 'ingest-response': hist(20_000, 0), 'panel-response-x-1d': hist(12, 12, 1000, 3_000_000) });
    assert.equal(judgeTrial(specs, okSummary, slow, 0.05, { short: true }).verdict, 'fail');
  });

  test('a value equal to the limit is not counted above it', () => {
    const h = newHistogram();
    h.recordValueWithCount(50_000, 1000);
    const j = judgeTrial(slosOf(['ingest.response.max <= 50ms']), okSummary, histogramSource({ 'ingest-response': h }), 0.05);
    assert.equal(j.verdict, 'pass');
  });

  test('pooled panels and per-cell SLOs: the pool gathers every cell; a * SLO names its deciding cell', () => {
    const cells = {
      'panel-response-raw-minutes-1d': hist(40, 40, 1000, 2_000_000),
      'panel-response-rollup-minutes-1d': hist(40, 0),
      'panel-response-rollup-minutes-1h': hist(40, 0),
    };
    const per = judgeTrial(slosOf(['probes.*.*.response.p50 <= 1s']), okSummary, histogramSource(cells), 0.05);
    assert.equal(per.verdict, 'fail');
    assert.equal(per.slos[0]!.figure, 'probes.raw-minutes.1d.response.p50');
    const pooled = judgeTrial(slosOf(['probes.all.response.p95 <= 1s']), okSummary, histogramSource(cells), 0.05);
    assert.equal(pooled.slos[0]!.n, 120);
    assert.equal(pooled.slos[0]!.k, 40);
    assert.equal(pooled.verdict, 'fail');
  });

  test('exact SLOs compare the figure; an absent one is unmeasured, said and not held against the trial', () => {
    const specs = slosOf(['audit.lostEvents == 0']);
    assert.equal(judgeTrial(specs, { ...okSummary, audit: { lostEvents: 0 } } as never, histogramSource({}), 0.05).verdict, 'pass');
    assert.equal(judgeTrial(specs, { ...okSummary, audit: { lostEvents: 3 } } as never, histogramSource({}), 0.05).verdict, 'fail');
    const none = judgeTrial(specs, okSummary, histogramSource({}), 0.05);
    assert.equal(none.verdict, 'pass');
    assert.equal(none.slos[0]!.verdict, 'unmeasured');
    assert.equal(none.undecided.length, 1);
  });

  test('a harness verdict does not override a server-side miss: client-limited with a failing panel SLO is a fail', () => {
    const client = { ...okSummary, valid: false, invalidReasons: ['client-limited: timer lateness p99 7.60 ms exceeds --late-threshold-ms 5'] };
    const specs = slosOf(['ingest.response.p99 <= 50ms', 'probes.all.response.p95 <= 1s']);
    const slowPanels = { 'ingest-response': hist(20_000, 0), 'panel-response-x-1d': hist(200, 100, 1000, 2_400_000) };
    assert.equal(judgeTrial(specs, client, histogramSource(slowPanels), 0.05).verdict, 'fail');
    // Only the client-affected figure missed: the trial is the harness's, never a pass and not the database's fail.
    const lateIngest = { 'ingest-response': hist(20_000, 5000), 'panel-response-x-1d': hist(200, 0) };
    assert.equal(judgeTrial(specs, client, histogramSource(lateIngest), 0.05).verdict, 'harness');
    assert.equal(judgeTrial(specs, client, histogramSource({ 'ingest-response': hist(20_000, 0), 'panel-response-x-1d': hist(200, 0) }), 0.05).verdict, 'harness');
  });

  test('implied conditions: errors and the rate miss fail the trial', () => {
    const specs = slosOf([]);
    assert.equal(judgeTrial(specs, { ...okSummary, ingest: { errors: 3, errorsBySqlstate: { '57014': 3 } } }, histogramSource({}), 0.05).verdict, 'fail');
    const rate = { ...okSummary, valid: false, invalidReasons: ['achieved 1850.0 rows/s is -7.50% off the target 2000 rows/s (tolerance ±1%)'] };
    assert.equal(judgeTrial(specs, rate, histogramSource({}), 0.05).verdict, 'fail');
  });
});

describe('the sequential stop of a trial', () => {
  const step = { index: 0, runId: 'x', config: {} } as unknown as StepInfo;
  /** One second of `n` ingest samples, `k` above 50 ms, as an interval row at second `i` of the measure phase. */
  const row = (i: number, n: number, k: number): IntervalRow => ({
    index: i, startMs: i * 1000, endMs: (i + 1) * 1000, phase: 'measure', targetRowsHz: n, rows: n, achievedRowsHz: n, ops: n,
    responseP50Us: 0, responseP99Us: 0, serviceP99Us: 0, lagP99Us: 0, errors: 0, late: 0, dropped: 0, connectionsUp: 8, reconnects: 0,
    maxWorkerElu: 0, maxLoopDelayP99Us: 0, cpuCores: 0, rssBytes: 0,
    encoded: { response: encodeHistogram(hist(n, k)), service: encodeHistogram(hist(n, 0)), lag: encodeHistogram(hist(n, 0)) },
  });
  function drive(perSecond: (i: number) => [number, number], plannedMs = 10_000, stepMaxMs = 40_000) {
    let stoppedAt: number | null = null;
    const m = new TrialMonitor({
      specs: slosOf(['ingest.response.p99 <= 50ms']), alpha: 0.05 / looksOf(plannedMs, stepMaxMs).length, plannedMs, stepMaxMs, opsPerS: 1000,
      livePanels: () => ({}), stop: () => undefined,
    });
    for (let i = 0; i < stepMaxMs / 1000 && stoppedAt === null; i++) {
      const [n, k] = perSecond(i);
      m.interval(row(i, n, k), step);
      if (m.stopReason !== null) stoppedAt = i + 1;
    }
    return { stoppedAt, reason: m.stopReason, looks: m.looksTaken };
  }

  test('looks at the plan, doubled up to --step-max, and --step-max', () => {
    assert.deepEqual(looksOf(10_000, 40_000), [10_000, 20_000, 40_000]);
    assert.deepEqual(looksOf(15_000, 40_000), [15_000, 30_000, 40_000]);
  });

  test('a certain fail stops within seconds (a backlog: every sample late)', () => {
    const r = drive(() => [1000, 1000]);
    assert.ok(r.stoppedAt !== null && r.stoppedAt <= 2, `stopped at ${r.stoppedAt} s`);
    assert.match(r.reason!, /^certain fail/);
  });

  test('a clear pass stops at the planned length, not before', () => {
    const r = drive(() => [1000, 2]);
    assert.equal(r.stoppedAt, 10);
    assert.match(r.reason!, /every SLO seen live passed/);
  });

  test('a fail clear by half the plan stops at the interim look; a pass never does (the panels worsen as a trial inserts rows)', () => {
    // 3% of samples above the limit where 1% is allowed: not yet a certain fail for a 40 s trial, but decided at 5 s.
    const r = drive(() => [1000, 30]);
    assert.equal(r.stoppedAt, 5);
    assert.match(r.reason!, /interim look, which can only fail it/);
    assert.equal(r.looks, 0, 'the interim look is not one of the pass looks');
    // Without extensions (--step-max = the plan) the same holds; a clean stream waits for the plan.
    assert.equal(drive(() => [1000, 30], 20_000, 20_000).stoppedAt, 10);
    assert.equal(drive(() => [1000, 0], 20_000, 20_000).stoppedAt, 20);
    assert.equal(lookCount(20_000, 20_000), 2, 'the confidence is split over the interim look and the plan');
  });

  test('inconclusive at the plan: the trial extends to the next look', () => {
    // 1% above the limit: exactly at the SLO; undecidable, so it runs to --step-max and the schedule ends it.
    const r = drive(() => [1000, 10]);
    assert.equal(r.stoppedAt, null);
    assert.equal(r.looks, 3);
    // 0.5% above: inconclusive at 10 s (10,000 samples? no: decided), so use a milder stream: decided at the second look.
    const r2 = drive((i) => (i < 10 ? [1000, 9] : [1000, 2]));
    assert.equal(r2.stoppedAt, 20);
  });
});
