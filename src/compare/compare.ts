/**
 * `rtbench compare A B`, the pure core: every figure both runs hold, side by
 * side, with the change in percent and, where both runs logged interval
 * histograms, a noise-aware verdict from a bootstrap over the measure
 * intervals. Never prints, never reads files.
 *
 * Ingest latencies are recomputed from the interval histograms of
 * intervals.hlog, merged with Histogram.add() (percentiles are never
 * averaged); rollup and freshness latencies are single histograms, so their
 * summary.json figures are used as they are. Probe cells (probe × window)
 * are bootstrapped over their individual executions (histograms.json), so
 * they get a verdict too, with n per side; a cell under either run's
 * --min-samples gets none.
 */
import { resolveFigure } from '../check/figure-path.js';
import { newHistogram, type Histogram } from '../metrics/histogram.js';
import type { PlanShape, ServerRole, Summary } from '../results/run-record.js';
import { Prng } from '../workload/prng.js';
import {
  bootstrapRatio, bootstrapStats, bootstrapValues, diffInterval, ratioInterval, toBlocks, toSparseSet,
  type Better, type DiffInterval, type Stat,
} from './bootstrap.js';
import type { RateInterval } from './interval-log.js';

export const COMPARISON_FORMAT_VERSION = 1;

/** One run as the comparison needs it. */
export interface RunInput {
  /** How the run is named in output (e.g. its directory). */
  readonly label: string;
  readonly summary: Summary;
  /** Measure-phase interval histograms per tag (response, service, lag), µs; empty when the run has no interval log. */
  readonly intervals: ReadonlyMap<string, readonly Histogram[]>;
  /** Measure-phase rows of timeseries.csv; empty when absent. */
  readonly rates: readonly RateInterval[];
  /** histograms.json (probe cells as `probe-<probe>-<window>`); absent in older runs. */
  readonly histograms?: Readonly<Record<string, Histogram>> | null;
}

export interface CompareOptions {
  /** Bootstrap resamples per run and figure group [1000]. */
  readonly resamples?: number;
  /** PRNG seed of the bootstrap [1]. */
  readonly seed?: number;
  /** Central interval of the difference [0.95]. */
  readonly confidence?: number;
  /** Longer runs are bootstrapped over this many blocks of consecutive intervals [50]. */
  readonly maxBlocks?: number;
  /** Fewer measure intervals than this in either run: no verdict [3]. */
  readonly minIntervals?: number;
}

/** How a value is shown. */
export type Display = 'us' | 'rate' | 'count' | 'ratio' | 'fraction' | 'number';

export interface CompareRow {
  readonly section: string;
  /** The figure path (usable in `rtbench check` thresholds). */
  readonly figure: string;
  readonly display: Display;
  /** Which way is an improvement; null when neither (e.g. the target rate). */
  readonly better: Better | null;
  readonly a: number;
  readonly b: number;
  /** (b − a) / a in percent; null when a is 0. */
  readonly changePct: number | null;
  /** 'intervals': a and b merged from the interval histograms; 'summary': from summary.json. */
  readonly source: 'intervals' | 'summary';
  /** The bootstrap interval of b − a and the verdict; null when the runs lack interval data. */
  readonly noise: DiffInterval | null;
  /** Why there is no verdict, when `better` is set and `noise` is null. */
  readonly noVerdictReason: string | null;
  /** Samples behind each side (probe cells: executions; ingest: intervals), when known. */
  readonly n?: { readonly a: number; readonly b: number };
  /** 95% bootstrap interval of b / a, beside the verdict. */
  readonly ratioCi95?: readonly [number, number] | null;
}

export interface RunHeader {
  readonly label: string;
  readonly runId: string;
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  /** Measure intervals in the interval log (the response tag). */
  readonly intervals: number;
}

export interface Comparison {
  readonly formatVersion: number;
  readonly a: RunHeader;
  readonly b: RunHeader;
  readonly bootstrap: { readonly resamples: number; readonly seed: number; readonly confidence: number; readonly maxBlocks: number; readonly minIntervals: number };
  readonly rows: CompareRow[];
  /** Things a reader must know before trusting a verdict (different target rates, an invalid run). */
  readonly notes: string[];
}

