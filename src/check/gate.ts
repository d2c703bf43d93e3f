/**
 * The statistical gate of `rtbench check --history`: one figure of a run held
 * against the same figure in the last N history records. Pure.
 *
 * Modelled on Bencher's thresholds (bencher.dev/docs/explanation/thresholds):
 * a test over a window of past runs of the same branch, testbed and measure,
 * a minimum sample size, and a one-sided boundary on the side that is worse.
 *
 * - `robust` (default): median and MAD of the window. Run-to-run variation is
 *   not normal (Maricq et al., OSDI'18): a short run on a shared 2-core box now
 *   and then lands far off (a checkpoint, another job), and with mean ± sd one
 *   such record in a window of five widens or shifts the bound at random, while
 *   three quiet records give a bound far too tight. The median and
 *   σ̂ = 1.4826 · MAD (the MAD scaled to a normal sd) ignore up to half the
 *   window being odd. The limit is median ± t(boundary; n−1) · σ̂ · √(1 + 1/n):
 *   the prediction bound for one new run, with the robust centre and spread.
 * - `t`: Student's t on mean and sd (the gate before the A/A study; kept for
 *   comparison): mean ± t(boundary; n−1) · s · √(1 + 1/n).
 * - `z`: mean ± z(boundary) · s (Bencher's z-score; meant for windows of 30+).
 * - `percent`: no statistics, only the minimum effect below.
 *
 * In every test the limit is also at least `minEffect` away from the centre,
 * so a significant 1% change on a quiet figure does not fail CI. Figures whose
 * direction is `zero` must be 0 and need no history.
 *
 * Minimum history ({@link MIN_HISTORY} = 5): below five records the spread of
 * the window says almost nothing. With n records the chance that an unchanged
 * run is worse than all of them is 1/(n+1) (any order of n+1 exchangeable
 * runs is equally likely): 25% at n = 3, 17% at n = 5; a bound fitted to three
 * records is that tight half the time, which is the false alarm the A/A study
 * (npm run bench:gate) and the e2e saw. From five records the MAD has three
 * deviations on each side of the median and the bound's width is stable
 * enough to hold the A/A target (see the study's "history needed" column).
 * Tail percentiles (p95 and up) need more: {@link MIN_TAIL_HISTORY} records
 * and enough samples in the run ({@link minTailSamples}), otherwise they are
 * `insufficient` and cannot fail.
 *
 * Quantiles come from jstat (`studentt.inv`, `normal.inv`): one package with
 * no dependencies.
 */
import jStat from 'jstat';
import { worseThan, type Direction } from './figures.js';

export const GATE_TESTS = ['robust', 't', 'z', 'percent'] as const;
export type GateTest = (typeof GATE_TESTS)[number];

/** Fewer history records than this and a figure is `insufficient history` (see the module comment for why 5). */
export const MIN_HISTORY = 5;
/** Fewer history records than this and a tail percentile (p95 and up) is `insufficient history`. */
export const MIN_TAIL_HISTORY = 10;
/** σ̂ = MAD × this estimates a normal standard deviation. */
export const MAD_TO_SD = 1.4826;

export interface GateOptions {
  readonly test: GateTest;
  /** One-sided confidence of the statistical bound, in (0.5, 1); default 0.99. */
  readonly boundary: number;
  /** Minimum relative change that can fail, e.g. 0.05 for 5%. */
  readonly minEffect: number;
}

export const DEFAULT_GATE: GateOptions = { test: 'robust', boundary: 0.99, minEffect: 0.05 };

export interface HistoryStats {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for n = 1. */
  readonly sd: number;
  readonly median: number;
  /** Median absolute deviation from the median (unscaled). */
  readonly mad: number;
}

export type GateVerdict = 'pass' | 'regression' | 'insufficient';

export interface GateResult {
  readonly verdict: GateVerdict;
  /** Statistics of the history values used (the window); n may be 0. */
  readonly history: HistoryStats;
  /** The limit the value was held against; null when insufficient. */
  readonly limit: number | null;
  /** (value − centre) / centre, null without history or with a zero centre; the centre is the median for `robust`, else the mean. */
  readonly change: number | null;
  /** Why a figure is insufficient (one line), else null. */
  readonly reason: string | null;
}

