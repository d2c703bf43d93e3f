import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomialHalfCdf, DEFAULT_PAIRED, minPairs, pairedFigure, signTestInterval } from '../../src/check/paired.js';
import { abFails, abMarkdown, abRows } from '../../src/check/ab.js';

test('binomialHalfCdf: exact small cases', () => {
  assert.ok(Math.abs(binomialHalfCdf(0, 6) - 1 / 64) < 1e-12);
  assert.ok(Math.abs(binomialHalfCdf(1, 10) - 11 / 1024) < 1e-12);
  assert.ok(Math.abs(binomialHalfCdf(2, 10) - 56 / 1024) < 1e-12);
  assert.equal(binomialHalfCdf(10, 10), 1);
  assert.equal(binomialHalfCdf(-1, 10), 0);
  assert.ok(Math.abs(binomialHalfCdf(150, 300) - 0.5 - 0.5 * Math.exp(-300 * Math.LN2 + logChoose(300, 150))) < 1e-9);
});

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

test('signTestInterval: order statistics with the coverage they give; too few pairs give none', () => {
  assert.equal(signTestInterval([1, 2, 3, 4, 5], 0.95), null, '5 pairs: 2 · 0.5^5 = 6.25% > 5%');
  const six = signTestInterval([6, 1, 5, 2, 4, 3], 0.95)!;
  assert.deepEqual([six.lo, six.hi, six.k], [1, 6, 1]);
  assert.ok(Math.abs(six.coverage - (1 - 2 / 64)) < 1e-12);
  // n = 10: P(Bin ≤ 1) = 1.07% ≤ 2.5% < P(Bin ≤ 2) = 5.5%, so k = 2: [d(2), d(9)].
  const ten = signTestInterval([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0.95)!;
  assert.deepEqual([ten.lo, ten.hi, ten.k], [2, 9, 2]);
  assert.equal(minPairs(0.95), 6);
  assert.equal(minPairs(0.99), 8);
});

// A noisy machine: every round's factor hits A and B alike (the duet's point), plus a little of each run's own.
const box = [1, 2.5, 0.8, 4, 1.2, 1, 3, 0.9, 1.5, 2];
const own = [0.03, -0.02, 0.01, -0.04, 0.02, 0, -0.01, 0.04, -0.03, 0.02];

test('pairedFigure: an unchanged pair of targets on a noisy box is "same" although the rounds differ 5-fold', () => {
  const pairs = box.map((f, i) => [1000 * f, 1000 * f * (1 + own[i]!)] as const);
  const r = pairedFigure(pairs, 'smaller');
  assert.equal(r.verdict, 'same');
  assert.equal(r.n, 10);
  assert.ok(r.interval!.lo < 0 && r.interval!.hi > 0);
});

test('pairedFigure: a 20% slower candidate fails on the same noisy box; a 20% faster one is an improvement', () => {
  const slow = pairedFigure(box.map((f, i) => [1000 * f, 1200 * f * (1 + own[i]!)] as const), 'smaller');
  assert.equal(slow.verdict, 'regression');
  assert.ok(slow.change! > 0.15 && slow.change! < 0.25);
  assert.ok(slow.interval!.lo > 0);
  const fast = pairedFigure(box.map((f, i) => [1000 * f, 800 * f * (1 + own[i]!)] as const), 'smaller');
  assert.equal(fast.verdict, 'improvement');
  // A rate is bigger-is-better: a 20% lower candidate rate is the regression.
  const rate = pairedFigure(box.map((f, i) => [2000 / f, 1600 / f * (1 + own[i]!)] as const), 'bigger');
  assert.equal(rate.verdict, 'regression');
});

test('pairedFigure: a real but tiny change does not fail (minimum effect); too few pairs cannot fail', () => {
  const tiny = pairedFigure(box.map((f, i) => [1000 * f, 1020 * f * (1 + own[i]! / 100)] as const), 'smaller');
  assert.ok(tiny.interval!.lo > 0, 'the 2% change is real');
  assert.equal(tiny.verdict, 'same', 'but under the 5% minimum effect');
  const few = pairedFigure(box.slice(0, 5).map((f) => [1000 * f, 3000 * f] as const), 'smaller');
  assert.equal(few.verdict, 'insufficient');
  assert.match(few.note!, /n=5 < 6/);
});

test('pairedFigure: a side without samples is left out and counted; must-be-zero figures need no statistics', () => {
  const pairs: Array<readonly [number | null, number | null]> = box.map((f) => [1000 * f, 1500 * f] as const);
  pairs.push([null, 1000], [1000, 0]);
  const r = pairedFigure(pairs, 'smaller');
  assert.equal(r.n, 10);
  assert.match(r.note!, /2 of 12 pairs left out \(a side at 0/);
  assert.equal(r.verdict, 'regression');
  assert.equal(pairedFigure([[0, 0], [0, 3]], 'zero').verdict, 'regression');
  assert.equal(pairedFigure([[5, 0], [0, 0]], 'zero').verdict, 'same');
});

const lat = (p50Us: number, count: number): Record<string, number> => ({ count, p50Us, p90Us: p50Us * 2, p95Us: p50Us * 2, p99Us: p50Us * 3, p999Us: p50Us * 3, maxUs: p50Us * 3, meanUs: p50Us });
const closed = (p50Us: number, count = 1000) => ({ valid: true, ingest: { achievedRateHz: 8e6 / p50Us, errors: 0, response: lat(p50Us, count) } });

test('abRows: the default figures paired by round; a p99 on too few samples is left out, not judged', () => {
  const rounds = box.map((f, i) => ({ a: closed(1000 * f), b: closed(1400 * f * (1 + own[i]!), i < 3 ? 100 : 1000), first: i % 2 === 0 ? 'a' as const : 'b' as const }));
  const rows = abRows(rounds, DEFAULT_PAIRED);
  const by = (p: string) => rows.find((r) => r.path === p)!;
  assert.equal(by('ingest.response.p50Us').result.verdict, 'regression');
  assert.equal(by('ingest.achievedRateHz').result.verdict, 'regression');
  assert.equal(by('ingest.response.p99Us').result.n, 7, 'three rounds with 100 samples (< 299 for a p99) left out');
  assert.equal(by('ingest.errors').result.verdict, 'same');
  const md = abMarkdown({ rows, labelA: 'base', labelB: 'cand', rounds: 10, options: DEFAULT_PAIRED, invalid: ['round 2 b: client-limited'], runs: 20 });
  assert.match(md, /^### rtbench check --ab: FAIL/);
  assert.match(md, /\| `ingest.response.p50` \| smaller \| 10 \| [^|]+ \| [^|]+ \| \+\d+\.\d% \| \+[\d.]+% … \+[\d.]+% \| \*\*FAIL\*\* \|/);
  assert.match(md, /1 of 20 runs failed their self-check/);
  assert.ok(rows.filter(abFails).length >= 2);
});

test('abRows: a response percentile the client set in either run of a round is paired on service time on both sides', () => {
  const open = (respP50: number, serviceP50: number, timerP50: number) => ({
    valid: true, ingest: { targetRateHz: 200, achievedRateHz: 200, errors: 0, response: lat(respP50, 1000), service: lat(serviceP50, 1000), lag: lat(timerP50, 1000), timerLag: lat(timerP50, 1000) },
  });
  // b's response p50 is mostly the client's timer lateness (10 ms of 11 ms); its service time equals a's.
  const rounds = box.map((f) => ({ a: open(1000 * f, 1000 * f, 0), b: open(11000 * f, 1000 * f, 10000 * f), first: 'a' as const }));
  const p50 = abRows(rounds, DEFAULT_PAIRED).find((r) => r.path === 'ingest.response.p50Us')!;
  assert.equal(p50.onService, 10);
  assert.equal(p50.result.verdict, 'same');
});
