/**
 * The exact binomial tests behind quantile SLOs, checked against values
 * computed independently here with exact rational arithmetic (BigInt), not
 * with the incomplete beta function the module uses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { certainFail, failCount, lowerTail, passCount, testCell, testCells, upperTail } from '../../src/capacity/binomial.js';

/** P(X ≤ k) for X ~ Binomial(n, num/den), exactly, as a float at the end. */
function exactLowerTail(k: number, n: number, num: number, den: number): number {
  const a = BigInt(num);
  const b = BigInt(den - num);
  let coef = 1n;
  let sum = 0n;
  for (let i = 0; i <= k; i++) {
    if (i > 0) coef = (coef * BigInt(n - i + 1)) / BigInt(i);
    sum += coef * a ** BigInt(i) * b ** BigInt(n - i);
  }
  const total = BigInt(den) ** BigInt(n);
  // Ratio to 15 significant digits.
  const scale = 10n ** 18n;
  return Number((sum * scale) / total) / 1e18;
}

const exactUpperTail = (k: number, n: number, num: number, den: number): number => (k <= 0 ? 1 : 1 - exactLowerTail(k - 1, n, num, den));

/** Critical counts by brute force over the exact tails. */
function exactPassCount(n: number, num: number, den: number, alpha: number): number {
  let best = -1;
  for (let k = 0; k <= n; k++) if (exactLowerTail(k, n, num, den) <= alpha) best = k;
  return best;
}
function exactFailCount(n: number, num: number, den: number, alpha: number): number {
  for (let k = 0; k <= n; k++) if (exactUpperTail(k, n, num, den) <= alpha) return k;
  return n + 1;
}

describe('exact binomial tails', () => {
  test('the tails match exact rational arithmetic', () => {
    for (const [k, n, num, den] of [[0, 59, 1, 20], [0, 24, 1, 20], [3, 100, 1, 20], [9, 100, 1, 20], [2, 299, 1, 100], [7, 400, 1, 100], [5, 12, 1, 2]] as const) {
      const p = num / den;
      const lo = lowerTail(k, n, p);
      const ex = exactLowerTail(k, n, num, den);
      // jstat's continued fraction is good to about 1e-8 relative: far below what moves a verdict at alpha = 0.05.
      assert.ok(Math.abs(lo - ex) <= 1e-7 * ex, `P(X ≤ ${k} | ${n}, ${p}) = ${lo}, exact ${ex}`);
      const up = upperTail(k + 1, n, p);
      const exu = exactUpperTail(k + 1, n, num, den);
      assert.ok(Math.abs(up - exu) <= 1e-7 * Math.max(exu, 1e-12), `P(X ≥ ${k + 1} | ${n}, ${p}) = ${up}, exact ${exu}`);
    }
    assert.ok(Math.abs(lowerTail(0, 59, 0.05) - 0.95 ** 59) < 1e-12);
  });

  test('critical counts match brute force over the exact tails', () => {
    for (const n of [5, 12, 24, 58, 59, 60, 100, 200]) {
      assert.equal(passCount(n, 0.05, 0.05), exactPassCount(n, 1, 20, 0.05), `p95 pass count at n = ${n}`);
      assert.equal(failCount(n, 0.05, 0.05), exactFailCount(n, 1, 20, 0.05), `p95 fail count at n = ${n}`);
      assert.equal(passCount(n, 0.5, 0.025), exactPassCount(n, 1, 2, 0.025), `p50 pass count at n = ${n}`);
    }
    for (const n of [298, 299, 500]) {
      assert.equal(passCount(n, 0.01, 0.05), exactPassCount(n, 1, 100, 0.05), `p99 pass count at n = ${n}`);
      assert.equal(failCount(n, 0.01, 0.05), exactFailCount(n, 1, 100, 0.05), `p99 fail count at n = ${n}`);
    }
  });

  test('the known thresholds: a p95 pass needs 59 samples, a p99 pass 299 (none above the limit)', () => {
    assert.equal(passCount(58, 0.05, 0.05), -1);
    assert.equal(passCount(59, 0.05, 0.05), 0);
    assert.equal(passCount(298, 0.01, 0.05), -1);
    assert.equal(passCount(299, 0.01, 0.05), 0);
    // The example: 24 samples, none above the limit: no pass at 95% (0.95^24 = 0.29).
    assert.equal(testCell({ n: 24, k: 0 }, 0.05, 0.05).verdict, 'inconclusive');
  });
});

describe('verdicts from counts', () => {
  test('pass, fail and inconclusive at one cell', () => {
    assert.equal(testCell({ n: 20_000, k: 150 }, 0.01, 0.05).verdict, 'pass');
    assert.equal(testCell({ n: 20_000, k: 260 }, 0.01, 0.05).verdict, 'fail');
    assert.equal(testCell({ n: 20_000, k: 205 }, 0.01, 0.05).verdict, 'inconclusive');
    assert.equal(testCell({ n: 0, k: 0 }, 0.01, 0.05).verdict, 'inconclusive');
  });

  test('the multi-cell correction: a miss needs alpha / cells, a pass needs every cell', () => {
    // One cell of 9 with a p-value between 0.05/9 and 0.05: a miss for one cell alone, not for the worst of nine.
    const n = 100;
    let k = 0;
    while (upperTail(k, n, 0.05) > 0.05) k++;
    const p = upperTail(k, n, 0.05);
    assert.ok(p <= 0.05 && p > 0.05 / 9, `k = ${k}: p = ${p}`);
    assert.equal(testCells([{ n, k }], 0.05, 0.05).verdict, 'fail');
    const nine = [{ n, k }, ...Array.from({ length: 8 }, () => ({ n, k: 0 }))];
    assert.equal(testCells(nine, 0.05, 0.05).verdict, 'inconclusive');
    // Far enough over, it is a miss of the SLO even among nine.
    assert.equal(testCells([{ n, k: k + 6 }, ...nine.slice(1)], 0.05, 0.05).verdict, 'fail');
    // A pass needs every cell shown to pass.
    assert.equal(testCells(Array.from({ length: 9 }, () => ({ n, k: 0 })), 0.05, 0.05).verdict, 'pass');
    assert.equal(testCells([{ n: 30, k: 0 }, ...Array.from({ length: 8 }, () => ({ n, k: 0 }))], 0.05, 0.05).verdict, 'inconclusive');
  });

  test('curtailment: a trial of at most nMax samples has certainly failed once k reaches the miss count at nMax', () => {
    const nMax = 30_000;
    const crit = failCount(nMax, 0.01, 0.05);
    assert.equal(certainFail(crit - 1, nMax, 0.01, 0.05), false);
    assert.equal(certainFail(crit, nMax, 0.01, 0.05), true);
    // …and at any smaller final n the test fails too (the miss count only falls as n shrinks).
    for (const n of [crit, 5000, 20_000, nMax]) assert.equal(testCell({ n, k: crit }, 0.01, 0.05).verdict, 'fail', `n = ${n}`);
  });
});
