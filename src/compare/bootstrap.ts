/**
 * Bootstrap over measure intervals: resample a run's interval histograms with
 * replacement, merge them, take a statistic (a percentile, the max, the mean);
 * repeat. Two runs' bootstrap distributions give an interval for the
 * difference B − A, and so a verdict that accounts for run-to-run noise.
 * Pure and seeded: the same inputs and seed give the same answer.
 *
 * Merging is exact, never an average of percentiles: every interval histogram
 * is reduced once to its non-empty buckets (HdrHistogram counts-array indexes,
 * with each bucket's highest equivalent value, which getValueAtPercentile
 * returns), and a resample adds bucket counts. That is what Histogram.add()
 * does, without walking ~23 000 mostly empty buckets per add, which would make
 * 1000 resamples of a long run take minutes. Percentiles use HdrHistogram's
 * rule, so resampling every interval once gives exactly the add()-merged
 * figures (a unit test holds this).
 *
 * Neighbouring intervals are correlated (a checkpoint or a rollup slows
 * several seconds in a row), so a long run is resampled in blocks of
 * consecutive intervals (a block bootstrap), which also bounds the cost.
 */
import { JsHistogram } from 'hdr-histogram-js';
import type { Histogram } from '../metrics/histogram.js';
import { Prng } from '../workload/prng.js';

/** A statistic of a merged histogram: a percentile (100 = max) or the mean. */
export type Stat = { readonly kind: 'percentile'; readonly p: number } | { readonly kind: 'mean' };

/** Histograms of one tag in both runs, reduced to shared bucket indexes. */
export interface SparseSet {
  /** Highest equivalent value of each bucket, ascending (µs). */
  readonly highs: Float64Array;
  /** Median equivalent value of each bucket (for means, as HdrHistogram computes them). */
  readonly medians: Float64Array;
  /** Per input group (run), per interval: bucket indexes and counts. */
  readonly groups: SparseHistogram[][];
}

export interface SparseHistogram {
  readonly idx: Int32Array;
  readonly counts: Float64Array;
  readonly total: number;
}

/**
 * The counts array of hdr-histogram-js's typed-array histograms (Int32Histogram
 * etc.: `_counts`, public in its typings), read directly because a method call
 * per bucket makes reducing an hour of intervals take seconds; undefined for
 * other layouts (packed), which fall back to getCountAtIndex.
 */
function countsOf(h: JsHistogram): ArrayLike<number> | undefined {
  const c = (h as unknown as { _counts?: unknown })._counts;
  return ArrayBuffer.isView(c) && !(c instanceof DataView) ? (c as unknown as ArrayLike<number>) : undefined;
}

function asJs(h: Histogram): JsHistogram {
  if (!(h instanceof JsHistogram)) throw new Error('bootstrap: expected a JS (not WebAssembly) histogram');
  return h;
}

/**
 * Reduce groups of histograms (e.g. [runA intervals, runB intervals]) to
 * sparse bucket lists over one shared, sorted bucket index. All histograms
 * must share a bucket layout (rtbench records 3 significant digits from 1 µs),
 * so a counts-array index means the same value range in each of them,
 * whatever its array length.
 */
export function toSparseSet(groups: readonly (readonly Histogram[])[]): SparseSet {
  const js = groups.map((hs) => hs.map(asJs));
  const all = js.flat();
  const first = all[0];
  if (!first) return { highs: new Float64Array(0), medians: new Float64Array(0), groups: js.map(() => []) };
  let maxLength = 0;
  for (const h of all) {
    if (h.subBucketHalfCountMagnitude !== first.subBucketHalfCountMagnitude || h.unitMagnitude !== first.unitMagnitude) {
      throw new Error('bootstrap: interval histograms of different precision cannot be merged');
    }
    maxLength = Math.max(maxLength, h.countsArrayLength);
  }
  // Pass 1: non-empty counts-array indexes of each histogram, and which indexes occur at all.
  const present = new Uint8Array(maxLength);
  const scratchIdx = new Int32Array(maxLength);
  const scratchCounts = new Float64Array(maxLength);
  const out: SparseHistogram[][] = js.map((hs) =>
    hs.map((h) => {
      // Nothing is recorded past the max value's bucket: scan only up to it.
      const n = h.totalCount === 0 ? 0 : Math.min(h.countsArrayLength, h.countsArrayIndex(h.maxValue) + 1);
      const counts = countsOf(h) ?? Float64Array.from({ length: n }, (_, i) => h.getCountAtIndex(i));
      let nz = 0;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const c = counts[i]!;
        if (c > 0) {
          scratchIdx[nz] = i;
          scratchCounts[nz] = c;
          nz++;
          total += c;
          present[i] = 1;
        }
      }
      return { idx: scratchIdx.slice(0, nz), counts: scratchCounts.slice(0, nz), total };
    }),
  );
  // Pass 2: number the occurring indexes in value order (counts-array order is value order).
  const position = new Int32Array(maxLength).fill(-1);
  const highs: number[] = [];
  const medians: number[] = [];
  for (let i = 0; i < maxLength; i++) {
    if (present[i] === 0) continue;
    position[i] = highs.length;
    const v = first.valueFromIndex(i); // arithmetic on the shared layout, valid past first's own length
    highs.push(first.highestEquivalentValue(v));
    medians.push(first.medianEquivalentValue(v));
  }
  // Pass 3: counts-array indexes become positions in highs/medians.
  for (const g of out) {
    for (const sh of g) for (let k = 0; k < sh.idx.length; k++) sh.idx[k] = position[sh.idx[k]!]!;
  }
  return { highs: Float64Array.from(highs), medians: Float64Array.from(medians), groups: out };
}

