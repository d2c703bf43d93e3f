import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCounts } from '../../src/rollup/audit.js';

const t = (minute: number): Date => new Date(Date.UTC(2026, 0, 1, 12, minute));

describe('compareCounts', () => {
  test('equal counts: nothing lost or duplicated', () => {
    const r = compareCounts([{ periodStart: t(0), count: 5 }], [{ periodStart: t(0), count: 5 }]);
    assert.deepEqual(r, { periods: [{ periodStart: t(0), rawCount: 5, rollupCount: 5 }], lostEvents: 0, duplicatedEvents: 0, periodsChecked: 1 });
  });

  test('loss and duplication are totalled per period, never netted against each other', () => {
    const raw = [{ periodStart: t(1), count: 10 }, { periodStart: t(0), count: 7 }, { periodStart: t(2), count: 3 }];
    const rollup = [{ periodStart: t(0), count: 9 }, { periodStart: t(1), count: 4 }];
    const r = compareCounts(raw, rollup);
    assert.equal(r.lostEvents, 6 + 3);
    assert.equal(r.duplicatedEvents, 2);
    assert.equal(r.periodsChecked, 3);
    assert.deepEqual(r.periods.map((p) => p.periodStart), [t(0), t(1), t(2)], 'in time order');
  });

  test('periods only in the rollup count as duplicated; several rollup rows of a period add up', () => {
    const r = compareCounts([], [{ periodStart: t(5), count: 2 }, { periodStart: t(5), count: 1 }]);
    assert.deepEqual(r.periods, [{ periodStart: t(5), rawCount: 0, rollupCount: 3 }]);
    assert.equal(r.duplicatedEvents, 3);
    assert.equal(r.lostEvents, 0);
  });

  test('empty input', () => {
    assert.deepEqual(compareCounts([], []), { periods: [], lostEvents: 0, duplicatedEvents: 0, periodsChecked: 0 });
  });
});
