/**
 * `rtbench check --ab`: the default figures of base (A) and candidate (B)
 * runs made in alternating rounds, paired by round and judged with the sign
 * test's interval (paired.ts), and the markdown summary. Pure.
 */
import { defaultFigures, type Direction, type TrackedFigure } from './figures.js';
import { minTailSamples, percentileOf } from './gate.js';
import { formatChange } from './history-gate.js';
import { formatFigure } from './markdown.js';
import { pairedFigure, type PairedOptions, type PairedResult } from './paired.js';
import type { FigureUnit } from './figure-path.js';

/** One round: the two runs' summaries (parsed summary.json) and which ran first. */
export interface AbRound {
  readonly a: unknown;
  readonly b: unknown;
  readonly first: 'a' | 'b';
}

export interface AbRow {
  readonly path: string;
  readonly name: string;
  readonly unit: FigureUnit;
  readonly direction: Direction;
  readonly gated: boolean;
  readonly result: PairedResult;
  /** Set when the pairs were taken on service time (the client set the response percentile in some run). */
  readonly onService: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `ingest.service.pNNUs` of a summary, the service-time twin of a response percentile. */
function serviceOf(summary: unknown, path: string): number | null {
  const m = /^ingest\.response\.(p\d+Us)$/.exec(path);
  const ingest = isObj(summary) ? summary['ingest'] : undefined;
  const service = isObj(ingest) ? ingest['service'] : undefined;
  const v = m && isObj(service) ? service[m[1]!] : undefined;
  return typeof v === 'number' ? v : null;
}

/** A tail percentile on fewer samples than it needs is no value (see gate.ts minTailSamples). */
function usable(f: TrackedFigure): boolean {
  const q = percentileOf(f.path);
  return !(q !== null && q >= 95 && f.samples !== null && f.samples < minTailSamples(q));
}

/**
 * The pairs of every default figure either side measured, in the order of
 * the first round's figures. A response percentile the client set in either
 * run of a round is paired on service time on both sides, so a pair never
 * holds one side's response against the other's service.
 */
export function abRows(rounds: readonly AbRound[], o: PairedOptions): AbRow[] {
  const sides = rounds.map((r) => ({ a: defaultFigures(r.a).figures, b: defaultFigures(r.b).figures, ra: r.a, rb: r.b }));
  const order: TrackedFigure[] = [];
  const seen = new Set<string>();
  for (const s of sides) for (const f of [...s.a, ...s.b]) if (!seen.has(f.path)) (seen.add(f.path), order.push(f));
  return order.map((f) => {
    let onService = 0;
    const pairs = sides.map((s): readonly [number | null, number | null] => {
      const fa = s.a.find((x) => x.path === f.path);
      const fb = s.b.find((x) => x.path === f.path);
      if (!fa || !fb || !usable(fa) || !usable(fb)) return [fa && usable(fa) ? fa.value : null, fb && usable(fb) ? fb.value : null];
      if (fa.heldOnService || fb.heldOnService) {
        onService++;
        return [serviceOf(s.ra, f.path), serviceOf(s.rb, f.path)];
      }
      return [fa.value, fb.value];
    });
    return { path: f.path, name: f.name, unit: f.unit, direction: f.direction, gated: f.gated, result: pairedFigure(pairs, f.direction, o), onService };
  });
}

/** A gated figure that regressed fails the A/B check. */
export const abFails = (r: AbRow): boolean => r.gated && r.result.verdict === 'regression';

export interface AbReportInput {
  readonly rows: readonly AbRow[];
  readonly labelA: string;
  readonly labelB: string;
  readonly rounds: number;
  readonly options: PairedOptions;
  /** One line per run that failed its self-check ("round 3 b: …"). */
  readonly invalid: readonly string[];
  readonly runs: number;
}

const BETTER = { smaller: 'smaller', bigger: 'bigger', zero: '= 0' } as const;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function verdictText(r: AbRow): string {
  switch (r.result.verdict) {
    case 'regression': return r.gated ? '**FAIL**' : 'worse (watched, not gated)';
    case 'improvement': return 'better';
    case 'same': return 'PASS';
    case 'insufficient': return r.result.note ?? 'insufficient';
  }
}

/** The markdown of `check --ab`, ending in a newline. */
export function abMarkdown(input: AbReportInput): string {
  const failed = input.rows.filter(abFails);
  const out = [`### rtbench check --ab: ${failed.length > 0 ? 'FAIL' : 'PASS'}`, ''];
  out.push(
    `Base \`a\` = ${cell(input.labelA)}, candidate \`b\` = ${cell(input.labelB)}: ${input.rounds} rounds, each one run of each in alternating order on this machine; ` +
      `per figure the median of the rounds' ratios b/a with the sign test's ${(input.options.confidence * 100).toFixed(0)}% interval; ` +
      `a figure fails when the whole interval is worse and the median change exceeds ${(input.options.minEffect * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}%.`,
    '',
    '| figure | better | pairs | a (median) | b (median) | change b/a | interval | verdict |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  );
  for (const r of input.rows) {
    const x = r.result;
    const fmt = (v: number): string => (Number.isFinite(v) ? formatFigure(v, r.unit) : '—');
    const iv = x.interval ? `${formatChange(x.interval.lo)} … ${formatChange(x.interval.hi)}` : '—';
    const note = [r.onService > 0 ? `service time in ${r.onService} rounds (the client set the response)` : '', x.verdict !== 'insufficient' && x.note ? x.note : ''].filter(Boolean).join('; ');
    out.push(`| \`${r.name}\` | ${BETTER[r.direction]} | ${x.n} | ${cell(fmt(x.medianA))} | ${cell(fmt(x.medianB))} | ${formatChange(x.change)} | ${iv} | ${cell(verdictText(r))}${note ? ` (${cell(note)})` : ''} |`);
  }
  out.push('');
  if (input.invalid.length > 0) {
    out.push(`${input.invalid.length} of ${input.runs} runs failed their self-check; their pairs are kept (both sides of a round shared the machine), counted here:`);
    for (const l of input.invalid) out.push(`- ${cell(l)}`);
    out.push('');
  }
  const gated = input.rows.filter((r) => r.gated);
  const insufficient = gated.filter((r) => r.result.verdict === 'insufficient').length;
  out.push((failed.length > 0 ? `${failed.length} of ${gated.length} gated figures regressed: ${failed.map((r) => r.name).join(', ')}` : `${gated.length - insufficient} of ${gated.length} gated figures passed`) +
    (insufficient > 0 ? `; ${insufficient} had too few pairs or samples and cannot fail` : '') + '.');
  return out.join('\n') + '\n';
}