/** Merge consecutive intervals into at most `maxBlocks` blocks of near-equal length (a block bootstrap). */
export function toBlocks(intervals: readonly SparseHistogram[], maxBlocks: number, bucketCount: number): SparseHistogram[] {
  const n = intervals.length;
  if (n <= maxBlocks) return [...intervals];
  const dense = new Float64Array(bucketCount);
  const blocks: SparseHistogram[] = [];
  for (let b = 0; b < maxBlocks; b++) {
    const from = Math.floor((b * n) / maxBlocks);
    const to = Math.floor(((b + 1) * n) / maxBlocks);
    dense.fill(0);
    let total = 0;
    for (let i = from; i < to; i++) {
      const s = intervals[i]!;
      for (let k = 0; k < s.idx.length; k++) dense[s.idx[k]!]! += s.counts[k]!;
      total += s.total;
    }
    const idx: number[] = [];
    const counts: number[] = [];
    for (let j = 0; j < bucketCount; j++) {
      if (dense[j]! > 0) {
        idx.push(j);
        counts.push(dense[j]!);
      }
    }
    blocks.push({ idx: Int32Array.from(idx), counts: Float64Array.from(counts), total });
  }
  return blocks;
}

/** One unit in the last place of x (as HdrHistogram's ulp). */
function ulp(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return Number.MIN_VALUE;
  return 2 ** (Math.floor(Math.log2(a)) - 52);
}

/** HdrHistogram's count at a percentile: round up, guarding against 1-ulp float error; at least 1. */
function countAtPercentile(p: number, total: number): number {
  const fp = (Math.min(p, 100) / 100) * total;
  return Math.max(Math.ceil(fp - ulp(fp)), 1);
}

/**
 * Statistics of the merged counts `dense` (bucket index → count), with the
 * same answers as HdrHistogram's getValueAtPercentile and mean. NaN for an
 * empty histogram.
 */
export function statsOfCounts(dense: Float64Array, total: number, set: Pick<SparseSet, 'highs' | 'medians'>, stats: readonly Stat[]): number[] {
  if (total <= 0) return stats.map(() => Number.NaN);
  const out = new Array<number>(stats.length).fill(Number.NaN);
  const wanted = stats
    .map((s, i) => ({ i, target: s.kind === 'percentile' ? countAtPercentile(s.p, total) : -1 }))
    .filter((w) => w.target >= 0)
    .sort((a, b) => a.target - b.target);
  const needMean = stats.some((s) => s.kind === 'mean');
  let cum = 0;
  let sum = 0;
  let w = 0;
  for (let j = 0; j < dense.length; j++) {
    const c = dense[j]!;
    if (c === 0) continue;
    cum += c;
    if (needMean) sum += c * set.medians[j]!;
    while (w < wanted.length && cum >= wanted[w]!.target) {
      out[wanted[w]!.i] = set.highs[j]!;
      w++;
    }
    if (!needMean && w === wanted.length) break;
  }
  stats.forEach((s, i) => {
    if (s.kind === 'mean') out[i] = sum / total;
  });
  return out;
}

/** Statistics of all `intervals` merged once (the point estimate). */
export function mergedStats(intervals: readonly SparseHistogram[], set: Pick<SparseSet, 'highs' | 'medians'>, stats: readonly Stat[]): number[] {
  const dense = new Float64Array(set.highs.length);
  let total = 0;
  for (const s of intervals) {
    for (let k = 0; k < s.idx.length; k++) dense[s.idx[k]!]! += s.counts[k]!;
    total += s.total;
  }
  return statsOfCounts(dense, total, set, stats);
}

/**
 * Bootstrap distribution of `stats` over `units` (intervals or blocks): each of
 * `resamples` draws units.length units with replacement from `prng`, merges
 * them and takes the statistics. Returns one Float64Array per stat.
 */
export function bootstrapStats(units: readonly SparseHistogram[], set: Pick<SparseSet, 'highs' | 'medians'>, stats: readonly Stat[], resamples: number, prng: Prng): Float64Array[] {
  const dists = stats.map(() => new Float64Array(resamples));
  const dense = new Float64Array(set.highs.length);
  const n = units.length;
  const draws = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    // Tally the n draws first, then add each drawn unit once with its multiplicity:
    // about a third of the units are not drawn at all.
    draws.fill(0);
    for (let d = 0; d < n; d++) draws[prng.below(n)]!++;
    dense.fill(0);
    let total = 0;
    for (let u = 0; u < n; u++) {
      const w = draws[u]!;
      if (w === 0) continue;
      const s = units[u]!;
      for (let k = 0; k < s.idx.length; k++) dense[s.idx[k]!]! += w * s.counts[k]!;
      total += w * s.total;
    }
    const values = statsOfCounts(dense, total, set, stats);
    values.forEach((v, i) => (dists[i]![r] = v));
  }
  return dists;
}

