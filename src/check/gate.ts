/**
 * The statistical gate of `rtbench check --history`: one figure of a run held
 * against the same figure in the last N history records. Pure.
 *
 * Modelled on Bencher's thresholds (bencher.dev/docs/explanation/thresholds):
 * a test over a window of past runs of the same branch, testbed and measure,
 * a minimum sample size, and a one-sided boundary on the side that is worse
 * (Bencher's "upper boundary" for latency, "lower boundary" for throughput).
 *
 * - `t` (default): Student's t. The limit is the one-sided `boundary`
 *   prediction bound for one new run: mean ± t(boundary; n−1) · s · √(1 + 1/n),
 *   where s is the sample standard deviation of the window. Bencher uses
 *   mean ± t(boundary; n−1) · s; the √(1 + 1/n) factor accounts for the
 *   uncertainty of the mean itself, which matters with the few runs a CI
 *   cache holds (n = 3 widens the bound by 15%).
 * - `z`: the normal quantile instead: mean ± z(boundary) · s (Bencher's
 *   z-score test; meant for windows of 30 or more).
 * - `percent`: no statistics, only the minimum effect below.
 *
 * In every test the limit is also at least `minEffect` away from the mean
 * (mean × (1 ± minEffect)), so a significant 1% change on a quiet figure does
 * not fail CI. Figures whose direction is `zero` must be 0 and need no history.
 * With fewer than {@link MIN_HISTORY} records a figure is `insufficient` and
 * never fails (Bencher's minimum sample size).
 *
 * The default boundary, 0.99, is Bencher's documented example: about one false
 * alarm in a hundred unchanged runs per figure if run-to-run noise were normal.
 * Quantiles come from jstat (`studentt.inv`, `normal.inv`): one package with no
 * dependencies, where the two @stdlib quantile packages pulled in 227. Over
 * p 0.51–0.9999 and 1–1000 degrees of freedom they agree with @stdlib's to a
 * relative 6e-8 (checked before switching; the unit test holds table values).
 */
import jStat from 'jstat';
import { worseThan, type Direction } from './figures.js';

export const GATE_TESTS = ['t', 'z', 'percent'] as const;
export type GateTest = (typeof GATE_TESTS)[number];

/** Fewer history records than this and a figure is `insufficient history`. */
export const MIN_HISTORY = 3;

export interface GateOptions {
  readonly test: GateTest;
  /** One-sided confidence of the statistical bound, in (0.5, 1); default 0.99. */
  readonly boundary: number;
  /** Minimum relative change that can fail, e.g. 0.05 for 5%. */
  readonly minEffect: number;
}

export const DEFAULT_GATE: GateOptions = { test: 't', boundary: 0.99, minEffect: 0.05 };

export interface HistoryStats {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for n = 1. */
  readonly sd: number;
}

export type GateVerdict = 'pass' | 'regression' | 'insufficient';

export interface GateResult {
  readonly verdict: GateVerdict;
  /** Statistics of the history values used (the window); n may be 0. */
  readonly history: HistoryStats;
  /** The limit the value was held against; null when insufficient. */
  readonly limit: number | null;
  /** (value − mean) / mean, null without history or with a zero mean. */
  readonly change: number | null;
}

/** Mean and sample standard deviation. */
export function stats(values: readonly number[]): HistoryStats {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: 0 };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { n, mean, sd: Math.sqrt(ss / (n - 1)) };
}

/** How far from the mean the statistical bound lies (≥ 0), for the chosen test. */
export function statisticalMargin(h: HistoryStats, o: GateOptions): number {
  switch (o.test) {
    case 't': return jStat.studentt.inv(o.boundary, h.n - 1) * h.sd * Math.sqrt(1 + 1 / h.n);
    case 'z': return jStat.normal.inv(o.boundary, 0, 1) * h.sd;
    case 'percent': return 0;
  }
}

/**
 * The limit for a figure from its history: on the worse side of the mean, at
 * least the statistical margin and at least `minEffect` of the mean away.
 * Null with fewer than {@link MIN_HISTORY} values.
 */
export function gateLimit(history: readonly number[], direction: Exclude<Direction, 'zero'>, o: GateOptions): { limit: number | null; history: HistoryStats } {
  const h = stats(history);
  if (h.n < MIN_HISTORY) return { limit: null, history: h };
  const margin = Math.max(statisticalMargin(h, o), Math.abs(h.mean) * o.minEffect);
  return { limit: direction === 'bigger' ? h.mean - margin : h.mean + margin, history: h };
}

/** Gate one value against its history values (oldest first; the caller picks the window). */
export function gateFigure(value: number, history: readonly number[], direction: Direction, o: GateOptions): GateResult {
  const h0 = stats(history);
  const change = h0.n > 0 && h0.mean !== 0 ? (value - h0.mean) / Math.abs(h0.mean) : null;
  if (direction === 'zero') return { verdict: value === 0 ? 'pass' : 'regression', history: h0, limit: 0, change };
  const { limit, history: h } = gateLimit(history, direction, o);
  if (limit === null) return { verdict: 'insufficient', history: h, limit: null, change };
  return { verdict: worseThan(value, limit, direction) ? 'regression' : 'pass', history: h, limit, change };
}
