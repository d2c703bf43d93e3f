import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { faultWindow, splitAroundFault } from '../../src/metrics/fault-phases.js';

describe('the fault window', () => {
  test('from the fault\'s start to the later of its end and the last outage after it began', () => {
    const outages = [{ startMs: 10_300, endMs: 12_400, causes: ['57P03 cannot_connect_now'] }];
    assert.deepEqual(faultWindow([{ startMs: 10_000, endMs: 12_000 }], outages, 20_000), { startMs: 10_000, endMs: 12_400 });
    // A command that returns before the outage it causes (a switchover): the outage still counts.
    assert.deepEqual(faultWindow([{ startMs: 5_000, endMs: 5_050 }], [{ startMs: 5_500, endMs: 7_000, causes: [] }], 20_000), { startMs: 5_000, endMs: 7_000 });
    // An outage over before the fault is not its own; one still open at the end reaches the step's end.
    assert.deepEqual(faultWindow([{ startMs: 5_000, endMs: 6_000 }], [{ startMs: 1_000, endMs: 2_000, causes: [] }], 20_000), { startMs: 5_000, endMs: 6_000 });
    assert.deepEqual(faultWindow([{ startMs: 5_000, endMs: 6_000 }], [{ startMs: 5_200, endMs: null, causes: [] }], 20_000), { startMs: 5_000, endMs: 20_000 });
  });

  test('no fault that ran: no window', () => {
    assert.equal(faultWindow([], [], 10_000), null);
    assert.equal(faultWindow([{ startMs: null, endMs: null }], [{ startMs: 1, endMs: 2, causes: [] }], 10_000), null);
  });
});

describe('a panel before / during / after', () => {
  test('each execution falls in the phase of its due time; misses are counted in theirs', () => {
    const w = { startMs: 10_000, endMs: 12_000 };
    const x = {
      dueMs: [2_000, 4_000, 6_000, 8_000, 10_000, 11_000, 12_000, 14_000],
      responseUs: [1_000, 2_000, 3_000, 4_000, 900_000, 2_500_000, 5_000, 6_000],
      missedDueMs: [11_500, 13_000],
    };
    const r = splitAroundFault(x, w);
    assert.deepEqual(r.before, { count: 4, p50Us: 2_000, p95Us: 4_000, p99Us: 4_000, maxUs: 4_000, missed: 0 });
    assert.deepEqual(r.during, { count: 2, p50Us: 900_000, p95Us: 2_500_000, p99Us: 2_500_000, maxUs: 2_500_000, missed: 1 });
    assert.deepEqual(r.after, { count: 2, p50Us: 5_000, p95Us: 6_000, p99Us: 6_000, maxUs: 6_000, missed: 1 });
  });

  test('a phase without executions has no percentile, only its misses', () => {
    const r = splitAroundFault({ dueMs: [1_000], responseUs: [500], missedDueMs: [5_000, 5_500] }, { startMs: 4_000, endMs: 6_000 });
    assert.deepEqual(r.during, { count: 0, p50Us: null, p95Us: null, p99Us: null, maxUs: null, missed: 2 });
    assert.equal(r.after.count, 0);
  });
});
