/**
 * A run's default figures (src/check/figures.ts) in the JSON formats of the
 * CI tools users already run. Pure.
 *
 * - Bencher Metric Format (bencher.dev/docs/reference/bencher-metric-format):
 *   `{ "<benchmark>": { "<measure>": { "value": n } } }`. The benchmark is the
 *   figure's name; durations go to Bencher's built-in `latency` measure in
 *   nanoseconds (its unit), rates to `throughput` (operations per second; a
 *   row is an operation), counts to a `count` measure. `lower_value` /
 *   `upper_value` are optional in BMF and left out: a percentile of one run
 *   has no interval here.
 * - github-action-benchmark's custom tools: a JSON array of
 *   `{ "name", "unit", "value", "extra"? }`. The action takes one direction
 *   per file (`tool: customSmallerIsBetter` or `customBiggerIsBetter`), so the
 *   figures are split: `smaller` holds latencies and the must-be-zero counts,
 *   `bigger` the achieved rate.
 */
import type { TrackedFigure } from '../check/figures.js';

export const EXPORT_FORMATS = ['bmf', 'github-action-benchmark'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type GabDirection = 'smaller' | 'bigger';

export interface BmfMetric {
  readonly value: number;
}
export type Bmf = Record<string, Record<string, BmfMetric>>;

export interface GabEntry {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly extra?: string;
}

const NS_PER = { us: 1_000, ms: 1_000_000 } as const;

/** Bencher measure slug and the value in its unit. */
export function bmfMeasure(f: TrackedFigure): { measure: string; value: number } {
  switch (f.unit) {
    case 'us':
    case 'ms': return { measure: 'latency', value: f.value * NS_PER[f.unit] };
    case 'hz': return { measure: 'throughput', value: f.value };
    case 'bytes': return { measure: 'file-size', value: f.value };
    case 'number': return { measure: 'count', value: f.value };
  }
}

/** Bencher Metric Format of the figures. */
export function toBmf(figures: readonly TrackedFigure[], prefix = ''): Bmf {
  const out: Bmf = {};
  for (const f of figures) {
    const { measure, value } = bmfMeasure(f);
    (out[prefix + f.name] ??= {})[measure] = { value };
  }
  return out;
}

const GAB_UNIT = { us: 'us', ms: 'ms', hz: 'rows/s', bytes: 'bytes', number: 'count' } as const;

/** github-action-benchmark custom JSON of the figures of one direction. */
export function toGithubActionBenchmark(figures: readonly TrackedFigure[], direction: GabDirection, context: { readonly runId: string; readonly revision: string | null }, prefix = ''): GabEntry[] {
  return figures
    .filter((f) => (direction === 'bigger' ? f.direction === 'bigger' : f.direction !== 'bigger'))
    .map((f) => {
      const parts = [f.samples !== null ? `n=${f.samples} samples` : null, f.direction === 'zero' ? 'must be 0' : null, `run ${context.runId}`, context.revision ? `revision ${context.revision}` : null];
      return { name: prefix + f.name, unit: GAB_UNIT[f.unit], value: f.value, extra: parts.filter((p) => p !== null).join('; ') };
    });
}
