/**
 * The verdict of `rtbench check --ab`: base (A) and candidate (B) measured in
 * alternating rounds on the same machine, the duet way (Bulej et al., ICPE
 * 2020), judged from the paired differences. Pure.
 *
 * Round i gives one pair (A_i, B_i) per figure, run back to back, so whatever
 * the machine did during that round (another job, a checkpoint, a hot CPU)
 * fell on both. The change of round i is d_i = ln(B_i / A_i): latencies and
 * rates on a shared box move by factors, not by fixed amounts, and the log
 * ratio makes a slow round and a fast round weigh the same.
 *
 * The interval is the sign test's (the order statistics of the d_i around
 * their median; Maricq et al., OSDI'18: run-to-run variation is not normal,
 * use nonparametric intervals): for n pairs the interval [d_(k), d_(n+1−k)]
 * holds the median change with probability 1 − 2·P(Binomial(n, ½) ≤ k − 1),
 * whatever the distribution of the d_i, as long as the rounds are independent.
 * It needs no symmetry and no variance; the price is that it needs at least 6
 * pairs for a 95% interval (with 6 it is [min, max]).
 *
 * A figure regresses when the whole interval lies on the worse side of 0
 * (the change is real at that confidence) and the median change exceeds the
 * minimum effect (and is worth failing CI for). A must-be-zero figure
 * regresses when any candidate run has it above 0.
 */
import type { Direction } from './figures.js';

/** Fewer pairs than this and no interval reaches 95% (2 · 0.5^n > 0.05 for n ≤ 5). */
export const MIN_PAIRS_95 = 6;

/** P(Binomial(n, ½) ≤ k), exactly enough for n up to a few hundred. */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  // Sum of C(n, i) / 2^n in logs, so n in the hundreds does not overflow.
  let logC = -n * Math.LN2;
  let sum = Math.exp(logC);
  for (let i = 1; i <= k; i++) {
    logC += Math.log((n - i + 1) / i);
    sum += Math.exp(logC);
  }
  return Math.min(1, sum);
}

export interface SignInterval {
  /** Lower and upper end (order statistics d_(k) and d_(n+1−k)). */
  readonly lo: number;
  readonly hi: number;
  /** The order statistic's rank k (1-based). */
  readonly k: number;
  /** The interval's actual two-sided coverage, ≥ the asked confidence. */
  readonly coverage: number;
}

/**
 * The sign test's interval for the median of `values` at two-sided
 * `confidence` (e.g. 0.95): the narrowest order-statistic interval whose
 * coverage is at least that. Null when n is too small for any.
 */
export function signTestInterval(values: readonly number[], confidence: number): SignInterval | null {
  const n = values.length;
  const alpha = 1 - confidence;
  let k = 0;
  while (k + 1 <= Math.floor((n + 1) / 2) && 2 * binomialHalfCdf(k, n) <= alpha) k++;
  if (k === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return { lo: s[k - 1]!, hi: s[n - k]!, k, coverage: 1 - 2 * binomialHalfCdf(k - 1, n) };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export type PairedVerdict = 'regression' | 'improvement' | 'same' | 'insufficient';

export interface PairedOptions {
  /** Two-sided confidence of the interval, in (0, 1); default 0.95. */
  readonly confidence: number;
  /** Smallest relative change that can fail, e.g. 0.05. */
  readonly minEffect: number;
}

export const DEFAULT_PAIRED: PairedOptions = { confidence: 0.95, minEffect: 0.05 };

export interface PairedResult {
  readonly verdict: PairedVerdict;
  /** Pairs used (both values present and positive). */
  readonly n: number;
  /** Median of A and of B over the pairs used. */
  readonly medianA: number;
  readonly medianB: number;
  /** Median change B/A − 1, and its interval (as B/A − 1), null when insufficient. */
  readonly change: number | null;
  readonly interval: { readonly lo: number; readonly hi: number; readonly coverage: number } | null;
  /** One line when insufficient or when pairs were left out, else null. */
  readonly note: string | null;
}

/**
 * Judge one figure from its pairs (A_i, B_i). Pairs where either value is
 * missing or not positive cannot give a log ratio and are left out and
 * counted in the note; a must-be-zero figure needs no statistics.
 */
export function pairedFigure(pairs: ReadonlyArray<readonly [number | null, number | null]>, direction: Direction, o: PairedOptions = DEFAULT_PAIRED): PairedResult {
  const as = pairs.map((p) => p[0]).filter((v): v is number => v !== null);
  const bs = pairs.map((p) => p[1]).filter((v): v is number => v !== null);
  if (direction === 'zero') {
    const worst = bs.length > 0 ? Math.max(...bs) : 0;
    return {
      verdict: bs.length === 0 ? 'insufficient' : worst > 0 ? 'regression' : 'same', n: bs.length,
      medianA: median(as), medianB: median(bs), change: null, interval: null,
      note: bs.length === 0 ? 'no candidate run measured it' : worst > 0 ? `the candidate's worst run: ${worst}` : null,
    };
  }
  const used = pairs.filter((p): p is readonly [number, number] => p[0] !== null && p[1] !== null && p[0] > 0 && p[1] > 0);
  const left = pairs.length - used.length;
  const leftNote = left > 0 ? `${left} of ${pairs.length} pairs left out (a side at 0, without samples, or with too few for its percentile)` : null;
  const medianA = median(used.map((p) => p[0]));
  const medianB = median(used.map((p) => p[1]));
  // Worse is positive: a slower latency or a lower rate.
  const sign = direction === 'bigger' ? -1 : 1;
  const d = used.map((p) => Math.log(p[1] / p[0]));
  const iv = signTestInterval(d, o.confidence);
  if (iv === null) {
    return {
      verdict: 'insufficient', n: used.length, medianA, medianB, change: used.length > 0 ? Math.expm1(median(d)) : null, interval: null,
      note: `insufficient pairs (n=${used.length} < ${minPairs(o.confidence)} for a ${(o.confidence * 100).toFixed(0)}% interval)` + (leftNote ? `; ${leftNote}` : ''),
    };
  }
  const m = median(d);
  const effect = Math.log1p(o.minEffect);
  // The interval's ends on the worse-is-positive scale: its nearer end to "better" and its nearer end to "worse".
  const least = Math.min(sign * iv.lo, sign * iv.hi);
  const most = Math.max(sign * iv.lo, sign * iv.hi);
  let verdict: PairedVerdict = 'same';
  if (least > 0 && sign * m > effect) verdict = 'regression';
  else if (most < 0 && sign * m < -effect) verdict = 'improvement';
  return {
    verdict, n: used.length, medianA, medianB, change: Math.expm1(m),
    interval: { lo: Math.expm1(iv.lo), hi: Math.expm1(iv.hi), coverage: iv.coverage }, note: leftNote,
  };
}

/** The fewest pairs giving an interval at this confidence. */
export function minPairs(confidence: number): number {
  let n = 1;
  while (2 * binomialHalfCdf(0, n) > 1 - confidence) n++;
  return n;
}
