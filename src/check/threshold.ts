/**
 * CI thresholds over summary.json figures: parsing and evaluation. Pure.
 *
 * Grammar: `<figure> <op> <limit>`, where
 * - `<figure>` is a figure path (see figure-path.ts),
 * - `<op>` is one of `<  <=  >  >=  ==  !=`,
 * - `<limit>` is either relative to the baseline run, a number with `%`
 *   (`+10%`, `-5%`, `10%` = `+10%`): the limit is baseline × (1 + pct/100);
 *   or absolute: a plain number in the figure's own unit (µs for latencies,
 *   rows/s for rates, a count…), or a duration with a unit `µs`, `us`, `ms`,
 *   `s` (only for duration figures).
 *
 * `%` is always relative, even on a fraction such as `probes.hllRelativeError`:
 * write `< 0.02` for an absolute 2 %.
 */
import { resolveFigure, type FigureUnit, type ResolvedFigure } from './figure-path.js';

export const OPERATORS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type Operator = (typeof OPERATORS)[number];

export type DurationUnit = 'us' | 'ms' | 's';

export type ThresholdLimit =
  | { readonly kind: 'relative'; readonly pct: number }
  | { readonly kind: 'absolute'; readonly value: number; readonly unit: DurationUnit | null };

export interface Threshold {
  /** The expression as written (trimmed). */
  readonly source: string;
  readonly figure: string;
  readonly op: Operator;
  readonly limit: ThresholdLimit;
}

export type ThresholdParse =
  | { readonly ok: true; readonly threshold: Threshold }
  | { readonly ok: false; readonly problem: string };

const FIGURE = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const UNITS: Record<string, DurationUnit | '%'> = { 'µs': 'us', 'μs': 'us', us: 'us', ms: 'ms', s: 's', '%': '%' };

/** Parse one threshold expression; a bad one gives a one-line problem naming it. */
export function parseThreshold(expr: string): ThresholdParse {
  const source = expr.trim();
  const bad = (why: string): ThresholdParse => ({ ok: false, problem: `threshold ${JSON.stringify(source)}: ${why}` });
  if (source === '') return { ok: false, problem: 'threshold "": empty expression' };
  const m = /^(.*?)\s*(<=|>=|==|!=|<|>|=)\s*(.*)$/.exec(source);
  if (!m) return bad(`no operator (use one of ${OPERATORS.join(' ')})`);
  const figure = m[1]!;
  const opText = m[2]!;
  const rest = m[3]!;
  if (opText === '=') return bad('"=" is not an operator; use "=="');
  const op = opText as Operator;
  if (figure === '') return bad('no figure before the operator');
  if (!FIGURE.test(figure)) return bad(`${JSON.stringify(figure)} is not a figure path (letters, digits, '.', '_', '-', '/')`);
  if (rest === '') return bad(`no limit after "${op}"`);
  if (/[<>=!]/.test(rest)) return bad('more than one operator');

  const lm = /^([+-]?)\s*([0-9.eE+-]+?)\s*(µs|μs|us|ms|s|%)?$/.exec(rest);
  if (!lm) return bad(`limit ${JSON.stringify(rest)}: expected a number, optionally with %, µs, us, ms or s`);
  const sign = lm[1]!;
  const num = lm[2]!;
  const unitText = lm[3];
  if (!NUMBER.test(num)) return bad(`limit ${JSON.stringify(rest)}: ${JSON.stringify(num)} is not a number`);
  const magnitude = Number(num);
  if (!Number.isFinite(magnitude)) return bad(`limit ${JSON.stringify(rest)}: not a finite number`);
  const unit = unitText === undefined ? undefined : UNITS[unitText];
  if (unit === '%') {
    const pct = sign === '-' ? -magnitude : magnitude;
    if (pct <= -100) return bad(`limit ${rest}: a relative limit must be above -100%`);
    return { ok: true, threshold: { source, figure, op, limit: { kind: 'relative', pct } } };
  }
  if (sign !== '') return bad(`limit ${JSON.stringify(rest)}: a signed limit is relative and must end in % (e.g. ${sign}10%)`);
  return { ok: true, threshold: { source, figure, op, limit: { kind: 'absolute', value: magnitude, unit: unit ?? null } } };
}