/** The median of a list (NaN when empty). */
export function median(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Mean, sample standard deviation, median and MAD. */
export function stats(values: readonly number[]): HistoryStats {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, median: NaN, mad: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const med = median(values);
  const mad = median(values.map((v) => Math.abs(v - med)));
  if (n === 1) return { n, mean, sd: 0, median: med, mad };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { n, mean, sd: Math.sqrt(ss / (n - 1)), median: med, mad };
}

/** The centre the test measures change from: the median for `robust`, else the mean. */
export function centre(h: HistoryStats, o: GateOptions): number {
  return o.test === 'robust' ? h.median : h.mean;
}

/** How far from the centre the statistical bound lies (≥ 0), for the chosen test. */
export function statisticalMargin(h: HistoryStats, o: GateOptions): number {
  switch (o.test) {
    case 'robust': return jStat.studentt.inv(o.boundary, h.n - 1) * MAD_TO_SD * h.mad * Math.sqrt(1 + 1 / h.n);
    case 't': return jStat.studentt.inv(o.boundary, h.n - 1) * h.sd * Math.sqrt(1 + 1 / h.n);
    case 'z': return jStat.normal.inv(o.boundary, 0, 1) * h.sd;
    case 'percent': return 0;
  }
}

/** The percentile a figure path names (`…p99Us` → 99), or null. */
export function percentileOf(path: string): number | null {
  const m = /\.p(\d+)(?:Us|Ms)?$/.exec(path);
  return m ? Number(m[1]) : null;
}

/**
 * Samples a run needs before its pQ may fail: with none of n samples above
 * the limit, a pass at 95% confidence needs (Q/100)^n ≤ 0.05 (FACTS: p95 59,
 * p99 299). Below that the pQ is one of the top few samples of the run.
 */
export function minTailSamples(percentile: number): number {
  const q = percentile / 100;
  return q >= 1 ? Infinity : Math.ceil(Math.log(0.05) / Math.log(q));
}

/** What a figure brings besides its value: its path (to spot tail percentiles) and its samples. */
export interface GateFigureInfo {
  readonly path?: string;
  readonly samples?: number | null;
}

/**
 * Why this figure may not fail on this history, or null when it may: too
 * few records, or a tail percentile without enough records or samples.
 */
export function insufficiency(n: number, info: GateFigureInfo): string | null {
  const q = info.path === undefined ? null : percentileOf(info.path);
  const tail = q !== null && q >= 95;
  const need = tail ? MIN_TAIL_HISTORY : MIN_HISTORY;
  if (n < need) return `insufficient history (n=${n} < ${need}${tail ? ' for a tail percentile' : ''})`;
  if (tail && info.samples != null && info.samples < minTailSamples(q)) {
    return `insufficient samples for a p${q} (n=${info.samples} < ${minTailSamples(q)})`;
  }
  return null;
}

/**
 * The limit for a figure from its history: on the worse side of the centre,
 * at least the statistical margin and at least `minEffect` of the centre away.
 * Null with fewer than {@link MIN_HISTORY} values.
 */
export function gateLimit(history: readonly number[], direction: Exclude<Direction, 'zero'>, o: GateOptions): { limit: number | null; history: HistoryStats } {
  const h = stats(history);
  if (h.n < MIN_HISTORY) return { limit: null, history: h };
  const c = centre(h, o);
  const margin = Math.max(statisticalMargin(h, o), Math.abs(c) * o.minEffect);
  return { limit: direction === 'bigger' ? c - margin : c + margin, history: h };
}

/** Gate one value against its history values (oldest first; the caller picks the window). */
export function gateFigure(value: number, history: readonly number[], direction: Direction, o: GateOptions, info: GateFigureInfo = {}): GateResult {
  const h0 = stats(history);
  const c0 = h0.n > 0 ? centre(h0, o) : NaN;
  const change = h0.n > 0 && c0 !== 0 ? (value - c0) / Math.abs(c0) : null;
  if (direction === 'zero') return { verdict: value === 0 ? 'pass' : 'regression', history: h0, limit: 0, change, reason: null };
  const why = insufficiency(h0.n, info);
  const { limit, history: h } = gateLimit(history, direction, o);
  if (why !== null || limit === null) return { verdict: 'insufficient', history: h, limit: null, change, reason: why ?? `insufficient history (n=${h0.n} < ${MIN_HISTORY})` };
  return { verdict: worseThan(value, limit, direction) ? 'regression' : 'pass', history: h, limit, change, reason: null };
}
