import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SEARCH, estimateStepsLeft, nextStep, roundRate, type SearchNext, type SearchOptions, type SearchStep } from '../../src/capacity/search.js';
import { Prng } from '../../src/workload/prng.js';

const OPTS: SearchOptions = { ...DEFAULT_SEARCH, startHz: 500, maxHz: 100_000, minHz: 10 };

/** Drive the search with an oracle until it ends. */
function drive(oracle: (rateHz: number, nth: number) => SearchStep['verdict'], o: SearchOptions = OPTS): { steps: SearchStep[]; end: Extract<SearchNext, { action: 'done' }> } {
  const steps: SearchStep[] = [];
  for (;;) {
    const n = nextStep(steps, o);
    if (n.action === 'done') return { steps, end: n };
    const nth = steps.filter((s) => s.rateHz === n.rateHz).length;
    steps.push({ rateHz: n.rateHz, verdict: oracle(n.rateHz, nth) });
    assert.ok(steps.length <= o.maxSteps, 'the search must end');
  }
}

const count = (steps: readonly SearchStep[], rate: number, v: SearchStep['verdict']): number => steps.filter((s) => s.rateHz === rate && s.verdict === v).length;

describe('capacity search', () => {
  test('a sharp capacity: grows ×2, bisects to 5%, confirms both ends twice, brackets the truth', () => {
    const capacity = 3400;
    const { steps, end } = drive((r) => (r <= capacity ? 'pass' : 'fail'));
    assert.equal(end.end, 'found');
    assert.deepEqual(steps.slice(0, 4).map((s) => s.rateHz), [500, 1000, 2000, 4000]);
    assert.ok(end.passHz! <= capacity && capacity < end.failHz!, `bracket ${end.passHz}–${end.failHz} holds ${capacity}`);
    assert.ok(end.failHz! / end.passHz! - 1 <= OPTS.precision);
    assert.ok(count(steps, end.passHz!, 'pass') >= 2, 'pass confirmed');
    assert.ok(count(steps, end.failHz!, 'fail') >= 2, 'fail confirmed');
    assert.ok(steps.length <= 14, `${steps.length} steps`);
  });

  test('noisy verdicts within ±4% of the boundary: the bracket still holds a rate that passed twice and one above that failed twice', () => {
    const capacity = 2600;
    for (let seed = 1; seed <= 25; seed++) {
      const prng = new Prng(seed, 0);
      const { steps, end } = drive((r) => {
        if (r < capacity * 0.96) return 'pass';
        if (r > capacity * 1.04) return 'fail';
        return prng.next() < 0.5 ? 'pass' : 'fail';
      });
      assert.ok(end.end === 'found' || end.end === 'step-limit', `seed ${seed}: ${end.end}`);
      if (end.end !== 'found') continue;
      assert.ok(end.passHz! < end.failHz!);
      assert.ok(count(steps, end.passHz!, 'pass') >= 2 && count(steps, end.passHz!, 'pass') > count(steps, end.passHz!, 'fail'), `seed ${seed}: pass majority`);
      assert.ok(count(steps, end.failHz!, 'fail') >= 2 && count(steps, end.failHz!, 'fail') > count(steps, end.failHz!, 'pass'), `seed ${seed}: fail majority`);
      assert.ok(end.passHz! >= capacity * 0.96 * 0.95 && end.failHz! <= capacity * 1.04 * 1.06, `seed ${seed}: ${end.passHz}–${end.failHz} near ${capacity}`);
    }
  });

  test('one flaky failure below the capacity is outvoted, not taken as the limit', () => {
    const capacity = 5000;
    let flaked = false;
    const { steps, end } = drive((r) => {
      if (r === 2000 && !flaked) {
        flaked = true;
        return 'fail';
      }
      return r <= capacity ? 'pass' : 'fail';
    });
    assert.equal(end.end, 'found');
    assert.ok(count(steps, 2000, 'pass') >= 2, '2000 rerun until its majority passes');
    assert.ok(end.passHz! <= capacity && capacity < end.failHz!);
  });

  test('nothing passes: shrinks to --min, confirms the lowest failure twice, ends no-pass', () => {
    const { steps, end } = drive(() => 'fail', { ...OPTS, startHz: 400, minHz: 50 });
    assert.equal(end.end, 'no-pass');
    assert.equal(end.passHz, null);
    assert.equal(end.failHz, 50);
    assert.equal(count(steps, 50, 'fail'), 2);
    assert.deepEqual([...new Set(steps.map((s) => s.rateHz))], [400, 200, 100, 50]);
  });

  test('harness-bound: a rate the client cannot drive twice becomes a ceiling; the search closes in below it and ends ≥ pass', () => {
    const { steps, end } = drive((r) => (r >= 2000 ? 'harness' : 'pass'));
    assert.equal(end.end, 'harness-bound');
    assert.ok(end.passHz! < 2000 && end.harnessHz! >= 2000, `${end.passHz} < 2000 ≤ ${end.harnessHz}`);
    assert.ok(end.harnessHz! / end.passHz! - 1 <= OPTS.precision + 0.01);
    assert.equal(end.failHz, null);
    assert.equal(count(steps, 2000, 'harness'), 2);
    assert.ok(count(steps, end.passHz!, 'pass') >= 2, 'the pass below the ceiling is confirmed');
  });

  test('harness-bound from the first step: shrinks below the ceiling to find a rate the client can drive', () => {
    const { steps, end } = drive((r) => (r >= 300 ? 'harness' : 'pass'), { ...OPTS, startHz: 1000 });
    assert.equal(end.end, 'harness-bound');
    assert.ok(end.passHz !== null && end.passHz < 300, `pass ${end.passHz}`);
    assert.deepEqual(steps.slice(0, 4).map((s) => s.rateHz), [1000, 1000, 500, 500]);
  });

  test('a fail of the database below the client\'s ceiling: the bracket is found as usual', () => {
    const { end } = drive((r) => (r >= 4000 ? 'harness' : r <= 2500 ? 'pass' : 'fail'));
    assert.equal(end.end, 'found');
    assert.ok(end.passHz! <= 2500 && end.failHz! > 2500);
  });

  test('nothing the client can drive down to --min: harness-bound with no pass', () => {
    const { end } = drive(() => 'harness', { ...OPTS, startHz: 100, minHz: 50 });
    assert.equal(end.end, 'harness-bound');
    assert.equal(end.passHz, null);
    assert.equal(end.harnessHz, 50);
  });

  test('a single harness-bound step (a noisy moment) is repeated and the search goes on', () => {
    let once = false;
    const { end } = drive((r) => {
      if (r === 1000 && !once) {
        once = true;
        return 'harness';
      }
      return r <= 3000 ? 'pass' : 'fail';
    });
    assert.equal(end.end, 'found');
  });

  test('--max passes: the capacity is at least --max', () => {
    const { end } = drive(() => 'pass', { ...OPTS, maxHz: 3000 });
    assert.equal(end.end, 'max-passed');
    assert.equal(end.passHz, 3000);
  });

  test('--max-steps bounds the search and keeps the bracket so far', () => {
    const { steps, end } = drive((r) => (r <= 3400 ? 'pass' : 'fail'), { ...OPTS, maxSteps: 6 });
    assert.equal(steps.length, 6);
    assert.equal(end.end, 'step-limit');
    assert.ok(end.passHz! <= 3400 && end.failHz! > 3400);
  });

  test('rates are rounded to three significant digits above 1,000', () => {
    assert.equal(roundRate(3456.7), 3460);
    assert.equal(roundRate(12_345), 12_300);
    assert.equal(roundRate(512.4), 512);
    assert.equal(roundRate(0.2), 1);
  });

  test('the estimate of steps left shrinks as the bracket closes and is 0 at the end', () => {
    const steps: SearchStep[] = [];
    const estimates: number[] = [];
    for (;;) {
      const n = nextStep(steps, OPTS);
      estimates.push(estimateStepsLeft(steps, OPTS));
      if (n.action === 'done') break;
      steps.push({ rateHz: n.rateHz, verdict: n.rateHz <= 3400 ? 'pass' : 'fail' });
    }
    assert.equal(estimates[estimates.length - 1], 0);
    assert.ok(estimates.every((e) => e >= 0));
  });
});

describe('capacity across targets', () => {
  test('b/a with its bracket: [pass b / fail a, fail b / pass a]; null when a side has no capacity', async () => {
    const { capacityRatio } = await import('../../src/cli/commands/capacity.js');
    const side = (capacityHz: number | null, bracket: [number | null, number | null]) => ({ capacityHz, bracket }) as unknown as Parameters<typeof capacityRatio>[0];
    const r = capacityRatio(side(1000, [1000, 1050]), side(3000, [3000, 3150]));
    assert.equal(r.ratio, 3);
    assert.ok(Math.abs(r.low! - 3000 / 1050) < 1e-12 && Math.abs(r.high! - 3.15) < 1e-12);
    assert.ok(r.low! <= r.ratio! && r.ratio! <= r.high!);
    assert.equal(capacityRatio(side(null, [null, 50]), side(3000, [3000, 3150])).ratio, null);
  });
});
