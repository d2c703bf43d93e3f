/**
 * The page's time series thinned (report/thin.ts), on injected data: the size
 * bounded whatever the run's length, counts and rows summed exactly, the worst
 * percentile kept, an outage of 1 s in a day and every failed interval still
 * marked, steps and the warm-up never merged across, freshness's worst and
 * never-seen markers kept; and the function works from its own source, as the
 * page inlines it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyModel, type PageInterval } from '../../src/report/page-model.js';
import { day, interval } from '../helpers/day-model.js';
import { timeCharts, timeline } from '../../src/report/page-script.js';
import { pageHtml } from '../../src/report/page.js';
import { thinModel, THIN_MAX_POINTS } from '../../src/report/thin.js';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

test('a day: at most ~2,000 points per series; ops, errors, late and unavailable ms summed exactly; rows kept by the time-weighted rate', () => {
  const m = day();
  const t = thinModel(m);
  assert.ok(t.intervals.length <= THIN_MAX_POINTS + 2, `${t.intervals.length} intervals`);
  assert.ok(t.server.length <= THIN_MAX_POINTS, `${t.server.length} server seconds`);
  assert.ok(t.freshness.length <= THIN_MAX_POINTS + 2, `${t.freshness.length} freshness points`);
  for (const k of ['ops', 'errors', 'late', 'dropped'] as const) assert.equal(sum(t.intervals.map((r) => r[k])), sum(m.intervals.map((r) => r[k])), k);
  assert.equal(sum(t.intervals.map((r) => r.unavailableMs ?? 0)), 1000);
  // Rows = rate × length: the same over the day (to rounding).
  const rows = (xs: readonly PageInterval[]): number => sum(xs.map((r, i) => r.achievedHz * (r.t - (i > 0 ? xs[i - 1]!.t : 0))));
  assert.ok(Math.abs(rows(t.intervals) - rows(m.intervals)) / rows(m.intervals) < 1e-9);
  assert.ok(t.thinned && t.thinned.intervalS >= 43 && t.thinned.intervalS <= 44, `1 point = ${t.thinned?.intervalS} s`);
  assert.equal(t.intervals.at(-1)!.t, 86_400, 'the last second is still the end');
  assert.equal(m.intervals.length, 86_400, 'the model given is left as it was');
  // The page embeds the thinned model: a day's page stays small.
  const bytes = Buffer.byteLength(pageHtml(m));
  assert.ok(bytes < 1_500_000, `${bytes} bytes`);
  assert.match(pageHtml(m), /function thinModel\(/, 'the page has the function (it thins a live model open for hours)');
});

test('the worst p99 of the merged intervals is kept, and the worst freshness reading; never-seen markers all kept', () => {
  const t = thinModel(day());
  assert.equal(Math.max(...t.intervals.map((r) => r.p99Us)), 2_500_000);
  const spike = t.intervals.find((r) => r.p99Us === 2_500_000)!;
  assert.ok(spike.t >= 70_000 && spike.t < 70_000 + 44, 'at the spike\'s time');
  assert.equal(Math.max(...t.freshness.filter((p) => p.kind === 'seen').map((p) => p.us)), 90_000_000);
  assert.deepEqual(t.freshness.filter((p) => p.kind === 'censored').map((p) => p.us), [3_000_000]);
  // Levels averaged: ingest CPU half of the seconds at 1; a lock wait of one second is in its point's mean.
  const cpu = t.server.map((r) => r.waits['ingest CPU'] ?? 0);
  assert.ok(cpu.every((v) => v > 0.4 && v < 0.6), 'ingest CPU ≈ 0.5 everywhere');
  assert.ok(t.server.some((r) => (r.waits['rollup Lock'] ?? 0) > 0), 'the lock second still shows');
});

test('an outage of 1 s in a day stays marked, and every interval with failed operations keeps its mark', () => {
  const m = day();
  const t = thinModel(m);
  const bands = timeline(t).bands.filter((b) => b.kind === 'outage');
  assert.equal(bands.length, 1);
  assert.ok(bands[0]!.from === 49_999.2 && bands[0]!.to === 50_000.1, `${bands[0]!.from}–${bands[0]!.to}`);
  assert.match(bands[0]!.label, /connection/);
  const marks = timeline(t).marks;
  assert.equal(marks.length, 2, 'the errors at 30,000 s and at the outage');
  assert.match(marks.map((k) => k.label).join(' '), /57P01×3/);
  assert.match(marks.map((k) => k.label).join(' '), /40001×1/);
  // The finished run's outages (summary) are not thinned either.
  m.outages.push({ step: 0, startS: 49_999.2, endS: 50_000.1, causes: ['connection refused'] });
  assert.deepEqual(thinModel(m).outages, m.outages);
});

test('the charts say what a point is', () => {
  const charts = timeCharts(thinModel(day()));
  const title = (id: string): string => charts.find((c) => c.id === id)?.title ?? '';
  assert.match(title('latency-over-time'), /1 point = 4\d s, the worst p99 of each/);
  assert.match(title('rate'), /1 point = 4\d s, averaged by time/);
  assert.match(title('problems-over-time'), /summed/);
  assert.match(title('server-waits'), /1 point = \d+ s, the mean/);
  assert.match(title('freshness-over-time'), /the worst of each/);
  assert.doesNotMatch(timeCharts(thinModel(emptyModel('run', 'x'))).map((c) => c.title).join(), /point =/);
});

test('steps and the warm-up are never merged across; a model within the bound is left as it is', () => {
  const m = emptyModel('capacity', 'search');
  for (let step = 0; step < 3; step++) for (let t = 1; t <= 1500; t++) m.intervals.push(interval(step, t));
  const t = thinModel(m);
  assert.ok(t.intervals.length <= 2000 + 6, `${t.intervals.length}`);
  for (let step = 0; step < 3; step++) {
    const own = t.intervals.filter((r) => r.step === step);
    assert.equal(sum(own.map((r) => r.ops)), sum(m.intervals.filter((r) => r.step === step).map((r) => r.ops)), `step ${step}'s ops`);
    assert.equal(own.filter((r) => r.warmup).at(-1)?.t, 5, 'the warm-up ends where it ended');
  }
  const small = day();
  small.intervals.length = 1000;
  small.server.length = 1000;
  small.freshness.length = 500;
  assert.equal(thinModel(small), small);
});

test('the function works from its own source, as the page inlines it', () => {
  const fromSource = new Function(`${thinModel.toString()}; return thinModel;`)() as typeof thinModel;
  const m = day();
  assert.deepEqual(fromSource(m), thinModel(m));
});