/** A figure the comparison looks for; `tag`/`stat` when interval histograms can back it, `rate` for the achieved rate. */
interface Entry {
  readonly section: string;
  readonly figure: string;
  readonly display: Display;
  readonly better: Better | null;
  readonly tag?: string;
  readonly stat?: Stat;
  readonly rate?: true;
  /** A probe cell's latency: bootstrapped over its executions. */
  readonly cell?: { readonly probe: string; readonly window: string };
}

const LATENCY_STATS: ReadonlyArray<readonly [string, Stat]> = [
  ['p50', { kind: 'percentile', p: 50 }],
  ['p90', { kind: 'percentile', p: 90 }],
  ['p99', { kind: 'percentile', p: 99 }],
  ['p99.9', { kind: 'percentile', p: 99.9 }],
  ['max', { kind: 'percentile', p: 100 }],
  ['mean', { kind: 'mean' }],
];
const TAGS = ['response', 'service', 'lag'] as const;
const NAMED_RATIOS = ['rollupSpeedup', 'countrySpeedup', 'hllSpeedup'] as const;
const NAMED_PAIRS = new Set(['raw-minutes/rollup-minutes', 'country-raw/country-rollup', 'distinct-exact/distinct-hll']);

function union(...lists: ReadonlyArray<readonly string[] | undefined>): string[] {
  const seen: string[] = [];
  for (const l of lists) for (const x of l ?? []) if (!seen.includes(x)) seen.push(x);
  return seen;
}

/** Every figure either summary may hold, in display order; resolution later keeps those both hold. */
function catalog(a: Summary, b: Summary): Entry[] {
  const e: Entry[] = [
    { section: 'ingest', figure: 'ingest.achievedRateHz', display: 'rate', better: 'higher', rate: true },
    { section: 'ingest', figure: 'ingest.targetRateHz', display: 'rate', better: null },
  ];
  for (const tag of TAGS) {
    for (const [name, stat] of LATENCY_STATS) e.push({ section: 'ingest', figure: `ingest.${tag}.${name}`, display: 'us', better: 'lower', tag, stat });
  }
  for (const k of ['errors', 'late', 'dropped', 'reconnects']) e.push({ section: 'ingest', figure: `ingest.${k}`, display: 'count', better: 'lower' });
  for (const [name] of LATENCY_STATS.slice(0, 5)) e.push({ section: 'rollup', figure: `rollup.duration.${name}`, display: 'us', better: 'lower' });
  e.push({ section: 'rollup', figure: 'rollup.runs', display: 'count', better: null });
  e.push({ section: 'rollup', figure: 'rollup.overruns', display: 'count', better: 'lower' });
  for (const [name] of LATENCY_STATS.slice(0, 5)) e.push({ section: 'freshness', figure: `freshness.${name}`, display: 'us', better: 'lower' });
  e.push({ section: 'freshness', figure: 'freshness.markersUnseen', display: 'count', better: 'lower' });
  e.push({ section: 'audit', figure: 'audit.lostEvents', display: 'count', better: 'lower' });
  e.push({ section: 'audit', figure: 'audit.duplicatedEvents', display: 'count', better: 'lower' });

  const pa = a.probes ?? null;
  const pb = b.probes ?? null;
  const windows = union(pa?.windows, pb?.windows);
  const probes = union(Object.keys(pa?.byProbe ?? {}), Object.keys(pb?.byProbe ?? {})).sort();
  for (const p of probes) {
    for (const w of windows) {
      for (const [f, stat] of [['p50', LATENCY_STATS[0]![1]], ['p99', LATENCY_STATS[2]![1]]] as const) {
        e.push({ section: 'probes', figure: `probes.${p}.${w}.${f}`, display: 'us', better: 'lower', stat, cell: { probe: p, window: w } });
      }
    }
  }
  for (const r of NAMED_RATIOS) for (const w of windows) e.push({ section: 'probe ratios', figure: `probes.${r}.${w}`, display: 'ratio', better: 'higher' });
  for (const w of windows) e.push({ section: 'probe ratios', figure: `probes.hllRelativeError.${w}`, display: 'fraction', better: 'lower' });
  const pairs = union(Object.keys(pa?.speedups ?? {}), Object.keys(pb?.speedups ?? {})).filter((k) => !NAMED_PAIRS.has(k)).sort();
  for (const k of pairs) for (const w of windows) e.push({ section: 'probe ratios', figure: `probes.speedups.${k}.${w}`, display: 'ratio', better: 'higher' });
  e.push(...serverEntries(a, b));
  return e;
}

