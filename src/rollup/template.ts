/**
 * The small template language of sql/rollup/*.sql, sql/preload.sql and
 * sql/expiry.sql. Pure. Templates only ever receive SQL fragments built here
 * from validated values (identifiers, literals, numbers), never raw input.
 *
 * - `{{name}}`: a value (an already rendered SQL fragment).
 * - `{{period:EXPR}}`: the start of EXPR's period: `date_trunc('minute', EXPR)`
 *   for 1 minute (the tutorial's spelling), else
 *   `date_bin('N minutes', EXPR, TIMESTAMPTZ 'epoch')` (PostgreSQL 14+).
 * - `{{#flag}}…{{/flag}}` kept when the flag is true, `{{^flag}}…{{/flag}}`
 *   when false. Not nested. A tag alone on its line takes the line with it,
 *   so rendered text keeps the tutorial's exact layout.
 */
import { quoteIdent, quoteLiteral } from '../sql-quote.js';

/** Rollup period lengths, in minutes. */
export type Granularity = 1 | 5 | 15 | 60;
export const GRANULARITIES: readonly Granularity[] = [1, 5, 15, 60];

/** What {@link renderTemplate} fills in. */
export interface TemplateInput {
  /** SQL fragments by placeholder name. */
  readonly values: Readonly<Record<string, string>>;
  /** Section flags by name. */
  readonly flags: Readonly<Record<string, boolean>>;
  /** Period length for `{{period:EXPR}}`. */
  readonly periodMinutes: Granularity;
}

/** A template that cannot be rendered (a bug in a .sql file or its caller). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export function isGranularity(n: unknown): n is Granularity {
  return n === 1 || n === 5 || n === 15 || n === 60;
}

/** SQL for the start of the period holding `expr` (a timestamptz expression). */
export function periodExpr(minutes: Granularity, expr: string): string {
  if (!isGranularity(minutes)) throw new TemplateError(`granularity ${String(minutes)} is not one of ${GRANULARITIES.join(', ')}`);
  return minutes === 1 ? `date_trunc('minute', ${expr})` : `date_bin('${minutes} minutes', ${expr}, TIMESTAMPTZ 'epoch')`;
}

/** An identifier, bare when it is a plain lower-case name (as the tutorial writes them), else quoted. */
export function sqlIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}

/** A string literal. */
export function sqlLiteral(s: string): string {
  return quoteLiteral(s);
}

/** `interval 'S seconds'` for a finite, non-negative number of seconds (millisecond precision). */
export function intervalSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new TemplateError(`interval of ${seconds} s is not a finite, non-negative number`);
  return `interval '${Math.round(seconds * 1000) / 1000} seconds'`;
}

const STANDALONE_TAG = /^[ \t]*(\{\{[#^/][A-Za-z_][A-Za-z0-9_]*\}\})[ \t]*\r?\n/gm;
const SECTION = /\{\{([#^])([A-Za-z_][A-Za-z0-9_]*)\}\}([\s\S]*?)\{\{\/\2\}\}/g;
const PERIOD = /\{\{period:([^{}]+?)\}\}/g;
const VALUE = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;
const LEFTOVER = /\{\{[#^/]?[A-Za-z_:]/;

/**
 * Render a template. Throws TemplateError for an unknown placeholder or flag,
 * an unbalanced or nested section, or anything left unrendered.
 */
export function renderTemplate(text: string, input: TemplateInput): string {
  let out = text.replace(STANDALONE_TAG, '$1');
  out = out.replace(SECTION, (_m, kind: string, flag: string, body: string) => {
    const on = input.flags[flag];
    if (on === undefined) throw new TemplateError(`unknown section flag {{${kind}${flag}}}`);
    if (/\{\{[#^/]/.test(body)) throw new TemplateError(`nested section inside {{${kind}${flag}}}`);
    return (kind === '#') === on ? body : '';
  });
  out = out.replace(PERIOD, (_m, expr: string) => periodExpr(input.periodMinutes, expr.trim()));
  // Checked before values go in: values are SQL fragments and are never scanned.
  const skeleton = out.replace(VALUE, '');
  const left = LEFTOVER.exec(skeleton);
  if (left) throw new TemplateError(`unrendered template syntax near ${JSON.stringify(skeleton.slice(left.index, left.index + 30))}`);
  return out.replace(VALUE, (_m, name: string) => {
    const v = Object.hasOwn(input.values, name) ? input.values[name] : undefined;
    if (v === undefined) throw new TemplateError(`unknown placeholder {{${name}}}`);
    return v;
  });
}
