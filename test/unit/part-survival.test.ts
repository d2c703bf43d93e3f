import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SurvivalTracker, survivalNote } from '../../src/metrics/part-survival.js';
import { MarkerBook } from '../../src/rollup/freshness.js';

/** A clock the test moves. */
function clock(startMs: number): { now: () => number; at: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, at: (ms) => { t = ms; } };
}

describe('SurvivalTracker', () => {
  test('an outage runs from the first connection-class failure to the next success; one line names it', () => {
    const c = clock(1_000_000);
    const s = new SurvivalTracker(c.now);
    c.at(1_002_000); s.success();
    c.at(1_010_200); s.failure('57P01');
    c.at(1_010_700); s.failure('57P03');
    c.at(1_011_100); s.failure('57P03');
    assert.equal(s.down, true);
    c.at(1_011_900); s.success();
    c.at(1_013_900); s.success();
    const r = s.result(1_000_000);
    assert.deepEqual(r.outages, [{ startMs: 10_200, endMs: 11_900, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] }]);
    assert.equal(r.failedAttempts, 3);
    assert.equal(r.lastOkMs, 13_900);
    assert.equal(r.okAfterOutages, 2);
    assert.equal(survivalNote('rollup', 'run', 'runs', r),
      'rollup: could not run 10.2–11.9 s (57P01 admin_shutdown, then 57P03 cannot_connect_now): 3 failed attempts; reconnected; 2 runs after it');
  });

  test('errors that are not the server going away are no outage; no outage, no line', () => {
    const s = new SurvivalTracker(() => 5);
    s.failure('23505');
    s.failure('40P01');
    s.success();
    const r = s.result(0);
    assert.deepEqual(r.outages, []);
    assert.equal(r.failedAttempts, 0);
    assert.equal(survivalNote('viewers', 'refresh their panels', 'panels served', r), null);
  });

  test('an outage still open at the end is reported open, with nothing after it', () => {
    const c = clock(0);
    const s = new SurvivalTracker(c.now);
    c.at(100); s.success();
    c.at(4_000); s.failure('08006');
    const r = s.result(0);
    assert.deepEqual(r.outages, [{ startMs: 4_000, endMs: null, causes: ['08006 connection_failure'] }]);
    assert.equal(r.okAfterOutages, 0);
    assert.match(survivalNote('freshness', 'insert or look for its markers', 'marker inserts and polls', r)!, /from 4\.0 s to the end .*it had not reconnected by the end of the step$/);
  });
});

describe('MarkerBook: a marker insert whose connection died may have committed', () => {
  test('the rollup counting it is not double counting; one more beyond it is', () => {
    const b = new MarkerBook();
    b.add(60_000, 1e9);
    b.addInDoubt(60_000);
    b.observe(new Map([[60_000, 2]]), 2e9);
    assert.equal(b.overCounted, 0);
    b.observe(new Map([[60_000, 3]]), 3e9);
    assert.equal(b.overCounted, 1);
  });
});