/** The server sampler's rows (src/telemetry): work per row, checkpoints, and per role the active sessions and wait shares. */
function serverEntries(a: Summary, b: Summary): Entry[] {
  const e: Entry[] = [];
  if (!a.server && !b.server) return e;
  for (const k of ['walBytes', 'fpi', 'buffersWritten', 'blocksTouched']) e.push({ section: 'server', figure: `server.perRow.${k}`, display: 'number', better: 'lower' });
  e.push({ section: 'server', figure: 'server.counters.walMbPerS', display: 'number', better: null });
  e.push({ section: 'server', figure: 'server.counters.checkpointsRequested', display: 'count', better: 'lower' });
  e.push({ section: 'server', figure: 'server.rollupWalBytesPerRun', display: 'number', better: 'lower' });
  e.push({ section: 'server', figure: 'server.machine.serverCores', display: 'number', better: null });
  e.push({ section: 'server', figure: 'server.machine.cpuPressure', display: 'fraction', better: 'lower' });
  const roles = union(Object.keys(a.server?.waits ?? {}), Object.keys(b.server?.waits ?? {}));
  for (const role of roles) {
    e.push({ section: 'server waits', figure: `server.waits.${role}.avgActiveSessions`, display: 'number', better: null });
    const waits = union(Object.keys(a.server?.waits[role as ServerRole]?.shares ?? {}), Object.keys(b.server?.waits[role as ServerRole]?.shares ?? {}));
    for (const w of waits.slice(0, 6)) e.push({ section: 'server waits', figure: `server.waits.${role}.shares.${w}`, display: 'fraction', better: null });
  }
  return e;
}

const MAX_PLAN_NOTES = 5;

/** One note per panel whose plan shape differs between the runs (at most MAX_PLAN_NOTES, then a count). */
export function planChanges(a: Summary, b: Summary): string[] {
  const pb = new Map((b.server?.plans ?? []).map((p) => [`${p.probe} ${p.window}`, p]));
  const out: string[] = [];
  for (const pa of a.server?.plans ?? []) {
    const q = pb.get(`${pa.probe} ${pa.window}`);
    if (!q) continue;
    const shape = (p: PlanShape): string => `${p.topNode} ← ${p.scans.join(', ') || 'no scan'}${p.citusTasks !== undefined ? ` (${p.citusTasks} tasks, ${p.citusRouter ? 'router' : 'multi-shard'})` : ''}`;
    if (shape(pa) !== shape(q)) out.push(`plan of ${pa.probe} ${pa.window} differs: A ${shape(pa)}; B ${shape(q)}`);
  }
  return out.length > MAX_PLAN_NOTES ? [...out.slice(0, MAX_PLAN_NOTES), `${out.length - MAX_PLAN_NOTES} more panels' plans differ (summary.json server.plans)`] : out;
}

function mergeAll(hs: readonly Histogram[]): Histogram {
  const merged = newHistogram();
  for (const h of hs) merged.add(h);
  return merged;
}

function statOf(h: Histogram, s: Stat): number {
  if (h.totalCount === 0) return Number.NaN;
  return s.kind === 'mean' ? h.mean : h.getValueAtPercentile(s.p);
}

function changePct(a: number, b: number): number | null {
  return a === 0 ? null : ((b - a) / a) * 100;
}

interface TagResult {
  readonly a: Map<string, number>;
  readonly b: Map<string, number>;
  readonly noise: Map<string, DiffInterval | null>;
  readonly ratio: Map<string, readonly [number, number] | null>;
  readonly reason: string | null;
}

/** Samples of a probe cell in a summary (its `count`), or null. */
function cellCount(s: Summary, probe: string, window: string): number | null {
  const c = s.probes?.byProbe[probe]?.[window]?.count;
  return typeof c === 'number' ? c : null;
}

/**
 * Compare two runs. Deterministic: the same inputs and options give the same
 * rows, intervals and verdicts.
 */
