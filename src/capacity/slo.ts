/**
 * SLOs of a capacity search: parsing, the defaults, `*` patterns. Pure.
 *
 * An SLO is a `check` threshold expression with an absolute limit on a figure
 * of one trial (`ingest.response.p99 <= 10ms`,
 * `probes.rollup-minutes.1h.response.p95 <= 250ms`, `probes.all.response.p95
 * <= 1s` (every panel's samples pooled), `freshness.max <= 15s`,
 * `audit.lostEvents == 0`). A `*` segment matches every key at its level, and
 * the SLO holds only when it holds for every match (`probes.*.*.response.p95
 * <= 1s`: every panel on every window). How a trial is judged against them is
 * src/capacity/verdict.ts.
 */
import type { RunConfig } from '../config/types.js';
import { parseThreshold, type Threshold } from '../check/threshold.js';

/** One SLO as parsed. */
export interface Slo {
  readonly source: string;
  readonly threshold: Threshold;
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
 * The SLOs used when none is given (docs/capacity.md says why):
 * - ingest response p99 ≤ 50 ms: an event collector that waits longer than
 *   that per insert builds a queue of its own;
 * - 95% of panel loads within 1 s, every panel and window pooled, and every
 *   panel's median load within 1 s: a viewer who waits more than a second
 *   for a panel notices. Not a p95 per cell: one cell gets about 0.6
 *   samples/s from 3 viewers, and a p95 pass needs 59 samples (100 s per
 *   cell), while the pool of 36 cells gets 59 in under 3 s and a median
 *   pass needs 5 per cell. The pool alone would let one always-slow panel
 *   through (1 of 36 is under 5%): the per-cell median catches it.
 *   Per-cell p95 SLOs (`probes.*.*.response.p95`) remain available;
 * - every freshness marker seen within 2 × the rollup interval (at least
 *   interval + 5 s): with one marker every 2 s a p99 over a trial is its
 *   maximum anyway, and markers not seen by the trial's end count with their age;
 * - no event lost or duplicated by an exact rollup (incremental,
 *   closed-minute; the tutorial rollup loses events by design).
 */
export function defaultSlos(config: RunConfig): string[] {
  const out = ['ingest.response.p99 <= 50ms'];
  const d = config.dashboard;
  if (d.rollup === 'none') return out;
  if (d.probes && d.viewers > 0) out.push('probes.all.response.p95 <= 1s', 'probes.*.*.response.p50 <= 1s');
  const intervalS = d.rollupIntervalMs / 1000;
  const freshS = Math.max(2 * intervalS, intervalS + 5);
  out.push(`freshness.max <= ${Number.isInteger(freshS) ? freshS : freshS.toFixed(1)}s`);
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

/** A figure against its limit, as a miss line reads it. */
export interface MissFigure {
  readonly figure: string;
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: string;
  readonly problem?: string;
}

/** `freshness.p99 17.2 s > 15 s`: a miss as one line. */
export function describeMiss(r: MissFigure, op: string): string {
  if (r.value === null || r.limit === null) return `${r.figure}: ${r.problem ?? 'not measured'}`;
  const neg: Record<string, string> = { '<=': '>', '<': '>=', '>=': '<', '>': '<=', '==': '!=', '!=': '==' };
  return `${r.figure} ${fmt(r.value, r.unit)} ${neg[op] ?? '!'} ${fmt(r.limit, r.unit)}`;
}

