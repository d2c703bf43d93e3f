import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maxWorkersLaunched, parallelFigures } from '../../src/probe/parallel.js';
import { maxTaskCount } from '../../src/probe/routing.js';

describe('parallelFigures', () => {
  test('p50, p99 and speedup = serial p50 / parallel p50', () => {
    const serialUs = Array.from({ length: 100 }, (_, i) => 1000 + i * 10); // 1000..1990
    const parallelUs = Array.from({ length: 100 }, (_, i) => 500 + i * 5); // 500..995
    const [f, ...rest] = parallelFigures([{ probe: 'raw-minutes', window: '1d', serialUs, parallelUs, serialWorkersLaunched: 0, parallelWorkersLaunched: 2 }], 1);
    assert.deepEqual(rest, []);
    assert.ok(f);
    assert.equal(f.probe, 'raw-minutes');
    assert.equal(f.window, '1d');
    // HDR with 3 significant digits: within 0.1% of the exact order statistic.
    assert.ok(Math.abs(f.serialP50Us - 1490) <= 2, `serial p50 ${f.serialP50Us}`);
    assert.ok(Math.abs(f.parallelP50Us - 745) <= 1, `parallel p50 ${f.parallelP50Us}`);
    assert.ok(Math.abs(f.serialP99Us - 1980) <= 2, `serial p99 ${f.serialP99Us}`);
    assert.ok(Math.abs(f.parallelP99Us - 990) <= 1, `parallel p99 ${f.parallelP99Us}`);
    assert.equal(f.speedup, f.serialP50Us / f.parallelP50Us);
    assert.ok(Math.abs((f.speedup ?? 0) - 2) < 0.01);
    assert.equal(f.serialCount, 100);
    assert.equal(f.parallelCount, 100);
    assert.equal(f.serialWorkersLaunched, 0);
    assert.equal(f.parallelWorkersLaunched, 2);
    assert.equal('shards' in f, false);
  });

  test('a slower parallel side gives a speedup below 1; shards pass through', () => {
    const [f] = parallelFigures([{ probe: 'rollup-minutes', window: '5m', serialUs: [200, 200, 200], parallelUs: [800, 800, 800], shards: 32 }], 1);
    assert.equal(f?.speedup, 0.25);
    assert.equal(f?.shards, 32);
    assert.equal(f && 'parallelWorkersLaunched' in f, false);
  });

  test('no samples on either side: no figure', () => {
    const figures = parallelFigures([
      { probe: 'a', window: '5m', serialUs: [], parallelUs: [100] },
      { probe: 'b', window: '5m', serialUs: [100], parallelUs: [] },
      { probe: 'c', window: '5m', serialUs: [], parallelUs: [] },
      { probe: 'd', window: '5m', serialUs: [Number.NaN, -1], parallelUs: [100] }, // nothing valid
      { probe: 'e', window: '5m', serialUs: [100], parallelUs: [100] },
    ], 1);
    assert.deepEqual(figures.map((f) => f.probe), ['e']);
    assert.equal(figures[0]?.speedup, 1);
  });

  test('a 0 µs parallel p50: the figure stays, without a speedup (never Infinity or NaN)', () => {
    const [f] = parallelFigures([{ probe: 'x', window: '1h', serialUs: [50, 50], parallelUs: [0, 0] }], 1);
    assert.ok(f);
    assert.equal(f.parallelP50Us, 0);
    assert.equal(f.serialP50Us, 50);
    assert.equal('speedup' in f, false);
    assert.doesNotMatch(JSON.stringify(f), /null|NaN|Infinity/);
  });

  test('a 0 µs serial p50 over a positive parallel one is a speedup of 0', () => {
    const [f] = parallelFigures([{ probe: 'x', window: '1h', serialUs: [0], parallelUs: [10] }], 1);
    assert.equal(f?.speedup, 0);
  });

  test('fractional samples are truncated to whole µs, as recorded elsewhere', () => {
    const [f] = parallelFigures([{ probe: 'x', window: '5m', serialUs: [10.9], parallelUs: [5.2] }], 1);
    assert.equal(f?.serialP50Us, 10);
    assert.equal(f?.parallelP50Us, 5);
    assert.equal(f?.speedup, 2);
  });

  test('order is kept', () => {
    const s = { serialUs: [10], parallelUs: [5] };
    const figures = parallelFigures([
      { probe: 'p2', window: '5m', ...s },
      { probe: 'p1', window: '5m', ...s },
      { probe: 'p2', window: '1d', ...s },
    ], 1);
    assert.deepEqual(figures.map((f) => `${f.probe}@${f.window}`), ['p2@5m', 'p1@5m', 'p2@1d']);
  });
});

describe('maxWorkersLaunched', () => {
  test('the largest "Workers Launched" anywhere in the plan tree', () => {
    const plan = [
      {
        Plan: {
          'Node Type': 'Sort',
          Plans: [
            { 'Node Type': 'Gather Merge', 'Workers Planned': 2, 'Workers Launched': 1, Plans: [{ 'Node Type': 'Seq Scan' }] },
            { 'Node Type': 'Gather', 'Workers Planned': 2, 'Workers Launched': 2 },
          ],
        },
      },
    ];
    assert.equal(maxWorkersLaunched(plan), 2);
  });
  test('0 for a serial plan and for junk', () => {
    assert.equal(maxWorkersLaunched([{ Plan: { 'Node Type': 'Seq Scan' } }]), 0);
    assert.equal(maxWorkersLaunched(undefined), 0);
    assert.equal(maxWorkersLaunched('Workers Launched'), 0);
    assert.equal(maxWorkersLaunched({ 'Workers Launched': '3' }), 0);
  });
});

test('parallelFigures: a side under minSamples marks the figure insufficient, its speedup null; enough samples give an interval', () => {
  const [few] = parallelFigures([{ probe: 'x', window: '5m', serialUs: [100, 110, 120], parallelUs: [50, 55, 60] }]);
  assert.equal(few?.insufficient, true);
  assert.equal(few?.speedup, null);
  assert.equal(few?.speedupCi95, null);
  const serialUs = Array.from({ length: 30 }, (_, i) => 1000 + 10 * i);
  const parallelUs = Array.from({ length: 30 }, (_, i) => 500 + 5 * i);
  const [many] = parallelFigures([{ probe: 'x', window: '5m', serialUs, parallelUs }], 20, 5);
  assert.equal(many?.insufficient, false);
  assert.ok(typeof many?.speedup === 'number' && many.speedupCi95, JSON.stringify(many));
  assert.ok(many.speedupCi95[0] <= many.speedup && many.speedup <= many.speedupCi95[1] && many.speedupCi95[0] > 1.5, JSON.stringify(many.speedupCi95));
});

test('maxTaskCount reads the distributed plan of a Citus EXPLAIN: 1 task is a router query', () => {
  const router = [{ Plan: { 'Node Type': 'Custom Scan', 'Custom Plan Provider': 'Citus Adaptive', 'Distributed Query': { Job: { 'Task Count': 1, 'Tasks Shown': 'All' } } } }];
  const fanOut = [{ Plan: { 'Node Type': 'Sort', Plans: [{ 'Node Type': 'Custom Scan', 'Distributed Query': { Job: { 'Task Count': 32 } } }] } }];
  assert.equal(maxTaskCount(router), 1);
  assert.equal(maxTaskCount(fanOut), 32);
  assert.equal(maxTaskCount([{ Plan: { 'Node Type': 'Seq Scan' } }]), 0, 'not distributed');
});
