/**
 * SLOs of a capacity search and the verdict of one step. Pure.
 *
 * An SLO is a `check` threshold expression with an absolute limit on a figure
 * of one step's summary (`ingest.response.p99 <= 10ms`,
 * `probes.rollup-minutes.1h.response.p95 <= 250ms`, `freshness.p99 <= 15s`,
 * `audit.lostEvents == 0`). A `*` segment matches every key at its level, and
 * the SLO holds only when it holds for every match (`probes.*.*.response.p95
 * <= 1s`: every panel on every window); the verdict names the worst match.
 *
 * Always implied, whatever the SLOs: the step is valid by the self-check (a
 * client-limited step is never a pass, it is `harness`), its achieved rate is
 * within 1% of the target (the self-check's tolerance), and it had no errors.
 */
import type { RunConfig } from '../config/types.js';
import { resolveFigure } from '../check/figure-path.js';
import { evaluateThresholds, parseThreshold, type Threshold } from '../check/threshold.js';

/** One SLO as parsed. */
export interface Slo {
  readonly source: string;
  readonly threshold: Threshold;
}

/** What one SLO measured in one step. */
export interface SloResult {
  readonly slo: string;
  /** The concrete figure (for a `*` SLO, the worst match). */
  readonly figure: string;
  /** The measured value in the figure's unit (µs for latencies, rows/s for rates, a count…); null when absent. */
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: string;
  readonly pass: boolean;
  /** Why it failed without a value (absent, insufficient samples). */
  readonly problem?: string;
}

/**
 * A step's verdict: `pass`, `fail` (the database missed an SLO, the rate or
 * had errors), or `harness` (the client could not drive the step: not a
 * measurement of the database).
 */
export type StepVerdict = 'pass' | 'fail' | 'harness';

export interface StepJudgement {
  readonly verdict: StepVerdict;
  readonly slos: readonly SloResult[];
  /** One line per miss: `freshness.p99 17.2 s > 15 s`, `errors 12 (57014=12)`, `achieved 1,850 rows/s is -7.5% off …`. */
  readonly misses: readonly string[];
  /** The self-check's client-limited reasons when the verdict is `harness`. */
  readonly harnessReasons: readonly string[];
}

/** Parse SLO expressions; every problem is listed. Relative limits (`+10%`) have no baseline here and are refused. */
export function parseSlos(exprs: readonly string[]): { readonly slos: Slo[]; readonly problems: string[] } {
  const slos: Slo[] = [];
  const problems: string[] = [];
  for (const e of exprs) {
    // `*` segments are an SLO's own: a check threshold names one figure.
    const parsed = parseThreshold(e.replace(/(^|\.)\*(?=\.|\s|<|>|=|!|$)/g, '$1__any__'));
    const r = parsed.ok
      ? { ok: true as const, threshold: { ...parsed.threshold, source: e.trim(), figure: parsed.threshold.figure.replace(/__any__/g, '*') } }
      : { ok: false as const, problem: parsed.problem.replace(/__any__/g, '*') };
    if (!r.ok) {
      problems.push(`--slo ${r.problem}`);
      continue;
    }
    if (r.threshold.limit.kind === 'relative') {
      problems.push(`--slo ${JSON.stringify(r.threshold.source)}: an SLO needs an absolute limit (a number, or a duration such as 250ms), not a % of a baseline`);
      continue;
    }
    slos.push({ source: r.threshold.source, threshold: r.threshold });
  }
  return { slos, problems };
}

/**
 * The SLOs used when none is given (README "Capacity" says why):
 * - ingest response p99 ≤ 50 ms: an event collector that waits longer than
 *   that per insert builds a queue of its own;
 * - every dashboard panel's response p95 ≤ 1 s, on every window: a viewer who
 *   waits more than a second for a panel notices;
 * - freshness p99 ≤ 2 × the rollup interval (at least interval + 5 s): the
 *   rollup keeps up when an event shows up within two rollup periods;
 * - no event lost or duplicated by an exact rollup (incremental,
 *   closed-minute; the tutorial rollup loses events by design).
 */
