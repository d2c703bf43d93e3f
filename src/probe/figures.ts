/**
 * The `probes` section of summary.json, computed from probe results, the idle
 * baseline, the HLL accuracy measurement and table sizes. Pure and seeded.
 *
 * Ratios are of medians (p50), each with a 95% bootstrap interval resampled
 * from the executions behind both medians (src/compare/bootstrap.ts). A cell
 * with fewer than `minSamples` executions is `insufficient`: every ratio built
 * on it is null, and `notes` says why. A ratio whose inputs are missing, have
 * no successful execution, or would divide by zero is left out, never 0 or NaN.
 */
import { bootstrapValues, ratioInterval, type Stat } from '../compare/bootstrap.js';
import type { Histogram } from '../metrics/histogram.js';
import type { ByWindow, Ci95, CiByWindow, ProbeFigures, ProbeWindowFigures, TableSizes, ViewerLoad } from '../results/run-record.js';
import { Prng } from '../workload/prng.js';

/** The per-task numbers figures need (a ProbeTaskSummary has them). */
export interface ProbeSummaryLike {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly count: number;
  readonly errors: number;
  readonly responseP50Us?: number;
  readonly responseP99Us?: number;
  readonly p95Us?: number;
  readonly responseP95Us?: number;
  readonly lagP99Us?: number;
  /** Executions due that never ran (misses, beside the percentiles). */
  readonly missed?: number;
}

/** What figures read from ProbeResults. */
export interface ProbeResultsLike {
  readonly granularity: string;
  readonly windows: readonly string[];
  readonly tasks: readonly { readonly probe: string; readonly window: string; readonly summary: ProbeSummaryLike; readonly histogram?: Histogram }[];
  readonly skipped: readonly string[];
  readonly refreshes?: ViewerLoad;
}

/** What figures read from an IdleBaseline. */
export interface IdleBaselineLike {
  readonly tasks: readonly { readonly probe: string; readonly window: string; readonly p50Us: number | null; readonly samples?: number; readonly histogram?: Histogram }[];
  readonly skipped?: readonly string[];
}

/** A probe's header fields that define pairs. */
export interface PairLike {
  readonly name: string;
  readonly reads: 'raw' | 'rollup';
  readonly pair: string | undefined;
  readonly tenant?: boolean;
}

export interface FiguresInput {
  readonly results: ProbeResultsLike;
  readonly idle?: IdleBaselineLike;
  /** From measureHllError. */
  readonly hllError?: readonly { readonly window: string; readonly relativeError: number | null }[];
  readonly sizes?: TableSizes;
  /** Probe definitions; when given, `speedups` holds the ratio of every raw/rollup pair, named or not. */
  readonly probes?: readonly PairLike[];
  /** Cells with fewer executions are insufficient [20]. */
  readonly minSamples?: number;
  /** Bootstrap seed [1] and resamples [1000]. */
  readonly seed?: number;
  readonly resamples?: number;
  /** Citus: router or multi-shard per probe. */
  readonly routing?: Record<string, 'router' | 'multi-shard'>;
}

/** Default of --min-samples. */
export const DEFAULT_MIN_SAMPLES = 20;
const CONFIDENCE = 0.95;
const P50: readonly Stat[] = [{ kind: 'percentile', p: 50 }];

/**
 * Bootstrap distributions of p50, one per histogram, each drawn from its own
 * PRNG stream (numbered in the order asked for), so figures are reproducible.
 */
export class MedianBootstrap {
  readonly #cache = new Map<Histogram, Float64Array>();
  #stream = 0;
  constructor(private readonly seed = 1, private readonly resamples = 1000) {}

