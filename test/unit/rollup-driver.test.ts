import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cronSchedule } from '../../src/rollup/driver.js';
import { MarkerBook } from '../../src/rollup/freshness.js';
import { chunkSeed } from '../../src/rollup/preload.js';

describe('cronSchedule', () => {
  test('whole minutes that divide an hour become cron expressions', () => {
    assert.deepEqual(cronSchedule(60_000, '1.4-1'), { schedule: '* * * * *' });
    assert.deepEqual(cronSchedule(300_000, '1.4-1'), { schedule: '*/5 * * * *' });
    assert.ok('reason' in cronSchedule(7 * 60_000, '1.6'));
  });
  test('seconds need pg_cron 1.5+', () => {
    assert.deepEqual(cronSchedule(5000, '1.5'), { schedule: '5 seconds' });
    assert.deepEqual(cronSchedule(5000, '1.6.4'), { schedule: '5 seconds' });
    const old = cronSchedule(5000, '1.4-1');
    assert.ok('reason' in old && /1\.4-1 has no second schedules/.test(old.reason));
    assert.ok('reason' in cronSchedule(2500, '1.6'));
    assert.ok('reason' in cronSchedule(90_000, '1.6'));
  });
});

describe('MarkerBook', () => {
  const ms = 1_000_000;
  test('a count covers the first markers of its period; freshness is seen − commit', () => {
    const b = new MarkerBook();
    b.add(0, 100 * ms);
    b.add(0, 200 * ms);
    b.add(60_000, 300 * ms);
    assert.equal(b.oldestPending(), 0);
    assert.deepEqual(b.observe(new Map([[0, 1]]), 250 * ms), [150 * ms]);
    assert.deepEqual(b.observe(new Map([[0, 1]]), 260 * ms), [], 'nothing new');
    assert.deepEqual(b.observe(new Map([[0, 2], [60_000, 1]]), 400 * ms), [200 * ms, 100 * ms]);
    assert.equal(b.seen, 3);
    assert.equal(b.pending, 0);
    assert.equal(b.oldestPending(), undefined);
    assert.equal(b.overCounted, 0);
  });
  test('counts beyond the markers inserted are over-counting; unseen markers are given up after a while', () => {
    const b = new MarkerBook();
    b.add(0, 10 * ms);
    b.add(0, 20 * ms);
    b.add(60_000, 30 * ms);
    b.observe(new Map([[60_000, 3]]), 40 * ms);
    assert.equal(b.overCounted, 2);
    b.expire(25 * ms); // period 0's last marker is older: its 2 unseen markers are given up
    assert.equal(b.givenUp, 2);
    assert.equal(b.pending, 0);
    assert.equal(b.overCounted, 2, 'kept after the period is retired');
    b.expire(1000 * ms);
    assert.equal(b.overCounted, 2);
    assert.equal(b.givenUp, 2);
  });
});

describe('chunkSeed', () => {
  test('deterministic, within setseed range, different per chunk and seed', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      for (let chunk = 0; chunk < 50; chunk++) {
        const s = chunkSeed(seed, chunk);
        assert.ok(s >= -1 && s <= 1, String(s));
        assert.equal(chunkSeed(seed, chunk), s);
        seen.add(s);
      }
    }
    assert.equal(seen.size, 1000);
  });
});
