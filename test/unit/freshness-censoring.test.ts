/** Regression (issue 22): freshness markers the rollup never saw were not recorded, so freshness.p99 could be better than the truth. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MarkerBook } from '../../src/rollup/freshness.js';

const ms = 1_000_000;

describe('freshness censoring', () => {
  test('markers never seen are censored samples with their age at the end', () => {
    const b = new MarkerBook();
    b.add(0, 100 * ms);
    b.add(0, 200 * ms);
    b.add(60_000, 300 * ms);
    assert.deepEqual(b.observe(new Map([[0, 1]]), 250 * ms), [150 * ms]);
    // The step ends at 5 s with two markers unseen: their freshness is at least their age.
    assert.deepEqual(b.unseenAges(5000 * ms).sort((x, y) => x - y), [4700 * ms, 4800 * ms]);
    assert.ok(Math.min(...b.unseenAges(5000 * ms)) > 150 * ms, 'worse than anything seen: a percentile over both is never better than the truth');
  });

  test('a given-up marker keeps its age when given up', () => {
    const b = new MarkerBook();
    b.add(0, 10 * ms);
    b.expire(20 * ms, 130 * ms);
    assert.equal(b.givenUp, 1);
    assert.deepEqual(b.unseenAges(999 * ms), [120 * ms]);
  });

  test('all seen: nothing censored', () => {
    const b = new MarkerBook();
    b.add(0, 10 * ms);
    b.observe(new Map([[0, 1]]), 30 * ms);
    assert.deepEqual(b.unseenAges(100 * ms), []);
  });
});
