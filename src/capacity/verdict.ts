/**
 * A trial's verdict with its confidence. Pure.
 *
 * A quantile SLO on a latency (`ingest.response.p99 <= 50ms`,
 * `probes.all.response.p95 <= 1s`, `probes.*.*.response.p95 <= 1s`) is a
 * test on the trial's samples (src/capacity/binomial.ts): the number of
 * samples above the limit against a binomial at the allowed share says pass,
 * fail or inconclusive at the stated confidence; a `*` SLO over several
 * cells corrects for their number; a `max` SLO allows no sample above.
 * Other SLOs (audit counts, rates) are exact figures compared as they are.
 *
 * Implied, whatever the SLOs: errors and a non-client invalid reason fail
 * the trial; a client-limited trial (the self-check) is `harness`, never a
 * pass, unless a server-side SLO (service time, panels, freshness, the
 * audit) failed: that is a fail of the database even when the client was
 * also late. Only figures the client's lateness enters (ingest response and
 * lag) are left to `harness`.
 */
import { resolveFigure } from '../check/figure-path.js';
import { evaluateThresholds } from '../check/threshold.js';
import { testCells, type CellCounts, type CellTest, type TestVerdict } from './binomial.js';
import { describeMiss, expandPattern, type Slo } from './slo.js';
import type { TrialVerdict } from './search.js';

/** Where a quantile SLO's samples are: histogram names of the trial record (µs). */
export interface QuantileSpec {
  readonly kind: 'quantile';
  readonly slo: Slo;
  /** Histogram name patterns (`*` matches one name part), e.g. `panel-response-*-*`. */
  readonly histograms: readonly string[];
  /** Pool the matched histograms into one cell (`probes.all`). */
  readonly pooled: boolean;
  /** Share of samples allowed beyond the limit (1 − Q; 0 for `max`). */
  readonly allowed: number;
  /** The quantile in percent (99 for p99), or 100 for max. */
  readonly percentile: number;
  readonly limitUs: number;
  /** Samples below the limit are the bad ones (`>=`, `>`). */
  readonly below: boolean;
  /** The client's lateness is part of this figure (ingest response, lag). */
  readonly clientAffected: boolean;
}

export interface PointSpec {
  readonly kind: 'point';
  readonly slo: Slo;
}

export type SloSpec = QuantileSpec | PointSpec;

const US_PER = { us: 1, ms: 1000, s: 1_000_000 } as const;
const PCT: Record<string, number> = { p50: 50, p90: 90, p95: 95, p99: 99, p999: 99.9, max: 100 };

/** The histogram names behind a figure base, or null when it has none. */
function histogramsOf(base: string): { names: string[]; pooled: boolean; clientAffected: boolean } | null {
  switch (base) {
    case 'ingest.response': return { names: ['ingest-response'], pooled: false, clientAffected: true };
    case 'ingest.lag': return { names: ['ingest-lag'], pooled: false, clientAffected: true };
    case 'ingest.service': return { names: ['ingest-service'], pooled: false, clientAffected: false };
    case 'freshness': return { names: ['freshness'], pooled: false, clientAffected: false };
    case 'rollup.duration': return { names: ['rollup-duration'], pooled: false, clientAffected: false };
    case 'probes.all.response': return { names: ['panel-response-*'], pooled: true, clientAffected: false };
    default: {
      const m = /^probes\.([^.]+)\.([^.]+)\.response$/.exec(base);
      return m ? { names: [`panel-response-${m[1]}-${m[2]}`], pooled: false, clientAffected: false } : null;
    }
  }
}

/** How each SLO is judged: a test on a histogram's samples where it has one, else the figure itself. */
export function sloSpecs(slos: readonly Slo[]): SloSpec[] {
  return slos.map((slo): SloSpec => {
    const t = slo.threshold;
    const m = /^(.*)\.(p50|p90|p95|p99|p999|max)(?:Us)?$/.exec(t.figure);
    const hs = m ? histogramsOf(m[1]!) : null;
    if (!m || !hs || t.limit.kind !== 'absolute' || t.op === '==' || t.op === '!=') return { kind: 'point', slo };
    const limitUs = t.limit.value * (t.limit.unit === null ? 1 : US_PER[t.limit.unit]);
    const pct = PCT[m[2]!]!;
    const below = t.op === '>=' || t.op === '>';
    return {
      kind: 'quantile', slo, histograms: hs.names, pooled: hs.pooled, limitUs, percentile: pct, below,
      // `pQ <= L`: at most 1 − Q above; `pQ >= L`: at most Q below.
      allowed: below ? pct / 100 : 1 - pct / 100,
      clientAffected: hs.clientAffected,
    };
  });
}

/** The trial's samples as the judge reads them: each histogram's count and the count beyond a limit. */
export interface SampleSource {
  /** Names of the histograms the trial has. */
  readonly names: readonly string[];
  /** Samples in histogram `name`: n, and k beyond `limitUs` (above, or below when `below`). */
  counts(name: string, limitUs: number, below: boolean): CellCounts;
  /** The value at `percentile` of histogram `name` (or of the pooled names), µs; null without samples. */
  valueAt(names: readonly string[], percentile: number): number | null;
}

