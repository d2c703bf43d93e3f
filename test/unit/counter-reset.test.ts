/** Regression (issue 22): a restart read as a negative delta ("server -0.11 cores"). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { counterDelta, counterResets, counterSeconds, diffCounters, type CounterSnapshot } from '../../src/telemetry/counters.js';

function snap(atMs: number, commits: number, walBytes: number, lsnBytes: number): CounterSnapshot {
  return {
    atMs,
    lsnBytes,
    wal: { records: walBytes / 100, fpi: 0, bytes: walBytes },
    bgwriter: { checkpointsTimed: 0, checkpointsReq: 0, buffersWritten: 0 },
    database: { commits, rollbacks: 0, blksHit: 0, blksRead: 0, tempBytes: 0 },
    tables: {},
  };
}

describe('counter resets', () => {
  test('a counter that went backwards is a reset: its value since the reset, never negative', () => {
    assert.equal(counterDelta(150, 100), 50);
    assert.equal(counterDelta(30, 1000), 30);
  });

  test('over a window with a restart in it, deltas are summed reading by reading', () => {
    const before = snap(0, 1000, 10_000, 1_000_000);
    const between = [snap(1000, 1500, 15_000, 1_050_000), snap(2000, 40, 400, 1_060_000), snap(3000, 540, 5_400, 1_110_000)];
    const after = snap(4000, 1040, 10_400, 1_160_000);
    const c = diffCounters(before, after, 2000, between);
    // 500 before the restart, 40 counted since it at the first reading after, then 500 + 500.
    assert.equal(c.commits, 1540);
    assert.equal(c.statWalBytes, 15_400);
    assert.ok(Object.values(c).every((v) => v === null || v >= 0), JSON.stringify(c));
    assert.deepEqual(counterResets([before, ...between, after]), [2000]);
    // Without the readings between, a reset the counter climbed back over is invisible (40): why the sampler passes them all.
    assert.equal(diffCounters(before, after, 2000).commits, 40);
    assert.equal(diffCounters(before, between[1]!, 2000).commits, 40, 'a visible reset gives the value since it, not 40 − 1000');
  });

  test('the per-second rates of server.csv never go negative', () => {
    const secs = counterSeconds([snap(0, 1000, 10_000, 5000), snap(1000, 10, 100, 5200)]);
    assert.equal(secs[0]!.commitsPerS, 10);
    assert.ok(secs[0]!.walBytesPerS >= 0);
  });

  test('no reset, no line', () => {
    assert.deepEqual(counterResets([snap(0, 1, 1, 1), snap(1000, 2, 2, 2)]), []);
  });
});