/** A ratio of sums per unit, e.g. rows and seconds per interval for a rate. */
export interface RatioUnit {
  readonly num: number;
  readonly den: number;
}

/** Bootstrap distribution of Σnum / Σden over resampled units. */
export function bootstrapRatio(units: readonly RatioUnit[], resamples: number, prng: Prng): Float64Array {
  const out = new Float64Array(resamples);
  const n = units.length;
  for (let r = 0; r < resamples; r++) {
    let num = 0;
    let den = 0;
    for (let d = 0; d < n; d++) {
      const u = units[prng.below(n)]!;
      num += u.num;
      den += u.den;
    }
    out[r] = den > 0 ? num / den : Number.NaN;
  }
  return out;
}

/** The q-quantile (0..1) of the finite values, linear interpolation; NaN if none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const xs = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const pos = (xs.length - 1) * Math.min(Math.max(q, 0), 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (pos - lo);
}

/** Which way is an improvement. */
export type Better = 'lower' | 'higher';

/** The verdict on B relative to A. */
export type Verdict = 'faster' | 'slower' | 'within noise';

export interface DiffInterval {
  /** Bounds of the central `confidence` interval of B − A. */
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
  readonly verdict: Verdict;
}

/**
 * The interval of B − A from two independent bootstrap distributions (paired
 * by resample index, which pairs independent draws), and the verdict: if the
 * whole interval lies on the better side of 0, B is faster; on the worse
 * side, slower; otherwise the difference is within noise.
 */
export function diffInterval(a: Float64Array, b: Float64Array, confidence: number, better: Better): DiffInterval | null {
  const n = Math.min(a.length, b.length);
  const diffs = new Float64Array(n);
  for (let i = 0; i < n; i++) diffs[i] = b[i]! - a[i]!;
  const tail = (1 - confidence) / 2;
  const low = quantile(diffs, tail);
  const high = quantile(diffs, 1 - tail);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return null;
  let verdict: Verdict = 'within noise';
  if (low > 0) verdict = better === 'lower' ? 'slower' : 'faster';
  else if (high < 0) verdict = better === 'lower' ? 'faster' : 'slower';
  return { low, high, confidence, verdict };
}


/**
 * Bootstrap distribution of `stats` over the individual values one histogram
 * recorded (e.g. the n executions of one probe cell): each resample draws
 * `totalCount` values with replacement from the recorded distribution (bucket
 * by bucket, so a value is its bucket's highest equivalent value, as
 * HdrHistogram reports percentiles) and takes the statistics. For small
 * counts (a probe cell's tens to thousands of samples); an empty histogram
 * gives NaN. Returns one Float64Array per stat.
 */
export function bootstrapValues(h: Histogram, stats: readonly Stat[], resamples: number, prng: Prng): Float64Array[] {
  const set = toSparseSet([[h]]);
  const s = set.groups[0]?.[0];
  const dists = stats.map(() => new Float64Array(resamples).fill(Number.NaN));
  if (!s || s.total <= 0) return dists;
  const total = s.total;
  // Cumulative counts over the sparse buckets: a uniform draw in [0, total) falls in one bucket.
  const cum = new Float64Array(s.idx.length);
  let acc = 0;
  for (let k = 0; k < s.idx.length; k++) cum[k] = acc += s.counts[k]!;
  const dense = new Float64Array(set.highs.length);
  for (let r = 0; r < resamples; r++) {
    dense.fill(0);
    for (let d = 0; d < total; d++) {
      const u = prng.below(total);
      let lo = 0;
      let hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      dense[s.idx[lo]!]!++;
    }
    const values = statsOfCounts(dense, total, set, stats);
    values.forEach((v, i) => (dists[i]![r] = v));
  }
  return dists;
}

/**
 * The central `confidence` interval of num / den from two bootstrap
 * distributions of independent samples (paired by resample index, which pairs
 * independent draws); null when fewer than half the resamples give a finite
 * ratio (a side with no samples, or a zero denominator).
 */
export function ratioInterval(num: ArrayLike<number>, den: ArrayLike<number>, confidence: number): [number, number] | null {
  const n = Math.min(num.length, den.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = num[i]!;
    const b = den[i]!;
    if (Number.isFinite(a) && Number.isFinite(b) && b > 0 && a >= 0) ratios.push(a / b);
  }
  if (n === 0 || ratios.length < n / 2) return null;
  const tail = (1 - confidence) / 2;
  return [quantile(ratios, tail), quantile(ratios, 1 - tail)];
}