/** What one SLO measured in one trial. */
export interface SloVerdict {
  readonly slo: string;
  /** The figure (for a `*` SLO, the deciding cell). */
  readonly figure: string;
  readonly verdict: TestVerdict | 'unmeasured';
  /** The point value (µs for latencies) and limit, for people. */
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: string;
  /** A test's counts: samples, samples beyond the limit, allowed share; for cells, the deciding one. */
  readonly n?: number;
  readonly k?: number;
  readonly allowed?: number;
  /** At this n, at most this many beyond the limit passes (−1: too few samples for any pass). */
  readonly passAtMost?: number;
  readonly failAtLeast?: number;
  readonly cells?: number;
  /** The client's lateness is part of this figure. */
  readonly clientAffected: boolean;
  /** Why it is unmeasured or how it missed, one line. */
  readonly line: string;
}

export interface TrialJudgement {
  readonly verdict: TrialVerdict;
  readonly slos: readonly SloVerdict[];
  /** One line per miss. */
  readonly misses: readonly string[];
  /** SLOs the trial could not decide, one line each. */
  readonly undecided: readonly string[];
  readonly harnessReasons: readonly string[];
  /** The level each test was run at (1 − confidence, split over the looks). */
  readonly alpha: number;
}

/** The summary fields the implied conditions read. */
export interface JudgedSummary {
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  readonly ingest: { readonly errors: number; readonly errorsBySqlstate: Readonly<Record<string, number>> };
}

const fmtUs = (v: number): string => (v >= 1_000_000 ? `${(v / 1e6).toFixed(2)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${Math.round(v)} µs`);
const fmtPct = (x: number): string => `${+(x * 100).toPrecision(3)}%`;

