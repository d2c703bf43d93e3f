import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpirySchedule, auditStartAfterExpiry, expiryDueTimes, overlaps, splitByExpiry } from '../../src/schedule/expiry-schedule.js';

class Clock {
  constructor(public t = 0) {}
  nowMs(): number {
    return this.t;
  }
}

describe('expiry schedule', () => {
  test('due every period after the measure start, none at or after its end', () => {
    assert.deepEqual(expiryDueTimes(5_000, 50_000, 15_000), [20_000, 35_000]);
    assert.deepEqual(expiryDueTimes(0, 45_000, 15_000), [15_000, 30_000]);
    assert.deepEqual(expiryDueTimes(0, 10_000, 15_000), []);
    assert.throws(() => expiryDueTimes(0, 1, 0), RangeError);
  });

  test('on an injected clock: waits, runs on time, skips the due times an overrun passed', () => {
    const clock = new Clock(1_000);
    const s = new ExpirySchedule(clock, 10_000, 61_000);
    assert.equal(s.waitMs(), 10_000);
    clock.t = 11_000;
    assert.equal(s.waitMs(), 0);
    clock.t = 11_500; // a 500 ms expiry
    s.done();
    assert.equal(s.nextDueMs(), 21_000);
    clock.t = 21_000;
    clock.t = 48_000; // this one ran 27 s: the runs due at 31 s and 41 s are skipped
    s.done();
    assert.equal(s.skipped, 2);
    assert.equal(s.nextDueMs(), 51_000);
    assert.equal(s.waitMs(), 3_000);
    clock.t = 51_200;
    s.done();
    assert.equal(s.nextDueMs(), null, 'the next would be due at the end of the measure phase');
    assert.equal(s.waitMs(), null);
  });

  test('a run finishing just after its successor was due does not skip it (lateness under half a period)', () => {
    const clock = new Clock(0);
    const s = new ExpirySchedule(clock, 10_000, 100_000);
    clock.t = 10_000;
    clock.t = 22_000;
    s.done();
    assert.equal(s.skipped, 0);
    assert.equal(s.nextDueMs(), 20_000);
    assert.equal(s.waitMs(), 0);
  });
});

describe('what expiry overlapped', () => {
  test('measure intervals split into those overlapping an expiry and the rest; warm-up left out', () => {
    const rows = [0, 1, 2, 3, 4, 5].map((i) => ({ startMs: i * 1000, endMs: (i + 1) * 1000, phase: i === 0 ? 'warmup' : 'measure' }));
    const { during, rest } = splitByExpiry(rows, [{ startMs: 2_500, endMs: 3_200 }, { startMs: 0, endMs: 100 }]);
    assert.deepEqual(during, [2, 3]);
    assert.deepEqual(rest, [1, 4, 5]);
    assert.equal(overlaps({ startMs: 0, endMs: 1000 }, { startMs: 1000, endMs: 2000 }), false, 'half-open');
  });
});

describe('the audit after expiry', () => {
  const MIN = 60_000;
  test('periods holding expired rows are left out: the audit starts at the first whole period after the cutoff', () => {
    const from = 100 * MIN + 20_000;
    assert.deepEqual(auditStartAfterExpiry(from, null, 1), { fromMs: from, clipped: false });
    assert.deepEqual(auditStartAfterExpiry(from, 103 * MIN + 1, 1), { fromMs: 104 * MIN, clipped: true });
    assert.deepEqual(auditStartAfterExpiry(from, 103 * MIN, 1), { fromMs: 103 * MIN, clipped: true });
    // Expiry only removed older history: the audited window is untouched.
    assert.deepEqual(auditStartAfterExpiry(from, 90 * MIN, 1), { fromMs: from, clipped: false });
    // Cutoff inside the audit's first period: that period is left out too.
    assert.deepEqual(auditStartAfterExpiry(from, 100 * MIN + 5_000, 1), { fromMs: 101 * MIN, clipped: true });
    assert.deepEqual(auditStartAfterExpiry(from, 100 * MIN + 5_000, 15), { fromMs: 105 * MIN, clipped: true });
  });
});
