/**
 * The `probes` section of summary.json, computed from probe results, the idle
 * baseline, the HLL accuracy measurement and table sizes. Pure.
 *
 * Ratios are of medians (p50); a ratio whose inputs are missing, have no
 * successful execution, or would divide by zero is left out, never 0 or NaN.
 */
import type { ByWindow, ProbeFigures, ProbeWindowFigures, TableSizes } from '../results/run-record.js';

/** The per-task numbers figures need (a ProbeTaskSummary has them). */
export interface ProbeSummaryLike {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly count: number;
  readonly errors: number;
}

/** What figures read from ProbeResults. */
export interface ProbeResultsLike {
  readonly granularity: string;
  readonly windows: readonly string[];
  readonly tasks: readonly { readonly probe: string; readonly window: string; readonly summary: ProbeSummaryLike }[];
  readonly skipped: readonly string[];
}

/** What figures read from an IdleBaseline. */
export interface IdleBaselineLike {
  readonly tasks: readonly { readonly probe: string; readonly window: string; readonly p50Us: number | null }[];
  readonly skipped?: readonly string[];
}

/** A probe's header fields that define pairs. */
export interface PairLike {
  readonly name: string;
  readonly reads: 'raw' | 'rollup';
  readonly pair: string | undefined;
}

export interface FiguresInput {
  readonly results: ProbeResultsLike;
  readonly idle?: IdleBaselineLike;
  /** From measureHllError. */
  readonly hllError?: readonly { readonly window: string; readonly relativeError: number | null }[];
  readonly sizes?: TableSizes;
  /** Probe definitions; when given, `speedups` holds the ratio of every raw/rollup pair, named or not. */
  readonly probes?: readonly PairLike[];
}

/** The named speedups: field → [raw side, rollup side]. */
export const NAMED_SPEEDUPS = {
  rollupSpeedup: ['raw-minutes', 'rollup-minutes'],
  countrySpeedup: ['country-raw', 'country-rollup'],
  hllSpeedup: ['distinct-exact', 'distinct-hll'],
} as const;

/** a / b, or undefined unless both are finite, a >= 0 and b > 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | undefined {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || a < 0 || b <= 0) return undefined;
  return a / b;
}

/** (estimate - exact) / exact, or null when exact is not positive or the estimate is not a number. */
export function relativeError(estimate: number, exact: number): number | null {
  if (!Number.isFinite(estimate) || !Number.isFinite(exact) || exact <= 0) return null;
  return (estimate - exact) / exact;
}

/** Build the `probes` section of summary.json. */
export function probeFigures(input: FiguresInput): ProbeFigures {
  const { results } = input;
  const p50 = new Map<string, number>(); // `${probe}\0${window}` → p50 of a task with successes
  const key = (probe: string, window: string): string => `${probe}\u0000${window}`;
  const idle = new Map<string, number>();
  for (const t of input.idle?.tasks ?? []) if (t.p50Us != null) idle.set(key(t.probe, t.window), t.p50Us);

  const byProbe: Record<string, Record<string, ProbeWindowFigures>> = {};
  for (const t of results.tasks) {
    const s = t.summary;
    const idleP50Us = idle.get(key(t.probe, t.window));
    const loadOverIdle = s.count > 0 ? ratio(s.p50Us, idleP50Us) : undefined;
    const f: ProbeWindowFigures = {
      p50Us: s.p50Us,
      p99Us: s.p99Us,
      count: s.count,
      errors: s.errors,
      ...(idleP50Us !== undefined && { idleP50Us }),
      ...(loadOverIdle !== undefined && { loadOverIdle }),
    };
    (byProbe[t.probe] ??= {})[t.window] = f;
    if (s.count > 0) p50.set(key(t.probe, t.window), s.p50Us);
  }

  const pairRatio = (raw: string, rollup: string): ByWindow | undefined => {
    const out: ByWindow = {};
    for (const w of results.windows) {
      const r = ratio(p50.get(key(raw, w)), p50.get(key(rollup, w)));
      if (r !== undefined) out[w] = r;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };

  const named: Partial<Record<keyof typeof NAMED_SPEEDUPS, ByWindow>> = {};
  for (const [field, [raw, rollup]] of Object.entries(NAMED_SPEEDUPS) as [keyof typeof NAMED_SPEEDUPS, readonly [string, string]][]) {
    const r = pairRatio(raw, rollup);
    if (r) named[field] = r;
  }

  let speedups: Record<string, ByWindow> | undefined;
  if (input.probes) {
    const reads = new Map(input.probes.map((p) => [p.name, p.reads]));
    for (const p of input.probes) {
      if (p.reads !== 'raw' || p.pair === undefined || reads.get(p.pair) !== 'rollup') continue;
      const r = pairRatio(p.name, p.pair);
      if (r) (speedups ??= {})[`${p.name}/${p.pair}`] = r;
    }
  }

  const hllRelativeError: ByWindow = {};
  for (const m of input.hllError ?? []) {
    if (m.relativeError != null && Number.isFinite(m.relativeError)) hllRelativeError[m.window] = m.relativeError;
  }

  const skipped = [...new Set([...results.skipped, ...(input.idle?.skipped ?? [])])];
  return {
    windows: [...results.windows],
    granularity: results.granularity,
    byProbe,
    ...named,
    ...(Object.keys(hllRelativeError).length > 0 && { hllRelativeError }),
    ...(speedups && { speedups }),
    ...(input.sizes && { sizes: input.sizes }),
    skipped,
  };
}