export function defaultSlos(config: RunConfig): string[] {
  const out = ['ingest.response.p99 <= 50ms'];
  const d = config.dashboard;
  if (d.rollup === 'none') return out;
  if (d.probes && d.viewers > 0) out.push('probes.*.*.response.p95 <= 1s');
  const intervalS = d.rollupIntervalMs / 1000;
  const freshS = Math.max(2 * intervalS, intervalS + 5);
  out.push(`freshness.p99 <= ${Number.isInteger(freshS) ? freshS : freshS.toFixed(1)}s`);
  if (d.rollup !== 'tutorial') out.push('audit.lostEvents == 0', 'audit.duplicatedEvents == 0');
  return out;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Concrete paths matching a pattern with `*` segments, in summary order. The
 * probe alias (`probes.<probe>.…` = `probes.byProbe.<probe>.…`) is expanded
 * for the walk and kept in the results.
 */
export function expandPattern(summary: unknown, pattern: string): string[] {
  const parts = pattern.split('.');
  if (!parts.includes('*')) return [pattern];
  const aliased = parts[0] === 'probes' && parts[1] !== 'byProbe';
  const walkParts = aliased ? ['probes', 'byProbe', ...parts.slice(1)] : parts;
  const out: string[] = [];
  const walk = (node: unknown, i: number, acc: string[]): void => {
    if (i === walkParts.length) {
      out.push(acc.join('.'));
      return;
    }
    const seg = walkParts[i]!;
    if (seg === '*') {
      if (!isObj(node)) return;
      for (const k of Object.keys(node)) walk(node[k], i + 1, [...acc, k]);
      return;
    }
    // The last segments may be aliases (`p95` for p95Us): leave them to resolveFigure.
    if (!isObj(node) || !(seg in node)) {
      out.push([...acc, ...walkParts.slice(i)].join('.'));
      return;
    }
    walk(node[seg], i + 1, [...acc, seg]);
  };
  walk(summary, 0, []);
  return aliased ? out.map((p) => p.replace(/^probes\.byProbe\./, 'probes.')) : out;
}

const fmt = (v: number, unit: string): string => {
  if (unit === 'us') return v >= 1_000_000 ? `${(v / 1e6).toFixed(2)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${Math.round(v)} µs`;
  if (unit === 'ms') return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
  if (unit === 'hz') return `${v.toFixed(1)} rows/s`;
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
};

/** `freshness.p99 17.2 s > 15 s`: a miss as one line. */
export function describeMiss(r: SloResult, op: string): string {
  if (r.value === null || r.limit === null) return `${r.figure}: ${r.problem ?? 'not measured'}`;
  const neg: Record<string, string> = { '<=': '>', '<': '>=', '>=': '<', '>': '<=', '==': '!=', '!=': '==' };
  return `${r.figure} ${fmt(r.value, r.unit)} ${neg[op] ?? '!'} ${fmt(r.limit, r.unit)}`;
}

/** Is `a` worse than `b` for this operator (further on the failing side)? */
function worse(op: string, a: number, b: number): boolean {
  return op === '>=' || op === '>' ? a < b : a > b;
}

/** A probe cell's count at the path's cell, when the path names one (for "insufficient"). */
function cellCount(summary: unknown, figure: string): { count: number; minSamples: number } | null {
  const m = /^probes\.(?:byProbe\.)?([^.]+)\.([^.]+)\./.exec(figure);
  if (!m || !isObj(summary)) return null;
  const probes = summary['probes'];
  if (!isObj(probes) || !isObj(probes['byProbe'])) return null;
  const cell = (probes['byProbe'] as Obj)[m[1]!];
  if (!isObj(cell) || !isObj(cell[m[2]!])) return null;
  const c = cell[m[2]!] as Obj;
  return typeof c['count'] === 'number' && typeof probes['minSamples'] === 'number' ? { count: c['count'], minSamples: probes['minSamples'] } : null;
}

/** The summary fields a verdict reads besides the SLO figures. */
export interface JudgedSummary {
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  readonly ingest: { readonly errors: number; readonly errorsBySqlstate: Readonly<Record<string, number>> };
}

/** Judge one step's summary against the SLOs (and the implied conditions). */
export function judgeStep(summary: JudgedSummary, slos: readonly Slo[]): StepJudgement {
  const results: SloResult[] = [];
  const misses: string[] = [];
  for (const slo of slos) {
    const t = slo.threshold;
    const paths = expandPattern(summary, t.figure);
    let worst: SloResult | null = null;
    let failed: SloResult | null = null;
    if (paths.length === 0) {
      failed = { slo: slo.source, figure: t.figure, value: null, limit: null, unit: 'number', pass: false, problem: 'no figure matches' };
    }
    for (const path of paths) {
      const one = { ...t, figure: path };
      const ev = evaluateThresholds([one], summary, null);
      const r = ev.results[0];
      if (!r) {
        const problem = (ev.problems[0] ?? 'not measured').replace(/^threshold "[^"]*": /, '').replace(/ \(in the run\)$/, '');
        const fr: SloResult = { slo: slo.source, figure: path, value: null, limit: null, unit: 'number', pass: false, problem };
        failed ??= fr;
        continue;
      }
      const cc = cellCount(summary, path);
      const insufficient = cc !== null && cc.count < cc.minSamples;
      const res: SloResult = {
        slo: slo.source, figure: path, value: r.run.value, limit: r.limit, unit: r.unit,
        pass: r.pass && !insufficient,
        ...(insufficient ? { problem: `insufficient: n = ${cc.count} < --min-samples ${cc.minSamples}` } : {}),
      };
      if (!res.pass && (failed === null || failed.value === null || (res.value !== null && worse(t.op, res.value, failed.value)))) failed = res;
      if (worst === null || worse(t.op, res.value!, worst.value!)) worst = res;
    }
    const chosen = failed ?? worst!;
    results.push(chosen);
    if (!chosen.pass) misses.push(chosen.problem && chosen.value !== null ? `${describeMiss(chosen, t.op)} (${chosen.problem})` : describeMiss(chosen, t.op));
  }
  const harnessReasons = summary.invalidReasons.filter((r) => r.startsWith('client-limited'));
  const otherInvalid = summary.invalidReasons.filter((r) => !r.startsWith('client-limited'));
  for (const r of otherInvalid) misses.push(r);
  if (summary.ingest.errors > 0) {
    misses.push(`errors ${summary.ingest.errors} (${Object.entries(summary.ingest.errorsBySqlstate).map(([k, v]) => `${k}=${v}`).join(', ')})`);
  }
  const verdict: StepVerdict = harnessReasons.length > 0 ? 'harness' : misses.length > 0 ? 'fail' : 'pass';
  return { verdict, slos: results, misses, harnessReasons };
}

/** Resolve one figure of a summary for a table (null when absent). */
export function figureValue(summary: unknown, path: string): number | null {
  const r = resolveFigure(summary, path);
  return r.ok ? r.figure.value : null;
}