/** Histogram names matching a pattern (`*` matches anything within a name). */
export function matchNames(names: readonly string[], patterns: readonly string[]): string[] {
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`));
  return names.filter((n) => res.some((r) => r.test(n)));
}

/** Test one quantile SLO on the trial's samples at level `alpha`. */
export function judgeQuantile(spec: QuantileSpec, src: SampleSource, alpha: number): SloVerdict {
  const t = spec.slo.threshold;
  const names = matchNames(src.names, spec.histograms);
  const base = { slo: spec.slo.source, limit: spec.limitUs, unit: 'us', clientAffected: spec.clientAffected, allowed: spec.allowed };
  const counts = names.map((n) => ({ name: n, ...src.counts(n, spec.limitUs, spec.below) }));
  const cells: Array<CellCounts & { name: string }> = spec.pooled
    ? [{ name: 'pooled', n: counts.reduce((a, c) => a + c.n, 0), k: counts.reduce((a, c) => a + c.k, 0) }]
    : counts;
  const sampled = cells.filter((c) => c.n > 0);
  if (sampled.length === 0) {
    return { ...base, figure: t.figure, verdict: 'unmeasured', value: null, n: 0, k: 0, line: `${t.figure}: not measured (no samples in this trial)` };
  }
  const result = testCells(sampled, spec.allowed, alpha);
  // The deciding cell: a failing one with the smallest p, else the one furthest from a pass.
  const order = [...result.cells.keys()].sort((a, b) => {
    const x = result.cells[a]!;
    const y = result.cells[b]!;
    if ((x.verdict === 'fail') !== (y.verdict === 'fail')) return x.verdict === 'fail' ? -1 : 1;
    return x.pFail - y.pFail;
  });
  const i = order[0]!;
  const cell: CellTest = result.cells[i]!;
  const name = sampled[i]!.name;
  const figure = spec.pooled || sampled.length === 1 && !t.figure.includes('*') ? t.figure : cellFigure(t.figure, name);
  const value = src.valueAt(spec.pooled ? names : [name], spec.percentile);
  const share = cell.n > 0 ? cell.k / cell.n : 0;
  const side = spec.below ? 'below' : 'above';
  const head = `${figure} ${value === null ? '—' : fmtUs(value)} (${cell.k} of ${cell.n} samples ${side} ${fmtUs(spec.limitUs)}, ${fmtPct(share)}; ${fmtPct(spec.allowed)} allowed`;
  const tail = cell.passAtMost < 0 ? `; n = ${cell.n} is too few for a pass at this confidence` : `; pass ≤ ${cell.passAtMost}, fail ≥ ${cell.failAtLeast}`;
  const line = `${head}${tail}${sampled.length > 1 ? `; worst of ${sampled.length} cells` : ''})`;
  return {
    ...base, figure, verdict: result.verdict, value, n: cell.n, k: cell.k, passAtMost: cell.passAtMost, failAtLeast: cell.failAtLeast,
    ...(sampled.length > 1 ? { cells: sampled.length } : {}), line,
  };
}

/** `probes.*.*.response.p95` with the cell `panel-response-rollup-minutes-1h` → `probes.rollup-minutes.1h.response.p95`. */
function cellFigure(pattern: string, histogram: string): string {
  const m = /^probes\.[^.]+\.[^.]+\.(.*)$/.exec(pattern);
  const cell = /^panel-response-(.+)-([^-]+)$/.exec(histogram);
  return m && cell ? `probes.${cell[1]}.${cell[2]}.${m[1]}` : pattern;
}

/** Judge an exact figure (audit counts, rates…): pass or fail, no test; absent is unmeasured. */
function judgePoint(spec: PointSpec, summary: unknown): SloVerdict {
  const t = spec.slo.threshold;
  const paths = expandPattern(summary, t.figure);
  let chosen: SloVerdict | null = null;
  for (const path of paths) {
    const ev = evaluateThresholds([{ ...t, figure: path }], summary, null);
    const r = ev.results[0];
    if (!r) {
      const problem = (ev.problems[0] ?? 'not measured').replace(/^threshold "[^"]*": /, '').replace(/ \(in the run\)$/, '');
      chosen ??= { slo: spec.slo.source, figure: path, verdict: 'unmeasured', value: null, limit: null, unit: 'number', clientAffected: false, line: `${path}: ${problem}` };
      continue;
    }
    const v: SloVerdict = {
      slo: spec.slo.source, figure: path, verdict: r.pass ? 'pass' : 'fail', value: r.run.value, limit: r.limit, unit: r.unit, clientAffected: false,
      line: r.pass ? `${path} ${r.run.value}` : describeMiss({ figure: path, value: r.run.value, limit: r.limit, unit: r.unit }, t.op),
    };
    if (chosen === null || chosen.verdict === 'unmeasured' || (v.verdict === 'fail' && chosen.verdict !== 'fail')) chosen = v;
  }
  return chosen ?? { slo: spec.slo.source, figure: t.figure, verdict: 'unmeasured', value: null, limit: null, unit: 'number', clientAffected: false, line: `${t.figure}: no figure matches` };
}

/**
 * Judge a trial. `alpha` is the level of each test (1 − confidence, split
 * over the looks the trial took); `short`: a trial far from the bracket.
 */
export function judgeTrial(
  specs: readonly SloSpec[], summary: JudgedSummary, src: SampleSource, alpha: number, opts: { readonly short?: boolean } = {},
): TrialJudgement {
  const judged = specs.map((s) => (s.kind === 'quantile' ? judgeQuantile(s, src, alpha) : judgePoint(s, summary)));
  // A short trial (far from the bracket) decides on what its samples can decide: an SLO with too few samples
  // for any pass (a panel cell's median after 5 s) is unmeasured there, not inconclusive; its misses still count.
  // The full-length trials at the bracket's ends must decide every SLO.
  const slos = opts.short === true
    ? judged.map((v): SloVerdict => (v.verdict === 'inconclusive' && v.passAtMost !== undefined && v.passAtMost < 0
      ? { ...v, verdict: 'unmeasured', line: `${v.line}: left to the full-length trials` } : v))
    : judged;
  const misses: string[] = [];
  const undecided: string[] = [];
  for (const v of slos) {
    if (v.verdict === 'fail') misses.push(v.line);
    else if (v.verdict === 'inconclusive' || v.verdict === 'unmeasured') undecided.push(v.line);
  }
  const harnessReasons = summary.invalidReasons.filter((r) => r.startsWith('client-limited'));
  const implied = summary.invalidReasons.filter((r) => !r.startsWith('client-limited'));
  misses.push(...implied);
  if (summary.ingest.errors > 0) {
    misses.push(`errors ${summary.ingest.errors} (${Object.entries(summary.ingest.errorsBySqlstate).map(([k, v]) => `${k}=${v}`).join(', ')})`);
  }
  const serverSideMiss = slos.some((v) => v.verdict === 'fail' && !v.clientAffected) || implied.length > 0 || summary.ingest.errors > 0;
  const verdict: TrialVerdict = serverSideMiss ? 'fail'
    : harnessReasons.length > 0 ? 'harness'
      : misses.length > 0 ? 'fail'
        // Unmeasured SLOs (no closed period, no marker seen) are said, not held against the trial.
        : slos.some((v) => v.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  return { verdict, slos, misses, undecided, harnessReasons, alpha };
}

/**
 * How close a trial came to its limits: the largest figure / limit over its
 * measured upper-limit SLOs (`<=`, `<`; 1 is at the limit), null when none
 * had a value. The search reads its resolution from it.
 */
export function worstRatio(specs: readonly SloSpec[], slos: readonly SloVerdict[]): number | null {
  let worst: number | null = null;
  for (const spec of specs) {
    const upper = spec.kind === 'quantile' ? !spec.below : spec.slo.threshold.op === '<=' || spec.slo.threshold.op === '<';
    if (!upper) continue;
    for (const v of slos.filter((x) => x.slo === spec.slo.source && x.verdict !== 'unmeasured')) {
      if (v.value === null || v.limit === null || v.limit <= 0) continue;
      const r = v.value / v.limit;
      if (worst === null || r > worst) worst = r;
    }
  }
  return worst;
}

/** Resolve one figure of a summary for a table (null when absent). */
export function figureValue(summary: unknown, path: string): number | null {
  const r = resolveFigure(summary, path);
  return r.ok ? r.figure.value : null;
}
