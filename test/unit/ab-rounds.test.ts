import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pairMadeRuns, type MadeRun } from '../../src/check/ab-rounds.js';

const run = (dir: string, startMs: number, endMs: number, valid = true): MadeRun => ({ dir, startMs, endMs, summary: { dir }, valid, invalidReasons: valid ? [] : ['client-limited'] });

describe('pairMadeRuns', () => {
  test('pairs by start order, whatever order the dirs were listed in; which side ran first per round', () => {
    const a = [run('a2', 300, 400), run('a1', 0, 100), run('a3', 500, 600)];
    const b = [run('b1', 100, 200), run('b3', 600, 700), run('b2', 200, 300, false)];
    const r = pairMadeRuns(a, b);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.rounds.map((x) => [(x.a as { dir: string }).dir, (x.b as { dir: string }).dir, x.first]), [['a1', 'b1', 'a'], ['a2', 'b2', 'b'], ['a3', 'b3', 'a']]);
    assert.deepEqual(r.invalid, ['round 2 b: client-limited']);
  });

  test('unequal counts, runs at the same time, and runs out of their rounds are each named', () => {
    assert.match(pairMadeRuns([run('a1', 0, 1)], []).problems.join('\n'), /--a-runs holds 1 runs and --b-runs 0/);
    assert.match(pairMadeRuns([run('a1', 0, 100)], [run('b1', 50, 150)]).problems.join('\n'), /round 1: a1 and b1 ran at the same time/);
    // All of a, then all of b: round 2's a started before round 1's b ended.
    const p = pairMadeRuns([run('a1', 0, 100), run('a2', 100, 200)], [run('b1', 200, 300), run('b2', 300, 400)]).problems;
    assert.match(p.join('\n'), /round 2: a2 started before round 1 ended; the runs were not made in alternating rounds/);
  });
});
