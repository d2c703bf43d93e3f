/**
 * HDR histograms: construction, recording convention, encoding across threads,
 * merging and percentile summaries. All latencies are whole microseconds.
 * Pure (no I/O). Percentiles come from merged histograms, never averaged.
 */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/** Highest value tracked without resizing: 1 hour in µs (autoResize grows past it). */
const HIGHEST_US = 3_600_000_000;

/** A new latency histogram: 3 significant digits, microseconds. */
export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** Record a duration given in nanoseconds as whole microseconds (at least 0). */
export function recordNs(h: Histogram, ns: number): void {
  h.recordValue(ns <= 0 ? 0 : Math.floor(ns / 1000));
}

/** Compressed base64 of a histogram, for posting between threads or logging. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Decode what {@link encodeHistogram} produced. */
export function decodeHistogram(s: string): Histogram {
  return hdr.decodeFromCompressedBase64(s, 32, false);
}

/** Percentile summary in microseconds, as summary.json holds it. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p95Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { count: 0, p50Us: 0, p90Us: 0, p95Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, meanUs: 0 };
  return {
    count,
    p50Us: h.getValueAtPercentile(50),
    p90Us: h.getValueAtPercentile(90),
    p95Us: h.getValueAtPercentile(95),
    p99Us: h.getValueAtPercentile(99),
    p999Us: h.getValueAtPercentile(99.9),
    maxUs: h.maxValue,
    meanUs: Math.round(h.mean),
  };
}

/** The HdrHistogram percentile-distribution text (.hgrm), values in milliseconds. */
export function toHgrm(h: Histogram): string {
  return h.outputPercentileDistribution(5, 1000);
}

interface RecordedIteration {
  readonly recordedValuesIterator: {
    reset(): void;
    hasNext(): boolean;
    next(): { readonly valueIteratedTo: number; readonly countAtValueIteratedTo: number };
  };
  lowestEquivalentValue(value: number): number;
}

/**
 * Samples beyond a limit: above `limitUs` (or below it when `below`). A
 * sample counts as above when its whole HDR bucket is (its lowest
 * equivalent value exceeds the limit), so a value equal to the limit within
 * the histogram's 3-digit precision is never counted against it.
 */
export function countBeyond(h: Histogram, limitUs: number, below = false): number {
  const it = (h as unknown as RecordedIteration).recordedValuesIterator;
  const lowest = (v: number): number => (h as unknown as RecordedIteration).lowestEquivalentValue(v);
  it.reset();
  let k = 0;
  while (it.hasNext()) {
    const v = it.next();
    if (below ? v.valueIteratedTo < limitUs : lowest(v.valueIteratedTo) > limitUs) k += v.countAtValueIteratedTo;
  }
  return k;
}
