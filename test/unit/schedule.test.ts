import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenLoopSchedule, phaseAt } from '../../src/schedule/open-loop.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { Prng } from '../../src/workload/prng.js';

/** round(i·1e9/rate) in exact integer arithmetic (half up), for an integer rate. */
function exactDueNs(i: number, rate: number, offsetNs = 0): bigint {
  const num = BigInt(i) * 1_000_000_000n;
  const den = BigInt(rate);
  return BigInt(offsetNs) + (2n * num + den) / (2n * den);
}

/** Smallest i with dueNs(i) >= t, by walking. */
function bruteFirstIndex(s: OpenLoopSchedule, t: number): number {
  let i = Math.max(0, Math.floor(t / s.intervalNs) - 5);
  while (i > 0 && s.dueNs(i - 1) >= t) i--;
  while (s.dueNs(i) < t) i++;
  return i;
}

describe('OpenLoopSchedule', () => {
  test('rejects a non-positive rate', () => {
    assert.throws(() => new OpenLoopSchedule(0), RangeError);
    assert.throws(() => new OpenLoopSchedule(-1), RangeError);
    assert.throws(() => new OpenLoopSchedule(Number.NaN), RangeError);
  });

  test('dueNs = offset + round(i·1e9/rate)', () => {
    const s = new OpenLoopSchedule(3, 500);
    assert.equal(s.dueNs(0), 500);
    assert.equal(s.dueNs(1), 500 + 333_333_333);
    assert.equal(s.dueNs(2), 500 + 666_666_667);
    assert.equal(s.dueNs(3), 500 + 1_000_000_000);
    assert.equal(new OpenLoopSchedule(1000).dueNs(7), 7_000_000);
  });

  test('no drift at i = 1e7 for rate 3', () => {
    const s = new OpenLoopSchedule(3);
    assert.equal(BigInt(s.dueNs(1e7)), exactDueNs(1e7, 3));
    assert.equal(s.dueNs(1e7), 3_333_333_333_333_333);
    for (let i = 1e7 - 300; i <= 1e7 + 300; i++) assert.equal(BigInt(s.dueNs(i)), exactDueNs(i, 3), `i=${i}`);
    const withOffset = new OpenLoopSchedule(3, 123_456);
    assert.equal(BigInt(withOffset.dueNs(1e7)), exactDueNs(1e7, 3, 123_456));
  });

  test('firstIndexAtOrAfter is the smallest i with dueNs(i) >= t', () => {
    const prng = new Prng(2024);
    for (const [rate, offset] of [[3, 0], [7, 123], [1000, 0], [333, 5], [30_000, 17], [1e6 / 3, 0]] as const) {
      const s = new OpenLoopSchedule(rate, offset);
      // Exact due times and their neighbours.
      for (let i = 0; i < 50; i++) {
        const d = s.dueNs(i);
        assert.equal(s.firstIndexAtOrAfter(d), i, `rate ${rate} t=due(${i})`);
        assert.equal(s.firstIndexAtOrAfter(d + 1), i + 1, `rate ${rate} t=due(${i})+1`);
        if (d - 1 > s.dueNs(i - 1)) assert.equal(s.firstIndexAtOrAfter(d - 1), i, `rate ${rate} t=due(${i})-1`);
      }
      // Random integer times up to ~10 s.
      for (let k = 0; k < 3000; k++) {
        const t = prng.below(10_000_000_000);
        const i = s.firstIndexAtOrAfter(t);
        assert.equal(i, bruteFirstIndex(s, t), `rate ${rate} offset ${offset} t=${t}`);
      }
      // Before the start: the first operation.
      assert.equal(s.firstIndexAtOrAfter(-1_000_000_000), 0);
    }
  });

  test('countDue counts operations due in [from, to)', () => {
    const prng = new Prng(7);
    const s = new OpenLoopSchedule(7, 11);
    for (let k = 0; k < 500; k++) {
      const from = prng.below(5_000_000_000);
      const to = from + prng.below(2_000_000_000);
      let n = 0;
      for (let i = 0; s.dueNs(i) < to; i++) if (s.dueNs(i) >= from) n++;
      assert.equal(s.countDue(from, to), n, `[${from}, ${to})`);
    }
    const r = new OpenLoopSchedule(1000);
    assert.equal(r.countDue(0, 1_000_000_000), 1000);
    assert.equal(r.countDue(0, 1_000_000_001), 1001, 'operation 1000 is due at exactly 1 s');
    assert.equal(r.countDue(5, 5), 0);
    assert.equal(r.countDue(10, 0), 0, 'a reversed range is empty');
  });

  test('driven by a fake clock, a dispatcher sends every operation once, none early, on schedule', () => {
    const clock = new FakeClock();
    const s = new OpenLoopSchedule(3000, 250);
    const prng = new Prng(99);
    const sent: number[] = [];
    let next = 0;
    const endNs = 2_000_000_000;
    while (clock.nowNs() < endNs) {
      clock.advance(1 + prng.below(2_000_000)); // irregular timer wake-ups up to 2 ms
      const now = Math.min(clock.nowNs(), endNs);
      const upTo = s.firstIndexAtOrAfter(now + 1); // everything due at or before now
      for (; next < upTo; next++) {
        assert.ok(s.dueNs(next) <= now, 'never sent before its due time');
        sent.push(next);
      }
    }
    assert.equal(sent.length, s.countDue(0, endNs + 1));
    assert.equal(sent.length, 6000, '3000/s for 2 s (offset 250 ns keeps the last one, due at 2 s + 250 ns, out)');
    assert.deepEqual(sent, Array.from({ length: 6000 }, (_, i) => i));
  });
});

describe('phaseAt', () => {
  test('warm-up before warmupNs, measure from it on', () => {
    assert.equal(phaseAt(0, 1_000), 'warmup');
    assert.equal(phaseAt(999, 1_000), 'warmup');
    assert.equal(phaseAt(1_000, 1_000), 'measure');
    assert.equal(phaseAt(5_000, 1_000), 'measure');
    assert.equal(phaseAt(0, 0), 'measure', 'no warm-up');
  });

  test('with a fake clock and a schedule', () => {
    const clock = new FakeClock(0);
    const s = new OpenLoopSchedule(10);
    const warmupNs = 1_000_000_000;
    clock.advance(2_000_000_000);
    const phases = Array.from({ length: s.countDue(0, clock.nowNs()) }, (_, i) => phaseAt(s.dueNs(i), warmupNs));
    assert.equal(phases.length, 20);
    assert.equal(phases.filter((p) => p === 'warmup').length, 10);
    assert.equal(phases.filter((p) => p === 'measure').length, 10);
    assert.equal(phases[9], 'warmup');
    assert.equal(phases[10], 'measure');
  });
});