  /** The p50 bootstrap distribution of `h`'s recorded values. */
  of(h: Histogram): Float64Array {
    let d = this.#cache.get(h);
    if (!d) {
      d = bootstrapValues(h, P50, this.resamples, new Prng(this.seed, ++this.#stream))[0]!;
      this.#cache.set(h, d);
    }
    return d;
  }

  /** 95% interval of p50(num) / p50(den); null when either histogram is absent or empty. */
  ratioCi(num: Histogram | undefined, den: Histogram | undefined): Ci95 | null {
    if (!num || !den || num.totalCount === 0 || den.totalCount === 0) return null;
    return ratioInterval(this.of(num), this.of(den), CONFIDENCE);
  }
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
  const minSamples = input.minSamples ?? DEFAULT_MIN_SAMPLES;
  const boot = new MedianBootstrap(input.seed ?? 1, input.resamples ?? 1000);
  const notes: string[] = [];
  const key = (probe: string, window: string): string => `${probe}\u0000${window}`;
  interface Cell { readonly p50Us: number; readonly count: number; readonly histogram?: Histogram }
  const load = new Map<string, Cell>(); // cells with successes
  const idle = new Map<string, Cell>();
  for (const t of input.idle?.tasks ?? []) {
    if (t.p50Us != null) idle.set(key(t.probe, t.window), { p50Us: t.p50Us, count: t.histogram?.totalCount ?? t.samples ?? 0, ...(t.histogram && { histogram: t.histogram }) });
  }
  const short = (what: string, c: Cell): string => `${what} has ${c.count} sample${c.count === 1 ? '' : 's'} (< --min-samples ${minSamples})`;

  /**
   * A ratio of p50s and its interval, or null with a note when a side is
   * insufficient, or undefined when it cannot be computed.
   */
  const cellRatio = (figure: string, num: Cell | undefined, numName: string, den: Cell | undefined, denName: string): { value: number | null; ci: Ci95 | null } | undefined => {
    if (!num || !den) return undefined;
    const r = ratio(num.p50Us, den.p50Us);
    if (r === undefined) return undefined;
    const low = [num.count < minSamples ? short(numName, num) : '', den.count < minSamples ? short(denName, den) : ''].filter((x) => x !== '');
    if (low.length > 0) {
      notes.push(`${figure} is null: ${low.join(', ')}`);
      return { value: null, ci: null };
    }
    return { value: r, ci: boot.ratioCi(num.histogram, den.histogram) };
  };

  const byProbe: Record<string, Record<string, ProbeWindowFigures>> = {};
  for (const t of results.tasks) {
    const s = t.summary;
    const k = key(t.probe, t.window);
    const cell: Cell = { p50Us: s.p50Us, count: s.count, ...(t.histogram && { histogram: t.histogram }) };
    if (s.count > 0) load.set(k, cell);
    const idleCell = idle.get(k);
    const lo = s.count > 0 ? cellRatio(`probes.byProbe.${t.probe}.${t.window}.loadOverIdle`, cell, `${t.probe} @ ${t.window} under load`, idleCell, `${t.probe} @ ${t.window} idle`) : undefined;
    const f: ProbeWindowFigures = {
      p50Us: s.p50Us,
      p99Us: s.p99Us,
      count: s.count,
      errors: s.errors,
      insufficient: s.count < minSamples,
      ...(s.missed !== undefined && { missed: s.missed }),
      ...(s.responseP50Us !== undefined && { responseP50Us: s.responseP50Us }),
      ...(s.responseP99Us !== undefined && { responseP99Us: s.responseP99Us }),
      ...(s.lagP99Us !== undefined && { lagP99Us: s.lagP99Us }),
      // The same figures grouped, so SLO paths read probes.<probe>.<window>.response.p95.
      service: { p50Us: s.p50Us, ...(s.p95Us !== undefined && { p95Us: s.p95Us }), p99Us: s.p99Us, count: s.count },
      ...(s.responseP50Us !== undefined && {
        response: {
          p50Us: s.responseP50Us,
          ...(s.responseP95Us !== undefined && { p95Us: s.responseP95Us }),
          p99Us: s.responseP99Us ?? s.responseP50Us,
          count: s.count,
        },
      }),
      ...(idleCell !== undefined && { idleP50Us: idleCell.p50Us, idleCount: idleCell.count, idleInsufficient: idleCell.count < minSamples }),
      ...(lo !== undefined && { loadOverIdle: lo.value, loadOverIdleCi95: lo.ci }),
    };
    (byProbe[t.probe] ??= {})[t.window] = f;
  }

  const pairRatio = (figure: string, raw: string, rollup: string): { values: ByWindow; cis: CiByWindow } | undefined => {
    const values: ByWindow = {};
    const cis: CiByWindow = {};
    for (const w of results.windows) {
      const r = cellRatio(`${figure}.${w}`, load.get(key(raw, w)), `${raw} @ ${w}`, load.get(key(rollup, w)), `${rollup} @ ${w}`);
      if (r !== undefined) {
        values[w] = r.value;
        cis[w] = r.ci;
      }
    }
    return Object.keys(values).length > 0 ? { values, cis } : undefined;
  };

  const named: Partial<Record<keyof typeof NAMED_SPEEDUPS | `${keyof typeof NAMED_SPEEDUPS}Ci95`, ByWindow | CiByWindow>> = {};
  for (const [field, [raw, rollup]] of Object.entries(NAMED_SPEEDUPS) as [keyof typeof NAMED_SPEEDUPS, readonly [string, string]][]) {
    const r = pairRatio(`probes.${field}`, raw, rollup);
    if (r) {
      named[field] = r.values;
      named[`${field}Ci95`] = r.cis;
    }
  }

  let speedups: Record<string, ByWindow> | undefined;
  let speedupsCi95: Record<string, CiByWindow> | undefined;
  if (input.probes) {
    const reads = new Map(input.probes.map((p) => [p.name, p.reads]));
    const namedPairs = new Set(Object.values(NAMED_SPEEDUPS).map(([a, b]) => `${a}/${b}`));
    for (const p of input.probes) {
      if (p.reads !== 'raw' || p.pair === undefined || reads.get(p.pair) !== 'rollup') continue;
      const k = `${p.name}/${p.pair}`;
      // The named pairs' notes are already written under their own names.
      const before = notes.length;
      const r = pairRatio(`probes.speedups.${k}`, p.name, p.pair);
      if (namedPairs.has(k)) notes.length = before;
      if (r) {
        (speedups ??= {})[k] = r.values;
        (speedupsCi95 ??= {})[k] = r.cis;
      }
    }
  }

  const hllRelativeError: Record<string, number> = {};
  for (const m of input.hllError ?? []) {
    if (m.relativeError != null && Number.isFinite(m.relativeError)) hllRelativeError[m.window] = m.relativeError;
  }

  const v = results.refreshes;
  const missedCells = results.tasks.filter((t) => (t.summary.missed ?? 0) > 0);
  if (v && missedCells.length > 0) {
    const missedAll = missedCells.reduce((a, t) => a + (t.summary.missed ?? 0), 0);
    const why = [
      ...((v.neverStarted ?? 0) > 0 ? [`${v.neverStarted} of ${v.due} refreshes due never started`] : []),
      ...(v.withoutConnection > 0 ? [`${v.withoutConnection} ran without a connection`] : []),
      ...(v.unfinished > 0 ? [`${v.unfinished} stopped before their last panel`] : []),
    ];
    notes.push(`dashboard: ${missedAll} panel executions due in the measure window never ran${why.length > 0 ? ` (${why.join(', ')})` : ''}: ` +
      `misses, counted per cell as \`missed\`, not in the percentiles`);
  }

  const tenantPanels = (input.probes ?? []).filter((p) => p.tenant && byProbe[p.name]).map((p) => p.name);
  const skipped = [...new Set([...results.skipped, ...(input.idle?.skipped ?? [])])];
  return {
    windows: [...results.windows],
    granularity: results.granularity,
    minSamples,
    byProbe,
    ...(named as Pick<ProbeFigures, 'rollupSpeedup' | 'rollupSpeedupCi95' | 'countrySpeedup' | 'countrySpeedupCi95' | 'hllSpeedup' | 'hllSpeedupCi95'>),
    ...(Object.keys(hllRelativeError).length > 0 && { hllRelativeError }),
    ...(speedups && { speedups }),
    ...(speedupsCi95 && { speedupsCi95 }),
    ...(input.sizes && { sizes: input.sizes }),
    ...(results.refreshes && { viewers: results.refreshes }),
    ...(tenantPanels.length > 0 && { tenantPanels }),
    ...(input.routing && { routing: input.routing }),
    skipped,
    notes,
  };
}