/** Parse many; every bad expression is reported, not just the first. */
export function parseThresholds(exprs: readonly string[]): { readonly thresholds: Threshold[]; readonly problems: string[] } {
  const thresholds: Threshold[] = [];
  const problems: string[] = [];
  for (const e of exprs) {
    const r = parseThreshold(e);
    if (r.ok) thresholds.push(r.threshold);
    else problems.push(r.problem);
  }
  return { thresholds, problems };
}

const US_PER: Record<DurationUnit, number> = { us: 1, ms: 1000, s: 1_000_000 };

/** `a op b`. */
export function compareValues(a: number, op: Operator, b: number): boolean {
  switch (op) {
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '==': return a === b;
    case '!=': return a !== b;
  }
}

export interface ThresholdResult {
  readonly threshold: Threshold;
  /** The figure in the run. */
  readonly run: ResolvedFigure;
  /** The figure in the baseline, when a baseline was given and holds it. */
  readonly baseline: ResolvedFigure | null;
  /** The limit in the figure's unit (relative limits applied to the baseline). */
  readonly limit: number;
  readonly unit: FigureUnit;
  readonly pass: boolean;
}

export interface Evaluation {
  readonly results: ThresholdResult[];
  /**
   * Thresholds that could not be evaluated (unknown figure, no baseline for a
   * relative limit, a duration unit on a count…): bad input, never a pass.
   */
  readonly problems: string[];
}

/** The absolute limit in the figure's unit, or a problem. */
function absoluteLimit(t: Threshold, limit: Extract<ThresholdLimit, { kind: 'absolute' }>, unit: FigureUnit): number | string {
  if (limit.unit === null) return limit.value;
  if (unit !== 'us' && unit !== 'ms') {
    return `threshold ${JSON.stringify(t.source)}: ${t.figure} is not a duration, so its limit takes no unit ${limit.unit === 'us' ? 'µs' : limit.unit}`;
  }
  const us = limit.value * US_PER[limit.unit];
  return unit === 'us' ? us : us / 1000;
}

/**
 * Evaluate thresholds against a run's summary and, for relative limits and
 * for display, a baseline's. Figures are resolved with {@link resolveFigure}.
 */
export function evaluateThresholds(thresholds: readonly Threshold[], run: unknown, baseline: unknown | null): Evaluation {
  const results: ThresholdResult[] = [];
  const problems: string[] = [];
  for (const t of thresholds) {
    const r = resolveFigure(run, t.figure);
    if (!r.ok) {
      problems.push(`threshold ${JSON.stringify(t.source)}: ${r.problem} (in the run)`);
      continue;
    }
    const b = baseline === null ? null : resolveFigure(baseline, t.figure);
    let limit: number;
    if (t.limit.kind === 'relative') {
      if (b === null) {
        problems.push(`threshold ${JSON.stringify(t.source)}: a relative limit needs --baseline`);
        continue;
      }
      if (!b.ok) {
        problems.push(`threshold ${JSON.stringify(t.source)}: ${b.problem} (in the baseline)`);
        continue;
      }
      limit = b.figure.value * (1 + t.limit.pct / 100);
    } else {
      const l = absoluteLimit(t, t.limit, r.figure.unit);
      if (typeof l === 'string') {
        problems.push(l);
        continue;
      }
      limit = l;
    }
    results.push({
      threshold: t,
      run: r.figure,
      baseline: b?.ok ? b.figure : null,
      limit,
      unit: r.figure.unit,
      pass: compareValues(r.figure.value, t.op, limit),
    });
  }
  return { results, problems };
}
