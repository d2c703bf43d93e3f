/** merge: which sets of run dirs form one complete --instance family (every problem at once). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunInfo } from '../../src/results/run-record.js';
import { checkInstances, instanceOf } from '../../src/merge/validate.js';

function run(dir: string, instance: { index: number; count: number } | null, extra: { seed?: number; formatVersion?: number } = {}): { dir: string; run: RunInfo } {
  return { dir, run: { runId: `id-${dir}`, formatVersion: extra.formatVersion ?? 1, seed: extra.seed ?? 3, config: { instance } } as unknown as RunInfo };
}

test('a complete family passes, in any order', () => {
  const c = checkInstances([run('c', { index: 3, count: 3 }), run('a', { index: 1, count: 3 }), run('b', { index: 2, count: 3 })]);
  assert.deepEqual(c, { problems: [], warnings: [] });
});

test('every problem is listed: not an instance run, different N, duplicate index, format versions', () => {
  const c = checkInstances([
    run('a', { index: 1, count: 2 }),
    run('b', { index: 1, count: 3 }),
    run('plain', null),
    run('old', { index: 2, count: 2 }, { formatVersion: 0 }),
  ]);
  assert.equal(c.problems.length, 4, c.problems.join('\n'));
  assert.match(c.problems[0]!, /^plain: run id-plain is not an instance run/);
  assert.match(c.problems[1]!, /disagree on the number of instances N: a is 1\/2, b is 1\/3, old is 2\/2/);
  assert.match(c.problems[2]!, /^instance 1 appears 2 times: a, b$/);
  assert.match(c.problems[3]!, /different result format versions: a v1, b v1, plain v1, old v0/);
});

test('missing instances are named; a duplicate is not mistaken for a complete set', () => {
  const c = checkInstances([run('a', { index: 1, count: 4 }), run('a2', { index: 1, count: 4 }), run('c', { index: 3, count: 4 })]);
  assert.deepEqual(c.problems, ['instance 1 appears 2 times: a, a2', 'instances 2/4, 4/4 missing: give the result dirs of all 4 instances']);
});

test('a single non-instance run: one line', () => {
  assert.deepEqual(checkInstances([run('x', null)]).problems, ['x: run id-x is not an instance run (its run.json has no --instance i/N)']);
});

test('different seeds are a warning, not a problem', () => {
  const c = checkInstances([run('a', { index: 1, count: 2 }, { seed: 1 }), run('b', { index: 2, count: 2 }, { seed: 2 })]);
  assert.deepEqual(c.problems, []);
  assert.deepEqual(c.warnings, ['the instances ran with different seeds (1/2: 1, 2/2: 2); were they launched together?']);
});

test('instanceOf: malformed values are not instances', () => {
  const of = (v: unknown): unknown => instanceOf({ config: { instance: v } } as unknown as RunInfo);
  assert.deepEqual(of({ index: 2, count: 2 }), { index: 2, count: 2 });
  for (const v of [null, undefined, '1/2', { index: 3, count: 2 }, { index: 0, count: 2 }, { index: 1.5, count: 2 }]) assert.equal(of(v), null);
});