export function compareRuns(a: RunInput, b: RunInput, options: CompareOptions = {}): Comparison {
  const opts = {
    resamples: options.resamples ?? 1000,
    seed: options.seed ?? 1,
    confidence: options.confidence ?? 0.95,
    maxBlocks: options.maxBlocks ?? 50,
    minIntervals: options.minIntervals ?? 3,
  };
  const entries = catalog(a.summary, b.summary).filter((e) => resolveFigure(a.summary, e.figure).ok && resolveFigure(b.summary, e.figure).ok);

  // Per tag: point figures from add()-merged interval histograms, and the bootstrap.
  const tagResults = new Map<string, TagResult>();
  TAGS.forEach((tag, t) => {
    const stats = entries.filter((e) => e.tag === tag && e.stat);
    const ha = a.intervals.get(tag) ?? [];
    const hb = b.intervals.get(tag) ?? [];
    if (stats.length === 0 || ha.length === 0 || hb.length === 0) return;
    const ma = mergeAll(ha);
    const mb = mergeAll(hb);
    if (ma.totalCount === 0 || mb.totalCount === 0) return;
    const res: TagResult = { a: new Map(), b: new Map(), noise: new Map(), ratio: new Map(), reason: null };
    for (const e of stats) {
      res.a.set(e.figure, statOf(ma, e.stat!));
      res.b.set(e.figure, statOf(mb, e.stat!));
    }
    if (ha.length < opts.minIntervals || hb.length < opts.minIntervals) {
      tagResults.set(tag, { ...res, reason: `too few measure intervals (${ha.length} vs ${hb.length}; need ${opts.minIntervals})` });
      return;
    }
    const set = toSparseSet([ha, hb]);
    const units = set.groups.map((g) => toBlocks(g, opts.maxBlocks, set.highs.length));
    const statList = stats.map((e) => e.stat!);
    const distA = bootstrapStats(units[0]!, set, statList, opts.resamples, new Prng(opts.seed, 2 * t + 1));
    const distB = bootstrapStats(units[1]!, set, statList, opts.resamples, new Prng(opts.seed, 2 * t + 2));
    stats.forEach((e, i) => {
      res.noise.set(e.figure, diffInterval(distA[i]!, distB[i]!, opts.confidence, 'lower'));
      res.ratio.set(e.figure, ratioInterval(distB[i]!, distA[i]!, opts.confidence));
    });
    tagResults.set(tag, res);
  });

  // Probe cells: value-level bootstrap of each side's executions, one PRNG stream per cell and side.
  const minSamples = Math.max(a.summary.probes?.minSamples ?? 20, b.summary.probes?.minSamples ?? 20);
  const cellDists = new Map<string, { a: Float64Array[]; b: Float64Array[] }>();
  const cellStats: Stat[] = [LATENCY_STATS[0]![1], LATENCY_STATS[2]![1]];
  const cellVerdict = (e: Entry): { noise: DiffInterval | null; reason: string | null; n?: { a: number; b: number }; ratioCi95?: readonly [number, number] | null } => {
    const { probe, window } = e.cell!;
    const na = cellCount(a.summary, probe, window);
    const nb = cellCount(b.summary, probe, window);
    const n = na !== null && nb !== null ? { a: na, b: nb } : undefined;
    const name = `probe-${probe}-${window}`;
    const ha = a.histograms?.[name];
    const hb = b.histograms?.[name];
    if (!ha || !hb) return { noise: null, reason: 'no histograms.json in both runs', ...(n && { n }) };
    if (ha.totalCount < minSamples || hb.totalCount < minSamples) {
      return { noise: null, reason: `too few samples (n ${ha.totalCount} vs ${hb.totalCount}; need ${minSamples})`, n: { a: ha.totalCount, b: hb.totalCount } };
    }
    let d = cellDists.get(name);
    if (!d) {
      const stream = 1000 + 2 * cellDists.size;
      d = { a: bootstrapValues(ha, cellStats, opts.resamples, new Prng(opts.seed, stream)), b: bootstrapValues(hb, cellStats, opts.resamples, new Prng(opts.seed, stream + 1)) };
      cellDists.set(name, d);
    }
    const k = e.stat === cellStats[0] ? 0 : 1;
    const noise = diffInterval(d.a[k]!, d.b[k]!, opts.confidence, 'lower');
    return { noise, reason: noise ? null : 'bootstrap gave no interval', n: { a: ha.totalCount, b: hb.totalCount }, ratioCi95: ratioInterval(d.b[k]!, d.a[k]!, opts.confidence) };
  };

  const rows: CompareRow[] = [];
  for (const e of entries) {
    const ra = resolveFigure(a.summary, e.figure);
    const rb = resolveFigure(b.summary, e.figure);
    if (!ra.ok || !rb.ok) continue;
    let av = ra.figure.value;
    let bv = rb.figure.value;
    let source: CompareRow['source'] = 'summary';
    let noise: DiffInterval | null = null;
    let reason: string | null = null;
    let n: CompareRow['n'];
    let ratioCi95: CompareRow['ratioCi95'];
    if (e.cell !== undefined) {
      const r = cellVerdict(e);
      noise = r.noise;
      reason = r.reason;
      n = r.n;
      ratioCi95 = r.ratioCi95;
    } else if (e.tag !== undefined) {
      const tr = tagResults.get(e.tag);
      const pa = tr?.a.get(e.figure);
      const pb = tr?.b.get(e.figure);
      if (tr && pa !== undefined && pb !== undefined && Number.isFinite(pa) && Number.isFinite(pb)) {
        av = pa;
        bv = pb;
        source = 'intervals';
        noise = tr.noise.get(e.figure) ?? null;
        ratioCi95 = tr.ratio.get(e.figure) ?? null;
        n = { a: a.intervals.get(e.tag)?.length ?? 0, b: b.intervals.get(e.tag)?.length ?? 0 };
        reason = noise ? null : tr.reason ?? 'bootstrap gave no interval';
      } else {
        reason = 'no interval log in both runs';
      }
    } else if (e.rate) {
      const ua = a.rates.map((r) => ({ num: r.rows, den: r.endS - r.startS }));
      const ub = b.rates.map((r) => ({ num: r.rows, den: r.endS - r.startS }));
      if (ua.length === 0 || ub.length === 0) reason = 'no timeseries.csv in both runs';
      else if (ua.length < opts.minIntervals || ub.length < opts.minIntervals) reason = `too few measure intervals (${ua.length} vs ${ub.length}; need ${opts.minIntervals})`;
      else {
        const da = bootstrapRatio(ua, opts.resamples, new Prng(opts.seed, 101));
        const db = bootstrapRatio(ub, opts.resamples, new Prng(opts.seed, 102));
        noise = diffInterval(da, db, opts.confidence, 'higher');
        ratioCi95 = ratioInterval(db, da, opts.confidence);
        n = { a: ua.length, b: ub.length };
        reason = noise ? null : 'bootstrap gave no interval';
      }
    } else if (e.better !== null) {
      reason = 'single histogram or count: no intervals to resample';
    }
    rows.push({
      section: e.section,
      figure: e.figure,
      display: e.display,
      better: e.better,
      a: av,
      b: bv,
      changePct: changePct(av, bv),
      source,
      noise,
      noVerdictReason: e.better === null ? null : reason,
      ...(n && { n }),
      ...(ratioCi95 !== undefined && { ratioCi95 }),
    });
  }

  const header = (r: RunInput): RunHeader => ({
    label: r.label,
    runId: r.summary.runId,
    valid: r.summary.valid,
    invalidReasons: r.summary.invalidReasons,
    intervals: r.intervals.get('response')?.length ?? 0,
  });
  const notes: string[] = [];
  const ta = a.summary.ingest.targetRateHz;
  const tb = b.summary.ingest.targetRateHz;
  if (ta !== tb) notes.push(`the target rates differ (${ta ?? 'closed loop'} vs ${tb ?? 'closed loop'} rows/s): latencies are compared under different loads`);
  for (const [side, r] of [['A', a], ['B', b]] as const) {
    if (!r.summary.valid) notes.push(`run ${side} failed its self-check (invalid): its figures may measure the client, not the database`);
  }
  notes.push(...planChanges(a.summary, b.summary));
  return { formatVersion: COMPARISON_FORMAT_VERSION, a: header(a), b: header(b), bootstrap: opts, rows, notes };
}
