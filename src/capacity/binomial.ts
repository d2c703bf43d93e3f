/**
 * Exact binomial tests for quantile SLOs. Pure.
 *
 * An SLO `pQ <= L` says at most a share 1 − Q of samples lies above L. On n
 * samples of which k are above L, under the boundary hypothesis (exactly that
 * share is above L) k is Binomial(n, 1 − Q). The SLO is shown met when k is
 * improbably small under it (P(X ≤ k) ≤ α), shown missed when improbably
 * large (P(X ≥ k) ≤ α), and is inconclusive otherwise: a p95 pass needs at
 * least 59 samples at 95% confidence even with none above L (0.95^59 =
 * 0.048), a p99 pass 299.
 *
 * Tails come from the regularized incomplete beta function (jstat), good to
 * about 1e-8 relative (checked against exact rational arithmetic in the
 * tests): P(X ≥ k) = I_p(k, n − k + 1), P(X ≤ k) = I_{1−p}(n − k, k + 1).
 */
import jStat from 'jstat';

/** I_x(a, b), jstat's regularized incomplete beta function (its bundled types are declared in src/check/jstat.d.ts, without it). */
const ibeta = (jStat as unknown as { ibeta(x: number, a: number, b: number): number }).ibeta;

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function upperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return ibeta(p, k, n - k + 1);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function lowerTail(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return ibeta(1 - p, n - k, k + 1);
}

/**
 * The fewest samples beyond the limit, out of n, that show a miss at level α:
 * the smallest k with P(X ≥ k) ≤ α; n + 1 when no count can.
 */
export function failCount(n: number, p: number, alpha: number): number {
  if (upperTail(n, n, p) > alpha) return n + 1;
  let lo = 0;
  let hi = n; // upperTail(hi) ≤ α holds; find the smallest such k
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (upperTail(mid, n, p) <= alpha) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The most samples beyond the limit, out of n, that still show the SLO met at
 * level α: the largest k with P(X ≤ k) ≤ α; −1 when even none cannot (too few samples).
 */
export function passCount(n: number, p: number, alpha: number): number {
  if (lowerTail(0, n, p) > alpha) return -1;
  let lo = 0; // lowerTail(lo) ≤ α holds; find the largest such k
  let hi = n;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (lowerTail(mid, n, p) <= alpha) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A test's outcome. */
export type TestVerdict = 'pass' | 'fail' | 'inconclusive';

/** One cell's counts: n samples, k of them beyond the limit. */
export interface CellCounts {
  readonly n: number;
  readonly k: number;
}

/** A cell's test result with its p-values and the critical counts at its n. */
export interface CellTest extends CellCounts {
  readonly verdict: TestVerdict;
  /** P(X ≥ k): small means a miss. */
  readonly pFail: number;
  /** P(X ≤ k): small means a pass. */
  readonly pPass: number;
  /** At this n: at most this many beyond the limit passes (−1: no count can). */
  readonly passAtMost: number;
  /** At this n: at least this many beyond the limit fails. */
  readonly failAtLeast: number;
}

/**
 * Test one cell: the SLO allows a share `allowed` (1 − Q for `pQ <= L`) of
 * samples beyond the limit; pass and fail each at level `alpha`.
 */
export function testCell(c: CellCounts, allowed: number, alpha: number, failAlpha = alpha): CellTest {
  if (allowed <= 0) {
    // `max <= L`: every sample counts; no test, the samples decide (one above is a miss).
    const verdict: TestVerdict = c.n === 0 ? 'inconclusive' : c.k === 0 ? 'pass' : 'fail';
    return { ...c, verdict, pFail: c.k > 0 ? 0 : 1, pPass: c.k === 0 && c.n > 0 ? 0 : 1, passAtMost: 0, failAtLeast: 1 };
  }
  const pFail = upperTail(c.k, c.n, allowed);
  const pPass = lowerTail(c.k, c.n, allowed);
  const verdict: TestVerdict = c.n > 0 && pFail <= failAlpha ? 'fail' : c.n > 0 && pPass <= alpha ? 'pass' : 'inconclusive';
  return { ...c, verdict, pFail, pPass, passAtMost: passCount(c.n, allowed, alpha), failAtLeast: failCount(c.n, allowed, failAlpha) };
}

/**
 * Test an SLO over several cells (a `*` pattern: every panel on every window).
 * The SLO is met only when every cell is: a pass needs each cell shown met at
 * α (an intersection–union test, level α without correction); a miss needs
 * one cell shown missed at α / m (Bonferroni over the m cells, since taking
 * the worst of m cells multiplies the false misses about m-fold).
 */
export function testCells(cells: readonly CellCounts[], allowed: number, alpha: number): { verdict: TestVerdict; cells: CellTest[] } {
  const m = Math.max(1, cells.length);
  const tests = cells.map((c) => testCell(c, allowed, alpha, alpha / m));
  const verdict: TestVerdict = tests.length === 0 ? 'inconclusive'
    : tests.some((t) => t.verdict === 'fail') ? 'fail'
      : tests.every((t) => t.verdict === 'pass') ? 'pass' : 'inconclusive';
  return { verdict, cells: tests };
}

/**
 * Curtailment: a trial planned for at most `nMax` samples has certainly
 * failed once `k` reaches the miss count at `nMax` (k can only grow, and the
 * miss count only falls as n shrinks), so it may stop now without changing
 * its verdict.
 */
export function certainFail(k: number, nMax: number, allowed: number, alpha: number): boolean {
  return k >= failCount(nMax, allowed, alpha);
}

/** Samples a cell needs before a pass can be shown at level alpha (none beyond the limit): ln α / ln(1 − allowed); 1 for `max`. */
export function samplesForPass(allowed: number, alpha: number): number {
  return allowed <= 0 ? 1 : Math.ceil(Math.log(alpha) / Math.log(1 - allowed));
}
