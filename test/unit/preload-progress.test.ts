import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkSeed, formatPreloadProgress, preloadProgress } from '../../src/rollup/preload.js';

test('progress: rate since the start and the time left at that rate', () => {
  const p = preloadProgress(2_000_000, 10_000_000, 5_000);
  assert.equal(p.rowsPerS, 400_000);
  assert.equal(p.etaMs, 20_000);
  assert.equal(formatPreloadProgress(p), 'preload: 2,000,000 / 10,000,000 rows (20%), 400,000 rows/s, 20 s left');
  assert.equal(formatPreloadProgress(preloadProgress(1_000_000, 100_000_000, 10_000)), 'preload: 1,000,000 / 100,000,000 rows (1%), 100,000 rows/s, 16.5 min left');
  assert.equal(preloadProgress(0, 10, 0).etaMs, null);
  assert.equal(formatPreloadProgress(preloadProgress(0, 10, 0)), 'preload: 0 / 10 rows (0%), 0 rows/s');
});

test('chunk seeds: deterministic, in [−1, 1), distinct across chunks and seeds', () => {
  assert.equal(chunkSeed(42, 3), chunkSeed(42, 3));
  const seeds = new Set<number>();
  for (let c = 0; c < 1000; c++) {
    const s = chunkSeed(42, c);
    assert.ok(s >= -1 && s < 1);
    seeds.add(s);
  }
  assert.equal(seeds.size, 1000);
  assert.notEqual(chunkSeed(1, 0), chunkSeed(2, 0));
});
